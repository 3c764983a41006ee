#!/usr/bin/env bash
# goodput.sh - the goodput experiment (issue 4, item 6) in the lab: 3 SIP servers of known
# capacity behind sarad, sipp offering 0.5x to 3x that capacity with admission off, SA2C
# (503) and random drop; completed calls/s and media loss per point: table, CSV and plot.
#
#   tests/bench/goodput.sh [BUILD_DIR]
#   tests/bench/goodput.sh --plot CSV [OUT_DIR]   redraw the plot of an earlier run
#   tests/bench/goodput.sh --report OUT_DIR CSV...   one SIP table and plot from several runs' CSVs
#
# Each point: fresh servers (tests/tools/sip_load_server: one worker, fixed service times,
# so capacity = 1 / (INVITE + ACK + BYE service) calls/s whatever the host's CPUs do), an
# agent per server reporting that server's utilisation, a fresh sarad with the mode's
# config, every packet to the VIP through sarad (lab_rules_all_queued: the random mode
# must see media too), then sipp (tests/bench/goodput-uac.xml: RTP, 6 s setup deadline)
# offering RATE calls/s for GOODPUT_SECONDS, and the drain.
# Measured: completed calls/s (sipp's successful calls / offered time, and BYEs the
# servers completed), media delivered to the servers per completed call (120 RTP packets
# sent), sarad's 503s, and the CPU of sarad, sipp and the host (to show neither sarad nor
# the load generator is the bottleneck).
# Modes sa2c-oc and sa2c-nooc: SA2C's config, the calls offered by tests/tools/oc_uac.py
# instead of sipp (the same calls), honouring RFC 7339 overload control (sa2c-oc: its
# INVITEs advertise oc and it sheds locally the share sarad's responses ask for) or not
# (sa2c-nooc: the same caller, the comparison client for client).
# GOODPUT_TCP_SHARE (0..1, default 0): that share of the offered rate goes over SIP/TCP,
# GOODPUT_TCP_CONNS (6, a multiple of the 3 servers: round-robin gives each the same
# trunk load) sipp instances from 198.18.0.11, each one connection (-t t1) that carries
# its calls (a trunk: sarad refuses connections only at their SYN, never the INVITEs
# inside them), opened one after the other before the UDP calls; the rest over UDP.
# The table gives both parts, and the trunks each server accepted.
# GOODPUT_TRACE=1 samples sarad's admission state every 0.2 s into trace-MODE-X.txt (beside the CSV).
# GOODPUT_PROTO=rtsp (default sip): the same experiment with RTSP sessions: the servers run
# tests/tools/rtsp_load_server (SETUP OV_RTSP_SETUP_US, 60000, every other request
# OV_RTSP_OTHER_US, 10000: capacity = 1 / (SETUP + 4 other) sessions/s; PLAY streams
# OV_RTSP_RTP_PACKETS, 50, RTP packets to the client), tests/tools/rtsp_uac.py offers the
# sessions (one TCP connection each, 6 s setup deadline); modes off, sa2c, random, limit
# (OV_CALL_LIMIT sessions per server, default capacity x 2.4 s, a session's length); sarad
# refuses an RTSP session at its SYN (an RST, rtsp_reject = "reset"), it cannot answer
# inside the stream. Results: goodput-rtsp.csv, .txt, .svg, .png (the SIP files untouched).
# Env: GOODPUT_RUNS (1: rounds of every point, the table gives mean and spread), GOODPUT_MODES ("off sa2c random limit"; limit: OV_CALL_LIMIT calls per server), GOODPUT_LOADS ("0.5 1 1.5 2 3"), GOODPUT_SECONDS
# (30), GOODPUT_SELECTION (round-robin), OV_INVITE_US (70000), OV_OTHER_US (15000), GOODPUT_OUT (where goodput.csv, .txt,
# .svg and .png go; default the run dir, which is then kept), GOODPUT_NAME (goodput: the SIP files' base name),
# SARA_LAB_PREFIX (sara-exp-).
# Skips (exit 0) without root, namespaces or the programs; exit 1 when the set-up fails.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ $# -gt 0 ] && [ -d "$1" ]; then export SARA_BIN_DIR; SARA_BIN_DIR=$(cd "$1" && pwd); fi
export SARA_LAB_PREFIX=${SARA_LAB_PREFIX:-sara-exp-}
. "$HERE/../netns/lib.sh"
. "$HERE/../netns/overload_lib.sh"

# plot_goodput CSV OUT_DIR CAPACITY WORK_DIR [BASE [WHAT]]: BASE.svg and BASE.png (default
# goodput) from the CSV (completed sessions/s and media loss against the offered load, a
# line per mode); WHAT names the sessions (default "SIP calls")
plot_goodput() {
	local csv=$1 out=$2 cap=$3 work=$4 base=${5:-goodput} what=${6:-SIP calls} m term setterm plots1="" plots2="" ymax unit
	if ! command -v gnuplot >/dev/null 2>&1; then
		echo "plot skipped: gnuplot not installed (apt-get install gnuplot-nox)"
		return 0
	fi
	ymax=$(awk -v c="$cap" 'BEGIN { printf "%.0f", c * 1.25 }')
	unit=${what##* }
	for m in $(awk -F, 'NR > 1 && !seen[$1]++ { print $1 }' "$csv"); do
		awk -F, -v m="$m" 'NR > 1 && $1 == m { k = $3; if (!(k in n)) o[++c] = k; n[k]++; g[k] += $10; l[k] += $13 }
			END { for (i = 1; i <= c; i++) print o[i], g[o[i]] / n[o[i]], l[o[i]] / n[o[i]] }' "$csv" >"$work/plot-$m.dat"
		plots1="$plots1${plots1:+, }'$work/plot-$m.dat' using 1:2 with linespoints lw 2 pt 7 title 'admission $m'"
		plots2="$plots2${plots2:+, }'$work/plot-$m.dat' using 1:3 with linespoints lw 2 pt 7 title 'admission $m'"
	done
	for term in svg png; do
		case $term in
		svg) setterm="set terminal svg size 1000,420 dynamic font 'sans,12' background '#ffffff'" ;;
		png) setterm="set terminal pngcairo size 1000,420 font 'sans,10' background '#ffffff'" ;;
		esac
		gnuplot >"$work/gnuplot-$term.log" 2>&1 <<EOF || echo "goodput.sh: gnuplot $term failed (see $work/gnuplot-$term.log)"
