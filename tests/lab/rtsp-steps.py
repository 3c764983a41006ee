#!/usr/bin/python3
"""A scripted RTSP client for the sara lab: one control connection, UDP
media (or, with --interleaved, RTP and RTCP $-framed over the control
connection, RFC 2326 10.12), and the requests named by --steps, in order,
each of which must be answered 200 (exit 1 otherwise). Steps:
  options, describe, setup (every stream of the DESCRIBE), play, pause, teardown,
  get_parameter       a keep-alive naming the session (a server without it answers 454)
  close               close the control connection (the session lives on)
  connect             a new control connection from the same address, for the session
  wait:SECONDS        receive media meanwhile, sending an RTCP receiver report a second
  waitfile:PATH       the same until PATH exists (at most 30 s)
Prints one line per request ("PLAY 200 session S") and, at the end, the RTP
packets received per step ("rtp after play: N"), so that a test can tell
that media came after every PLAY.
"""
import argparse
import os
import re
import select
import socket
import sys
import time


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--url", required=True)
    ap.add_argument("--bind", required=True, help="the client's address")
    ap.add_argument("--client-port", type=int, default=20000, help="first of two ports per stream")
    ap.add_argument("--steps", required=True)
    ap.add_argument("--interleaved", action="store_true",
                    help="media over the control connection (RTP/AVP/TCP), channels 2i and 2i+1 per stream")
    return ap.parse_args()


