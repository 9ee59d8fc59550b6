#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""vuswitchd with real traffic: dpdk-testpmd virtio-user front-ends (and
a veth in a network namespace, and a hand-written vhost-user front-end)
on its ports, vuswitchctl --json to program it and read its counters,
testpmd's own counters and pcapng captures to see what arrived.

Each case starts its own vuswitchd (own file prefix, control socket and
vhost-user sockets in the case's temporary directory) on lcores 0,1:
the control thread on CPU 0, the worker on CPU 1. testpmd forwards on
CPU 0 (harness.testpmd). Traffic is sent in counted bursts where the
case asserts exact numbers (testpmd 'start tx_first N' sends N bursts
of 32 frames from each of its ports, then only receives), and at full
rate where it only has to keep flowing.

Usage: test_switch.py PATH-TO-vuswitchd PATH-TO-vuswitchctl [CASE ...]
(prints TAP; CASE names select cases, for debugging). VUSWITCH_IT_HUGE=1
runs every vuswitchd on hugepages; TESTPMD_LOG_LEVEL=... sets testpmd's
log level (harness.testpmd)."""
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (Netns, Proc, Tap, Testpmd, Vuswitchd, diag,  # noqa: E402
                     ctl_json, free_hugepages, read_pcapng,
                     testpmd)

VSD = os.path.abspath(sys.argv[1])
CTL = os.path.abspath(sys.argv[2])
T = 20                       # seconds for any one step
RUN = f"vsit{os.getpid()}"   # DPDK file prefixes of this run start so
BCAST = "ff:ff:ff:ff:ff:ff"
ETH_RARP = 0x8035
ETH_VLAN = 0x8100

_prefixes = []               # file prefixes used by the current case
_no_huge = {"ok": None}      # whether vuswitchd --no-huge starts


def mac(i):
    return f"52:54:00:00:10:{i:02x}"


def prefix(name):
    p = f"{RUN}{name}"
    _prefixes.append(p)
    return p


case = harness.guarded(_prefixes)


# ---- the switch ----

def switch(tmp, *args, huge=False, pfx=None):
    """vuswitchd on lcores 0,1 with a control socket in tmp, ready.
    Without huge it runs with --no-huge; if that cannot start (see the
    no_huge case), with hugepages instead, so that the other cases still
    test what they are about."""
    ctl = os.path.join(tmp, "ctl.sock")
    base = ["--lcores=0,1", f"--file-prefix={pfx or prefix('sw')}", *args]
    huge = huge or os.environ.get("VUSWITCH_IT_HUGE") == "1"
    if not huge and _no_huge["ok"] is not False:
        sw = Vuswitchd(VSD, CTL, ctl, base + ["--no-huge"])
        try:
            sw.wait_ready(T)
            _no_huge["ok"] = True
            return sw
        except EOFError:
            _no_huge["ok"] = False
            sw.stop()
            diag("vuswitchd --no-huge does not start (see the no_huge "
                 "case); the other cases use hugepages")
    if free_hugepages() < 64:
        raise RuntimeError("vuswitchd cannot run: --no-huge fails and "
                           "there are no free hugepages")
    sw = Vuswitchd(VSD, CTL, ctl, base)
    sw.wait_ready(T)
    return sw


def drops(st):
    return sum(st["drops"].values())


def counters(sw, *ports):
    """{port: its STATS object} from show-stats, for the given ports or
    all."""
    out = {}
    for st in sw.ctl("show-stats")["ports"]:
        if not ports or st["name"] in ports:
            out[st["name"]] = st
    return out


def delta(after, before, key):
    return after[key] - before[key]


def wait_stat(sw, port, key, want, timeout=T):
    """Poll show-stats until port's counter key (a drop reason when it
    is one) reaches want; returns the port's STATS."""
    end = time.monotonic() + timeout
    while True:
        st = sw.stats(port)
        got = st["drops"][key] if key in st["drops"] else st[key]
        if got >= want:
            return st
        assert time.monotonic() < end, \
            f"{port}: {key} {got}, waited for {want}: {st}"
        time.sleep(0.05)


# ---- the front-ends ----

class Station:
    """One dpdk-testpmd with virtio-user ports, each (socket, mac,
    options). Receives all the time (rxonly); burst() sends counted
    frames from every one of its ports to the given peers."""

    def __init__(self, name, ports, extra=(), hugepages=False):
        vdevs = [f"net_virtio_user{i},mac={m},path={s}{o}"
                 for i, (s, m, o) in enumerate(ports)]
        self.name = name
        self.proc = testpmd(name, vdevs, prefix(name), extra=extra,
                            hugepages=hugepages, line_buffered=True)
        self.pmd = Testpmd(self.proc)

    def ready(self):
        self.pmd.ready(T)
        return self

    def listen(self):
        self.pmd.send("set fwd rxonly", "start")
        return self

    def burst(self, n, peers):
        """n bursts of 32 frames (64 bytes unless 'set txpkts') from each
        port p to peers[p]."""
        self.pmd.send("stop")
        for p, m in peers.items():
            self.pmd.send(f"set eth-peer {p} {m}")
        self.pmd.send(f"start tx_first {n}")

    def stats(self, port=0):
        return self.pmd.stats(port, T)

    def rx(self, port=0):
        return self.stats(port)["rx"]

    def wait_rx(self, port, want):
        return self.pmd.wait_rx(port, want, T)

    def wait_link(self, port, up, timeout=T):
        end = time.monotonic() + timeout
        while self.pmd.link_up(port, timeout) is not up:
            assert time.monotonic() < end, \
                f"{self.name} port {port}: link not {'up' if up else 'down'}"
            time.sleep(0.05)


def stations_ready(*sts):
    for s in sts:
        s.ready()
    for s in sts:
        s.listen()


def settle(seconds=0.3):
    """Time for frames that should not arrive to show up if they do."""
    time.sleep(seconds)


# ---- the cases ----

@case
def learning_and_flooding(tmp):
    socks = [os.path.join(tmp, f"{n}.sock") for n in "abc"]
    aging = 6
    sw = switch(tmp, *[f"--socket-path={s}" for s in socks],
                f"--mac-aging={aging}")
    A, B, C = "vhu0", "vhu1", "vhu2"
    sa = Station("A", [(socks[0], mac(1), "")])
    sb = Station("B", [(socks[1], mac(2), "")])
    sc = Station("C", [(socks[2], mac(3), "")])
    stations_ready(sa, sb, sc)
    for p in (A, B, C):
        sw.wait_port(p, T)
    res = sw.ctl("show-macs")
    assert res == {"aging": aging, "macs": []}, res

    # B is unknown: A's frames to B are flooded to B and C.
    c0 = counters(sw)
    sa.burst(4, {0: mac(2)})
    sb.wait_rx(0, 128)
    sc.wait_rx(0, 128)
    c1 = counters(sw)
    assert delta(c1[A], c0[A], "rx_packets") == 128, c1[A]
    for p in (B, C):
        assert delta(c1[p], c0[p], "tx_packets") == 128, \
            f"{p} got {delta(c1[p], c0[p], 'tx_packets')} of the flood"
    macs = sw.macs()
    assert (mac(1), 0) in macs and macs[(mac(1), 0)]["port"] == A, macs
    assert (mac(2), 0) not in macs, f"B learned before it sent: {macs}"

    # B sends (to A, which is known by now: only A gets it).
    sb.burst(1, {0: mac(1)})
    sa.wait_rx(0, 32)
    settle()
    assert sc.rx() == 128, "B's frames to a known A reached C"
    macs = sw.macs()
    for m, p in ((mac(1), A), (mac(2), B)):
        e = macs.get((m, 0))
        assert e is not None, f"{m} not in show-macs: {macs}"
        assert e["port"] == p and e["vlan"] == 0 and \
            e["type"] == "dynamic", e
    assert (mac(3), 0) not in macs, f"C never sent: {macs}"

    # Now A's frames to B go to B only.
    c2 = counters(sw)
    sa.burst(4, {0: mac(2)})
    sb.wait_rx(0, 128 + 128)
    settle()
    c3 = counters(sw)
    assert delta(c3[A], c2[A], "rx_packets") == 128, c3[A]
    assert delta(c3[B], c2[B], "tx_packets") == 128, c3[B]
    assert delta(c3[C], c2[C], "tx_packets") == 0 and \
        drops(c3[C]) == drops(c2[C]), f"C still flooded: {c3[C]}"
    assert sc.rx() == 128, "C received A's frames to a learned B"
    for p in (A, B, C):
        assert drops(c3[p]) == 0, f"{p} dropped: {c3[p]['drops']}"

    # A static entry sends a MAC nobody has to C.
    S = "52:54:00:00:10:99"
    sw.ctl("add-mac", S, C)
    e = sw.macs().get((S, 0))
    assert e == {"mac": S, "vlan": 0, "port": C, "type": "static",
                 "age": 0}, e
    sa.burst(1, {0: S})
    sc.wait_rx(0, 128 + 32)
    settle()
    assert sb.rx() == 256 and sc.rx() == 160, (sb.rx(), sc.rx())
    sw.ctl("del-mac", S)
    assert (S, 0) not in sw.macs()

    # Frames longer than B's MTU (1500) are dropped, and counted.
    sb.burst(1, {0: mac(1)})            # B's entry fresh
    sa.wait_rx(0, 64)
    b0 = sw.stats(B)
    sa.pmd.send("set txpkts 1600")
    t_last = time.monotonic()           # A's last frames are sent after
    sa.burst(1, {0: mac(2)})
    wait_stat(sw, B, "mtu", b0["drops"]["mtu"] + 32)
    settle()
    b1 = sw.stats(B)
    assert b1["drops"]["mtu"] == b0["drops"]["mtu"] + 32, b1["drops"]
    assert b1["tx_packets"] == b0["tx_packets"] and sb.rx() == 256, b1
    sa.pmd.send("set txpkts 64")

    # Entries not seen for the ageing time go; A's frames to B are
    # flooded again.
    while any(m["type"] == "dynamic" for m in sw.macs().values()):
        assert time.monotonic() < t_last + aging + 4, \
            f"entries older than {aging} s: {sw.macs()}"
        time.sleep(0.1)
    # (ageing runs once a second: an entry may go up to a second early)
    assert time.monotonic() - t_last >= aging - 1.5, \
        f"A's entry gone {time.monotonic() - t_last:.1f} s after its " \
        f"last frame, ageing time {aging} s"
    sa.burst(1, {0: mac(2)})
    sc.wait_rx(0, 160 + 32)
    sb.wait_rx(0, 256 + 32)


