#!/usr/bin/env python3
"""rtsp_uac.py - an RTSP client for the goodput experiment: offers RATE sessions/s for SECONDS,
each on its own TCP connection (OPTIONS, DESCRIBE, SETUP with a client_port, PLAY, the media,
TEARDOWN); bounded in sessions, open sessions and time.

A session must have its PLAY answered within --setup-s (default 6) of its connection's start,
and its TEARDOWN within --teardown-s (default 6) of sending it. After PLAY's 200 it waits for
--rtp-packets (default 50) RTP packets on its client_port, at most their duration (packets x
--rtp-interval-ms, default 40) plus --media-grace-s (default 1), then sends TEARDOWN.

Counted: completed (PLAY answered 200, media received, TEARDOWN answered 200), refused_reset
(the connection refused or reset before an answer: a dispatcher's RST at the SYN),
refused_503 (an RTSP 503), refused_other (another error status), failed_timeout (PLAY not
answered in time: the client gives up, sending TEARDOWN if it has a Session), failed_teardown
(TEARDOWN unanswered or refused), failed_closed (the connection closed after answers began),
no_media (completed without a packet), and the media of completed sessions: packets expected,
received, the loss.

Output: --stat-file, a sipp-like statistics file (";"-separated, a header then one cumulative
line a second: StartTime and CurrentTime as "date<TAB>time<TAB>epoch", OutgoingCall(C),
SuccessfulCall(C), FailedCall(C), FailedUnexpectedMessage(C) (every refusal and error
status), FailedTimeoutOnRecv(C), ShedLocally(C) (sessions not started: the open-session
bound), Refused503(C), RefusedReset(C)), read by the same helpers as sipp's; and a final JSON
line of the totals on stdout.
"""
import argparse
import asyncio
import json
import resource
import socket
import sys
import time


def now():
    return time.monotonic()


def sipp_time(epoch):
    lt = time.localtime(epoch)
    return "%s\t%s.%06d\t%.6f" % (time.strftime("%Y-%m-%d", lt), time.strftime("%H:%M:%S", lt),
                                  int((epoch % 1) * 1e6), epoch)


class MediaCounter(asyncio.DatagramProtocol):
    """Counts the RTP packets that reach one session's client_port."""

    def __init__(self, expected):
        self.received = 0
        self.expected = expected
        self.all_in = asyncio.get_running_loop().create_future()

    def datagram_received(self, data, addr):
        if len(data) >= 12 and data[0] >> 6 == 2:
            self.received += 1
            if self.received >= self.expected and not self.all_in.done():
                self.all_in.set_result(True)

    def error_received(self, exc):
        pass


class Refused(Exception):
    pass


