#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""vuswitchctl against a fake control socket: a thread in this script
listens on a unix socket, records every request line and answers with
canned JSON. Checks the request built for every command (exact args),
argument validation before connecting (exit 2), refusals (exit 1), no
daemon (exit 3), --json output and the human tables.
Usage: test_vuswitchctl.py PATH-TO-vuswitchctl   (prints TAP)"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

CTL = os.path.abspath(sys.argv[1])
TMP = tempfile.mkdtemp(prefix="vuswitchctl-test-")
SOCK = os.path.join(TMP, "ctl.sock")

# ---- the fake daemon ----


class FakeDaemon:
    """Answers each request line with self.reply: a dict (sent as one JSON
    line), bytes (sent as they are), ("chunked", dict) (sent a few bytes
    at a time), "silent" (never answers), "close" (hangs up), or
    ("noeol", dict) (JSON without newline, then hangs up)."""

    def __init__(self, path):
        self.path = path
        self.reply = {"ok": True, "result": {}}
        self.lines = []
        self.conns = 0
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(16)
        threading.Thread(target=self.serve, daemon=True).start()

    def reset(self, reply):
        with self.lock:
            self.reply = reply
            self.lines = []
            self.conns = 0

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.conns += 1
            threading.Thread(target=self.handle, args=(conn,),
                             daemon=True).start()

    def handle(self, conn):
        with conn, conn.makefile("rb") as f:
            for line in f:
                with self.lock:
                    self.lines.append(line)
                    reply = self.reply
                if not self.answer(conn, reply):
                    return

    @staticmethod
    def answer(conn, reply):
        if reply == "silent":
            return True
        if reply == "close":
            return False
        if isinstance(reply, bytes):
            conn.sendall(reply)
        elif isinstance(reply, tuple) and reply[0] == "chunked":
            data = (json.dumps(reply[1]) + "\n").encode()
            for i in range(0, len(data), 5):
                conn.sendall(data[i:i + 5])
                time.sleep(0.002)
        elif isinstance(reply, tuple) and reply[0] == "noeol":
            conn.sendall(json.dumps(reply[1]).encode())
            return False
        else:
            conn.sendall((json.dumps(reply) + "\n").encode())
        return True

    def requests(self):
        with self.lock:
            return [json.loads(l) for l in self.lines]


DAEMON = FakeDaemon(SOCK)


def ok(result):
    return {"ok": True, "result": result}


def run(args, reply=None, socket_arg=True, env=None, cwd=None, timeout=30):
    """Run vuswitchctl; return (rc, stdout, stderr)."""
    DAEMON.reset(reply if reply is not None else ok({}))
    e = {k: v for k, v in os.environ.items() if k != "VUSWITCH_CTL"}
    e.setdefault("UBSAN_OPTIONS", "halt_on_error=1:print_stacktrace=1")
    e.update(env or {})
    argv = [CTL] + ([f"--socket={SOCK}"] if socket_arg else []) + args
    p = subprocess.run(argv, capture_output=True, text=True, env=e,
                       cwd=cwd or TMP, timeout=timeout)
    for bad in ("runtime error", "Sanitizer", "LeakSanitizer"):
        check(bad not in p.stderr, f"sanitizer report:\n{p.stderr}")
    return p.returncode, p.stdout, p.stderr


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def expect_rc(got, want, out, err):
    check(got == want, f"exit {got}, want {want}\nstdout:\n{out}"
          f"\nstderr:\n{err}")


# ---- canned results ----

VM0 = {"name": "vm0", "index": 0, "type": "vhost-user", "mode": "server",
       "path": "/run/vm0.sock", "connected": True, "queues": 2,
       "mtu": 1500, "vlan_mode": "access", "tag": 10, "native": 0,
       "zero_copy": True, "rx_packets": 1111, "tx_packets": 2222,
       "drops": 7}
ETH0 = {"name": "eth0", "index": 1, "type": "ethdev",
        "devargs": "0000:00:08.0", "ethdev_port": 3, "queues": 1,
        "mtu": 9000, "vlan_mode": "trunk", "trunks": [10, 20, 21, 22],
        "native": 5, "zero_copy": False, "rx_packets": 5,
        "tx_packets": 6, "drops": 0}
REASONS = ["runt", "vlan", "mtu", "no_ring", "tx_full", "no_mbuf",
           "offload", "same_port"]


def drops(**nz):
    return {r: nz.get(r, 0) for r in REASONS}


STATS_VM0 = {"name": "vm0", "rx_packets": 1111, "rx_bytes": 71104,
             "tx_packets": 2222, "tx_bytes": 142208,
             "drops": drops(vlan=3, tx_full=4),
             "queues": [{"queue": 0, "rx_packets": 1111, "rx_bytes": 71104,
                         "tx_packets": 2222, "tx_bytes": 142208,
                         "drops": drops(tx_full=4)}]}
STATS_ETH0 = {"name": "eth0", "rx_packets": 5, "rx_bytes": 320,
              "tx_packets": 6, "tx_bytes": 384, "drops": drops(),
              "queues": []}
