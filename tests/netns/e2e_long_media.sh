#!/usr/bin/env bash
# e2e_long_media.sh - a call whose media stays in the kernel (connmark fast
# path) for three times media_s, with no signalling after the INVITE: sarad
# finds its idle-looking RTP and RTCP flows in its live set (one conntrack
# scan at start, kept current by conntrack events: no periodic scan) and
# keeps them and the session; no connmark is cleared and no later media
# packet crosses to user space. Once the connections leave conntrack, their
# DESTROY events take them out of the set and the flows are removed, with
# still no scan after the first.
# Usage: tests/netns/e2e_long_media.sh [BUILD/sarad]   (root; PASS/FAIL, exit 0/1, 77 = skipped)
set -u

SARAD=${1:-build/sarad}
P=sara-A-lng
NS_CLI=$P-cli NS_DSP=$P-dsp NS_SRV=$P-srv
VIP=198.18.77.20 CLI=198.18.0.10 SRV=198.18.2.11
MEDIA_S=10 SECONDS_OF_MEDIA=33
PY=/usr/bin/python3

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: needs root (network namespaces, iptables, NFQUEUE)"; exit 77
fi
for tool in ip iptables tcpdump conntrack "$PY"; do
	command -v "$tool" >/dev/null 2>&1 || { echo "FAIL: $tool not installed (make deps installs it)"; exit 1; }
done
if [ ! -x "$SARAD" ]; then
	echo "FAIL: $SARAD not built"; exit 1
fi
if ! ip netns add "$NS_CLI" 2>/dev/null; then
	echo "SKIP: cannot create network namespaces"; exit 77
fi

WORK=$(mktemp -d /tmp/sara-A-long.XXXXXX)
SARAD_PID= TCPDUMP_PID=
cleanup() {
	[ -n "$SARAD_PID" ] && kill "$SARAD_PID" 2>/dev/null && wait "$SARAD_PID" 2>/dev/null
	[ -n "$TCPDUMP_PID" ] && kill "$TCPDUMP_PID" 2>/dev/null && wait "$TCPDUMP_PID" 2>/dev/null
	for ns in "$NS_CLI" "$NS_DSP" "$NS_SRV"; do ip netns del "$ns" 2>/dev/null; done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

IF=sL
. "$(dirname "${BASH_SOURCE[0]}")/one_server_lib.sh"

one_server_up

cat > "$WORK/cluster.cfg" <<EOF
name = "sara-A-long";
vips = [ "$VIP" ];
ports = { sip = [ 5060 ]; rtsp = [ 8554 ]; };
servers = ( { id = "s1"; address = "$SRV"; mark = 1; table = 101; weight = 1.0; } );
queue = { first = 0; count = 1; fail_open = false; };
timeouts = { signalling_s = 10; media_s = $MEDIA_S; linger_s = 1; };
selection = { algorithm = "round-robin"; };
control = { socket = "$WORK/sarad.sock"; };
state = { journal = "$WORK/sarad.journal"; };
EOF

$IS timeout $((SECONDS_OF_MEDIA + 20)) tcpdump -i sL-s0 --immediate-mode -U -n -s 0 -w "$WORK/server.pcap" 'udp' \
	>"$WORK/tcpdump.log" 2>&1 &
TCPDUMP_PID=$!
$ID timeout $((SECONDS_OF_MEDIA + 3 * MEDIA_S + 25)) "$SARAD" -c "$WORK/cluster.cfg" --foreground >"$WORK/sarad.log" 2>&1 &
SARAD_PID=$!
set +e

for _ in $(seq 50); do [ -S "$WORK/sarad.sock" ] && break; sleep 0.1; done
check "sarad started and serves its control socket" test -S "$WORK/sarad.sock"

# The call: one INVITE with SDP (RTP 7000, RTCP 7001), then only media:
# RTP at 50 packets/s and an RTCP report a second, bounded by count.
$IC "$PY" - "$CLI" "$VIP" "$SECONDS_OF_MEDIA" <<'PYX'
import socket, sys, time
cli, vip, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3])
sdp = ("v=0\r\no=alice 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
       "m=audio 7000 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n") % (cli, cli)
invite = ("INVITE sip:bob@%s SIP/2.0\r\n"
          "Via: SIP/2.0/UDP %s:5060;branch=z9hG4bK-sara-long-1\r\n"
          "Max-Forwards: 70\r\nFrom: <sip:alice@%s>;tag=a1\r\nTo: <sip:bob@%s>\r\n"
          "Call-ID: sara-long-1@%s\r\nCSeq: 1 INVITE\r\nContact: <sip:alice@%s:5060>\r\n"
          "Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s") % (
          vip, cli, cli, vip, cli, cli, len(sdp), sdp)
