#!/usr/bin/env bash
# agent_smoke.sh - sara-agent end to end in two network namespaces: agents
# on a server namespace (SIP and RTSP probes against small responders) send
# sealed heartbeats and load reports to `sara-agent --decode` in a
# dispatcher namespace, which feeds server_health and prints its events:
# never-heard server failed, app down when the responder stops, recovery
# only after the hold-down, drain / undrain by signal, planned failure,
# forged datagrams rejected.
# Usage: tests/netns/agent_smoke.sh [BUILD/sara-agent]   (root; PASS/FAIL, exit 0/1, 77 = skipped)
set -u

AGENT_BIN=${1:-build/sara-agent}
P=sara-H-ags
NS_SRV=$P-srv NS_DSP=$P-dsp
S1=198.18.3.11 S2=198.18.3.12 S3=198.18.3.13 DSP=198.18.3.1 PORT=7400
PY=/usr/bin/python3

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: needs root (network namespaces)"; exit 77
fi
for tool in ip "$PY"; do
	command -v "$tool" >/dev/null 2>&1 || { echo "FAIL: $tool not installed (make deps installs it)"; exit 1; }
done
if [ ! -x "$AGENT_BIN" ]; then
	echo "FAIL: $AGENT_BIN not built"; exit 1
fi
if ! ip netns add "$NS_SRV" 2>/dev/null; then
	echo "SKIP: cannot create network namespaces"; exit 77
fi

