#!/usr/bin/env bash
# gw_smoke.sh - sara-gw end to end in four network namespaces: a server's
# SIP 200 OK with SDP crosses the gateway on its way to the client; sara-gw
# announces it to a dispatcher-side listener (sealed, checked here with an
# independent HMAC and decoded by `sara-gw --decode`) BEFORE the client gets
# the reply; with sara-gw gone the reply still flows (fail-open).
# Usage: tests/netns/gw_smoke.sh [BUILD/sara-gw]   (root; PASS/FAIL, exit 0/1, 77 = skipped)
set -u

GW_BIN=${1:-build/sara-gw}
P=sara-B-gws
NS_CLI=$P-cli NS_GW=$P-gw NS_SRV=$P-srv NS_DSP=$P-dsp
VIP=198.18.77.20 CLI=198.18.0.10 SRV=198.18.2.11 DSP=198.18.1.2 PORT=7401
QUEUE=1   # queue.first (0) + queue.count (1): sara-gw's default
PY=/usr/bin/python3

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: needs root (network namespaces, iptables, NFQUEUE)"; exit 77
fi
for tool in ip iptables "$PY"; do
	command -v "$tool" >/dev/null 2>&1 || { echo "FAIL: $tool not installed (make deps installs it)"; exit 1; }
done
if [ ! -x "$GW_BIN" ]; then
	echo "FAIL: $GW_BIN not built"; exit 1
fi
if ! ip netns add "$NS_CLI" 2>/dev/null; then
	echo "SKIP: cannot create network namespaces"; exit 77
fi

