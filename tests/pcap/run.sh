#!/usr/bin/env bash
# Replays every capture listed in tests/pcap/cases.txt through sara-replay
# and compares the report with tests/pcap/expected/NAME.txt, the --check exit
# status with the case's expectation, and checks that --json is valid JSON.
# A "none" case (no session expected) must also replay to 0 sessions and to
# the packet, unassigned-flow and counter figures in expected/NAME.figures.
# Shared-corpus captures are skipped with a message when the corpus is absent.
# Usage: tests/pcap/run.sh BUILD/sara-replay [--update]
set -u
replay=${1:?usage: run.sh path/to/sara-replay [--update]}
update=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
corpus=${SARA_CORPUS:-../shared/corpus}
passed=0 failed=0 skipped=0
diffs=$(mktemp /tmp/sara-pcap-diff.XXXXXX)
trap 'rm -f "$diffs"' EXIT

# figures < JSON-REPORT: the figures a "none" case is held to, one kind a
# line: the summary, the unassigned flows and their packets, the packet
# totals, then each program's non-zero counters by name.
figures() {
	python3 -c '
import json, sys
d = json.load(sys.stdin)
s, p, c = d["summary"], d["packets"], d["counters"]
print("summary", " ".join("%s %d" % (k, s[k]) for k in
      ("sessions", "intact", "split", "media_flows", "predicted", "unpredicted")))
u = d["unassigned_flows"]
print("unassigned_flows %d packets %d" % (len(u), sum(f["packets"] for f in u)))
print("packets", " ".join("%s %d" % (k, p[k]) for k in ("inbound", "outbound", "other", "announcements")))
for program in ("engine", "gateway"):
    print(" ".join([program] + ["%s=%d" % (k, v) for k, v in sorted(c[program].items()) if v]))
'
}

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
	json=$("$replay" "${args[@]}" --json "$file" 2>/dev/null)
	if [ "$update" = "--update" ]; then
		printf '%s\n' "$actual" > "$expected"
		if [ "$check" = none ]; then
			printf '%s\n' "$json" | figures > "$here/expected/$name.figures"
		fi
	fi
	problems=()
	if ! diff -u "$expected" <(printf '%s\n' "$actual") > "$diffs" 2>&1; then
		problems+=("report differs from $expected:"$'\n'"$(head -40 "$diffs")")
	fi
	"$replay" "${args[@]}" --check "$file" > /dev/null 2>&1
	rc=$?
	case "$check" in
	pass|none) [ "$rc" -eq 0 ] || problems+=("--check exited $rc, expected 0") ;;
	fail) [ "$rc" -eq 1 ] || problems+=("--check exited $rc, expected 1") ;;
	*) [ "$rc" -le 1 ] || problems+=("--check exited $rc (error)") ;;
	esac
	if ! printf '%s\n' "$json" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert {"sessions","unassigned_flows","summary"} <= d.keys()'; then
		problems+=("--json is not a valid report")
	elif [ "$check" = none ]; then
		if ! printf '%s\n' "$json" | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(len(d["sessions"]) + d["summary"]["sessions"] != 0)'; then
			problems+=("--json reports sessions; a \"none\" case expects none")
		fi
		if ! diff -u "$here/expected/$name.figures" <(printf '%s\n' "$json" | figures) > "$diffs" 2>&1; then
			problems+=("figures differ from $here/expected/$name.figures:"$'\n'"$(head -40 "$diffs")")
		fi
	fi
	if [ ${#problems[@]} -eq 0 ]; then
		echo "pcap: $name: ok"; passed=$((passed + 1))
	else
		echo "pcap: $name: FAILED"; printf '  %s\n' "${problems[@]}"; failed=$((failed + 1))
	fi
done < "$here/cases.txt"
echo "pcap: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
