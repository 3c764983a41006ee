#!/usr/bin/env bash
# e2e_ha_rolling: a rolling restart of three active dispatchers behind the
# lab's BGP router (ECMP, BFD; tests/lab/ha_lib.sh), selection hash,
# conntrackd multicast between them. SIP calls (UDP and TCP, hold and resume
# re-INVITEs, RTP) from clients of every dispatcher; each dispatcher's sarad
# in turn is stopped with SIGTERM (its route must go), started again (its
# route must come back), and a new wave of calls from clients of every
# dispatcher starts right after, so that calls run across every restart and
# new ones are admitted throughout. Every call completes, with all its
# signalling and media at one server (the servers' captures, sara-replay
# --observed): no restart moved a session. The servers answer from disjoint
# media port ranges: a client moved to a dispatcher its flows' connmarks
# have not reached is placed by the answers alone (e2e_ha_split). After the
# last wave, every dispatcher must hold every media flow decided anywhere with
# its connmark (conntrackd's replication among three).
# Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
LAB_PREFIX=sara-e2e-har-
HA_DISPATCHER_COUNT=3
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$LAB_DIR/ha_lib.sh"

ha_setup
lab_cap_start 100 || { e2e_fail "captures"; exit 1; }
LAB_UAS_MP_STEP=1000 lab_start_sip_servers 70 || { e2e_fail "sipp servers"; exit 1; }
ndsp=${#HA_DISPATCHERS[@]}

# two client addresses per dispatcher, by the router's own ECMP choice
declare -A picked first
clients=()
for ip in "${HA_CLI_IPS[@]}"; do
	d=$(ha_dispatcher_of "$ip")
	[ "${picked[$d]:-0}" -lt 2 ] || continue
	picked[$d]=$(( ${picked[$d]:-0} + 1 ))
	[ -n "${first[$d]:-}" ] || first[$d]=$ip
	clients+=("$ip:$d")
done
for d in "${HA_DISPATCHERS[@]}"; do
	[ "${picked[$d]:-0}" -eq 2 ] ||
		{ e2e_fail "the router's ECMP sends no two of ${#HA_CLI_IPS[@]} client addresses to $d"; exit 1; }
done
echo "clients: ${clients[*]}"

names=() pids=() calls=0 port=5060 mp=7000
# uac NAME TRANSPORT IP CALLS: one more sipp client, its own ports
uac() {
	lab_sipp_uac "$1" "$2" "$3" "$port" "$mp" "$4"
	names+=("$1"); pids+=("$LAB_BGPID")
	calls=$((calls + $4)); port=$((port + 2)); mp=$((mp + 1000))
}
# wave W: one call from the first client of every dispatcher, UDP and TCP alternating
wave() {
	local d tr=u1
	for d in "${HA_DISPATCHERS[@]}"; do
		uac "uac-w$1-$d" "$tr" "${first[$d]}" 1
		case $tr in u1) tr=tn ;; *) tr=u1 ;; esac
	done
}

# 2 calls per client, one client of each dispatcher on UDP and one on TCP
tr=u1
for c in "${clients[@]}"; do
	uac "uac-${c%:*}" "$tr" "${c%:*}" 2
	case $tr in u1) tr=tn ;; *) tr=u1 ;; esac
done
t0=$(date +%s%3N)
w=0
for d in "${HA_DISPATCHERS[@]}"; do
	sleep 1.3
	echo "$(( $(date +%s%3N) - t0 )) ms: SIGTERM to sarad in $d"
	lab_stop TERM "${HA_SARAD_PID[$d]}" 50
	ha_wait_paths $((ndsp - 1)) 30 || e2e_fail "the router still sends to $d 3 s after its sarad stopped"
	ha_start_sarad "$d" || { e2e_fail "sarad in $d does not start again"; exit 1; }
	ha_wait_paths "$ndsp" 50 || e2e_fail "$d's route is not announced again"
	echo "$(( $(date +%s%3N) - t0 )) ms: $d announcing again"
	w=$((w + 1)); wave "$w"
done
# conntrackd among three: from 1.5 s after the last wave started, every
# dispatcher must hold every media flow any dispatcher decided, with its mark
# (read twice, 0.5 s apart: ha_ct_replication), within CT_COPY_MAX_MS: a busy
# machine delays conntrackd's messages; a lost one would wait for the bulk
# resend (ha.sync_resync_s, longer than this test), which must not be needed.
CT_COPY_MAX_MS=${CT_COPY_MAX_MS:-6000}
sleep 1.5
ct_from=$(date +%s%3N)
while :; do
	ha_ct_replication >"$LAB_RUN/ct-replication.txt"
	ct_ms=$(( $(date +%s%3N) - ct_from ))
	awk '$1 != "conflicts" && $2 != $3 { short = 1 } $1 == "conflicts" && $2 != 0 { short = 1 }
		END { exit short }' "$LAB_RUN/ct-replication.txt" && break
	[ "$ct_ms" -ge "$CT_COPY_MAX_MS" ] && break
	sleep 0.5
done
echo "conntrackd's copies read $ct_ms ms after the first reading began (bound $CT_COPY_MAX_MS ms)"
while read -r d held total; do
	[ "$d" = conflicts ] && continue
	echo "media flows with their connmark in $d: $held of $total"
	[ "$total" -gt 0 ] || e2e_fail "no media flow with a connmark in any dispatcher"
	[ "$held" -eq "$total" ] || e2e_fail "conntrackd: $d holds $held of the $total media flows decided, with their marks"
done <"$LAB_RUN/ct-replication.txt"
read -r _ conflicts < <(grep '^conflicts ' "$LAB_RUN/ct-replication.txt")
[ "$conflicts" -eq 0 ] || e2e_fail "$conflicts media flows held with two different marks"
for d in "${HA_DISPATCHERS[@]}"; do
	# conntrackd's sequence counters, one for all its peers: messages numbered
	# at or below the last one taken ("before": FTFW drops them, NOTRACK only
	# counts them) and numbers skipped ("lost")
	lab_in "$d" conntrackd -C "$LAB_RUN/$d/conntrackd.conf" -s network 2>/dev/null |
		awk -v d="$d" '/Packets lost:/ { l = $3 } /Packets before:/ { b = $3 } END { printf "conntrackd %s: %s lost, %s before\n", d, l, b }'
done

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
		grep -E 'sessions_adopted|sessions_created|journal_sessions_restored' | sed 's/^/  /' | head -6
done
for p in "${LAB_UAS_PIDS[@]}"; do lab_stop TERM "$p" 20; done
lab_cap_stop
[ "$ok_total" -eq "$calls" ] && [ "$failed_total" -eq 0 ] ||
	e2e_fail "calls: $ok_total successful, $failed_total failed, of $calls"
e2e_observed "$calls" 2
[ "$E2E_RC" -eq 0 ] && e2e_ok "$calls calls completed on one server each across a rolling restart of $ndsp dispatchers"
exit "$E2E_RC"
