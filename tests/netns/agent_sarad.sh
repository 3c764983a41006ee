#!/usr/bin/env bash
# agent_sarad.sh - node agents wired into sarad, in two network namespaces:
# two sara-agent processes (servers s1, s2) report to sarad's agents.listen;
# killing s2's agent makes `sara-ctl status --json` show s2 failed after
# misses x interval (s1 untouched) and sarad stops giving it new sessions
# (INVITEs queued from the dispatcher namespace all get s1's mark); a forged
# report is rejected and counted; restarting the agent brings s2 back only
# after the hold-down, with slow start: right after recovery it gets few of
# the new calls, once slow_start_s has passed its full share. s2's calls
# are re-pinned to s1 when it fails.
# Usage: tests/netns/agent_sarad.sh [BUILD_DIR]   (default $SARA_BIN_DIR or build; root; PASS/FAIL, exit 0/1, 77 = skipped)
# SARA_VERBOSE=1 also prints sarad's log and the last status document.
set -u

BUILD=${1:-${SARA_BIN_DIR:-build}}
SARAD=$BUILD/sarad AGENT=$BUILD/sara-agent CTL=$BUILD/sara-ctl
P=sara-I-ags
NS_SRV=$P-srv NS_DSP=$P-dsp
S1=198.18.4.11 S2=198.18.4.12 DSP=198.18.4.1 PORT=7410 VIP=198.18.77.20
INTERVAL_MS=200 MISSES=3
HOLD_DOWN_MS=5000   # max(SERVER_HEALTH_HOLD_DOWN_MIN_MS, 2 * misses * interval)
SLOW_START_S=3
PY=/usr/bin/python3

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: needs root (network namespaces, NFQUEUE)"; exit 77
fi
for tool in ip iptables "$PY"; do
	command -v "$tool" >/dev/null 2>&1 || { echo "FAIL: $tool not installed (make deps installs it)"; exit 1; }
done
for bin in "$SARAD" "$AGENT" "$CTL"; do
	[ -x "$bin" ] || { echo "FAIL: $bin not built"; exit 1; }
done
if ! ip netns add "$NS_SRV" 2>/dev/null; then
	echo "SKIP: cannot create network namespaces"; exit 77
fi

WORK=$(mktemp -d /tmp/sara-I-ags.XXXXXX)
SARAD_PID= A1= A2=
cleanup() {
	for pid in $A1 $A2; do kill "$pid" 2>/dev/null; done
	for pid in $A1 $A2; do wait "$pid" 2>/dev/null; done
	[ -n "$SARAD_PID" ] && kill "$SARAD_PID" 2>/dev/null && wait "$SARAD_PID" 2>/dev/null
	for ns in "$NS_SRV" "$NS_DSP"; do ip netns del "$ns" 2>/dev/null; done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

failures=0
check() { # check DESCRIPTION CONDITION...
	local what=$1; shift
	if "$@"; then echo "ok   - $what"; else echo "FAIL - $what"; failures=$((failures + 1)); fi
}
now_ms() { date +%s%3N; }

set -e
ip netns add "$NS_DSP"
ip link add sIa-s type veth peer name sIa-d
ip link set sIa-s netns "$NS_SRV"; ip link set sIa-d netns "$NS_DSP"
for ns in "$NS_SRV" "$NS_DSP"; do
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	ip -n "$ns" link set lo up
done
for a in $S1 $S2; do ip -n "$NS_SRV" addr add $a/24 dev sIa-s; done
ip -n "$NS_SRV" link set sIa-s up
ip -n "$NS_DSP" addr add $DSP/24 dev sIa-d; ip -n "$NS_DSP" link set sIa-d up
# INVITEs sent from the dispatcher namespace itself cross sarad (OUTPUT
# queue); POSTROUTING counts them by the server mark of sarad's verdict.
ip -n "$NS_DSP" route add $VIP/32 via $S1
ID="ip netns exec $NS_DSP"
$ID iptables -t mangle -A OUTPUT -d $VIP -p udp --dport 5060 -j NFQUEUE --queue-num 0
$ID iptables -t mangle -A POSTROUTING -d $VIP -m mark --mark 1
$ID iptables -t mangle -A POSTROUTING -d $VIP -m mark --mark 2
set +e

head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$WORK/cluster.key"; chmod 600 "$WORK/cluster.key"
cat > "$WORK/cluster.cfg" <<EOF
name = "sara-I-ags";
vips = [ "$VIP" ];
ports = { sip = [ 5060 ]; rtsp = [ 8554 ]; };
servers = (
  { id = "s1"; address = "$S1"; mark = 1; table = 101; },
  { id = "s2"; address = "$S2"; mark = 2; table = 102; }
);
queue = { first = 0; count = 1; fail_open = false; };
selection = { algorithm = "round-robin"; slow_start_s = $SLOW_START_S; };
agents = { listen = "$DSP:$PORT"; interval_ms = $INTERVAL_MS; misses = $MISSES; };
# The agents read this host's own load: on a busy CI host one report's
# disk I/O (io 1.0) made admission refuse calls this test counts.
admission = { enabled = false; };
key_file = "$WORK/cluster.key";
control = { socket = "$WORK/sarad.sock"; };
state = { journal = "$WORK/sarad.journal"; };
EOF
cat > "$WORK/forge.py" <<'EOF'
# A well-formed heartbeat of s1 sealed with the wrong key.
import hashlib, hmac, os, socket, struct, sys, time
body = struct.pack(">IHBI", 1, 1, 0, int(time.time()))
m = struct.pack(">IBBHIQQ", 0x53415241, 1, 2, len(body), 1, int(time.time() * 1e6), int(time.time() * 1000)) + body
m += hmac.new(os.urandom(32), m, hashlib.sha512).digest()[:32]
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(m, (sys.argv[1], int(sys.argv[2])))
EOF
cat > "$WORK/invite.py" <<'EOF'
# N INVITEs with SDP, each its own call, from the dispatcher to the VIP.
import socket, sys
src, vip, tag, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, 5060))
for i in range(count):
    sdp = "v=0\r\no=a 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\nm=audio %d RTP/AVP 8\r\n" % (src, src, 7000 + 2 * i)
    msg = ("INVITE sip:bob@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s:5060;branch=z9hG4bK-%s-%d\r\n"
           "Max-Forwards: 70\r\nFrom: <sip:a@%s>;tag=%s%d\r\nTo: <sip:bob@%s>\r\n"
           "Call-ID: sara-I-%s-%d@%s\r\nCSeq: 1 INVITE\r\nContact: <sip:a@%s:5060>\r\n"
           "Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s") % (
           vip, src, tag, i, src, tag, i, vip, tag, i, src, src, len(sdp), sdp)
    s.sendto(msg.encode(), (vip, 5060))
