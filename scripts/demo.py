#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Demo: the example back-end serves two vhost-user sockets; one testpmd
attaches a virtio-user port to each and starts forwarding. Prints what
each port negotiated and its rings' states, then stops everything."""
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "integration"))
from harness import Backend, free_hugepages, stop_all, testpmd  # noqa: E402

FEATURES = {0: "CSUM", 1: "GUEST_CSUM", 3: "MTU", 5: "MAC",
            15: "MRG_RXBUF", 16: "STATUS", 17: "CTRL_VQ", 22: "MQ",
            26: "LOG_ALL", 28: "INDIRECT_DESC", 29: "EVENT_IDX",
            30: "PROTOCOL_FEATURES", 32: "VERSION_1", 33: "IOMMU_PLATFORM",
            34: "RING_PACKED", 35: "IN_ORDER"}
PROTO = {0: "MQ", 1: "LOG_SHMFD", 2: "RARP", 3: "REPLY_ACK", 4: "MTU",
         5: "BACKEND_REQ", 6: "CROSS_ENDIAN", 8: "PAGEFAULT", 9: "CONFIG",
         10: "BACKEND_SEND_FD", 11: "HOST_NOTIFIER", 12: "INFLIGHT_SHMFD",
         13: "RESET_DEVICE", 14: "INBAND_NOTIFICATIONS",
         15: "CONFIGURE_MEM_SLOTS", 16: "STATUS", 18: "SHARED_OBJECT",
         20: "SHMEM"}


def names(value, table):
    return " ".join(table.get(b, f"bit{b}") for b in range(64)
                    if value >> b & 1) or "-"


def main():
    tmp = tempfile.mkdtemp(prefix="vuswitch-demo-")
    socks = [os.path.join(tmp, f"port{i}.sock") for i in range(2)]
    huge = free_hugepages() >= 128
    print(f"vuswitch demo: lib/vhost-user example back-end, 2 ports, "
          f"{'hugepages' if huge else '--no-huge memory'}")
    b = Backend("vhu-example-backend",
                [sys.argv[1]] + [f"--socket-path={s}" for s in socks])
    try:
        b.event(10, "ready", event="ready")
        pmd = testpmd("testpmd", [
            f"net_virtio_user{i},mac=52:54:00:00:00:{i + 1:02x},path={s}"
            for i, s in enumerate(socks)], "vuswitch-demo", hugepages=huge)
        pmd.send("start tx_first")
        want = {(s, r) for s in socks for r in (0, 1)}
        b.wait_until(lambda: want <= {(e["port"], e["ring"]) for e in
                                      b.events(event="vring",
                                               state="enabled")},
                     30, "all rings enabled")
        time.sleep(1)
        pmd.send("show port stats all")
        time.sleep(1)
        for s in socks:
            f = b.events(event="features", port=s)[-1]
            rings = {e["ring"]: e for e in b.events(event="vring", port=s)}
            print(f"\nport {os.path.basename(s)}")
            print(f"  features:          "
                  f"{names(int(f['features'], 16), FEATURES)}")
            print(f"  protocol features: "
                  f"{names(int(f['protocol_features'], 16), PROTO)}")
            for r, e in sorted(rings.items()):
                kind = "packed" if e["packed"] else "split"
                role = "rx" if r % 2 == 0 else "tx"
                print(f"  ring {r} ({role} of the guest): {e['state']}, "
                      f"{e['size']} descriptors, {kind}")
        pmd.send("quit")
        pmd.p.wait(timeout=30)
        b.event(10, "disconnect", event="disconnected")
        # testpmd's output is block-buffered into a pipe: read it now.
        time.sleep(0.2)
        print("\ntestpmd port statistics (port 0, then port 1):")
        for line in pmd.lines:
            if "RX-missed" in line or "TX-errors" in line:
                print("  " + " ".join(line.split()))
        print("\n(the example back-end negotiates only and moves no "
              "packets: the transmitted\n frames wait in the guests' "
              "rings; vuswitchd will forward them)")
    finally:
        stop_all()
    print("stopped: front-ends and back-end ended cleanly")
    return 0


if __name__ == "__main__":
    sys.exit(main())
