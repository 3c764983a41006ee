#!/usr/bin/python3
"""Minimal GStreamer RTSP server for the sara pcap lab (run with the *system* python3).

Serves rtsp://ADDR:PORT/test with two streams, shared between clients:
  stream=0  H.264 constrained-baseline, small (default 160x120@10, ~120 kbit/s), PT 96
  stream=1  PCMU 8 kHz sine, PT 0, 20 ms packets
UDP unicast and TCP interleaved transports are both allowed. --session-timeout N
gives sessions that keep-alive window (sent as "Session: id;timeout=N"; gst's own
60 s goes unsaid). Exits by itself after --lifetime seconds, or on SIGINT/SIGTERM.
"""
import argparse
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--addr", default="198.18.77.20")
    ap.add_argument("--port", type=int, default=8554)
    ap.add_argument("--path", default="/test")
    ap.add_argument("--lifetime", type=int, default=30)
    ap.add_argument("--width", type=int, default=160)
    ap.add_argument("--height", type=int, default=120)
    ap.add_argument("--fps", type=int, default=10)
    ap.add_argument("--kbps", type=int, default=120)
    ap.add_argument("--session-timeout", type=int, default=0)
    args = ap.parse_args()

    Gst.init(None)
    launch = (
        "( videotestsrc is-live=true pattern=ball "
        f"! video/x-raw,width={args.width},height={args.height},framerate={args.fps}/1 "
        f"! x264enc tune=zerolatency speed-preset=ultrafast threads=1 bitrate={args.kbps} key-int-max={args.fps} "
        "! video/x-h264,profile=constrained-baseline "
        "! rtph264pay name=pay0 pt=96 config-interval=-1 aggregate-mode=zero-latency "
        "audiotestsrc is-live=true wave=sine freq=440 volume=0.3 "
        "! audio/x-raw,rate=8000,channels=1 ! mulawenc "
        "! rtppcmupay name=pay1 pt=0 min-ptime=20000000 max-ptime=20000000 )"
    )
    server = GstRtspServer.RTSPServer()
    server.set_address(args.addr)
    server.set_service(str(args.port))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(launch)
    factory.set_shared(True)
    factory.set_protocols(GstRtsp.RTSPLowerTrans.UDP | GstRtsp.RTSPLowerTrans.TCP)
    server.get_mount_points().add_factory(args.path, factory)
    if args.session_timeout:
        def new_session(_client, session):
            session.set_timeout(args.session_timeout)
        server.connect("client-connected", lambda _server, client: client.connect("new-session", new_session))
    if server.attach(None) == 0:
        print("gst-rtsp-server: cannot listen on %s:%d" % (args.addr, args.port), file=sys.stderr)
        return 1

    loop = GLib.MainLoop()
    GLib.timeout_add_seconds(args.lifetime, loop.quit)
    for sig in (signal.SIGINT, signal.SIGTERM):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, loop.quit)
    print("gst-rtsp-server: ready rtsp://%s:%d%s" % (args.addr, args.port, args.path), flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
