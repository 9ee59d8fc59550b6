# SPDX-License-Identifier: BSD-3-Clause
"""Process harness for integration tests: start programs, read their output
line by line with timeouts, drive interactive ones, and always end what was
started (by PID). Results are reported in TAP, one line per case."""
import functools
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback

_procs = []


class Proc:
    """A child process whose stdout (and stderr) lines are queued."""

    def __init__(self, name, argv, stdin=False, env=None):
        self.name = name
        self.argv = argv
        self.lines = []
        self._q = queue.Queue()
        self.p = subprocess.Popen(
            argv, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            errors="replace", bufsize=1, env=env, start_new_session=True)
        self.pid = self.p.pid
        _procs.append(self)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            line = line.rstrip("\r\n")
            self.lines.append(line)
            self._q.put(line)
        self._q.put(None)

    def expect(self, pred, timeout, what):
        """Wait for a line for which pred(line) is true; return it."""
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{self.name}: no {what} in {timeout}s")
            try:
                line = self._q.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise EOFError(f"{self.name} exited (rc {self.p.poll()}) "
                               f"before {what}")
            if pred(line):
                return line

    def send(self, text):
        self.p.stdin.write(text + "\n")
        self.p.stdin.flush()

    def alive(self):
        return self.p.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """End the process by its PID; SIGKILL if it does not go."""
        if self.p.poll() is None:
            try:
                os.kill(self.pid, sig)
                self.p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.p.wait()
            except ProcessLookupError:
                pass
        if self in _procs:
            _procs.remove(self)
        return self.p.returncode

    def tail(self, n=30):
        return "\n".join(self.lines[-n:])

    def wait_until(self, cond, timeout, what):
        """Poll until cond() is true; output may come in any order."""
        end = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > end:
                raise TimeoutError(f"{self.name}: no {what} in {timeout}s")
            if not self.alive():
                raise EOFError(f"{self.name} exited before {what}")
            time.sleep(0.05)


class Backend(Proc):
    """The example back-end: every protocol event is a JSON line."""

    def event(self, timeout, what, **want):
        def match(line):
            try:
                ev = json.loads(line)
            except ValueError:
                return False
            return all(ev.get(k) == v for k, v in want.items())
        return json.loads(self.expect(match, timeout, what))

    def events(self, since=0, **want):
        out = []
        for line in self.lines[since:]:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if all(ev.get(k) == v for k, v in want.items()):
                out.append(ev)
        return out


    def mark(self):
        """A position in the output; events(since=mark) looks after it."""
        return len(self.lines)


def diag(msg):
    """Print msg as TAP diagnostics."""
    for line in str(msg).splitlines():
        print(f"# {line}", flush=True)


def guarded(prefixes):
    """A decorator for cases: when a case fails, say what each of its
    processes printed last; whatever happens, end them all and remove the
    DPDK runtime directories of the file prefixes the case put in the
    list prefixes."""
    def wrap(fn):
        @functools.wraps(fn)
        def run(tmp):
            try:
                return fn(tmp)
            except Exception:
                for p in list(_procs):
                    state = "running" if p.alive() else f"rc {p.p.poll()}"
                    diag(f"--- {p.name} (pid {p.pid}, {state}) said "
                         f"last:\n{p.tail(40)}")
                raise
            finally:
                stop_all()
                for p in prefixes:
                    shutil.rmtree(f"/var/run/dpdk/{p}", ignore_errors=True)
                prefixes.clear()
        return run
    return wrap


def stop_all():
    for p in list(_procs):
        p.stop(signal.SIGKILL if p.alive() else signal.SIGTERM, timeout=5)


def free_hugepages():
    """Free 2 MB hugepages on a mounted hugetlbfs, 0 when unusable."""
    try:
        with open("/proc/mounts") as f:
            if not any(l.split()[2] == "hugetlbfs" for l in f):
                return 0
        with open("/sys/kernel/mm/hugepages/hugepages-2048kB/"
                  "free_hugepages") as f:
            return int(f.read())
    except OSError:
        return 0