sip = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sip.bind((cli, 5060)); sip.sendto(invite.encode(), (vip, 5060))
time.sleep(0.3)
rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); rtp.bind((cli, 7000))
rtcp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); rtcp.bind((cli, 7001))
start = time.monotonic()
for seq in range(seconds * 50):
    header = bytes([0x80, 8, (seq >> 8) & 0xff, seq & 0xff]) + (seq * 160).to_bytes(4, "big") + b"\x12\x34\x56\x78"
    rtp.sendto(header + b"\xd5" * 160, (vip, 6000))
    if seq % 50 == 0:
        rtcp.sendto(bytes([0x80, 200, 0, 6]) + b"\x12\x34\x56\x78" + bytes(20), (vip, 6001))
    delay = start + (seq + 1) * 0.02 - time.monotonic()
    if delay > 0:
        time.sleep(delay)
PYX
sleep 0.5
STATUS=$(status)
echo "$STATUS" >"$WORK/status.json"
queued=$(jget "$STATUS" "d['queues'][0]['received']")
sessions=$(jget "$STATUS" "d['engine']['sessions_in_use']")
in_use=$(jget "$STATUS" "d['engine']['flows_in_use']")
kept=$(jget "$STATUS" "d['counters'].get('flows_kept_by_kernel', 0)")
cleared=$(jget "$STATUS" "d['daemon'].get('connmarks_cleared', 0)")
echo "     after ${SECONDS_OF_MEDIA} s of media: queue received $queued, sessions in use $sessions," \
	"flows kept by the kernel $kept, flows in use $in_use, connmarks cleared $cleared"
queries=$(jget "$STATUS" "d['conntrack']['queries']")
scans=$(jget "$STATUS" "d['daemon'].get('conntrack_scans', 0)")
from_scan=$(jget "$STATUS" "d['daemon'].get('conntrack_scan_answers', 0)")
events=$(jget "$STATUS" "d['daemon'].get('conntrack_events', 0)")
echo "     conntrack: $scans scans, $from_scan answers from the live set, $queries single queries, $events events"
check "one conntrack scan, at start, and none every media_s / 2 ($scans)" test "${scans:-0}" -eq 1
check "the call's conntrack entries arrived as events ($events)" test "${events:-0}" -ge 2
check "the idle-looking media flows were answered from the live set ($from_scan)" \
	test "${from_scan:-0}" -ge 4
check "and every answer kept them (flows_kept_by_kernel $kept)" \
	test "${kept:-0}" -eq $((${from_scan:-0} + ${queries:-0}))
check "the session is still up after 3 x media_s without signalling" test "${sessions:-0}" -eq 1
# The signalling flow and the two predictions expire; RTP and RTCP stay.
check "the RTP and RTCP flows are still in the table" test "${in_use:-0}" -eq 2
check "no connmark was cleared" test "${cleared:-1}" -eq 0
check "only the INVITE and the first media packets crossed to sarad (${queued:-?})" \
	test "${queued:-0}" -ge 3 -a "${queued:-99}" -le 6

kill "$TCPDUMP_PID" 2>/dev/null; wait "$TCPDUMP_PID" 2>/dev/null; TCPDUMP_PID=
rtp_at_server=$(tcpdump -r "$WORK/server.pcap" -n 'udp src port 7000' 2>/dev/null | wc -l)
rtcp_at_server=$(tcpdump -r "$WORK/server.pcap" -n 'udp src port 7001' 2>/dev/null | wc -l)
echo "     server saw: $rtp_at_server RTP, $rtcp_at_server RTCP packets"
check "every RTP packet reached the server" test "$rtp_at_server" -eq $((SECONDS_OF_MEDIA * 50))
check "every RTCP packet reached the server" test "$rtcp_at_server" -eq "$SECONDS_OF_MEDIA"

# The call's connections leave conntrack (as when its media stops and the
# entries time out): the next scan lacks them, so the flows go inactive and
# are removed at twice media_s after their last refresh.
$ID conntrack -D -p udp --orig-src $CLI --orig-dst $VIP >/dev/null 2>&1
gone=
for _ in $(seq $((MEDIA_S * 30))); do
	in_use=$(jget "$(status)" "d['engine']['flows_in_use']")
	[ "${in_use:-1}" -eq 0 ] && { gone=1; break; }
	sleep 0.1
done
STATUS=$(status)
echo "$STATUS" >"$WORK/status.json"
echo "     after the conntrack entries went: flows in use ${in_use:-?}," \
	"flows expired $(jget "$STATUS" "d['engine']['flows_expired']")"
check "their DESTROY events ended them: RTP and RTCP flows removed within 3 x media_s" test -n "$gone"
scans=$(jget "$STATUS" "d['daemon'].get('conntrack_scans', 0)")
lost=$(jget "$STATUS" "d['daemon'].get('conntrack_events_lost', 0)")
check "by events alone: still one scan ($scans), no event lost ($lost)" test "${scans:-0}" -eq 1 -a "${lost:-1}" -eq 0

kill -TERM "$SARAD_PID"; wait "$SARAD_PID"; rc=$?; SARAD_PID=
check "sarad stops on SIGTERM with status 0 (got $rc)" test "$rc" -eq 0
if [ "$failures" -ne 0 ]; then
	echo "--- sarad.log"; tail -30 "$WORK/sarad.log"
	echo "--- status"; cat "$WORK/status.json"
	echo "FAIL: $failures checks failed"; exit 1
fi
echo "PASS"
exit 0
