#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Keep docs/protocol.md true: every front-end and back-end message id and
every protocol feature bit in lib/vhost-user/vhu_proto.h has its row with
the same number, every device feature bit lib/virtio reads has its row in
the data-path table, and every test the document names exists.
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


def test_cases():
    """Case names per test file: "name" for tests/unit/test_vhu_name.c,
    "vq_name" for tests/virtio/test_vq_name.c. TESTS(fn) registers
    fn_split and fn_packed; the document may name fn for both."""
    cases = {}
    for d, pat, prefix in (("unit", r"test_vhu_(\w+)\.c$", ""),
                           ("virtio", r"test_vq_(\w+)\.c$", "vq_")):
        for f in os.listdir(os.path.join(root, "tests", d)):
            m = re.match(pat, f)
            if not m:
                continue
            text = read("tests", d, f)
            names = set(re.findall(
                r"cmocka_unit_test(?:_setup_teardown)?\((\w+)", text))
            for fn in re.findall(r"\bTESTS\((\w+)\)", text):
                if fn != "fn":
                    names |= {fn, fn + "_split", fn + "_packed"}
            cases[prefix + m.group(1)] = names
    for f in os.listdir(os.path.join(root, "tests", "switch")):
        m = re.match(r"test_(sw_\w+)\.c$", f)
        if m:
            cases[m.group(1)] = set(re.findall(
                r"cmocka_unit_test(?:_setup_teardown)?\((\w+)",
                read("tests", "switch", f)))
    cases["switch"] = set(re.findall(
        r'^\s*\("(\w+)",\s*\w+\)', read("tests", "integration",
                                           "test_switch.py"), re.M))
    # tests/vm/test_vm.py: the functions listed in CASES.
    vm = read("tests", "vm", "test_vm.py")
    listed = re.search(r"^CASES = \[(.*?)\]", vm, re.M | re.S)
    cases["vm"] = set(re.findall(r"\w+", listed.group(1))) if listed \
        else set()
    return cases


def device_bits(proto):
    """VHU_F_* and VHU_NET_F_* device feature bit numbers."""
    return {n: int(v) for n, v in re.findall(
        r"#define (VHU_(?:NET_)?F_\w+)\s+(\d+)", proto)}


def datapath_reads():
    """Device feature bits the lib/virtio sources test."""
    names = set()
    d = os.path.join(root, "lib", "virtio")
    for f in os.listdir(d):
        if f.endswith(".c"):
            names |= set(re.findall(r"\bVHU_(?:NET_)?F_\w+",
                                    read("lib", "virtio", f)))
    return names


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

bits = device_bits(proto)
have = rows(section(doc, "Device feature bits in the packet data path"))
problems = []
for name in sorted(datapath_reads()):
    num = bits.get(name)
    short = re.sub(r"^VHU_(NET_)?F_", "", name)
    if num is None:
        problems.append(f"{name} is not defined in vhu_proto.h")
    elif num not in have:
        problems.append(f"{name} ({num}) has no row")
    elif short not in have[num]:
        problems.append(f"row {num} says {have[num]!r}, code says {short}")
check("every device feature lib/virtio reads has its row", problems)

offered = re.search(r"#define SW_VHOST_FEATURES(.*?)\n\n",
                    read("lib", "switch", "sw_vhost.c"), re.S).group(1)
have = rows(section(doc, "Device features vuswitchd offers"))
offered_rows = {int(l.split("|")[1]): l for l in section(
    doc, "Device features vuswitchd offers").splitlines()
    if re.match(r"\|\s*\d+\s*\|", l)}
problems = []
for name in sorted(set(re.findall(r"\bVHU_(?:NET_)?F_\w+", offered))):
    num = bits.get(name)
    short = re.sub(r"^VHU_(NET_)?F_", "", name)
    if num is None or num not in have:
        problems.append(f"{name} is offered but has no row")
    elif short not in have[num]:
        problems.append(f"row {num} says {have[num]!r}, code says {short}")
    elif not re.search(r"\b[a-z_]+:[a-z_0-9*]+\s*\|\s*$",
                       offered_rows[num]):
        problems.append(f"row {num} names no test")
check("every device feature vuswitchd offers has its row and a test",
      problems)

cases = test_cases()
problems = []
for f, case in sorted(set(re.findall(r"\b([a-z_]+):(\*|[a-z_0-9]+)", doc))):
    if f not in cases:
        continue  # not a test reference (e.g. "fd:N")
    if case != "*" and case not in cases[f]:
        problems.append(f"{f}:{case} does not exist")
check("every test the document names exists", problems)

print(f"1..{len(checks)}")
failed = 0
for i, (name, problems) in enumerate(checks, 1):
    print(f"{'not ok' if problems else 'ok'} {i} - {name}")
    for p in problems:
        print(f"# {p}")
    failed += bool(problems)
sys.exit(1 if failed else 0)
