#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""peers: vuswitchd against the switches users would pick instead, in one
run on one machine (perf/README.md says how to read it).

Traffic: one dpdk-testpmd with two virtio-user ports in 'mac' forwarding,
each port's peer the other's MAC, 'start tx_first 32', throughput from
'show port stats' (RX-packets of both ports) over a fixed window. The
traffic side forwards on CPU 0 (main lcore 1); the switch under test gets
CPU 1 for its one poll-mode thread (main lcore or control thread on 0).

Switches, one poll-mode core each, alternated over rounds (A B C A B C):
  vuswitchd  this project: the learning switch, two vhost-user ports
  testpmd    dpdk-testpmd, two net_vhost ports, 'io' forwarding (DPDK's
             vhost library as a plain cable: no lookup, no learning)
  ovs        Open vSwitch with DPDK (openvswitch-switch-dpdk): a netdev
             bridge, NORMAL action, two dpdkvhostuserclient ports

Each switch reports its own busy cycles per packet: vuswitchd's worker
counters (show-workers), testpmd's --record-core-cycles ('show fwd stats
all'), OVS's dpif-netdev/pmd-stats-show. testpmd counts only the polls
that received packets, OVS whole loop iterations that received any;
vuswitchd counts both ways (its queues' cycles, its worker's busy
cycles), and each peer is compared with the count made its way. The
traffic side reports its own the same way as testpmd, so the report can
tell which core was the limit. The window's deltas are used.

Usage: peers.py --vuswitchd PATH --vuswitchctl PATH [--rounds N]
                [--window S] [--only TEXT] [--switches a,b] [--json F]
                [--probe build-perf/perf/core-probe]
                [--results perf/RESULTS.md] [--png perf/results.png]
"""
import argparse
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import harness  # noqa: E402
from harness import Proc, Testpmd, free_hugepages, stop_all  # noqa: E402

MACS = ("52:54:00:00:30:01", "52:54:00:00:30:02")
T = 30
PFX = f"peers{os.getpid()}"


class Case:
    """Frame size (with the 4-byte FCS, as Ethernet counts it), ring
    layout and mergeable receive buffers on the traffic side's ports."""

    def __init__(self, size, packed, mrg):
        self.size, self.packed, self.mrg = size, packed, mrg
        self.name = (f"{size} B {'packed' if packed else 'split'} "
                     f"mrg {'on' if mrg else 'off'}")

    def devargs(self, i, path, server):
        return (f"net_virtio_user{i},mac={MACS[i]},path={path},queues=1,"
                f"packed_vq={int(self.packed)},mrg_rxbuf={int(self.mrg)}"
                + (",server=1" if server else ""))


def cases(full):
    """The default set: every size split and packed with mergeable
    buffers off, and split with them on. --full: every combination."""
    out = []
    for size in (64, 512, 1518):
        for packed in (False, True):
            for mrg in (False, True):
                if full or not (packed and mrg):
                    out.append(Case(size, packed, mrg))
    return out


def sh(*argv, check=True, env=None):
    r = subprocess.run(argv, capture_output=True, text=True, env=env,
                       timeout=60)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: exit {r.returncode}: "
                           f"{r.stderr.strip()}")
    return r.stdout


def rm_prefix(p):
    shutil.rmtree(f"/var/run/dpdk/{p}", ignore_errors=True)


# ---- the switches ----

