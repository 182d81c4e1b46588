#!/usr/bin/env python3
"""bench/icmp.py TIMEOUT ADDR...: is every address reachable from this host?

One raw ICMP socket: an echo request to every address still silent, every half
second, until each has answered or TIMEOUT seconds have passed (no fork per
address: a ping per instance would cost more than what it measures). Prints
"ANSWERED TOTAL MILLISECONDS" and, on stderr, the first addresses that never
answered.
"""
import errno
import os
import select
import socket
import struct
import sys
import time


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def main():
    timeout = float(sys.argv[1])
    addrs = sys.argv[2:]
    pending = set(addrs)
    ident = os.getpid() & 0xFFFF
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    sock.setblocking(False)
    start = time.monotonic()
    last = None
    seq = 0
    while pending and time.monotonic() - start < timeout:
        now = time.monotonic()
        if last is None or now - last >= 0.5:
            seq = (seq + 1) & 0xFFFF
            body = b"unshared-bench"
            head = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
            packet = struct.pack("!BBHHH", 8, 0, checksum(head + body), ident, seq) + body
            for a in list(pending):
                try:
                    sock.sendto(packet, (a, 0))
                except OSError as e:  # a full queue, a neighbour table full: next round
                    if e.errno not in (errno.EAGAIN, errno.ENOBUFS, errno.EHOSTUNREACH, errno.EINVAL):
                        raise
            last = now
        ready, _, _ = select.select([sock], [], [], 0.05)
        while ready:
            try:
                data, (src, _) = sock.recvfrom(2048)
            except BlockingIOError:
                break
            ihl = (data[0] & 0x0F) * 4
            if len(data) >= ihl + 8:
                typ, _, _, rid, _ = struct.unpack("!BBHHH", data[ihl:ihl + 8])
                if typ == 0 and rid == ident:
                    pending.discard(src)
    ms = int((time.monotonic() - start) * 1000)
    print(len(addrs) - len(pending), len(addrs), ms)
    if pending:
        print("no answer from: " + " ".join(sorted(pending)[:10]), file=sys.stderr)


if __name__ == "__main__":
    main()