EOF
# marked MARK: packets POSTROUTING saw with that server mark
marked() {
	$ID iptables -t mangle -L POSTROUTING -v -n -x | awk -v m="mark match 0x$1" '$0 ~ m && $0 !~ /!/ {print $1}'
}

# sarad first (no agent yet: both servers unknown, i.e. available).
ip netns exec "$NS_DSP" timeout 90 "$SARAD" -c "$WORK/cluster.cfg" --foreground >"$WORK/sarad.log" 2>&1 &
SARAD_PID=$!
for _ in $(seq 50); do [ -S "$WORK/sarad.sock" ] && break; sleep 0.1; done
check "sarad started and serves its control socket" test -S "$WORK/sarad.sock"

start_agent() { # start_agent ID -> its PID in AGENT_PID
	ip netns exec "$NS_SRV" "$AGENT" -c "$WORK/cluster.cfg" --id "$1" --foreground \
		>>"$WORK/agent-$1.log" 2>&1 &
	AGENT_PID=$!
}
start_agent s1; A1=$AGENT_PID
start_agent s2; A2=$AGENT_PID

status() { ip netns exec "$NS_DSP" "$CTL" -c "$WORK/cluster.cfg" status --json 2>/dev/null; }
# field ID KEY: one server's field from a fresh status document
field() {
	status | "$PY" -c "import json,sys; d=json.load(sys.stdin); print([s for s in d['servers'] if s['id']=='$1'][0]['$2'])" 2>/dev/null
}
# wait_state ID STATE SECONDS
wait_state() {
	for _ in $(seq 1 $(($3 * 20))); do [ "$(field "$1" state)" = "$2" ] && return 0; sleep 0.05; done
	return 1
}

wait_state s1 up 5; wait_state s2 up 5
check "both servers up once their agents report" \
	test "$(field s1 state)" = up -a "$(field s2 state)" = up
sleep 1
check "load reports arrive (s1 load $(field s1 load))" "$PY" -c "import sys; float(sys.argv[1])" "$(field s1 load)"
$ID "$PY" "$WORK/invite.py" $DSP $VIP up 4; sleep 0.3
m1=$(marked 1) m2=$(marked 2)
check "both up: new calls go to both servers (s1 $m1, s2 $m2 INVITEs)" test "${m1:-0}" -ge 1 -a "${m2:-0}" -ge 1