class Vuswitchd:
    name = "vuswitchd"
    server = False          # its sockets listen: virtio-user connects

    def __init__(self, args, tmp, socks):
        self.pfx = f"{PFX}vsd"
        self.proc = harness.Vuswitchd(
            args.vuswitchd, args.vuswitchctl, os.path.join(tmp, "vsd.ctl"),
            ["--lcores=0,1", f"--file-prefix={self.pfx}",
             *[f"--socket-path={s}" for s in socks]])
        self.proc.wait_ready(T)

    def _worker(self):
        return self.proc.ctl("show-workers")["workers"][0]

    def pids(self):
        return [self.proc.pid]

    def begin(self):
        self.w0 = self._worker()

    def end(self):
        """Cycles per packet of busy loops, busy share, and cycles per
        packet of the queues' polls that received."""
        w = self._worker()
        busy = w["busy_cycles"] - self.w0["busy_cycles"]
        idle = w["idle_cycles"] - self.w0["idle_cycles"]
        pkts = w["packets"] - self.w0["packets"]
        qc, qp = (sum(p[k] for p in w["polls"]) -
                  sum(p[k] for p in self.w0["polls"])
                  for k in ("cycles", "packets"))
        return (busy / max(pkts, 1), busy / max(busy + idle, 1),
                qc / max(qp, 1))

    def tail(self):
        return self.proc.tail(30)

    def stop(self):
        self.proc.stop()
        rm_prefix(self.pfx)


def fwd_cycles(proc):
    """(busy cycles, received packets, MHz) of the forwarding core of a
    dpdk-testpmd started with --record-core-cycles."""
    proc.send("show fwd stats all")
    line = proc.expect(lambda l: "CPU cycles/packet" in l, T,
                       "forwarding stats")
    m = re.search(r"total cycles=(\d+) / total \w+ packets=(\d+)\) at "
                  r"(\d+) MHz", line)
    if not m:
        raise RuntimeError(f"testpmd's cycle line not understood: {line!r}")
    return int(m.group(1)), int(m.group(2)), int(m.group(3))


def cycles_since(c0, c1, dt):
    """Busy cycles per packet and busy share between two fwd_cycles()."""
    busy = c1[0] - c0[0]
    return busy / max(c1[1] - c0[1], 1), busy / (dt * c1[2] * 1e6)


class TestpmdVhost:
    name = "testpmd"
    server = False

    def __init__(self, args, tmp, socks):
        self.pfx = f"{PFX}tpv"
        argv = ["stdbuf", "-oL", "dpdk-testpmd", "-l", "0,1",
                "--main-lcore", "0", "--no-pci", "--file-prefix", self.pfx,
                "--in-memory", "-m", "1024", "--log-level", "*:notice"]
        for i, s in enumerate(socks):
            argv += ["--vdev", f"net_vhost{i},iface={s},queues=1"]
        argv += ["--", "-i", "--forward-mode=io", "--record-core-cycles",
                 "--total-num-mbufs=32768"]
        self.proc = Proc("testpmd-vhost", argv, stdin=True)
        self.pmd = Testpmd(self.proc)
        self.pmd.ready(T)
        self.pmd.send("start")

    def begin(self):
        self.c0 = fwd_cycles(self.proc)
        self.t0 = time.monotonic()

    def end(self):
        cpp, busy = cycles_since(self.c0, fwd_cycles(self.proc),
                                 time.monotonic() - self.t0)
        return cpp, busy, cpp    # its count is of polls that received

    def pids(self):
        return [self.proc.pid]

    def tail(self):
        return self.proc.tail(30)

    def stop(self):
        try:
            self.proc.send("quit")
            self.proc.p.wait(timeout=20)
        except Exception:
            pass
        self.proc.stop()
        rm_prefix(self.pfx)


