#!/usr/bin/env bash
# long.sh SECONDS FUZZER... - long fuzzing (`make fuzz-long`, never in CI): each target
# (built with ASan, UBSan and leak detection) for SECONDS, on a corpus kept between runs
# in $FUZZ_LONG_DIR (default /var/tmp/sara-fuzz-long/NAME, seeded from tests/fuzz/corpus),
# so that coverage and the execution count add up across runs. Prints per target the
# executions of this run and the running total (NAME.execs beside the corpus), and a
# closing line "fuzz-long: N passed, N failed"; a crash or leak fails its target and
# leaves the input beside the corpus (NAME-crash-*, NAME-leak-*).
set -u
seconds=${1:?usage: long.sh SECONDS FUZZER...}; shift
here=$(cd "$(dirname "$0")" && pwd)
dir=${FUZZ_LONG_DIR:-/var/tmp/sara-fuzz-long}
mkdir -p "$dir"
passed=0 failed=0
for bin in "$@"; do
	name=$(basename "$bin"); corpus="$dir/$name"; seeds="$here/corpus/${name#fuzz_}"
	if [ ! -d "$corpus" ]; then
		mkdir -p "$corpus"
		[ -d "$seeds" ] && cp -r "$seeds/." "$corpus/"
	fi
	log="$dir/$name.log"
	"$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$dir/$name-" "$corpus" >"$log" 2>&1
	rc=$?
	runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | awk '{ print $2 }' | tail -1)
	total=$(( $(cat "$dir/$name.execs" 2>/dev/null || echo 0) + ${runs:-0} ))
	echo "$total" >"$dir/$name.execs"
	if [ "$rc" -eq 0 ]; then
		echo "fuzz-long: $name: ok, ${runs:-0} runs in ${seconds} s, $total in total, corpus $(ls "$corpus" | wc -l) inputs"
		passed=$((passed + 1))
	else
		echo "fuzz-long: $name: FAILED (exit $rc) after ${runs:-?} runs; log $log"
		tail -30 "$log"
		failed=$((failed + 1))
	fi
done
echo "fuzz-long: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