$setterm
set output '$out/$base.$term'
set multiplot layout 1,2 title 'sara goodput: $what, 3 servers, capacity $cap $unit/s (sa2c: the window estimate per server)'
set grid
set key top right
set xlabel 'offered load ($unit/s)'
set ylabel 'completed $unit/s'
set yrange [0:$ymax]
set xrange [0:*]
plot $plots1, $cap title 'capacity' with lines dt 2 lw 2 lc rgb '#777777'
set ylabel 'media loss of completed $unit (%)'
set yrange [0:100]
set key top left
plot $plots2
unset multiplot
EOF
	done
	echo "plot: $out/$base.svg, $out/$base.png"
}

# goodput.sh --plot CSV [OUT_DIR]: only redraw the plot of an earlier run from its CSV
# (the capacity from the .txt beside it)
if [ "${1:-}" = --plot ]; then
	[ -f "${2:-}" ] || { echo "usage: goodput.sh --plot CSV [OUT_DIR]"; exit 2; }
	base=$(basename "$2" .csv)
	what="SIP calls"
	[ "$base" = goodput-rtsp ] && what="RTSP sessions"
	cap=$(sed -n 's/.*capacity \([0-9.]*\) \(calls\|sessions\).*/\1/p' "${2%.csv}.txt" 2>/dev/null | head -1)
	work=$(mktemp -d /tmp/sara-goodput-plot.XXXXXX)
	plot_goodput "$2" "${3:-$(dirname "$2")}" "${cap:-30}" "$work" "$base" "$what"
	rm -rf "$work"
	exit 0
fi

proto=${GOODPUT_PROTO:-sip}
GOODPUT_NAME=${GOODPUT_NAME:-goodput}   # base name of the SIP CSV, table and plots
case $proto in sip | rtsp) ;; *) echo "goodput.sh: GOODPUT_PROTO must be sip or rtsp"; exit 2 ;; esac
modes=${GOODPUT_MODES:-off sa2c random limit}
loads=${GOODPUT_LOADS:-0.5 1 1.5 2 3}
seconds=${GOODPUT_SECONDS:-30}
runs=${GOODPUT_RUNS:-1}           # each point this many times (rounds of every mode and load)
[ "$seconds" -ge 15 ] || { echo "goodput.sh: GOODPUT_SECONDS must be at least 15"; exit 2; }
# Rates are taken over [W1, seconds + 4] s of sipp's time: a call completes 4 to 18 s after
# its INVITE, so that window holds the calls offered in the steady state, not the first
# ones (an empty cluster) nor the drain after the offered time.
w1=10
drain_max=30                      # a call lasts at most 6 + 4 + 8 s after its INVITE
# RTSP: a session lasts at most 6 (setup) + 3 (media and grace) + 6 (TEARDOWN) s; it
# completes about RTSP_LAG s after its connection began (setup, 2 s of media,
# TEARDOWN), so its rates are taken over [W1, seconds + RTSP_LAG] s of the client's time.
rtsp_lag=2
if [ "$proto" = rtsp ]; then
	drain_max=17
	for m in $modes; do
		case $m in
		off | sa2c | sa2c-cluster | sa2c-lead | sa2c-rate | sa2c-window | sa2c-degrade | random | limit) ;;
		*) echo "goodput.sh: mode $m has no RTSP workload (off, sa2c, sa2c-cluster, sa2c-lead, sa2c-rate, sa2c-window, sa2c-degrade, random, limit)"; exit 2 ;;
		esac
	done
fi
# Selection: round-robin by default, so that the curves show admission control alone: the
# servers are identical, and the shell forecast of a 1 s utilisation herds a burst of new
# calls onto whichever server looked idlest at the last report (GOODPUT_SELECTION=shell
# shows it).
export OV_SELECTION=${GOODPUT_SELECTION:-round-robin}

