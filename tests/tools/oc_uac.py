#!/usr/bin/env python3
"""oc_uac.py - a SIP/UDP caller for the goodput experiment that can honour RFC 7339
overload control (loss-based): offers RATE calls/s for SECONDS, each an INVITE with SDP,
ACK, RTP-like media to the answer's address, BYE; bounded in calls and time.

With --oc every request's top Via advertises ";oc;oc-algo=\"loss\"" and the client keeps
the latest oc value (by oc-seq, for oc-validity ms) from the responses; it then drops
that percentage of its NEW calls before sending them (RFC 7339 5.10, "shed locally").
Without --oc it is the same caller ignoring overload control, so the two compare
client for client.

Output: --stat-file, a sipp-like statistics file (";"-separated, a header then one
cumulative line a second: StartTime and CurrentTime as "date<TAB>time<TAB>epoch",
OutgoingCall(C), SuccessfulCall(C), FailedCall(C), FailedUnexpectedMessage(C),
FailedTimeoutOnRecv(C), ShedLocally(C), Refused503(C)), read by the same helpers as
sipp's; and a final JSON line on stdout: offered, sent, shed_locally, succeeded,
refused_503, refused_other, failed_timeout, failed_bye, rtp_per_call (media packets
sent per answered call), oc_last.
"""
import argparse
import asyncio
import json
import os
import random
import resource
import socket
import struct
import sys
import time

T1 = 0.5          # RFC 3261 timer T1 over UDP
T2 = 4.0          # cap of a non-INVITE request's retransmission interval
SETUP_S = 6.0     # the 200 within 6 s of the INVITE or the call fails (goodput-uac.xml)
BYE_WAIT_S = 8.0  # the BYE's 200 within 8 s (goodput-uac.xml)
DRAIN_S = SETUP_S + 8.0 + BYE_WAIT_S + 2.0  # the longest a call can still run after its INVITE


def now():
    return time.monotonic()


def sipp_time(epoch):
    lt = time.localtime(epoch)
    return "%s\t%s.%06d\t%.6f" % (time.strftime("%Y-%m-%d", lt), time.strftime("%H:%M:%S", lt),
                                  int((epoch % 1) * 1e6), epoch)


def parse_message(data):
    """(first line, {lower header name: [values]}, body) of a SIP message, or None."""
    try:
        text = data.decode("utf-8", "replace")
    except Exception:
        return None
    head, _, body = text.partition("\r\n\r\n")
    lines = head.split("\r\n")
    if not lines or not lines[0].startswith("SIP/2.0 "):
        return None
    compact = {"v": "via", "i": "call-id", "t": "to", "f": "from", "m": "contact", "l": "content-length"}
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            continue
        name = name.strip().lower()
        headers.setdefault(compact.get(name, name), []).append(value.strip())
    return lines[0], headers, body


def via_params(via):
    """The parameters of one Via value: {name: value or ""}."""
    params = {}
    for p in via.split(";")[1:]:
        k, _, v = p.partition("=")
        params[k.strip().lower()] = v.strip().strip('"')
    return params


def sdp_media(body):
    """(address, port) of the first audio stream of an SDP body, or None."""
    addr = port = None
    for line in body.splitlines():
        if line.startswith("c=IN IP4 "):
            addr = line[9:].strip()
        elif line.startswith("m=audio ") and port is None:
            try:
                port = int(line.split()[1])
            except (IndexError, ValueError):
                return None
    return (addr, port) if addr and port else None


class OverloadState:
    """RFC 7339 loss-based state from the responses: the latest oc by oc-seq, valid for
    oc-validity ms after it arrived (0 ends the reduction at once)."""

    def __init__(self):
        self.value = 0
        self.seq = None
        self.until = 0.0
        self.updates = 0

    def take(self, params, t):
        if "oc" not in params or params["oc"] == "":
            return
        try:
            value = int(params["oc"])
            validity = int(params.get("oc-validity", "500"))
            seq = float(params.get("oc-seq", "0"))
        except ValueError:
            return
        if params.get("oc-algo", "loss") != "loss":
            return
        if self.seq is not None and seq < self.seq:
            return  # an older state overtaken on the way (RFC 7339 5.6)
        self.seq = seq
        self.value = max(0, min(100, value))
        self.until = t + validity / 1000.0
        self.updates += 1

    def reduction(self, t):
        return self.value if t < self.until else 0