def vlan_tci(frame):
    """(tpid, vid, inner ethertype) of an Ethernet frame's first tag,
    (ethertype, None, None) if it has none."""
    et = struct.unpack_from("!H", frame, 12)[0]
    if et != ETH_VLAN:
        return et, None, None
    tci, inner = struct.unpack_from("!HH", frame, 14)
    return et, tci & 0xfff, inner


@case
def vlan_isolation(tmp):
    socks = [os.path.join(tmp, f"{n}.sock") for n in "abc"]
    sw = switch(tmp, f"--socket-path={socks[0]}")
    A, B, C = "vhu0", "B", "C"
    # A by set-vlan, B and C by add-port options.
    p = sw.ctl("set-vlan", A, "access", "10")
    assert p["vlan_mode"] == "access" and p["tag"] == 10, p
    sw.ctl("add-port", B, "vhost-user", socks[1], "--access=10")
    sw.ctl("add-port", C, "vhost-user", socks[2], "--access=20")
    for n, tag in ((A, 10), (B, 10), (C, 20)):
        p = sw.port(n)
        assert p["vlan_mode"] == "access" and p["tag"] == tag, p
    sa = Station("A", [(socks[0], mac(1), "")])
    sb = Station("B", [(socks[1], mac(2), "")])
    sc = Station("C", [(socks[2], mac(3), "")])
    stations_ready(sa, sb, sc)
    for n in (A, B, C):
        sw.wait_port(n, T)

    # Broadcast and unknown unicast from A: B gets them, C never.
    c0 = counters(sw)
    sa.burst(4, {0: BCAST})
    sb.wait_rx(0, 128)
    sa.burst(4, {0: "02:00:00:00:00:99"})
    sb.wait_rx(0, 256)
    settle()
    c1 = counters(sw)
    assert sc.rx() == 0, "VLAN 20 port C received VLAN 10 frames"
    assert delta(c1[C], c0[C], "tx_packets") == 0 and drops(c1[C]) == 0, \
        f"the switch sent VLAN 10 frames to C: {c1[C]}"
    assert delta(c1[B], c0[B], "tx_packets") == 256, c1[B]
    assert delta(c1[A], c0[A], "rx_bytes") == 256 * 64, c1[A]
    assert delta(c1[B], c0[B], "tx_bytes") == 256 * 64, c1[B]

    # C's broadcasts reach neither A nor B.
    sc.burst(4, {0: BCAST})
    wait_stat(sw, C, "rx_packets", c1[C]["rx_packets"] + 128)
    settle()
    c2 = counters(sw)
    assert delta(c2[C], c1[C], "rx_packets") == 128, c2[C]
    for n in (A, B):
        assert delta(c2[n], c1[n], "tx_packets") == 0, \
            f"VLAN 20 frames reached {n}: {c2[n]}"
    assert sa.rx() == 0 and sb.rx() == 256, "VLAN 20 frames leaked"
    macs = sw.macs()
    assert macs.get((mac(1), 10), {}).get("port") == A, macs
    assert macs.get((mac(3), 20), {}).get("port") == C, macs
    assert (mac(1), 0) not in macs, f"A learned outside VLAN 10: {macs}"

    # C becomes a trunk of VLAN 10: it now gets A's frames, tagged 10.
    p = sw.ctl("set-vlan", C, "trunk", "10")
    assert p["vlan_mode"] == "trunk" and p["trunks"] == [10], p
    cap = os.path.join(tmp, "c.pcapng")
    sw.ctl("capture", "start", C, cap, "--direction=tx")
    c3 = counters(sw)
    sa.burst(4, {0: BCAST})
    sc.wait_rx(0, 128)
    sb.wait_rx(0, 256 + 128)
    res = sw.ctl("capture", "stop", C)
    c4 = counters(sw)
    assert delta(c4[C], c3[C], "tx_packets") == 128, c4[C]
    assert delta(c4[C], c3[C], "tx_bytes") == 128 * 68, c4[C]
    assert res["packets"] == 128 and res["dropped"] == 0, res
    pk = read_pcapng(cap)["packets"]
    assert len(pk) == 128, f"{len(pk)} frames captured on C"
    for f in pk:
        tpid, vid, inner = vlan_tci(f["data"])
        assert (tpid, vid) == (ETH_VLAN, 10), \
            f"frame to trunk C not tagged 10: {f['data'][:18].hex()}"
        assert f["origlen"] == 68 and inner == 0x0800, f
    st = sc.stats()
    assert st["rx_bytes"] == 128 * 68, f"C received {st['rx_bytes']} bytes"

    # C reflects what it gets (io forwarding, port 0 to itself): its
    # frames tagged 10 come back in on the trunk and reach A and B
    # untagged. (testpmd's tx_vlan does not tag txonly frames on
    # virtio-user: the PMD inserts tags in tx_prepare, which txonly
    # does not call.)
    sc.pmd.send("stop", "set fwd io", "start")
    a0, b0, c0 = sa.stats(), sb.stats(), sc.stats()
    sa.burst(2, {0: BCAST})
    sa.wait_rx(0, a0["rx"] + 64)
    sb.wait_rx(0, b0["rx"] + 128)
    settle()
    a1, b1, c1 = sa.stats(), sb.stats(), sc.stats()
    assert c1["tx"] - c0["tx"] == 64 and \
        c1["tx_bytes"] - c0["tx_bytes"] == 64 * 68, (c0, c1)
    for n, s0, s1, k in (("A", a0, a1, 64), ("B", b0, b1, 128)):
        assert s1["rx"] - s0["rx"] == k, f"{n}: {s1['rx'] - s0['rx']}"
        assert s1["rx_bytes"] - s0["rx_bytes"] == k * 64, \
            f"{n} got tagged frames: {s1['rx_bytes'] - s0['rx_bytes']} B"


def loopback(name, socks, macs, bursts=2, extra=(), opts=""):
    """One testpmd with two virtio-user ports that bounce frames between
    each other through the switch (mac forwarding, each port's peer the
    other's MAC): bursts x 32 frames from each port stay in flight, so
    the counters rise as long as the switch forwards and nothing is
    dropped."""
    st = Station(name, [(s, m, opts) for s, m in zip(socks, macs)],
                 extra=extra).ready()
    st.pmd.send("set fwd mac", f"set eth-peer 0 {macs[1]}",
                f"set eth-peer 1 {macs[0]}", f"start tx_first {bursts}")
    return st


