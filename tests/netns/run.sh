#!/usr/bin/env bash
# run.sh - runs every tests/netns/*.sh (smoke and e2e tests in network namespaces), one at
# a time, except itself and the harness they source (lib.sh, *_lib.sh): exit 0 = pass,
# 77 = skip, anything else = fail. One line per test, then
# "e2e: N passed, N failed, N skipped"; exit 1 if any failed.
#   tests/netns/run.sh [-v] [BUILD_DIR] [NAME...]   (NAME: a test's file name, .sh optional)
# BUILD_DIR (default build) is where the programs are: exported as SARA_BIN_DIR (the e2e
# tests, through lib.sh), and a test whose header says "Usage: ... [BUILD/prog]"
# gets BUILD_DIR/prog as its argument (the smoke tests).
# -v prints each test's output; otherwise only a failed test's output (last 40 lines).
# TEST_TIMEOUT (seconds, default 150) bounds each test.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
verbose=0
if [ "${1:-}" = -v ]; then verbose=1; shift; fi
build=build
if [ $# -gt 0 ] && [ -d "$1" ]; then build=$1; shift; fi
if [ -d "$build" ]; then export SARA_BIN_DIR; SARA_BIN_DIR=$(cd "$build" && pwd); fi
tests=()
if [ $# -gt 0 ]; then
	for n in "$@"; do tests+=("$HERE/${n%.sh}.sh"); done
else
	for f in "$HERE"/*.sh; do
		case $(basename "$f") in run.sh | lib.sh | *_lib.sh) ;; *) tests+=("$f") ;; esac
	done
fi
pass=0 fail=0 skip=0
out=$(mktemp /tmp/sara-netns-run.XXXXXX)
trap 'rm -f "$out"' EXIT
for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	if [ ! -f "$t" ]; then echo "FAIL $name (no such test)"; fail=$((fail + 1)); continue; fi
	start=$(date +%s)
	rc=0
	# "[BUILD/prog]" in the test's usage line: it takes the program's path
	prog=$(sed -n '1,20{s/.*[Uu]sage:.*\[BUILD\/\([A-Za-z0-9_.-]*\)\].*/\1/p}' "$t" | head -1)
	args=()
	[ -n "$prog" ] && args=("$build/$prog")
	timeout -k 10 "${TEST_TIMEOUT:-150}" bash "$t" "${args[@]}" >"$out" 2>&1 || rc=$?
	secs=$(( $(date +%s) - start ))
	case $rc in
	0) echo "PASS $name (${secs} s)"; pass=$((pass + 1)) ;;
	77)
		why=$(grep -m1 -i 'skip' "$out" | cut -c1-160)
		# Only what the machine cannot give may skip (root, namespaces, a
		# kernel feature); a tool `make deps` installs is a regression.
		if printf '%s' "$why" | grep -qiE 'root|namespace|veth|nfqueue unavailable|no conntrack'; then
			echo "SKIP $name: $why"; skip=$((skip + 1))
		else
			echo "FAIL $name (skipped for what make deps installs: $why)"; fail=$((fail + 1))
		fi ;;
	124 | 137) echo "FAIL $name (timed out after ${secs} s)"; fail=$((fail + 1)) ;;
	*) echo "FAIL $name (exit $rc, ${secs} s)"; fail=$((fail + 1)) ;;
	esac
	if [ "$verbose" = 1 ]; then sed 's/^/    /' "$out"
	elif [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then tail -40 "$out" | sed 's/^/    /'; fi
done
echo "e2e: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
