#!/usr/bin/env python3
"""make_engine_seeds.py - writes the seed corpus of fuzz_engine
(tests/fuzz/corpus/engine/): whole SIP and RTSP sessions in the record
framing that fuzz_engine.c documents. Usage: make_engine_seeds.py [DIR]"""
import os
import struct
import sys

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus", "engine")

# Control byte bits and TCP flags, as in fuzz_engine.c / packet.h.
OUTBOUND, RAW = 0x80, 0x40
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
RETRANSMIT, AHEAD = 0x40, 0x80
# Cluster ports: 0 = 5060, 1 = 554, 2 = 20000+2k, 3 = 20001+2k.
# Client ports: 0 = 5060, 1 = 50000, 2 = 40000+2j, 3 = 40001+2j.
SIP, RTSP, MEDIA_RTP, MEDIA_RTCP = 0, 1, 2, 3
CLIENT_SIP, CLIENT_EPHEMERAL, CLIENT_RTP, CLIENT_RTCP = 0, 1, 2, 3
CLIENT_ADDR4 = ["192.0.2.10", "192.0.2.11", "192.0.2.12", "203.0.113.5"]
CLIENT_ADDR6 = ["2001:db8::10", "2001:db8::11", "2001:db8::12", "2001:db8::5"]


def record(control, body):
    return bytes([control]) + struct.pack(">H", len(body)) + body


def wrapped(payload, *, outbound=False, v6=False, tcp=False, client=0, cluster=SIP,
            client_port=CLIENT_SIP, flags=0, k=0, j=0, wait=0):
    """One packet between a client and the VIP; wait is the clock step c."""
    sel = (1 if v6 else 0) | (2 if tcp else 0) | client << 2 | cluster << 4 | client_port << 6
    if not tcp:
        flags = (k & 7) | (j & 7) << 3
    if isinstance(payload, str):
        payload = payload.encode()
    return record((OUTBOUND if outbound else 0) | wait, bytes([sel, flags]) + payload)


def rtp(v6=False, client=0, rtcp=False, k=0, j=0, wait=0):
    return wrapped(b"\x80\x00\x12\x34" + bytes(8), v6=v6, client=client,
                   cluster=MEDIA_RTCP if rtcp else MEDIA_RTP,
                   client_port=CLIENT_RTCP if rtcp else CLIENT_RTP, k=k, j=j, wait=wait)


def sdp(addr, port, extra=""):
    ip = "IP6" if ":" in addr else "IP4"
    return (f"v=0\r\no=- 1 1 IN {ip} {addr}\r\ns=-\r\nc=IN {ip} {addr}\r\nt=0 0\r\n"
            f"m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n{extra}")


def sip_headers(call_id, cseq, method, body):
    ctype = "Content-Type: application/sdp\r\n" if body else ""
    return (f"From: <sip:alice@client.example>;tag=19283\r\nTo: <sip:bob@sara.example>;tag=a6c8\r\n"
            f"Call-ID: {call_id}\r\nCSeq: {cseq} {method}\r\nContact: <sip:alice@client.example>\r\n"
            f"{ctype}Content-Length: {len(body)}\r\n\r\n{body}")


def sip_request(method, call_id, cseq, body=""):
    return (f"{method} sip:bob@sara.example SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP client.example:5060;branch=z9hG4bK-{cseq}\r\nMax-Forwards: 70\r\n"
            + sip_headers(call_id, cseq, method, body))


def sip_response(status, call_id, cseq, method, body=""):
    return (f"SIP/2.0 {status} Whatever\r\nVia: SIP/2.0/UDP client.example:5060;branch=z9hG4bK-{cseq}\r\n"
            + sip_headers(call_id, cseq, method, body))


def rtsp_request(method, cseq, session=None, transport=None):
    text = f"{method} rtsp://198.18.10.1/live/track1 RTSP/1.0\r\nCSeq: {cseq}\r\n"
    if session:
        text += f"Session: {session}\r\n"
    if transport:
        text += f"Transport: {transport}\r\n"
    return text + "\r\n"


def rtsp_reply(cseq, session=None, transport=None):
    text = f"RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\n"
    if session:
        text += f"Session: {session};timeout=60\r\n"
    if transport:
        text += f"Transport: {transport}\r\n"
    return text + "\r\n"