def rising(sw, ports, what, seconds=0.5, minimum=1000):
    """The rx_packets of ports rise by at least minimum in seconds."""
    c0 = counters(sw, *ports)
    time.sleep(seconds)
    c1 = counters(sw, *ports)
    for p in ports:
        d = delta(c1[p], c0[p], "rx_packets")
        assert d >= minimum, f"{what}: {p} received {d} in {seconds} s"
    return c1


@case
def add_remove_ports_under_traffic(tmp):
    """A and B bounce frames (VLAN 10) all along. C and D are added in VLAN
    20 and blast frames at each other; C is removed while frames flow
    through it both ways; A and B go on, with nothing dropped."""
    socks = [os.path.join(tmp, f"{n}.sock") for n in "abcd"]
    sw = switch(tmp, f"--socket-path={socks[0]}", f"--socket-path={socks[1]}")
    A, B, C, D = "vhu0", "vhu1", "C", "D"
    for p in (A, B):        # (as trunks of every VLAN they would get 20)
        sw.ctl("set-vlan", p, "access", "10")
    ab = loopback("AB", socks[:2], [mac(1), mac(2)])
    for p in (A, B):
        sw.wait_port(p, T)
    rising(sw, (A, B), "before add-port")

    for n, sock in ((C, socks[2]), (D, socks[3])):
        p = sw.ctl("add-port", n, "vhost-user", sock, "--access=20")
        assert p["name"] == n and p["connected"] is False and \
            p["vlan_mode"] == "access" and p["tag"] == 20, p
        assert os.path.exists(sock), f"add-port {n} made no socket"
    rising(sw, (A, B), "after add-port")
    cd = Station("CD", [(socks[2], mac(3), ""), (socks[3], mac(4), "")])
    cd.ready()
    for n in (C, D):
        sw.wait_port(n, T)
    cd.pmd.send("set fwd txonly", f"set eth-peer 0 {mac(4)}",
                f"set eth-peer 1 {mac(3)}", "start")
    rising(sw, (A, B, C, D), "C and D sending")
    assert sw.macs().get((mac(3), 20), {}).get("port") == C, sw.macs()
    cap = os.path.join(tmp, "c.pcapng")
    sw.ctl("capture", "start", C, cap)
    time.sleep(0.2)
    c0 = counters(sw, D)

    # (the capture ends with the port)
    t0 = time.monotonic()
    res = sw.ctl("del-port", C)
    dt = time.monotonic() - t0
    assert res == {}, res
    assert dt < 2, f"del-port took {dt:.2f} s"
    names = [q["name"] for q in sw.ctl("list-ports")["ports"]]
    assert names == [A, B, D], f"ports after del-port: {names}"
    rc, _, _, err = sw.ctl_raw("show-port", C)
    assert rc == 1 and "no port named C" in err, (rc, err)
    assert not os.path.exists(socks[2]), "C's socket left behind"
    rising(sw, (A, B, D), "after del-port C")
    c1 = counters(sw, D)
    assert delta(c1[D], c0[D], "tx_packets") < 1000, \
        f"D still gets frames from the removed C: {c1[D]}"
    pc = read_pcapng(cap)
    assert pc["packets"] and pc["stats"], \
        f"capture of the removed port: {len(pc['packets'])} frames, " \
        f"statistics block {pc['stats']}"
    assert {f["flags"] & 3 for f in pc["packets"]} == {1, 2}, \
        "C's capture lacks a direction"
    cd.wait_link(0, up=False)       # C's front-end saw the hang-up
    assert cd.proc.alive(), "testpmd of the removed port died"
    macs = sw.macs()
    assert (mac(3), 20) not in macs, f"C's MAC outlived C: {macs}"

    # The name and the socket path can be used again.
    sw.ctl("add-port", C, "vhost-user", socks[2])
    assert sw.port(C)["connected"] is False
    sw.ctl("del-port", C)
    sw.ctl("del-port", D)
    c = rising(sw, (A, B), "at the end")
    for p in (A, B):
        assert drops(c[p]) == 0, f"{p} dropped: {c[p]['drops']}"
    assert ab.proc.alive() and cd.proc.alive() and sw.alive()
    errs = [ln for ln in sw.lines if ln.startswith(("ERR", "WARNING"))]
    assert not errs, errs


@case
def reconnect(tmp):
    socks = [os.path.join(tmp, f"{n}.sock") for n in "ab"]
    sw = switch(tmp, *[f"--socket-path={s}" for s in socks])
    A, B = "vhu0", "vhu1"
    sb = Station("B", [(socks[1], mac(2), "")])
    stations_ready(sb)
    sw.wait_port(B, T)
    got = 0
    for round_, how in enumerate(("quit", "kill", None)):
        # The second front-end has packed rings, the others split ones.
        pk = round_ == 1
        sa = Station(f"A{round_}", [(socks[0], mac(1),
                                     ",packed_vq=1" if pk else "")])
        stations_ready(sa)
        p = sw.wait_port(A, T)
        assert all(r["packed"] is pk for r in p["rings"]), p["rings"]
        sa.burst(4, {0: mac(2)})
        got += 128
        sb.wait_rx(0, got)
        # B answers: A's MAC is (still) known on A's port.
        sb.burst(1, {0: mac(1)})
        sa.wait_rx(0, 32)
        if how == "quit":
            assert sa.pmd.quit(T) == 0, "testpmd quit"
        elif how == "kill":
            sa.proc.stop(signal.SIGKILL)
        else:
            break
        p = sw.wait_port(A, T, connected=False, state="stopped")
        assert sw.alive(), f"vuswitchd died after the front-end's {how}"
    settle()
    assert sb.rx() == got == 3 * 128, f"B received {sb.rx()}"
    st = sw.stats(A)
    assert st["rx_packets"] == 3 * 128 and st["tx_packets"] == 3 * 32, st
    # Ring counters add up across the three sessions.
    rings = sw.port(A)["rings"]
    assert rings[1]["packets"] == 3 * 128 and rings[0]["packets"] == 3 * 32, \
        [(r["index"], r["packets"]) for r in rings]
    assert drops(sw.stats(B)) == 0, sw.stats(B)


@case
def client_mode_restart(tmp):
    """vuswitchd connects to listening front-ends (--client); after a
    SIGTERM and a new start it connects again and traffic flows, with
    the same testpmd all along."""
    socks = [os.path.join(tmp, f"{n}.sock") for n in "ab"]
    A, B = "vhu0", "vhu1"
    st = Station("AB", [(s, mac(i + 1), ",server=1")
                        for i, s in enumerate(socks)])
    args = ["--client", *[f"--socket-path={s}" for s in socks]]
    pfx = prefix("sw")
    got = 0
    for round_ in range(3):
        sw = switch(tmp, *args, pfx=pfx)
        try:
            for p in (A, B):
                end = time.monotonic() + T
                while not (sw.port(p)["connected"] and st.proc.alive()):
                    if not st.proc.alive() or time.monotonic() > end:
                        raise TimeoutError(f"port {p} not connected")
                    time.sleep(0.05)
                q = sw.wait_port(p, T)
                assert q["mode"] == "client", q
        except TimeoutError as e:
            errs = [ln for ln in sw.lines if ln.startswith("ERR")]
            pmd = "runs" if st.proc.alive() else \
                f"ended, exit status {st.proc.p.poll()}"
            raise AssertionError(f"start {round_ + 1}: {e}; vuswitchd said "
                                 f"{errs}; testpmd {pmd}") from None
        if round_ == 0:
            st.ready()
            st.listen()
        # Each port sends 64 frames to the other.
        st.burst(2, {0: mac(2), 1: mac(1)})
        got += 64
        for port in (0, 1):
            st.wait_rx(port, got)
        c = counters(sw)
        for p in (A, B):
            assert c[p]["rx_packets"] == 64 and c[p]["tx_packets"] == 64, \
                f"round {round_}: {p}: {c[p]}"
        if round_ == 2:
            break
        t0 = time.monotonic()
        rc = sw.stop(signal.SIGTERM, timeout=T)
        assert rc == 0, f"vuswitchd exit status {rc} after SIGTERM"
        diag(f"round {round_}: vuswitchd ended in "
             f"{time.monotonic() - t0:.2f} s")
        assert st.proc.alive(), "testpmd died with the switch"
    settle()
    assert [st.rx(0), st.rx(1)] == [got, got], "frames counted twice"


