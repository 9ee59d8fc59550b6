#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Handshake against a front-end nobody here wrote: DPDK's virtio-user in
dpdk-testpmd connects to lib/vhost-user's example back-end and must bring
every ring to started-and-enabled, for split and packed rings, two queue
pairs, both socket directions, reconnects and hugepage memory.
Usage: test_handshake.py PATH-TO-vhu-example-backend"""
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Backend, Tap, free_hugepages, testpmd  # noqa: E402

BACKEND = sys.argv[1]
F_VERSION_1 = 1 << 32
F_PROTOCOL_FEATURES = 1 << 30
F_RING_PACKED = 1 << 34
PF_MQ = 1 << 0
PF_REPLY_ACK = 1 << 3
T = 30  # seconds for any one step


def backend(tmp, *args):
    b = Backend("vhu-example-backend", [BACKEND, *args])
    b.event(T, "ready", event="ready")
    return b


def vdev(i, sock, **kw):
    opts = "".join(f",{k}={v}" for k, v in kw.items())
    return f"net_virtio_user{i},mac=52:54:00:00:01:{i:02x},path={sock}{opts}"


def wait_enabled(b, sock, rings, packed=False, since=0):
    """Every ring in rings reaches 'enabled' (in any order, after since)
    with the expected layout."""
    def enabled():
        return {e["ring"]: e for e in
                b.events(since, event="vring", port=sock, state="enabled")}
    b.wait_until(lambda: set(rings) <= set(enabled()), T,
                 f"rings {rings} enabled on {sock}")
    for r in rings:
        ev = enabled()[r]
        assert ev["packed"] is packed, ev
        assert ev["size"] > 0, ev


def check_features(b, sock, want_proto=0):
    ev = b.events(event="features", port=sock)[-1]
    f = int(ev["features"], 16)
    p = int(ev["protocol_features"], 16)
    assert f & F_VERSION_1, f"VERSION_1 not negotiated: {ev}"
    assert f & F_PROTOCOL_FEATURES, f"protocol features not used: {ev}"
    assert p & want_proto == want_proto, f"protocol features {ev}"
    return f


def quit_and_check(b, pmd, sock, rings):
    """testpmd quits cleanly: every ring stops, the back-end goes on."""
    m = b.mark()
    pmd.send("quit")
    b.event(T, "disconnect", event="disconnected", port=sock)
    stopped = {e["ring"] for e in
               b.events(m, event="vring", port=sock, state="stopped")}
    assert set(rings) <= stopped, f"rings stopped: {stopped}"
    assert pmd.p.wait(timeout=T) == 0, "testpmd exit status"
    assert b.alive(), "back-end died"


def no_violations(b):
    bad = [l for l in b.lines if l.startswith("ERR")]
    assert not bad, f"back-end logged errors: {bad}"


def split_server(tmp):
    sock = os.path.join(tmp, "s.sock")
    b = backend(tmp, f"--socket-path={sock}")
    pmd = testpmd("testpmd", [vdev(0, sock)], "it-split")
    b.event(T, "connection", event="connected", port=sock)
    pmd.send("start tx_first")
    wait_enabled(b, sock, [0, 1])
    check_features(b, sock, PF_MQ | PF_REPLY_ACK)
    quit_and_check(b, pmd, sock, [0, 1])
    no_violations(b)


def packed_server(tmp):
    sock = os.path.join(tmp, "p.sock")
    b = backend(tmp, f"--socket-path={sock}")
    pmd = testpmd("testpmd", [vdev(0, sock, packed_vq=1)], "it-packed")
    b.event(T, "connection", event="connected", port=sock)
    pmd.send("start tx_first")
    wait_enabled(b, sock, [0, 1], packed=True)
    f = check_features(b, sock)
    assert f & F_RING_PACKED, "packed ring not negotiated"
    quit_and_check(b, pmd, sock, [0, 1])
    no_violations(b)


def two_queue_pairs(tmp):
    sock = os.path.join(tmp, "mq.sock")
    b = backend(tmp, f"--socket-path={sock}", "--queues=2")
    pmd = testpmd("testpmd", [vdev(0, sock, queues=2)], "it-mq",
                  extra=["--rxq=2", "--txq=2"])
    b.event(T, "connection", event="connected", port=sock)
    pmd.send("start tx_first")
    wait_enabled(b, sock, [0, 1, 2, 3])
    check_features(b, sock, PF_MQ)
    quit_and_check(b, pmd, sock, [0, 1, 2, 3])
    no_violations(b)


def client_mode_reconnect(tmp):
    """The back-end connects (with back-off) to a listening virtio-user,
    and reconnects by itself when the front-end comes back."""
    sock = os.path.join(tmp, "c.sock")
    b = backend(tmp, f"--socket-path={sock}", "--client")
    for round_ in range(2):
        pmd = testpmd("testpmd", [vdev(0, sock, server=1)],
                      f"it-client{round_}")
        b.event(T, f"connection {round_}", event="connected", port=sock)
        m = b.mark()
        pmd.send("start tx_first")
        wait_enabled(b, sock, [0, 1], since=m)
        if round_ == 0:
            # An abrupt end: the back-end sees EOF and retries.
            pmd.stop(signal.SIGKILL)
            b.event(T, "disconnect", event="disconnected", port=sock)
            for r in (0, 1):
                assert b.events(event="vring", port=sock, ring=r,
                                state="stopped"), f"ring {r} not stopped"
            os.unlink(sock) if os.path.exists(sock) else None
        else:
            quit_and_check(b, pmd, sock, [0, 1])
    assert len(b.events(event="connected")) == 2
    no_violations(b)


def server_reconnect_after_crash(tmp):
    sock = os.path.join(tmp, "r.sock")
    b = backend(tmp, f"--socket-path={sock}")
    pmd = testpmd("testpmd", [vdev(0, sock)], "it-crash0")
    b.event(T, "connection", event="connected", port=sock)
    pmd.send("start tx_first")
    wait_enabled(b, sock, [0, 1])
    pmd.stop(signal.SIGKILL)
    b.event(T, "disconnect", event="disconnected", port=sock)
    pmd = testpmd("testpmd", [vdev(0, sock)], "it-crash1")
    b.event(T, "second connection", event="connected", port=sock)
    m = b.mark()
    pmd.send("start tx_first")
    wait_enabled(b, sock, [0, 1], since=m)
    quit_and_check(b, pmd, sock, [0, 1])
    no_violations(b)


def two_ports(tmp):
    socks = [os.path.join(tmp, f"{i}.sock") for i in range(2)]
    b = backend(tmp, *[f"--socket-path={s}" for s in socks])
    pmd = testpmd("testpmd", [vdev(i, s) for i, s in enumerate(socks)],
                  "it-two")
    for s in socks:
        b.event(T, f"connection on {s}", event="connected", port=s)
    pmd.send("start tx_first")
    for s in socks:
        wait_enabled(b, s, [0, 1])
    pmd.send("quit")
    for s in socks:
        b.event(T, f"disconnect {s}", event="disconnected", port=s)
    assert pmd.p.wait(timeout=T) == 0
    no_violations(b)


def hugepages(tmp):
    if free_hugepages() < 128:
        return "no free 2 MB hugepages on a mounted hugetlbfs"
    sock = os.path.join(tmp, "h.sock")
    b = backend(tmp, f"--socket-path={sock}")
    pmd = testpmd("testpmd", [vdev(0, sock)], "it-huge", hugepages=True)
    b.event(T, "connection", event="connected", port=sock)
    pmd.send("start tx_first")
    wait_enabled(b, sock, [0, 1])
    assert huge_mapped(b.pid) > 0, "no 2 MB page mapped in the back-end"
    quit_and_check(b, pmd, sock, [0, 1])
    no_violations(b)


def huge_mapped(pid):
    """Bytes of 2 MB-page mappings in a process: guest memory it mapped
    from the front-end's hugepage fds."""
    total, size = 0, 0
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            if line.startswith("Size:"):
                size = int(line.split()[1])
            elif line.startswith("KernelPageSize:") and \
                    int(line.split()[1]) == 2048:
                total += size * 1024
    return total


def sigterm_ends_backend(tmp):
    """Back-end convention: SIGTERM ends it promptly, socket removed."""
    sock = os.path.join(tmp, "t.sock")
    b = backend(tmp, f"--socket-path={sock}")
    pmd = testpmd("testpmd", [vdev(0, sock)], "it-term")
    b.event(T, "connection", event="connected", port=sock)
    pmd.send("start tx_first")
    wait_enabled(b, sock, [0, 1])
    os.kill(b.pid, signal.SIGTERM)
    assert b.p.wait(timeout=2) == 0, "exit status after SIGTERM"
    assert not os.path.exists(sock), "socket file left behind"
    b.expect(lambda l: '"exit"' in l, 1, "exit event")


if __name__ == "__main__":
    sys.exit(Tap([
        ("split ring, back-end listens", split_server),
        ("packed ring", packed_server),
        ("two queue pairs", two_queue_pairs),
        ("client mode with reconnect", client_mode_reconnect),
        ("server mode, front-end crash and return", server_reconnect_after_crash),
        ("two ports, one front-end process", two_ports),
        ("hugepage memory", hugepages),
        ("SIGTERM during a session", sigterm_ends_backend),
    ]).run())
