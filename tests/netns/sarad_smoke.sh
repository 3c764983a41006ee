#!/usr/bin/env bash
# sarad_smoke.sh - sarad end to end in three network namespaces: a SIP
# INVITE with SDP and its RTP from a client reach the server through
# sarad's marks, and only the first RTP packet crosses to user space.
# sara-ctl finds the call by its Call-ID (its server, why, its flows and
# their packets) and lists the flood's refusals.
# sarad runs as systemd's Type=notify would: a fake NOTIFY_SOCKET (and
# WATCHDOG_USEC) receives READY=1 only once the control socket exists,
# RELOADING=1/READY=1 around each SIGHUP, WATCHDOG=1, STOPPING=1.
# Usage: tests/netns/sarad_smoke.sh [BUILD/sarad]   (root; PASS/FAIL, exit 0/1, 77 = skipped)
# SARA_VERBOSE=1 also prints sarad's log and the status document.
set -u

SARAD=${1:-build/sarad}
CTL=$(dirname "$SARAD")/sara-ctl
P=sara-A-smk
NS_CLI=$P-cli NS_DSP=$P-dsp NS_SRV=$P-srv
VIP=198.18.77.20 CLI=198.18.0.10 SRV=198.18.2.11
RTP_PACKETS=20
PY=/usr/bin/python3

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: needs root (network namespaces, iptables, NFQUEUE)"; exit 77
fi
for tool in ip iptables tcpdump conntrack "$PY"; do
	command -v "$tool" >/dev/null 2>&1 || { echo "FAIL: $tool not installed (make deps installs it)"; exit 1; }
done
if [ ! -x "$SARAD" ] || [ ! -x "$CTL" ]; then
	echo "FAIL: $SARAD or $CTL not built"; exit 1
fi
if ! ip netns add "$NS_CLI" 2>/dev/null; then
	echo "SKIP: cannot create network namespaces"; exit 77
fi

