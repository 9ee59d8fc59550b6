#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""vuswitchd with real guests: QEMU (TCG) running Debian's Linux kernel
with its virtio-net driver, attached to vuswitchd over vhost-user. The
guest is built by build-guest.sh (cached, never committed) and driven
through its serial console (guest.py); vuswitchctl --json reads the
switch's side. Guests talk over IPv6 link-local addresses only.

Each case starts its own vuswitchd (--no-huge, lcores 0,1: control on
CPU 0, the worker on CPU 1) and its guests, and ends them all by PID.

Usage: test_vm.py PATH-TO-vuswitchd PATH-TO-vuswitchctl [CASE ...]
(prints TAP; CASE names select cases)."""
import os
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, HERE)
import harness  # noqa: E402
from harness import Tap, Vuswitchd, diag  # noqa: E402
from guest import Guest, ping_counts  # noqa: E402

VSD = os.path.abspath(sys.argv[1])
CTL = os.path.abspath(sys.argv[2])
RUN = f"vsvm{os.getpid()}"
BOOT = 180                   # seconds for a guest to boot under TCG
T = 30                       # seconds for any other step

# virtio-net feature bits (virtio 1.2, 5.1.3) and transport bits.
F = {"CSUM": 0, "GUEST_CSUM": 1, "CTRL_GUEST_OFFLOADS": 2, "MTU": 3,
     "MAC": 5, "GUEST_TSO4": 7, "GUEST_TSO6": 8, "GUEST_ECN": 9,
     "GUEST_UFO": 10, "HOST_TSO4": 11, "HOST_TSO6": 12, "HOST_ECN": 13,
     "HOST_UFO": 14, "MRG_RXBUF": 15, "STATUS": 16, "CTRL_VQ": 17,
     "CTRL_RX": 18, "CTRL_VLAN": 19, "CTRL_RX_EXTRA": 20,
     "GUEST_ANNOUNCE": 21, "MQ": 22, "CTRL_MAC_ADDR": 23,
     "INDIRECT_DESC": 28, "EVENT_IDX": 29, "PROTOCOL_FEATURES": 30,
     "VERSION_1": 32, "ACCESS_PLATFORM": 33, "RING_PACKED": 34,
     "IN_ORDER": 35}
# What QEMU's virtio-net offers the guest itself, whatever the back-end
# says: the control queue and what it carries, the MAC and link status.
QEMU_OWN = {"CTRL_GUEST_OFFLOADS", "MAC", "STATUS", "CTRL_VQ", "CTRL_RX",
            "CTRL_VLAN", "CTRL_RX_EXTRA", "CTRL_MAC_ADDR"}
# What a Linux guest takes of what vuswitchd offers, with QEMU 7.2's
# default virtio-net-pci properties (+ RING_PACKED with packed=on).
GUEST_TAKES = {"VERSION_1", "CSUM", "GUEST_CSUM", "GUEST_TSO4",
               "GUEST_TSO6", "GUEST_ECN", "GUEST_UFO", "HOST_TSO4",
               "HOST_TSO6", "HOST_ECN", "HOST_UFO", "MRG_RXBUF",
               "GUEST_ANNOUNCE", "INDIRECT_DESC", "EVENT_IDX"}

_prefixes = []


def bits(names):
    return sum(1 << F[n] for n in names)


def mac(i):
    return f"52:54:00:00:20:{i:02x}"


case = harness.guarded(_prefixes)


def switch(tmp, nports, *args, name="vuswitchd"):
    """vuswitchd with vhost-user server ports vhu0..vhu{nports-1} at
    tmp/vhuN.sock, ready."""
    pfx = f"{RUN}{len(_prefixes)}"
    _prefixes.append(pfx)
    socks = [f"--socket-path={sock(tmp, i)}" for i in range(nports)]
    sw = Vuswitchd(VSD, CTL, os.path.join(tmp, "ctl.sock"),
                   ["--lcores=0,1", "--no-huge", f"--file-prefix={pfx}",
                    *args, *socks], name=name)
    sw.wait_ready(T)
    return sw


def sock(tmp, i):
    return os.path.join(tmp, f"vhu{i}.sock")


def booted(*guests):
    for g in guests:
        g.booted(BOOT)
    return guests


def ping_ok(src, dst, count=10, interval=0.1):
    sent, got = src.ping(dst, count, interval)
    assert sent == count and got == count, \
        f"{src.name} -> {dst.name}: {got} of {sent} replies"


def wait_link(sw, port, rings=2, timeout=T):
    return sw.wait_port(port, timeout, rings=rings)


def macs_on(sw):
    return {m["mac"]: m["port"] for m in sw.ctl("show-macs")["macs"]}


def wait_mac(sw, addr, port, timeout=T):
    end = time.monotonic() + timeout
    while True:
        got = macs_on(sw).get(addr)
        if got == port:
            return time.monotonic()
        assert time.monotonic() < end, \
            f"MAC {addr} on {got}, waited for {port}"
        time.sleep(0.02)


def drops(st):
    return sum(st["drops"].values())


def in_use(sw):
    return sw.ctl("show-mbufs")["pools"][0]["in_use"]


def ring_packets(sw, port):
    return [r["packets"] for r in sw.port(port)["rings"]]


# ---- the cases ----

@case
def ping_and_learning(tmp):
    """Two guests ping each other with no loss; the switch learned each
    MAC on its guest's port."""
    sw = switch(tmp, 2)
    a = Guest("guest-a", tmp, sock(tmp, 0), mac(1))
    b = Guest("guest-b", tmp, sock(tmp, 1), mac(2))
    booted(a, b)
    wait_link(sw, "vhu0")
    wait_link(sw, "vhu1")
    # Counted from here: while a guest boots, frames flooded to the
    # other, not yet ready, port are dropped (no_ring), rightly.
    before = {p: sw.stats(p) for p in ("vhu0", "vhu1")}
    ping_ok(a, b, 20)
    ping_ok(b, a, 20)
    m = macs_on(sw)
    assert m.get(a.mac) == "vhu0" and m.get(b.mac) == "vhu1", m
    for p in ("vhu0", "vhu1"):
        st, st0 = sw.stats(p), before[p]
        assert st["rx_packets"] - st0["rx_packets"] >= 40 and \
            st["tx_packets"] - st0["tx_packets"] >= 40, (st0, st)
        assert drops(st) == drops(st0), (st0, st)


