#!/usr/bin/env bash
# Runs every cmocka unit-test binary under a directory (one folder a layer) and prints one closing
# line CI can read: "unit: N passed, N failed".
set -u
dir=${1:?usage: run.sh BUILD/tests}
passed=0 failed=0 broken=0
for bin in "$dir"/*/test_*; do
	[ -x "$bin" ] || continue
	out=$("$bin" 2>&1); rc=$?
	printf '%s\n' "$out"
	p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
	f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
	passed=$((passed + p)); failed=$((failed + f))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "unit: $bin exited $rc without a cmocka failure line"; broken=$((broken + 1))
	fi
done
failed=$((failed + broken))
echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
