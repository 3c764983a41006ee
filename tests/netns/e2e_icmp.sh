#!/usr/bin/env bash
# e2e_icmp: ICMP errors to the VIP reach the server of the flow they quote. A SIP call over
# one TCP connection (tests/netns/sip_tcp_call.py) from a client that does not listen on
# its media port, so its kernel answers the server's RTP with port unreachable; then
# (tests/netns/icmp_error.py) fragmentation needed for the server's TCP segment and port
# unreachable for the call's RTCP, and fragmentation needed again once the connection's
# conntrack entry (and with it the connmark the kernel would follow) is gone. Every ICMP
# error must arrive at the call's server only, sarad must count the ones it decided as
# followed, and the call's server must have lowered its path MTU to the client (its TCP
# took the error). Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
LAB_PREFIX=sara-e2e-icmp-
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CLIENT=198.18.0.11 CLIENT_PORT=45060 MEDIA_PORT=47000

e2e_setup 110
CTL=$(lab_bin sara-ctl)
lab_cap_start 100 || { e2e_fail "captures"; exit 1; }
e2e_cap_client_start 100 || { e2e_fail "client capture"; exit 1; }
lab_start_sip_servers 70 || { e2e_fail "sipp servers"; exit 1; }

counter() {   # counter NAME: an engine event counter from sarad's status
	lab_in dsp timeout 5 "$CTL" -c "$LAB_CFG" status --json 2>/dev/null |
		python3 -c "import json,sys; print(json.load(sys.stdin)['counters'].get(sys.argv[1], 0))" "$1" 2>/dev/null ||
		echo 0
}
icmp_error() { lab_in cli python3 "$HERE/icmp_error.py" "$CLIENT" "$LAB_VIP" "$@"; }

lab_bg call cli python3 "$HERE/sip_tcp_call.py" "$CLIENT" "$CLIENT_PORT" "$LAB_VIP" "$MEDIA_PORT" \
	"$LAB_RUN/established" "$LAB_RUN/bye" --hold 30
CALL=$LAB_BGPID
for ((i = 0; i < 100; i++)); do [ -f "$LAB_RUN/established" ] && break; lab_alive "$CALL" || break; sleep 0.1; done
[ -f "$LAB_RUN/established" ] || { e2e_fail "the call was not established: $(cat "$LAB_RUN/logs/call.log")"; exit 1; }

# the call's server, and the server's RTP source port (RTP starts after the ACK)
SERVER=
for s in "${LAB_SERVERS[@]}"; do
	[ "$(e2e_count "$LAB_RUN/cap/$s.pcap" 'sip.Method == "INVITE"')" -gt 0 ] && SERVER="$SERVER$s"
done
case $SERVER in s1 | s2 | s3) echo "the call is at $SERVER" ;; *) e2e_fail "the INVITE reached '$SERVER'"; exit 1 ;; esac
RTP_PORT=
for ((i = 0; i < 30; i++)); do
	RTP_PORT=$(timeout 20 tshark -n -r "$LAB_RUN/cap/cli.pcap" -Y "ip.src == $LAB_VIP && udp.dstport == $MEDIA_PORT" \
		-T fields -e udp.srcport 2>/dev/null | head -1)
	[ -n "$RTP_PORT" ] && break
	sleep 0.2
done
[ -n "$RTP_PORT" ] || { e2e_fail "no RTP from the server reached the client"; exit 1; }
# the server's next TCP sequence number (all its data acknowledged by now)
NEXT_SEQ=$(timeout 20 tshark -n -r "$LAB_RUN/cap/cli.pcap" -Y "ip.src == $LAB_VIP && tcp.srcport == 5060" \
	-T fields -e tcp.seq_raw -e tcp.len 2>/dev/null | awk '{ n = $1 + $2 } END { printf "%.0f\n", n % 4294967296 }')
echo "server RTP from port $RTP_PORT, its next TCP sequence number $NEXT_SEQ"