WORK=$(mktemp -d /tmp/sara-A-smoke.XXXXXX)
SARAD_PID= DAEMON_PID= TCPDUMP_PID= NOTIFY_PIDS=
cleanup() {
	for pid in $NOTIFY_PIDS; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
	# sarad itself (child of timeout), then timeout: neither may outlive the test.
	[ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null
	[ -n "$SARAD_PID" ] && kill "$SARAD_PID" 2>/dev/null && wait "$SARAD_PID" 2>/dev/null
	[ -n "$TCPDUMP_PID" ] && kill "$TCPDUMP_PID" 2>/dev/null && wait "$TCPDUMP_PID" 2>/dev/null
	for ns in "$NS_CLI" "$NS_DSP" "$NS_SRV"; do ip netns del "$ns" 2>/dev/null; done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

IF=sA
. "$(dirname "${BASH_SOURCE[0]}")/one_server_lib.sh"

one_server_up

cat > "$WORK/cluster.cfg" <<EOF
name = "sara-A-smoke";
vips = [ "$VIP" ];
ports = { sip = [ 5060 ]; rtsp = [ 8554 ]; };
servers = ( { id = "s1"; address = "$SRV"; mark = 1; table = 101; weight = 1.0; } );
queue = { first = 0; count = 1; fail_open = false; };
timeouts = { signalling_s = 30; media_s = 30; linger_s = 1; };
selection = { algorithm = "round-robin"; };
control = { socket = "$WORK/sarad.sock"; };
state = { journal = "$WORK/sarad.journal"; };
EOF

# notify_listener SOCKET LOG: a service manager's notification socket; each
# line received is logged with "ctl" or "noctl": whether sarad's control
# socket existed when it came.
notify_listener() {
	timeout 60 "$PY" - "$1" "$WORK/sarad.sock" "$2" <<'PYN' &
import os, socket, sys
path, ctl, log = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
with open(log, "w", buffering=1) as out:
    while True:
        msg = s.recv(4096).decode(errors="replace")
        there = "ctl" if os.path.exists(ctl) else "noctl"
        for line in msg.split("\n"):
            out.write("%s %s\n" % (there, line))
PYN
	NOTIFY_PIDS="$NOTIFY_PIDS $!"
	for _ in $(seq 50); do [ -S "$1" ] && return; sleep 0.1; done
}
notify_listener "$WORK/notify.sock" "$WORK/notify.log"
notify_listener "$WORK/notify2.sock" "$WORK/notify2.log"

$IS timeout 50 tcpdump -i sA-s0 --immediate-mode -U -n -s 0 -w "$WORK/server.pcap" 'udp' \
	>"$WORK/tcpdump.log" 2>&1 &
TCPDUMP_PID=$!
NOTIFY_SOCKET=$WORK/notify.sock WATCHDOG_USEC=400000 \
	$ID timeout 55 "$SARAD" -c "$WORK/cluster.cfg" --foreground >"$WORK/sarad.log" 2>&1 &
SARAD_PID=$!
set +e

for _ in $(seq 50); do [ -S "$WORK/sarad.sock" ] && break; sleep 0.1; done
check "sarad started and serves its control socket" test -S "$WORK/sarad.sock"
DAEMON_PID=$(pgrep -P "$SARAD_PID" | head -1)
for _ in $(seq 30); do grep -q READY=1 "$WORK/notify.log" && break; sleep 0.1; done
check "READY=1 sent once the control socket existed: $(grep -m1 READY=1 "$WORK/notify.log")" \
	grep -qx "ctl READY=1" "$WORK/notify.log"
check "and never before it" bash -c "! grep -q '^noctl READY=1' '$WORK/notify.log'"
check "STATUS= says what it serves: $(grep -m1 STATUS= "$WORK/notify.log")" \
	grep -q "STATUS=cluster sara-A-smoke: serving queues 0..0" "$WORK/notify.log"

# A second sarad cannot take queue 0: a clear message and exit 1.
sed "s|$WORK/sarad.sock|$WORK/second.sock|" "$WORK/cluster.cfg" >"$WORK/second.cfg"
NOTIFY_SOCKET=$WORK/notify2.sock $ID timeout 10 "$SARAD" -c "$WORK/second.cfg" --foreground \
	>"$WORK/second.log" 2>&1
rc=$?
check "a second sarad on the same queue exits 1 (got $rc)" test "$rc" -eq 1
check "and never says READY=1 (systemd sees the start fail)" bash -c "! grep -q READY=1 '$WORK/notify2.log'"
check "and says the queue is owned: $(grep -o 'queue 0: bind failed.*' "$WORK/second.log" | head -1)" \
	grep -q "queue 0: bind failed" "$WORK/second.log"

# The call: INVITE with SDP (client RTP on 7000), then RTP to the VIP.
$IC "$PY" - "$CLI" "$VIP" "$RTP_PACKETS" <<'EOF'
import socket, sys, time
cli, vip, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
sdp = ("v=0\r\no=alice 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
       "m=audio 7000 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n") % (cli, cli)
invite = ("INVITE sip:bob@%s SIP/2.0\r\n"
          "Via: SIP/2.0/UDP %s:5060;branch=z9hG4bK-sara-A-1\r\n"
          "Max-Forwards: 70\r\nFrom: <sip:alice@%s>;tag=a1\r\nTo: <sip:bob@%s>\r\n"
          "Call-ID: sara-A-smoke-1@%s\r\nCSeq: 1 INVITE\r\nContact: <sip:alice@%s:5060>\r\n"
          "Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s") % (
          vip, cli, cli, vip, cli, cli, len(sdp), sdp)
sip = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sip.bind((cli, 5060)); sip.sendto(invite.encode(), (vip, 5060))
time.sleep(0.3)
rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
rtp.bind((cli, 7000))
for seq in range(count):
    header = bytes([0x80, 8, seq >> 8, seq & 0xff]) + (seq * 160).to_bytes(4, "big") + b"\x12\x34\x56\x78"
    rtp.sendto(header + b"\xd5" * 160, (vip, 6000))
    time.sleep(0.02)
EOF
sleep 0.5

STATUS=$(status)
echo "$STATUS" >"$WORK/status.json"
check "status is JSON" test -n "$(jget "$STATUS" "d['cluster']")"
queued=$(jget "$STATUS" "d['queues'][0]['received']")
engine_packets=$(jget "$STATUS" "d['engine']['packets']")
sessions=$(jget "$STATUS" "d['engine']['sessions_created']")
connmarks=$(jget "$STATUS" "d['verdicts']['connmarks_set']")
accepted=$(jget "$STATUS" "sum(d['verdicts']['accept'].values())")
echo "     status: queue 0 received $queued, engine packets $engine_packets, sessions $sessions," \
	"accepted $accepted, connmarks set $connmarks"
check "one session was created" test "${sessions:-0}" -eq 1
check "INVITE + first RTP packet(s) crossed, not all $RTP_PACKETS (queue received ${queued:-?})" \
	test "${queued:-0}" -ge 2 -a "${queued:-99}" -le 4
check "a connmark was set for the media flow" test "${connmarks:-0}" -ge 1

kill "$TCPDUMP_PID" 2>/dev/null; wait "$TCPDUMP_PID" 2>/dev/null; TCPDUMP_PID=
sip_at_server=$(tcpdump -r "$WORK/server.pcap" -n 'udp dst port 5060' 2>/dev/null | wc -l)
rtp_at_server=$(tcpdump -r "$WORK/server.pcap" -n 'udp src port 7000' 2>/dev/null | wc -l)
echo "     server saw: $sip_at_server SIP, $rtp_at_server RTP packets"
check "the INVITE reached the server (only marked packets have a route)" test "$sip_at_server" -eq 1
check "all $RTP_PACKETS RTP packets reached the server" test "$rtp_at_server" -eq "$RTP_PACKETS"

ct_line=$($ID conntrack -L -p udp --orig-src $CLI --sport 7000 2>/dev/null | head -1)
echo "     conntrack: $ct_line"
check "the RTP flow's conntrack entry carries mark 1" grep -q "mark=1" <<<"$ct_line"
returned=$($ID iptables -t mangle -L SARA -v -n -x | awk '/RETURN/ && /mark match ! 0x0/ {print $1}')
echo "     iptables: $returned packets took the kernel fast path (RETURN on the restored mark)"
check "later RTP packets stayed in the kernel" test "${returned:-0}" -ge $((RTP_PACKETS - 3))

# The operator's question: where is this call? sara-ctl sessions --key.
CALL=sara-A-smoke-1@$CLI
CALL_JSON=$($ID "$CTL" -c "$WORK/cluster.cfg" sessions --key "$CALL" --json)
CALL_TEXT=$($ID "$CTL" -c "$WORK/cluster.cfg" sessions --key "$CALL")
echo "$CALL_TEXT" | sed 's/^/     /'
flows_from() { # flows_from SRC DST EXPR: EXPR (on f) of each of the call's flows from SRC to DST
	jget "$CALL_JSON" "[$3 for f in d['sessions'][0]['flow_list'] if f['src'] == '$1' and f['dst'] == '$2']"
}
check "sessions --key finds the call on s1, client $CLI" \
	test "$(jget "$CALL_JSON" "(d['matched'], d['sessions'][0]['server'], d['sessions'][0]['client'])")" = "(1, 's1', '$CLI')"
check "and says why: selected by round-robin, weight 1" \
	test "$(jget "$CALL_JSON" "(d['sessions'][0]['pick']['how'], d['sessions'][0]['pick']['algorithm'], d['sessions'][0]['pick']['weight'])")" = "('selected', 'round-robin', 1.0)"
check "its RTP flow: secondary, to $VIP:6000 on s1, the 1..3 packets sarad saw of $RTP_PACKETS" \
	test "$(flows_from $CLI:7000 $VIP:6000 "(f['kind'], f['server'], 1 <= f['packets'] <= 3)")" = "[('secondary', 's1', True)]"
check "its signalling flow: the INVITE, shared, on s1" \
	test "$(flows_from $CLI:5060 $VIP:5060 "(f['kind'], f['packets'], f['shared'], f['server'])")" = "[('signalling', 1, True, 's1')]"
check "the text view names the server and the RTP flow" \
	bash -c 'grep -q "^server:   s1" <<<"$1" && grep -Eq "^secondary +udp +$2:7000 +$3:6000 +s1 " <<<"$1"' _ "$CALL_TEXT" "$CLI" "$VIP"
check "--json-lines: the session on one line" \
	test "$($ID "$CTL" -c "$WORK/cluster.cfg" sessions --key "$CALL" --json-lines | wc -l)" -eq 1
$ID "$CTL" -c "$WORK/cluster.cfg" sessions --key nobody@nowhere >/dev/null 2>&1
check "an unknown key: exit status 1" test $? -eq 1
check "sessions --client $CLI lists the call" \
	test "$(jget "$($ID "$CTL" -c "$WORK/cluster.cfg" sessions --client $CLI --json)" "[s['key'] for s in d['sessions']]")" = "['$CALL']"

# BYE ends the session after the linger: sarad clears the RTP flow's
# connmark, so its next packet crosses to sarad again (and is re-pinned).
$IC "$PY" - "$CLI" "$VIP" <<'EOF'
import socket, sys
cli, vip = sys.argv[1], sys.argv[2]
bye = ("BYE sip:bob@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s:5060;branch=z9hG4bK-sara-A-2\r\n"
       "Max-Forwards: 70\r\nFrom: <sip:alice@%s>;tag=a1\r\nTo: <sip:bob@%s>;tag=b1\r\n"
       "Call-ID: sara-A-smoke-1@%s\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n") % (vip, cli, cli, vip, cli)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((cli, 5060)); s.sendto(bye.encode(), (vip, 5060))
EOF
sleep 2.5
ct_line=$($ID conntrack -L -p udp --orig-src $CLI --sport 7000 2>/dev/null | head -1)
echo "     conntrack after BYE: $ct_line"
check "after BYE + linger the RTP flow's connmark is cleared" grep -q "mark=0" <<<"$ct_line"
before=$(jget "$(status)" "d['queues'][0]['received']")
$IC "$PY" -c "
import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('$CLI', 7000))
s.sendto(bytes([0x80, 8, 0, 99]) + bytes(8) + b'\xd5' * 160, ('$VIP', 6000))"
sleep 0.3
STATUS=$(status)
after=$(jget "$STATUS" "d['queues'][0]['received']")
cleared=$(jget "$STATUS" "d['daemon'].get('connmarks_cleared', 0)")
echo "     queue received $before -> $after; daemon connmarks_cleared $cleared"
check "the next RTP packet crossed to sarad again" test "${after:-0}" -eq $((${before:-0} + 1))

# A bounded flood of garbage to the SIP port: every packet is answered,
# sarad survives, and the log is rate-limited.
FLOOD=300
$IC "$PY" - "$CLI" "$VIP" "$FLOOD" <<'EOF'
import os, socket, sys
cli, vip, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((cli, 5062))
for i in range(count):
    junk = b"INVITE \x00\xff garbage" if i % 2 else os.urandom(1 + i % 200)
    s.sendto(junk, (vip, 5060))
EOF
sleep 0.5
STATUS=$(status)
flood_after=$(jget "$STATUS" "d['queues'][0]['verdicts']")
alive=$(jget "$STATUS" "d['cluster']")
echo "     after $FLOOD garbage datagrams: queue verdicts ${flood_after:-?} (was $after)"
check "sarad answered every flood packet" test "${flood_after:-0}" -ge $((${after:-0} + FLOOD))
check "sarad is alive after the flood" test -n "$alive"
REFUSED=$($ID "$CTL" -c "$WORK/cluster.cfg" refused --since 10 --json)
echo "     refused: $(jget "$REFUSED" "d['counts']") ($(jget "$REFUSED" "d['listed']") listed)"
check "sara-ctl refused counts the flood as malformed, from $CLI:5062" \
	test "$(jget "$REFUSED" "(d['counts']['malformed'] >= $FLOOD // 2, {r['client'] for r in d['refusals']})")" = "(True, {'$CLI:5062'})"

# SIGHUP reloads the config file's live keys (a weight, admission, a
# timeout); a change only a restart can apply, or a broken file, is refused
# and the running configuration stays.
cp "$WORK/cluster.cfg" "$WORK/cluster.orig"
sed -e 's/weight = 1.0;/weight = 2.5;/' -e 's/signalling_s = 30;/signalling_s = 40;/' \
	"$WORK/cluster.orig" >"$WORK/cluster.cfg"
echo 'admission = { enabled = true; t1 = 0.7; t2 = 0.8; t3 = 0.9; c = 0.95; };' >>"$WORK/cluster.cfg"
[ -n "$DAEMON_PID" ] && kill -HUP "$DAEMON_PID"; sleep 0.3
check "reload logged: $(grep -o 'event=reload result=applied.*' "$WORK/sarad.log" | head -1)" \
	grep -q "event=reload result=applied config=$WORK/cluster.cfg " "$WORK/sarad.log"
STATUS=$(status)
check "the reloaded admission is on with T1 0.7" \
	test "$(jget "$STATUS" "d['admission']['enabled'] and d['admission']['configured']['t1']")" = "0.7"
check "the reloaded weight is 2.5" test "$(jget "$(control servers)" "d['servers'][0]['weight']")" = "2.5"
sed -e 's/first = 0;/first = 1;/' "$WORK/cluster.orig" >"$WORK/cluster.cfg"
[ -n "$DAEMON_PID" ] && kill -HUP "$DAEMON_PID"; sleep 0.3
check "a queue change is refused: $(grep -o 'event=reload result=refused .*queue.first.*' "$WORK/sarad.log" | head -1)" \
	grep -q "event=reload result=refused error=\"$WORK/cluster.cfg: queue.first/count changed: restart to apply\" msg=\"keeping the running configuration\"" "$WORK/sarad.log"
printf 'name = "broken"\nvips = [ ;\n' >"$WORK/cluster.cfg"
[ -n "$DAEMON_PID" ] && kill -HUP "$DAEMON_PID"; sleep 0.3
check "a broken file is refused with file:line: $(grep -o "event=reload result=refused error=\"$WORK/cluster.cfg:[0-9]*:.*" "$WORK/sarad.log" | head -1)" \
	grep -q "event=reload result=refused error=\"$WORK/cluster.cfg:[0-9]*: .* msg=\"keeping the running configuration\"" "$WORK/sarad.log"
STATUS=$(status)
check "sarad runs on with the last good configuration" \
	test "$(jget "$STATUS" "d['admission']['configured']['t1']")" = "0.7"
reloads=$(grep -c "RELOADING=1" "$WORK/notify.log")
readies=$(grep -c "READY=1" "$WORK/notify.log")
check "each SIGHUP said RELOADING=1 then READY=1 ($reloads reloads, $readies READY=1)" \
	test "$reloads" -eq 3 -a "$readies" -eq 4 -a "$(grep -E '^ctl (RELOADING|READY)=1' "$WORK/notify.log" | tail -1)" = "ctl READY=1"
cp "$WORK/cluster.orig" "$WORK/cluster.cfg"

# SIGUSR1 logs the counters; SIGTERM stops cleanly with the final ones.
# (SARAD_PID is timeout(1), which forwards TERM but not USR1: signal its child.)
[ -n "$DAEMON_PID" ] && kill -USR1 "$DAEMON_PID"; sleep 0.3
check "SIGUSR1 logs the counters" grep -q "event=counters when=SIGUSR1 uptime_s=" "$WORK/sarad.log"
kill -TERM "$SARAD_PID"; wait "$SARAD_PID"; rc=$?; SARAD_PID= DAEMON_PID=
check "sarad stops on SIGTERM with status 0 (got $rc)" test "$rc" -eq 0
kicks=$(grep -c "WATCHDOG=1" "$WORK/notify.log")
check "WATCHDOG=1 came from the loop every 200 ms ($kicks in the run)" test "$kicks" -ge 20
check "STOPPING=1 on the way out" grep -q "STOPPING=1" "$WORK/notify.log"
check "and logs its final counters" grep -q "event=counters when=final group=engine packets=" "$WORK/sarad.log"
malformed_lines=$(grep -c "event=refused reason=malformed flow=\"udp " "$WORK/sarad.log")
suppressed=$(grep -o "event=suppressed kind=refused_malformed count=[0-9]*" "$WORK/sarad.log" | head -1)
echo "     log: $malformed_lines malformed-signalling lines, then \"${suppressed:-no summary}\""
check "the flood's log lines were rate-limited" test "$malformed_lines" -le 5 -a -n "$suppressed"

[ -n "${SARA_VERBOSE:-}" ] && { echo "--- sarad.log"; cat "$WORK/sarad.log"; echo "--- status"; cat "$WORK/status.json"; }
if [ "$failures" -ne 0 ]; then
	echo "--- sarad.log"; cat "$WORK/sarad.log"
	echo "--- status"; cat "$WORK/status.json"
	echo "FAIL: $failures checks failed"; exit 1
fi
echo "PASS"
exit 0
