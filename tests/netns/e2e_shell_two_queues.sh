#!/usr/bin/env bash
# e2e_shell_two_queues: sarad with the default selector (shell, fed by node agents whose
# loads come from files: s1 and s2 at 0.1, s3 at 0.6) and two queue threads
# (queue.count = 2, the rules spreading packets with --queue-balance 0:1). 16 SIP calls
# (sipp, UDP and TCP, from 8 client addresses) and an RTSP session (ffmpeg) through sarad:
# every session's packets at exactly one server, no unpredicted media, sessions on s1 and
# s2 and fewer on the loaded s3 than on either, both queue threads handled packets
# without loss. Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
LAB_PREFIX=sara-e2e-sq-
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# selection = { }: every selection key at its default (algorithm "shell")
E2E_CFG_EXTRA='selection = { };
queue = { first = 0; count = 2; fail_open = true; };
agents = { listen = "198.18.2.1:7400"; interval_ms = 200; misses = 3; };'
e2e_setup 110
CTL=$(lab_bin sara-ctl) AGENT=$(lab_bin sara-agent)
grep -q -- --app-load <<<"$("$AGENT" --help 2>&1)" || { e2e_fail "sara-agent (${AGENT:-not built}) has no --app-load"; exit 1; }
ctl() { lab_in dsp timeout 5 "$CTL" -c "$LAB_CFG" "$@"; }

# The rules sara-ctl generates and applied: every NFQUEUE rule spreads over queues 0 and 1.
[ "$LAB_RULES_MODE" = sara-ctl ] || e2e_fail "rules applied by the lab's fallback, not by sara-ctl (logs/rules-dsp.log)"
"$CTL" -c "$LAB_CFG" rules >"$LAB_RUN/logs/rules-printed.txt" 2>&1 || e2e_fail "sara-ctl rules failed"
for f in "$LAB_RUN/logs/rules-printed.txt" "$LAB_RUN/logs/dsp-mangle.rules"; do
	nfq=$(grep -c -- '-j NFQUEUE' "$f")
	balanced=$(grep -- '-j NFQUEUE' "$f" | grep -c -- '--queue-balance 0:1')
	echo "$(basename "$f"): $nfq NFQUEUE rules, $balanced with --queue-balance 0:1"
	[ "$nfq" -eq 4 ] && [ "$balanced" -eq 4 ] || e2e_fail "$(basename "$f"): $balanced of $nfq NFQUEUE rules spread over queues 0:1, want 4 of 4"
done
# sarad serves both queues (a thread each) with the default selector
for ((i = 0; i < 50; i++)); do
	lab_in dsp awk '$1 == 1 && $2 != 0 { ok = 1 } END { exit !ok }' /proc/net/netfilter/nfnetlink_queue && break
	sleep 0.1
done
grep -m1 'selection' "$LAB_RUN/logs/sarad.log" | sed 's/^/sarad: /'
grep -q 'event=config .*selection=shell queues=0\.\.1' "$LAB_RUN/logs/sarad.log" ||
	e2e_fail "sarad does not report selection shell on queues 0..1 (logs/sarad.log)"

lab_cap_start 100 || { e2e_fail "captures"; exit 1; }
e2e_cap_client_start 100 || { e2e_fail "client capture"; exit 1; }
lab_start_sip_servers 70 || { e2e_fail "sipp servers"; exit 1; }
lab_start_rtsp_servers 60 || { e2e_fail "gst-rtsp-server"; exit 1; }
declare -A LOAD=([s1]=0.1 [s2]=0.1 [s3]=0.6)
for s in "${LAB_SERVERS[@]}"; do
	echo "${LOAD[$s]}" >"$LAB_RUN/load-$s"
	lab_bg "agent-$s" "$s" timeout 100 "$AGENT" -c "$LAB_CFG" --id "$s" --foreground \
		--app-load "file:$LAB_RUN/load-$s" --components backlog
done
# servers_field S FIELD: a field of server S in `sara-ctl servers --json`
servers_field() {
	ctl servers --json 2>/dev/null | python3 -c "import json,sys
d = json.load(sys.stdin)
print([s for s in d['servers'] if s['id'] == sys.argv[1]][0].get(sys.argv[2]))" "$1" "$2" 2>/dev/null
}
# every server up, and shell has its load: the estimate within 0.05 of the file's
for s in "${LAB_SERVERS[@]}"; do
	for ((i = 0; i < 50; i++)); do
		est=$(servers_field "$s" load_estimate)
		[ "$(servers_field "$s" state)" = up ] &&
			awk -v e="$est" -v l="${LOAD[$s]}" 'BEGIN { exit !(e != "None" && e - l < 0.05 && l - e < 0.05) }' && break
		sleep 0.1
	done
	echo "$s: state $(servers_field "$s" state), weight factor $(servers_field "$s" weight_factor), load estimate $est (file ${LOAD[$s]})"
	[ "$i" -lt 50 ] || e2e_fail "$s not up with its load after 5 s"