# 1. fragmentation needed for the server's segment: conntrack relates it to the
#    connection, whose connmark the kernel restores (sarad may not see it)
icmp_error frag-needed tcp 5060 "$CLIENT" "$CLIENT_PORT" --seq "$NEXT_SEQ" --mtu 1200
# 2. port unreachable for the call's RTCP, a flow only sara predicted: sarad decides
icmp_error port-unreachable udp $((RTP_PORT + 1)) "$CLIENT" $((MEDIA_PORT + 1))
# 3. the connection's conntrack entry gone: the same error has nothing to follow in the
#    kernel, and sarad sends it after the connection
lab_in dsp conntrack -D -p tcp -s "$CLIENT" --sport "$CLIENT_PORT" -d "$LAB_VIP" --dport 5060 \
	>"$LAB_RUN/logs/conntrack-delete.log" 2>&1 || e2e_fail "conntrack -D: $(cat "$LAB_RUN/logs/conntrack-delete.log")"
icmp_error frag-needed tcp 5060 "$CLIENT" "$CLIENT_PORT" --seq "$NEXT_SEQ" --mtu 1100
sleep 1
PMTU=$(lab_in "$SERVER" ip route get "$CLIENT" from "$LAB_VIP" 2>&1 | tr '\n' ' ')
echo "the call's server's route to the client: $PMTU"

echo "dispatcher chain SARA (packets per rule):"
lab_sara_rule_counts | sed 's/^/  /'
touch "$LAB_RUN/bye"
e2e_wait call=$CALL
echo "call: exit ${E2E_ST[call]}: $(tr '\n' ' ' <"$LAB_RUN/logs/call.log")"
[ "${E2E_ST[call]}" = 0 ] || e2e_fail "the call did not end with a 200 to its BYE"
for p in "${LAB_UAS_PIDS[@]}"; do lab_stop TERM "$p" 20; done
lab_cap_stop

# every ICMP error the client sent, its kernel's and icmp_error.py's; those the kernel
# routed by a restored connmark (the SARA chain's RETURN: the first fragmentation needed)
# and those sarad decided, all of the others
SENT=$(e2e_count "$LAB_RUN/cap/cli.pcap" "icmp.type == 3 && ip.dst == $LAB_VIP")
FAST=$(lab_sara_rule_counts | awk '$2 == "RETURN" { n += $1 } END { print n + 0 }')
# (read once the call is over: the client's kernel answers the RTP until the BYE)
FOLLOWED=$(counter icmp_error_followed)
echo "the client sent $SENT ICMP errors, $FAST took a restored connmark; sarad followed $FOLLOWED;" \
	"no flow $(counter icmp_error_no_flow), malformed $(counter icmp_error_malformed)"
for s in "${LAB_SERVERS[@]}"; do
	frag=$(e2e_count "$LAB_RUN/cap/$s.pcap" "icmp.type == 3 && icmp.code == 4 && ip.dst == $LAB_VIP")
	unreachable=$(e2e_count "$LAB_RUN/cap/$s.pcap" "icmp.type == 3 && icmp.code == 3 && ip.dst == $LAB_VIP")
	rtcp=$(e2e_count "$LAB_RUN/cap/$s.pcap" "icmp.code == 3 && udp.dstport == $((MEDIA_PORT + 1))")
	echo "$s: fragmentation needed $frag, port unreachable $unreachable (for the RTCP: $rtcp)"
	if [ "$s" = "$SERVER" ]; then
		[ "$frag" -eq 2 ] || e2e_fail "$frag of 2 fragmentation-needed errors reached the call's server"
		[ "$rtcp" -eq 1 ] || e2e_fail "the RTCP's port unreachable did not reach the call's server"
		[ "$unreachable" -ge 2 ] || e2e_fail "the client's port unreachables for the RTP did not reach the call's server"
		[ $((frag + unreachable)) -eq "$SENT" ] ||
			e2e_fail "$((frag + unreachable)) of the client's $SENT ICMP errors reached the call's server"
	elif [ $((frag + unreachable)) -ne 0 ]; then
		e2e_fail "$s, not the call's server, got $((frag + unreachable)) ICMP errors"
	fi
done
# 2 and 3, and every port unreachable for the RTP (no conntrack entry either)
[ "$FAST" -le 1 ] || e2e_fail "$FAST packets took the connmark fast path, want the first fragmentation needed at most"
[ "$FOLLOWED" -eq $((SENT - FAST)) ] || e2e_fail "sarad followed $FOLLOWED ICMP errors, want $((SENT - FAST))"
case $PMTU in *"mtu 1100"*) ;; *) e2e_fail "the call's server did not take the path MTU (1100) from the last error" ;; esac
[ "$E2E_RC" -eq 0 ] && echo "PASS e2e_icmp" || echo "FAIL e2e_icmp"
exit "$E2E_RC"