def sip_udp_call(v6=False, client=0, call_id="seed-call@client.example"):
    addr = (CLIENT_ADDR6 if v6 else CLIENT_ADDR4)[client]
    vip = "fd00:10::1" if v6 else "198.18.10.1"
    return b"".join([
        wrapped(sip_request("INVITE", call_id, 1, sdp(addr, 40000)), v6=v6, client=client),
        wrapped(sip_response(180, call_id, 1, "INVITE"), outbound=True, v6=v6, client=client),
        wrapped(sip_response(200, call_id, 1, "INVITE", sdp(vip, 20000)), outbound=True, v6=v6,
                client=client),
        wrapped(sip_request("ACK", call_id, 1), v6=v6, client=client),
        rtp(v6, client), rtp(v6, client, rtcp=True), rtp(v6, client, wait=10),
        wrapped(sip_request("BYE", call_id, 2), v6=v6, client=client, wait=20),
        wrapped(sip_response(200, call_id, 2, "BYE"), outbound=True, v6=v6, client=client),
        rtp(v6, client, wait=40),
    ])


def sip_reinvite_hold():
    call_id = "hold@client.example"
    return b"".join([
        wrapped(sip_request("INVITE", call_id, 1, sdp("192.0.2.10", 40000, "a=rtcp:40003\r\n"))),
        wrapped(sip_response(200, call_id, 1, "INVITE", sdp("198.18.10.1", 20000, "a=rtcp-mux\r\n")),
                outbound=True),
        rtp(),
        wrapped(sip_request("INVITE", call_id, 2, sdp("0.0.0.0", 40000)), wait=5),
        wrapped(sip_response(491, call_id, 2, "INVITE"), outbound=True),
        wrapped(sip_request("INVITE", call_id, 3, sdp("192.0.2.10", 40002))),
        wrapped(sip_response(200, call_id, 3, "INVITE", sdp("198.18.10.1", 20002)), outbound=True),
        rtp(k=1, j=1),
        wrapped(sip_request("INVITE", call_id, 4, sdp("192.0.2.10", 0))),
        wrapped(sip_request("CANCEL", call_id, 4)),
    ])


def sip_trunk():
    """Several Call-IDs over one signalling 5-tuple, answered out of order."""
    out = []
    for i in range(4):
        out.append(wrapped(sip_request("INVITE", f"trunk-{i}@pbx", 1, sdp("203.0.113.5", 40000 + 2 * i)),
                           client=3))
    for i in reversed(range(4)):
        out.append(wrapped(sip_response(200, f"trunk-{i}@pbx", 1, "INVITE", sdp("198.18.10.1", 20000 + 2 * i)),
                           outbound=True, client=3))
    for i in range(4):
        out.append(rtp(client=3, k=i, j=i))
    out.append(wrapped(sip_response(486, "trunk-2@pbx", 1, "INVITE"), outbound=True, client=3))
    out.append(wrapped(sip_request("OPTIONS", "ping@pbx", 1), client=3))
    return b"".join(out)


def sip_tcp_split(v6=False):
    call_id = "tcp@client.example"
    addr = CLIENT_ADDR6[1] if v6 else CLIENT_ADDR4[1]
    invite = sip_request("INVITE", call_id, 1, sdp(addr, 40000)).encode()
    second = (sip_request("INVITE", "tcp-2@client.example", 1, sdp(addr, 40002))
              + sip_request("BYE", call_id, 2)).encode()
    common = dict(v6=v6, tcp=True, client=1, cluster=SIP, client_port=CLIENT_EPHEMERAL)
    return b"".join([
        wrapped(b"", flags=SYN, **common),
        wrapped(b"", outbound=True, flags=SYN | ACK, **common),
        wrapped(b"", flags=ACK, **common),
        wrapped(invite[:60], flags=PSH | ACK, **common),
        wrapped(invite[60:60], flags=ACK | RETRANSMIT, **common),
        wrapped(invite[60:200], flags=PSH | ACK, **common),
        wrapped(invite[60:200], flags=PSH | ACK | RETRANSMIT, **common),
        wrapped(invite[200:], flags=PSH | ACK, **common),
        wrapped(sip_response(200, call_id, 1, "INVITE", sdp("198.18.10.1", 20000)), outbound=True,
                flags=PSH | ACK, **common),
        wrapped(second, flags=PSH | ACK, **common),
        wrapped(b"\r\n\r\n", flags=PSH | ACK, **common),
        wrapped(b"", flags=FIN | ACK, **common),
    ])