SHOW_VM0 = dict(VM0, features="0x150008000",
                protocol_features="0x8603",
                features_names=["VIRTIO_NET_F_MRG_RXBUF",
                                "VIRTIO_F_VERSION_1"],
                rings=[{"index": 0, "state": "enabled", "size": 256,
                        "packed": False, "broken": False, "packets": 100,
                        "bytes": 6400, "direct": 40, "drops": {"no_mbuf": 2,
                                                 "tx_full": 0}},
                       {"index": 1, "state": "stopped", "size": 1024,
                        "packed": True, "broken": True, "packets": 0,
                        "bytes": 0, "drops": {}}],
                rxqs=[{"queue": 0, "worker": 1, "packets": 100,
                       "bytes": 6400, "cycles": 123456}],
                stats=STATS_VM0)
SHOW_ETH0 = dict(ETH0, rxqs=[], stats=STATS_ETH0)
STATS = {"ports": [STATS_VM0, STATS_ETH0]}
MACS = {"aging": 300, "macs": [
    {"mac": "52:54:00:00:00:01", "vlan": 10, "port": "vm0",
     "type": "dynamic", "age": 12},
    {"mac": "52:54:00:00:00:02", "vlan": 0, "port": "eth0",
     "type": "static", "age": 0}]}
WORKERS = {"workers": [
    {"id": 0, "lcore": 1, "busy_cycles": 450, "idle_cycles": 550,
     "busy_pct": 45.0, "packets": 1000, "cycles_per_packet": 312.5,
     "iterations": 99999,
     "polls": [{"port": "vm0", "queue": 0, "cycles": 300, "packets": 700},
               {"port": "eth0", "queue": 1, "cycles": 100,
                "packets": 300}]},
    {"id": 1, "lcore": 2, "busy_cycles": 0, "idle_cycles": 10,
     "busy_pct": 0, "packets": 0, "cycles_per_packet": 0,
     "iterations": 12, "polls": []}]}
REBALANCE = {"moved": 3, "workers": WORKERS["workers"]}
MBUFS = {"pools": [{"name": "sw_mbufs", "size": 32767, "cache_size": 256,
                    "available": 32000, "in_use": 767}]}

# ---- table helpers ----


def lines_of(out):
    return out.splitlines()


def find_line(out, pred, what):
    for l in lines_of(out):
        if pred(l):
            return l
    raise AssertionError(f"no line {what} in:\n{out}")


def header(out, first):
    return find_line(out, lambda l: l.split()[:1] == [first],
                     f"starting {first}")


def row(out, first):
    return find_line(out, lambda l: l.split()[:1] == [first],
                     f"for {first}")


def check_cells(head, line, want, right=()):
    """Each column's value sits under its title: left-aligned columns
    start where the title starts, right-aligned ones end where it ends."""
    spans = {m.group(): m.span() for m in re.finditer(r"\S+", head)}
    for title, val in want.items():
        check(title in spans, f"no column {title} in {head!r}")
        s, e = spans[title]
        val = str(val)
        if title in right:
            good = line[:e].endswith(val) and (
                e - len(val) == 0 or line[e - len(val) - 1] == " ") and (
                e == len(line) or line[e] == " ")
        else:
            good = line[s:].startswith(val) and (
                s == 0 or line[s - 1] == " ") and (
                s + len(val) == len(line) or line[s + len(val)] == " ")
        check(good, f"column {title}: want {val!r}\n{head}\n{line}")


def kv(out, key):
    line = find_line(out, lambda l: l.strip().startswith(key + ":"),
                     f"'{key}:'")
    return line.strip()[len(key) + 1:].strip()


# ---- cases ----

CASES = []


def case(name):
    def add(fn):
        CASES.append((name, fn))
        return fn
    return add


