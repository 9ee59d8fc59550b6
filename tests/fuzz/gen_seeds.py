#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Write seed inputs for fuzz_vhu_msg: realistic front-end conversations
(a full split and packed handshake, migration logging, IOTLB, inflight,
config, memory slots, the back-end channel) in the fuzzer's record format:
u8 ctrl (fd count and kinds), u16 length, bytes."""
import os
import struct
import sys

MEMFD, EVENTFD, SOCK, BIGMEMFD = 0, 1, 2, 3
V = 1  # header version
NEED_REPLY = 1 << 3

REQ = dict(GET_FEATURES=1, SET_FEATURES=2, SET_OWNER=3, RESET_OWNER=4,
           SET_MEM_TABLE=5, SET_LOG_BASE=6, SET_LOG_FD=7, SET_VRING_NUM=8,
           SET_VRING_ADDR=9, SET_VRING_BASE=10, GET_VRING_BASE=11,
           SET_VRING_KICK=12, SET_VRING_CALL=13, SET_VRING_ERR=14,
           GET_PROTOCOL_FEATURES=15, SET_PROTOCOL_FEATURES=16,
           GET_QUEUE_NUM=17, SET_VRING_ENABLE=18, SEND_RARP=19,
           NET_SET_MTU=20, SET_BACKEND_REQ_FD=21, IOTLB_MSG=22,
           SET_VRING_ENDIAN=23, GET_CONFIG=24, SET_CONFIG=25,
           GET_INFLIGHT_FD=31, SET_INFLIGHT_FD=32, RESET_DEVICE=34,
           VRING_KICK=35, GET_MAX_MEM_SLOTS=36, ADD_MEM_REG=37,
           REM_MEM_REG=38, SET_STATUS=39, GET_STATUS=40,
           GET_SHARED_OBJECT=41)

PROTO_ALL = (1 << 21) - 1 & ~((1 << 7) | (1 << 8) | (1 << 17) | (1 << 19))
F_VERSION_1, F_PROTO, F_LOG_ALL, F_PACKED, F_IOMMU = 32, 30, 26, 34, 33
UVA = 0x7f0000000000


def record(req, payload=b"", fds=(), flags=V):
    ctrl = len(fds)
    for i, kind in enumerate(fds):
        ctrl |= kind << (2 + 2 * i)
    msg = struct.pack("<III", req, flags, len(payload)) + payload
    return struct.pack("<BH", ctrl, len(msg)) + msg


def u64(v):
    return struct.pack("<Q", v)


def state(idx, num):
    return struct.pack("<II", idx, num)


def mem_table(regions):
    out = struct.pack("<II", len(regions), 0)
    for gpa, size, uva, off in regions:
        out += struct.pack("<QQQQ", gpa, size, uva, off)
    return out


def ring(idx, size, base, packed):
    desc = UVA + 0x1000 * (1 + 4 * idx)
    avail = desc + 16 * size
    used = (avail + 6 + 2 * size + 63) & ~63 if not packed else avail + 64
    return [
        record(REQ["SET_VRING_CALL"], u64(idx), (EVENTFD,)),
        record(REQ["SET_VRING_NUM"], state(idx, size)),
        record(REQ["SET_VRING_BASE"], state(idx, base)),
        record(REQ["SET_VRING_ADDR"],
               struct.pack("<IIQQQQ", idx, 0, desc, used, avail, 0)),
        record(REQ["SET_VRING_KICK"], u64(idx | 0x100)),
        record(REQ["SET_VRING_ENABLE"], state(idx, 1)),
    ]


def handshake(features, packed=False, rings=True, extra=()):
    out = [
        record(REQ["GET_FEATURES"]),
        record(REQ["GET_PROTOCOL_FEATURES"]),
        record(REQ["SET_PROTOCOL_FEATURES"], u64(PROTO_ALL)),
        record(REQ["SET_OWNER"]),
        record(REQ["GET_QUEUE_NUM"]),
        record(REQ["SET_FEATURES"], u64(features)),
        record(REQ["SET_MEM_TABLE"],
               mem_table([(0, 0x10000, UVA, 0)]), (MEMFD,),
               V | NEED_REPLY),
    ] + list(extra)
    for idx in (0, 1):
        out += ring(idx, 64 if not packed else 48, 0x8000 if packed else 0,
                    packed)
    return out


def seeds():
    base = 1 << F_VERSION_1 | 1 << F_PROTO
    yield "split", handshake(base) + [
        record(REQ["GET_VRING_BASE"], state(0, 0)),
        record(REQ["GET_VRING_BASE"], state(1, 0)),
    ]
    yield "packed", handshake(base | 1 << F_PACKED, packed=True) + [
        record(REQ["GET_VRING_BASE"], state(0, 0)),
    ]
    yield "migration", handshake(base) + [
        record(REQ["SET_LOG_BASE"], struct.pack("<QQ", 0x1000, 0),
               (MEMFD,)),
        record(REQ["SET_LOG_FD"], b"", (EVENTFD,)),
        record(REQ["SET_FEATURES"], u64(base | 1 << F_LOG_ALL)),
        record(REQ["SET_VRING_ADDR"],
               struct.pack("<IIQQQQ", 0, 1, UVA + 0x1000,
                           UVA + 0x1800, UVA + 0x1400, 0x2000)),
        record(REQ["SEND_RARP"], bytes([0x52, 0x54, 0, 0, 0, 9, 0, 0])),
    ]
    # With an IOMMU, ring addresses are IOVAs: map them 1:1 first.
    yield "iotlb", handshake(base | 1 << F_IOMMU, extra=[
        record(REQ["SET_BACKEND_REQ_FD"], b"", (SOCK,)),
        record(REQ["IOTLB_MSG"],
               struct.pack("<QQQBB6x", UVA, 0x10000, UVA, 3, 2)),
    ]) + [
        record(REQ["IOTLB_MSG"],
               struct.pack("<QQQBB6x", UVA + 0x5000, 0x1000, 0, 0, 3)),
        record(REQ["IOTLB_MSG"],
               struct.pack("<QQQBB6x", UVA + 0x5000, 0x1000, UVA + 0x5000,
                           1, 2)),
    ]
    yield "inflight", handshake(base) + [
        record(REQ["GET_INFLIGHT_FD"], struct.pack("<QQHH4x", 0, 0, 2, 64)),
        record(REQ["SET_INFLIGHT_FD"],
               struct.pack("<QQHH4x", 0x2000, 0, 2, 64), (MEMFD,)),
    ]
    yield "config", handshake(base | 1 << 3) + [
        record(REQ["GET_CONFIG"], struct.pack("<III", 0, 12, 0) + bytes(12)),
        record(REQ["SET_CONFIG"],
               struct.pack("<III", 10, 2, 1) + struct.pack("<H", 9000)),
        record(REQ["NET_SET_MTU"], u64(9000), flags=V | NEED_REPLY),
        record(REQ["SET_STATUS"], u64(15)),
        record(REQ["GET_STATUS"]),
        record(REQ["SET_VRING_ENDIAN"], state(3, 1)),
        record(REQ["RESET_DEVICE"]),
    ]
    yield "slots", handshake(base) + [
        record(REQ["GET_MAX_MEM_SLOTS"]),
        record(REQ["ADD_MEM_REG"],
               struct.pack("<QQQQQ", 0, 0x100000, 0x40000, UVA + 0x100000,
                           0), (BIGMEMFD,)),
        record(REQ["REM_MEM_REG"],
               struct.pack("<QQQQQ", 0, 0x100000, 0x40000, UVA + 0x100000,
                           0)),
        record(REQ["GET_SHARED_OBJECT"], bytes(16)),
        record(REQ["VRING_KICK"], state(0, 0)),
        record(REQ["RESET_OWNER"]),
    ]


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, recs in seeds():
        with open(os.path.join(out, name), "wb") as f:
            f.write(b"".join(recs))


if __name__ == "__main__":
    main()