class Ovs:
    name = "ovs"
    server = True           # dpdkvhostuserclient: virtio-user listens
    VSWITCHD = "/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk"

    def __init__(self, args, tmp, socks):
        self.dir = os.path.join(tmp, "ovs")
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.pfx = f"{PFX}ovs"
        d = self.dir
        self.env = dict(os.environ, OVS_RUNDIR=d, OVS_LOGDIR=d, OVS_DBDIR=d)
        db = os.path.join(d, "conf.db")
        sh("ovsdb-tool", "create", db,
           "/usr/share/openvswitch/vswitch.ovsschema")
        self.dbsock = f"unix:{os.path.join(d, 'db.sock')}"
        self.db = Proc("ovsdb-server", [
            "ovsdb-server", db, f"--remote=p{self.dbsock}",
            f"--unixctl={os.path.join(d, 'ovsdb.ctl')}",
            f"--log-file={os.path.join(d, 'ovsdb.log')}"], env=self.env)
        self._wait_file(os.path.join(d, "db.sock"))
        self.vsctl("--no-wait", "init")
        self.vsctl("--no-wait", "set", "Open_vSwitch", ".",
                   "other_config:dpdk-init=true",
                   "other_config:dpdk-lcore-mask=0x1",
                   "other_config:pmd-cpu-mask=0x2",
                   "other_config:dpdk-socket-mem=1024",
                   f'other_config:dpdk-extra="--file-prefix={self.pfx} '
                   '--no-pci --in-memory"')
        self.appctl_sock = os.path.join(d, "vswitchd.ctl")
        self.sw = Proc("ovs-vswitchd", [
            self.VSWITCHD, self.dbsock, f"--unixctl={self.appctl_sock}",
            f"--log-file={os.path.join(d, 'vswitchd.log')}"], env=self.env)
        self._wait_file(self.appctl_sock, 60)
        self.vsctl("add-br", "br0", "--", "set", "bridge", "br0",
                   "datapath_type=netdev")
        for i, s in enumerate(socks):
            self.vsctl("add-port", "br0", f"vhu{i}", "--", "set",
                       "Interface", f"vhu{i}", "type=dpdkvhostuserclient",
                       f"options:vhost-server-path={s}")

    def _wait_file(self, path, timeout=T):
        end = time.monotonic() + timeout
        while not os.path.exists(path):
            if time.monotonic() > end:
                raise TimeoutError(f"no {path}")
            time.sleep(0.05)

    def vsctl(self, *args):
        return sh("ovs-vsctl", f"--db={self.dbsock}", "--timeout=30",
                  *args, env=self.env)

    def appctl(self, *args):
        return sh("ovs-appctl", "-t", self.appctl_sock, *args, env=self.env)

    def begin(self):
        self.appctl("dpif-netdev/pmd-stats-clear")

    def end(self):
        out = self.appctl("dpif-netdev/pmd-stats-show")
        pmd = out[out.index("pmd thread"):]
        proc = re.search(r"processing cycles: *(\d+) \(([\d.]+)%\)", pmd)
        cpp = re.search(r"avg processing cycles per packet: *([\d.]+)", pmd)
        if not proc or not cpp:
            raise RuntimeError(f"pmd-stats-show not understood:\n{pmd}")
        return float(cpp.group(1)), float(proc.group(2)) / 100, None

    def pids(self):
        return [self.sw.pid]

    def tail(self):
        try:
            with open(os.path.join(self.dir, "vswitchd.log")) as f:
                return "".join(f.readlines()[-30:])
        except OSError:
            return ""

    def stop(self):
        for p in (self.sw, self.db):
            p.stop()
        rm_prefix(self.pfx)


SWITCHES = {"vuswitchd": Vuswitchd, "testpmd": TestpmdVhost, "ovs": Ovs}


# ---- the machine's state ----

def stopped(pid):
    """Whether every thread of pid is stopped (or gone)."""
    try:
        for t in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{t}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] not in "Tt":
                    return False
    except OSError:
        pass
    return True


def core_probe(probe, pids):
    """A cache line's round trip between the two CPUs in ns (core-probe),
    with pids stopped meanwhile so that the probe has both CPUs; None
    without a probe. Stopping the benchmark's processes for these few
    milliseconds changes no counter: it is done outside the window."""
    if not probe:
        return None
    try:
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        end = time.monotonic() + 2
        while not all(stopped(p) for p in pids):
            if time.monotonic() > end:
                raise TimeoutError("processes not stopped for the probe")
            time.sleep(0.002)
        out = subprocess.run([probe, "1", "0", "20000"], check=True,
                             capture_output=True, text=True, timeout=30)
        return float(out.stdout)
    finally:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass


# ---- the traffic side ----

def measure(sw, case, socks, warmup, window, probe=None):
    """Mpps forwarded (both directions), the switch's cycles per packet
    and busy share, and the traffic side's, over the same window; last,
    the switch's cycles per packet of its polls that received (None where
    it does not count them), and core_probe() just before and after the
    window."""
    pfx = f"{PFX}tg"
    argv = ["stdbuf", "-oL", "dpdk-testpmd", "-l", "0,1", "--main-lcore",
            "1", "--no-pci", "--file-prefix", pfx, "--single-file-segments",
            "--in-memory", "-m", "512", "--log-level", "*:notice"]
    for i, s in enumerate(socks):
        argv += ["--vdev", case.devargs(i, s, sw.server)]
    argv += ["--", "-i", "--total-num-mbufs=32768", "--record-core-cycles",
             f"--eth-peer=0,{MACS[1]}", f"--eth-peer=1,{MACS[0]}"]
    tg = Proc("traffic", argv, stdin=True)
    try:
        pmd = Testpmd(tg)
        pmd.ready(T)
        end = time.monotonic() + T
        while not (pmd.link_up(0) and pmd.link_up(1)):
            if time.monotonic() > end:
                raise TimeoutError("traffic ports' links not up")
            time.sleep(0.2)
        pmd.send("set fwd mac", f"set txpkts {case.size - 4}",
                 "start tx_first 32")
        time.sleep(warmup)
        pr0 = core_probe(probe, sw.pids() + [tg.pid])
        time.sleep(0.5)
        s0 = [pmd.stats(p) for p in (0, 1)]
        g0 = fwd_cycles(tg)
        t0 = time.monotonic()
        sw.begin()
        time.sleep(window)
        s1 = [pmd.stats(p) for p in (0, 1)]
        g1 = fwd_cycles(tg)
        t1 = time.monotonic()
        cpp, busy, cpp_q = sw.end()
        tg_cpp, tg_busy = cycles_since(g0, g1, t1 - t0)
        rx = sum(s1[p]["rx"] - s0[p]["rx"] for p in (0, 1))
        pr1 = core_probe(probe, sw.pids() + [tg.pid])
        pmd.send("stop")
        pmd.quit()
        return (rx / (t1 - t0) / 1e6, cpp, busy, tg_cpp, tg_busy, cpp_q,
                (pr0, pr1))
    finally:
        tg.stop()
        rm_prefix(pfx)


# ---- the report ----

