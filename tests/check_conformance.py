#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Keep docs/protocol.md true: every front-end and back-end message id and
every protocol feature bit in lib/vhost-user/vhu_proto.h has its row with
the same number, and every test the table names exists.
Usage: check_conformance.py REPO-ROOT   (prints TAP)"""
import os
import re
import sys

root = sys.argv[1]


def read(*p):
    with open(os.path.join(root, *p)) as f:
        return f.read()


def xmacro(text, name):
    """(NAME, number) pairs of one X-macro table in vhu_proto.h."""
    m = re.search(r"#define %s\(X\)(.*?)\n\n" % name, text, re.S)
    return [(n, int(v)) for n, v in re.findall(r"X\((\w+), (\d+)\)",
                                               m.group(1))]


def section(doc, title):
    m = re.search(r"^## %s\n(.*?)(?=^## |\Z)" % re.escape(title), doc,
                  re.S | re.M)
    return m.group(1) if m else ""


def rows(text):
    """First two cells of each table row: number and name."""
    out = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and cells[0].isdigit():
            out[int(cells[0])] = cells[1]
    return out


def unit_cases():
    cases = {}
    unit = os.path.join(root, "tests", "unit")
    for f in os.listdir(unit):
        m = re.match(r"test_vhu_(\w+)\.c$", f)
        if m:
            cases[m.group(1)] = set(re.findall(
                r"cmocka_unit_test(?:_setup_teardown)?\((\w+)",
                read("tests", "unit", f)))
    return cases


checks = []


def check(name, problems):
    checks.append((name, problems))


proto = read("lib", "vhost-user", "vhu_proto.h")
doc = read("docs", "protocol.md")
for title, table in (("Front-end messages", "VHU_FRONTEND_REQUESTS"),
                     ("Back-end messages", "VHU_BACKEND_REQUESTS"),
                     ("Protocol feature bits", "VHU_PROTOCOL_FEATURES")):
    have = rows(section(doc, title))
    problems = []
    for name, num in xmacro(proto, table):
        if num not in have:
            problems.append(f"{name} ({num}) has no row")
        elif name not in have[num]:
            problems.append(f"row {num} says {have[num]!r}, code says {name}")
    check(f"every {title.lower()} entry has its row", problems)

cases = unit_cases()
problems = []
for f, case in sorted(set(re.findall(r"\b([a-z]+):(\*|[a-z_0-9]+)", doc))):
    if f not in cases:
        continue  # not a test reference (e.g. "fd:N")
    if case != "*" and case not in cases[f]:
        problems.append(f"{f}:{case} does not exist")
check("every test the table names exists", problems)

print(f"1..{len(checks)}")
failed = 0
for i, (name, problems) in enumerate(checks, 1):
    print(f"{'not ok' if problems else 'ok'} {i} - {name}")
    for p in problems:
        print(f"# {p}")
    failed += bool(problems)
sys.exit(1 if failed else 0)
