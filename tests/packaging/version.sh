#!/usr/bin/env bash
# version.sh BUILD - every program's --version prints "PROG VERSION" and
# exits 0, VERSION being debian/changelog's (the package's). First proves,
# against a planted version, that a difference is caught.
set -u
BUILD=${1:?usage: version.sh BUILD}
cd "$(dirname "$0")/../.."
PROGRAMS="sarad sara-gw sara-agent sara-ctl sara-replay"

if command -v dpkg-parsechangelog >/dev/null; then
	expected=$(dpkg-parsechangelog -S Version)
else
	expected=$(sed -n '1s/^sara (\([^)]*\)).*/\1/p' debian/changelog)
fi
[ -n "$expected" ] || { echo "version: no version in debian/changelog"; exit 1; }

# says PROG VERSION: true when PROG --version prints exactly "PROG VERSION", status 0.
says() {
	local out
	out=$("$BUILD/$1" --version 2>&1) || { echo "version: $1 --version exit status $?"; return 1; }
	[ "$out" = "$1 $2" ] || { echo "version: $1 --version says \"$out\", not \"$1 $2\""; return 1; }
}

for prog in $PROGRAMS; do
	[ -x "$BUILD/$prog" ] || { echo "version: $BUILD/$prog is not built"; exit 1; }
done
if says sarad "$expected-planted" >/dev/null; then
	echo "version: a planted version passed: the check cannot fail"
	exit 1
fi

failures=0
for prog in $PROGRAMS; do
	says "$prog" "$expected" || failures=$((failures + 1))
done
echo "version: $(echo $PROGRAMS | wc -w) programs, version $expected, $failures differ"
[ "$failures" -eq 0 ]
