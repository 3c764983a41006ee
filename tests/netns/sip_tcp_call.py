#!/usr/bin/env python3
"""sip_tcp_call.py - one SIP call over a TCP connection that stays open, for the
end-to-end tests: INVITE (SDP: audio at MEDIA_PORT, where nothing listens, so the
client's kernel answers the server's RTP with ICMP port unreachable), 200, ACK;
"established" is written to READY_FILE; the BYE goes when BYE_FILE appears (or
after --hold seconds), and the exit status says whether it was answered with 200.
Over IPv6 when VIP is an IPv6 address (ICMPv6 port unreachable, then).
Usage: sip_tcp_call.py LOCAL_IP LOCAL_PORT VIP MEDIA_PORT READY_FILE BYE_FILE [--hold S]"""
import os
import socket
import sys
import time


def read_message(sock, buf):
    """One SIP message off the stream: (start line, headers text, rest of buf)."""
    while b"\r\n\r\n" not in buf:
        data = sock.recv(65536)
        if not data:
            raise EOFError("connection closed")
        buf += data
    head, _, rest = buf.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() in (b"content-length", b"l"):
            length = int(value.strip())
    while len(rest) < length:
        data = sock.recv(65536)
        if not data:
            raise EOFError("connection closed in a body")
        rest += data
    return head.decode("latin-1"), rest[length:]


def host(ip):
    """An address as a SIP URI's host: IPv6 in brackets (RFC 3261 25.1)."""
    return f"[{ip}]" if ":" in ip else ip


def request(method, local, vip, cseq, call_id, to_tag, body=b"", content_type=None):
    ip, port = host(local[0]), local[1]
    vip = host(vip)
    lines = [
        f"{method} sip:service@{vip}:5060;transport=tcp SIP/2.0",
        f"Via: SIP/2.0/TCP {ip}:{port};branch=z9hG4bK-{call_id}-{cseq}",
        f"From: <sip:e2e@{ip}:{port}>;tag=e2e-{call_id}",
        f"To: <sip:service@{vip}:5060>" + (f";tag={to_tag}" if to_tag else ""),
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} {method}",
        f"Contact: <sip:e2e@{ip}:{port};transport=tcp>",
        "Max-Forwards: 70",
    ]
    if content_type:
        lines.append(f"Content-Type: {content_type}")
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def final_response(sock, buf, method):
    """Reads responses until a final one to method; returns (status, to tag, buf)."""
    while True:
        head, buf = read_message(sock, buf)
        first = head.split("\r\n")[0]
        if not first.startswith("SIP/2.0 "):
            continue
        status = int(first.split()[1])
        cseq = [l for l in head.split("\r\n") if l.lower().startswith("cseq:")]
        if not cseq or method not in cseq[0]:
            continue
        if status >= 200:
            to = [l for l in head.split("\r\n") if l.lower().startswith(("to:", "t:"))]
            tag = to[0].split("tag=")[1].split(";")[0].strip() if to and "tag=" in to[0] else None
            return status, tag, buf


def main():
    args = sys.argv[1:]
    hold = 40.0
    if "--hold" in args:
        i = args.index("--hold")
        hold = float(args[i + 1])
        del args[i:i + 2]
    local_ip, local_port, vip, media_port, ready_file, bye_file = args
    local = (local_ip, int(local_port))
    call_id = f"e2e-{os.getpid()}@{local_ip}"
    family = socket.AF_INET6 if ":" in vip else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(local)
    sock.settimeout(10)
    sock.connect((vip, 5060))
    ip_type = "IP6" if family == socket.AF_INET6 else "IP4"
    sdp = (f"v=0\r\no=e2e 1 1 IN {ip_type} {local_ip}\r\ns=-\r\nc=IN {ip_type} {local_ip}\r\nt=0 0\r\n"
           f"m=audio {media_port} RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\na=sendrecv\r\n").encode()
    sock.sendall(request("INVITE", local, vip, 1, call_id, None, sdp, "application/sdp"))
    status, tag, buf = final_response(sock, b"", "INVITE")
    if status != 200:
        print(f"INVITE answered {status}")
        return 1
    sock.sendall(request("ACK", local, vip, 1, call_id, tag))
    with open(ready_file, "w") as f:
        f.write("established\n")
    print("established", flush=True)
    deadline = time.time() + hold
    while time.time() < deadline and not os.path.exists(bye_file):
        time.sleep(0.1)
    sock.sendall(request("BYE", local, vip, 2, call_id, tag))
    status, _, buf = final_response(sock, buf, "BYE")
    print(f"BYE answered {status}", flush=True)
    sock.close()
    return 0 if status == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
