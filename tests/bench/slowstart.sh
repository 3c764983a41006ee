#!/usr/bin/env bash
# slowstart.sh - the slow-start experiment (issue 4, item 7) in the lab: steady SIP load on
# 2 servers, then the 3rd server's agent starts (the server joins); per second, the new
# calls each server receives and its utilisation, with selection.slow_start_s = S and 0.
#
#   tests/bench/slowstart.sh [BUILD_DIR]
#   tests/bench/slowstart.sh --report CSV [OUT_DIR]   redo the table and plot of an earlier run
#
# Servers: tests/tools/sip_load_server (known capacity, see goodput.sh); every server runs
# from the start, only s3's agent is missing, so sarad holds s3 failed (never heard from)
# until the agent starts at JOIN s. Selection: shell; admission off (this is about where
# new sessions go). Offered: RATE calls/s (default 0.6 x the 3-server capacity: the two
# first servers near 90% busy) for SECONDS s.
# Env: SLOWSTART_S (20), SLOWSTART_JOIN (15), SLOWSTART_SECONDS (75), SLOWSTART_RATE,
# SLOWSTART_RUNS ("20 0": the slow_start_s values to compare; the first is SLOWSTART_S),
# SLOWSTART_OUT (slowstart.csv, .txt, .svg, .png; default the run dir, then kept),
# OV_INVITE_US, OV_OTHER_US, SARA_LAB_PREFIX (sara-exp-).
# Skips (exit 0) without root, namespaces or the programs; exit 1 when the set-up fails.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ $# -gt 0 ] && [ -d "$1" ]; then export SARA_BIN_DIR; SARA_BIN_DIR=$(cd "$1" && pwd); fi
export SARA_LAB_PREFIX=${SARA_LAB_PREFIX:-sara-exp-}
. "$HERE/../netns/lib.sh"
. "$HERE/../netns/overload_lib.sh"

slow=${SLOWSTART_S:-20}
runs=${SLOWSTART_RUNS:-$slow 0}
join=${SLOWSTART_JOIN:-15}
seconds=${SLOWSTART_SECONDS:-75}
cap1=$(ov_capacity)
rate=${SLOWSTART_RATE:-$(awk -v c="$cap1" 'BEGIN { printf "%.0f", 0.6 * 3 * c }')}

# report CSV OUT_DIR WORK_DIR: slowstart.txt (the seconds around the join, s3's share per
# period after it) and slowstart.svg/.png from the CSV; runs, join and rate from the CSV/env
report() {
	local csv=$1 out=$2 work=$3 r t plots plots_u term setterm txt
	runs=$(awk -F, 'NR > 1 && !seen[$1]++ { printf "%s ", $1 }' "$csv")
txt=$out/slowstart.txt
{
	echo "slow start: $rate calls/s offered; s3 joins at t = $join s (its agent starts); new calls per second per server"
	printf '%4s' t
	for r in $runs; do printf ' | %-28s' "slow_start_s=$r: s1 s2 s3 s3%"; done
	echo
	for ((t = join - 2; t <= join + 30 && t < seconds; t++)); do
		printf '%4d' "$t"
		for r in $runs; do
			awk -F, -v r="$r" -v t="$t" '$1 == r && $2 == t { printf " | %4d %4d %4d %5.0f%%          ", $3, $4, $5, $6 }' "$csv"
		done
		echo
	done
	echo
	echo "s3's share of the new calls (all servers' new calls in the period), and its busiest second, after the join:"
	printf '  %-16s %12s %12s %12s %12s %14s\n' "" "join+0..5 s" "join+5..10 s" "join+10..20 s" "join+20..40 s" "peak, 0..10 s"
	for r in $runs; do
		awk -F, -v r="$r" -v j="$join" '$1 == r && $2 > j {
				d = $2 - j; k = d <= 5 ? 1 : d <= 10 ? 2 : d <= 20 ? 3 : d <= 40 ? 4 : 0
				if (k) { s3[k] += $5; all[k] += $3 + $4 + $5 }
				if (d <= 10 && $5 > pk) pk = $5 }
			END { printf "  slow_start_s=%-3s", r
				for (k = 1; k <= 4; k++) printf " %11.0f%%", all[k] ? 100 * s3[k] / all[k] : 0
				printf " %9d/s\n", pk }' "$csv"
	done
	echo "  (fair share 33%; $(awk -v r="$rate" 'BEGIN { printf "%.1f", r / 3 }') new calls/s)"
} >"$txt"
echo "== table ($csv)"
cat "$txt"

