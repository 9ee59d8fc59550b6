#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Demo: vuswitchd on its default configuration (config/vuswitch.conf: two
vhost-user server ports), one dpdk-testpmd with a virtio-user port on each
socket forwarding frames to the other through the switch, and vuswitchctl
showing the switch at work. Stops everything cleanly at the end."""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "integration"))
from harness import Proc, free_hugepages, stop_all, testpmd  # noqa: E402

CTL = "/run/vuswitch/vuswitchd.ctl"
SOCKS = ["/run/vuswitch/vm0.sock", "/run/vuswitch/vm1.sock"]
MACS = ["52:54:00:00:00:01", "52:54:00:00:00:02"]
SECONDS = 5


def ctl(vsctl, *args, as_json=False):
    argv = [vsctl, f"--socket={CTL}"] + (["--json"] if as_json else [])
    out = subprocess.run(argv + list(args), capture_output=True, text=True,
                         timeout=10)
    if out.returncode != 0:
        raise RuntimeError(f"vuswitchctl {' '.join(args)}: {out.stderr}")
    return json.loads(out.stdout) if as_json else out.stdout


def wait_for(cond, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if cond():
                return
        except (RuntimeError, ValueError):
            pass
        time.sleep(0.1)
    raise TimeoutError(f"no {what} in {timeout}s")


def rings_enabled(vsctl):
    for name in ("vm0", "vm1"):
        p = ctl(vsctl, "show-port", name, as_json=True)
        if not p["connected"] or any(r["state"] != "enabled"
                                     for r in p["rings"]):
            return False
    return True


def main():
    vsd, vsctl = sys.argv[1], sys.argv[2]
    huge = free_hugepages() >= 256
    print("vuswitch demo: vuswitchd with config/vuswitch.conf, two "
          "virtio-user front-ends in dpdk-testpmd\n")
    d = Proc("vuswitchd", [vsd])
    try:
        d.expect(lambda l: "ready" in l, 30, "vuswitchd ready")
        print(ctl(vsctl, "list-ports"))
        pmd = testpmd("testpmd", [
            f"net_virtio_user{i},mac={m},path={s}"
            for i, (m, s) in enumerate(zip(MACS, SOCKS))], "vuswitch-demo",
            hugepages=huge, extra=[f"--eth-peer=0,{MACS[1]}",
                                   f"--eth-peer=1,{MACS[0]}"])
        wait_for(lambda: rings_enabled(vsctl), 30, "rings enabled")
        pmd.send("set fwd mac")
        pmd.send("start tx_first 32")
        print(f"testpmd forwards vm0 <-> vm1 through vuswitchd; "
              f"switch counters every second for {SECONDS} s:\n")
        last = None
        for _ in range(SECONDS):
            time.sleep(1)
            s = ctl(vsctl, "show-stats", as_json=True)["ports"]
            tx = sum(p["tx_packets"] for p in s)
            if last is not None:
                print(f"  forwarded {tx - last:>10,} frames/s   "
                      + "   ".join(f"{p['name']}: rx {p['rx_packets']:,} "
                                   f"tx {p['tx_packets']:,}" for p in s))
            last = tx
        print()
        print(ctl(vsctl, "show-stats"))
        print(ctl(vsctl, "show-macs"))
        print(ctl(vsctl, "show-workers"))
        pmd.send("stop")
        pmd.send("quit")
        pmd.p.wait(timeout=30)
        t0 = time.monotonic()
        os.kill(d.pid, signal.SIGTERM)
        rc = d.p.wait(timeout=10)
        print(f"vuswitchd stopped by SIGTERM in "
              f"{time.monotonic() - t0:.2f} s, exit status {rc}")
        return 0 if rc == 0 else 1
    except Exception:
        print("--- vuswitchd output:\n" + d.tail(40), file=sys.stderr)
        raise
    finally:
        stop_all()


if __name__ == "__main__":
    sys.exit(main())
