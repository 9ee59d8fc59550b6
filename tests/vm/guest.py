# SPDX-License-Identifier: BSD-3-Clause
"""QEMU guests for the vm tests: the small Linux guest that build-guest.sh
makes, booted under TCG with a vhost-user virtio-net device, driven through
its serial console (a shell reading commands, each followed by a marker
that carries the exit status), and QEMU's QMP monitor for migration.
Processes are harness.Proc, so harness.stop_all() ends them by PID."""
import json
import os
import socket
import subprocess
import time

from harness import Proc

QEMU = "qemu-system-x86_64"
HERE = os.path.dirname(os.path.abspath(__file__))
_image = {}


def image():
    """(kernel, initrd): the guest, built or taken from the cache."""
    if not _image:
        out = subprocess.run([os.path.join(HERE, "build-guest.sh")],
                             capture_output=True, text=True, check=False)
        if out.returncode != 0:
            raise RuntimeError(f"build-guest.sh failed:\n{out.stderr}")
        for line in out.stdout.splitlines():
            k, v = line.split(" ", 1)
            _image[k] = v
    return _image["kernel"], _image["initrd"]


def link_local(mac):
    """The IPv6 link-local address the guest's kernel derives from mac."""
    b = [int(x, 16) for x in mac.split(":")]
    b[0] ^= 0x02
    eui = b[:3] + [0xff, 0xfe] + b[3:]
    groups = [f"{eui[i] << 8 | eui[i + 1]:x}" for i in range(0, 8, 2)]
    return "fe80::" + ":".join(groups)


class Qmp:
    """A QMP connection: commands and their replies (events skipped)."""

    def __init__(self, path, timeout=30):
        end = time.monotonic() + timeout
        while True:
            try:
                self.s = socket.socket(socket.AF_UNIX)
                self.s.connect(path)
                break
            except OSError:
                self.s.close()
                if time.monotonic() > end:
                    raise TimeoutError(f"QMP socket {path}: no connection")
                time.sleep(0.1)
        self.s.settimeout(timeout)
        self.f = self.s.makefile("r")
        self._read()                     # the greeting
        self.cmd("qmp_capabilities")

    def _read(self):
        line = self.f.readline()
        if not line:
            raise EOFError("QMP connection closed")
        return json.loads(line)

    def cmd(self, name, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.s.sendall((json.dumps(msg) + "\n").encode())
        while True:
            r = self._read()
            if "error" in r:
                raise RuntimeError(f"QMP {name}: {r['error']}")
            elif "return" in r:
                return r["return"]

    def close(self):
        self.s.close()


class Guest:
    """One QEMU with the test guest and one virtio-net-pci device on a
    vhost-user socket. mode "client": QEMU connects to sock (vuswitchd
    listens) and reconnects every second when the connection drops;
    mode "server": QEMU listens on sock and vuswitchd --client connects.
    incoming: a migration URI the QEMU waits on instead of booting."""

    def __init__(self, name, tmp, sock, mac, *, queues=1, smp=1,
                 packed=False, mode="client", incoming=None,
                 announce=True, mem=256):
        kernel, initrd = image()
        self.name = name
        self.mac = mac
        self.ll = link_local(mac)
        self.qmp_path = os.path.join(tmp, f"{name}.qmp")
        self._seq = 0
        if mode == "client":
            chardev = f"socket,id=c0,path={sock},reconnect=1"
        else:
            chardev = f"socket,id=c0,path={sock},server=on,wait=off"
        netdev = "vhost-user,id=n0,chardev=c0"
        device = (f"virtio-net-pci,netdev=n0,mac={mac},romfile=,vectors=0,"
                  f"packed={'on' if packed else 'off'},"
                  f"guest_announce={'on' if announce else 'off'}")
        if queues > 1:
            netdev += f",queues={queues}"
            device += ",mq=on"
        argv = [QEMU, "-accel", "tcg", "-nodefaults", "-no-user-config",
                "-display", "none", "-m", f"{mem}M", "-smp", str(smp),
                "-object", f"memory-backend-memfd,id=mem,size={mem}M,"
                "share=on", "-numa", "node,memdev=mem",
                "-chardev", chardev, "-netdev", netdev, "-device", device,
                "-kernel", kernel, "-initrd", initrd,
                "-append", "console=ttyS0 quiet panic=-1",
                "-serial", "stdio",
                "-qmp", f"unix:{self.qmp_path},server=on,wait=off"]
        if incoming:
            argv += ["-incoming", incoming]
        self.proc = Proc(name, argv, stdin=True)
        self._qmp = None

    # ---- the console ----

    def booted(self, timeout=120, since=0):
        """Wait for the guest's init to say it is ready (after since, a
        position in the console output)."""
        end = time.monotonic() + timeout
        self.proc.wait_until(
            lambda: any(l.startswith("vuswitch-guest: ready")
                        for l in self.proc.lines[since:]),
            timeout, "guest ready line")
        # The shell's banner comes after; a first command takes it, so
        # the next ones see only their output.
        self.sh("true", max(end - time.monotonic(), 10))
        return self

    def mark(self):
        return len(self.proc.lines)

    def sh(self, cmd, timeout=60):
        """Run cmd in the guest's shell: (exit status, output lines)."""
        self._seq += 1
        tag = f"@@{self.name}-{self._seq}@@"
        start = self.mark()
        self.proc.send(f"{cmd}\necho {tag} $?")
        end = time.monotonic() + timeout
        while True:
            lines = self.proc.lines[start:]
            for i, l in enumerate(lines):
                if tag in l:
                    rc = int(l.split(tag, 1)[1].split()[0])
                    out = lines[:i]
                    head = l.split(tag, 1)[0]
                    if head.strip():
                        out = out + [head]
                    return rc, out
            if not self.proc.alive():
                raise EOFError(f"{self.name}: QEMU exited during {cmd!r}")
            if time.monotonic() > end:
                raise TimeoutError(f"{self.name}: {cmd!r} did not finish "
                                   f"in {timeout}s")
            time.sleep(0.05)

    def ok(self, cmd, timeout=60):
        """Run cmd, which must succeed; its output as one string."""
        rc, out = self.sh(cmd, timeout)
        if rc != 0:
            raise AssertionError(f"{self.name}: {cmd!r} exit {rc}:\n"
                                 + "\n".join(out))
        return "\n".join(out)

    def ping(self, other, count, interval=0.2, timeout=None):
        """Ping other's link-local address: (sent, received)."""
        t = timeout or count * interval * 4 + 30
        rc, out = self.sh(f"ping -c {count} -i {interval} -W 2 "
                          f"{other.ll}%eth0", t)
        return ping_counts(out, f"{self.name} -> {other.name}")

    def features(self):
        """The features the guest's driver negotiated (sysfs), as bits."""
        s = self.ok("cat /sys/class/net/eth0/device/features").strip()
        return sum(1 << i for i, c in enumerate(s) if c == "1")

    # ---- QEMU ----

    def qmp(self):
        if self._qmp is None:
            self._qmp = Qmp(self.qmp_path)
        return self._qmp

    def stop(self):
        if self._qmp is not None:
            self._qmp.close()
            self._qmp = None
        return self.proc.stop()


def ping_counts(out, what):
    for l in out:
        if "packets transmitted" in l:
            w = l.replace(",", " ").split()
            return int(w[0]), int(w[w.index("packets", 2) - 1])
    raise AssertionError(f"{what}: no ping summary in:\n" + "\n".join(out))