# write_report CSV OUT_DIR: the SIP table (OUT_DIR/$GOODPUT_NAME.txt: every point, then mean
# and spread by mode and load, then the UDP and TCP parts when there are TCP calls) and plot
write_report() {
	local csv=$1 out=$2 txt=$2/$GOODPUT_NAME.txt runs
	runs=$(tail -n +2 "$csv" | awk -F, '{ k = $1 "," $2; n[k]++; if (n[k] > m) m = n[k] } END { print m + 0 }')
	{
		echo "goodput: 3 servers, capacity $cap calls/s ($cap1 each); $seconds s per point; calls with 120 RTP packets, setup deadline 6 s;"
		echo "rates over [$w1, $((seconds + 4))] s of the client's time; goodput = calls sipp completed, servers_ok = BYEs the servers completed;"
		echo "selection $OV_SELECTION; every packet to the VIP through sarad"
		echo "client: sipp, or tests/tools/oc_uac.py (oc_uac-oc: honours RFC 7339 oc, shed = calls it did not send)"
		echo "$OV_MODES_LABEL"
		printf '%-12s %6s %8s %10s %10s %10s %9s %8s %-10s %8s %8s %8s\n' mode load offered goodput servers_ok media_loss sarad_503 shed client cpu_sarad cpu_cli cpu_host
		printf '%-12s %6s %8s %10s %10s %10s %9s %8s %-10s %8s %8s %8s\n' "" "x cap" "calls/s" "calls/s" "BYEs/s" "%" "" "locally" "" "%" "%" "%"
		tail -n +2 "$csv" | awk -F, '{ printf "%-12s %6s %8d %10.2f %10.2f %10.1f %9d %8d %-10s %8.1f %8.1f %8.1f\n", $1, $2, $3, $10, $11, $13, $14, $25, $24, $16, $17, $18 }'
		echo
		echo "over $runs run(s) per point: goodput mean [min, max] as a share of capacity, media loss mean [max], 503s and calls shed locally (means)"
		printf '%-12s %6s %10s %16s %12s %14s %9s %8s\n' mode load goodput "share of cap" "[min, max]" "media loss %" sarad_503 shed
		tail -n +2 "$csv" | awk -F, -v cap="$cap" '{
			k = $1 "," $2; if (!(k in n)) order[++keys] = k
			n[k]++; g[k] += $10; l[k] += $13; r5[k] += $14; sh[k] += $25
			if (!(k in lo) || $10 < lo[k]) lo[k] = $10; if (!(k in hi) || $10 > hi[k]) hi[k] = $10
			if (!(k in lmax) || $13 > lmax[k]) lmax[k] = $13 }
		END { for (i = 1; i <= keys; i++) { k = order[i]; split(k, p, ",")
			printf "%-12s %6s %10.2f %16.2f   [%.2f, %.2f] %7.1f [%.1f] %9.0f %8.0f\n", p[1], p[2], g[k] / n[k], g[k] / n[k] / cap,
				lo[k] / cap, hi[k] / cap, l[k] / n[k], lmax[k], r5[k] / n[k], sh[k] / n[k] } }'
		if tail -n +2 "$csv" | awk -F, '$31 > 0 { f = 1 } END { exit !f }'; then
			echo
			echo "SIP over UDP and TCP (TCP: sipp -t t1, one connection each, opened before the UDP calls; sarad refuses TCP only at the SYN)"
			printf '%-12s %6s %7s %8s %9s %9s %7s %7s %-8s %6s %5s %8s %9s %9s %7s\n' mode load "udp" udp_gw "udp_503/" udp_tmo "tcp" "conns" per_srv tcp_at tcp_ok tcp_gw "tcp_503/" tcp_tmo syn_ref
			printf '%-12s %6s %7s %8s %9s %9s %7s %7s %-8s %6s %5s %8s %9s %9s %7s\n' "" "x cap" calls/s calls/s unexp "" calls/s "" "" "" "" calls/s unexp "" ""
			tail -n +2 "$csv" | awk -F, '{ printf "%-12s %6s %7d %8.2f %9d %9d %7d %7d %-8s %6d %5d %8.2f %9d %9d %7d\n", $1, $2, $27, $28, $29, $30, $31, $32, ($39 == "" ? "-" : $39), $33, $34, $35, $36, $37, $38 }'
		fi
	} >"$txt"
	echo "== table ($csv)"
	cat "$txt"
	plot_goodput "$csv" "$out" "$cap" "$(dirname "$csv")" "$GOODPUT_NAME"
}

# goodput.sh --report OUT_DIR CSV...: one SIP table and plot (OUT_DIR/$GOODPUT_NAME.*) from
# the CSVs of several runs (e.g. 3 runs of two modes and 1 run of two others), with the same
# GOODPUT_SECONDS and service times they ran with
if [ "${1:-}" = --report ]; then
	[ $# -ge 3 ] && [ -d "$2" ] || { echo "usage: goodput.sh --report OUT_DIR CSV..."; exit 2; }
	out=$2
	shift 2
	cap1=$(ov_capacity)
	cap=$(awk -v c="$cap1" 'BEGIN { printf "%.2f", 3 * c }')
	work=$(mktemp -d /tmp/sara-goodput-report.XXXXXX)
	{ head -1 "$1"; for f in "$@"; do tail -n +2 "$f"; done; } >"$work/$GOODPUT_NAME.csv"
	cp "$work/$GOODPUT_NAME.csv" "$out/"
	write_report "$work/$GOODPUT_NAME.csv" "$out"
	rm -rf "$work"
	exit 0
fi

skip() { echo "goodput.sh: skipped: $*"; exit 0; }
why=$(lab_check_env) || skip "$why"
missing=$(ov_missing | tr '\n' ' ')
[ "$proto" = rtsp ] && [ ! -x "${SARA_BIN_DIR:-$LAB_ROOT/build}/tools/rtsp_load_server" ] && missing="${missing}tools/rtsp_load_server "
[ -z "$missing" ] || skip "missing: $missing(make BUILD=... all; apt-get install sip-tester wireshark-common)"

trap lab_cleanup EXIT
trap 'exit 130' INT TERM
lab_init
out=${GOODPUT_OUT:-$LAB_RUN}
mkdir -p "$out"
[ "$out" = "$LAB_RUN" ] && LAB_KEEP=1
if [ "$proto" = rtsp ]; then
	cap1=$(ov_rtsp_capacity)
	cap=$(awk -v c="$cap1" 'BEGIN { printf "%.2f", 3 * c }')
	# limit: a server's share of sessions in progress at capacity, each about 2.4 s long
	# (setup, 2 s of media, TEARDOWN; sarad counts one from its SYN to its TEARDOWN)
	export OV_CALL_LIMIT=${OV_CALL_LIMIT:-$(awk -v c="$cap1" 'BEGIN { printf "%.0f", c * 2.4 }')}
	echo "== goodput (RTSP): 3 servers x $cap1 sessions/s = cluster capacity $cap sessions/s" \
		"(SETUP $OV_RTSP_SETUP_US us, OPTIONS, DESCRIBE, PLAY, TEARDOWN $OV_RTSP_OTHER_US us each, one worker per server)"
else
	cap1=$(ov_capacity)
	cap=$(awk -v c="$cap1" 'BEGIN { printf "%.2f", 3 * c }')
	echo "== goodput: 3 servers x $cap1 calls/s = cluster capacity $cap calls/s" \
		"(INVITE $OV_INVITE_US us, ACK and BYE $OV_OTHER_US us each, one worker per server)"
fi
echo "   modes: $modes; offered load x capacity: $loads; $seconds s per point + drain; results in $out"

host_busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 }' /proc/stat; }

