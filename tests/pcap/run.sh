#!/usr/bin/env bash
# Replays every capture listed in tests/pcap/cases.txt through sara-replay
# and compares the report with tests/pcap/expected/NAME.txt, the --check exit
# status with the case's expectation, and checks that --json is valid JSON.
# Shared-corpus captures are skipped with a message when the corpus is absent.
# Usage: tests/pcap/run.sh BUILD/sara-replay [--update]
set -u
replay=${1:?usage: run.sh path/to/sara-replay [--update]}
update=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
corpus=${SARA_CORPUS:-../shared/corpus}
passed=0 failed=0 skipped=0
while read -r name check config file vips; do
	case "$name" in ''|'#'*) continue ;; esac
	if [[ $file == corpus:* ]]; then
		file="$corpus/${file#corpus:}"
		if [ ! -f "$file" ]; then
			echo "pcap: $name: skipped: corpus capture not found at $file"
			skipped=$((skipped + 1)); continue
		fi
	fi
	args=(-c "$config")
	for v in $vips; do args+=(--vip "$v"); done
	expected="$here/expected/$name.txt"
	actual=$("$replay" "${args[@]}" "$file" 2>&1)
	if [ "$update" = "--update" ]; then
		printf '%s\n' "$actual" > "$expected"
	fi
	problems=()
	if ! diff -u "$expected" <(printf '%s\n' "$actual") > /tmp/sara-pcap-diff.$$ 2>&1; then
		problems+=("report differs from $expected:"$'\n'"$(head -40 /tmp/sara-pcap-diff.$$)")
	fi
	"$replay" "${args[@]}" --check "$file" > /dev/null 2>&1
	rc=$?
	case "$check" in
	pass) [ "$rc" -eq 0 ] || problems+=("--check exited $rc, expected 0") ;;
	fail) [ "$rc" -eq 1 ] || problems+=("--check exited $rc, expected 1") ;;
	*) [ "$rc" -le 1 ] || problems+=("--check exited $rc (error)") ;;
	esac
	if ! "$replay" "${args[@]}" --json "$file" 2>/dev/null | python3 -c 'import json,sys; d=json.load(sys.stdin); assert {"sessions","unassigned_flows","summary"} <= d.keys()'; then
		problems+=("--json is not a valid report")
	fi
	if [ ${#problems[@]} -eq 0 ]; then
		echo "pcap: $name: ok"; passed=$((passed + 1))
	else
		echo "pcap: $name: FAILED"; printf '  %s\n' "${problems[@]}"; failed=$((failed + 1))
	fi
done < "$here/cases.txt"
rm -f /tmp/sara-pcap-diff.$$
echo "pcap: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