if command -v gnuplot >/dev/null 2>&1; then
	plots=""
	for r in $runs; do
		# t, s3 new calls/s averaged over the 5 s up to t, s3 utilisation
		awk -F, -v r="$r" '$1 == r { n++; v[n] = $5; sum += $5; if (n > 5) sum -= v[n - 5]
			print $2, sum / (n < 5 ? n : 5), $9 }' "$csv" >"$work/slow-$r.dat"
		plots="$plots${plots:+, }'$work/slow-$r.dat' using 1:2 with linespoints lw 2 pt 7 ps 0.6 title 'slow\\_start\\_s = $r'"
	done
	plots_u=""
	for r in $runs; do plots_u="$plots_u${plots_u:+, }'$work/slow-$r.dat' using 1:3 with lines lw 2 title 'slow\\_start\\_s = $r'"; done
	for term in svg png; do
		case $term in
		svg) setterm="set terminal svg size 1000,420 dynamic font 'sans,12' background '#ffffff'" ;;
		png) setterm="set terminal pngcairo size 1000,420 font 'sans,10' background '#ffffff'" ;;
		esac
		gnuplot >"$work/gnuplot-$term.log" 2>&1 <<EOF || echo "slowstart.sh: gnuplot $term failed (see $work/gnuplot-$term.log)"
$setterm
set output '$out/slowstart.$term'
set multiplot layout 1,2 title 'sara slow start: s3 joins at t = $join s under $rate calls/s'
set grid
set key top left
set xlabel 'time (s)'
set ylabel 'new calls/s sent to s3 (5 s average)'
set yrange [0:*]
set arrow 1 from $join, graph 0 to $join, graph 1 nohead dt 2 lc rgb '#777777'
plot $plots, $(awk -v r="$rate" 'BEGIN { printf "%.2f", r / 3 }') title 'fair share' with lines dt 2 lc rgb '#777777'
set ylabel 's3 utilisation (1 s window)'
set yrange [0:1.05]
plot $plots_u
unset multiplot
EOF
	done
	echo "plot: $out/slowstart.svg, $out/slowstart.png"
else
	echo "plot skipped: gnuplot not installed (apt-get install gnuplot-nox)"
fi
}

# slowstart.sh --report CSV [OUT_DIR]: only redo the table and plot of an earlier run
# (SLOWSTART_JOIN and SLOWSTART_RATE as in that run)
if [ "${1:-}" = --report ]; then
	[ -f "${2:-}" ] || { echo "usage: slowstart.sh --report CSV [OUT_DIR]"; exit 2; }
	work=$(mktemp -d /tmp/sara-slowstart-report.XXXXXX)
	report "$2" "${3:-$(dirname "$2")}" "$work"
	rm -rf "$work"
	exit 0
fi

skip() { echo "slowstart.sh: skipped: $*"; exit 0; }
why=$(lab_check_env) || skip "$why"
missing=$(ov_missing | tr '\n' ' ')
[ -z "$missing" ] || skip "missing: $missing"
[ "$join" -ge 5 ] && [ "$seconds" -gt $((join + 10)) ] || { echo "slowstart.sh: want SLOWSTART_JOIN >= 5 and SLOWSTART_SECONDS > JOIN + 10"; exit 2; }

trap lab_cleanup EXIT
trap 'exit 130' INT TERM
lab_init
out=${SLOWSTART_OUT:-$LAB_RUN}
mkdir -p "$out"
[ "$out" = "$LAB_RUN" ] && LAB_KEEP=1
echo "== slow start: 3 servers x $cap1 calls/s; $rate calls/s offered from t = 0 (s1, s2 only);" \
	"s3's agent starts at t = $join s; $seconds s per run; slow_start_s: $runs"