def testpmd(name, vdevs, prefix, hugepages=False, extra=(),
            line_buffered=False):
    """dpdk-testpmd in interactive mode on lcores 0,1 with main lcore 1, so
    that it forwards on core 0 and leaves core 1 to a switch beside it.
    line_buffered: run it under stdbuf -oL, so that what its commands
    print (statistics) reaches us at once rather than when its stdio
    buffer fills (see Testpmd). $TESTPMD_LOG_LEVEL replaces the log level
    (*:notice), for debugging: "pmd.net.virtio.*:debug"."""
    argv = ["dpdk-testpmd", "-l", "0,1", "--main-lcore", "1", "--no-pci",
            "--file-prefix", prefix, "--log-level",
            os.environ.get("TESTPMD_LOG_LEVEL", "*:notice")]
    if hugepages:
        # Hugepage memory in memfds: no file is left on hugetlbfs
        # however testpmd ends.
        argv += ["--single-file-segments", "--in-memory", "-m", "256"]
    else:
        argv += ["--no-huge", "-m", "512"]
    for v in vdevs:
        argv += ["--vdev", v]
    argv += ["--", "-i", "--total-num-mbufs=16384"] + list(extra)
    if line_buffered:
        argv = ["stdbuf", "-oL"] + argv
    return Proc(name, argv, stdin=True)


class Tap:
    """Run named cases, print TAP, count failures."""

    def __init__(self, cases):
        self.cases = cases
        self.failed = 0

    def run(self):
        print(f"1..{len(self.cases)}", flush=True)
        for i, (name, fn) in enumerate(self.cases, 1):
            tmp = tempfile.mkdtemp(prefix="vuswitch-it-")
            t0 = time.monotonic()
            try:
                skip = fn(tmp)
                dt = time.monotonic() - t0
                if isinstance(skip, str):
                    print(f"ok {i} - {name} # SKIP {skip}", flush=True)
                else:
                    print(f"ok {i} - {name} ({dt:.1f}s)", flush=True)
            except Exception as e:  # report, clean up, go on
                self.failed += 1
                print(f"not ok {i} - {name}", flush=True)
                for line in traceback.format_exception(e):
                    for l in line.rstrip().splitlines():
                        print(f"# {l}", flush=True)
                for p in list(_procs):
                    print(f"# --- {p.name} (pid {p.pid}) output:")
                    for l in p.tail().splitlines():
                        print(f"#   {l}", flush=True)
            finally:
                stop_all()
                shutil.rmtree(tmp, ignore_errors=True)
        return 1 if self.failed else 0


# ---- helpers for the switch's tests (test_switch.py) ----

class Testpmd:
    """Drives one interactive dpdk-testpmd started with
    testpmd(..., line_buffered=True) and reads its statistics back.
    Commands run in order, so a command whose output we wait for also
    proves that every command sent before it has run."""

    def __init__(self, proc):
        self.proc = proc

    def send(self, *cmds):
        for c in cmds:
            self.proc.send(c)

    def ready(self, timeout):
        """Wait until testpmd reads commands (its ports are configured)."""
        self.stats(0, timeout)

    def stats(self, port, timeout=20):
        """'show port stats PORT' as a dict: rx, rx_missed, rx_errors,
        rx_nombuf, tx, tx_errors (packets) and rx_bytes, tx_bytes."""
        self.proc.send(f"show port stats {port}")
        self.proc.expect(lambda l: f"NIC statistics for port {port} " in l,
                         timeout, f"statistics of port {port}")
        out = {}
        keys = {"RX-packets": "rx", "RX-missed": "rx_missed",
                "RX-bytes": "rx_bytes", "RX-errors": "rx_errors",
                "RX-nombuf": "rx_nombuf", "TX-packets": "tx",
                "TX-errors": "tx_errors", "TX-bytes": "tx_bytes"}
        while True:
            line = self.proc.expect(lambda l: "TX-packets" in l or
                                    "RX-" in l, timeout,
                                    f"counters of port {port}")
            toks = line.replace(":", " ").split()
            for i, t in enumerate(toks[:-1]):
                if t in keys:
                    out[keys[t]] = int(toks[i + 1])
            if "tx" in out:
                return out

    def wait_rx(self, port, want, timeout):
        """Poll until port has received at least want packets in all;
        returns its statistics then."""
        end = time.monotonic() + timeout
        while True:
            s = self.stats(port, timeout)
            if s["rx"] >= want:
                return s
            if time.monotonic() > end:
                raise TimeoutError(f"{self.proc.name} port {port}: "
                                   f"{s['rx']} packets received, waited "
                                   f"for {want}")
            time.sleep(0.05)

    def link_up(self, port, timeout=20):
        """Whether 'show port info PORT' says the link is up."""
        self.proc.send(f"show port info {port}")
        line = self.proc.expect(lambda l: "Link status:" in l, timeout,
                                f"link status of port {port}")
        return line.split(":", 1)[1].strip() == "up"

    def quit(self, timeout=20):
        self.proc.send("quit")
        return self.proc.p.wait(timeout=timeout)