# point_rtsp MODE LOAD_X: one point of the RTSP workload, a line of goodput-rtsp.csv
point_rtsp() {
	local mode=$1 x=$2 rate name s t0 sarad_pid uac_pid uac_child c0 c1 p0 p1 h0 h1 ht0 ht1 q0 q1 qd0 qd1
	local tracer= elapsed offered_now start gw sw=0 r ok fail unexp tmo attempted shed
	rate=$(awk -v c="$cap" -v x="$x" 'BEGIN { printf "%.0f", c * x }')
	name=rtsp-$mode-$x
	LAB_CFG=$LAB_RUN/goodput-$mode.cfg
	for s in "${LAB_SERVERS[@]}"; do ov_start_rtsp_server "$s" $((seconds + drain_max + 15)) || return 1; done
	# No sessions from the previous point: the journal would bring them back, each with
	# its RTSP timeout (60 s, longer than a point) from the restart on, so they would
	# never expire and the limit mode would count them as sessions in progress.
	rm -f "$LAB_RUN/sarad.journal"
	lab_start_sarad $((seconds + drain_max + 30)) || return 1
	ov_wait_up 3 10 || return 1
	sleep 1   # a few load reports: the forecasts have samples
	sarad_pid=$(ov_pid_child "$LAB_SARAD_PID")
	read -r q0 qd0 < <(lab_queue_counters)
	ov_rtsp_uac "$name" "$rate" "$seconds" $((seconds + drain_max + 10))
	uac_pid=$LAB_BGPID
	sleep 0.3
	uac_child=$(ov_pid_child "$uac_pid")
	c0=$(ov_cpu_s "$sarad_pid"); p0=$(ov_cpu_s "${uac_child:-0}"); read -r h0 ht0 < <(host_busy_ticks)
	t0=$(date +%s.%N)
	if [ -n "${GOODPUT_TRACE:-}" ]; then ov_trace_admission "$seconds" >"$out/trace-rtsp-$mode-$x.txt" & tracer=$!; fi
	sleep "$seconds"
	[ -n "$tracer" ] && wait "$tracer"
	c1=$(ov_cpu_s "$sarad_pid"); p1=$(ov_cpu_s "${uac_child:-0}"); read -r h1 ht1 < <(host_busy_ticks)
	elapsed=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
	offered_now=$(ov_sipp_fields "$name" "OutgoingCall(C)")
	lab_wait_exit "$uac_pid" $(( (drain_max + 10) * 10 )) || lab_stop TERM "$uac_pid"
	lab_rc "$uac_pid" >/dev/null
	sleep 1
	ov_status_json >"$LAB_RUN/status-rtsp-$mode-$x.json"
	read -r q1 qd1 < <(lab_queue_counters)
	lab_stop TERM "$LAB_SARAD_PID" 30
	for s in "${LAB_SERVERS[@]}"; do ov_stop_server "$s"; done
	for s in "${LAB_SERVERS[@]}"; do ov_server_json "$s"; cp "$LAB_RUN/stats-$s" "$LAB_RUN/stats-$s-rtsp-$mode-$x" 2>/dev/null; done \
		>"$LAB_RUN/servers-rtsp-$mode-$x.json"
	cp "$LAB_RUN/logs/sarad.log" "$LAB_RUN/logs/sarad-rtsp-$mode-$x.log" 2>/dev/null
	start=$(ov_sipp_start "$name")
	gw=$(ov_sipp_rate "$name" "SuccessfulCall(C)" "$w1" $((seconds + rtsp_lag)))
	for s in "${LAB_SERVERS[@]}"; do
		r=$(ov_server_rate "$LAB_RUN/stats-$s" 5 "$(awk -v a="${start:-0}" -v w="$w1" 'BEGIN { printf "%.3f", a + w }')" \
			"$(awk -v a="${start:-0}" -v w=$((seconds + rtsp_lag)) 'BEGIN { printf "%.3f", a + w }')")
		sw=$(awk -v a="$sw" -v b="$r" 'BEGIN { printf "%.2f", a + b }')
	done
	read -r ok fail unexp tmo attempted shed < <(ov_sipp_fields "$name" "SuccessfulCall(C)" "FailedCall(C)" \
		"FailedUnexpectedMessage(C)" "FailedTimeoutOnRecv(C)" "OutgoingCall(C)" "ShedLocally(C)")
	/usr/bin/python3 - "$LAB_RUN/logs/$name.log" "$LAB_RUN/servers-rtsp-$mode-$x.json" "$LAB_RUN/status-rtsp-$mode-$x.json" \
		<<'PY' >"$LAB_RUN/point.txt"
import json, sys
uac = {}
for line in open(sys.argv[1]):
    if line.startswith("{"):
        uac = json.loads(line)
completed = 0
for line in open(sys.argv[2]):
    completed += json.loads(line)["sessions"]["completed"]
def walk(o, path=""):
    if isinstance(o, dict):
        for k, v in o.items():
            yield from walk(v, path + "." + k)
    elif isinstance(o, int) and not isinstance(o, bool):
        yield path, o
def counter(name):
    return max([v for p, v in walk(st) if p.endswith("." + name)] or [0])
try:
    st = json.load(open(sys.argv[3]))
    n503, rst, syn = counter("reply_sent_503"), counter("reply_sent_reset"), counter("tcp_syn_refused")
    refused = counter("admission_refused") + counter("call_limit_refused")
except Exception:
    n503 = rst = syn = refused = -1
ok = uac.get("completed", 0)
print(completed, "%.2f" % (uac.get("rtp_received", 0) / ok if ok else 0), "%.2f" % uac.get("media_loss_pct", 0),
      n503, rst, syn, refused, uac.get("refused_reset", 0), uac.get("refused_503", 0),
      uac.get("setup_ms_mean", 0), uac.get("played", 0))
PY
	local completed rtp_per loss n503 rst syn refused c_rst c_503 setup_ms played
	read -r completed rtp_per loss n503 rst syn refused c_rst c_503 setup_ms played <"$LAB_RUN/point.txt"
	awk -v m="$mode" -v x="$x" -v r="$rate" -v on="$offered_now" -v el="$elapsed" -v a="$attempted" -v ok="$ok" \
		-v f="$fail" -v u="$unexp" -v t="$tmo" -v T="$seconds" -v sc="$completed" -v rp="$rtp_per" -v gw="$gw" -v sw="$sw" \
		-v loss="$loss" -v n5="$n503" -v qd=$((qd1 - qd0)) -v c0="$c0" -v c1="$c1" -v p0="$p0" -v p1="$p1" \
		-v run="$run" -v h0="$h0" -v h1="$h1" -v ht0="$ht0" -v ht1="$ht1" -v shed="$shed" -v syn="$syn" \
		-v rst="$rst" -v refused="$refused" -v crst="$c_rst" -v c503="$c_503" -v sm="$setup_ms" -v pl="$played" 'BEGIN {
		printf "%s,%s,%d,%.1f,%d,%d,%d,%d,%d,%.2f,%.2f,%.1f,%.1f,%d,%d,%.1f,%.1f,%.1f,0,0,%.2f,%.2f,%d,", m, x, r,
			(el > 0) ? on / el : 0, a, ok, f, u, t, gw, sw, rp, loss, n5, qd,
			100 * (c1 - c0) / el, 100 * (p1 - p0) / el, (ht1 > ht0) ? 100 * (h1 - h0) / (ht1 - ht0) : 0, ok / T, sc / T, run
		printf "rtsp_uac,%d,1,0,0,0,0,%d,%d,%d,%d,%.2f,%d,%d,%d,", shed, r, a, a, ok, gw, u, t, syn
		printf "rtsp,%d,%d,%d,%d,%.1f,%d\n", crst, c503, rst, refused, sm, pl }' >>"$csv"
	tail -1 "$csv" | awk -F, '{ printf "  %-6s %4sx offered %3d sessions/s (achieved %5.1f): ok %5d failed %5d (refused: reset %5d, 503 %4d; timeout %5d) -> goodput %6.2f sessions/s, servers completed %6.2f/s, media loss %5.1f%%, sarad refused %5d (RSTs %5d), setup %6.0f ms; cpu sarad %4.1f%% client %4.1f%% host %4.1f%%\n",
		$1, $2, $3, $4, $6, $7, $40, $41, $9, $10, $11, $13, $43, $42, $44, $16, $17, $18 }'
}

