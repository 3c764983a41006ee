#!/usr/bin/env bash
# Runs each libFuzzer target for a bounded time from its seed corpus
# (tests/fuzz/corpus/NAME/, copied so the repo is never written), FUZZ_JOBS
# targets at a time (default: one per CPU), and prints one line per target in
# the order given, then "fuzz: N passed, N failed".
# Usage: tests/fuzz/run.sh SECONDS build-fuzz/fuzz_X...
set -u
seconds=${1:?usage: run.sh SECONDS FUZZER...}; shift
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/sara-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT

# run_one BIN: one target; its report in $work/NAME.report, its status in NAME.rc
run_one() {
	local bin=$1 name seeds rc
	name=$(basename "$bin"); seeds="$here/corpus/${name#fuzz_}"
	mkdir -p "$work/$name"
	[ -d "$seeds" ] && cp -r "$seeds/." "$work/$name/"
	"$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$work/$name-" "$work/$name" > "$work/$name.log" 2>&1
	rc=$?
	if [ "$rc" -eq 0 ]; then
		echo "fuzz: $name: ok ($(grep -o 'stat::number_of_executed_units: [0-9]*' "$work/$name.log" | awk '{print $2}') runs in ${seconds}s)"
	else
		echo "fuzz: $name: FAILED"; tail -40 "$work/$name.log"
		for a in "$work/$name"-*; do [ -f "$a" ] && { echo "  crash input (base64): $a"; base64 -w0 "$a" | head -c 4000; echo; }; done
	fi >"$work/$name.report"
	echo "$rc" >"$work/$name.rc"
}

running=0
for bin in "$@"; do
	if [ "$running" -ge "$jobs" ]; then
		wait -n
		running=$((running - 1))
	fi
	run_one "$bin" &
	running=$((running + 1))
done
wait
passed=0 failed=0
for bin in "$@"; do
	name=$(basename "$bin")
	cat "$work/$name.report" 2>/dev/null || echo "fuzz: $name: FAILED (no report)"
	if [ "$(cat "$work/$name.rc" 2>/dev/null)" = 0 ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