def ctl_json(ctl, sock, *args, timeout=10):
    """vuswitchctl --json ARGS: (exit status, parsed result or None,
    stdout, stderr)."""
    r = subprocess.run([ctl, f"--socket={sock}", "--json", *args],
                       capture_output=True, text=True, timeout=timeout)
    try:
        res = json.loads(r.stdout) if r.stdout.strip() else None
    except ValueError:
        res = None
    return r.returncode, res, r.stdout, r.stderr


class Vuswitchd(Proc):
    """vuswitchd with its own control socket, talked to by vuswitchctl."""

    def __init__(self, binary, ctl, ctl_sock, args, name="vuswitchd"):
        self.ctl_bin = ctl
        self.ctl_sock = ctl_sock
        super().__init__(name, [binary, f"--control-socket={ctl_sock}",
                                *args])

    def wait_ready(self, timeout):
        return self.expect(lambda l: l.startswith("vuswitchd: ready"),
                           timeout, "ready line")

    def ctl(self, *args, timeout=10):
        """A command that must succeed; its parsed JSON result."""
        rc, res, out, err = ctl_json(self.ctl_bin, self.ctl_sock, *args,
                                     timeout=timeout)
        if rc != 0 or res is None:
            raise AssertionError(f"vuswitchctl {' '.join(args)}: exit {rc}"
                                 f", stdout {out!r}, stderr {err!r}")
        return res

    def ctl_raw(self, *args, timeout=10):
        return ctl_json(self.ctl_bin, self.ctl_sock, *args, timeout=timeout)

    def port(self, name):
        return self.ctl("show-port", name)

    def stats(self, name):
        return self.ctl("show-stats", name)["ports"][0]

    def macs(self):
        return {(m["mac"], m["vlan"]): m
                for m in self.ctl("show-macs")["macs"]}

    def wait_port(self, name, timeout, rings=2, connected=True,
                  state="enabled"):
        """Poll show-port until the port is (dis)connected and its first
        rings are in state; returns the port."""
        end = time.monotonic() + timeout
        while True:
            if not self.alive():
                raise EOFError(f"{self.name} exited (rc {self.p.poll()})")
            p = self.port(name)
            rs = p.get("rings", [])[:rings]
            if p.get("connected") is connected and len(rs) == rings and \
                    all(r["state"] == state for r in rs):
                return p
            if time.monotonic() > end:
                raise TimeoutError(
                    f"port {name}: connected {p.get('connected')}, rings "
                    f"{[r['state'] for r in rs]}; waited for {connected}, "
                    f"{rings} x {state}")
            time.sleep(0.05)


