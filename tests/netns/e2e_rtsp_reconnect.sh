#!/usr/bin/env bash
# e2e_rtsp_reconnect: an RTSP client (tests/netns/rtsp_reconnect.py) sets a session up
# and plays on one connection, closes it, and carries the session on over a second
# connection (GET_PARAMETER, TEARDOWN). Round-robin would send the second SYN to another
# server: it must reach the session's server, and sarad must join the connection to the
# session. Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
LAB_PREFIX=sara-e2e-rtspre-
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

e2e_setup 110
CTL=$(lab_bin sara-ctl)
lab_cap_start 100 || { e2e_fail "captures"; exit 1; }
# "Session: id;timeout=45": an optional field in the announcements of the replies
lab_start_rtsp_servers 60 --session-timeout 45 || { e2e_fail "gst-rtsp-server"; exit 1; }

lab_bg reconnect cli python3 "$HERE/rtsp_reconnect.py" 198.18.0.10 "rtsp://$LAB_VIP:8554/test" 5000
RECONNECT=$LAB_BGPID
E2E_WAIT_TENTHS=300 e2e_wait reconnect=$RECONNECT
echo "client: exit ${E2E_ST[reconnect]}: $(tr '\n' ' ' <"$LAB_RUN/logs/reconnect.log")"
counters=$(lab_in dsp timeout 5 "$CTL" -c "$LAB_CFG" status --json 2>/dev/null | python3 -c "
import json, sys
d = json.load(sys.stdin)
c, a = d['counters'], d['announcements']
print(c.get('rtsp_connection_affinity', 0), c.get('rtsp_connection_joined', 0), c.get('rtsp_connection_not_joined', 0),
      a.get('accepted', 0), a.get('rejected', 0))")
read -r affinity joined not_joined announced rejected <<<"${counters:-0 0 0 0 0}"
echo "sarad: affinity $affinity, joined $joined, not joined $not_joined; announcements accepted $announced, rejected $rejected"
for p in "${LAB_RTSP_PIDS[@]}"; do lab_stop TERM "$p" 20; done
lab_cap_stop

# the servers each connection's SYN reached, and the one that saw the TEARDOWN
syns= teardown=
for s in "${LAB_SERVERS[@]}"; do
	n=$(e2e_count "$LAB_RUN/cap/$s.pcap" "tcp.dstport == 8554 && tcp.flags.syn == 1 && tcp.flags.ack == 0")
	t=$(e2e_count "$LAB_RUN/cap/$s.pcap" "tcp.dstport == 8554 && tcp.payload contains \"TEARDOWN\"")
	echo "$s: $n connections, $t TEARDOWN"
	[ "$n" -gt 0 ] && syns="$syns$s:$n "
	[ "$t" -gt 0 ] && teardown="$teardown$s "
done
case $syns in
"s1:2 " | "s2:2 " | "s3:2 ") ;;
*) e2e_fail "the two connections reached: $syns" ;;
esac
[ "${teardown% }" = "${syns%%:*}" ] || e2e_fail "the TEARDOWN reached '$teardown', the session was at ${syns%%:*}"
[ "${E2E_ST[reconnect]}" = 0 ] || e2e_fail "the client's requests were not answered 200 (GET_PARAMETER: the session's server)"
[ "$affinity" -ge 1 ] || e2e_fail "sarad sent no new connection to its client's session's server"
[ "$joined" -ge 1 ] || e2e_fail "sarad joined no connection to its session"
[ "$announced" -ge 4 ] && [ "$rejected" -eq 0 ] || e2e_fail "announcements accepted $announced, rejected $rejected"
timeouts=$(e2e_count "$LAB_RUN/cap/${syns%%:*}.pcap" 'rtsp.session contains "timeout=45"')
echo "replies naming the session's timeout: $timeouts"
[ "$timeouts" -ge 2 ] || e2e_fail "the server's replies carried no Session timeout ($timeouts)"
[ "$E2E_RC" -eq 0 ] && echo "PASS e2e_rtsp_reconnect" || echo "FAIL e2e_rtsp_reconnect"
exit "$E2E_RC"