def check_features(sw, g, port, packed):
    pr = sw.port(port)
    acked = int(pr["features"], 16)
    offered = int(pr["features_offered"], 16)
    guest = g.features()
    diag(f"{port}: offered {offered:#x}, acked {acked:#x}, "
         f"guest {guest:#x}")
    assert acked & ~offered == 0, f"acked {acked:#x} beyond {offered:#x}"
    own = bits(QEMU_OWN)
    # Every bit the guest has that QEMU does not supply came from the
    # switch, and every bit the switch acked reached the guest.
    assert guest & ~own == acked & ~bits({"PROTOCOL_FEATURES"}), \
        f"guest {guest:#x} vs acked {acked:#x}"
    want = GUEST_TAKES | ({"RING_PACKED"} if packed else set())
    missing = [n for n in want if not guest >> F[n] & 1]
    assert not missing, f"guest lacks {missing}"
    if not packed:
        assert not guest >> F["RING_PACKED"] & 1, "packed without asking"
    layouts = {r["packed"] for r in pr["rings"][:2]}
    assert layouts == {packed}, pr["rings"][:2]


@case
def features_split_and_packed(tmp):
    """The features the guest's driver negotiated (sysfs) are the ones
    vuswitchd acked, within what it offers, for split and packed rings;
    traffic flows on each layout."""
    sw = switch(tmp, 4)
    gs = [Guest("split-a", tmp, sock(tmp, 0), mac(1)),
          Guest("split-b", tmp, sock(tmp, 1), mac(2)),
          Guest("packed-a", tmp, sock(tmp, 2), mac(3), packed=True),
          Guest("packed-b", tmp, sock(tmp, 3), mac(4), packed=True)]
    booted(*gs)
    for i, g in enumerate(gs):
        check_features(sw, g, f"vhu{i}", packed=i >= 2)
    ping_ok(gs[0], gs[1])
    ping_ok(gs[2], gs[3])
    ping_ok(gs[0], gs[3])


@case
def multiqueue(tmp):
    """A guest with 2 queue pairs (mq=on, 2 vCPUs) sends on both of its
    transmit queues, one ping pinned to each vCPU."""
    sw = switch(tmp, 2, "--queues=2")
    a = Guest("mq-a", tmp, sock(tmp, 0), mac(1), queues=2, smp=2)
    b = Guest("mq-b", tmp, sock(tmp, 1), mac(2), queues=2, smp=2)
    booted(a, b)
    qs = a.ok("cd /sys/class/net/eth0/queues && echo *").split()
    assert qs == ["rx-0", "rx-1", "tx-0", "tx-1"], qs
    wait_link(sw, "vhu0", rings=4)
    before = ring_packets(sw, "vhu0")
    rc, out = a.sh(f"taskset -c 0 ping -c 10 -i 0.1 {b.ll}%eth0 "
                   f"> /tmp/p0 & taskset -c 1 ping -c 10 -i 0.1 "
                   f"{b.ll}%eth0 > /tmp/p1; wait; cat /tmp/p0 /tmp/p1", 60)
    sums = [l for l in out if "packets transmitted" in l]
    assert len(sums) == 2 and all(" 0% packet loss" in l for l in sums), \
        out
    after = ring_packets(sw, "vhu0")
    tx = [after[i] - before[i] for i in (1, 3)]     # the guest's tx rings
    assert all(n >= 5 for n in tx), f"tx rings 1, 3 carried {tx}"
    rxqs = sw.port("vhu0")["rxqs"]
    assert [q["packets"] > 0 for q in rxqs] == [True, True], rxqs
    ping_ok(b, a)


