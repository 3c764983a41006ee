#!/usr/bin/env bash
# e2e_proxy: calls relayed into the cluster by kamailio (record-routing proxy on the client
# side, 198.18.0.12) while RTP flows directly from the callers (.10 UDP, .11 TCP to the
# proxy): the signalling source differs from the media's. Every call's packets at exactly
# one server, calls on all 3 servers. Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
LAB_PREFIX=sara-e2e-prx-
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
command -v kamailio >/dev/null || { echo "skip: kamailio not installed"; exit 77; }

e2e_setup 110
lab_cap_start 100 || { e2e_fail "captures"; exit 1; }
lab_start_sip_servers 70 || { e2e_fail "sipp servers"; exit 1; }
mkdir -p "$LAB_RUN/kam"
lab_bg kamailio cli timeout 80 kamailio -f "$LAB_DIR/kamailio-lab.cfg" -DD -E -Y "$LAB_RUN/kam" \
	-P "$LAB_RUN/kam/kamailio.pid" -m 32 -M 8
KAM=$LAB_BGPID
lab_wait_listen cli udp 5060 "$KAM" && lab_wait_listen cli tcp 5060 "$KAM" ||
	{ e2e_fail "kamailio does not listen"; tail -5 "$LAB_RUN/logs/kamailio.log"; exit 1; }

# sipp addresses the VIP in the request URI but sends everything to the proxy (-rsa)
lab_sipp_uac prx-udp u1 198.18.0.10 5070 7000 4 -rsa 198.18.0.12:5060; U=$LAB_BGPID
lab_sipp_uac prx-tcp tn 198.18.0.11 5072 9000 2 -rsa 198.18.0.12:5060; T=$LAB_BGPID
e2e_wait prx-udp=$U prx-tcp=$T
CALLS=6
ok_total=0
for n in prx-udp prx-tcp; do
	read -r ok fail < <(lab_sipp_stats "$n")
	echo "sipp $n: exit ${E2E_ST[$n]}, calls successful $ok failed $fail"
	ok_total=$((ok_total + ok))
	[ "${E2E_ST[$n]}" = 0 ] || e2e_fail "sipp $n exit ${E2E_ST[$n]} (see logs/$n.log)"
done
[ "$ok_total" -eq "$CALLS" ] || e2e_fail "$ok_total of $CALLS calls succeeded"

sleep 0.5
lab_stop TERM "$KAM" 30
for p in "${LAB_UAS_PIDS[@]}"; do lab_stop TERM "$p" 20; done
lab_cap_stop

# the signalling reached the servers from the proxy, the media from the callers
for s in "${LAB_SERVERS[@]}"; do
	sig=$(e2e_count "$LAB_RUN/cap/$s.pcap" "ip.src == 198.18.0.12 && udp.dstport == 5060")
	med=$(e2e_count "$LAB_RUN/cap/$s.pcap" "(ip.src == 198.18.0.10 || ip.src == 198.18.0.11) && ip.dst == $LAB_VIP && udp && !(udp.dstport == 5060)")
	echo "$s: $sig signalling packets from the proxy, $med media packets from the callers"
done
rr=$(e2e_count "$LAB_RUN/cap/s1.pcap" "sip.Record-Route" )
echo "s1: $rr SIP messages with Record-Route"

e2e_observed "$CALLS" 3
e2e_crossings 4
[ "$E2E_RC" -eq 0 ] && echo "PASS e2e_proxy" || echo "FAIL e2e_proxy"
exit "$E2E_RC"
