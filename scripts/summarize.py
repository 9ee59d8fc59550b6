#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Count results across meson test logs: every TAP case is one result, a
test without TAP output is one result. Prints one line per log and ends
with 'N passed, N failed' (skips are reported, not counted)."""
import json
import re
import sys

TAP = re.compile(r"^(not ok|ok)\s+\d+\b(.*)$")


def count(path):
    passed = failed = skipped = 0
    try:
        f = open(path)
    except OSError:
        return 0, 1, 0, [f"{path}: missing (that phase did not run)"]
    bad = []
    for line in f:
        t = json.loads(line)
        cases = [TAP.match(l) for l in (t.get("stdout") or "").splitlines()]
        cases = [m for m in cases if m]
        if not cases:
            if t["result"] in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif t["result"] == "SKIP":
                skipped += 1
            else:
                failed += 1
                bad.append(f"{t['name']}: {t['result']}")
            continue
        for m in cases:
            if "# SKIP" in m.group(2):
                skipped += 1
            elif m.group(1) == "ok":
                passed += 1
            else:
                failed += 1
                bad.append(f"{t['name']}:{m.group(2)}")
        # A program that failed after its last case (a crash, a leak
        # report from a sanitizer) is a failure of its own.
        if t["result"] not in ("OK", "EXPECTEDFAIL", "SKIP") and \
                all(m.group(1) == "ok" for m in cases):
            failed += 1
            bad.append(f"{t['name']}: {t['result']} after its cases")
    return passed, failed, skipped, bad


def main():
    tp = tf = ts = 0
    for path in sys.argv[1:]:
        p, f, s, bad = count(path)
        tp, tf, ts = tp + p, tf + f, ts + s
        print(f"{path}: {p} passed, {f} failed, {s} skipped")
        for b in bad:
            print(f"  FAILED {b}")
    print(f"{tp} passed, {tf} failed")
    return 1 if tf else 0


if __name__ == "__main__":
    sys.exit(main())
