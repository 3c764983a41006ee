#!/usr/bin/env python3
"""rtsp_reconnect.py - an RTSP client that sets a session up on one connection, closes
it, and carries the session on over a second one (GET_PARAMETER, TEARDOWN), as RTSP
allows (RFC 2326 section 1.4: a session is independent of its connections). Prints
each reply's status; exit 0 when every reply was 200 but the TEARDOWN's, which only
has to come (gst-rtsp-server keeps the session but drops its media with the first
connection, and answers it 404). A server that does not know the session answers
the GET_PARAMETER 454.
Usage: rtsp_reconnect.py LOCAL_IP URL CLIENT_RTP_PORT"""
import re
import socket
import sys
import time
from urllib.parse import urlparse


class Connection:
    def __init__(self, local_ip, host, port):
        self.sock = socket.create_connection((host, port), timeout=10, source_address=(local_ip, 0))
        self.buf = b""
        self.cseq = 0

    def request(self, method, url, headers=()):
        self.cseq += 1
        text = f"{method} {url} RTSP/1.0\r\nCSeq: {self.cseq}\r\nUser-Agent: sara-e2e\r\n"
        text += "".join(f"{h}\r\n" for h in headers) + "\r\n"
        self.sock.sendall(text.encode())
        return self.reply()

    def reply(self):
        while b"\r\n\r\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("connection closed")
            self.buf += data
        head, _, rest = self.buf.partition(b"\r\n\r\n")
        head = head.decode("latin-1")
        m = re.search(r"^Content-Length:\s*(\d+)", head, re.I | re.M)
        length = int(m.group(1)) if m else 0
        while len(rest) < length:
            rest += self.sock.recv(65536)
        body, self.buf = rest[:length], rest[length:]
        status = int(head.split()[1])
        return status, head, body.decode("latin-1")

    def close(self):
        self.sock.close()


def main():
    local_ip, url, rtp_port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    u = urlparse(url)
    statuses = []
    first = Connection(local_ip, u.hostname, u.port or 554)
    status, _, _ = first.request("OPTIONS", url)
    statuses.append(("OPTIONS", status))
    status, _, sdp = first.request("DESCRIBE", url, ["Accept: application/sdp"])
    statuses.append(("DESCRIBE", status))
    controls = re.findall(r"^a=control:(\S+)", sdp, re.M)
    track = next((c for c in controls if c != "*"), "stream=0")
    track_url = track if track.startswith("rtsp:") else url.rstrip("/") + "/" + track
    status, head, _ = first.request("SETUP", track_url,
                                    [f"Transport: RTP/AVP;unicast;client_port={rtp_port}-{rtp_port + 1}"])
    statuses.append(("SETUP", status))
    m = re.search(r"^Session:\s*([^;\r\n]+)", head, re.I | re.M)
    if not m:
        print("no Session in the SETUP reply")
        return 1
    session = m.group(1).strip()
    status, _, _ = first.request("PLAY", url, [f"Session: {session}", "Range: npt=0-"])
    statuses.append(("PLAY", status))
    time.sleep(1)
    first.close()
    print(f"session {session}: first connection closed", flush=True)
    time.sleep(1)
    second = Connection(local_ip, u.hostname, u.port or 554)
    status, _, _ = second.request("GET_PARAMETER", url, [f"Session: {session}"])
    statuses.append(("GET_PARAMETER", status))
    status, _, _ = second.request("TEARDOWN", url, [f"Session: {session}"])
    statuses.append(("TEARDOWN", status))
    second.close()
    print(" ".join(f"{m} {s}" for m, s in statuses), flush=True)
    return 0 if all(s == 200 for m, s in statuses if m != "TEARDOWN") else 1


if __name__ == "__main__":
    sys.exit(main())
