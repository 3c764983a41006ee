#!/usr/bin/env bash
# e2e_ha_split: the link between the dispatchers cut (split brain) in the lab
# with two active dispatchers (tests/lab/ha_lib.sh): conntrackd's sync
# traffic is dropped both ways, so neither dispatcher learns the other's
# connmarks. SIP calls (UDP and TCP, hold and resume re-INVITEs, RTP) from
# clients of both dispatchers; the cut holds (d2's table lacks the media
# flows d1 decided); 1.5 s in, d1's sarad is killed, its clients move to d2,
# which has none of their state but derives the same server for each
# session (selection hash, the announcements both dispatchers get): every
# media flow of d1's it takes over gets the mark d1 gave it, and every call
# completes with all its signalling and media at one server (the servers'
# captures, sara-replay --observed). The servers answer from disjoint media
# port ranges: d2 never saw these calls' offers, only the answers, and two
# sessions of one client answered with the same VIP port by two servers
# would be told apart by the offers alone (docs/high-availability.md).
# Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
LAB_PREFIX=sara-e2e-has-
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$LAB_DIR/ha_lib.sh"

ha_setup
# the cut: conntrackd's sync port dropped in and out of both dispatchers
sync_port=$(awk '/Port/ { print $2; exit }' "$LAB_RUN/d1/conntrackd.conf")
for n in "${HA_DISPATCHERS[@]}"; do
	lab_in "$n" iptables -I INPUT -p udp --dport "$sync_port" -j DROP
	lab_in "$n" iptables -I OUTPUT -p udp --dport "$sync_port" -j DROP
done
lab_cap_start 100 || { e2e_fail "captures"; exit 1; }
LAB_UAS_MP_STEP=1000 lab_start_sip_servers 70 || { e2e_fail "sipp servers"; exit 1; }

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
echo "clients: ${clients[*]}; conntrackd's port $sync_port cut; killing sarad in d1"

names=() pids=() calls=0 port=5060 mp=7000 tr=u1
for c in "${clients[@]}"; do
	ip=${c%:*}
	lab_sipp_uac "uac-$ip" "$tr" "$ip" "$port" "$mp" 2; names+=("uac-$ip"); pids+=("$LAB_BGPID")
	case $tr in u1) tr=tn ;; *) tr=u1 ;; esac
	calls=$((calls + 2)); port=$((port + 2)); mp=$((mp + 1000))
done
sleep 1.5
# flow key without its mark
unmarked() { sed 's/ mark=[0-9]*//'; }
ha_ct_media d1 >"$LAB_RUN/ct-d1.txt"
ha_ct_media d2 >"$LAB_RUN/ct-d2-before.txt"
only_d1=$(comm -23 <(unmarked <"$LAB_RUN/ct-d1.txt" | sort) <(unmarked <"$LAB_RUN/ct-d2-before.txt" | sort) | wc -l)
echo "media flows with a connmark: d1 $(wc -l <"$LAB_RUN/ct-d1.txt"), d2 $(wc -l <"$LAB_RUN/ct-d2-before.txt"), of d1's not in d2: $only_d1"
[ "$only_d1" -gt 0 ] || e2e_fail "d2 holds every media flow of d1's: the sync link is not cut"

kill_ms=$(date +%s%3N)
kill -KILL "${HA_SARAD_PID[d1]}"
wait "${HA_SARAD_PID[d1]}" 2>/dev/null
ha_wait_paths 1 30 || e2e_fail "the router still sends to d1 3 s after its sarad died"
echo "route withdrawn $(( $(date +%s%3N) - kill_ms )) ms after the kill"
sleep 0.5
ip=${clients[0]%:*}
[ "${clients[0]#*:}" = d1 ] || ip=${clients[2]%:*}
lab_sipp_uac "uac-new-$ip" u1 "$ip" 5090 12000 2; names+=("uac-new-$ip"); pids+=("$LAB_BGPID"); calls=$((calls + 2))
sleep 1
# d2 decided d1's flows on its own: the same server (mark) for each it took over
ha_ct_media d2 >"$LAB_RUN/ct-d2-after.txt"
comm -13 "$LAB_RUN/ct-d2-before.txt" "$LAB_RUN/ct-d1.txt" >"$LAB_RUN/ct-d1-own.txt"
read -r taken differ < <(awk '
	{ m = ""; k = ""; for (i = 1; i <= NF; i++) if ($i ~ /^mark=/) m = $i; else k = k " " $i }
	FNR == NR { after[k] = m; next }
	k in after { taken++; if (after[k] != m) { differ++; print "  d1 " $0 ", d2 " after[k] > "/dev/stderr" } }
	END { print taken + 0, differ + 0 }' "$LAB_RUN/ct-d2-after.txt" "$LAB_RUN/ct-d1-own.txt")
echo "media flows of d1's that d2 took over: $taken, with another mark: $differ"
[ "$taken" -gt 0 ] || e2e_fail "d2 took over none of d1's media flows"
[ "$differ" -eq 0 ] || e2e_fail "$differ of d1's media flows got another server on d2"

ok_total=0 failed_total=0
for ((i = 0; i < ${#pids[@]}; i++)); do
	lab_wait_exit "${pids[i]}" 450 || lab_stop TERM "${pids[i]}"
	st=$(lab_rc "${pids[i]}")
	read -r ok failed < <(lab_sipp_stats "${names[i]}")
	echo "  ${names[i]}: exit $st, calls successful $ok failed $failed"
	ok_total=$((ok_total + ok)); failed_total=$((failed_total + failed))
done
echo "sarad d2:"; lab_in d2 "$(lab_bin sara-ctl)" -c "${HA_CFG[d2]}" status 2>&1 |
	grep -E 'sessions_adopted|sessions_created|connmarks_set' | sed 's/^/  /' | head -6
for p in "${LAB_UAS_PIDS[@]}"; do lab_stop TERM "$p" 20; done
lab_cap_stop
[ "$ok_total" -eq "$calls" ] && [ "$failed_total" -eq 0 ] ||
	e2e_fail "calls: $ok_total successful, $failed_total failed, of $calls"
e2e_observed "$calls" 2
[ "$E2E_RC" -eq 0 ] && e2e_ok "sync link cut: every call completed on one server, d2 derived d1's servers alone"
exit "$E2E_RC"
