#!/usr/bin/env bash
# lab.sh - the sara lab: a real cluster (client, router, sarad dispatcher, sara-gw gateway,
# 3 servers) in network namespaces, driven by real SIP and RTSP programs.
#
#   tests/lab/lab.sh demo [--l4] [BUILD_DIR]   build the lab, run calls + RTSP sessions through it, report
#                                  whether every session stayed on one server, tear it down.
#                                  BUILD_DIR (e.g. build) holds the programs; --l4: no sarad, a per-5-tuple HMARK balancer instead (shows
#                                  the split sessions sara exists to prevent).
#   tests/lab/lab.sh down          delete a lab left behind (same SARA_LAB_PREFIX)
#
# Environment: SARA_LAB_PREFIX (namespace prefix, default sara-lab-), SARA_BIN_DIR (where
# sarad, sara-gw, sara-ctl, sara-replay are; default build/),
# LAB_KEEP=1 keeps the run dir (/tmp/sara-lab.XXXXXX: config, logs, captures).
# Exit: 0 every session intact, 1 a check failed, 77 no root / no namespaces.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../netns/lib.sh"

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; }

demo() {
	local l4=0 t0 rc=0 arg
	for arg in "$@"; do
		case $arg in
		--l4) l4=1 ;;
		*) if [ -d "$arg" ]; then SARA_BIN_DIR=$(cd "$arg" && pwd); else usage >&2; exit 2; fi ;;
		esac
	done
	t0=$(date +%s)
	lab_check_env || exit $?
	trap lab_cleanup EXIT
	trap 'exit 130' INT TERM
	lab_init
	lab_log "run dir $LAB_RUN, namespaces ${LAB_PREFIX}*"
	lab_up || exit 1
	lab_config
	local mode
	if [ "$l4" = 1 ]; then
		lab_rules_hmark src,dst,sport,dport,proto
		mode="kernel-only HMARK per 5-tuple (an L4 balancer, no sarad)"
	else
		lab_rules || exit 1
		if lab_start_sarad 100; then
			mode="sarad (rules by $LAB_RULES_MODE)"
			lab_start_gw 100 || mode="$mode, WITHOUT sara-gw (not available)"
		else
			mode="NO sarad (not available): fail-open bypass, multipath route by client address"
		fi
	fi
	lab_log "mode: $mode"
	lab_log "programs: sarad=$(lab_bin sarad) sara-gw=$(lab_bin sara-gw) sara-ctl=$(lab_bin sara-ctl) sara-replay=$(lab_bin sara-replay)"

	lab_cap_start 100 || exit 1
	lab_start_sip_servers 70 || exit 1
	lab_start_rtsp_servers 60 || exit 1

	# clients, all at once: 3 UDP calls from .10 (one shared signalling flow), 2 UDP calls
	# from .12, 3 TCP calls from .11 (a connection each); RTSP over UDP and TCP interleaved,
	# several sessions from .10
	local -a sip_names=(sip-udp-a sip-udp-b sip-tcp) rtsp_names=() rtsp_pids=() sip_pids=()
	lab_sipp_uac sip-udp-a u1 198.18.0.10 5060 7000 3; sip_pids+=("$LAB_BGPID")
	lab_sipp_uac sip-udp-b u1 198.18.0.12 5062 8000 2; sip_pids+=("$LAB_BGPID")
	lab_sipp_uac sip-tcp tn 198.18.0.11 5064 9000 3; sip_pids+=("$LAB_BGPID")
	sleep 0.3
	lab_ffmpeg_play rtsp-ffmpeg-udp-1 udp 3; rtsp_names+=(rtsp-ffmpeg-udp-1); rtsp_pids+=("$LAB_BGPID")
	lab_ffmpeg_play rtsp-ffmpeg-udp-2 udp 3; rtsp_names+=(rtsp-ffmpeg-udp-2); rtsp_pids+=("$LAB_BGPID")
	lab_ffmpeg_play rtsp-ffmpeg-tcp tcp 3;   rtsp_names+=(rtsp-ffmpeg-tcp);   rtsp_pids+=("$LAB_BGPID")
	lab_gst_play rtsp-gst-udp udp 4;         rtsp_names+=(rtsp-gst-udp);      rtsp_pids+=("$LAB_BGPID")
	lab_gst_play rtsp-gst-tcp tcp 4;         rtsp_names+=(rtsp-gst-tcp);      rtsp_pids+=("$LAB_BGPID")

	local i p st ok fail calls_ok=0 calls_failed=0 rtsp_ok=0 rtsp_failed=0
	for ((i = 0; i < ${#sip_pids[@]}; i++)); do
		p=${sip_pids[i]}
		lab_wait_exit "$p" 450 || lab_stop TERM "$p"
		st=$(lab_rc "$p")
		read -r ok fail < <(lab_sipp_stats "${sip_names[i]}")
		calls_ok=$((calls_ok + ok)); calls_failed=$((calls_failed + fail))
		printf '  %-18s exit %s, calls successful %s failed %s\n' "${sip_names[i]}" "$st" "$ok" "$fail"
	done
	for ((i = 0; i < ${#rtsp_pids[@]}; i++)); do
		p=${rtsp_pids[i]}
		lab_wait_exit "$p" 250 || lab_stop TERM "$p"
		st=$(lab_rc "$p")
		# a gst client (lab_gst_play) exits 0 only after its EOS
		case ${rtsp_names[i]}:$st in
		*gst*:0) if grep -q 'Got EOS from element' "$LAB_RUN/logs/${rtsp_names[i]}.log"; then
				rtsp_ok=$((rtsp_ok + 1)); ok=ok
			else
				rtsp_failed=$((rtsp_failed + 1)); ok="FAILED: no EOS"
			fi ;;
		*:0) rtsp_ok=$((rtsp_ok + 1)); ok=ok ;;
		*) rtsp_failed=$((rtsp_failed + 1)); ok=FAILED ;;
		esac
		printf '  %-18s exit %s (%s)\n' "${rtsp_names[i]}" "$st" "$ok"
	done

	sleep 0.5
	echo "== sarad counters"
	if [ -n "$LAB_SARAD_PID" ] && lab_alive "$LAB_SARAD_PID"; then
		lab_sarad_status | sed 's/^/  /'
	else
		echo "  (sarad not running)"
	fi
	local q qd
	read -r q qd < <(lab_queue_counters)
	echo "  kernel queue 0: $q packets queued, $qd dropped"
	if [ "$LAB_RULES_MODE" != hmark ]; then
		echo "  dispatcher chain SARA (packets per rule):"
		lab_sara_rule_counts | awk '{ n = $1; $1 = ""; printf "    %8d %s\n", n, $0 }'
		lab_sara_rule_counts | awk '$2 == "RETURN" { k = $1 } $2 == "NFQUEUE" && $0 !~ /dpt|dports/ { u = $1 }
			END { printf "  non-signalling packets: %d crossed into user space, %d stayed in the kernel (connmark)\n", u, k }'
	fi

	# stop servers (sipp UAS, gst), then captures, then sarad/sara-gw
	for p in "${LAB_UAS_PIDS[@]}" "${LAB_RTSP_PIDS[@]}"; do lab_stop TERM "$p" 20; done
	lab_cap_stop
	[ -n "$LAB_GW_PID" ] && lab_stop TERM "$LAB_GW_PID"
	[ -n "$LAB_SARAD_PID" ] && lab_stop TERM "$LAB_SARAD_PID"

	echo "== clients"
	echo "  SIP calls: $calls_ok successful, $calls_failed failed (8 attempted: 5 UDP, 3 TCP)"
	echo "  RTSP sessions: $rtsp_ok completed, $rtsp_failed failed (5 attempted: 3 ffmpeg, 2 gst; UDP and TCP)"
	[ "$calls_failed" -eq 0 ] && [ "$calls_ok" -eq 8 ] && [ "$rtsp_failed" -eq 0 ] || rc=1

	echo "== per server (from its capture)"
	local s sc rs used=0
	for s in "${LAB_SERVERS[@]}"; do
		read -r sc rs < <(lab_server_sessions "$s")
		printf '  %s: %s SIP calls, %s RTSP sessions, %s packets captured\n' "$s" "$sc" "$rs" \
			"$(grep -o '[0-9]* packets captured' "$LAB_RUN/logs/tcpdump-$s.log" | cut -d' ' -f1)"
		[ $((sc + rs)) -gt 0 ] && used=$((used + 1))
	done
	echo "  servers that received sessions: $used of ${#LAB_SERVERS[@]}"

	echo "== integrity: every session's signalling and media at one server"
	local orc=0
	lab_observed_check || orc=$?
	if [ "$orc" -ne 2 ]; then
		/usr/bin/python3 - "$LAB_RUN/observed.json" <<'EOF' || true
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception as e:
    print("  (sara-replay output unreadable: %s)" % e); sys.exit(0)
s = d.get("summary", {})
print("  sara-replay --observed: sessions %s intact %s split %s; media flows %s predicted %s unpredicted %s"
      % (s.get("sessions"), s.get("intact"), s.get("split"), s.get("media_flows"),
         s.get("predicted"), s.get("unpredicted")))
for x in d.get("sessions", []):
    servers = sorted({v for f in x.get("flows", []) for v in f.get("servers", []) if v})
    print("    %-4s %-40.40s -> %-8s %s" % (x.get("proto"), x.get("key"), ",".join(servers) or "-",
          "intact" if x.get("intact") else "SPLIT"))
for f in d.get("unassigned_flows", []):
    print("    unassigned %s %s -> %s packets %s servers %s" % (f.get("l4"), f.get("src"), f.get("dst"),
          f.get("packets"), ",".join(v or "none" for v in f.get("servers", []))))
EOF
		if [ "$orc" -eq 0 ]; then echo "  verdict: every session intact (sara-replay --check passed)"
		else echo "  verdict: SPLIT or unpredicted sessions (sara-replay --check exit $orc)"; rc=1; fi
	else
		echo "  (sara-replay --observed not available yet: per-media-flow check on the captures)"
		local split
		lab_flow_servers >"$LAB_RUN/flows.txt"
		split=$(awk '$6 ~ /,/' "$LAB_RUN/flows.txt" | wc -l)
		echo "  media flows: $(wc -l <"$LAB_RUN/flows.txt"), at more than one server: $split"
		awk '$6 ~ /,/ { print "    SPLIT " $0 }' "$LAB_RUN/flows.txt" | head -20
		if [ "$split" -eq 0 ]; then echo "  verdict: every media flow at one server"
		else echo "  verdict: media flows SPLIT over servers"; rc=1; fi
	fi
	echo "== mode: $mode; took $(( $(date +%s) - t0 )) s"
	return "$rc"
}

case ${1:-} in
demo) shift; demo "$@"; exit $? ;;
down) lab_check_env >/dev/null || exit $?; LAB_CREATED=1; lab_down_ns; exit 0 ;;
-h | --help | help) usage; exit 0 ;;
*) usage >&2; exit 2 ;;
esac