@case
def split_and_packed(tmp):
    """Two split-ring and two packed-ring front-ends, all traffic between
    a split and a packed one."""
    socks = [os.path.join(tmp, f"{n}.sock") for n in "abcd"]
    # The one case on hugepages (switch and front-end) when there are.
    huge = free_hugepages() >= 512
    if not huge:
        diag("split_and_packed: too few free hugepages, runs without")
    sw = switch(tmp, *[f"--socket-path={s}" for s in socks], huge=huge)
    assert not huge or not any("no-huge" in ln for ln in sw.lines), \
        "vuswitchd runs without hugepages although there are free ones"
    names = ["vhu0", "vhu1", "vhu2", "vhu3"]
    packed = [False, False, True, True]
    st = Station("SP", [(s, mac(i + 1), ",packed_vq=1" if pk else "")
                        for i, (s, pk) in enumerate(zip(socks, packed))],
                 hugepages=huge)
    stations_ready(st)
    for n, pk in zip(names, packed):
        p = sw.wait_port(n, T)
        for r in p["rings"]:
            assert r["packed"] is pk and r["size"] > 0, (n, r)
        assert ("RING_PACKED" in " ".join(p["features_names"])) is pk, \
            (n, p["features_names"])
    peers = {0: mac(3), 2: mac(1), 1: mac(4), 3: mac(2)}
    st.burst(1, peers)              # every MAC learned
    for i in range(4):
        st.wait_rx(i, 32)
    settle()
    r0 = [st.rx(i) for i in range(4)]
    c0 = counters(sw)
    st.burst(4, peers)
    for i in range(4):
        st.wait_rx(i, r0[i] + 128)
    settle()
    c1 = counters(sw)
    for i, n in enumerate(names):
        assert st.rx(i) == r0[i] + 128, f"port {i}: {st.rx(i) - r0[i]}"
        assert delta(c1[n], c0[n], "tx_packets") == 128, c1[n]
        assert delta(c1[n], c0[n], "rx_packets") == 128, c1[n]

    # Full rate, 1400-byte frames, around split -> packed -> split ...
    st.pmd.send("stop", "set txpkts 1400", "set fwd mac",
                "start tx_first 2")
    c2 = rising(sw, names, "1400-byte frames", seconds=1.0)
    c3 = rising(sw, names, "1400-byte frames", seconds=1.0)
    st.pmd.send("stop")
    for n in names:
        d = delta(c3[n], c2[n], "rx_packets")
        b = delta(c3[n], c2[n], "rx_bytes")
        assert b == 1400 * d, f"{n}: {b} bytes in {d} frames"
        assert drops(c3[n]) == 0, f"{n} dropped: {c3[n]['drops']}"
        p = sw.port(n)
        assert all(r["broken"] is False for r in p["rings"]), p["rings"]
    diag("split/packed loop: " + ", ".join(
        f"{n} {delta(c3[n], c2[n], 'rx_packets')} pps" for n in names))


@case
def guest_to_guest(tmp):
    """Frames between vhost-user ports go from guest to guest with no
    mbuf between them (the rings' direct counters) and are counted
    exactly; a burst whose frames are over the MTU of the port they go
    to is dropped for it, guest to guest or not."""
    socks = [os.path.join(tmp, f"{n}.sock") for n in "abc"]
    sw = switch(tmp, *[f"--socket-path={s}" for s in socks[:2]])
    A, B, C = "vhu0", "vhu1", "C"
    sw.ctl("add-port", C, "vhost-user", socks[2], "--mtu=1000")
    st = Station("G", [(socks[0], mac(1), ""),
                       (socks[1], mac(2), ",packed_vq=1")])
    sc = Station("GC", [(socks[2], mac(3), "")])
    stations_ready(st, sc)
    for n in (A, B, C):
        sw.wait_port(n, T)

    def direct(n):
        """Frames n's transmit rings gave straight to another guest."""
        return sum(r["direct"] for r in sw.port(n)["rings"][1::2])

    st.burst(1, {0: mac(2), 1: mac(1)})     # every MAC learned
    sc.burst(1, {0: mac(1)})
    for p, want in ((0, 64), (1, 32)):
        st.wait_rx(p, want)
    settle()
    r0 = [st.rx(i) for i in range(2)]
    c0, d0 = counters(sw), {n: direct(n) for n in (A, B, C)}
    st.burst(4, {0: mac(2), 1: mac(1)})
    for p in (0, 1):
        st.wait_rx(p, r0[p] + 128)
    settle()
    c1, d1 = counters(sw), {n: direct(n) for n in (A, B, C)}
    for i, n in enumerate((A, B)):
        assert st.rx(i) == r0[i] + 128, f"port {i}: {st.rx(i) - r0[i]}"
        for k in ("rx_packets", "tx_packets"):
            assert delta(c1[n], c0[n], k) == 128, (n, k, c1[n])
        assert delta(c1[n], c0[n], "tx_bytes") == 128 * 64, c1[n]
        assert drops(c1[n]) == 0, c1[n]["drops"]
        # Whole bursts of a known station: most, if not all, direct.
        assert d1[n] - d0[n] >= 64, \
            f"{n}: {d1[n] - d0[n]} of 128 frames guest to guest"
    diag(f"guest to guest: {d1[A] - d0[A]} and {d1[B] - d0[B]} of 128")

    # Full rate, 1400-byte frames, A <-> B (split <-> packed).
    st.pmd.send("stop", "set txpkts 1400", "set fwd mac",
                f"set eth-peer 0 {mac(2)}", f"set eth-peer 1 {mac(1)}",
                "start tx_first 2")
    c2 = rising(sw, (A, B), "1400-byte frames")
    d2 = {n: direct(n) for n in (A, B)}
    c3 = rising(sw, (A, B), "1400-byte frames", seconds=1.0)
    d3 = {n: direct(n) for n in (A, B)}
    st.pmd.send("stop", "set fwd rxonly")
    for n in (A, B):
        d = delta(c3[n], c2[n], "rx_packets")
        assert delta(c3[n], c2[n], "rx_bytes") == 1400 * d, c3[n]
        assert drops(c3[n]) == 0, c3[n]["drops"]
        diag(f"{n} at full rate: {d3[n] - d2[n]} of {d} frames guest "
             "to guest")
        assert d3[n] - d2[n] >= d // 2, \
            f"{n}: {d3[n] - d2[n]} of {d} frames guest to guest"
        assert all(r["broken"] is False for r in sw.port(n)["rings"])

    # A -> C, frames over C's MTU: dropped for it, none delivered.
    settle()
    rc0, c4, d4 = sc.rx(), counters(sw), direct(A)
    st.burst(4, {0: mac(3), 1: mac(1)})
    wait_stat(sw, C, "mtu", c4[C]["drops"]["mtu"] + 128)
    settle()
    c5 = counters(sw)
    assert sc.rx() == rc0, f"C received {sc.rx() - rc0} frames of 1400"
    assert delta(c5[C], c4[C], "tx_packets") == 0, c5[C]
    assert delta(c5[A], c4[A], "rx_packets") == 128, c5[A]
    assert direct(A) == d4, f"{direct(A) - d4} frames over the MTU went " \
        "guest to guest"

    # A in VLAN 10 untagged, C a trunk of it: A's frames to C leave
    # tagged, by the mbuf path.
    sw.ctl("set-vlan", A, "access", "10")
    sw.ctl("set-vlan", C, "trunk", "10")
    sw.ctl("add-mac", mac(3), C, "--vlan=10")
    settle()
    s0, c6, d6 = sc.stats(), counters(sw), direct(A)
    st.pmd.send("set txpkts 64")
    st.burst(4, {0: mac(3), 1: mac(2)})     # B's to itself: dropped
    sc.wait_rx(0, s0["rx"] + 128)
    settle()
    s1, c7 = sc.stats(), counters(sw)
    assert s1["rx"] - s0["rx"] == 128, s1
    assert s1["rx_bytes"] - s0["rx_bytes"] == 128 * 68, \
        f"C got {s1['rx_bytes'] - s0['rx_bytes']} bytes: not tagged"
    assert delta(c7[C], c6[C], "tx_bytes") == 128 * 68, c7[C]
    assert direct(A) == d6, f"{direct(A) - d6} frames to be tagged went " \
        "guest to guest"