# Requests: argv -> (command, exact args).
REQUESTS = [
    (["version"], "version", {}),
    (["list-ports"], "list-ports", {}),
    (["show-port", "vm0"], "show-port", {"port": "vm0"}),
    (["add-port", "vm0", "vhost-user", "/run/vm0.sock"], "add-port",
     {"name": "vm0", "type": "vhost-user", "path": "/run/vm0.sock",
      "mode": "server"}),
    (["add-port", "vm1", "vhost-user", "/run/vm1.sock", "--client",
      "--queues=4", "--mtu=9000", "--access=10", "--no-zero-copy"],
     "add-port",
     {"name": "vm1", "type": "vhost-user", "path": "/run/vm1.sock",
      "mode": "client", "queues": 4, "mtu": 9000, "vlan_mode": "access",
      "tag": 10, "zero_copy": False}),
    (["add-port", "vm2", "vhost-user", "/s", "--trunk=22,10,20-21",
      "--native=5"], "add-port",
     {"name": "vm2", "type": "vhost-user", "path": "/s", "mode": "server",
      "vlan_mode": "trunk", "trunks": [10, 20, 21, 22], "native": 5}),
    (["add-port", "vm3", "vhost-user", "/s", "--trunk=all"], "add-port",
     {"name": "vm3", "type": "vhost-user", "path": "/s", "mode": "server",
      "vlan_mode": "trunk"}),
    (["add-port", "eth0", "ethdev", "0000:00:08.0,txq_inline=128",
      "--queues", "2", "--mtu", "1600"], "add-port",
     {"name": "eth0", "type": "ethdev",
      "devargs": "0000:00:08.0,txq_inline=128", "queues": 2,
      "mtu": 1600}),
    (["add-port", "eth1", "ethdev", "net_null0", "--trunk=4095,0"],
     "add-port",
     {"name": "eth1", "type": "ethdev", "devargs": "net_null0",
      "vlan_mode": "trunk", "trunks": [0, 4095]}),
    (["del-port", "vm0"], "del-port", {"port": "vm0"}),
    (["show-stats"], "show-stats", {}),
    (["show-stats", "vm0"], "show-stats", {"port": "vm0"}),
    (["show-macs"], "show-macs", {}),
    (["show-macs", "--port=vm0", "--vlan=10"], "show-macs",
     {"port": "vm0", "vlan": 10}),
    (["show-macs", "--vlan=0"], "show-macs", {"vlan": 0}),
    (["add-mac", "52:54:00:AB:cd:1", "vm0", "--vlan=7"], "add-mac",
     {"mac": "52:54:00:ab:cd:01", "port": "vm0", "vlan": 7}),
    (["add-mac", "02:00:00:00:00:0A", "eth0"], "add-mac",
     {"mac": "02:00:00:00:00:0a", "port": "eth0"}),
    (["del-mac", "52:54:00:00:00:01"], "del-mac",
     {"mac": "52:54:00:00:00:01"}),
    (["del-mac", "52:54:00:00:00:01", "--vlan=4095"], "del-mac",
     {"mac": "52:54:00:00:00:01", "vlan": 4095}),
    (["show-workers"], "show-workers", {}),
    (["show-mbufs"], "show-mbufs", {}),
    (["rebalance"], "rebalance", {}),
    (["set-vlan", "vm0", "access", "10"], "set-vlan",
     {"port": "vm0", "mode": "access", "tag": 10}),
    (["set-vlan", "vm0", "trunk", "10,20-22", "--native=5"], "set-vlan",
     {"port": "vm0", "mode": "trunk", "trunks": [10, 20, 21, 22],
      "native": 5}),
    (["set-vlan", "vm0", "trunk"], "set-vlan",
     {"port": "vm0", "mode": "trunk"}),
    (["set-vlan", "vm0", "trunk", "all"], "set-vlan",
     {"port": "vm0", "mode": "trunk"}),
    (["capture", "start", "vm0", "/x.pcap", "--direction=rx",
      "--snaplen=128"], "capture-start",
     {"port": "vm0", "file": "/x.pcap", "direction": "rx",
      "snaplen": 128}),
    (["capture", "start", "vm0", "/x.pcap"], "capture-start",
     {"port": "vm0", "file": "/x.pcap"}),
    (["capture", "stop", "vm0"], "capture-stop", {"port": "vm0"}),
    (["list-ports", "--json"], "list-ports", {}),
    (["show-port", "--", "--odd-name"], "show-port",
     {"port": "--odd-name"}),
]


def request_case(argv, command, args):
    def fn():
        rc, out, err = run(argv)
        expect_rc(rc, 0, out, err)
        with DAEMON.lock:
            raw = list(DAEMON.lines)
        check(len(raw) == 1, f"{len(raw)} request lines: {raw}")
        check(raw[0].endswith(b"\n") and raw[0].count(b"\n") == 1,
              f"request is not one line: {raw[0]!r}")
        got = json.loads(raw[0])
        want = {"command": command, "args": args}
        check(got == want, f"request {got}\n   want {want}")
    return fn


for argv, command, args in REQUESTS:
    case(f"request: {' '.join(argv)}")(request_case(argv, command, args))


@case("request: capture start makes a relative FILE absolute")
def _():
    d = os.path.join(TMP, "caps")
    os.makedirs(d, exist_ok=True)
    link = os.path.join(TMP, "link")
    if not os.path.islink(link):
        os.symlink(d, link)
    real = os.path.realpath(d)
    for cwd, f, want in ((TMP, "link/out.pcap", f"{real}/out.pcap"),
                         (d, "out.pcap", f"{real}/out.pcap"),
                         (d, "../link/./a.pcap", f"{real}/a.pcap")):
        rc, out, err = run(["capture", "start", "vm0", f], cwd=cwd)
        expect_rc(rc, 0, out, err)
        got = DAEMON.requests()[0]["args"]["file"]
        check(got == want, f"{f}: file {got!r}, want {want!r}")