class Client:
    def __init__(self, args):
        m = re.match(r"rtsp://([^:/]+):(\d+)(/.*)", args.url)
        self.host, self.port, self.url = m.group(1), int(m.group(2)), args.url
        self.bind = args.bind
        self.cseq = 0
        self.session = None
        self.controls = []
        self.client_port = args.client_port
        self.media = []       # (rtp socket, rtcp socket, server rtcp port)
        self.interleaved = args.interleaved
        self.channels = []    # interleaved: each stream's (rtp, rtcp) channels
        self.framed_rtp = 0   # interleaved RTP frames taken off the connection, not yet counted
        self.sock = None
        self.connect()

    def connect(self):
        if self.sock:
            self.sock.close()
        self.sock = socket.create_connection((self.host, self.port), timeout=5, source_address=(self.bind, 0))
        self.buffer = b""
        print("CONNECT from port %d session %s" % (self.sock.getsockname()[1], self.session), flush=True)

    def close(self):
        self.sock.close()
        self.sock = None
        print("CLOSE session %s" % self.session, flush=True)

    def request(self, method, url, headers=()):
        self.cseq += 1
        lines = ["%s %s RTSP/1.0" % (method, url), "CSeq: %d" % self.cseq, "User-Agent: sara-lab-steps"]
        if self.session and method not in ("OPTIONS", "DESCRIBE"):
            lines.append("Session: %s" % self.session)
        lines.extend(headers)
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        status, head, body = self.reply()
        print("%s %d session %s" % (method, status, self.session), flush=True)
        if status != 200:
            print("FAIL: %s answered %d" % (method, status), file=sys.stderr)
            sys.exit(1)
        return head, body

    def take_frames(self):
        """Removes the $-framed media at the head of the buffer, counting its RTP."""
        while self.buffer[:1] == b"$":
            if len(self.buffer) < 4:
                return
            length = int.from_bytes(self.buffer[2:4], "big")
            if len(self.buffer) < 4 + length:
                return
            if self.buffer[1] % 2 == 0:
                self.framed_rtp += 1
            self.buffer = self.buffer[4 + length:]

    def reply(self):
        deadline = time.monotonic() + 5
        self.take_frames()
        while self.buffer[:1] == b"$" or b"\r\n\r\n" not in self.buffer:
            self.recv_more(deadline)
            self.take_frames()
        head, rest = self.buffer.split(b"\r\n\r\n", 1)
        head = head.decode("latin-1")
        m = re.search(r"(?im)^content-length:\s*(\d+)", head)
        length = int(m.group(1)) if m else 0
        self.buffer = rest
        while len(self.buffer) < length:
            self.recv_more(deadline)
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        status = int(head.split()[1])
        m = re.search(r"(?im)^session:\s*([^;\r\n]+)", head)
        if m:
            self.session = m.group(1).strip()
        return status, head, body.decode("latin-1")

    def recv_more(self, deadline):
        self.sock.settimeout(max(0.1, deadline - time.monotonic()))
        data = self.sock.recv(65536)
        if not data:
            print("FAIL: the server closed the connection", file=sys.stderr)
            sys.exit(1)
        self.buffer += data

    def describe(self):
        head, body = self.request("DESCRIBE", self.url, ["Accept: application/sdp"])
        base = self.url.rstrip("/") + "/"
        m = re.search(r"(?im)^content-base:\s*(\S+)", head)
        if m:
            base = m.group(1)
        for control in re.findall(r"(?m)^a=control:(\S+)", body):
            if control == "*":
                continue
            self.controls.append(control if control.startswith("rtsp://") else base + control)

    def setup(self):
        for i, control in enumerate(self.controls):
            if self.interleaved:
                head, _ = self.request("SETUP", control,
                                       ["Transport: RTP/AVP/TCP;unicast;interleaved=%d-%d" % (2 * i, 2 * i + 1)])
                m = re.search(r"interleaved=(\d+)-(\d+)", head)
                self.channels.append((int(m.group(1)), int(m.group(2))) if m else (2 * i, 2 * i + 1))
                continue
            rtp_port = self.client_port + 2 * i
            rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            rtp.bind((self.bind, rtp_port))
            rtcp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            rtcp.bind((self.bind, rtp_port + 1))
            head, _ = self.request("SETUP", control,
                                   ["Transport: RTP/AVP;unicast;client_port=%d-%d" % (rtp_port, rtp_port + 1)])
            m = re.search(r"server_port=(\d+)-(\d+)", head)
            self.media.append((rtp, rtcp, int(m.group(2)) if m else 0))

    def receive(self, until, stop_file=None):
        """RTP packets received until the deadline (or the file); RTCP RR once a second."""
        if self.interleaved:
            return self.receive_framed(until, stop_file)
        got, next_rr = 0, 0.0
        socks = [s for media in self.media for s in media[:2]]
        while time.monotonic() < until:
            if stop_file and os.path.exists(stop_file):
                break
            now = time.monotonic()
            if now >= next_rr:
                for _, rtcp, server_rtcp in self.media:
                    if server_rtcp:
                        # an empty receiver report: version 2, PT 201, length 1
                        rtcp.sendto(bytes([0x80, 201, 0, 1]) + b"\x5a\x7a\x00\x01", (self.host, server_rtcp))
                next_rr = now + 1.0
            ready, _, _ = select.select(socks, [], [], 0.1)
            for s in ready:
                s.recv(65536)
                if any(s is media[0] for media in self.media):
                    got += 1
        return got


    def receive_framed(self, until, stop_file):
        """receive() over the control connection: $-framed RTP in, RTCP RR out."""
        next_rr = 0.0
        while time.monotonic() < until:
            if stop_file and os.path.exists(stop_file):
                break
            now = time.monotonic()
            if now >= next_rr:
                for _, rtcp_channel in self.channels:
                    rr = bytes([0x80, 201, 0, 1]) + b"\x5a\x7a\x00\x01"
                    self.sock.sendall(b"$" + bytes([rtcp_channel]) + len(rr).to_bytes(2, "big") + rr)
                next_rr = now + 1.0
            ready, _, _ = select.select([self.sock], [], [], 0.1)
            if ready:
                self.recv_more(time.monotonic() + 0.1)
                self.take_frames()
        got, self.framed_rtp = self.framed_rtp, 0
        return got


def main():
    args = parse_args()
    client = Client(args)
    counts = []
    last = "start"
    for step in args.steps.split(","):
        if step == "options":
            client.request("OPTIONS", client.url)
        elif step == "describe":
            client.describe()
        elif step == "setup":
            client.setup()
        elif step in ("play", "pause"):
            client.request(step.upper(), client.url.rstrip("/") + "/")
            last = step
        elif step == "teardown":
            client.request("TEARDOWN", client.url.rstrip("/") + "/")
        elif step == "get_parameter":
            client.request("GET_PARAMETER", client.url.rstrip("/") + "/")
        elif step == "close":
            client.close()
        elif step == "connect":
            client.connect()
        elif step.startswith("wait:"):
            counts.append((last, client.receive(time.monotonic() + float(step[5:]))))
        elif step.startswith("waitfile:"):
            counts.append((last, client.receive(time.monotonic() + 30, step[9:])))
        else:
            print("FAIL: unknown step %s" % step, file=sys.stderr)
            return 2
    for after, n in counts:
        print("rtp after %s: %d" % (after, n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
