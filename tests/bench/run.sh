#!/bin/sh
# run.sh BUILD - runs every BUILD/bench/bench_* (bench_engine last, with the
# captures), then an optional callgrind instruction count, then a summary.
# Figures only: exits non-zero only when a benchmark binary fails or crashes.
set -u

build=${1:-build}
bench_dir=$build/bench
repo=$(cd "$(dirname "$0")/../.." && pwd)
corpus=$repo/../shared/corpus
per_binary_timeout=600
log_dir=$(mktemp -d "${TMPDIR:-/tmp}/sara-bench.XXXXXX")
trap 'rm -rf "$log_dir"' EXIT INT TERM
failures=0
status_lines=""
ran=""

if [ ! -d "$bench_dir" ]; then
	echo "run.sh: no $bench_dir (build with make bench)" >&2
	exit 2
fi

# run_bench NAME BINARY ARGS...: runs one benchmark, output to the terminal
# and to $log_dir/NAME.log; records its status and wall time.
run_bench() {
	name=$1
	shift
	echo "== $name"
	started=$(date +%s)
	timeout "$per_binary_timeout" "$@" >"$log_dir/$name.log" 2>&1
	rc=$?
	cat "$log_dir/$name.log"
	elapsed=$(( $(date +%s) - started ))
	if [ "$rc" -eq 0 ]; then
		verdict="ok"
	elif [ "$rc" -eq 124 ]; then
		verdict="FAILED (timed out after ${per_binary_timeout} s)"
		failures=$((failures + 1))
	elif [ "$rc" -gt 128 ]; then
		verdict="CRASHED (signal $((rc - 128)))"
		failures=$((failures + 1))
	else
		verdict="FAILED (exit $rc)"
		failures=$((failures + 1))
	fi
	status_lines="$status_lines$name: $verdict, ${elapsed} s
"
	ran="$ran $name"
	echo
}

# Colleagues' benchmarks: standalone, no arguments.
for binary in "$bench_dir"/bench_*; do
	[ -x "$binary" ] || continue
	name=$(basename "$binary")
	[ "$name" = bench_engine ] && continue
	[ "$name" = bench_replica ] && continue   # replica.sh runs it, with its redis-servers
	run_bench "$name" "$binary"
done

# bench_engine: the repo's captures (VIP 198.18.77.20), then the shared
# corpus with the VIP guessed per file, when present.
engine=$bench_dir/bench_engine
if [ -x "$engine" ]; then
	set -- --vip 198.18.77.20
	for capture in "$repo"/pcaps/*.pcap; do
		[ -f "$capture" ] && set -- "$@" "$capture"
	done
	missing=""
	for dir in sip-pcaps rtsp-pcaps; do
		if [ -d "$corpus/$dir" ]; then
			set -- "$@" --guess-vip
			for capture in "$corpus/$dir"/*.pcap*; do
				[ -f "$capture" ] && set -- "$@" "$capture"
			done
		else
			missing="$missing $corpus/$dir"
		fi
	done
	[ -n "$missing" ] && echo "run.sh: skipping missing capture directories:$missing"
	run_bench bench_engine "$engine" "$@"
else
	echo "run.sh: $engine not built"
	failures=$((failures + 1))
fi

# The live data path in namespaces (root only; skips itself otherwise):
# paths (a)-(e) and the SIP call rate, with their ratios.
run_bench live bash "$repo/tests/bench/live.sh" "$build"

# Optional: instructions per message/packet under callgrind (deterministic,
# unlike the timings on a shared machine). A small fixed workload, ~10 s.
callgrind_lines=""
if [ -x "$engine" ] && command -v valgrind >/dev/null 2>&1 &&
   command -v callgrind_annotate >/dev/null 2>&1; then
	echo "== callgrind (instructions, small workload: 1000 calls, 1000 sessions)"
	out=$log_dir/callgrind.out
	if valgrind --tool=callgrind --callgrind-out-file="$out" "$engine" --callgrind \
	     >"$log_dir/callgrind.log" 2>&1; then
		counts=$(grep '^callgrind-counts' "$log_dir/callgrind.log")
		messages=$(echo "$counts" | sed -n 's/.*sip_messages=\([0-9]*\).*/\1/p')
		packets=$(echo "$counts" | sed -n 's/.*media_packets=\([0-9]*\).*/\1/p')
		callgrind_annotate --inclusive=yes --threshold=100 "$out" 2>/dev/null >"$log_dir/annotate.txt"
		# inclusive Ir of one bench function, commas removed
		ir_of() {
			grep "bench_engine.c:$1 \[" "$log_dir/annotate.txt" | head -n 1 |
				awk '{ gsub(",", "", $1); print $1 }'
		}
		sip_ir=$(ir_of feed_sip_messages)
		osip_ir=$(ir_of parse_sip_baseline)
		media_ir=$(ir_of feed_media_packets)
		if [ -n "$sip_ir" ] && [ -n "$osip_ir" ] && [ -n "$media_ir" ] && [ -n "$messages" ] &&
		   [ -n "$packets" ]; then
			callgrind_lines=$(awk -v s="$sip_ir" -v o="$osip_ir" -v m="$media_ir" \
			    -v n="$messages" -v p="$packets" 'BEGIN {
				printf "callgrind sip invite+sdp/ack/bye: %.0f instructions/msg through the engine, %.0f libosip2 alone (ratio %.2f)\n", s / n, o / n, s / o
				printf "callgrind media packet, known flow (1000 sessions): %.0f instructions/pkt\n", m / p
			}')
			echo "$callgrind_lines"
		else
			echo "callgrind: could not read the counts (see callgrind_annotate)"
		fi
	else
		echo "callgrind: run failed (not counted as a benchmark failure)"
	fi
	echo
fi

echo "== summary"
printf '%s' "$status_lines"
for name in $ran; do
	# Headline figures: unindented lines; per-capture lines stay above.
	grep -v -e '^ ' -e '^capture ' "$log_dir/$name.log"
done
[ -n "$callgrind_lines" ] && echo "$callgrind_lines"
if [ "$failures" -gt 0 ]; then
	echo "run.sh: $failures benchmark(s) failed"
	exit 1
fi
exit 0