@case
def two_queue_pairs(tmp):
    """Ports with two queue pairs, front-ends sending on both queues (one
    testpmd stream per queue, both on its one forwarding core)."""
    socks = [os.path.join(tmp, f"{n}.sock") for n in "ab"]
    sw = switch(tmp, "--queues=2", f"--socket-path={socks[0]}")
    A, B = "vhu0", "B"
    sw.ctl("add-port", B, "vhost-user", socks[1], "--queues=2")
    st = Station("MQ", [(s, mac(i + 1), ",queues=2")
                        for i, s in enumerate(socks)],
                 extra=["--rxq=2", "--txq=2", "--nb-cores=1"])
    stations_ready(st)
    for n in (A, B):
        p = sw.wait_port(n, T, rings=4)
        assert p["queues"] == 2 and len(p["rxqs"]) == 2, p
        assert "MQ" in p["features_names"], p["features_names"]
    st.burst(2, {0: mac(2), 1: mac(1)})     # 2 x 32 per queue
    for i in (0, 1):
        st.wait_rx(i, 128)
    settle()
    assert [st.rx(0), st.rx(1)] == [128, 128]
    for n in (A, B):
        p = sw.port(n)
        q = [x["packets"] for x in p["rxqs"]]
        assert q[0] > 0 and q[1] > 0 and sum(q) == 128, \
            f"{n}: rx queue packets {q}"
        rq = [x["rx_packets"] for x in p["stats"]["queues"]]
        assert rq == q, f"{n}: per-queue stats {rq}, rxqs {q}"
        assert p["stats"]["tx_packets"] == 128, p["stats"]
        assert drops(p["stats"]) == 0, p["stats"]["drops"]
    w = sw.ctl("show-workers")["workers"]
    polls = {(x["port"], x["queue"]) for x in w[0]["polls"]}
    assert {(A, 0), (A, 1), (B, 0), (B, 1)} <= polls, polls

    # A front-end that uses one queue pair of the two the port has.
    C = "C"
    sw.ctl("add-port", C, "vhost-user", os.path.join(tmp, "c.sock"),
           "--queues=2")
    sc = Station("C", [(os.path.join(tmp, "c.sock"), mac(3), "")])
    stations_ready(sc)
    p = sw.wait_port(C, T, rings=2)
    assert [r["state"] for r in p["rings"][2:]] != ["enabled"] * 2, \
        p["rings"]
    sc.burst(2, {0: mac(1)})
    st.wait_rx(0, 128 + 64)
    st.burst(1, {0: mac(3), 1: mac(3)})     # 2 queues x 32 per port
    sc.wait_rx(0, 128)
    settle()
    assert sc.rx() == 128 and st.rx(0) == 192, (sc.rx(), st.rx(0))
    assert drops(sw.stats(C)) == 0, sw.stats(C)

    # Full rate on both queues (txonly: the switch sends everything to
    # its worker's queue 0 of the other port, so frames bounced by mac
    # forwarding would come back on queue 0 only).
    st.pmd.send("stop", "set fwd txonly", "start")
    p0 = {n: [x["packets"] for x in sw.port(n)["rxqs"]] for n in (A, B)}
    time.sleep(1)
    p1 = {n: [x["packets"] for x in sw.port(n)["rxqs"]] for n in (A, B)}
    st.pmd.send("stop")
    for n in (A, B):
        d = [b - a for a, b in zip(p0[n], p1[n])]
        assert min(d) > 1000, f"{n}: rx queue packets in 1 s: {d}"


@case
def sigterm_during_traffic(tmp):
    socks = [os.path.join(tmp, f"{n}.sock") for n in "ab"]
    sw = switch(tmp, *[f"--socket-path={s}" for s in socks])
    A, B = "vhu0", "vhu1"
    st = loopback("AB", socks, [mac(1), mac(2)], bursts=32)
    for n in (A, B):
        sw.wait_port(n, T)
    rising(sw, (A, B), "before SIGTERM", seconds=1.0)
    t0 = time.monotonic()
    os.kill(sw.pid, signal.SIGTERM)
    try:
        rc = sw.p.wait(timeout=5)
    except subprocess.TimeoutExpired:
        raise AssertionError("vuswitchd still runs 5 s after SIGTERM")
    dt = time.monotonic() - t0
    diag(f"vuswitchd exited {rc} {dt:.3f} s after SIGTERM")
    assert rc == 0, f"exit status {rc} after SIGTERM"
    assert dt < 1.0, f"vuswitchd took {dt:.2f} s to exit"
    assert any(ln.startswith("vuswitchd: stopped") for ln in sw.lines), \
        sw.tail(5)
    for s_ in socks:
        assert not os.path.exists(s_), f"{s_} left behind"
    # testpmd lives on, its ports down; it still takes commands and its
    # counters no longer move.
    for p in (0, 1):
        st.wait_link(p, up=False, timeout=2)
    assert st.proc.alive(), f"testpmd died: rc {st.proc.p.poll()}"
    r0 = [st.rx(0), st.rx(1)]
    settle(0.5)
    r1 = [st.rx(0), st.rx(1)]
    assert r0 == r1, f"testpmd still receives: {r0} -> {r1}"
    st.pmd.send("stop")
    st.stats()
    assert st.proc.alive(), f"testpmd died: rc {st.proc.p.poll()}"
    # (testpmd's own quit then dies of SIGPIPE: virtio-user writes to
    # the closed socket when it stops its ports.)


# The payload of raw frame i (after its ethertype and index), len bytes.
RAW_PAYLOAD = r"""
def payload(i, n):
    start = i * 7 & 0xff
    return (bytes(range(256)) * (n // 256 + 2))[start:start + n]
"""

# Sends raw Ethernet frames (ethertype 0x88b5, local experimental) from
# an interface: argv IFNAME DST-MAC COUNT VLAN (0: untagged) [LEN, the
# untagged length, 60 unless given].
RAW_SENDER = RAW_PAYLOAD + r"""
import socket, struct, sys
ifname, n, vid = sys.argv[1], int(sys.argv[3]), int(sys.argv[4])
size = int(sys.argv[5]) if len(sys.argv) > 5 else 60
dst = bytes.fromhex(sys.argv[2].replace(":", ""))
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((ifname, 0))
src = s.getsockname()[4]
tag = struct.pack("!HH", 0x8100, vid) if vid else b""
for i in range(n):
    s.send(dst + src + tag + struct.pack("!HI", 0x88b5, i) +
           payload(i, size - 18))
"""

# Counts the frames from a source MAC arriving on an interface and the
# VLANs they came in (the kernel moves the tag to auxiliary data): argv
# IFNAME SRC-MAC COUNT TIMEOUT [LEN]; prints "ready", then a JSON
# summary, with the frames the socket dropped. Given LEN, it also counts
# as "bad" the frames that are not RAW_SENDER's of that length byte for
# byte (MACs aside).
RAW_RECEIVER = RAW_PAYLOAD + r"""
import json, socket, struct, sys, time
ifname, n, timeout = sys.argv[1], int(sys.argv[3]), float(sys.argv[4])
size = int(sys.argv[5]) if len(sys.argv) > 5 else None
bad = 0
src = bytes.fromhex(sys.argv[2].replace(":", ""))
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((ifname, 0))
s.setsockopt(263, 8, 1)         # SOL_PACKET, PACKET_AUXDATA
s.setsockopt(263, 23, 1)        # PACKET_IGNORE_OUTGOING: not the sender's
# Room for every frame of a burst however late this reader gets the CPU
# (the default buffer holds fewer than 100 frames of 1000 bytes).
s.setsockopt(socket.SOL_SOCKET, 33, 16 << 20)       # SO_RCVBUFFORCE
s.settimeout(0.2)
print("ready", flush=True)
vids = []
end = time.monotonic() + timeout
while len(vids) < n and time.monotonic() < end:
    try:
        data, anc, _, addr = s.recvmsg(4096, 256)
    except socket.timeout:
        continue
    if addr[2] == socket.PACKET_OUTGOING or data[6:12] != src:
        continue
    vid = None
    for lvl, typ, d in anc:
        if lvl == 263 and typ == 8:
            st, _, _, _, _, tci, _ = struct.unpack("IIIHHHH", d[:20])
            if st & 0x10:       # TP_STATUS_VLAN_VALID
                vid = tci & 0xfff
    if data[12:14] == b"\x81\x00":
        if vid is None:
            vid = struct.unpack("!H", data[14:16])[0] & 0xfff
        data = data[:12] + data[16:]
    vids.append(vid)
    if size is not None:
        i = struct.unpack_from("!I", data, 14)[0]
        bad += len(data) != size or data[12:14] != b"\x88\xb5" or \
            data[18:] != payload(i, size - 18)
summary = {"frames": len(vids), "vids": sorted({str(v) for v in vids})}
# Frames the kernel dropped for want of room (PACKET_STATISTICS).
summary["drops"] = struct.unpack("II", s.getsockopt(263, 6, 8))[1]
if size is not None:
    summary["bad"] = bad
print(json.dumps(summary), flush=True)
"""


