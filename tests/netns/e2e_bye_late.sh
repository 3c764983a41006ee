#!/usr/bin/env bash
# e2e_bye_late: servers that answer a BYE 20 s late (tests/lab/uas-late-bye.xml). Three
# calls over UDP from one client address (one per server, round-robin); the client
# retransmits each BYE until the late 200 (tests/lab/uac-late-bye.xml). Every copy of a
# call's BYE must reach the call's own server (a session that ended after linger_s
# would leave the copies to the fallback placement, which answers 481), and each call
# must end with the 200. Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
LAB_PREFIX=sara-e2e-bye-
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
CALLS=3

e2e_setup 110
CTL=$(lab_bin sara-ctl)
lab_cap_start 100 || { e2e_fail "captures"; exit 1; }
for s in "${LAB_SERVERS[@]}"; do
	lab_bg "uas-$s" "$s" timeout 70 sipp -sf "$LAB_DIR/uas-late-bye.xml" -t u1 -i "$LAB_VIP" -p 5060 \
		-mi "$LAB_VIP" -mp 6000 -nostdin -trace_err -error_file "$LAB_RUN/logs/uas-$s.err" -fd 1
	LAB_UAS_PIDS+=("$LAB_BGPID")
done
for s in "${LAB_SERVERS[@]}"; do lab_wait_listen "$s" udp 5060 || { e2e_fail "sipp server in $s"; exit 1; }; done

LAB_UAC_XML="$LAB_DIR/uac-late-bye.xml" lab_sipp_uac calls u1 198.18.0.10 5060 7000 "$CALLS" \
	-max_non_invite_retrans 12
UAC=$LAB_BGPID
E2E_WAIT_TENTHS=400 e2e_wait calls=$UAC
read -r ok fail < <(lab_sipp_stats calls)
echo "sipp: exit ${E2E_ST[calls]}, calls successful $ok failed $fail"
[ "${E2E_ST[calls]}" = 0 ] && [ "$ok" -eq "$CALLS" ] || e2e_fail "$ok of $CALLS calls ended with a 200 to their BYE"
counters=$(lab_in dsp timeout 5 "$CTL" -c "$LAB_CFG" status --json 2>/dev/null | python3 -c "
import json, sys
c = json.load(sys.stdin)['counters']
print(c.get('ending_requests_awaited', 0), c.get('ending_requests_answered', 0), c.get('ending_requests_unanswered', 0))")
read -r awaited answered unanswered <<<"${counters:-0 0 0}"
echo "sarad: BYEs awaited $awaited, answered $answered, unanswered $unanswered"
for p in "${LAB_UAS_PIDS[@]}"; do lab_stop TERM "$p" 20; done
lab_cap_stop

# per call: the servers its INVITE and its BYE copies reached, the copies, their span
for s in "${LAB_SERVERS[@]}"; do
	timeout 60 tshark -n -r "$LAB_RUN/cap/$s.pcap" -Y "ip.dst == $LAB_VIP && (sip.Method == \"INVITE\" || sip.Method == \"BYE\")" \
		-T fields -e sip.Call-ID -e sip.Method -e frame.time_epoch 2>/dev/null | sed "s/^/$s\t/"
done >"$LAB_RUN/requests.tsv"
report=$(awk -F'\t' '
	$3 == "INVITE" { invite[$2] = invite[$2] == "" || index(invite[$2], $1) == 0 ? invite[$2] $1 " " : invite[$2] }
	$3 == "BYE" { n[$2]++; if (index(bye[$2], $1) == 0) bye[$2] = bye[$2] $1 " "
		if (first[$2] == "" || $4 < first[$2]) first[$2] = $4; if ($4 > last[$2]) last[$2] = $4 }
	END { for (c in invite) printf "%s invite at %s bye at %s copies %d span %.1f\n", c, invite[c], bye[c], n[c], last[c] - first[c] }' \
	"$LAB_RUN/requests.tsv")
printf '%s\n' "$report"
[ "$(printf '%s\n' "$report" | grep -c 'invite at')" -eq "$CALLS" ] || e2e_fail "the servers saw $(printf '%s\n' "$report" | grep -c 'invite at') calls, want $CALLS"
servers_used=$(printf '%s\n' "$report" | awk '{ print $4 }' | sort -u | wc -l)
[ "$servers_used" -eq "$CALLS" ] || e2e_fail "the calls were on $servers_used servers, want $CALLS"
while read -r call _ _ invite_at _ _ bye_at bye_more copies _ span; do
	[ -n "$call" ] || continue
	if [ "$bye_more" != copies ]; then
		e2e_fail "call $call: its BYE copies reached more than one server"
		continue
	fi
	[ "$bye_at" = "$invite_at" ] || e2e_fail "call $call: INVITE at $invite_at, BYE copies at $bye_at"
	[ "$copies" -ge 7 ] || e2e_fail "call $call: $copies copies of its BYE, want >= 7 (retransmitted until the late 200)"
	awk -v s="$span" 'BEGIN { exit !(s >= 15) }' || e2e_fail "call $call: BYE copies over $span s, want >= 15 s"
done <<<"$report"
[ "$answered" -ge "$CALLS" ] || e2e_fail "sarad saw $answered answers to the BYEs, want $CALLS"
[ "$unanswered" -eq 0 ] || e2e_fail "sarad ended $unanswered sessions without their BYE's answer"
[ "$E2E_RC" -eq 0 ] && echo "PASS e2e_bye_late" || echo "FAIL e2e_bye_late"
exit "$E2E_RC"