async def read_response(reader):
    """(status code, {lower header name: value}) of the next RTSP response; its body is read
    and dropped. Raises asyncio.IncompleteReadError when the connection ends first."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("RTSP/"):
        raise ValueError("not an RTSP response: %r" % lines[0][:80])
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    body = int(headers.get("content-length", "0") or 0)
    if body > 65536:
        raise ValueError("body too long")
    if body:
        await reader.readexactly(body)
    return int(parts[1]), headers


class Client:
    def __init__(self, args):
        self.args = args
        self.c = dict(offered=0, started=0, shed_locally=0, completed=0, refused_reset=0, refused_503=0,
                      refused_other=0, failed_timeout=0, failed_teardown=0, failed_closed=0, no_media=0,
                      played=0, rtp_expected=0, rtp_received=0, rtp_received_played=0, setup_ms_sum=0,
                      setup_ms_max=0, open_max=0)
        self.open = 0
        self.start_epoch = time.time()
        self.start_mono = now()
        self.url = "rtsp://%s:%d/load" % (args.vip, args.port)

    def request(self, method, cseq, extra="", url=None):
        return ("%s %s RTSP/1.0\r\nCSeq: %d\r\nUser-Agent: rtsp_uac\r\n%s\r\n" % (
            method, url or self.url, cseq, extra)).encode()

    async def session(self, n):
        a = self.args
        loop = asyncio.get_running_loop()
        t0 = now()
        deadline = t0 + a.setup_s
        media = None
        writer = None
        session_id = None
        answered = False
        cseq = 0
        self.open += 1
        self.c["open_max"] = max(self.c["open_max"], self.open)
        try:
            transport, media = await loop.create_datagram_endpoint(
                lambda: MediaCounter(a.rtp_packets), local_addr=(a.src, 0))
            client_port = transport.get_extra_info("sockname")[1]
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(a.vip, a.port, local_addr=(a.src, 0)), max(0.01, deadline - now()))
            except (ConnectionRefusedError, ConnectionResetError):
                self.c["refused_reset"] += 1
                return
            except (asyncio.TimeoutError, OSError):
                self.c["failed_timeout"] += 1
                return
            steps = [("OPTIONS", "", None),
                     ("DESCRIBE", "Accept: application/sdp\r\n", None),
                     ("SETUP", "Transport: RTP/AVP;unicast;client_port=%d-%d\r\n" % (client_port, client_port + 1),
                      self.url + "/track1"),
                     ("PLAY", None, None)]
            for method, extra, url in steps:
                cseq += 1
                if method == "PLAY":
                    extra = "Session: %s\r\nRange: npt=0.000-\r\n" % session_id
                writer.write(self.request(method, cseq, extra, url))
                try:
                    code, headers = await asyncio.wait_for(read_response(reader), max(0.01, deadline - now()))
                except asyncio.TimeoutError:
                    self.c["failed_timeout"] += 1
                    if session_id:  # the client gives up: the session ends at the server and at sarad
                        writer.write(self.request("TEARDOWN", cseq + 1, "Session: %s\r\n" % session_id))
                    return
                except (asyncio.IncompleteReadError, ConnectionError, ValueError, OSError):
                    self.c["failed_closed" if answered else "refused_reset"] += 1
                    return
                answered = True
                if code == 503:
                    self.c["refused_503"] += 1
                    return
                if code != 200:
                    self.c["refused_other"] += 1
                    return
                if method == "SETUP":
                    session_id = headers.get("session", "").split(";")[0].strip()
                    if not session_id:
                        self.c["refused_other"] += 1
                        return
            t_play = now()
            setup_ms = int((t_play - t0) * 1000)
            self.c["played"] += 1
            self.c["setup_ms_sum"] += setup_ms
            self.c["setup_ms_max"] = max(self.c["setup_ms_max"], setup_ms)
            media_s = a.rtp_packets * a.rtp_interval_ms / 1000.0 + a.media_grace_s
            try:
                await asyncio.wait_for(asyncio.shield(media.all_in), media_s)
            except asyncio.TimeoutError:
                pass
            received = media.received
            self.c["rtp_received_played"] += received
            cseq += 1
            writer.write(self.request("TEARDOWN", cseq, "Session: %s\r\n" % session_id))
            try:
                code, _ = await asyncio.wait_for(read_response(reader), a.teardown_s)
            except asyncio.TimeoutError:
                self.c["failed_teardown"] += 1
                return
            except (asyncio.IncompleteReadError, ConnectionError, ValueError, OSError):
                self.c["failed_closed"] += 1
                return
            if code != 200:
                self.c["failed_teardown"] += 1
            elif received == 0:
                self.c["no_media"] += 1
            else:
                self.c["completed"] += 1
                self.c["rtp_expected"] += a.rtp_packets
                self.c["rtp_received"] += min(received, a.rtp_packets)
        finally:
            self.open -= 1
            if writer is not None:
                writer.close()
            if media is not None:
                transport.close()

    # ---- statistics
    def stat_line(self):
        """The cumulative counts now; the times advance with the monotonic clock from the
        start, so that a step of the wall clock does not distort the rates taken from them."""
        c = self.c
        refused = c["refused_reset"] + c["refused_503"] + c["refused_other"]
        failed = refused + c["failed_timeout"] + c["failed_teardown"] + c["failed_closed"] + c["no_media"]
        return ";".join([sipp_time(self.start_epoch), sipp_time(self.start_epoch), sipp_time(self.start_epoch + now() - self.start_mono),
                         str(c["started"]), str(c["completed"]), str(failed), str(refused),
                         str(c["failed_timeout"] + c["failed_teardown"]), str(c["shed_locally"]),
                         str(c["refused_503"]), str(c["refused_reset"])])

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
        stop = asyncio.Event()
        stat_file = open(a.stat_file, "w") if a.stat_file else None
        writer_task = None
        if stat_file:
            stat_file.write("StartTime;LastResetTime;CurrentTime;OutgoingCall(C);SuccessfulCall(C);FailedCall(C);"
                            "FailedUnexpectedMessage(C);FailedTimeoutOnRecv(C);ShedLocally(C);Refused503(C);"
                            "RefusedReset(C)\n")
            writer_task = loop.create_task(self.stats_writer(stat_file, stop))
        self.start_epoch = time.time()
        self.start_mono = t_start = now()
        total = int(a.rate * a.seconds)
        tasks = set()
        for n in range(total):
            due = t_start + n / a.rate
            if due - now() > 0:
                await asyncio.sleep(due - now())
            if now() - t_start > a.seconds + 1.0:
                break  # the loop fell behind: a bounded run, not a catch-up burst
            self.c["offered"] += 1
            if self.open >= a.max_open:
                self.c["shed_locally"] += 1
                continue
            self.c["started"] += 1
            t = loop.create_task(self.session(n))
            tasks.add(t)
            t.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.wait(set(tasks), timeout=self.drain_s())
        stop.set()
        if writer_task:
            await writer_task
            stat_file.write(self.stat_line() + "\n")
            stat_file.close()
        out = dict(self.c)
        out["unfinished"] = len(tasks)
        out["rtp_per_session"] = a.rtp_packets
        out["media_loss_pct"] = round(100.0 * (1 - out["rtp_received"] / out["rtp_expected"]), 2) \
            if out["rtp_expected"] else 0.0
        out["setup_ms_mean"] = round(out["setup_ms_sum"] / out["played"], 1) if out["played"] else 0
        print(json.dumps(out), flush=True)

    def drain_s(self):
        """The longest a session can still run after it starts."""
        a = self.args
        return a.setup_s + a.rtp_packets * a.rtp_interval_ms / 1000.0 + a.media_grace_s + a.teardown_s + 1.0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--vip", required=True, help="the service address")
    p.add_argument("--port", type=int, default=8554)
    p.add_argument("--src", required=True, help="local address of the sessions")
    p.add_argument("--rate", type=float, required=True, help="new sessions offered a second")
    p.add_argument("--seconds", type=float, required=True, help="how long sessions are offered")
    p.add_argument("--setup-s", type=float, default=6.0, help="PLAY answered within this of the start (6)")
    p.add_argument("--teardown-s", type=float, default=6.0, help="TEARDOWN answered within this (6)")
    p.add_argument("--rtp-packets", type=int, default=50, help="media packets a session expects (50)")
    p.add_argument("--rtp-interval-ms", type=int, default=40, help="their interval (40)")
    p.add_argument("--media-grace-s", type=float, default=1.0, help="waited beyond the media's duration (1)")
    p.add_argument("--max-open", type=int, default=1500, help="sessions open at once at most (1500)")
    p.add_argument("--stat-file", help="sipp-like cumulative statistics, a line a second")
    a = p.parse_args()
    if (a.rate <= 0 or a.seconds <= 0 or a.rate * a.seconds > 1_000_000 or a.setup_s <= 0 or a.teardown_s <= 0
            or a.rtp_packets < 1 or a.rtp_interval_ms <= 0 or a.media_grace_s < 0 or not 1 <= a.max_open <= 20000):
        p.error("rate, seconds, setup-s, teardown-s, rtp-interval-ms positive (at most 1000000 sessions), "
                "rtp-packets >= 1, media-grace-s >= 0, max-open 1..20000")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # a connection and a media socket per session
    client = Client(a)
    asyncio.run(asyncio.wait_for(client.run(), a.seconds + client.drain_s() + 15))


if __name__ == "__main__":
    sys.exit(main())
