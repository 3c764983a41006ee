#!/usr/bin/env bash
# man_options.sh BUILD - for each program, the options it accepts (read from
# its --help output: the usage lines and the option list) against the
# options its manual page documents (.Fl in SYNOPSIS and in .It entries);
# any difference fails and is printed. -h and --help count as accepted when
# the program answers them with its usage and exit status 0. First proves,
# on a page with one option taken out, that a difference is caught.
set -u
BUILD=${1:?usage: man_options.sh BUILD}
cd "$(dirname "$0")/../.."
PROGRAMS="sarad sara-gw sara-agent sara-ctl sara-replay"

# help_options HELP_FILE: the options in the usage lines ("usage: PROG ..."
# and the lines that continue it) and at the head of the option list's lines.
help_options() {
	awk -v short='(^|[ [|])-[A-Za-z]([] |]|$)' -v long='--[a-z][a-z0-9-]*' '
		function all(text, re,   m) {
			while (match(text, re)) {
				m = substr(text, RSTART, RLENGTH)
				gsub(/[][ |]/, "", m)
				print m
				text = substr(text, RSTART + RLENGTH - 1)
			}
		}
		/^usage: / { usage = 1; all($0, long); all($0, short); next }
		usage && /^[ \t]+(\[|[a-z-]+ )/ && !/^[ \t]+-/ { all($0, long); all($0, short); next }
		{ usage = 0 }
		/^[ \t]*-[A-Za-z], --[a-z]/ { s = $1; sub(/,$/, "", s); print s; print $2; next }
		/^[ \t]*--[a-z]/ { print $1 }
	' "$1" | sort -u
}

# page_options PAGE: the .Fl arguments in SYNOPSIS and on .It lines.
page_options() {
	awk '
		/^\.Sh / { synopsis = ($2 == "SYNOPSIS"); next }
		synopsis || /^\.It / {
			n = split($0, w, /[ \t]+/)
			for (i = 1; i < n; i++)
				if (w[i] == "Fl" || w[i] == ".Fl")
					if (w[i + 1] ~ /^-?[A-Za-z][A-Za-z0-9-]*$/)
						print "-" w[i + 1]
		}
	' "$1" | sort -u
}

# compare NAME HELP_OPTIONS_FILE PAGE: prints the differences, fails on any.
compare() {
	local name=$1 accepted=$2 page=$3 documented missing extra
	documented=$(page_options "$page")
	missing=$(comm -23 "$accepted" <(printf '%s\n' "$documented"))
	extra=$(comm -13 "$accepted" <(printf '%s\n' "$documented"))
	[ -z "$missing$extra" ] && return 0
	[ -n "$missing" ] && echo "man_options: $name accepts, $page does not document:" $missing
	[ -n "$extra" ] && echo "man_options: $page documents, $name does not accept:" $extra
	return 1
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
checked=0

# accepted_options PROG OUT: writes the sorted options PROG accepts to OUT.
accepted_options() {
	local prog=$1 out=$2
	if ! "$BUILD/$prog" --help >"$tmp/$prog.help" 2>&1; then
		echo "man_options: $prog --help failed"
		return 1
	fi
	{
		help_options "$tmp/$prog.help"
		echo "--help"
		if "$BUILD/$prog" -h 2>&1 | cmp -s - "$tmp/$prog.help"; then
			echo "-h"
		fi
	} | sort -u >"$out"
	if [ "$(grep -c . "$out")" -lt 3 ]; then
		echo "man_options: found almost no options in $prog --help; the extraction is broken"
		return 1
	fi
}

for prog in $PROGRAMS; do
	[ -x "$BUILD/$prog" ] || { echo "man_options: $BUILD/$prog is not built"; exit 1; }
done

# The planted difference: sarad's page without --check-config.
accepted_options sarad "$tmp/sarad.accepted" || exit 1
grep -v 'Fl -check-config' docs/man/sarad.8 >"$tmp/planted.8"
if compare sarad "$tmp/sarad.accepted" "$tmp/planted.8" >/dev/null; then
	echo "man_options: a page without --check-config passed: the check cannot fail"
	exit 1
fi

for prog in $PROGRAMS; do
	page=$(ls docs/man/"$prog".[18] 2>/dev/null | head -n 1)
	if [ -z "$page" ]; then
		echo "man_options: no page for $prog in docs/man"
		failures=$((failures + 1))
		continue
	fi
	if ! accepted_options "$prog" "$tmp/$prog.accepted"; then
		failures=$((failures + 1))
		continue
	fi
	compare "$prog" "$tmp/$prog.accepted" "$page" || failures=$((failures + 1))
	checked=$((checked + 1))
	echo "man_options: $prog: $(tr '\n' ' ' <"$tmp/$prog.accepted")"
done
echo "man_options: $checked programs compared, $failures with differences"
[ "$failures" -eq 0 ]
