#!/usr/bin/env bash
# e2e_ha_failover: two active dispatchers behind the lab's BGP router (ECMP,
# BFD; tests/lab/ha_lib.sh), selection hash, conntrackd between them. SIP
# calls (UDP and TCP, hold and resume re-INVITEs, 7 s of RTP) from clients
# of both dispatchers; 1.5 s in, one dispatcher's sarad is killed with
# SIGKILL: its health check withdraws its route, the other dispatcher takes
# its clients (in-dialog requests by the Call-ID's hash, media by the
# replicated connmarks) while new calls keep being admitted; 2.5 s later its
# sarad starts again, takes its clients back and moves no session. Every
# call completes, with all its signalling and media at one server (the
# servers' captures, sara-replay --observed).
# Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
LAB_PREFIX=sara-e2e-ha-
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$LAB_DIR/ha_lib.sh"

ha_setup
lab_cap_start 100 || { e2e_fail "captures"; exit 1; }
lab_start_sip_servers 70 || { e2e_fail "sipp servers"; exit 1; }

# two client addresses per dispatcher, by the router's own ECMP choice
declare -A picked
clients=()
for ip in "${HA_CLI_IPS[@]}"; do
	d=$(ha_dispatcher_of "$ip")
	[ "${picked[$d]:-0}" -lt 2 ] || continue
	picked[$d]=$(( ${picked[$d]:-0} + 1 ))
	clients+=("$ip:$d")
done
[ "${picked[d1]:-0}" -eq 2 ] && [ "${picked[d2]:-0}" -eq 2 ] ||
	{ e2e_fail "the router's ECMP sends no two of ${#HA_CLI_IPS[@]} client addresses to each dispatcher"; exit 1; }
victim=${clients[0]#*:}
echo "clients: ${clients[*]}; killing sarad in $victim"

# per client: 2 calls, UDP for the first of each dispatcher, TCP for the second
names=() pids=() calls=0 port=5060 mp=7000 tr=u1
for c in "${clients[@]}"; do
	ip=${c%:*}
	case $tr in u1) tr=tn ;; *) tr=u1 ;; esac
	lab_sipp_uac "uac-$ip" "$tr" "$ip" "$port" "$mp" 2; names+=("uac-$ip"); pids+=("$LAB_BGPID")
	calls=$((calls + 2)); port=$((port + 2)); mp=$((mp + 1000))
done
sleep 1.5
kill_ms=$(date +%s%3N)
kill -KILL "${HA_SARAD_PID[$victim]}"
wait "${HA_SARAD_PID[$victim]}" 2>/dev/null
ha_wait_paths 1 30 || e2e_fail "the router still sends to $victim 3 s after its sarad died"
echo "route withdrawn $(( $(date +%s%3N) - kill_ms )) ms after the kill"
# new calls from the dead dispatcher's clients, through the other one
sleep 0.5
ip=${clients[0]%:*}
lab_sipp_uac "uac-new-$ip" u1 "$ip" 5090 12000 2; names+=("uac-new-$ip"); pids+=("$LAB_BGPID"); calls=$((calls + 2))
sleep 2
# conntrackd kept the victim's table: every media flow the survivor decided
# (some only after the kill) is there, with the same connmark
survivor=d1; [ "$victim" = d1 ] && survivor=d2
missing=$(comm -23 <(ha_ct_media "$survivor") <(ha_ct_media "$victim"))
echo "media flows with a connmark: $survivor $(ha_ct_media "$survivor" | wc -l), $victim $(ha_ct_media "$victim" | wc -l)"
[ -z "$missing" ] || e2e_fail "conntrackd did not replicate to $victim: $missing"
ha_start_sarad "$victim" || { e2e_fail "sarad in $victim does not start again"; exit 1; }
ha_wait_paths 2 50 || e2e_fail "$victim's route is not announced again"
echo "$victim announcing again $(( $(date +%s%3N) - kill_ms )) ms after the kill"

ok_total=0 failed_total=0
for ((i = 0; i < ${#pids[@]}; i++)); do
	lab_wait_exit "${pids[i]}" 450 || lab_stop TERM "${pids[i]}"
	st=$(lab_rc "${pids[i]}")
	read -r ok failed < <(lab_sipp_stats "${names[i]}")
	echo "  ${names[i]}: exit $st, calls successful $ok failed $failed"
	ok_total=$((ok_total + ok)); failed_total=$((failed_total + failed))
done
for n in "${HA_DISPATCHERS[@]}"; do
	echo "sarad $n:"; lab_in "$n" "$(lab_bin sara-ctl)" -c "${HA_CFG[$n]}" status 2>&1 |
		grep -E 'sessions_adopted|sessions_created|sip_no_session|verdicts' | sed 's/^/  /' | head -8
done
for p in "${LAB_UAS_PIDS[@]}"; do lab_stop TERM "$p" 20; done
lab_cap_stop
[ "$ok_total" -eq "$calls" ] && [ "$failed_total" -eq 0 ] ||
	e2e_fail "calls: $ok_total successful, $failed_total failed, of $calls"
e2e_observed "$calls" 2
[ "$E2E_RC" -eq 0 ] && e2e_ok "every call completed on one server across the failover and the return"
exit "$E2E_RC"