# Bad arguments: exit 2, usage on stderr naming the problem, no connection.
ARGERRS = [
    ([], "no command"),
    (["frobnicate"], "frobnicate"),
    (["--frob", "version"], "--frob"),
    (["-x", "version"], "-x"),
    (["list-ports", "--frob"], "--frob"),
    (["version", "extra"], "too many"),
    (["show-port"], "missing"),
    (["show-port", "a", "b"], "too many"),
    (["show-port", ""], "empty"),
    (["del-port"], "missing"),
    (["add-port", "vm0", "vhost-user"], "missing"),
    (["add-port", "vm0", "tap", "/x"], "'tap'"),
    (["add-port", "vm0", "vhost-user", "/x", "--queues=abc"], "'abc'"),
    (["add-port", "vm0", "vhost-user", "/x", "--queues=0"], "out of range"),
    (["add-port", "vm0", "vhost-user", "/x", "--queues=-1"], "'-1'"),
    (["add-port", "vm0", "vhost-user", "/x", "--queues= 2"], "' 2'"),
    (["add-port", "vm0", "vhost-user", "/x", "--queues"], "needs a value"),
    (["add-port", "vm0", "vhost-user", "/x", "--mtu=15x"], "'15x'"),
    (["add-port", "vm0", "vhost-user", "/x", "--mtu=99999999999999999999"],
     "out of range"),
    (["add-port", "vm0", "vhost-user", "/x", "--access=4096"], "4096"),
    (["add-port", "vm0", "vhost-user", "/x", "--access=1", "--trunk=2"],
     "--trunk"),
    (["add-port", "vm0", "vhost-user", "/x", "--access=1", "--native=2"],
     "--native"),
    (["add-port", "vm0", "vhost-user", "/x", "--trunk=10,,20"], "10,,20"),
    (["add-port", "vm0", "vhost-user", "/x", "--trunk=20-10"], "20-10"),
    (["add-port", "vm0", "vhost-user", "/x", "--trunk=1,5000"], "5000"),
    (["add-port", "vm0", "vhost-user", "/x", "--trunk=10,"], "'10,'"),
    (["add-port", "vm0", "vhost-user", "/x", "--trunk="], "VLAN list"),
    (["add-port", "vm0", "vhost-user", "/x", "--native=4096"], "4096"),
    (["add-port", "vm0", "vhost-user", "/x", "--client=yes"], "no value"),
    (["add-port", "vm0", "vhost-user", "/x", "--zero-copy"], "--zero-copy"),
    (["add-port", "eth0", "ethdev", "x", "--client"], "--client"),
    (["set-vlan", "vm0"], "missing"),
    (["set-vlan", "vm0", "access"], "TAG"),
    (["set-vlan", "vm0", "access", "-1"], "'-1'"),
    (["set-vlan", "vm0", "access", "4096"], "4096"),
    (["set-vlan", "vm0", "access", "0x10"], "'0x10'"),
    (["set-vlan", "vm0", "hybrid", "1"], "'hybrid'"),
    (["set-vlan", "vm0", "access", "5", "--native=1"], "--native"),
    (["set-vlan", "vm0", "trunk", "10-"], "'10-'"),
    (["set-vlan", "vm0", "trunk", "all,5"], "'all,5'"),
    (["set-vlan", "vm0", "trunk", "1", "2"], "too many"),
    (["show-macs", "--vlan=5000"], "5000"),
    (["show-macs", "vm0"], "too many"),
    (["show-macs", "--port="], "--port"),
    (["add-mac", "52:54:00:00:00", "vm0"], "'52:54:00:00:00'"),
    (["add-mac", "zz:54:00:00:00:01", "vm0"], "'zz:54:00:00:00:01'"),
    (["add-mac", "52:54:00:00:00:01:02", "vm0"], "not a MAC"),
    (["add-mac", "052:54:00:00:00:01", "vm0"], "not a MAC"),
    (["add-mac", "52-54-00-00-00-01", "vm0"], "not a MAC"),
    (["add-mac", "52:54:00:00:00:01:", "vm0"], "not a MAC"),
    (["add-mac", "52:54:00:00:00:01"], "missing"),
    (["add-mac", "52:54:00:00:00:01", "vm0", "--vlan=x"], "'x'"),
    (["del-mac", "52:54:00:00:00:01", "--vlan=4096"], "4096"),
    (["del-mac", "52:54:00:00:00:01", "--port=vm0"], "--port"),
    (["capture"], "start or stop"),
    (["capture", "pause", "vm0"], "pause"),
    (["capture", "start", "vm0"], "missing"),
    (["capture", "start", "vm0", "/nonexistent-dir/x.pcap"],
     "/nonexistent-dir"),
    (["capture", "start", "vm0", "/tmp/"], "'/tmp/'"),
    (["capture", "start", "vm0", "x.pcap", "--direction=up"], "'up'"),
    (["capture", "start", "vm0", "x.pcap", "--snaplen=0"], "out of range"),
    (["capture", "stop"], "missing"),
    (["capture", "stop", "vm0", "--snaplen=5"], "--snaplen"),
    (["--socket=", "version"], "--socket"),
    (["version", "--socket"], "needs a value"),
]


def argerr_case(argv, problem):
    def fn():
        rc, out, err = run(argv)
        expect_rc(rc, 2, out, err)
        check(out == "", f"stdout not empty: {out!r}")
        first = err.splitlines()[0] if err else ""
        check(first.startswith("vuswitchctl: ") and problem in first,
              f"first stderr line does not name {problem!r}:\n{err}")
        check("usage: vuswitchctl" in err, f"no usage on stderr:\n{err}")
        check(DAEMON.conns == 0, f"connected {DAEMON.conns} times")
    return fn


