#!/usr/bin/env bash
# e2e_notrack: the lab with queue.notrack_udp_signalling: sara-ctl's rules let
# UDP signalling to the VIP skip conntrack. sipp calls over UDP (several from
# one client address) and TCP, RTP both ways: every call completes with all
# its packets at one server, calls on all three servers, while the dispatcher's
# conntrack table holds no entry for UDP signalling to the VIP and one marked
# entry per media flow (which stays in the kernel).
# Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
LAB_PREFIX=sara-e2e-nt-
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
command -v conntrack >/dev/null 2>&1 || { echo "skip: conntrack(8) not installed"; exit 77; }

E2E_CFG_SED='s/^queue *= *{ *\(.*\) };/queue = { \1 notrack_udp_signalling = true; };/'
e2e_setup 110
grep -q 'notrack_udp_signalling = true' "$LAB_CFG" || { e2e_fail "config edit: no notrack_udp_signalling"; exit 1; }
lab_in dsp iptables -t raw -S PREROUTING | grep -q -- '--dport 5060 -j CT --notrack' ||
	{ e2e_fail "sara-ctl applied no notrack rule"; lab_in dsp iptables -t raw -S; exit 1; }
lab_cap_start 100 || { e2e_fail "captures"; exit 1; }
lab_start_sip_servers 70 || { e2e_fail "sipp servers"; exit 1; }

LAB_UAC_XML=uac-long.xml lab_sipp_uac udp-a u1 198.18.0.10 5060 7000 3; A=$LAB_BGPID
LAB_UAC_XML=uac-long.xml lab_sipp_uac udp-b u1 198.18.0.12 5062 8000 2; B=$LAB_BGPID
LAB_UAC_XML=uac-long.xml lab_sipp_uac tcp tn 198.18.0.11 5064 9000 2; T=$LAB_BGPID
CALLS=7
# mid-call: the dispatcher's conntrack entries for the VIP
sleep 3
sig=$(lab_in dsp conntrack -L -p udp --orig-dst "$LAB_VIP" --dport 5060 2>/dev/null | grep -c 'dport=5060')
media=$(lab_in dsp conntrack -L -p udp --orig-dst "$LAB_VIP" 2>/dev/null | grep -v 'dport=5060' | grep -c 'mark=[1-9]')
tcp=$(lab_in dsp conntrack -L -p tcp --orig-dst "$LAB_VIP" --dport 5060 2>/dev/null | grep -c 'dport=5060')
echo "dispatcher conntrack mid-call: $sig UDP signalling entries, $media marked UDP media entries, $tcp TCP signalling entries"
[ "$sig" -eq 0 ] || e2e_fail "$sig conntrack entries for UDP signalling to the VIP (want none)"
# each call has an RTP and an RTCP flow from the client (uac-long plays RTP)
[ "$media" -ge "$CALLS" ] || e2e_fail "$media marked media entries, want at least $CALLS"
[ "$tcp" -ge 1 ] || e2e_fail "no conntrack entry for TCP signalling (only UDP skips conntrack)"

e2e_wait udp-a=$A udp-b=$B tcp=$T
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
e2e_observed "$CALLS" 3
[ "$E2E_RC" -eq 0 ] && echo "PASS e2e_notrack" || echo "FAIL e2e_notrack"
exit "$E2E_RC"