WORK=$(mktemp -d /tmp/sara-B-gws.XXXXXX)
PIDS=()
cleanup() {
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
	for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
	for ns in "$NS_CLI" "$NS_GW" "$NS_SRV" "$NS_DSP"; do ip netns del "$ns" 2>/dev/null; done
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

set -e
for ns in "$NS_GW" "$NS_SRV" "$NS_DSP"; do ip netns add "$ns"; done
ip link add sBg-c type veth peer name sBc-g
ip link add sBg-s type veth peer name sBs-g
ip link add sBg-d type veth peer name sBd-g
ip link set sBc-g netns "$NS_CLI"; ip link set sBs-g netns "$NS_SRV"; ip link set sBd-g netns "$NS_DSP"
ip link set sBg-c netns "$NS_GW"; ip link set sBg-s netns "$NS_GW"; ip link set sBg-d netns "$NS_GW"
for ns in "$NS_CLI" "$NS_GW" "$NS_SRV" "$NS_DSP"; do
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.default.rp_filter=0
	ip -n "$ns" link set lo up
done
ip -n "$NS_CLI" addr add $CLI/24 dev sBc-g; ip -n "$NS_CLI" link set sBc-g up
ip -n "$NS_CLI" route add default via 198.18.0.1
ip -n "$NS_GW" addr add 198.18.0.1/24 dev sBg-c; ip -n "$NS_GW" link set sBg-c up
ip -n "$NS_GW" addr add 198.18.2.254/24 dev sBg-s; ip -n "$NS_GW" link set sBg-s up
ip -n "$NS_GW" addr add 198.18.1.1/30 dev sBg-d; ip -n "$NS_GW" link set sBg-d up
ip netns exec "$NS_GW" sysctl -qw net.ipv4.ip_forward=1
ip -n "$NS_SRV" addr add $SRV/24 dev sBs-g; ip -n "$NS_SRV" link set sBs-g up
ip -n "$NS_SRV" addr add $VIP/32 dev lo
ip -n "$NS_SRV" route add default via 198.18.2.254
ip -n "$NS_DSP" addr add $DSP/30 dev sBd-g; ip -n "$NS_DSP" link set sBd-g up
# The outbound signalling of the cluster goes through sara-gw's queue.
if ! ip netns exec "$NS_GW" iptables -t mangle -A FORWARD -s $VIP -p udp -m multiport --sports 5060 \
	-j NFQUEUE --queue-num $QUEUE --queue-bypass 2>"$WORK/ipt.err"; then
	echo "SKIP: iptables NFQUEUE unavailable: $(cat "$WORK/ipt.err")"; exit 77
fi
set +e

KEY_HEX=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '%s\n' "$KEY_HEX" > "$WORK/cluster.key"; chmod 600 "$WORK/cluster.key"
cat > "$WORK/cluster.cfg" <<EOF
name = "sara-B-gws";
vips = [ "$VIP" ];
ports = { sip = [ 5060 ]; rtsp = [ 8554 ]; };
servers = ( { id = "s1"; address = "$SRV"; mark = 1; table = 101; } );
queue = { first = 0; count = 1; fail_open = true; };
gateway = { listen = "$DSP:$PORT"; };
key_file = "$WORK/cluster.key";
EOF

# Both receivers stamp datagrams with the kernel's receive time
# (SO_TIMESTAMPNS, one wall clock for every namespace), so the announcement
# and the client's receipt are ordered without user-space scheduling noise.
cat > "$WORK/stamp.py" <<'EOF'
import socket, struct
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux; not exported by every Python
def bind(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    s.bind((addr, port))
    s.settimeout(15)
    return s
def receive(s):
    data, anc, _, peer = s.recvmsg(4096, socket.CMSG_SPACE(16))
    stamp = 0
    for level, kind, value in anc:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
            sec, nsec = struct.unpack("qq", value[:16])
            stamp = sec * 1000000000 + nsec
    return data, peer, stamp
EOF
cat > "$WORK/listen.py" <<'EOF'
import socket, sys
sys.path.insert(0, sys.argv[5])
from stamp import bind, receive
s = bind(sys.argv[1], int(sys.argv[2]))
out = open(sys.argv[3], "a", buffering=1)
print("ready", file=out)
for _ in range(int(sys.argv[4])):
    try:
        data, peer, stamp = receive(s)
    except socket.timeout:
        break
    print("got %d %s %s" % (stamp, peer[0], data.hex()), file=out)
EOF
cat > "$WORK/verify.py" <<'EOF'
# Independent check of the wire format: header fields and HMAC-SHA-512-256.
import hashlib, hmac, struct, sys
key = bytes.fromhex(open(sys.argv[1]).read().strip())
msg = bytes.fromhex(sys.argv[2])
magic, version, mtype, body_len, sender, seq, time_ms = struct.unpack(">IBBHIQQ", msg[:28])
assert magic == 0x53415241 and version == 1 and mtype == 1, "header"
assert len(msg) == 28 + body_len + 32, "length"
tag = hmac.new(key, msg[:-32], hashlib.sha512).digest()[:32]
assert hmac.compare_digest(tag, msg[-32:]), "tag"
bad = bytes([msg[0]]) + bytes([msg[1] ^ 1]) + msg[2:]
assert not hmac.compare_digest(hmac.new(key, bad[:-32], hashlib.sha512).digest()[:32], msg[-32:])
print("sealed sender %d seq %d body %d" % (sender, seq, body_len))
EOF
cat > "$WORK/client.py" <<'EOF'
import socket, sys
sys.path.insert(0, sys.argv[4])
from stamp import bind, receive
s = bind(sys.argv[1], 5060)
out = open(sys.argv[2], "a", buffering=1)
print("ready", file=out)
for _ in range(int(sys.argv[3])):
    try:
        data, peer, stamp = receive(s)
    except socket.timeout:
        break
    print("got %d %s %s" % (stamp, peer[0], data.split(b"\r\n")[0].decode()), file=out)
EOF
cat > "$WORK/server.py" <<'EOF'
import socket, sys
vip, client, call = sys.argv[1], sys.argv[2], sys.argv[3]
sdp = ("v=0\r\no=- 1 1 IN IP4 198.18.2.11\r\ns=-\r\nc=IN IP4 198.18.2.11\r\nt=0 0\r\n"
       "m=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")
msg = ("SIP/2.0 200 OK\r\n"
       "Via: SIP/2.0/UDP %s:5060;branch=z9hG4bK-%s\r\n"
       "From: <sip:alice@example.org>;tag=1\r\nTo: <sip:bob@example.org>;tag=2\r\n"
       "Call-ID: %s\r\nCSeq: 1 INVITE\r\nContact: <sip:bob@%s:5060>\r\n"
       "Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s"
       % (client, call, call, vip, len(sdp), sdp))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((vip, 5060))
s.sendto(msg.encode(), (client, 5060))
EOF

check "sara-gw --check-config" "$GW_BIN" -c "$WORK/cluster.cfg" --check-config
chmod 644 "$WORK/cluster.key"
check "a key file open to others is refused" \
	bash -c "! '$GW_BIN' -c '$WORK/cluster.cfg' --check-config 2>'$WORK/mode.err'"
grep -q "0644" "$WORK/mode.err" || { echo "FAIL - the mode error names the mode: $(cat "$WORK/mode.err")"; failures=$((failures + 1)); }
chmod 600 "$WORK/cluster.key"

ip netns exec "$NS_DSP" $PY "$WORK/listen.py" $DSP $PORT "$WORK/dsp.log" 1 "$WORK" & PIDS+=($!)
ip netns exec "$NS_CLI" $PY "$WORK/client.py" $CLI "$WORK/cli.log" 2 "$WORK" & PIDS+=($!)
ip netns exec "$NS_GW" "$GW_BIN" -c "$WORK/cluster.cfg" --foreground --id 7 2>"$WORK/gw.log" & GW_PID=$!
PIDS+=($GW_PID)
wait_for "$WORK/dsp.log" ready 5 && wait_for "$WORK/cli.log" ready 5 && wait_for "$WORK/gw.log" "event=start" 5
check "sara-gw bound queue $QUEUE" grep -q "event=start prog=sara-gw version=[^ ]* queue=$QUEUE announce_to=$DSP:$PORT sender=7$" "$WORK/gw.log"

ip netns exec "$NS_SRV" $PY "$WORK/server.py" $VIP $CLI call-1@sara-B
wait_for "$WORK/cli.log" "^got" 5
wait_for "$WORK/dsp.log" "^got" 5
check "the client received the 200 OK" grep -q "SIP/2.0 200 OK" "$WORK/cli.log"
check "the dispatcher side received one announcement" grep -q "^got .* 198.18.1.1 " "$WORK/dsp.log"
t_ann=$(awk '/^got/ {print $2; exit}' "$WORK/dsp.log")
t_cli=$(awk '/^got/ {print $2; exit}' "$WORK/cli.log")
datagram=$(awk '/^got/ {print $4; exit}' "$WORK/dsp.log")
check "announced before the client got the reply (${t_ann:-?} <= ${t_cli:-?})" \
	test "${t_ann:-0}" -gt 0 -a "${t_cli:-0}" -gt 0 -a "${t_ann:-1}" -le "${t_cli:-0}"
check "the datagram is sealed (independent HMAC-SHA-512-256)" \
	$PY "$WORK/verify.py" "$WORK/cluster.key" "${datagram:-00}"

# Decode the captured datagram with sara-gw --decode (on the dsp namespace's loopback).
ip netns exec "$NS_DSP" "$GW_BIN" -c "$WORK/cluster.cfg" --decode --listen 127.0.0.1:$PORT --count 2 \
	> "$WORK/decode.log" 2>&1 & DEC_PID=$!
PIDS+=($DEC_PID)
wait_for "$WORK/decode.log" listening 5
ip netns exec "$NS_DSP" $PY -c "
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
d = bytes.fromhex(sys.argv[1])
s.sendto(d, ('127.0.0.1', $PORT)); s.sendto(d, ('127.0.0.1', $PORT))" "${datagram:-00}"
wait_for "$WORK/decode.log" rejected 5
check "--decode: the announcement names flow, call, status and media" \
	grep -q "^announce sender 7 .* udp $CLI:5060 -> $VIP:5060 sip response invite 200 key \"call-1@sara-B\" flags confirms media replace streams 1 \[on 198.18.2.11 rtp 6000 rtcp 6001 peer 0/0\] cluster ok" "$WORK/decode.log"
check "--decode: the same datagram again is a replay" grep -q "^rejected wire_replayed" "$WORK/decode.log"

kill -USR1 $GW_PID; sleep 0.5
check "SIGUSR1 prints the counters" grep -Eq "event=counters when=SIGUSR1 group=daemon .* sent=1( |$)" "$WORK/gw.log"
kill -HUP $GW_PID; sleep 0.5
check "SIGHUP reloads the configuration, and sara-gw runs on" \
	bash -c "kill -0 $GW_PID && grep -q 'event=reload result=applied config=.* vips=1 servers=[0-9]* announce_to=$DSP:$PORT ' '$WORK/gw.log'"
kill -TERM $GW_PID; wait $GW_PID; gw_status=$?
check "sara-gw exits 0 on SIGTERM" test "$gw_status" -eq 0
check "counters at exit: packets 1, sent 1, no send errors" \
	bash -c "grep -Ec 'event=counters when=(SIGUSR1|final) group=daemon packets=1 ' '$WORK/gw.log' | grep -qx 2 && grep -Eq 'event=counters when=final group=daemon .* send_errors=0( |$)' '$WORK/gw.log'"

# Without sara-gw the queue is bypassed: the server's replies still flow.
ip netns exec "$NS_SRV" $PY "$WORK/server.py" $VIP $CLI call-2@sara-B
for _ in $(seq 1 50); do [ "$(grep -c '^got' "$WORK/cli.log")" -ge 2 ] && break; sleep 0.1; done
check "fail-open: the reply passes with sara-gw stopped" test "$(grep -c '^got' "$WORK/cli.log")" -eq 2

if [ "$failures" -ne 0 ]; then
	echo "--- sara-gw log"; cat "$WORK/gw.log"
	echo "--- decode log"; cat "$WORK/decode.log"
	echo "FAIL: $failures checks failed"; exit 1
fi
echo "PASS"
exit 0
