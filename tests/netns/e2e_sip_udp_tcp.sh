#!/usr/bin/env bash
# e2e_sip_udp_tcp: concurrent sipp calls over UDP and TCP (RTP both ways, hold + resume
# re-INVITEs) through sarad + sara-gw in the lab: every packet of every call at exactly one
# server, calls spread over all 3 servers, media crossing into user space a few packets per flow.
# Exit 0 pass, 1 fail (sarad or sara-gw not built or not starting too), 77 skip (no root/namespaces).
set -uo pipefail
LAB_PREFIX=sara-e2e-sip-
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_setup 110
lab_cap_start 100 || { e2e_fail "captures"; exit 1; }
e2e_cap_client_start 100 || { e2e_fail "client capture"; exit 1; }
lab_start_sip_servers 70 || { e2e_fail "sipp servers"; exit 1; }

# 4 UDP calls from .10 (one shared signalling flow), 2 from .12, 3 TCP calls from .11
lab_sipp_uac udp-a u1 198.18.0.10 5060 7000 4; A=$LAB_BGPID
lab_sipp_uac udp-b u1 198.18.0.12 5062 8000 2; B=$LAB_BGPID
lab_sipp_uac tcp tn 198.18.0.11 5064 9000 3; T=$LAB_BGPID
e2e_wait udp-a=$A udp-b=$B tcp=$T
CALLS=9
ok_total=0
for n in udp-a udp-b tcp; do
	read -r ok fail < <(lab_sipp_stats "$n")
	echo "sipp $n: exit ${E2E_ST[$n]}, calls successful $ok failed $fail"
	ok_total=$((ok_total + ok))
	[ "${E2E_ST[$n]}" = 0 ] || e2e_fail "sipp $n exit ${E2E_ST[$n]} (see logs/$n.log)"
done
[ "$ok_total" -eq "$CALLS" ] || e2e_fail "$ok_total of $CALLS calls succeeded"

sleep 0.5
for p in "${LAB_UAS_PIDS[@]}"; do lab_stop TERM "$p" 20; done
lab_cap_stop

# RTP both ways: client -> servers (each UAC plays 120 packets per call) and servers -> client
to_srv=0
for s in "${LAB_SERVERS[@]}"; do
	n=$(e2e_count "$LAB_RUN/cap/$s.pcap" "ip.dst == $LAB_VIP && udp && !(udp.dstport == 5060)")
	m=$(e2e_count "$LAB_RUN/cap/$s.pcap" "ip.src == $LAB_VIP && udp && !(udp.srcport == 5060)")
	echo "$s: $n media packets from clients, $m media packets to clients"
	to_srv=$((to_srv + n))
done
to_cli=$(e2e_count "$LAB_RUN/cap/cli.pcap" "ip.src == $LAB_VIP && udp && !(udp.srcport == 5060)")
echo "client: $to_cli media packets from the servers"
[ "$to_srv" -ge $((CALLS * 120 * 9 / 10)) ] || e2e_fail "only $to_srv client media packets reached the servers"
[ "$to_cli" -ge $((CALLS * 120 * 9 / 10)) ] || e2e_fail "only $to_cli server media packets reached the clients"

e2e_observed "$CALLS" 3
e2e_crossings 4
[ "$E2E_RC" -eq 0 ] && echo "PASS e2e_sip_udp_tcp" || echo "FAIL e2e_sip_udp_tcp"
exit "$E2E_RC"