# rtsp_experiment: every RTSP point, then goodput-rtsp.txt and its plot
rtsp_experiment() {
	local txt m x
	csv=$out/goodput-rtsp.csv
	txt=$out/goodput-rtsp.txt
	# The SIP experiment's columns (a call is a session, every session over TCP: one
	# connection each), then the RTSP ones: the client's refusals (reset at the connection,
	# RTSP 503), sarad's RSTs and its sessions refused at the SYN (admission_refused +
	# call_limit_refused), the mean time to PLAY's 200, the sessions that played.
	echo "mode,load_x,offered_cps,offered_achieved_cps,attempted,successful,failed,failed_unexpected,failed_timeout,goodput_cps,server_completed_cps,rtp_per_call,media_loss_pct,sarad_503,kernel_queue_drops,sarad_cpu_pct,sipp_cpu_pct,host_cpu_pct,server_queue_dropped,server_retrans_absorbed,successful_per_offered_s,server_completed_per_offered_s,run,client,shed_locally,tcp_share,udp_offered_cps,udp_goodput_cps,udp_failed_unexpected,udp_failed_timeout,tcp_offered_cps,tcp_connections,tcp_attempted,tcp_successful,tcp_goodput_cps,tcp_failed_unexpected,tcp_failed_timeout,tcp_syn_refused,proto,refused_reset,refused_503,sarad_rst_sent,sarad_refused_at_syn,setup_ms_mean,played" >"$csv"
	t_start=$(date +%s)
	for ((run = 1; run <= runs; run++)); do
		for m in $modes; do
			for x in $loads; do
				point_rtsp "$m" "$x" || { lab_log "point rtsp $m $x failed (logs in $LAB_RUN/logs)"; LAB_KEEP=1; return 1; }
			done
		done
	done
	{
		echo "goodput (RTSP): 3 servers, capacity $cap sessions/s ($cap1 each); $seconds s per point; sessions of OPTIONS, DESCRIBE,"
		echo "SETUP, PLAY, $OV_RTSP_RTP_PACKETS RTP packets from the server, TEARDOWN, one TCP connection each, setup deadline 6 s;"
		echo "rates over [$w1, $((seconds + rtsp_lag))] s of the client's time; goodput = sessions rtsp_uac completed, servers_ok = TEARDOWNs"
		echo "of played sessions the servers served; refused: connection reset (sarad's RST at the SYN) or RTSP 503;"
		echo "selection $OV_SELECTION; limit: $OV_CALL_LIMIT sessions per server; every packet to the VIP through sarad"
		echo "$OV_MODES_LABEL"
		printf '%-12s %6s %8s %10s %10s %10s %8s %6s %8s %8s %8s %8s %8s %8s\n' mode load offered goodput servers_ok media_loss refused refused timeout sarad setup cpu_sarad cpu_cli cpu_host
		printf '%-12s %6s %8s %10s %10s %10s %8s %6s %8s %8s %8s %8s %8s %8s\n' "" "x cap" "sess/s" "sess/s" "TEARDOWN/s" "%" "reset" "503" "" "RSTs" "ms" "%" "%" "%"
		tail -n +2 "$csv" | awk -F, '{ printf "%-12s %6s %8d %10.2f %10.2f %10.1f %8d %6d %8d %8d %8.0f %8.1f %8.1f %8.1f\n", $1, $2, $3, $10, $11, $13, $40, $41, $9, $42, $44, $16, $17, $18 }'
		echo
		echo "over $runs run(s) per point: goodput mean [min, max] as a share of capacity, media loss mean [max], refusals (means)"
		printf '%-12s %6s %10s %16s %12s %14s %9s\n' mode load goodput "share of cap" "[min, max]" "media loss %" refused
		tail -n +2 "$csv" | awk -F, -v cap="$cap" '{
			k = $1 "," $2; if (!(k in n)) order[++keys] = k
			n[k]++; g[k] += $10; l[k] += $13; rf[k] += $40 + $41
			if (!(k in lo) || $10 < lo[k]) lo[k] = $10; if (!(k in hi) || $10 > hi[k]) hi[k] = $10
			if (!(k in lmax) || $13 > lmax[k]) lmax[k] = $13 }
		END { for (i = 1; i <= keys; i++) { k = order[i]; split(k, p, ",")
			printf "%-12s %6s %10.2f %16.2f   [%.2f, %.2f] %7.1f [%.1f] %9.0f\n", p[1], p[2], g[k] / n[k], g[k] / n[k] / cap,
				lo[k] / cap, hi[k] / cap, l[k] / n[k], lmax[k], rf[k] / n[k] } }'
	} >"$txt"
	echo "== table ($csv)"
	cat "$txt"
	plot_goodput "$csv" "$out" "$cap" "$LAB_RUN" goodput-rtsp "RTSP sessions"
	echo "goodput.sh: took $(( $(date +%s) - t_start )) s"
}

