#!/usr/bin/env bash
# man_keys.sh - the configuration keys in the engine's key table
# (src/engine/config.c: every *_KEY entry, groups followed) against the keys
# sara.conf(5) documents (.It Cm entries, under a .Ss "GROUP = ..." heading
# for a group's keys); any difference fails and is printed. Then every key
# against conf/example.cfg, which names each one (set or in a comment, as
# "KEY ="). First proves, on a page and an example with one key taken out,
# that a difference is caught.
set -u
cd "$(dirname "$0")/../.."
SOURCE=src/engine/config.c
PAGE=docs/man/sara.conf.5
EXAMPLE=conf/example.cfg

# The key table as qualified names: "name", "queue.first", "servers.id".
source_keys() {
	awk '
		function quoted(line) { match(line, /"[^"]*"/); return substr(line, RSTART + 1, RLENGTH - 2) }
		/^static const struct key_spec [a-z_]+\[\] = \{/ {
			array = $5; sub(/\[\]$/, "", array); next
		}
		array != "" && /^\};/ { array = ""; next }
		array != "" && /GROUP_KEY\(/ {
			t = $0; sub(/^.*GROUP_KEY\("[^"]*", */, "", t); sub(/\).*/, "", t)
			group[array, quoted($0)] = t; next
		}
		array != "" && /KEY_SERVERS/ { group[array, quoted($0)] = "server_key_table"; next }
		array != "" && /_KEY\(/ { keys[array] = keys[array] " " quoted($0); next }
		/struct key_table [a-z_]+ = TABLE\(/ {
			t = $0; sub(/.*struct key_table /, "", t); split(t, part, /[ =();]+/)
			table[part[1]] = part[3]
		}
		END {
			for (k in group) {
				split(k, ag, SUBSEP)
				arr = table[group[k]]
				n = split(keys[arr], names, " ")
				for (i = 1; i <= n; i++) print ag[2] "." names[i]
				if (ag[1] == "top_keys") print ag[2]
			}
			n = split(keys["top_keys"], names, " ")
			for (i = 1; i <= n; i++) print names[i]
		}
	' "$SOURCE" | sort -u
}

# The page's keys: .It Cm KEY, qualified by the group its .Ss heading names.
page_keys() {
	awk '
		/^\.Sh / { group = ""; inkeys = 0; next }
		/^\.Ss / {
			inkeys = 1; group = ""
			if (match($0, /[a-z_]+ = [({]/)) {
				group = substr($0, RSTART, RLENGTH); sub(/ = .*/, "", group); print group
			}
			next
		}
		inkeys && /^\.It Cm [a-z_0-9]+/ { print (group == "" ? "" : group ".") $3 }
	' "$1" | sort -u
}

compare() {
	local page=$1 missing extra
	missing=$(comm -23 <(source_keys) <(page_keys "$page"))
	extra=$(comm -13 <(source_keys) <(page_keys "$page"))
	[ -z "$missing$extra" ] && return 0
	[ -n "$missing" ] && echo "man_keys: in $SOURCE, not documented in $page:" $missing
	[ -n "$extra" ] && echo "man_keys: documented in $page, not in $SOURCE:" $extra
	return 1
}

count=$(source_keys | grep -c .)
if [ "$count" -lt 40 ]; then
	echo "man_keys: found only $count keys in $SOURCE; the extraction is broken"
	exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
grep -v '^\.It Cm lead_s$' "$PAGE" >"$tmp/planted.5"
if compare "$tmp/planted.5" >/dev/null; then
	echo "man_keys: a page without admission.lead_s passed: the check cannot fail"
	exit 1
fi
# example_missing FILE: the keys FILE does not name as "KEY =" (a group by its last name)
example_missing() {
	local key leaf
	for key in $(source_keys); do
		leaf=${key##*.}
		grep -Eq "(^|[^a-z_0-9])$leaf *=" "$1" || echo "$key"
	done
}
sed 's/lead_s *=/lead_z =/g' "$EXAMPLE" >"$tmp/planted.cfg"
if [ -z "$(example_missing "$tmp/planted.cfg")" ]; then
	echo "man_keys: an example without admission.lead_s passed: the check cannot fail"
	exit 1
fi
rc=0
compare "$PAGE" || rc=1
missing=$(example_missing "$EXAMPLE")
[ -z "$missing" ] || { echo "man_keys: not named in $EXAMPLE:" $missing; rc=1; }
[ "$rc" -eq 0 ] && echo "man_keys: $count keys and groups, all documented and named in $EXAMPLE"
exit "$rc"
