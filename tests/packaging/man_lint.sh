#!/usr/bin/env bash
# man_lint.sh - mandoc -Tlint on every page in docs/man/: any message fails,
# style included. Only two kinds are set aside, because they depend on the
# machine's installed manuals and not on our pages: mandoc's notes about an
# outdated system mandoc.db, and "referenced manual not found" for a page
# that is not ours (printed as a note). A reference to one of our own pages
# must name a page that exists here. First proves, on a planted broken
# page, that the check fails when it should.
set -u
cd "$(dirname "$0")/../.."
command -v mandoc >/dev/null || { echo "man_lint: mandoc is missing (apt-get install mandoc)"; exit 1; }

PAGES=(docs/man/*.[1-9])
[ -e "${PAGES[0]}" ] || { echo "man_lint: no pages in docs/man"; exit 1; }

# lint PAGE... : prints the messages that count, one a line.
lint() {
	local line name sec
	mandoc -Tlint -W style "$@" 2>&1 | while IFS= read -r line; do
		case $line in
		*"outdated mandoc.db lacks"*) continue ;;
		*"STYLE: referenced manual not found: Xr "*)
			read -r name sec _ <<<"${line##*Xr }"
			if [ -e "docs/man/$name.$sec" ]; then
				continue
			fi
			case $name in
			sara*) ;;  # ours, and missing: counts
			*) echo "man_lint: note: $name($sec) is not installed here" >&2; continue ;;
			esac
			;;
		esac
		echo "$line"
	done
}

failures=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The planted page: an unknown macro, an empty .Nm argument list in NAME, a
# reference to a sara page that does not exist.
cat >"$tmp/planted.8" <<'PAGE'
.Dd December 7, 2026
.Dt PLANTED 8
.Os
.Sh NAME
.Nm planted
.Nd a page with faults
.Sh DESCRIPTION
.Zz unknown macro
.Xr sara-nothing 8
PAGE
if [ -z "$(lint "$tmp/planted.8" 2>/dev/null)" ]; then
	echo "man_lint: the planted broken page passed: the check cannot fail"
	exit 1
fi

out=$(lint "${PAGES[@]}")
if [ -n "$out" ]; then
	echo "$out"
	failures=$(printf '%s\n' "$out" | wc -l)
fi
echo "man_lint: ${#PAGES[@]} pages, $failures messages"
[ "$failures" -eq 0 ]