lab_up || exit 1
lab_config
for r in $runs; do ov_write_config off "$LAB_RUN/slowstart-$r.cfg" "$r" || exit 1; done
LAB_CFG=$LAB_RUN/slowstart-${runs%% *}.cfg
lab_rules || exit 1
runs_count=$(wc -w <<<"$runs")
lab_start_gw $((runs_count * (seconds + 60) + 60)) || exit 1

csv=$out/slowstart.csv
echo "slow_start_s,t,s1_new,s2_new,s3_new,s3_share_pct,s1_util,s2_util,s3_util,s3_queue" >"$csv"

# series RUN EPOCH0: per whole second t since EPOCH0, each server's new INVITEs that
# arrived (stats column 9) and its utilisation (column 7), and s3's queue (column 8)
series() {
	local run=$1 e0=$2
	/usr/bin/python3 - "$run" "$e0" "$seconds" "$LAB_RUN/stats-s1-$run" "$LAB_RUN/stats-s2-$run" "$LAB_RUN/stats-s3-$run" <<'PY'
import sys
run, e0, seconds = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
per = []
for path in sys.argv[4:7]:
    rows = []
    for line in open(path):
        f = line.split()
        if len(f) >= 9:
            rows.append((float(f[0]) - e0, int(f[8]), float(f[6]), int(f[7])))
    per.append(rows)
def at(rows, t):  # the last row at or before t
    best = None
    for r in rows:
        if r[0] <= t:
            best = r
    return best
for t in range(1, seconds):
    new, util, q3 = [], [], 0
    for k, rows in enumerate(per):
        a, b = at(rows, t - 1), at(rows, t)
        new.append(b[1] - a[1] if a and b else 0)
        util.append(b[2] if b else 0.0)
        if k == 2 and b:
            q3 = b[3]
    total = sum(new)
    print("%s,%d,%d,%d,%d,%.1f,%.2f,%.2f,%.2f,%d" % (run, t, new[0], new[1], new[2],
          100.0 * new[2] / total if total else 0.0, util[0], util[1], util[2], q3))
PY
}

run_one() {   # run_one SLOW_START_S
	local r=$1 s e0 name=uac-slow-$1 sipp_pid
	LAB_CFG=$LAB_RUN/slowstart-$r.cfg
	for s in "${LAB_SERVERS[@]}"; do ov_start_server "$s" $((seconds + 30)) || return 1; done
	lab_start_sarad $((seconds + 40)) || return 1
	ov_start_agent s1 "$LAB_CFG" $((seconds + 30))
	ov_start_agent s2 "$LAB_CFG" $((seconds + 30))
	ov_wait_up 2 10 || return 1
	sleep 2   # s3 never heard from: failed after misses x interval
	ov_status_json >"$LAB_RUN/status-before-$r.json"
	ov_sipp "$name" "$rate" $((rate * seconds)) $((seconds + 30))
	sipp_pid=$LAB_BGPID
	e0=$(date +%s.%N)
	sleep "$join"
	ov_start_agent s3 "$LAB_CFG" $((seconds + 30 - join))
	lab_log "slow_start_s $r: s3's agent started at t = $join s"
	sleep $((seconds - join))
	ov_status_json >"$LAB_RUN/status-after-$r.json"
	lab_stop TERM "$sipp_pid" 50
	for s in "${LAB_SERVERS[@]}"; do ov_stop_agent "$s"; ov_stop_server "$s"; cp "$LAB_RUN/stats-$s" "$LAB_RUN/stats-$s-$r"; done
	lab_stop TERM "$LAB_SARAD_PID" 30
	cp "$LAB_RUN/logs/sarad.log" "$LAB_RUN/logs/sarad-slow-$r.log" 2>/dev/null
	series "$r" "$e0" >>"$csv"
	local ok fail
	read -r ok fail < <(ov_sipp_fields "$name" "SuccessfulCall(C)" "FailedCall(C)")
	echo "  slow_start_s $r: calls ok $ok failed $fail (sipp stopped at t = $seconds s, calls in flight count as neither)"
}

t_start=$(date +%s)
for r in $runs; do run_one "$r" || { lab_log "run $r failed (logs in $LAB_RUN/logs)"; LAB_KEEP=1; exit 1; }; done

report "$csv" "$out" "$LAB_RUN"
echo "slowstart.sh: took $(( $(date +%s) - t_start )) s"
exit 0