done

# 8 sipp clients of 2 calls each (6 over UDP, 2 over TCP), each from its own address so
# that the queue balancer's hash (addresses and protocol) spreads them over both queues
CLIENTS=()
for ((i = 0; i < 9; i++)); do
	ip -n "$(lab_ns cli)" addr add "198.18.0.$((20 + i))/24" dev c0
done
# ffmpeg cannot bind an address: a route makes it leave from 198.18.0.28
RTSP_CLIENT=198.18.0.28
ip -n "$(lab_ns cli)" route add "$LAB_VIP/32" via 198.18.0.1 src "$RTSP_CLIENT"
for ((i = 0; i < 8; i++)); do
	t=u1; [ "$i" -ge 6 ] && t=tn
	lab_sipp_uac "uac-$i" "$t" "198.18.0.$((20 + i))" 5060 7000 2
	CLIENTS+=("uac-$i=$LAB_BGPID")
done
lab_ffmpeg_play rtsp udp 3; CLIENTS+=("rtsp=$LAB_BGPID")
CALLS=16 SESSIONS=17
E2E_WAIT_TENTHS=300 e2e_wait "${CLIENTS[@]}"
ok_total=0
for ((i = 0; i < 8; i++)); do
	read -r ok fail < <(lab_sipp_stats "uac-$i")
	ok_total=$((ok_total + ok))
	[ "${E2E_ST[uac-$i]}" = 0 ] || e2e_fail "sipp uac-$i exit ${E2E_ST[uac-$i]}, calls successful $ok failed $fail (see logs/uac-$i.log)"
done
echo "sipp: $ok_total of $CALLS calls successful; ffmpeg: exit ${E2E_ST[rtsp]}"
[ "$ok_total" -eq "$CALLS" ] || e2e_fail "$ok_total of $CALLS calls succeeded"
[ "${E2E_ST[rtsp]}" = 0 ] || e2e_fail "the RTSP client failed (see logs/rtsp.log)"

# both queue threads took packets, gave every one a verdict and lost none
ctl status --json >"$LAB_RUN/status.json" 2>"$LAB_RUN/logs/status.err" || e2e_fail "sara-ctl status --json"
python3 - "$LAB_RUN/status.json" <<'PY' >"$LAB_RUN/queues.txt" || e2e_fail "cannot read the queues in sarad's status"
import json, sys
d = json.load(open(sys.argv[1]))
for q in d["queues"]:
    print(q["num"], q["received"], q["verdicts"], q["verdict_errors"], q["enobufs"],
          q.get("kernel_dropped", 0), q.get("kernel_user_dropped", 0))
PY
nq=0
while read -r num received verdicts errors enobufs kdrop kudrop; do
	echo "queue $num: received $received, verdicts $verdicts, verdict errors $errors, enobufs $enobufs, kernel dropped $kdrop + $kudrop"
	nq=$((nq + 1))
	[ "$received" -gt 0 ] || e2e_fail "queue $num handled no packet"
	[ "$verdicts" -eq "$received" ] || e2e_fail "queue $num: $verdicts verdicts for $received packets"
	[ "$((errors + enobufs + kdrop + kudrop))" -eq 0 ] || e2e_fail "queue $num lost packets or verdicts"
done <"$LAB_RUN/queues.txt"
[ "$nq" -eq 2 ] || e2e_fail "sarad's status lists $nq queues, want 2"

sleep 0.5
for p in "${LAB_UAS_PIDS[@]}" "${LAB_RTSP_PIDS[@]}"; do lab_stop TERM "$p" 20; done
lab_cap_stop

rtp=$(e2e_count "$LAB_RUN/cap/cli.pcap" "ip.src == $LAB_VIP && ip.dst == $RTSP_CLIENT && udp && !icmp")
echo "RTSP client: $rtp media packets received"
[ "$rtp" -ge 50 ] || e2e_fail "the RTSP client received $rtp media packets, want >= 50"
# sessions per server, from the servers' captures: the loaded s3 gets fewer than s1 and s2
declare -A PER
for s in "${LAB_SERVERS[@]}"; do
	read -r sip rtsp < <(lab_server_sessions "$s")
	PER[$s]=$((sip + rtsp))
	echo "$s: $sip SIP calls, $rtsp RTSP sessions (load ${LOAD[$s]})"
done
[ "${PER[s3]}" -lt "${PER[s1]}" ] && [ "${PER[s3]}" -lt "${PER[s2]}" ] ||
	e2e_fail "shell placed ${PER[s1]}/${PER[s2]}/${PER[s3]} sessions on s1/s2/s3: the loaded s3 not the least used"

# every session intact at one server, no unpredicted media, sessions on at least 2 servers
e2e_observed "$SESSIONS" 2
e2e_crossings 4
[ "$E2E_RC" -eq 0 ] && echo "PASS e2e_shell_two_queues" || echo "FAIL e2e_shell_two_queues"
exit "$E2E_RC"