@case
def tcp_stream(tmp):
    """64 MiB over TCP between the guests arrives intact, with checksum
    and segmentation offloads negotiated and used: frames far larger
    than the MTU cross the switch."""
    sw = switch(tmp, 2)
    a = Guest("tx", tmp, sock(tmp, 0), mac(1))
    b = Guest("rx", tmp, sock(tmp, 1), mac(2))
    booted(a, b)
    f = a.features()
    for n in ("CSUM", "GUEST_CSUM", "HOST_TSO6", "GUEST_TSO6"):
        assert f >> F[n] & 1, f"{n} not negotiated"
    ping_ok(a, b, 3)
    before = sw.stats("vhu0")
    b.ok("vmstream recv 5001 > /tmp/rx 2>&1 &")
    time.sleep(0.5)
    size = 64 << 20
    sent = a.ok(f"vmstream send {b.ll}%eth0 5001 {size} 7", 300)
    time.sleep(0.5)
    got = b.ok("cat /tmp/rx")
    diag(sent)
    diag(got)
    s, r = sent.split(), got.split()
    assert s[2] == str(size) and r[2] == str(size), (sent, got)
    assert s[5] == r[5], f"hash sent {s[5]}, received {r[5]}"
    after = sw.stats("vhu0")
    pkts = after["rx_packets"] - before["rx_packets"]
    avg = (after["rx_bytes"] - before["rx_bytes"]) / max(pkts, 1)
    diag(f"{pkts} frames from the sender, {avg:.0f} bytes on average")
    assert avg > 3000, f"average frame {avg:.0f} bytes: no TSO"
    assert drops(after) == drops(before), (before, after)


def restart_and_ping(tmp, sw, a, b, args):
    """Kill vuswitchd, start it again with args, and see traffic resume
    without either guest booting again."""
    marks = [g.mark() for g in (a, b)]
    sw.stop(signal.SIGKILL)
    diag("vuswitchd killed")
    sw2 = switch(tmp, 2, *args, name="vuswitchd-2")
    for p in ("vhu0", "vhu1"):
        wait_link(sw2, p)
    # The guest sees its link come back; the first replies may need ND.
    end = time.monotonic() + T
    while True:
        sent, got = a.ping(b, 3, 0.2)
        if got == sent:
            break
        assert time.monotonic() < end, "no traffic after the restart"
    ping_ok(a, b, 20)
    ping_ok(b, a, 20)
    for g, m in zip((a, b), marks):
        assert not any(l.startswith("vuswitch-guest: ready")
                       for l in g.proc.lines[m:]), f"{g.name} rebooted"
    return sw2


@case
def reconnect_qemu_client(tmp):
    """vuswitchd is killed (SIGKILL) and started again while the guests
    run: QEMU (reconnect=1) attaches again, traffic resumes without a
    guest reboot. One guest has split rings, the other packed ones,
    whose ring positions carry the wrap counters across the restart."""
    sw = switch(tmp, 2)
    a = Guest("rc-a", tmp, sock(tmp, 0), mac(1))
    b = Guest("rc-b", tmp, sock(tmp, 1), mac(2), packed=True)
    booted(a, b)
    ping_ok(a, b)
    restart_and_ping(tmp, sw, a, b, ())


@case
def reconnect_switch_client(tmp):
    """The same with roles swapped: QEMU listens, vuswitchd --client
    connects, is killed and connects again."""
    a = Guest("cl-a", tmp, sock(tmp, 0), mac(1), mode="server")
    b = Guest("cl-b", tmp, sock(tmp, 1), mac(2), mode="server")
    sw = switch(tmp, 2, "--client")
    booted(a, b)
    ping_ok(a, b)
    restart_and_ping(tmp, sw, a, b, ("--client",))