kill "$A2"; wait "$A2" 2>/dev/null; t_kill=$(now_ms); A2=
wait_state s2 failed 5
t_failed=$(now_ms)
fail_ms=$((t_failed - t_kill))
check "s2 failed after its agent was killed (${fail_ms} ms; misses x interval = $((MISSES * INTERVAL_MS)) ms)" \
	test "$(field s2 state)" = failed -a "$fail_ms" -ge $((MISSES * INTERVAL_MS - INTERVAL_MS)) \
	-a "$fail_ms" -le $((MISSES * INTERVAL_MS + 2000))
check "cause: missed heartbeats" test "$(field s2 cause)" = missed
check "s2 weight factor 0 while failed" test "$(field s2 weight_factor)" = 0.0
check "s1 stays up" test "$(field s1 state)" = up
check "sarad logs the failure" grep -q "event=server_failed server=s2 cause=missed " "$WORK/sarad.log"
check "s2's $m2 calls were re-pinned to s1" grep -q "event=server_failed server=s2 cause=missed sessions_moved=$m2 " "$WORK/sarad.log"
$ID "$PY" "$WORK/invite.py" $DSP $VIP down 6; sleep 0.3
d1=$(( $(marked 1) - m1 )) d2=$(( $(marked 2) - m2 ))
check "s2 failed: every new call goes to s1 (s1 $d1, s2 $d2 of 6 INVITEs)" test "$d1" -eq 6 -a "$d2" -eq 0

ip netns exec "$NS_DSP" "$PY" "$WORK/forge.py" $DSP $PORT
sleep 0.3
forged=$(status | "$PY" -c "import json,sys; print(json.load(sys.stdin)['agents']['rejects'].get('wire_forged', 0))")
check "a forged report is rejected and counted (wire_forged $forged)" test "${forged:-0}" -eq 1

start_agent s2; A2=$AGENT_PID
t_restart=$(now_ms)
wait_state s2 up $((HOLD_DOWN_MS / 1000 + 5))
t_up=$(now_ms)
check "s2 recovered once its agent is back ($((t_up - t_restart)) ms after the restart)" test "$(field s2 state)" = up
check "not before the ${HOLD_DOWN_MS} ms hold-down ($((t_up - t_failed)) ms after it was seen failed)" \
	test $((t_up - t_kill)) -ge "$HOLD_DOWN_MS"
check "sarad logs the recovery" grep -q "event=server_recovered server=s2 slow_start_s=[0-9]* msg=\"available again\"" "$WORK/sarad.log"
wf=$(field s2 weight_factor)
m1=$(marked 1) m2=$(marked 2)
$ID "$PY" "$WORK/invite.py" $DSP $VIP back 20; sleep 0.3
d2=$(( $(marked 2) - m2 ))
check "slow start: right after recovery (weight factor $wf) s2 gets few new calls ($d2 of 20)" \
	test "$d2" -le 5
sleep $SLOW_START_S
m2=$(marked 2)
$ID "$PY" "$WORK/invite.py" $DSP $VIP ramped 20; sleep 0.3
d2=$(( $(marked 2) - m2 ))
check "after slow_start_s = $SLOW_START_S s, s2 has its full share again ($d2 of 20; weight factor $(field s2 weight_factor))" \
	test "$d2" -ge 9 -a "$d2" -le 11

STATUS=$(status)
echo "$STATUS" > "$WORK/status.json"
summary=$("$PY" - "$WORK/status.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
a = d["agents"]; h = a["health"]; dm = d["daemon"]
print("received %d heartbeats %d loads %d rejected %d; failures %d recoveries %d; daemon failed_events %d recovered_events %d"
      % (a["received"], a["heartbeats"], a["loads"], a["rejected"], h.get("failures", 0), h.get("recoveries", 0),
         dm.get("server_failed_events", 0), dm.get("server_recovered_events", 0)))
EOF
)
echo "     agents: $summary"
check "exactly one failure and one recovery event reached sarad" \
	grep -q "daemon failed_events 1 recovered_events 1" <<<"$summary"

kill "$SARAD_PID"; wait "$SARAD_PID"; rc=$?; SARAD_PID=
check "sarad exits 0 on SIGTERM (got $rc)" test "$rc" -eq 0
check "final counters include the agents line" grep -q "event=counters when=final group=agents received=" "$WORK/sarad.log"

if [ -n "${SARA_VERBOSE:-}" ] || [ "$failures" -ne 0 ]; then
	echo "--- sarad log"; grep -v "event=server_load" "$WORK/sarad.log"
	echo "--- last status"; cat "$WORK/status.json"
fi
if [ "$failures" -ne 0 ]; then
	echo "FAIL: $failures checks failed"; exit 1
fi
echo "PASS"
exit 0
