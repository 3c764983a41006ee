#!/usr/bin/env python3
"""icmp_error.py - sends one ICMP error to a VIP through a raw socket, quoting the IP
header and first 8 bytes of a datagram the cluster sent from the VIP to a client, as a
router or the client's host would (for the end-to-end tests; needs CAP_NET_RAW).
Usage: icmp_error.py SRC VIP frag-needed|port-unreachable tcp|udp VIP_PORT CLIENT CLIENT_PORT
                     [--seq N] [--mtu M]"""
import socket
import struct
import sys


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f">{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4_header(src, dst, proto, total_length, dont_fragment=False):
    header = struct.pack(">BBHHHBBH4s4s", 0x45, 0, total_length, 0x1234, 0x4000 if dont_fragment else 0,
                         64, proto, 0, socket.inet_aton(src), socket.inet_aton(dst))
    return header[:10] + struct.pack(">H", checksum(header)) + header[12:]


def main():
    args = sys.argv[1:]
    options = {"--seq": 1, "--mtu": 1200}
    for name in list(options):
        if name in args:
            i = args.index(name)
            options[name] = int(args[i + 1])
            del args[i:i + 2]
    src, vip, kind, l4, vip_port, client, client_port = args
    vip_port, client_port = int(vip_port), int(client_port)
    if l4 == "tcp":
        # the segment that did not fit: full-sized, DF set
        inner = ipv4_header(vip, client, 6, 1500, dont_fragment=True)
        inner += struct.pack(">HHI", vip_port, client_port, options["--seq"] & 0xFFFFFFFF)
    else:
        inner = ipv4_header(vip, client, 17, 20 + 8 + 160)
        inner += struct.pack(">HHHH", vip_port, client_port, 8 + 160, 0)
    if kind == "frag-needed":
        icmp_type, code, rest = 3, 4, options["--mtu"]
    else:
        icmp_type, code, rest = 3, 3, 0
    icmp = struct.pack(">BBHI", icmp_type, code, 0, rest) + inner
    icmp = icmp[:2] + struct.pack(">H", checksum(icmp)) + icmp[4:]
    packet = ipv4_header(src, vip, 1, 20 + len(icmp)) + icmp
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    sock.sendto(packet, (vip, 0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
