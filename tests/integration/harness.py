# SPDX-License-Identifier: BSD-3-Clause
"""Process harness for integration tests: start programs, read their output
line by line with timeouts, drive interactive ones, and always end what was
started (by PID). Results are reported in TAP, one line per case."""
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
            bufsize=1, env=env, start_new_session=True)
        self.pid = self.p.pid
        _procs.append(self)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            line = line.rstrip("\n")
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

    def wait_until(self, cond, timeout, what):
        """Poll until cond() is true; events may come in any order."""
        end = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > end:
                raise TimeoutError(f"{self.name}: no {what} in {timeout}s")
            if not self.alive():
                raise EOFError(f"{self.name} exited before {what}")
            time.sleep(0.05)


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


def testpmd(name, vdevs, prefix, hugepages=False, extra=()):
    """dpdk-testpmd in interactive mode on lcores 0,1 with main lcore 1, so
    that it forwards on core 0 and leaves core 1 to a switch beside it."""
    argv = ["dpdk-testpmd", "-l", "0,1", "--main-lcore", "1", "--no-pci",
            "--file-prefix", prefix, "--log-level", "*:notice"]
    if hugepages:
        # Hugepage memory in memfds: no file is left on hugetlbfs
        # however testpmd ends.
        argv += ["--single-file-segments", "--in-memory", "-m", "256"]
    else:
        argv += ["--no-huge", "-m", "512"]
    for v in vdevs:
        argv += ["--vdev", v]
    argv += ["--", "-i", "--total-num-mbufs=16384"] + list(extra)
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
