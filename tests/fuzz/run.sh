#!/usr/bin/env bash
# Runs each libFuzzer target for a bounded time from its seed corpus
# (tests/fuzz/corpus/NAME/, copied so the repo is never written) and prints
# "fuzz: N passed, N failed".
# Usage: tests/fuzz/run.sh SECONDS build-fuzz/fuzz_X...
set -u
seconds=${1:?usage: run.sh SECONDS FUZZER...}; shift
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/sara-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
for bin in "$@"; do
	name=$(basename "$bin"); seeds="$here/corpus/${name#fuzz_}"
	mkdir -p "$work/$name"
	[ -d "$seeds" ] && cp -r "$seeds/." "$work/$name/"
	if "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$work/$name-" "$work/$name" > "$work/$name.log" 2>&1; then
		echo "fuzz: $name: ok ($(grep -o 'stat::number_of_executed_units: [0-9]*' "$work/$name.log" | awk '{print $2}') runs in ${seconds}s)"
		passed=$((passed + 1))
	else
		echo "fuzz: $name: FAILED"; tail -40 "$work/$name.log"
		for a in "$work/$name"-*; do [ -f "$a" ] && { echo "  crash input (base64): $a"; base64 -w0 "$a" | head -c 4000; echo; }; done
		failed=$((failed + 1))
	fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
