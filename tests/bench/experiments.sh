#!/usr/bin/env bash
# experiments.sh - the overload experiments behind docs/experiments.md in one command
# (`make experiments`, outside CI: about an hour): goodput.sh's runs, merged into the
# tables and plots in docs/.
#
#   tests/bench/experiments.sh [BUILD_DIR]
#
# Stages (EXP_STAGES, default "sip tcp oc rtsp"), each EXP_SECONDS (20) s per point:
#   sip   SIP over UDP: sa2c (the defaults: the window estimate), sa2c-rate (estimate =
#         "rate") and the per-server call limit EXP_RUNS (3) times at every load, off
#         and random once -> docs/goodput.{csv,txt,svg,png}
#   tcp   GOODPUT_TCP_SHARE=0.3 of the calls on SIP/TCP trunks, sa2c and limit, EXP_RUNS
#         times at 1x, 2x, 3x -> docs/goodput-tcp.*
#   oc    RFC 7339: the same caller honouring oc or not (sa2c-oc, sa2c-nooc), EXP_RUNS
#         times at 1x, 2x, 3x -> docs/goodput-oc.*
#   rtsp  RTSP sessions (GOODPUT_PROTO=rtsp), off, sa2c and limit, EXP_RUNS times at 1x,
#         2x, 3x -> docs/goodput-rtsp.*
# EXP_OUT (docs) is where the results go; each stage's raw runs stay in EXP_WORK
# (/var/tmp/sara-experiments). A stage whose run fails stops the script (exit 1).
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${1:-build}
stages=${EXP_STAGES:-sip tcp oc rtsp}
runs=${EXP_RUNS:-3}
out=${EXP_OUT:-$HERE/../../docs}
work=${EXP_WORK:-/var/tmp/sara-experiments}
export GOODPUT_SECONDS=${EXP_SECONDS:-20}
mkdir -p "$out" "$work" || exit 1
# one run at a time per EXP_WORK: each stage starts by clearing its own directory
exec 9>"$work/.lock"
flock -n 9 || { echo "experiments.sh: another run is using $work"; exit 1; }
t0=$(date +%s)

# run NAME [VAR=VALUE...]: one goodput.sh run into $work/NAME, its log beside it
run() {
	local name=$1
	shift
	rm -rf "${work:?}/$name"
	echo "== $name: $*"
	env "$@" GOODPUT_OUT="$work/$name" "$HERE/goodput.sh" "$build" >"$work/$name.log" 2>&1 ||
		{ echo "experiments.sh: $name failed (log: $work/$name.log)"; tail -20 "$work/$name.log"; exit 1; }
	grep -q "goodput.sh: skipped" "$work/$name.log" &&
		{ echo "experiments.sh: $name skipped: $(grep -m1 skipped "$work/$name.log")"; exit 1; }
	grep "goodput.sh: took" "$work/$name.log"
}

# report NAME RUN...: the runs' CSVs as one table and plot, $out/NAME.*
report() {
	local name=$1 csvs=() r
	shift
	for r in "$@"; do csvs+=("$work/$r/goodput.csv"); done
	GOODPUT_NAME=$name "$HERE/goodput.sh" --report "$out" "${csvs[@]}" | sed -n '/^over /,$p'
}

for stage in $stages; do
	case $stage in
	sip)
		run sip-main GOODPUT_RUNS="$runs" GOODPUT_MODES="sa2c sa2c-rate limit" GOODPUT_LOADS="0.5 1 1.5 2 3"
		run sip-others GOODPUT_RUNS=1 GOODPUT_MODES="off random" GOODPUT_LOADS="0.5 1 1.5 2 3"
		report goodput sip-main sip-others ;;
	tcp)
		run tcp GOODPUT_RUNS="$runs" GOODPUT_MODES="sa2c limit" GOODPUT_LOADS="1 2 3" GOODPUT_TCP_SHARE=0.3
		report goodput-tcp tcp ;;
	oc)
		run oc GOODPUT_RUNS="$runs" GOODPUT_MODES="sa2c-oc sa2c-nooc" GOODPUT_LOADS="1 2 3"
		report goodput-oc oc ;;
	rtsp)
		run rtsp GOODPUT_RUNS="$runs" GOODPUT_MODES="off sa2c limit" GOODPUT_LOADS="1 2 3" GOODPUT_PROTO=rtsp
		cp "$work"/rtsp/goodput-rtsp.* "$out/"
		sed -n '/^over /,$p' "$out/goodput-rtsp.txt" ;;
	*) echo "experiments.sh: unknown stage $stage (sip tcp oc rtsp)"; exit 2 ;;
	esac
done
echo "experiments.sh: done in $(( $(date +%s) - t0 )) s; tables and plots in $out"