lab_up || exit 1
lab_config
for m in $modes; do ov_write_config "$m" "$LAB_RUN/goodput-$m.cfg" 0 || exit 1; done
LAB_CFG=$LAB_RUN/goodput-${modes%% *}.cfg
lab_rules_all_queued || exit 1
total_life=$(( runs * ($(wc -w <<<"$modes") * $(wc -w <<<"$loads")) * (seconds + drain_max + 20) + 60 ))   # the agents and the gateway outlive every round
lab_start_gw "$total_life" || exit 1
for s in "${LAB_SERVERS[@]}"; do ov_start_agent "$s" "$LAB_CFG" "$total_life"; done
if [ "$proto" = rtsp ]; then
	rtsp_experiment || exit 1
	exit 0
fi

csv=$out/$GOODPUT_NAME.csv
tcp_share=${GOODPUT_TCP_SHARE:-0}
tcp_conns=${GOODPUT_TCP_CONNS:-6}
awk -v s="$tcp_share" 'BEGIN { exit !(s >= 0 && s <= 1) }' || { echo "goodput.sh: GOODPUT_TCP_SHARE must be within 0..1"; exit 2; }
[ "$tcp_conns" -ge 1 ] && [ "$tcp_conns" -le 32 ] || { echo "goodput.sh: GOODPUT_TCP_CONNS must be 1..32"; exit 2; }
# Columns after run: the caller (sipp or oc_uac, oc_uac-oc when it honours oc), the
# calls it shed locally, and the two parts of the offered load (UDP, TCP); columns 5 to
# 10 count both parts.
echo "mode,load_x,offered_cps,offered_achieved_cps,attempted,successful,failed,failed_unexpected,failed_timeout,goodput_cps,server_completed_cps,rtp_per_call,media_loss_pct,sarad_503,kernel_queue_drops,sarad_cpu_pct,sipp_cpu_pct,host_cpu_pct,server_queue_dropped,server_retrans_absorbed,successful_per_offered_s,server_completed_per_offered_s,run,client,shed_locally,tcp_share,udp_offered_cps,udp_goodput_cps,udp_failed_unexpected,udp_failed_timeout,tcp_offered_cps,tcp_connections,tcp_attempted,tcp_successful,tcp_goodput_cps,tcp_failed_unexpected,tcp_failed_timeout,tcp_syn_refused,tcp_conns_per_server" >"$csv"

