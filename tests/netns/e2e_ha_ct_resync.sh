#!/usr/bin/env bash
# e2e_ha_ct_resync: conntrackd's periodic bulk resend among three
# dispatchers (NOTRACK, which resends nothing by itself) repairs what one
# dispatcher's conntrackd missed. Three dispatchers as in e2e_ha_rolling,
# ha.sync_resync_s = 3 (each dispatcher runs conntrackd -B at the period of
# the timer `sara-ctl conntrackd-timer` writes; tests/lab/ha_lib.sh
# ha_start_resync). conntrackd's port is dropped on its way into d3 while
# SIP calls (UDP and TCP, RTP) from clients of d1 and d2 start and run: d3
# must then hold none of their media flows (the loss the test repairs).
# Then the drop is lifted: within the period (+1.5 s) d3 must hold every
# media flow decided anywhere, with its mark, and no flow two marks; every
# call completes. Sabotage: HA_CT_RESYNC=off (no timer) leaves d3 without
# them. E2E_CT_REPAIR=startup (e2e_ha_ct_startup): no timer; once the drop
# is lifted d3's conntrackd is restarted, and its StartupResync (asking the
# peers for their tables) must bring the marks within the same bound;
# sabotage HA_CT_SED='s/StartupResync on/StartupResync off/'.
# Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
REPAIR=${E2E_CT_REPAIR:-timer}
LAB_PREFIX=${LAB_PREFIX:-sara-e2e-hcr-}
HA_DISPATCHER_COUNT=3
HA_CT_RESYNC_S=${HA_CT_RESYNC_S:-3}
[ "$REPAIR" = startup ] && HA_CT_RESYNC=off
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$LAB_DIR/ha_lib.sh"

ha_setup
lab_cap_start 100 || { e2e_fail "captures"; exit 1; }
LAB_UAS_MP_STEP=1000 lab_start_sip_servers 70 || { e2e_fail "sipp servers"; exit 1; }
sync_port=$(awk '$1 == "Group" || $1 == "Port" { print $2; exit }' "$LAB_RUN/d3/conntrackd.conf")

# two client addresses of d1 and two of d2, by the router's own ECMP choice
declare -A picked
clients=()
for ip in "${HA_CLI_IPS[@]}"; do
	d=$(ha_dispatcher_of "$ip")
	case $d in d1 | d2) ;; *) continue ;; esac
	[ "${picked[$d]:-0}" -lt 2 ] || continue
	picked[$d]=$(( ${picked[$d]:-0} + 1 ))
	clients+=("$ip:$d")
done
[ "${picked[d1]:-0}" -eq 2 ] && [ "${picked[d2]:-0}" -eq 2 ] ||
	{ e2e_fail "the router's ECMP sends no two of ${#HA_CLI_IPS[@]} client addresses to d1 and d2 each"; exit 1; }
# d3_held FILE: "HELD TOTAL" of d3 in ha_ct_replication's output (a dispatcher
# holding no media flow at all has no line there)
d3_held() { awk '$1 == "d3" { h = $2 } $1 ~ /^d[0-9]+$/ { t = $3 } END { print h + 0, t + 0 }' "$1"; }
if [ "$REPAIR" = startup ]; then
	echo "clients: ${clients[*]}; repair: d3's conntrackd restarted ($(grep -o 'StartupResync [a-z]*' "$LAB_RUN/d3/conntrackd.conf")), no resend timer"
else
	echo "clients: ${clients[*]}; resend every $HA_CT_RESYNC_S s ($([ "${HA_CT_RESYNC:-on}" = off ] && echo "off: sabotage" || echo on))"
fi

lab_in d3 iptables -I INPUT -p udp --dport "$sync_port" -j DROP || { e2e_fail "iptables in d3"; exit 1; }
t0=$(date +%s%3N)
echo "conntrackd's port $sync_port dropped into d3"
# calls that outlive the test's checks (sarad removes a call's flows when it
# ends): uac-long's 7 s of RTP, its BYE at 12 s
lab_assets
sed 's/<pause milliseconds="7500"\/>/<pause milliseconds="12000"\/>/' "$LAB_RUN/uac-long.xml" >"$LAB_RUN/uac-long12.xml"
names=() pids=() calls=0 port=5060 mp=7000 tr=u1
for c in "${clients[@]}"; do
	LAB_UAC_XML=uac-long12.xml lab_sipp_uac "uac-${c%:*}" "$tr" "${c%:*}" "$port" "$mp" 2
	names+=("uac-${c%:*}"); pids+=("$LAB_BGPID")
	calls=$((calls + 2)); port=$((port + 2)); mp=$((mp + 1000))
	case $tr in u1) tr=tn ;; *) tr=u1 ;; esac