def machine():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break

    def ver(*argv):
        try:
            return sh(*argv, check=False).strip().splitlines()[0]
        except (IndexError, OSError, subprocess.SubprocessError):
            return "?"
    return {
        "cpu": cpu, "cpus": os.cpu_count(), "kernel": platform.release(),
        "dpdk": ver("pkg-config", "--modversion", "libdpdk"),
        "ovs": ver("ovs-vsctl", "--version"),
        "vuswitch": ver("git", "-C", HERE, "describe", "--always",
                        "--dirty"),
        "hugepages": free_hugepages() > 0,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


# A round is in the cores' near state when both its probes read under
# NEAR times the shortest probe of the run.
NEAR = 2.5


def near_limit(raw):
    """The longest line round trip of a round in the near state (None
    without probes)."""
    ps = [p for rs in raw.values() for r in rs for p in r[6]
          if p is not None]
    return NEAR * min(ps) if ps else None


def typical(rs, limit):
    """The round that stands for a switch in a case, and whether it is
    one of the near state's (None without probes). On a VM the host may place the two vCPUs
    further apart for minutes; a line then takes about four times as long
    to move between them, and every switch and the traffic side run at
    about half speed. So: the median of the rounds in the near state (the
    slower of two), and where there is none, the median of the faster
    half of all rounds (a slow round is never faster than the switch)."""
    if limit is not None:
        near = sorted((r for r in rs if None not in r[6] and
                       max(r[6]) < limit), key=lambda r: r[0], reverse=True)
        if near:
            return near[len(near) // 2], True
    fast = sorted(rs, key=lambda r: r[0], reverse=True)[:(len(rs) + 1) // 2]
    return fast[len(fast) // 2], None if limit is None else False


def summarize(raw, names, case_list, near_ns):
    """{case: {switch: {mpps, cpp, busy, cpp_q, near, rounds, probes}}},
    each figure from the switch's typical() round."""
    out = {}
    for c in case_list:
        row = {}
        for n in names:
            rs = raw.get((c.name, n), [])
            if not rs:
                continue
            (mpps, cpp, busy, tg_cpp, tg_busy, cpp_q, _), near = \
                typical(rs, near_ns)
            row[n] = {"mpps": mpps, "cpp": cpp, "busy": busy, "near": near,
                      "cpp_q": cpp_q, "tg_cpp": tg_cpp, "tg_busy": tg_busy,
                      "median": statistics.median(r[0] for r in rs),
                      "rounds": [round(r[0], 3) for r in rs],
                      "probes": [r[6] for r in rs]}
        out[c.name] = row
    return out


def ratio(row, a, b, key="mpps", invert=False):
    if a not in row or b not in row or not row[b][key] or not row[a][key]:
        return None
    return row[b][key] / row[a][key] if invert else row[a][key] / row[b][key]


# Each peer's cycles are compared with vuswitchd's counted the same way:
# testpmd's are of polls that received, OVS's of busy loop iterations.
CYCLE_KEY = {"testpmd": "cpp_q", "ovs": "cpp"}


def cpp_cell(r):
    """A switch's cycles per packet; vuswitchd's by loops (by queues)."""
    if r.get("cpp_q") is None or r["cpp_q"] == r["cpp"]:
        return f"{r['cpp']:.0f}"
    return f"{r['cpp']:.0f} ({r['cpp_q']:.0f})"


def limit(r):
    """Which core held a switch back: its own when it was busy nearly all
    the time, the traffic side's when that was and the switch was not,
    both when both were."""
    sw, tg = r["busy"] >= 0.95, r["tg_busy"] >= 0.95
    if sw and tg:
        return (f"both cores (switch {r['busy'] * 100:.0f}%, traffic "
                f"side {r['tg_busy'] * 100:.0f}% busy)")
    if sw:
        return "switch core"
    return f"traffic side (switch {r['busy'] * 100:.0f}% busy)"


def report(summary, names, info, args, near_ns):
    L = []
    L.append(f"Measured {info['date']} by `perf/bench.sh` "
             f"({args.rounds} rounds, {args.window:g} s window, "
             f"{args.warmup:g} s warm-up; each figure is the median of "
             f"a switch's rounds in the cores' near state, see below).\n")
    L.append(f"Machine: {info['cpu']}, {info['cpus']} CPUs, Linux "
             f"{info['kernel']}; DPDK {info['dpdk']}; {info['ovs']}; "
             f"vuswitch {info['vuswitch']}; hugepages "
             f"{'yes' if info['hugepages'] else 'no'}.\n")
    head = "| case | " + " | ".join(f"{n} Mpps" for n in names)
    head += " | " + " | ".join(f"{n} cyc/pkt" for n in names)
    head += " | vuswitchd/testpmd | vuswitchd/ovs | limit (vuswitchd) |"
    L.append(head)
    L.append("|" + "---|" * (head.count("|") - 1))
    for case, row in summary.items():
        cells = [case]
        cells += [f"{row[n]['mpps']:.2f}"
                  f"{'*' if row[n]['near'] is False else ''}"
                  if n in row else "-" for n in names]
        cells += [cpp_cell(row[n]) if n in row else "-" for n in names]
        for peer in ("testpmd", "ovs"):
            r = ratio(row, "vuswitchd", peer)
            c = ratio(row, "vuswitchd", peer, CYCLE_KEY[peer], invert=True)
            cells.append(f"{r:.2f}x (cycles {c:.2f}x)" if r and c else "-")
        cells.append(limit(row["vuswitchd"]) if "vuswitchd" in row
                     else "-")
        L.append("| " + " | ".join(cells) + " |")
    L.append("")
    L.append("Ratios: throughput ratio, and in brackets the ratio of the "
             "peer's cycles per packet to vuswitchd's (above 1: vuswitchd "
             "spends fewer). Where a switch is idle for a large share of "
             "its cycles, the traffic side is the limit and the cycle "
             "ratio is the comparison.\n")
    L.append("Cycles: each switch's own count of its busy cycles. "
             "testpmd's (--record-core-cycles) holds only the polls that "
             "received packets; OVS's (pmd-stats-show) whole loop "
             "iterations that received any, empty polls of its other "
             "queues in them included. vuswitchd counts both ways: its "
             "worker's busy loops, and in brackets its queues' polls that "
             "received (show-workers). The cycle ratio against testpmd "
             "uses the second, against OVS the first.\n")
    if near_ns is None:
        rule = ("Without --probe, each figure above is the median of the "
                "faster half of the switch's rounds (a slow round is never "
                "faster than the switch): the same rule for every switch. ")
    else:
        rule = ("Each round is bracketed by two probes of that "
                "(core-probe, listed with the rounds below), and each "
                "figure above is the median of the switch's rounds in the "
                f"near state, both probes under {NEAR:g} times the "
                f"shortest probe of the run, {near_ns:.0f} ns here (of two "
                "rounds, the slower): the same rule for every switch. A "
                "figure marked * had no round in the near state and is the "
                "median of the faster half of its rounds. ")
    L.append("Rounds: on a VM the host may place the two vCPUs further "
             "apart for minutes at a time. A cache line then takes about "
             "four times as long to move between them, and every switch "
             "and the traffic side run at about half speed. " + rule +
             "Every round is listed below; the plain medians were:\n")
    for case, row in summary.items():
        L.append(f"- {case}: " + ", ".join(
            f"{n} {row[n]['median']:.2f}" for n in names if n in row))
    L.append("")
    L.append("Busy share of each switch's core:\n")
    for case, row in summary.items():
        L.append(f"- {case}: " + ", ".join(
            f"{n} {row[n]['busy'] * 100:.0f}%" for n in names if n in row))
    L.append("")
    L.append("The traffic side's own core in the same rounds (testpmd's "
             "--record-core-cycles: busy cycles per packet it received, "
             "and busy share), against each switch:\n")
    for case, row in summary.items():
        L.append(f"- {case}: " + ", ".join(
            f"{n} {row[n]['tg_cpp']:.0f} cyc/pkt "
            f"{row[n]['tg_busy'] * 100:.0f}%" for n in names if n in row))
    L.append("")
    L.append("Rounds (Mpps; in brackets, where measured, a cache line's "
             "round trip between the two CPUs just before and after the "
             "window, in ns, from perf/core_probe.c with the benchmark's "
             "processes stopped):\n")
    for case, row in summary.items():
        L.append(f"- {case}: " + "; ".join(
            f"{n} [" + ", ".join(round_cell(m, pr) for m, pr in
                                 zip(row[n]["rounds"], row[n]["probes"]))
            + "]" for n in names if n in row))
    return "\n".join(L) + "\n"


def round_cell(mpps, probes):
    if None in probes:
        return f"{mpps:.2f}"
    return f"{mpps:.2f} ({probes[0]:.0f}/{probes[1]:.0f})"


def write_results(path, text):
    """Replace the generated part of path (between the bench markers),
    keeping what people wrote around it."""
    begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
    old = open(path).read() if os.path.exists(path) else \
        f"# Benchmark results\n\n{begin}\n{end}\n"
    if begin not in old or end not in old:
        old += f"\n{begin}\n{end}\n"
    pre = old[:old.index(begin) + len(begin)]
    post = old[old.index(end):]
    with open(path, "w") as f:
        f.write(pre + "\n" + text + post)


def chart(summary, names, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    labels = list(summary)
    fig, ax = plt.subplots(figsize=(max(8, len(labels) * 1.3), 4.5))
    w = 0.8 / len(names)
    for i, n in enumerate(names):
        ys = [summary[c].get(n, {}).get("mpps", 0) for c in labels]
        ax.bar([x + i * w for x in range(len(labels))], ys, w, label=n)
    ax.set_xticks([x + w * (len(names) - 1) / 2 for x in range(len(labels))])
    ax.set_xticklabels(labels, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("Mpps (both directions)")
    ax.set_title("VM-to-VM loopback through one switch core")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--vuswitchd", required=True)
    ap.add_argument("--vuswitchctl", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--window", type=float, default=2.0)
    ap.add_argument("--warmup", type=float, default=1.0)
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--only", default="")
    ap.add_argument("--switches", default="vuswitchd,testpmd,ovs")
    ap.add_argument("--json")
    ap.add_argument("--results")
    ap.add_argument("--png")
    ap.add_argument("--probe", help="core-probe, to time a cache line's "
                    "round trip between the CPUs around each window")
    args = ap.parse_args()
    names = [n for n in args.switches.split(",") if n]
    case_list = [c for c in cases(args.full) if args.only in c.name]
    raw = {}
    tmp = tempfile.mkdtemp(prefix="vuswitch-peers-")
    socks = [os.path.join(tmp, f"p{i}.sock") for i in (0, 1)]
    t_start = time.monotonic()
    try:
        for rnd in range(args.rounds):
            for n in names:
                sw = SWITCHES[n](args, tmp, socks)
                try:
                    for c in case_list:
                        r = measure(sw, c, socks, args.warmup, args.window,
                                    args.probe)
                        raw.setdefault((c.name, n), []).append(r)
                        print(f"round {rnd + 1} {n:9} {c.name:24} "
                              f"{r[0]:6.2f} Mpps {r[1]:7.1f} cyc/pkt "
                              + (f"({r[5]:.1f} by queues) "
                                 if r[5] not in (None, r[1]) else "") +
                              f"{r[2] * 100:5.1f}% busy, traffic side "
                              f"{r[3]:6.1f} cyc/pkt {r[4] * 100:5.1f}% busy"
                              + ("" if None in r[6] else
                                 f", line round trip {r[6][0]:.0f}/"
                                 f"{r[6][1]:.0f} ns"), flush=True)
                except Exception:
                    print(f"--- {n} said last:\n{sw.tail()}",
                          file=sys.stderr)
                    raise
                finally:
                    sw.stop()
                    for s in socks:
                        if os.path.exists(s):
                            os.unlink(s)
    finally:
        stop_all()
        for p in ("vsd", "tpv", "ovs", "tg"):
            rm_prefix(PFX + p)
        shutil.rmtree(tmp, ignore_errors=True)
    near_ns = near_limit(raw)
    summary = summarize(raw, names, case_list, near_ns)
    info = machine()
    text = report(summary, names, info, args, near_ns)
    print()
    print(text)
    print(f"({time.monotonic() - t_start:.0f} s in all)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": info, "results": summary}, f, indent=1)
    if args.results:
        write_results(args.results, text)
    if args.png:
        chart(summary, names, args.png)
    return 0


if __name__ == "__main__":
    # A hang-up or SIGTERM still runs the finally blocks that end every
    # process started here.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *a: sys.exit(1))
    sys.exit(main())