def read_pcapng(path):
    """A pcapng file's interfaces, packets and interface statistics, read
    block by block: {"interfaces": [{"linktype", "snaplen", "options"}],
    "packets": [{"ifid", "ts", "caplen", "origlen", "data", "flags"}],
    "stats": [{"ifid", "options"}]}. Options are {code: [bytes, ...]}."""
    import struct
    with open(path, "rb") as f:
        buf = f.read()
    out = {"interfaces": [], "packets": [], "stats": []}
    off, end = 0, "<"

    def options(data):
        opts, o = {}, 0
        while o + 4 <= len(data):
            code, ln = struct.unpack_from(end + "HH", data, o)
            if code == 0:
                break
            opts.setdefault(code, []).append(data[o + 4:o + 4 + ln])
            o += 4 + (ln + 3) // 4 * 4
        return opts

    while off < len(buf):
        if len(buf) - off < 12:
            raise ValueError(f"{path}: truncated block at {off}")
        btype = struct.unpack_from("<I", buf, off)[0]
        if btype == 0x0A0D0D0A:
            bom = buf[off + 8:off + 12]
            end = "<" if bom == b"\x4d\x3c\x2b\x1a" else ">"
        blen = struct.unpack_from(end + "I", buf, off + 4)[0]
        if blen < 12 or blen % 4 or off + blen > len(buf):
            raise ValueError(f"{path}: bad block length {blen} at {off}")
        if struct.unpack_from(end + "I", buf, off + blen - 4)[0] != blen:
            raise ValueError(f"{path}: trailing length mismatch at {off}")
        body = buf[off + 8:off + blen - 4]
        btype = struct.unpack_from(end + "I", buf, off)[0]
        if btype == 0x0A0D0D0A:
            major, minor = struct.unpack_from(end + "HH", body, 4)
            out["version"] = (major, minor)
            out["shb_options"] = options(body[16:])
        elif btype == 1:
            lt, _, snap = struct.unpack_from(end + "HHI", body, 0)
            out["interfaces"].append({"linktype": lt, "snaplen": snap,
                                      "options": options(body[8:])})
        elif btype == 6:
            ifid, hi, lo, cap, orig = struct.unpack_from(end + "5I", body, 0)
            opts = options(body[20 + (cap + 3) // 4 * 4:])
            flags = struct.unpack(end + "I", opts[2][0])[0] \
                if 2 in opts else None
            out["packets"].append({"ifid": ifid, "ts": hi << 32 | lo,
                                   "caplen": cap, "origlen": orig,
                                   "data": body[20:20 + cap],
                                   "flags": flags})
        elif btype == 5:
            ifid = struct.unpack_from(end + "I", body, 0)[0]
            out["stats"].append({"ifid": ifid, "options": options(body[12:])})
        off += blen
    return out


class Netns:
    """A network namespace with one end of a veth pair in it; the other
    end stays here. Removed (with both veth ends) by close(), which never
    raises, so that it can sit in a finally."""

    def __init__(self, name, outer, inner):
        self.name, self.outer, self.inner = name, outer, inner
        self.close()
        try:
            self.sh("ip", "netns", "add", name)
            self.sh("ip", "link", "add", outer, "type", "veth", "peer",
                    "name", inner)
            self.sh("ip", "link", "set", inner, "netns", name)
        except Exception:
            self.close()
            raise

    @staticmethod
    def sh(*argv, check=True):
        r = subprocess.run(argv, capture_output=True, text=True, timeout=20)
        if check and r.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)}: exit {r.returncode}: "
                               f"{r.stderr.strip()}")
        return r.stdout

    def run(self, *argv, check=True):
        return self.sh("ip", "netns", "exec", self.name, *argv, check=check)

    def link_stats(self, inner=True, dev=None):
        """rx/tx packet counters of a veth end, or of another device dev
        in the namespace (ip -s -j link)."""
        argv = ["ip", "-s", "-j", "link", "show",
                dev or (self.inner if inner else self.outer)]
        out = self.run(*argv) if inner or dev else self.sh(*argv)
        s = json.loads(out)[0]["stats64"]
        return {"rx": s["rx"]["packets"], "tx": s["tx"]["packets"]}

    def close(self):
        subprocess.run(["ip", "link", "del", self.outer],
                       capture_output=True, timeout=20)
        subprocess.run(["ip", "netns", "del", self.name],
                       capture_output=True, timeout=20)