def rtsp_session(v6=False, client=2, session="12345678"):
    common = dict(v6=v6, tcp=True, client=client, cluster=RTSP, client_port=CLIENT_EPHEMERAL)
    setup = "RTP/AVP;unicast;client_port=40000-40001"
    reply = "RTP/AVP;unicast;client_port=40000-40001;server_port=20000-20001"
    return b"".join([
        wrapped(b"", flags=SYN, **common),
        wrapped(b"", outbound=True, flags=SYN | ACK, **common),
        wrapped(rtsp_request("OPTIONS", 1), flags=PSH | ACK, **common),
        wrapped(rtsp_reply(1), outbound=True, flags=PSH | ACK, **common),
        wrapped(rtsp_request("SETUP", 2, transport=setup), flags=PSH | ACK, **common),
        wrapped(rtsp_reply(2, session, reply), outbound=True, flags=PSH | ACK, **common),
        wrapped(rtsp_request("SETUP", 3, session, "RTP/AVP/TCP;unicast;interleaved=0-1"),
                flags=PSH | ACK, **common),
        wrapped(rtsp_request("PLAY", 4, session), flags=PSH | ACK, **common),
        rtp(v6, client), rtp(v6, client, rtcp=True),
        wrapped(b"$\x00\x00\x04abcd" + rtsp_request("GET_PARAMETER", 5, session).encode(),
                flags=PSH | ACK, **common),
        wrapped(rtsp_request("TEARDOWN", 6, session), flags=PSH | ACK, wait=30, **common),
        wrapped(rtsp_reply(6, session), outbound=True, flags=PSH | ACK, **common),
    ])


# ---- raw IPv4 fragments of a large INVITE ----

def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f">{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4_fragments(src, dst, sport, dport, payload, first_len, ident):
    src_b = bytes(map(int, src.split(".")))
    dst_b = bytes(map(int, dst.split(".")))
    udp_len = 8 + len(payload)
    pseudo = src_b + dst_b + struct.pack(">BBH", 0, 17, udp_len)
    udp = struct.pack(">HHHH", sport, dport, udp_len, 0) + payload
    csum = checksum(pseudo + udp) or 0xFFFF
    udp = udp[:6] + struct.pack(">H", csum) + udp[8:]
    pieces = []
    for offset, chunk in ((0, udp[:first_len]), (first_len, udp[first_len:])):
        more = 0x2000 if offset + len(chunk) < len(udp) else 0
        header = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(chunk), ident, more | offset // 8,
                             64, 17, 0, src_b, dst_b)
        header = header[:10] + struct.pack(">H", checksum(header)) + header[12:]
        pieces.append(header + chunk)
    return pieces


def fragmented_invite():
    extra = "".join(f"a=rtpmap:{pt} codec-{pt}/48000/2\r\na=fmtp:{pt} x=1\r\n" for pt in range(96, 127))
    invite = sip_request("INVITE", "fragmented@client.example", 1, sdp("192.0.2.10", 40000, extra)).encode()
    first, second = ipv4_fragments("192.0.2.10", "198.18.10.1", 5060, 5060, invite, 1480, 4242)
    return b"".join([record(RAW, second), record(RAW, first), rtp()])


def junk_and_announcements():
    """Things a broken peer sends: non-SIP on 5060, a truncated INVITE, an
    SDP naming the VIP, and raw announcement bytes."""
    return b"".join([
        wrapped("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
        wrapped("INVITE sip:b@x SIP/2.0\r\nCall-ID: cut@x\r\nCSeq: 1 INV"),
        wrapped(sip_request("INVITE", "sneaky@x", 1, sdp("198.18.10.1", 20000)), client=1),
        record(OUTBOUND | RAW, b"\xa5" + bytes([1]) + bytes(60) + b"\x01\x00\x00\x05call1"),
        record(RAW, bytes([0x45]) + bytes(19)),
    ])


def icmp_error(quoted_l4, vip_port, client_port, icmp_type=3, code=3, quote_len=28, client="192.0.2.10"):
    """An ICMP error to the VIP quoting a datagram the VIP sent to a client."""
    vip_b = bytes(map(int, "198.18.10.1".split(".")))
    client_b = bytes(map(int, client.split(".")))
    inner = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 1500, 1, 0x4000, 64, quoted_l4, 0, vip_b, client_b)
    inner += struct.pack(">HHI", vip_port, client_port, 1000)
    icmp = struct.pack(">BBHI", icmp_type, code, 0, 1200 if code == 4 else 0) + inner[:quote_len]
    icmp = icmp[:2] + struct.pack(">H", checksum(icmp)) + icmp[4:]
    header = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), 7, 0, 64, 1, 0, client_b, vip_b)
    header = header[:10] + struct.pack(">H", checksum(header)) + header[12:]
    return record(RAW, header + icmp)