for argv, problem in ARGERRS:
    case(f"exit 2: {' '.join(argv) or '(nothing)'}")(
        argerr_case(argv, problem))


@case("exit 0: --help, -h and COMMAND --help print usage on stdout")
def _():
    for argv in (["--help"], ["-h"], ["add-port", "--help"],
                 ["--help", "bogus"]):
        rc, out, err = run(argv)
        expect_rc(rc, 0, out, err)
        check(out.startswith("usage: vuswitchctl"), f"{argv}: {out!r}")
        for c in ("version", "list-ports", "show-port", "add-port",
                  "del-port", "show-stats", "show-macs", "add-mac",
                  "del-mac", "show-workers", "show-mbufs", "rebalance",
                  "set-vlan",
                  "capture start", "capture stop"):
            check(f"vuswitchctl {c}" in out, f"{argv}: no {c} in usage")
        check(err == "", f"{argv}: stderr {err!r}")
        check(DAEMON.conns == 0, f"{argv}: connected")


@case("exit 1: the daemon's error on stderr")
def _():
    refusal = {"ok": False, "error": "no port named vm9"}
    for argv in (["show-port", "vm9"], ["--json", "show-port", "vm9"],
                 ["del-port", "vm9"]):
        rc, out, err = run(argv, refusal)
        expect_rc(rc, 1, out, err)
        check(err == "vuswitchctl: no port named vm9\n", f"stderr {err!r}")
        check(out == "", f"stdout {out!r}")
    rc, out, err = run(["version"], {"ok": False})
    expect_rc(rc, 1, out, err)
    check(err.startswith("vuswitchctl: "), f"stderr {err!r}")


@case("exit 3: no socket at the path, message names it")
def _():
    path = os.path.join(TMP, "nobody-here.sock")
    rc, out, err = run([f"--socket={path}", "version"])
    expect_rc(rc, 3, out, err)
    check(path in err and "connect" in err, f"stderr {err!r}")
    rc, out, err = run(["version"], socket_arg=False,
                       env={"VUSWITCH_CTL": path})
    expect_rc(rc, 3, out, err)
    check(path in err, f"stderr does not name $VUSWITCH_CTL: {err!r}")