class Caller(asyncio.DatagramProtocol):
    def __init__(self, args):
        self.args = args
        self.calls = {}      # Call-ID -> asyncio.Queue of parsed responses
        self.acks = {}       # Call-ID -> the ACK of its 200, sent again for a retransmitted 200
        self.oc = OverloadState()
        self.transport = None
        self.c = dict(offered=0, sent=0, shed_locally=0, succeeded=0, refused_503=0, refused_other=0,
                      failed_timeout=0, failed_bye=0, answered=0, rtp_sent=0, rtp_send_errors=0,
                      retransmissions=0, stray_responses=0)
        self.media = []      # active streams: [socket, (addr, port), packets left, seq, ssrc]
        self.via_extra = ';oc;oc-algo="loss"' if args.oc else ""
        self.run_tag = "%x%x" % (os.getpid(), random.getrandbits(24))
        self.start_epoch = time.time()

    # ---- transport
    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        msg = parse_message(data)
        if msg is None:
            return
        first, headers, body = msg
        if self.args.oc and headers.get("via"):
            self.oc.take(via_params(headers["via"][0]), now())
        call_id = (headers.get("call-id") or [""])[0]
        ack = self.acks.get(call_id)
        if ack and " INVITE" in (headers.get("cseq") or [""])[0] and first.startswith("SIP/2.0 2"):
            self.send(ack)  # a retransmitted 200 (our ACK was lost): RFC 3261 13.2.2.4
            return
        q = self.calls.get(call_id)
        if q is None:
            self.c["stray_responses"] += 1
            return
        q.put_nowait(msg)

    def send(self, text):
        self.transport.sendto(text.encode(), (self.args.vip, self.args.port))

    # ---- messages
    def request(self, method, uri, call, branch, cseq, to, body="", extra=""):
        a = self.args
        return ("%s %s SIP/2.0\r\nVia: SIP/2.0/UDP %s:%d;branch=%s%s\r\nMax-Forwards: 70\r\n"
                "From: <sip:oc_uac@%s:%d>;tag=%s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d %s\r\n"
                "Contact: <sip:oc_uac@%s:%d>\r\nSubject: sara goodput\r\n%s"
                "Content-Length: %d\r\n\r\n%s") % (
            method, uri, a.src, a.sip_port, branch, self.via_extra, a.src, a.sip_port, call["from_tag"], to,
            call["id"], cseq, method, a.src, a.sip_port, extra, len(body), body)

    async def transaction(self, q, text, method, deadline, invite):
        """Sends a request and retransmits it (timer A for an INVITE: doubling until a
        provisional response; timer E otherwise: doubling up to T2) until a final
        response or DEADLINE; returns the final response or None."""
        self.send(text)
        interval, next_retx, provisional = T1, now() + T1, False
        while True:
            t = now()
            if t >= deadline:
                return None
            wake = deadline if (invite and provisional) else min(deadline, next_retx)
            try:
                msg = await asyncio.wait_for(q.get(), max(0.0, wake - t))
            except asyncio.TimeoutError:
                if now() >= deadline:
                    return None
                self.send(text)
                self.c["retransmissions"] += 1
                interval = interval * 2 if invite else min(interval * 2, T2)
                if not invite and provisional:
                    interval = T2
                next_retx = now() + interval
                continue
            first, headers, _ = msg
            cseq = (headers.get("cseq") or [""])[0].split()
            if len(cseq) != 2 or cseq[1] != method:
                continue
            code = int(first.split()[1])
            if code < 200:
                provisional = True
                continue
            return msg

    async def call(self, n):
        a = self.args
        t0 = now()
        call = {"id": "%s-%d@%s" % (self.run_tag, n, a.src), "from_tag": "%s%d" % (self.run_tag, n)}
        media_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            media_sock.bind((a.src, 0))
            media_sock.setblocking(False)
            local_media = media_sock.getsockname()[1]
            sdp = ("v=0\r\no=oc_uac %d 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
                   "m=audio %d RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\na=sendonly\r\n") % (
                n, a.src, a.src, local_media)
            uri = "sip:service@%s:%d" % (a.vip, a.port)
            to = "<%s>" % uri
            branch = "z9hG4bK-%s-%d-i" % (self.run_tag, n)
            invite = self.request("INVITE", uri, call, branch, 1, to, sdp, "Content-Type: application/sdp\r\n")
            q = asyncio.Queue()
            self.calls[call["id"]] = q
            self.c["sent"] += 1
            resp = await self.transaction(q, invite, "INVITE", t0 + SETUP_S, True)
            if resp is None:
                self.c["failed_timeout"] += 1
                return
            first, headers, body = resp
            code = int(first.split()[1])
            to_resp = (headers.get("to") or [to])[0]
            if code >= 300:
                # RFC 3261 17.1.1.3: the ACK of a non-2xx final response, in the INVITE's transaction
                self.send(self.request("ACK", uri, call, branch, 1, to_resp))
                self.c["refused_503" if code == 503 else "refused_other"] += 1
                return
            contact = (headers.get("contact") or [""])[0]
            target = contact[contact.find("<") + 1:contact.find(">")] if "<" in contact else uri
            ack = self.request("ACK", target, call, "z9hG4bK-%s-%d-a" % (self.run_tag, n), 1, to_resp)
            self.acks[call["id"]] = ack
            self.send(ack)
            self.c["answered"] += 1
            dest = sdp_media(body)
            if dest:
                self.media.append([media_sock, dest, a.packets, random.getrandbits(16), random.getrandbits(32)])
            await asyncio.sleep(a.bye_after)
            bye = self.request("BYE", target, call, "z9hG4bK-%s-%d-b" % (self.run_tag, n), 2, to_resp)
            resp = await self.transaction(q, bye, "BYE", now() + BYE_WAIT_S, False)
            if resp is not None and 200 <= int(resp[0].split()[1]) < 300:
                self.c["succeeded"] += 1
            else:
                self.c["failed_bye"] += 1
        finally:
            self.media = [m for m in self.media if m[0] is not media_sock]
            media_sock.close()
            # the call's entry stays a little for late retransmitted responses
            asyncio.get_running_loop().call_later(2.0, self.forget, call["id"])

    def forget(self, call_id):
        self.calls.pop(call_id, None)
        self.acks.pop(call_id, None)

    # ---- media: every stream one packet per tick, from one timer
    async def media_ticker(self, stop):
        a = self.args
        payload = bytes(a.payload)
        interval = a.rtp_interval_ms / 1000.0
        next_t = now()
        while not stop.is_set() or self.media:
            for m in self.media:
                if m[2] <= 0:
                    continue
                hdr = struct.pack("!BBHII", 0x80, 8, m[3] & 0xFFFF, (m[3] * 240) & 0xFFFFFFFF, m[4])
                try:
                    m[0].sendto(hdr + payload, m[1])
                    self.c["rtp_sent"] += 1
                except OSError:
                    self.c["rtp_send_errors"] += 1
                m[2] -= 1
                m[3] += 1
            next_t += interval
            await asyncio.sleep(max(0.0, next_t - now()))

    # ---- statistics
    def stat_line(self):
        c = self.c
        failed = c["refused_503"] + c["refused_other"] + c["failed_timeout"] + c["failed_bye"]
        return ";".join([sipp_time(self.start_epoch), sipp_time(self.start_epoch), sipp_time(time.time()),
                         str(c["offered"]), str(c["succeeded"]), str(failed),
                         str(c["refused_503"] + c["refused_other"]), str(c["failed_timeout"] + c["failed_bye"]),
                         str(c["shed_locally"]), str(c["refused_503"])])

    async def stats_writer(self, f, stop):
        while not stop.is_set():
            f.write(self.stat_line() + "\n")
            f.flush()
            try:
                await asyncio.wait_for(stop.wait(), 1.0)
            except asyncio.TimeoutError:
                pass

    # ---- the run
    async def run(self):
        a = self.args
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        sock.bind((a.src, a.sip_port))
        await loop.create_datagram_endpoint(lambda: self, sock=sock)
        stop = asyncio.Event()
        stat_file = open(a.stat_file, "w") if a.stat_file else None
        tasks = []
        if stat_file:
            stat_file.write("StartTime;LastResetTime;CurrentTime;OutgoingCall(C);SuccessfulCall(C);FailedCall(C);"
                            "FailedUnexpectedMessage(C);FailedTimeoutOnRecv(C);ShedLocally(C);Refused503(C)\n")
            tasks.append(loop.create_task(self.stats_writer(stat_file, stop)))
        ticker = loop.create_task(self.media_ticker(stop))
        self.start_epoch = time.time()
        t_start = now()
        total = int(a.rate * a.seconds)
        calls = []
        for n in range(total):
            due = t_start + n / a.rate
            if due - now() > 0:
                await asyncio.sleep(due - now())
            if now() - t_start > a.seconds + 1.0:
                break  # the loop fell behind: a bounded run, not a catch-up burst
            self.c["offered"] += 1
            if a.oc and random.random() * 100 < self.oc.reduction(now()):
                self.c["shed_locally"] += 1
                continue
            calls.append(loop.create_task(self.call(n)))
        if calls:
            await asyncio.wait(calls, timeout=DRAIN_S)
        stop.set()
        await asyncio.wait_for(ticker, 5.0)
        for t in tasks:
            await t
        if stat_file:
            stat_file.write(self.stat_line() + "\n")
            stat_file.close()
        out = dict(self.c)
        out["rtp_per_call"] = round(self.c["rtp_sent"] / self.c["answered"], 2) if self.c["answered"] else 0
        out["oc_last"] = self.oc.value
        out["oc_updates"] = self.oc.updates
        out["honours_oc"] = bool(a.oc)
        print(json.dumps(out), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--vip", required=True, help="the service address")
    p.add_argument("--port", type=int, default=5060)
    p.add_argument("--src", required=True, help="local address of the calls")
    p.add_argument("--sip-port", type=int, default=5070, help="local SIP port")
    p.add_argument("--rate", type=float, required=True, help="new calls offered a second")
    p.add_argument("--seconds", type=float, required=True, help="how long calls are offered")
    p.add_argument("--oc", action="store_true", help="advertise and honour RFC 7339 overload control")
    p.add_argument("--hold", type=float, default=3.6, help="media seconds per call (default 3.6)")
    p.add_argument("--rtp-interval-ms", type=int, default=30, help="media packet interval (default 30)")
    p.add_argument("--payload", type=int, default=160, help="media payload bytes (default 160)")
    p.add_argument("--bye-after", type=float, default=4.0, help="BYE this long after the ACK (default 4)")
    p.add_argument("--stat-file", help="sipp-like cumulative statistics, a line a second")
    p.add_argument("--seed", type=int, help="random seed (local shedding)")
    a = p.parse_args()
    if a.rate <= 0 or a.seconds <= 0 or a.rate * a.seconds > 1_000_000 or a.hold < 0 or a.rtp_interval_ms <= 0:
        p.error("rate and seconds must be positive (at most 1000000 calls), hold >= 0, interval > 0")
    a.packets = int(round(a.hold * 1000 / a.rtp_interval_ms))
    if a.seed is not None:
        random.seed(a.seed)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # a media socket per call in progress
    asyncio.run(asyncio.wait_for(Caller(a).run(), a.seconds + DRAIN_S + 15))


if __name__ == "__main__":
    sys.exit(main())