WORK=$(mktemp -d /tmp/sara-H-ags.XXXXXX)
PIDS=()
cleanup() {
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
	for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
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
# wait_for FILE PATTERN SECONDS
wait_for() {
	for _ in $(seq 1 $(($3 * 10))); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
	return 1
}
# wait_count FILE PATTERN N SECONDS: until PATTERN matches at least N lines
wait_count() {
	for _ in $(seq 1 $(($4 * 10))); do [ "$(grep -c "$2" "$1" 2>/dev/null)" -ge "$3" ] && return 0; sleep 0.1; done
	return 1
}
# Milliseconds since the epoch (for ordering checks).
now_ms() { date +%s%3N; }

set -e
ip netns add "$NS_DSP"
ip link add sHa-s type veth peer name sHa-d
ip link set sHa-s netns "$NS_SRV"; ip link set sHa-d netns "$NS_DSP"
for ns in "$NS_SRV" "$NS_DSP"; do
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	ip -n "$ns" link set lo up
done
for a in $S1 $S2 $S3; do ip -n "$NS_SRV" addr add $a/24 dev sHa-s; done
ip -n "$NS_SRV" link set sHa-s up
ip -n "$NS_DSP" addr add $DSP/24 dev sHa-d; ip -n "$NS_DSP" link set sHa-d up
set +e

KEY_HEX=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '%s\n' "$KEY_HEX" > "$WORK/cluster.key"; chmod 600 "$WORK/cluster.key"
cat > "$WORK/cluster.cfg" <<EOF
name = "sara-H-ags";
vips = [ "198.18.77.20" ];
ports = { sip = [ 5060 ]; rtsp = [ 8554 ]; };
servers = (
  { id = "s1"; address = "$S1"; mark = 1; table = 101; },
  { id = "s2"; address = "$S2"; mark = 2; table = 102; },
  { id = "s3"; address = "$S3"; mark = 3; table = 103; }
);
agents = { listen = "$DSP:$PORT"; interval_ms = 200; misses = 3; };
key_file = "$WORK/cluster.key";
EOF

# Minimal SIP (UDP) and RTSP (TCP) servers: any request gets a 200 OK.
cat > "$WORK/sip.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 5060))
while True:
    data, peer = s.recvfrom(4096)
    call = [l for l in data.split(b"\r\n") if l.lower().startswith(b"call-id:")]
    s.sendto(b"SIP/2.0 200 OK\r\n" + (call[0] + b"\r\n" if call else b"") + b"Content-Length: 0\r\n\r\n", peer)
EOF
cat > "$WORK/rtsp.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 8554)); s.listen(16)
while True:
    c, _ = s.accept()
    c.settimeout(2)
    try:
        if b"OPTIONS" in c.recv(4096):
            c.sendall(b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nPublic: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN\r\n\r\n")
    except OSError:
        pass
    c.close()
EOF
cat > "$WORK/forge.py" <<'EOF'
# A well-formed heartbeat sealed with the wrong key.
import hashlib, hmac, os, socket, struct, sys, time
body = struct.pack(">IHBI", 1, 1, 0, int(time.time()))
m = struct.pack(">IBBHIQQ", 0x53415241, 1, 2, len(body), 1, int(time.time() * 1e6), int(time.time() * 1000)) + body
m += hmac.new(os.urandom(32), m, hashlib.sha512).digest()[:32]
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(m, (sys.argv[1], int(sys.argv[2])))
EOF

check "sara-agent --check-config" \
	bash -c "'$AGENT_BIN' -c '$WORK/cluster.cfg' --id s1 --probe sip --check-config | grep -Eq 'ok \(server s1, sender [0-9]+, reporting to $DSP:$PORT every 200 ms, probe sip\)'"
check "an unknown --id is refused (exit 2)" \
	bash -c "'$AGENT_BIN' -c '$WORK/cluster.cfg' --id nope --check-config 2>/dev/null; test \$? -eq 2"
ip netns exec $NS_SRV "$AGENT_BIN" -c "$WORK/cluster.cfg" --id s1 --once --probe cmd:false --probe-failures 1 \
	> "$WORK/once.log" 2>&1
check "--once with a failing command probe reports app_down and the load read" \
	grep -Eq 'flag app_down .* probe failed; load cpu [0-9.]+ memory [0-9.]+ network [0-9.]+ io [0-9.]+ backlog [0-9.]+$' "$WORK/once.log"
cat "$WORK/once.log"

ip netns exec "$NS_SRV" $PY "$WORK/sip.py" $S1 & SIP_PID=$!
PIDS+=($SIP_PID)
ip netns exec "$NS_SRV" $PY "$WORK/rtsp.py" $S2 & RTSP_PID=$!
PIDS+=($RTSP_PID)
sleep 0.5
# s1's agent runs before the dispatcher side starts listening; s2's starts late.
ip netns exec "$NS_SRV" "$AGENT_BIN" -c "$WORK/cluster.cfg" --id s1 --probe sip --drain-in 2 --foreground \
	2> "$WORK/agent1.log" & A1=$!
PIDS+=($A1)
sleep 0.5
ip netns exec "$NS_DSP" "$AGENT_BIN" -c "$WORK/cluster.cfg" --decode > "$WORK/decode.log" 2>&1 & DEC_PID=$!
PIDS+=($DEC_PID)
wait_for "$WORK/decode.log" "event failed server s2" 5
t_s2=$(now_ms)
ip netns exec "$NS_SRV" "$AGENT_BIN" -c "$WORK/cluster.cfg" --id s2 --probe rtsp --foreground \
	2> "$WORK/agent2.log" & A2=$!
PIDS+=($A2)
wait_for "$WORK/decode.log" "event recovered server s2" 5
t_s2_up=$(now_ms)

check "s1 heartbeats arrive, flag up (SIP probe answered)" grep -q "^heartbeat sender [0-9]* server s1 seq [0-9]* flag up " "$WORK/decode.log"
check "s2 heartbeats arrive, flag up (RTSP probe answered)" grep -q "^heartbeat sender [0-9]* server s2 seq [0-9]* flag up " "$WORK/decode.log"
check "load reports carry five components and a combined value" \
	grep -Eq "^load sender [0-9]+ server s1 cpu [0-9.]+ memory [0-9.]+ network [0-9.]+ io [0-9.]+ backlog [0-9.]+ combined [0-9.]+$" "$WORK/decode.log"
check "s3 (no agent) failed after misses x interval" grep -q "^event failed server s3 cause missed" "$WORK/decode.log"
check "s1 (agent already running) never failed" bash -c "! grep -q '^event failed server s1' '$WORK/decode.log'"
check "s2 (agent started late) joined after K beats, without the 5 s hold-down ($((t_s2_up - t_s2)) ms)" \
	bash -c "grep -q '^event recovered server s2' '$WORK/decode.log' && test $((t_s2_up - t_s2)) -lt 4000"

ip netns exec "$NS_DSP" $PY "$WORK/forge.py" $DSP $PORT
wait_for "$WORK/decode.log" "rejected wire_forged" 3
check "a datagram sealed with another key is rejected as forged" grep -q "^rejected wire_forged" "$WORK/decode.log"

# The SIP server stops answering: app down after 2 failed probes.
kill $SIP_PID; wait $SIP_PID 2>/dev/null
t_down=$(now_ms)
wait_for "$WORK/decode.log" "event failed server s1 cause app_down" 5
check "s1 app down when its SIP server stops" grep -q "^event failed server s1 cause app_down" "$WORK/decode.log"
check "heartbeats say app_down" grep -q "^heartbeat sender [0-9]* server s1 seq [0-9]* flag app_down" "$WORK/decode.log"
# It answers again: re-admitted only after K=3 beats and the 5 s hold-down.
ip netns exec "$NS_SRV" $PY "$WORK/sip.py" $S1 & SIP_PID=$!
PIDS+=($SIP_PID)
wait_for "$WORK/decode.log" "event recovered server s1" 12
t_up=$(now_ms)
check "s1 recovered once its SIP server answers again" grep -q "^event recovered server s1" "$WORK/decode.log"
check "not before the 5 s hold-down ($((t_up - t_down)) ms after the stop)" test $((t_up - t_down)) -ge 5000

# Drain and undrain by signal, then a drain that reaches its planned time.
kill -USR1 $A1
wait_for "$WORK/decode.log" "event draining server s1" 3
check "SIGUSR1: s1 draining, planned about 2 s ahead" \
	grep -Eq "^event draining server s1 planned_in_ms (1[0-9]{3}|2000)$" "$WORK/decode.log"
kill -USR2 $A1
wait_count "$WORK/decode.log" "^event recovered server s1" 2 3
check "SIGUSR2: s1 back up before the planned time" \
	test "$(grep -c '^event recovered server s1' "$WORK/decode.log")" -eq 2
check "no failure from the cancelled drain" bash -c "! grep -q 'cause planned' '$WORK/decode.log'"
kill -USR1 $A1
wait_for "$WORK/decode.log" "event failed server s1 cause planned" 5
check "a drain left alone becomes a planned failure" grep -q "^event failed server s1 cause planned" "$WORK/decode.log"

# SIGHUP reads the file again: a new interval is taken at once.
sed -i 's/interval_ms = 200;/interval_ms = 150;/' "$WORK/cluster.cfg"
kill -HUP $A1; sleep 0.5
check "SIGHUP reloads the configuration (a new interval), and sara-agent runs on" \
	bash -c "kill -0 $A1 && grep -Eq 'event=reload result=applied config=.* server=s1 sender=[0-9]+ report_to=.* interval_ms=150 ' '$WORK/agent1.log'"
sed -i 's/interval_ms = 150;/interval_ms = 200;/' "$WORK/cluster.cfg"
kill -TERM $A1; wait $A1; a1_status=$?
check "sara-agent exits 0 on SIGTERM, no send errors" \
	bash -c "test $a1_status -eq 0 && grep -q 'event=stop status=0 sent=[1-9][0-9]* send_errors=0$' '$WORK/agent1.log'"
kill -TERM $A2; wait $A2
wait_count "$WORK/decode.log" "^event failed server s2 cause missed" 2 3
check "s2 failed once its agent stopped" \
	test "$(grep -c '^event failed server s2 cause missed' "$WORK/decode.log")" -eq 2
kill -TERM $DEC_PID; wait $DEC_PID
check "decoder summary: s2 heartbeats counted, none lost" \
	grep -Eq "^server s2 state failed heartbeats [1-9][0-9]* lost 0 loads [1-9]" "$WORK/decode.log"

if [ "$failures" -ne 0 ]; then
	echo "--- decode log (events)"; grep -v "^heartbeat\|^load" "$WORK/decode.log"
	echo "--- agent logs"; cat "$WORK/agent1.log" "$WORK/agent2.log"
	echo "FAIL: $failures checks failed"; exit 1
fi
echo "PASS"
exit 0