@case("exit 3: connection refused (socket not listening)")
def _():
    path = os.path.join(TMP, "deaf.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    try:
        rc, out, err = run([f"--socket={path}", "list-ports"])
    finally:
        s.close()
    expect_rc(rc, 3, out, err)
    check(path in err, f"stderr {err!r}")


@case("exit 3: socket path too long")
def _():
    path = "/tmp/" + "x" * 200
    rc, out, err = run([f"--socket={path}", "version"])
    expect_rc(rc, 3, out, err)
    check(path in err, f"stderr {err!r}")


@case("exit 3: daemon hangs up, or sends no valid reply")
def _():
    for reply in ("close", b"not json\n", b"\n", b'{"result": {}}\n',
                  b'[1, 2]\n', b'{"ok": "yes"}\n'):
        rc, out, err = run(["version"], reply)
        expect_rc(rc, 3, out, err)
        check(SOCK in err, f"{reply!r}: stderr {err!r}")
        check(out == "", f"{reply!r}: stdout {out!r}")


@case("exit 3: no reply within 10 s")
def _():
    t0 = time.monotonic()
    rc, out, err = run(["show-workers"], "silent")
    dt = time.monotonic() - t0
    expect_rc(rc, 3, out, err)
    check(9.5 <= dt <= 20, f"gave up after {dt:.1f} s")
    check("10 s" in err and SOCK in err, f"stderr {err!r}")


@case("socket: $VUSWITCH_CTL, and --socket before or after it")
def _():
    rc, out, err = run(["version"], ok({"version": "0.1.0"}),
                       socket_arg=False, env={"VUSWITCH_CTL": SOCK})
    expect_rc(rc, 0, out, err)
    check(DAEMON.conns == 1, "$VUSWITCH_CTL not used")
    bad = {"VUSWITCH_CTL": os.path.join(TMP, "nope.sock")}
    for argv in (["--socket", SOCK, "version"], ["version", "--socket",
                                                  SOCK]):
        rc, out, err = run(argv, socket_arg=False, env=bad)
        expect_rc(rc, 0, out, err)
        check(DAEMON.conns == 1, f"{argv}: --socket not used")


@case("reply read in small pieces, and one without a final newline")
def _():
    for reply in (("chunked", ok(SHOW_VM0)), ("noeol", ok(SHOW_VM0))):
        rc, out, err = run(["--json", "show-port", "vm0"], reply)
        expect_rc(rc, 0, out, err)
        check(json.loads(out) == SHOW_VM0, f"{reply[0]}: {out}")


JSON_RESULTS = [
    (["version"], {"version": "0.1.0", "workers": 2}),
    (["list-ports"], {"ports": [VM0, ETH0]}),
    (["show-port", "vm0"], SHOW_VM0),
    (["add-port", "vm0", "vhost-user", "/run/vm0.sock"], VM0),
    (["del-port", "vm0"], {}),
    (["show-stats"], STATS),
    (["show-macs"], MACS),
    (["show-workers"], WORKERS),
    (["show-mbufs"], MBUFS),
    (["rebalance"], REBALANCE),
    (["set-vlan", "eth0", "trunk", "10,20-22", "--native=5"], ETH0),
    (["capture", "stop", "vm0"], {"port": "vm0", "file": "/x.pcap",
                                  "packets": 5, "dropped": 0}),
]


def json_case(argv, result):
    def fn():
        rc, out, err = run(["--json"] + argv, ok(result))
        expect_rc(rc, 0, out, err)
        got = json.loads(out)
        check(got == result, f"--json printed {got}\nwant {result}")
        check(json.dumps(got) == json.dumps(result), "key order changed")
    return fn


for argv, result in JSON_RESULTS:
    case(f"--json: {argv[0]} prints the result")(json_case(argv, result))

PORT_RIGHT = ("QUEUES", "MTU", "RX", "TX", "DROPS")


@case("table: list-ports")
def _():
    rc, out, err = run(["list-ports"], ok({"ports": [VM0, ETH0]}))
    expect_rc(rc, 0, out, err)
    head = header(out, "NAME")
    check(head.split() == ["NAME", "TYPE", "MODE/DEVARGS", "PATH", "QUEUES",
                           "VLAN", "MTU", "STATE", "RX", "TX", "DROPS"],
          f"header {head!r}")
    check_cells(head, row(out, "vm0"), {
        "NAME": "vm0", "TYPE": "vhost-user", "MODE/DEVARGS": "server",
        "PATH": "/run/vm0.sock", "QUEUES": 2, "VLAN": "access 10",
        "MTU": 1500, "STATE": "connected", "RX": 1111, "TX": 2222,
        "DROPS": 7}, PORT_RIGHT)
    check_cells(head, row(out, "eth0"), {
        "NAME": "eth0", "TYPE": "ethdev", "MODE/DEVARGS": "0000:00:08.0",
        "PATH": "-", "QUEUES": 1, "VLAN": "trunk 10,20-22 native 5",
        "MTU": 9000, "STATE": "-", "RX": 5, "TX": 6, "DROPS": 0},
        PORT_RIGHT)
    check(len(lines_of(out)) == 3, f"extra lines:\n{out}")


@case("table: list-ports with missing fields prints '-'")
def _():
    rc, out, err = run(["list-ports"], ok({"ports": [
        {"name": "bare"}, {"name": "vm5", "vlan_mode": "trunk",
                           "trunks": "all", "connected": False}]}))
    expect_rc(rc, 0, out, err)
    head = header(out, "NAME")
    want = {t: "-" for t in head.split()}
    want["NAME"] = "bare"
    check_cells(head, row(out, "bare"), want, PORT_RIGHT)
    check_cells(head, row(out, "vm5"), {"VLAN": "trunk all",
                                        "STATE": "disconnected"})


@case("table: show-port vhost-user")
def _():
    rc, out, err = run(["show-port", "vm0"], ok(SHOW_VM0))
    expect_rc(rc, 0, out, err)
    for key, val in (("name", "vm0"), ("index", "0"), ("mode", "server"),
                     ("path", "/run/vm0.sock"), ("connected", "yes"),
                     ("queues", "2"), ("mtu", "1500"),
                     ("vlan", "access 10"), ("zero_copy", "yes"),
                     ("rx_packets", "1111"), ("drops", "7"),
                     ("features", "0x150008000"),
                     ("protocol_features", "0x8603"),
                     ("features_names",
                      "VIRTIO_NET_F_MRG_RXBUF VIRTIO_F_VERSION_1")):
        check(kv(out, key) == val, f"{key}: {kv(out, key)!r}, want {val!r}")
    check("devargs:" not in out, "devargs shown for a vhost-user port")
    head = header(out, "RING")
    right = ("RING", "SIZE", "PACKETS", "BYTES", "DIRECT", "DROPS")
    check_cells(head, row(out, "0"), {
        "RING": 0, "STATE": "enabled", "SIZE": 256, "LAYOUT": "split",
        "BROKEN": "no", "PACKETS": 100, "BYTES": 6400, "DIRECT": 40,
        "DROPS": 2}, right)
    check_cells(head, row(out, "1"), {
        "STATE": "stopped", "SIZE": 1024, "LAYOUT": "packed",
        "BROKEN": "yes", "DROPS": 0}, right)
    head = header(out, "QUEUE")
    check_cells(head, find_line(out, lambda l: "123456" in l, "rxq"), {
        "QUEUE": 0, "WORKER": 1, "PACKETS": 100, "BYTES": 6400,
        "CYCLES": 123456}, ("QUEUE", "WORKER", "PACKETS", "BYTES",
                            "CYCLES"))
    tail = out[out.index("drops by reason"):]
    check(kv(tail, "tx_full") == "4" and kv(tail, "vlan") == "3",
          f"drop reasons:\n{tail}")
    check("runt" not in tail and "no_mbuf" not in tail,
          f"zero reasons shown:\n{tail}")


@case("table: show-port ethdev, no drops")
def _():
    rc, out, err = run(["show-port", "eth0"], ok(SHOW_ETH0))
    expect_rc(rc, 0, out, err)
    check(kv(out, "devargs") == "0000:00:08.0", out)
    check(kv(out, "ethdev_port") == "3", out)
    check(kv(out, "vlan") == "trunk 10,20-22 native 5", out)
    check(kv(out, "zero_copy") == "no", out)
    for absent in ("path:", "features:", "rings:", "RING"):
        check(absent not in out, f"{absent} shown for ethdev:\n{out}")
    check("drops by reason: none" in out, out)
    check("rx queues: none" in out, out)


@case("table: show-stats")
def _():
    rc, out, err = run(["show-stats"], ok(STATS))
    expect_rc(rc, 0, out, err)
    head = header(out, "NAME")
    check(head.split() == ["NAME", "RX-PKTS", "RX-BYTES", "TX-PKTS",
                           "TX-BYTES", "DROPS"], head)
    right = ("RX-PKTS", "RX-BYTES", "TX-PKTS", "TX-BYTES", "DROPS")
    check_cells(head, row(out, "vm0"), {
        "NAME": "vm0", "RX-PKTS": 1111, "RX-BYTES": 71104,
        "TX-PKTS": 2222, "TX-BYTES": 142208, "DROPS": 7}, right)
    check_cells(head, row(out, "eth0"), {
        "RX-PKTS": 5, "RX-BYTES": 320, "TX-PKTS": 6, "TX-BYTES": 384,
        "DROPS": 0}, right)
    tail = out[out.index("drops by reason"):]
    dhead = header(tail, "PORT")
    reasons = [l.split() for l in lines_of(tail)[2:]]
    check(reasons == [["vm0", "vlan", "3"], ["vm0", "tx_full", "4"]],
          f"drop reasons {reasons}")
    check_cells(dhead, lines_of(tail)[3], {"PORT": "vm0",
                                           "REASON": "tx_full",
                                           "PACKETS": 4}, ("PACKETS",))


@case("table: show-stats without drops")
def _():
    rc, out, err = run(["show-stats", "eth0"], ok({"ports": [STATS_ETH0]}))
    expect_rc(rc, 0, out, err)
    check("drops by reason: none" in out, out)
    check_cells(header(out, "NAME"), row(out, "eth0"), {"RX-BYTES": 320},
                ("RX-BYTES",))


@case("table: show-macs")
def _():
    rc, out, err = run(["show-macs"], ok(MACS))
    expect_rc(rc, 0, out, err)
    head = header(out, "MAC")
    check(head.split() == ["MAC", "VLAN", "PORT", "TYPE", "AGE"], head)
    check_cells(head, row(out, "52:54:00:00:00:01"), {
        "VLAN": 10, "PORT": "vm0", "TYPE": "dynamic", "AGE": 12},
        ("VLAN", "AGE"))
    check_cells(head, row(out, "52:54:00:00:00:02"), {
        "VLAN": 0, "PORT": "eth0", "TYPE": "static", "AGE": 0},
        ("VLAN", "AGE"))
    check(lines_of(out)[-1] == "2 entries, aging 300 s",
          f"footer {lines_of(out)[-1]!r}")
    rc, out, err = run(["show-macs"], ok({"aging": 60, "macs": []}))
    expect_rc(rc, 0, out, err)
    check(lines_of(out) == ["MAC  VLAN  PORT  TYPE  AGE",
                            "0 entries, aging 60 s"], out)
    rc, out, err = run(["show-macs"], ok({"macs": MACS["macs"][:1]}))
    expect_rc(rc, 0, out, err)
    check(lines_of(out)[-1] == "1 entry, aging - s", out)


def check_workers(out):
    check("worker 0 (lcore 1):" in out and "worker 1 (lcore 2):" in out,
          out)
    w0 = out[out.index("worker 0"):out.index("worker 1")]
    for key, val in (("busy", "45.0 %"), ("packets", "1000"),
                     ("cycles/packet", "312.5"), ("iterations", "99999")):
        check(kv(w0, key) == val, f"{key}: {kv(w0, key)!r}")
    head = header(w0, "PORT")
    right = ("QUEUE", "PACKETS", "CYCLES", "SHARE")
    check_cells(head, row(w0, "vm0"), {"QUEUE": 0, "PACKETS": 700,
                                       "CYCLES": 300, "SHARE": "75.0 %"},
                right)
    check_cells(head, row(w0, "eth0"), {"QUEUE": 1, "CYCLES": 100,
                                        "SHARE": "25.0 %"}, right)
    w1 = out[out.index("worker 1"):]
    check(kv(w1, "iterations") == "12" and kv(w1, "polls") == "none", w1)


@case("table: show-workers")
def _():
    rc, out, err = run(["show-workers"], ok(WORKERS))
    expect_rc(rc, 0, out, err)
    check_workers(out)


@case("table: show-mbufs")
def _():
    rc, out, err = run(["show-mbufs"], ok(MBUFS))
    expect_rc(rc, 0, out, err)
    head = header(out, "POOL")
    check(head.split() == ["POOL", "SIZE", "CACHE", "AVAILABLE", "IN-USE"],
          f"header {head!r}")
    check_cells(head, row(out, "sw_mbufs"), {
        "POOL": "sw_mbufs", "SIZE": 32767, "CACHE": 256,
        "AVAILABLE": 32000, "IN-USE": 767},
        ("SIZE", "CACHE", "AVAILABLE", "IN-USE"))


@case("table: rebalance")
def _():
    rc, out, err = run(["rebalance"], ok(REBALANCE))
    expect_rc(rc, 0, out, err)
    check(lines_of(out)[0] == "moved 3 queues", out)
    check_workers(out)


@case("table: add-port and set-vlan print the port summary")
def _():
    for argv, port, vlan in (
            (["add-port", "vm0", "vhost-user", "/run/vm0.sock"], VM0,
             "access 10"),
            (["set-vlan", "eth0", "trunk", "10,20-22", "--native=5"], ETH0,
             "trunk 10,20-22 native 5")):
        rc, out, err = run(argv, ok(port))
        expect_rc(rc, 0, out, err)
        check(len(lines_of(out)) == 2, out)
        check_cells(header(out, "NAME"), row(out, port["name"]), {
            "TYPE": port["type"], "VLAN": vlan, "MTU": port["mtu"]},
            PORT_RIGHT)


@case("output: del-port, add-mac, del-mac print nothing")
def _():
    for argv in (["del-port", "vm0"], ["add-mac", "52:54:00:00:00:01",
                                       "vm0"],
                 ["del-mac", "52:54:00:00:00:01"]):
        rc, out, err = run(argv, ok({}))
        expect_rc(rc, 0, out, err)
        check(out == "" and err == "", f"{argv}: {out!r} {err!r}")
        check(len(DAEMON.lines) == 1, f"{argv}: {DAEMON.lines} sent")


@case("output: capture start and stop, version")
def _():
    rc, out, err = run(["capture", "start", "vm0", "/x.pcap"], ok(
        {"port": "vm0", "file": "/x.pcap", "direction": "both"}))
    expect_rc(rc, 0, out, err)
    check(len(lines_of(out)) == 1 and "vm0" in out and "/x.pcap" in out
          and "both" in out, out)
    rc, out, err = run(["capture", "stop", "vm0"], ok(
        {"port": "vm0", "file": "/x.pcap", "packets": 1234,
         "dropped": 56}))
    expect_rc(rc, 0, out, err)
    check(len(lines_of(out)) == 1 and "1234 packets" in out and
          "56 dropped" in out and "/x.pcap" in out, out)
    rc, out, err = run(["version"], ok({"version": "0.1.0", "workers": 2}))
    expect_rc(rc, 0, out, err)
    check(out == "vuswitchd 0.1.0, 2 workers\n", out)


ALL_COMMANDS = [
    ["version"], ["list-ports"], ["show-port", "p"],
    ["add-port", "p", "vhost-user", "/s"], ["del-port", "p"],
    ["show-stats"], ["show-macs"], ["add-mac", "02:00:00:00:00:01", "p"],
    ["del-mac", "02:00:00:00:00:01"], ["show-workers"], ["show-mbufs"],
    ["rebalance"],
    ["set-vlan", "p", "access", "1"], ["capture", "start", "p", "/x"],
    ["capture", "stop", "p"],
]
ODD = {"ports": [{"name": 5, "drops": {"a": 1}, "vlan_mode": "trunk",
                  "trunks": [1, "x", 3, 4]}, "str", None, 7],
       "macs": 5, "workers": [{"polls": [{"cycles": "x"}, 3]}, []],
       "rings": [[]], "rxqs": {"queue": 0}, "stats": [], "drops": "x",
       "features_names": [], "type": "vhost-user", "moved": None,
       "aging": None, "connected": 1, "version": [1, 2]}


@case("robust: every command with results empty, missing or odd")
def _():
    for argv in ALL_COMMANDS:
        for reply in ({"ok": True, "result": {}}, {"ok": True},
                      {"ok": True, "result": None}, ok(ODD), ok([1, 2])):
            rc, out, err = run(argv, reply)
            expect_rc(rc, 0, out, err)
            check(err == "", f"{argv} {reply}: stderr {err!r}")
    rc, out, err = run(["list-ports"], ok(ODD))
    check_cells(header(out, "NAME"), row(out, "5"),
                {"VLAN": "trunk 1,x,3-4", "DROPS": 1}, PORT_RIGHT)
    rc, out, err = run(["show-port", "p"], {"ok": True})
    check(kv(out, "name") == "-" and kv(out, "mtu") == "-", out)


def main():
    print(f"1..{len(CASES)}", flush=True)
    failed = 0
    for i, (name, fn) in enumerate(CASES, 1):
        try:
            fn()
            print(f"ok {i} - {name}", flush=True)
        except Exception as e:  # report and go on
            failed += 1
            print(f"not ok {i} - {name}", flush=True)
            for chunk in traceback.format_exception(e):
                for line in chunk.rstrip().splitlines():
                    print(f"# {line}", flush=True)
    DAEMON.sock.close()
    shutil.rmtree(TMP, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