def icmp_errors():
    """A call, then ICMP errors about its RTP, its signalling, an unknown flow,
    and a quote cut short."""
    return sip_udp_call()[:-1] + b"".join([
        icmp_error(17, 20000, 40000),
        icmp_error(17, 5060, 5060, icmp_type=11, code=0),
        icmp_error(6, 5060, 50000, code=4),
        icmp_error(17, 31000, 41000, client="192.0.2.11"),
        icmp_error(17, 20000, 40000, quote_len=23),
    ])


def sip_bye_answered_late():
    """A BYE retransmitted for 20 s before its 200."""
    call_id = "late-bye@client.example"
    out = [wrapped(sip_request("INVITE", call_id, 1, sdp("192.0.2.10", 40000))),
           wrapped(sip_response(200, call_id, 1, "INVITE", sdp("198.18.10.1", 20000)), outbound=True),
           wrapped(sip_request("ACK", call_id, 1)),
           wrapped(sip_request("BYE", call_id, 2), wait=10)]
    out += [wrapped(sip_request("BYE", call_id, 2), wait=16) for _ in range(5)]
    out.append(wrapped(sip_response(200, call_id, 2, "BYE"), outbound=True))
    out.append(wrapped(sip_request("BYE", call_id, 2), wait=30))
    return b"".join(out)


def rtsp_reconnect():
    """An RTSP session whose client closes its connection and carries on over
    a new one."""
    first = dict(tcp=True, client=2, cluster=RTSP, client_port=CLIENT_EPHEMERAL)
    second = dict(tcp=True, client=2, cluster=RTSP, client_port=CLIENT_RTP)
    setup = "RTP/AVP;unicast;client_port=40000-40001"
    reply = "RTP/AVP;unicast;client_port=40000-40001;server_port=20000-20001"
    return b"".join([
        wrapped(b"", flags=SYN, **first),
        wrapped(b"", outbound=True, flags=SYN | ACK, **first),
        wrapped(rtsp_request("SETUP", 1, transport=setup), flags=PSH | ACK, **first),
        wrapped(rtsp_reply(1, "R1", reply), outbound=True, flags=PSH | ACK, **first),
        wrapped(rtsp_request("PLAY", 2, "R1"), flags=PSH | ACK, **first),
        wrapped(b"", flags=FIN | ACK, **first),
        rtp(client=2),
        wrapped(b"", flags=SYN, wait=5, **second),
        wrapped(b"", outbound=True, flags=SYN | ACK, **second),
        wrapped(rtsp_request("GET_PARAMETER", 3, "R1"), flags=PSH | ACK, **second),
        wrapped(rtsp_reply(3, "R1"), outbound=True, flags=PSH | ACK, **second),
        wrapped(rtsp_request("TEARDOWN", 4, "R1"), flags=PSH | ACK, **second),
    ])


SEEDS = {
    "sip_udp_call": sip_udp_call(),
    "sip_udp_call_v6": sip_udp_call(v6=True, client=0, call_id="v6@client.example"),
    "sip_reinvite_hold": sip_reinvite_hold(),
    "sip_trunk": sip_trunk(),
    "sip_tcp_split": sip_tcp_split(),
    "sip_tcp_split_v6": sip_tcp_split(v6=True),
    "rtsp_session": rtsp_session(),
    "rtsp_two_clients": rtsp_session(client=2, session="1") + rtsp_session(v6=True, client=3, session="1"),
    "fragmented_invite": fragmented_invite(),
    "junk_and_announcements": junk_and_announcements(),
    "icmp_errors": icmp_errors(),
    "sip_bye_answered_late": sip_bye_answered_late(),
    "rtsp_reconnect": rtsp_reconnect(),
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    print(f"{len(SEEDS)} seeds in {OUT}")


if __name__ == "__main__":
    main()