done
# the calls' media decided and past their last state change (a UDP flow is
# assured 2 s in: conntrackd's last message for it until it ends)
sleep 3.5
ha_ct_replication >"$LAB_RUN/ct-blocked.txt"
read -r held total < <(d3_held "$LAB_RUN/ct-blocked.txt")
echo "while dropped: d3 holds $held of the $total media flows decided ($(grep -v '^d3 ' "$LAB_RUN/ct-blocked.txt" | tr '\n' ' '))"
[ "$total" -gt 0 ] || { e2e_fail "no media flow with a connmark in any dispatcher"; exit 1; }
[ "$held" -eq 0 ] || { e2e_fail "d3 holds $held of $total flows with its conntrackd's port dropped: the drop did not work"; exit 1; }
blocked_total=$total

lab_in d3 iptables -D INPUT -p udp --dport "$sync_port" -j DROP
t1=$(date +%s%3N)
echo "$((t1 - t0)) ms: the drop lifted"
if [ "$REPAIR" = startup ]; then
	# as a restarted conntrackd.service: the kernel keeps d3's own entries
	lab_stop TERM "${HA_CT_PID[d3]}" 30
	lab_bg "conntrackd-d3-restarted" d3 conntrackd -C "$LAB_RUN/d3/conntrackd.conf"
	HA_CT_PID[d3]=$LAB_BGPID
	ha_wait_conntrackd d3 || { e2e_fail "d3's conntrackd does not start again"; exit 1; }
	t1=$(date +%s%3N)
	echo "$((t1 - t0)) ms: d3's conntrackd answers again"
fi
# every round reads twice, 0.5 s apart (ha_ct_replication)
repaired=
while [ $(( $(date +%s%3N) - t1 )) -le $(( HA_CT_RESYNC_S * 1000 + 1500 )) ]; do
	ha_ct_replication >"$LAB_RUN/ct-after.txt"
	read -r held total < <(d3_held "$LAB_RUN/ct-after.txt")
	# the calls still run: every flow decided while d3 was cut off is there
	if [ "$held" -eq "$total" ] && [ "$total" -ge "$blocked_total" ]; then repaired=$(( $(date +%s%3N) - t1 )); break; fi
done
sed 's/^/  /' "$LAB_RUN/ct-after.txt"
for d in "${HA_DISPATCHERS[@]}"; do
	echo "  $d's resends: $(grep -c 'conntrackd -B' "$LAB_RUN/logs/ct-resync-$d.log" 2>/dev/null || echo 0)"
done
what="the drop was lifted (period $HA_CT_RESYNC_S s)"
[ "$REPAIR" = startup ] && what="its conntrackd answered again"
if [ -n "$repaired" ]; then
	echo "d3 holds all $total media flows ${repaired} ms after $what"
else
	e2e_fail "d3 holds $held of the $total media flows decided (${blocked_total} while it was cut off) $((HA_CT_RESYNC_S * 1000 + 1500)) ms after $what"
fi
read -r _ conflicts < <(grep '^conflicts ' "$LAB_RUN/ct-after.txt")
[ "$conflicts" -eq 0 ] || e2e_fail "$conflicts media flows held with two different marks"

ok_total=0 failed_total=0
for ((i = 0; i < ${#pids[@]}; i++)); do
	lab_wait_exit "${pids[i]}" 200 || lab_stop TERM "${pids[i]}"
	read -r ok failed < <(lab_sipp_stats "${names[i]}")
	ok_total=$((ok_total + ok)); failed_total=$((failed_total + failed))
done
for p in "${LAB_UAS_PIDS[@]}"; do lab_stop TERM "$p" 20; done
lab_cap_stop
[ "$ok_total" -eq "$calls" ] && [ "$failed_total" -eq 0 ] ||
	e2e_fail "calls: $ok_total successful, $failed_total failed, of $calls"
e2e_observed "$calls" 2
how="with the next bulk resend"
[ "$REPAIR" = startup ] && how="when its restarted conntrackd asked its peers (StartupResync)"
[ "$E2E_RC" -eq 0 ] && e2e_ok "d3's missing connmarks arrived $how; $calls calls on one server each"
exit "$E2E_RC"