@case
def live_migration(tmp):
    """Guest A moves from one QEMU (port vhu0) to another (vhu2) while
    guest B pings it. Migration completes with vuswitchd logging dirty
    pages, the MAC table points at vhu2 right after the RARP, A keeps
    its network, and only a few pings are lost. A has packed rings, B
    split ones: the packed rings' positions and wrap counters travel
    through GET/SET_VRING_BASE, their used descriptors through the log."""
    sw = switch(tmp, 3)
    src = Guest("mig-src", tmp, sock(tmp, 0), mac(1), announce=False,
                packed=True)
    b = Guest("mig-b", tmp, sock(tmp, 1), mac(2))
    uri = f"unix:{os.path.join(tmp, 'migrate.sock')}"
    dst = Guest("mig-dst", tmp, sock(tmp, 2), mac(1), announce=False,
                incoming=uri, packed=True)
    booted(src, b)
    ping_ok(b, src, 5)
    assert macs_on(sw).get(src.mac) == "vhu0"
    rings = sw.port("vhu0")["rings"][:2]
    assert all(r["packed"] for r in rings), rings
    count, interval = 150, 0.1
    b.ok(f"ping -c {count} -i {interval} {src.ll}%eth0 > /tmp/ping 2>&1 &")
    time.sleep(2)
    q = src.qmp()
    t0 = time.monotonic()
    q.cmd("migrate", uri=uri)
    log_seen = False
    while True:
        st = q.cmd("query-migrate")
        if not log_seen:
            log_seen = sw.port("vhu0")["dirty_log"]["active"]
        if st.get("status") == "completed":
            break
        assert st.get("status") not in ("failed", "cancelled"), st
        assert time.monotonic() - t0 < 120, f"migration not done: {st}"
        time.sleep(0.05)
    done = time.monotonic()
    dl = sw.port("vhu0")["dirty_log"]
    diag(f"migrated in {done - t0:.1f} s, downtime "
         f"{st.get('downtime')} ms; vhu0 dirty log {dl}")
    assert log_seen, "vhu0 never had its dirty log active"
    assert dl["writes"] > 0 and dl["dropped"] == 0, dl
    moved = wait_mac(sw, src.mac, "vhu2", timeout=10)
    diag(f"MAC on vhu2 {moved - done:.2f} s after completion")
    assert moved - done < 3, "MAC moved late"
    # It moved because QEMU sent SEND_RARP (guest_announce=off), and
    # the switch broadcast a RARP from it.
    said = f"port vhu2: {src.mac} announced"
    sw.wait_until(lambda: any(said in l for l in sw.lines), T,
                  f"'{said}' in its log")
    src.stop()
    # A runs on the destination now: its console is that QEMU's.
    a = dst
    rc, out = b.sh("wait", count * interval * 3 + 30)
    out = b.ok("cat /tmp/ping")
    sent, got = ping_counts(out.splitlines(), "b -> a")
    diag(f"b -> a during the migration: {got} of {sent} replies")
    assert sent == count and sent - got <= 5, f"{sent - got} lost"
    ping_ok(a, b, 10)
    assert sw.stats("vhu2")["rx_packets"] > 0
    rings = sw.port("vhu2")["rings"][:2]
    assert all(r["packed"] for r in rings), rings


@case
def guest_reboot(tmp):
    """Guest A reboots while B floods pings at it: the switch recovers
    the port, traffic resumes, and every mbuf comes back to the pool."""
    sw = switch(tmp, 2)
    a = Guest("rb-a", tmp, sock(tmp, 0), mac(1))
    b = Guest("rb-b", tmp, sock(tmp, 1), mac(2))
    booted(a, b)
    ping_ok(a, b, 3)
    time.sleep(0.5)
    base = min(in_use(sw) for _ in range(5))
    tx0 = sw.stats("vhu0")["tx_packets"]
    b.ok(f"ping -i 0.01 -c 100000 {a.ll}%eth0 > /dev/null 2>&1 &")
    time.sleep(2)
    b.ok("pidof ping")              # the flood runs
    assert sw.stats("vhu0")["tx_packets"] - tx0 > 50, "no flood"
    mark = a.mark()
    a.proc.send("reboot -f")
    a.booted(BOOT, since=mark)
    wait_link(sw, "vhu0")
    ping_ok(a, b, 10)
    b.ok("killall ping; wait")
    end = time.monotonic() + T
    while True:
        now = in_use(sw)
        if now <= base:
            break
        assert time.monotonic() < end, \
            f"mbufs in use {now}, {base} before the reboot"
        time.sleep(0.2)
    diag(f"mbufs in use: {base} before the reboot, {now} after")
    st = sw.stats("vhu0")
    diag(f"vhu0 after the reboot: {st['rx_packets']} rx, "
         f"{st['tx_packets']} tx, drops {st['drops']}")
    assert not any(r["broken"] for r in sw.port("vhu0")["rings"])


CASES = [ping_and_learning, features_split_and_packed, multiqueue,
         tcp_stream, reconnect_qemu_client, reconnect_switch_client,
         live_migration, guest_reboot]

if __name__ == "__main__":
    want = sys.argv[3:]
    sys.exit(Tap([(f.__name__, f) for f in CASES
                  if not want or f.__name__ in want]).run())
