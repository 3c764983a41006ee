#!/usr/bin/env bash
# ha_failover.sh BUILD - figures of a dispatcher failure in the two-dispatcher
# lab (tests/lab/ha_lib.sh): 8 SIP calls with 7 s of RTP from clients of both
# dispatchers; 2 s in, one dispatcher fails, in two ways:
#   sarad     its sarad is killed (SIGKILL): sara-ha-check withdraws its route
#   node      sarad, BIRD and conntrackd killed and the namespace drops every
#             packet (a dead machine whose link stays up): BFD takes the route down
# Prints, per way: the route's withdrawal at the router, the failover time (from
# the kill to the last of the victim's media flows flowing again, from the
# servers' captures), the longest media gap of any flow, calls failed and
# sessions split (sessions lost). Figures, not a test: exit 0 unless the lab
# cannot be built (77: no root or no namespaces).
set -uo pipefail
build=${1:-build}
[ -d "$build" ] && export SARA_BIN_DIR; SARA_BIN_DIR=$(cd "$build" && pwd)
here=$(cd "$(dirname "$0")" && pwd)

one_run() {
	local mode=$1
	bash -s "$mode" <<'RUN'
mode=$1
LAB_PREFIX=sara-bench-ha-
. "$SARA_ROOT/tests/netns/lib.sh"
. "$LAB_DIR/ha_lib.sh"
ha_setup
lab_cap_start 100 || exit 1
lab_start_sip_servers 70 || exit 1
declare -A picked
clients=()
for ip in "${HA_CLI_IPS[@]}"; do
	d=$(ha_dispatcher_of "$ip")
	[ "${picked[$d]:-0}" -lt 2 ] || continue
	picked[$d]=$(( ${picked[$d]:-0} + 1 )); clients+=("$ip:$d")
done
victim=${clients[0]#*:}
victim_ips=()
for c in "${clients[@]}"; do [ "${c#*:}" = "$victim" ] && victim_ips+=("${c%:*}"); done
names=() pids=() port=5060 mp=7000
for c in "${clients[@]}"; do
	LAB_UAC_XML=uac-media.xml lab_sipp_uac "uac-${c%:*}" u1 "${c%:*}" "$port" "$mp" 2
	names+=("uac-${c%:*}"); pids+=("$LAB_BGPID"); port=$((port + 2)); mp=$((mp + 1000))
done
sleep 2
kill_s=$(date +%s.%N)
case $mode in
sarad) kill -KILL "${HA_SARAD_PID[$victim]}" ;;
node)
	lab_in "$victim" iptables -t raw -I PREROUTING -j DROP
	lab_in "$victim" iptables -t raw -I OUTPUT -j DROP
	kill -KILL "${HA_SARAD_PID[$victim]}" "${HA_BIRD_PID[$victim]}" "${HA_CT_PID[$victim]}" "${HA_CHECK_PID[$victim]}" ;;
esac
withdrawn=-1
for ((i = 0; i < 300; i++)); do
	[ "$(ha_paths)" -eq 1 ] && { withdrawn=$(echo "($(date +%s.%N) - $kill_s) * 1000" | bc); break; }
	sleep 0.01
done
failed=0 ok=0
for ((i = 0; i < ${#pids[@]}; i++)); do
	lab_wait_exit "${pids[i]}" 450 || lab_stop TERM "${pids[i]}"
	read -r o f < <(lab_sipp_stats "${names[i]}"); ok=$((ok + o)); failed=$((failed + f))
done
for p in "${LAB_UAS_PIDS[@]}"; do lab_stop TERM "$p" 20; done
lab_cap_stop
lab_observed_check >/dev/null 2>&1
split=$(/usr/bin/python3 -c "import json; print(json.load(open('$LAB_RUN/observed.json'))['summary']['split'])" 2>/dev/null || echo "?")
# per inbound media flow of the victim's clients: first packet after the kill
filter=$(printf 'ip.src == %s || ' "${victim_ips[@]}"); filter="(${filter% || }) && udp && !icmp && udp.dstport != 5060"
for s in "${LAB_SERVERS[@]}"; do
	tshark -n -r "$LAB_RUN/cap/$s.pcap" -Y "$filter" -T fields -e frame.time_epoch -e ip.src -e udp.srcport 2>/dev/null
done | sort -n | awk -v k="$kill_s" -v mode="$mode" -v w="$withdrawn" -v ok="$ok" -v failed="$failed" -v nsplit="$split" '
	{ f = $2 ":" $3; if ($1 <= k) { last[f] = $1 } else if (!(f in after)) { after[f] = $1 }
	  if (f in prev && $1 - prev[f] > gap) gap = $1 - prev[f]; prev[f] = $1 }
	END { worst = 0; n = 0
	      for (f in last) { n++; if (!(f in after)) { lost++; continue }
	                        printf "  flow %s: last before the kill %+.0f ms, first after %+.0f ms\n", f, (last[f] - k) * 1000, (after[f] - k) * 1000
	                        if (after[f] - k > worst) worst = after[f] - k }
	      printf "ha_failover %-6s route_withdrawn_ms %6.0f  failover_ms %6.0f  longest_media_gap_ms %6.0f  victim_media_flows %d  flows_never_back %d  calls_ok %d  calls_failed %d  sessions_split %s\n",
	             mode, w, worst * 1000, gap * 1000, n, lost, ok, failed, nsplit }'
RUN
}
export SARA_ROOT; SARA_ROOT=$(cd "$here/../.." && pwd)
rc=0
for mode in sarad node; do
	out=$(flock /tmp/sara-netns.lock timeout 150 bash -c "$(declare -f one_run); one_run $mode" 2>&1) || rc=$?
	if [ "$rc" -eq 77 ]; then echo "ha_failover: skipped: $(printf '%s\n' "$out" | grep -m1 skip)"; exit 0; fi
	printf '%s\n' "$out" | grep -E '^(ha_failover|  flow)' || { echo "ha_failover $mode: no figures (exit $rc)"; printf '%s\n' "$out" | tail -5; }
done
exit 0