point() {   # point MODE LOAD_X
	local mode=$1 x=$2 rate calls name s t0 i sarad_pid sipp_pid c0 c1 p0 p1 h0 h1 ht0 ht1 q0 q1 qd0 qd1
	local client=sipp rate_udp rate_tcp tcp_names=() tcp_pids=() k
	rate=$(awk -v c="$cap" -v x="$x" 'BEGIN { printf "%.0f", c * x }')
	rate_tcp=$(awk -v r="$rate" -v s="$tcp_share" 'BEGIN { printf "%.0f", r * s }')
	rate_udp=$((rate - rate_tcp))
	calls=$((rate_udp * seconds))
	name=uac-$mode-$x
	case $mode in
	sa2c-oc) client=oc_uac-oc ;;
	sa2c-nooc) client=oc_uac ;;
	esac
	LAB_CFG=$LAB_RUN/goodput-$mode.cfg
	for s in "${LAB_SERVERS[@]}"; do ov_start_server "$s" $((seconds + drain_max + 15)) || return 1; done
	# No sessions from the previous point (rtsp: why): a call that never ended would
	# count in the limit mode's calls in progress.
	rm -f "$LAB_RUN/sarad.journal"
	lab_start_sarad $((seconds + drain_max + 30)) || return 1
	ov_wait_up 3 10 || return 1
	sleep 1   # a few load reports: the forecasts have samples
	sarad_pid=$(ov_pid_child "$LAB_SARAD_PID")
	read -r q0 qd0 < <(lab_queue_counters)
	if [ "$rate_tcp" -gt 0 ]; then
		# one connection each, opened before the UDP calls begin (x is low then): the
		# calls of an established trunk, at rate_tcp / tcp_conns each (-rp: per period)
		# calls, one connection after the other: each SYN takes the next round-robin
		# pick before the next trunk (or a UDP call) takes one, so every server gets
		# tcp_conns / 3 trunks (a server with more would be overloaded by calls no
		# one can refuse, whatever admission does)
		for ((k = 1; k <= tcp_conns; k++)); do
			tcp_names+=("$name-tcp$k")
			ov_sipp "$name-tcp$k" "$rate_tcp" $(( (rate_tcp * seconds + tcp_conns - 1) / tcp_conns )) \
				$((seconds + drain_max + 10)) t1 198.18.0.11 -rp $((1000 * tcp_conns))
			tcp_pids+=("$LAB_BGPID")
			ov_wait_tcp_conns "$k" 198.18.0.11 || lab_log "point $mode $x: trunk $k not established after 3 s"
		done
	fi
	if [ "$rate_udp" -le 0 ]; then
		sipp_pid=
	elif [ "$client" = sipp ]; then
		ov_sipp "$name" "$rate_udp" "$calls" $((seconds + drain_max + 10))
		sipp_pid=$LAB_BGPID
	else
		local honour=()
		[ "$client" = oc_uac-oc ] && honour=(--oc)
		ov_oc_uac "$name" "$rate_udp" "$seconds" $((seconds + drain_max + 10)) "${honour[@]}" --seed "$run"
		sipp_pid=$LAB_BGPID
	fi
	[ -n "$sipp_pid" ] || sipp_pid=${tcp_pids[0]}
	sleep 0.3
	local sipp_child
	sipp_child=$(ov_pid_child "$sipp_pid")
	c0=$(ov_cpu_s "$sarad_pid"); p0=$(ov_cpu_s "${sipp_child:-0}"); read -r h0 ht0 < <(host_busy_ticks)
	t0=$(date +%s.%N)
	local tracer=
	if [ -n "${GOODPUT_TRACE:-}" ]; then ov_trace_admission "$seconds" >"$out/trace-$mode-$x.txt" & tracer=$!; fi
	sleep "$seconds"
	[ -n "$tracer" ] && wait "$tracer"
	c1=$(ov_cpu_s "$sarad_pid"); p1=$(ov_cpu_s "${sipp_child:-0}"); read -r h1 ht1 < <(host_busy_ticks)
	local elapsed offered_now
	elapsed=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
	offered_now=$(ov_sipp_fields "$name" "OutgoingCall(C)")
	for k in "${tcp_names[@]}"; do offered_now=$((offered_now + $(ov_sipp_fields "$k" "OutgoingCall(C)"))); done
	for k in "$sipp_pid" "${tcp_pids[@]}"; do
		lab_wait_exit "$k" $(( (drain_max + 10) * 10 )) || lab_stop TERM "$k"
		lab_rc "$k" >/dev/null
	done
	sleep 2.5   # late BYEs and RTP reach the servers; ended calls linger 2 s there
	ov_status_json >"$LAB_RUN/status-$mode-$x.json"
	read -r q1 qd1 < <(lab_queue_counters)
	lab_stop TERM "$LAB_SARAD_PID" 30
	for s in "${LAB_SERVERS[@]}"; do ov_stop_server "$s"; done
	for s in "${LAB_SERVERS[@]}"; do ov_server_json "$s"; cp "$LAB_RUN/stats-$s" "$LAB_RUN/stats-$s-$mode-$x" 2>/dev/null; done \
		>"$LAB_RUN/servers-$mode-$x.json"
	local start gw sw=0 r
	start=$(ov_sipp_start "$name")
	[ -n "$start" ] || [ "${#tcp_names[@]}" -eq 0 ] || start=$(ov_sipp_start "${tcp_names[0]}")
	gw=$(ov_sipp_rate "$name" "SuccessfulCall(C)" "$w1" $((seconds + 4)))
	for s in "${LAB_SERVERS[@]}"; do
		r=$(ov_server_rate "$LAB_RUN/stats-$s" 5 "$(awk -v a="${start:-0}" -v w="$w1" 'BEGIN { printf "%.3f", a + w }')" \
			"$(awk -v a="${start:-0}" -v w=$((seconds + 4)) 'BEGIN { printf "%.3f", a + w }')")
		sw=$(awk -v a="$sw" -v b="$r" 'BEGIN { printf "%.2f", a + b }')
	done
	cp "$LAB_RUN/logs/sarad.log" "$LAB_RUN/logs/sarad-$mode-$x.log" 2>/dev/null

	local ok fail unexp tmo attempted
	read -r ok fail unexp tmo attempted < <(ov_sipp_fields "$name" "SuccessfulCall(C)" "FailedCall(C)" \
		"FailedUnexpectedMessage(C)" "FailedTimeoutOnRecv(C)" "OutgoingCall(C)")
	local shed udp_gw=$gw udp_unexp=$unexp udp_tmo=$tmo rtp_sent=$OV_RTP_SENT
	local t_att=0 t_ok=0 t_unexp=0 t_tmo=0 t_gw=0 a b c d e
	shed=$(ov_sipp_fields "$name" "ShedLocally(C)")
	if [ "$client" != sipp ]; then
		rtp_sent=$(ov_oc_uac_json "$name" rtp_per_call)
		awk -v r="$rtp_sent" 'BEGIN { exit !(r > 0) }' || rtp_sent=$OV_RTP_SENT
	fi
	for k in "${tcp_names[@]}"; do
		read -r a b c d e < <(ov_sipp_fields "$k" "OutgoingCall(C)" "SuccessfulCall(C)" "FailedUnexpectedMessage(C)" \
			"FailedTimeoutOnRecv(C)" "FailedCall(C)")
		t_att=$((t_att + a)) t_ok=$((t_ok + b)) t_unexp=$((t_unexp + c)) t_tmo=$((t_tmo + d)) fail=$((fail + e))
		t_gw=$(awk -v g="$t_gw" -v r="$(ov_sipp_rate "$k" "SuccessfulCall(C)" "$w1" $((seconds + 4)))" 'BEGIN { printf "%.2f", g + r }')
	done
	ok=$((ok + t_ok)) unexp=$((unexp + t_unexp)) tmo=$((tmo + t_tmo)) attempted=$((attempted + t_att))
	gw=$(awk -v a="$udp_gw" -v b="$t_gw" 'BEGIN { printf "%.2f", a + b }')
	/usr/bin/python3 - "$LAB_RUN/servers-$mode-$x.json" "$LAB_RUN/status-$mode-$x.json" <<'PY' >"$LAB_RUN/point.txt"