@case
def ethdev_uplink(tmp):
    """An ethdev port (net_af_packet on one end of a veth pair) to a
    network namespace holding the other end."""
    tag = str(os.getpid())[-6:]
    ns = Netns(f"vsit{tag}", f"vs{tag}o", f"vs{tag}i")
    try:
        ethdev_uplink_in(tmp, ns)
    finally:
        ns.close()


def ethdev_uplink_in(tmp, ns):
    o, i = ns.outer, ns.inner
    # No IPv6 on the pair: nothing but our frames crosses it.
    ns.sh("sysctl", "-qw", f"net.ipv6.conf.{o}.disable_ipv6=1")
    ns.run("sysctl", "-qw", f"net.ipv6.conf.{i}.disable_ipv6=1")
    ns.run("ip", "link", "set", i, "up")
    ns.sh("ip", "link", "set", o, "up")
    imac = json.loads(ns.run("ip", "-j", "link", "show", i))[0]["address"]

    sock = os.path.join(tmp, "a.sock")
    sw = switch(tmp, f"--socket-path={sock}")
    A, UP = "vhu0", "up"
    p = sw.ctl("add-port", UP, "ethdev", f"net_af_packet0,iface={o}")
    assert p["type"] == "ethdev" and p["name"] == UP, p
    p = sw.port(UP)
    assert p["devargs"] == f"net_af_packet0,iface={o}", p
    sa = Station("A", [(sock, mac(1), "")])
    stations_ready(sa)
    sw.wait_port(A, T)

    def send(n, dst=BCAST, vid=0, size=60):
        ns.run("python3", "-c", RAW_SENDER, i, dst, str(n), str(vid),
               str(size))

    def borrowed():
        """Frames A's transmit rings gave without a copy."""
        return sum(r["zero_copy"] for r in sw.port(A)["rings"][1::2])

    def received(rx):
        """RAW_RECEIVER's summary, once it is sure it lost nothing."""
        got = json.loads(rx.expect(lambda ln: ln.startswith("{"), T + 5,
                                   "receiver's summary"))
        diag(f"the namespace received {got}")
        drops = got.pop("drops")
        assert drops == 0, f"the namespace's receiver dropped {drops} " \
            "frames: its socket had no room for them"
        return got

    def echo(n, size, vid=0, peer=None):
        """n frames of size bytes from the namespace to A, which turns
        them around (testpmd's mac forwarding) to the namespace's MAC or
        peer: what the namespace got back, and how many A's rings lent
        the switch."""
        b0 = borrowed()
        sa.pmd.send("stop", f"set eth-peer 0 {peer or imac}",
                    "set fwd mac", "start")
        rx = Proc("receiver", ["ip", "netns", "exec", ns.name, "python3",
                               "-c", RAW_RECEIVER, i, mac(1), str(n),
                               str(T), str(size)])
        rx.expect(lambda ln: ln == "ready", T, "receiver ready")
        send(n, dst=mac(1), vid=vid, size=size)
        got = received(rx)
        sa.pmd.send("stop", "set fwd rxonly", "start")
        return got, borrowed() - b0

    # namespace -> switch -> A, and the namespace's MAC is learned.
    send(50)
    sa.wait_rx(0, 50)
    settle()
    st = sw.stats(UP)
    assert st["rx_packets"] == 50, f"uplink received {st['rx_packets']}"
    assert sa.rx() == 50, f"A received {sa.rx()}"
    e = sw.macs().get((imac, 0))
    assert e is not None and e["port"] == UP, \
        f"{imac} not learned on {UP}: {sw.macs()}"

    # A -> the namespace's MAC: out through the uplink only.
    n0 = ns.link_stats()["rx"]
    sa.burst(4, {0: imac})
    end = time.monotonic() + T
    while ns.link_stats()["rx"] < n0 + 128 and time.monotonic() < end:
        time.sleep(0.05)
    n1 = ns.link_stats()["rx"]
    st = sw.stats(UP)
    assert st["tx_packets"] == 128, st
    assert n1 - n0 == 128, f"the namespace received {n1 - n0} of 128"

    # Frames of 1000 bytes back from A are borrowed from its ring (the
    # switch copies only their first bytes), and the uplink still sends
    # them whole.
    got, zc = echo(100, 1000)
    assert got == {"frames": 100, "vids": ["None"], "bad": 0}, \
        f"the namespace got {got} back, not 100 whole frames"
    assert zc == 100, f"{zc} of A's 100 frames were borrowed"

    # VLAN 10: A an access port, the uplink a trunk of 10. Tagged frames
    # from the namespace reach A untagged; A's answer leaves tagged 10
    # (the namespace's VLAN device counts it).
    sw.ctl("set-vlan", A, "access", "10")
    sw.ctl("set-vlan", UP, "trunk", "10")
    a0 = sa.stats()
    send(40, vid=10)
    send(30, vid=20)        # not allowed on the uplink: dropped
    sa.wait_rx(0, a0["rx"] + 40)
    settle()
    a1 = sa.stats()
    assert a1["rx"] - a0["rx"] == 40, a1["rx"] - a0["rx"]
    assert a1["rx_bytes"] - a0["rx_bytes"] == 40 * 60, \
        "A got tagged frames"
    st = sw.stats(UP)
    assert st["drops"]["vlan"] == 30, st["drops"]
    e = sw.macs().get((imac, 10))
    assert e is not None and e["port"] == UP, sw.macs()
    rx = Proc("receiver", ["ip", "netns", "exec", ns.name, "python3", "-c",
                           RAW_RECEIVER, i, mac(1), "64", str(T)])
    rx.expect(lambda ln: ln == "ready", T, "receiver ready")
    sa.burst(2, {0: imac})
    got = received(rx)
    assert got == {"frames": 64, "vids": ["10"]}, \
        f"the namespace got {got}, not 64 frames tagged 10"
    # A borrowed frame that gains a tag on its way out is whole too: sent
    # to the namespace's MAC (tagged where it lies) and flooded to an
    # unknown one (tagged in a copy).
    for peer in (None, "02:00:00:00:00:99"):
        got, zc = echo(100, 1000, vid=10, peer=peer)
        assert got == {"frames": 100, "vids": ["10"], "bad": 0}, \
            f"to {peer or imac}: the namespace got {got} back, not 100 " \
            "whole frames tagged 10"
        assert zc == 100, f"{zc} of A's 100 frames were borrowed"

    res = sw.ctl("del-port", UP)
    assert res == {}
    assert [q["name"] for q in sw.ctl("list-ports")["ports"]] == [A]
    assert sw.alive()


def macb(s):
    return bytes.fromhex(s.replace(":", ""))


