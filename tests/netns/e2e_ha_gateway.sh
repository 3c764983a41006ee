#!/usr/bin/env bash
# e2e_ha_gateway: two gateways under keepalived VRRP (sara-ctl keepalived),
# sara-gw on both, in the lab with two active dispatchers (tests/lab/ha_lib.sh).
# gw1 holds the shared addresses (the servers' default route, the router's
# next hop) and announces; gw2's sara-gw sees nothing. SIP calls (UDP and
# TCP, hold and resume re-INVITEs, RTP) from clients of both dispatchers;
# 1.5 s in, gw1 dies: its keepalived and sara-gw get SIGKILL and its links go
# down. gw2 takes the addresses, the calls go on through it (its sara-gw
# announces the re-INVITEs' answers), new calls are admitted, and every call
# completes with all its signalling and media at one server (the servers'
# captures, sara-replay --observed).
# Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
LAB_PREFIX=sara-e2e-hag-
HA_GATEWAY_COUNT=2
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$LAB_DIR/ha_lib.sh"

# gw_sent GW: announcements GW's sara-gw has sent (its counters, logged on SIGUSR1)
gw_sent() {
	local log=$LAB_RUN/logs/sara-gw-$1.log before
	before=$(grep -c 'event=counters when=SIGUSR1 group=daemon' "$log")
	kill -USR1 "${HA_GW_PID[$1]}"
	for ((i = 0; i < 20; i++)); do
		[ "$(grep -c 'event=counters when=SIGUSR1 group=daemon' "$log")" -gt "$before" ] && break
		sleep 0.1
	done
	grep 'event=counters when=SIGUSR1 group=daemon' "$log" | tail -1 | grep -o ' sent=[0-9]*' | cut -d= -f2
}

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
echo "clients: ${clients[*]}; VRRP master $(ha_vrrp_master)"

names=() pids=() calls=0 port=5060 mp=7000 tr=u1
for c in "${clients[@]}"; do
	ip=${c%:*}
	lab_sipp_uac "uac-$ip" "$tr" "$ip" "$port" "$mp" 2; names+=("uac-$ip"); pids+=("$LAB_BGPID")
	case $tr in u1) tr=tn ;; *) tr=u1 ;; esac
	calls=$((calls + 2)); port=$((port + 2)); mp=$((mp + 1000))
done
sleep 1.5
sent1=$(gw_sent gw1) sent2=$(gw_sent gw2)
echo "announcements before the failure: gw1 ${sent1:-?}, gw2 ${sent2:-?}"
[ "${sent1:-0}" -gt 0 ] || e2e_fail "gw1, the master, announced nothing"
[ "${sent2:-1}" -eq 0 ] || e2e_fail "gw2, the backup, announced ${sent2:-?} (it should see no reply)"

# gw1 dies: keepalived (parent and VRRP child) and sara-gw killed, links down
kill_ms=$(date +%s%3N)
# (the parent respawns a VRRP child it sees die, so kill until none is left)
{
	for ((round = 0; round < 20; round++)); do
		left=0
		for p in $(ip netns pids "$(lab_ns gw1)"); do
			case $(cat "/proc/$p/comm" 2>/dev/null) in keepalived) kill -KILL "$p"; left=$((left + 1)) ;; esac
		done
		[ "$left" -eq 0 ] && break
		sleep 0.05
	done
	kill -KILL "${HA_GW_PID[gw1]}"
	wait "${HA_KEEPALIVED_PID[gw1]}" "${HA_GW_PID[gw1]}"
} 2>/dev/null   # no job notices of what it kills
lab_in gw1 ip link set g0 down
lab_in gw1 ip link set g1 down
ha_wait_master gw2 30 || e2e_fail "gw2 did not take the shared addresses in 3 s"
echo "gw2 holds the shared addresses $(( $(date +%s%3N) - kill_ms )) ms after the kill"
sleep 0.5
# new calls, answered through gw2
ip=${clients[0]%:*}
lab_sipp_uac "uac-new-$ip" u1 "$ip" 5090 12000 2; names+=("uac-new-$ip"); pids+=("$LAB_BGPID"); calls=$((calls + 2))

ok_total=0 failed_total=0
for ((i = 0; i < ${#pids[@]}; i++)); do
	lab_wait_exit "${pids[i]}" 450 || lab_stop TERM "${pids[i]}"
	st=$(lab_rc "${pids[i]}")
	read -r ok failed < <(lab_sipp_stats "${names[i]}")
	echo "  ${names[i]}: exit $st, calls successful $ok failed $failed"
	ok_total=$((ok_total + ok)); failed_total=$((failed_total + failed))
done
sent2=$(gw_sent gw2)
echo "announcements of gw2 after the failure: ${sent2:-?}"
[ "${sent2:-0}" -gt 0 ] || e2e_fail "gw2 announced nothing after taking over"
for n in "${HA_DISPATCHERS[@]}"; do
	echo "sarad $n:"; lab_in "$n" "$(lab_bin sara-ctl)" -c "${HA_CFG[$n]}" status 2>&1 |
		grep -E 'sessions_adopted|sessions_created|announce' | sed 's/^/  /' | head -8
done
for p in "${LAB_UAS_PIDS[@]}"; do lab_stop TERM "$p" 20; done
lab_cap_stop
[ "$ok_total" -eq "$calls" ] && [ "$failed_total" -eq 0 ] ||
	e2e_fail "calls: $ok_total successful, $failed_total failed, of $calls"
e2e_observed "$calls" 2
[ "$E2E_RC" -eq 0 ] && e2e_ok "every call completed on one server across the gateway's failure"
exit "$E2E_RC"