import json, sys
completed = rtp = calls = qdrop = retrans = 0
trunks = []
for line in open(sys.argv[1]):
    d = json.loads(line)
    trunks.append(str(d["tcp"]["accepted"]))
    completed += d["calls"]["completed"]
    calls += d["rtp"]["completed_calls"]
    rtp += d["rtp"]["per_completed_call"] * d["rtp"]["completed_calls"]
    qdrop += d["messages"]["queue_dropped"]
    retrans += d["messages"]["invite_retrans_absorbed"]
# every counter of sarad's status whose name says 503 (the SIP replies it sent)
def walk(o, path=""):
    if isinstance(o, dict):
        for k, v in o.items():
            yield from walk(v, path + "." + k)
    elif isinstance(o, int) and not isinstance(o, bool):
        yield path, o
try:
    st = json.load(open(sys.argv[2]))
    n503 = max([v for p, v in walk(st) if "503" in p and ("sent" in p or "repl" in p)] or [0])
    syn = max([v for p, v in walk(st) if p.endswith(".tcp_syn_refused")] or [0])
except Exception:
    n503 = syn = -1
print(completed, "%.2f" % (rtp / calls if calls else 0), n503, qdrop, retrans, syn, "/".join(trunks) or "-")
PY
	local completed rtp_per n503 qdrop retrans syn trunks
	read -r completed rtp_per n503 qdrop retrans syn trunks <"$LAB_RUN/point.txt"
	# a trunk that placed no call (its sipp could not connect or start) is a broken
	# set-up, not a result: say so with its log
	for k in "${tcp_names[@]}"; do
		[ "$(ov_sipp_fields "$k" "OutgoingCall(C)")" -gt 0 ] && continue
		lab_log "point $mode $x: trunk $k placed no call; its log:"
		tail -5 "$LAB_RUN/logs/$k.log" >&2
		tail -5 "$LAB_RUN/logs/$k.err" >&2 2>/dev/null
	done
	awk -v m="$mode" -v x="$x" -v r="$rate" -v on="$offered_now" -v el="$elapsed" -v a="$attempted" -v ok="$ok" \
		-v f="$fail" -v u="$unexp" -v t="$tmo" -v T="$seconds" -v sc="$completed" -v rp="$rtp_per" -v gw="$gw" -v sw="$sw" \
		-v sent="$rtp_sent" -v n5="$n503" -v qd=$((qd1 - qd0)) -v c0="$c0" -v c1="$c1" -v p0="$p0" \
		-v run="$run" -v p1="$p1" -v h0="$h0" -v h1="$h1" -v ht0="$ht0" -v ht1="$ht1" -v sq="$qdrop" -v sr="$retrans" \
		-v cl="$client" -v shed="$shed" -v ts="$tcp_share" -v ru="$rate_udp" -v ugw="$udp_gw" -v uu="$udp_unexp" -v ut="$udp_tmo" \
		-v rt="$rate_tcp" -v tc="${#tcp_names[@]}" -v ta="$t_att" -v tok="$t_ok" -v tgw="$t_gw" -v tu="$t_unexp" -v tt="$t_tmo" \
		-v syn="$syn" -v trunks="$trunks" 'BEGIN {
		loss = (rp > 0) ? 100 * (1 - rp / sent) : 0; if (loss < 0) loss = 0
		printf "%s,%s,%d,%.1f,%d,%d,%d,%d,%d,%.2f,%.2f,%.1f,%.1f,%d,%d,%.1f,%.1f,%.1f,%d,%d,%.2f,%.2f,%d,", m, x, r,
			(el > 0) ? on / el : 0, a, ok, f, u, t, gw, sw, rp, loss, n5, qd,
			100 * (c1 - c0) / el, 100 * (p1 - p0) / el, (ht1 > ht0) ? 100 * (h1 - h0) / (ht1 - ht0) : 0, sq, sr, ok / T, sc / T, run
		printf "%s,%d,%s,%d,%.2f,%d,%d,%d,%d,%d,%d,%.2f,%d,%d,%d,%s\n", cl, shed, ts, ru, ugw, uu, ut, rt, tc, ta, tok, tgw, tu, tt, syn, trunks }' >>"$csv"
	tail -1 "$csv" | awk -F, '{ printf "  %-6s %4sx offered %3d calls/s (achieved %5.1f): ok %5d failed %5d (503/unexpected %5d, timeout %5d) -> goodput %6.2f calls/s, servers completed %6.2f/s, media loss %5.1f%%, 503s %5d, shed locally %5d; cpu sarad %4.1f%% client %4.1f%% host %4.1f%%\n",
		$1, $2, $3, $4, $6, $7, $8, $9, $10, $11, $13, $14, $25, $16, $17, $18
		if ($31 > 0) printf "         UDP %3d calls/s: goodput %6.2f, 503/unexpected %5d, timeout %5d; TCP %3d calls/s on %d connections (per server %s): attempted %5d ok %5d goodput %6.2f, unexpected %5d, timeout %5d; SYNs refused %d\n",
			$27, $28, $29, $30, $31, $32, $39, $33, $34, $35, $36, $37, $38 }'
}

t_start=$(date +%s)
for ((run = 1; run <= runs; run++)); do
	for m in $modes; do
		for x in $loads; do
			point "$m" "$x" || { lab_log "point $m $x failed (logs in $LAB_RUN/logs)"; LAB_KEEP=1; exit 1; }
		done
	done
done

# ---- table and plot
write_report "$csv" "$out"
echo "goodput.sh: took $(( $(date +%s) - t_start )) s"
exit 0