@case
def capture(tmp):
    socks = [os.path.join(tmp, f"{n}.sock") for n in "ab"]
    sw = switch(tmp, *[f"--socket-path={s}" for s in socks])
    A, B = "vhu0", "vhu1"
    st = Station("AB", [(s, mac(i + 1), "") for i, s in enumerate(socks)])
    stations_ready(st)
    for n in (A, B):
        sw.wait_port(n, T)
    peers = {0: mac(2), 1: mac(1)}
    st.burst(1, peers)                  # both MACs learned
    for p in (0, 1):
        st.wait_rx(p, 32)

    # Counted frames, both directions.
    f1 = os.path.join(tmp, "b.pcapng")
    res = sw.ctl("capture", "start", B, f1)
    assert res == {"port": B, "file": f1, "direction": "both"}, res
    rc, _, _, err = sw.ctl_raw("capture", "start", B, f1)
    assert rc == 1 and "already" in err, (rc, err)
    assert sw.port(B)["capture"], sw.port(B)["capture"]
    c0 = counters(sw)
    t0 = time.time()
    st.burst(4, peers)
    for p in (0, 1):
        st.wait_rx(p, 32 + 128)
    settle()
    res = sw.ctl("capture", "stop", B)
    t1 = time.time()
    c1 = counters(sw)
    rx, tx = (delta(c1[B], c0[B], k) for k in ("rx_packets", "tx_packets"))
    assert (rx, tx) == (128, 128), (rx, tx)
    assert res["packets"] == rx + tx and res["dropped"] == 0, res
    assert res["file"] == f1, res
    cap = read_pcapng(f1)
    assert len(cap["interfaces"]) == 1, cap["interfaces"]
    idb = cap["interfaces"][0]
    assert idb["linktype"] == 1, idb
    assert idb["options"].get(2) == [B.encode()], idb["options"]
    assert idb["options"].get(9) == [bytes([9])], idb["options"]
    pk = cap["packets"]
    assert len(pk) == res["packets"], f"{len(pk)} frames in the file"
    inb = [f for f in pk if f["flags"] & 3 == 1]
    outb = [f for f in pk if f["flags"] & 3 == 2]
    assert len(inb) == rx and len(outb) == tx, (len(inb), len(outb))
    for f in inb:   # B sent them: from B to A
        assert f["data"][6:12] == macb(mac(2)) and \
            f["data"][0:6] == macb(mac(1)), f["data"][:12].hex()
    for f in outb:  # sent to B: from A to B
        assert f["data"][6:12] == macb(mac(1)) and \
            f["data"][0:6] == macb(mac(2)), f["data"][:12].hex()
    for f in pk:
        assert f["caplen"] == f["origlen"] == 64, f
        assert t0 - 1 <= f["ts"] / 1e9 <= t1 + 1, \
            f"timestamp {f['ts'] / 1e9} not in [{t0}, {t1}]"
    isb = cap["stats"]
    assert isb and struct.unpack("<Q", isb[-1]["options"][4][0])[0] == \
        len(pk), isb
    assert sw.port(B)["capture"] is None
    rc, _, _, err = sw.ctl_raw("capture", "stop", B)
    assert rc == 1 and "not being captured" in err, (rc, err)

    # Full rate, 1400-byte frames, received direction only, 128 bytes
    # of each.
    f2 = os.path.join(tmp, "rx.pcapng")
    st.pmd.send("stop", "set txpkts 1400", "set fwd mac", "start tx_first 4")
    rising(sw, (A, B), "1400-byte frames")
    c0 = counters(sw)
    sw.ctl("capture", "start", B, f2, "--direction=rx", "--snaplen=128")
    time.sleep(0.5)
    res = sw.ctl("capture", "stop", B)
    c1 = counters(sw)
    st.pmd.send("stop")
    rx = delta(c1[B], c0[B], "rx_packets")
    pk = read_pcapng(f2)["packets"]
    diag(f"capture at full rate: {res['packets']} written, "
         f"{res['dropped']} dropped, {rx} received meanwhile")
    assert len(pk) == res["packets"] > 0, (len(pk), res)
    assert res["packets"] + res["dropped"] <= rx, (res, rx)
    assert res["packets"] + res["dropped"] >= rx // 2, \
        f"capture saw {res} of about {rx} frames"
    for f in pk:
        assert f["flags"] & 3 == 1, f"not an inbound frame: {f['flags']}"
        assert f["caplen"] == 128 and f["origlen"] == 1400, f
        assert f["data"][6:12] == macb(mac(2)), f["data"][:12].hex()


