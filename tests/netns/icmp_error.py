#!/usr/bin/env python3
"""icmp_error.py - sends one ICMP or ICMPv6 error to a VIP through a raw socket, quoting
a datagram the cluster sent from the VIP to a client, as a router or the client's host
would (for the end-to-end tests; needs CAP_NET_RAW). IPv4 quotes the IP header and first
8 bytes; IPv6 as much as fits in the minimum MTU (RFC 4443 2.4). Fragmentation needed
(IPv4) and packet too big (IPv6) carry the next hop's MTU M.
Usage: icmp_error.py SRC VIP frag-needed|port-unreachable tcp|udp VIP_PORT CLIENT CLIENT_PORT
                     [--seq N] [--mtu M]
       icmp_error.py SRC VIP6 packet-too-big|port-unreachable tcp|udp VIP_PORT CLIENT CLIENT_PORT
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


def ipv6_header(src, dst, next_header, payload_length):
    return struct.pack(">IHBB16s16s", 6 << 28, payload_length, next_header, 64,
                       socket.inet_pton(socket.AF_INET6, src), socket.inet_pton(socket.AF_INET6, dst))


IPV6_MIN_MTU = 1280


def send_icmpv6(src, vip, kind, l4, vip_port, client, client_port, seq, mtu):
    """The kernel computes an ICMPv6 raw socket's checksum (RFC 3542 3.1)."""
    if l4 == "tcp":
        # the segment that did not fit: full-sized (1500 bytes), ACK|PSH
        data = bytes(1500 - 40 - 20)
        segment = struct.pack(">HHIIBBHHH", vip_port, client_port, seq & 0xFFFFFFFF, 1, 5 << 4, 0x18,
                              65535, 0, 0) + data
        inner = ipv6_header(vip, client, 6, len(segment)) + segment
    else:
        datagram = struct.pack(">HHHH", vip_port, client_port, 8 + 160, 0) + bytes(160)
        inner = ipv6_header(vip, client, 17, len(datagram)) + datagram
    if kind == "packet-too-big":
        icmp_type, code, rest = 2, 0, mtu
    else:
        icmp_type, code, rest = 1, 4, 0
    icmp = struct.pack(">BBHI", icmp_type, code, 0, rest) + inner
    icmp = icmp[:IPV6_MIN_MTU - 40]
    sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    sock.bind((src, 0))
    sock.sendto(icmp, (vip, 0))


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
    ipv6 = ":" in vip
    if kind not in ("packet-too-big" if ipv6 else "frag-needed", "port-unreachable") or l4 not in ("tcp", "udp"):
        print(__doc__, file=sys.stderr)
        return 2
    if ipv6:
        send_icmpv6(src, vip, kind, l4, vip_port, client, client_port, options["--seq"], options["--mtu"])
        return 0
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