class Frontend:
    """A minimal vhost-user front-end: enough of the protocol to set the
    features and send messages, no memory and no rings."""
    GET_FEATURES, SET_FEATURES, SET_OWNER = 1, 2, 3
    GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES, SEND_RARP = 15, 16, 19
    F_PROTOCOL_FEATURES, F_VERSION_1 = 1 << 30, 1 << 32
    PF_RARP, PF_REPLY_ACK = 1 << 2, 1 << 3
    VERSION, REPLY, NEED_REPLY = 0x1, 0x4, 0x8

    def __init__(self, path, timeout=T):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.ack = False

    def _recv(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.s.recv(n - len(buf))
            if not chunk:
                raise EOFError("the back-end closed the connection")
            buf += chunk
        return buf

    def request(self, req, payload=b"", reply=False):
        """Send one message; return the u64 of its reply or ack (an ack
        is asked for when REPLY_ACK is negotiated), else None."""
        flags = self.VERSION | (self.NEED_REPLY if self.ack and not reply
                                else 0)
        self.s.sendall(struct.pack("<III", req, flags, len(payload)) +
                       payload)
        if not reply and not self.ack:
            return None
        r, f, size = struct.unpack("<III", self._recv(12))
        body = self._recv(size)
        assert r == req and f & self.REPLY and size == 8, (req, r, f, size)
        return struct.unpack("<Q", body)[0]

    def u64(self, req, v):
        return self.request(req, struct.pack("<Q", v))

    def handshake(self):
        f = self.request(self.GET_FEATURES, reply=True)
        assert f & self.F_PROTOCOL_FEATURES, hex(f)
        pf = self.request(self.GET_PROTOCOL_FEATURES, reply=True)
        assert pf & self.PF_RARP, f"RARP not offered: {pf:#x}"
        self.u64(self.SET_PROTOCOL_FEATURES,
                 pf & (self.PF_RARP | self.PF_REPLY_ACK))
        self.ack = bool(pf & self.PF_REPLY_ACK)
        assert self.request(self.SET_OWNER) in (None, 0)
        assert self.u64(self.SET_FEATURES, f & (self.F_PROTOCOL_FEATURES |
                                               self.F_VERSION_1)) in (None, 0)

    def send_rarp(self, mac_):
        return self.u64(self.SEND_RARP,
                        int.from_bytes(macb(mac_) + b"\0\0", "little"))

    def close(self):
        self.s.close()


@case
def rarp_moves_mac(tmp):
    socks = [os.path.join(tmp, f"{n}.sock") for n in "abc"]
    sw = switch(tmp, *[f"--socket-path={s}" for s in socks])
    A, B, C = "vhu0", "vhu1", "vhu2"
    M = mac(1)
    sa = Station("A", [(socks[0], M, "")])
    sc = Station("C", [(socks[2], mac(3), "")])
    stations_ready(sa, sc)
    for n in (A, C):
        sw.wait_port(n, T)
    sa.burst(1, {0: mac(3)})            # M is learned on A
    sc.wait_rx(0, 32)
    assert sw.macs().get((M, 0), {}).get("port") == A, sw.macs()
    cap = os.path.join(tmp, "c.pcapng")
    sw.ctl("capture", "start", C, cap, "--direction=tx")

    # The station moved behind B (live migration): B's front-end asks
    # for a RARP.
    fe = Frontend(socks[1])
    fe.handshake()
    sw.wait_port(B, T, rings=0)         # connected
    ack = fe.send_rarp(M)
    assert ack in (None, 0), f"SEND_RARP refused: {ack}"
    if ack is None:     # no REPLY_ACK: the message may still be in flight
        end = time.monotonic() + 2
        while sw.macs().get((M, 0), {}).get("port") != B:
            assert time.monotonic() < end, f"{M} not on B: {sw.macs()}"
            time.sleep(0.02)
    # Acknowledged: the table says B at once.
    assert sw.macs().get((M, 0), {}).get("port") == B, \
        f"{M} not moved to B: {sw.macs()}"
    e = sw.macs()[(M, 0)]
    assert e["type"] == "dynamic" and e["vlan"] == 0, e
    # One broadcast RARP from M on every other port: A and C.
    sc.wait_rx(0, 33)
    sa.wait_rx(0, 1)
    settle()
    assert sc.rx() == 33 and sa.rx() == 1, (sc.rx(), sa.rx())
    res = sw.ctl("capture", "stop", C)
    pk = read_pcapng(cap)["packets"]
    assert len(pk) == res["packets"] == 1, (len(pk), res)
    f = pk[0]["data"]
    assert f[0:6] == b"\xff" * 6 and f[6:12] == macb(M), f[:12].hex()
    et, op = struct.unpack_from("!H", f, 12)[0], \
        struct.unpack_from("!H", f, 20)[0]
    assert et == ETH_RARP and op == 3, f"ethertype {et:#x}, opcode {op}"
    assert f[22:28] == macb(M) and f[32:38] == macb(M), f[14:42].hex()

    # Frames to M now go to B (which has no rings: dropped there), not A.
    b0 = sw.stats(B)
    sc.burst(1, {0: M})
    wait_stat(sw, B, "no_ring", b0["drops"]["no_ring"] + 32)
    settle()
    assert sa.rx() == 1, f"A still gets M's frames: {sa.rx()}"
    fe.close()
    sw.wait_port(B, T, rings=0, connected=False)
    assert sw.alive()
    errs = [ln for ln in sw.lines if ln.startswith("ERR")]
    assert not errs, errs


def ctl_line(path, line, timeout=T):
    """One request line on the control socket, one answer line back."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
        c.settimeout(timeout)
        c.connect(path)
        c.sendall(line.encode() + b"\n")
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = c.recv(65536)
            if not chunk:
                break
            buf += chunk
    return json.loads(buf)


@case
def bad_arguments(tmp):
    sock = os.path.join(tmp, "a.sock")
    sw = switch(tmp, f"--socket-path={sock}")

    def refused(args, rc, *words):
        r, _, out, err = sw.ctl_raw(*args)
        assert r == rc, f"vuswitchctl {' '.join(args)}: exit {r}, not {rc}"
        for w in words:
            assert w in err, f"vuswitchctl {' '.join(args)}: {err!r} " \
                f"lacks {w!r}"
        assert out.strip() == "", f"output on stdout: {out!r}"

    refused(["bogus"], 2, "unknown command", "usage")
    refused(["show-port"], 2, "usage")
    refused(["add-port", "x", "vhost-user"], 2, "usage")
    refused(["show-port", "nope"], 1, "no port named nope")
    refused(["del-port", "nope"], 1, "no port named nope")
    refused(["show-stats", "nope"], 1, "no port named nope")
    refused(["add-port", "vhu0", "vhost-user",
             os.path.join(tmp, "b.sock")], 1, "vhu0 exists")
    refused(["add-port", "x", "ethdev", "net_bogus0"], 1, "net_bogus0")
    refused(["capture", "stop", "vhu0"], 1, "not being captured")
    refused(["del-mac", "52:54:00:00:00:99"], 1, "no such entry")
    r, _, _, err = ctl_json(CTL, os.path.join(tmp, "none.ctl"), "version")
    assert r == 3 and "none.ctl" in err, (r, err)
    # Straight to the socket: errors are answers, not hang-ups.
    a = ctl_line(sw.ctl_sock, "this is not json")
    assert a["ok"] is False and a["error"], a
    a = ctl_line(sw.ctl_sock, json.dumps({"command": "nope"}))
    assert a["ok"] is False and "nope" in a["error"], a
    a = ctl_line(sw.ctl_sock, json.dumps({"command": "set-vlan", "args": {
        "port": "vhu0", "mode": "access", "tag": 5000}}))
    assert a["ok"] is False and "tag" in a["error"], a
    a = ctl_line(sw.ctl_sock, json.dumps({"command": "capture-start",
                                          "args": {"port": "vhu0",
                                                   "file": "rel.pcapng"}}))
    assert a["ok"] is False and "absolute" in a["error"], a
    assert not os.path.exists(os.path.join(os.getcwd(), "rel.pcapng"))
    assert [p["name"] for p in sw.ctl("list-ports")["ports"]] == ["vhu0"]
    assert sw.port("vhu0")["vlan_mode"] == "trunk"
    assert sw.ctl("version")["version"]

    def vuswitchd(*args):
        return subprocess.run([VSD, *args], capture_output=True, text=True,
                              timeout=T)

    for bad in (["--bogus"], ["--queues=0"], ["--mac-aging=soon"]):
        r = vuswitchd(*bad, f"--control-socket={tmp}/x.ctl",
                      f"--socket-path={tmp}/x.sock")
        assert r.returncode != 0, f"vuswitchd {bad}: exit 0"
        assert "usage" in (r.stdout + r.stderr).lower() or \
            bad[0].split("=")[0] in r.stderr, \
            f"vuswitchd {bad}: {r.stdout + r.stderr!r}"
    r = vuswitchd("--bogus")
    assert r.returncode == 2 and "usage: vuswitchd" in r.stderr, r
    r = vuswitchd("--print-capabilities")
    assert r.returncode == 0, r
    caps = json.loads(r.stdout)
    assert caps.get("type") == "net", caps
    assert sw.alive()


class Telemetry:
    """A client of DPDK's telemetry socket (v2: SOCK_SEQPACKET, JSON)."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.s.settimeout(T)
        self.s.connect(path)
        self.info = json.loads(self.s.recv(1 << 16))

    def __call__(self, cmd):
        self.s.send(cmd.encode())
        return json.loads(self.s.recv(1 << 20))

    def close(self):
        self.s.close()


@case
def telemetry(tmp):
    socks = [os.path.join(tmp, f"{n}.sock") for n in "ab"]
    pfx = prefix("sw")
    sw = switch(tmp, *[f"--socket-path={s}" for s in socks], pfx=pfx)
    path = f"/var/run/dpdk/{pfx}/dpdk_telemetry.v2"
    assert os.path.exists(path), \
        f"no telemetry socket {path} (vuswitchd runs EAL --in-memory)"
    A, B = "vhu0", "vhu1"
    st = Station("AB", [(s, mac(i + 1), "") for i, s in enumerate(socks)])
    stations_ready(st)
    for n in (A, B):
        sw.wait_port(n, T)
    st.burst(4, {0: mac(2), 1: BCAST})
    for p in (0, 1):
        st.wait_rx(p, 128)
    settle()
    tel = Telemetry(path)
    try:
        assert tel.info.get("pid") == sw.pid, tel.info
        cmds = tel("/")["/"]
        for c in ("/vuswitch/ports", "/vuswitch/port", "/vuswitch/workers"):
            assert c in cmds, f"{c} not registered: {cmds}"
        assert tel("/vuswitch/ports") == {"/vuswitch/ports": [A, B]}
        for n in (A, B):
            got = tel(f"/vuswitch/port,{n}")["/vuswitch/port"]
            want = sw.stats(n)
            for k in ("rx_packets", "rx_bytes", "tx_packets", "tx_bytes"):
                assert got.get(k) == want[k], f"{n} {k}: telemetry " \
                    f"{got.get(k)}, show-stats {want[k]}"
            for r, v in want["drops"].items():
                assert got.get(f"drop_{r}") == v, (n, r, got)
            assert got["rx_packets"] == 128 and got["tx_packets"] == 128, \
                got
        nope = tel("/vuswitch/port,nope")
        assert nope == {"/vuswitch/port": None}, nope
        w = tel("/vuswitch/workers")["/vuswitch/workers"]
        assert list(w) == ["worker0"] and w["worker0"]["lcore"] == 1 and \
            w["worker0"]["packets"] >= 256, w
    finally:
        tel.close()


def no_huge(tmp):
    """vuswitchd --no-huge starts (the other cases fall back to
    hugepages if it does not, and say so)."""
    ctl = os.path.join(tmp, "ctl.sock")
    sw = Vuswitchd(VSD, CTL, ctl, ["--lcores=0,1", "--no-huge",
                                   f"--file-prefix={prefix('nohuge')}",
                                   f"--socket-path={tmp}/a.sock"])
    try:
        sw.wait_ready(T)
    except EOFError:
        raise AssertionError("vuswitchd --no-huge exited before ready: "
                             f"{sw.tail(6)}") from None
    assert sw.ctl("version")["workers"] == 1
    assert any("no-huge" in ln for ln in sw.lines), sw.tail()


CASES = [
    ("learning_and_flooding", learning_and_flooding),
    ("vlan_isolation", vlan_isolation),
    ("add_remove_ports_under_traffic", add_remove_ports_under_traffic),
    ("reconnect", reconnect),
    ("client_mode_restart", client_mode_restart),
    ("split_and_packed", split_and_packed),
    ("guest_to_guest", guest_to_guest),
    ("two_queue_pairs", two_queue_pairs),
    ("sigterm_during_traffic", sigterm_during_traffic),
    ("ethdev_uplink", ethdev_uplink),
    ("capture", capture),
    ("rarp_moves_mac", rarp_moves_mac),
    ("bad_arguments", bad_arguments),
    ("telemetry", telemetry),
    ("no_huge", case(no_huge)),
]

if __name__ == "__main__":
    only = sys.argv[3:]
    t0 = time.monotonic()
    rc = Tap([c for c in CASES if not only or c[0] in only]).run()
    diag(f"run time {time.monotonic() - t0:.1f} s")
    sys.exit(rc)
