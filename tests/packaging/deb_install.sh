#!/usr/bin/env bash
# deb_install.sh [BUILD] - make deb, lintian on the package (errors and
# warnings fail), then `apt-get install ./sara_*.deb` in a fresh Debian root
# made by mmdebstrap (the host's release, its dependencies from the
# archive) and the installed programs run there: --help, --check-config on
# the shipped example, a replay of a bundled capture, a missing config, the
# units installed but not enabled. Where no fresh root can be made (no
# mmdebstrap, no archive), the package is unpacked with dpkg -x and its
# programs run on this machine instead; the closing line says which.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/../.."
CAPTURE=pcaps/sip-sipp-sipp-udp-3calls.pcap
passed=0
failed=0

check() {  # NAME COMMAND...: runs COMMAND, counts and reports the result
	local name=$1; shift
	if "$@" >"$tmp/check.out" 2>&1; then
		passed=$((passed + 1))
		echo "deb_install: ok: $name"
	else
		failed=$((failed + 1))
		echo "deb_install: FAILED: $name"
		sed 's/^/    /' "$tmp/check.out" | head -n 20
	fi
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if ! make -s BUILD="$BUILD" deb >"$tmp/deb.log" 2>&1; then
	tail -n 30 "$tmp/deb.log"
	echo "deb_install: make deb failed"
	exit 1
fi
deb=$(ls "$BUILD"/sara_*.deb | head -n 1)
echo "deb_install: built $deb"

if command -v lintian >/dev/null; then
	lintian --display-level '>=warning' "$deb" 2>&1 | grep -v 'running with root privileges' >"$tmp/lintian.out"
	check "lintian: no errors or warnings" sh -c "cat '$tmp/lintian.out'; ! grep -q '^[EW]:' '$tmp/lintian.out'"
else
	echo "deb_install: lintian is missing: not run"
fi

# in_root COMMAND...: runs COMMAND as installed, in the fresh root or from
# the unpacked package.
root=""
mode=""
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
if [ "$(id -u)" -eq 0 ] && command -v mmdebstrap >/dev/null && [ -n "$codename" ]; then
	if mmdebstrap --variant=apt --quiet \
		--customize-hook="copy-in $(realpath "$deb") /tmp" \
		--customize-hook="chroot \"\$1\" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q /tmp/${deb##*/}" \
		"$codename" "$tmp/root" >"$tmp/mmdebstrap.log" 2>&1; then
		root=$tmp/root
		mode="a fresh $codename root (mmdebstrap, apt-get install ./${deb##*/})"
	else
		tail -n 15 "$tmp/mmdebstrap.log"
		echo "deb_install: mmdebstrap could not make a root"
	fi
fi
if [ -n "$root" ]; then
	in_root() { chroot "$root" "$@"; }
	cp "$CAPTURE" "$root/tmp/"
	capture=/tmp/${CAPTURE##*/}
	installed() { chroot "$root" dpkg-query -W -f='${Status}' sara | grep -q 'install ok installed'; }
	check "dpkg says sara is installed" installed
else
	mode="the package unpacked with dpkg -x on this machine (no fresh root could be made here)"
	dpkg -x "$deb" "$tmp/unpacked"
	root=$tmp/unpacked
	in_root() { local prog=$1; shift; "$root$prog" "$@"; }
	capture=$CAPTURE
fi
examples=/usr/share/doc/sara/examples
example_cfg=$examples/example.cfg
[ "$root" = "$tmp/unpacked" ] && example_cfg=$root$example_cfg

for prog in /usr/sbin/sarad /usr/sbin/sara-gw /usr/sbin/sara-agent /usr/sbin/sara-ctl /usr/bin/sara-replay; do
	check "${prog##*/} --help" in_root "$prog" --help
done
check "sarad --check-config -c $examples/example.cfg" in_root /usr/sbin/sarad --check-config -c "$example_cfg"
# The bundled capture: three calls, each on one server, media predicted.
replay_intact() {
	in_root /usr/bin/sara-replay -c "$example_cfg" --vip 198.18.77.20 --check "$capture" >"$tmp/replay.out" 2>&1
	local rc=$?
	tail -n 3 "$tmp/replay.out"
	[ "$rc" -eq 0 ] && grep -q '^sessions 3 intact 3 split 0' "$tmp/replay.out"
}
# What a unit started without its config does: exit 2, the file named.
missing_config_refused() {
	in_root /usr/sbin/sarad -c /etc/sara/missing.cfg --foreground >"$tmp/missing.out" 2>&1
	local rc=$?
	cat "$tmp/missing.out"
	[ "$rc" -eq 2 ] && grep -q 'missing.cfg' "$tmp/missing.out"
}
check "sara-replay --check of ${CAPTURE##*/}: 3 sessions intact" replay_intact
check "sarad without its config: exit 2 and a message naming the file" missing_config_refused
for page in man1/sara-replay.1 man5/sara.conf.5 man8/sarad.8 man8/sara-gw.8 man8/sara-agent.8 man8/sara-ctl.8; do
	check "manual page $page" test -f "$root/usr/share/man/$page.gz"
done
for unit in sarad@ sara-gw@ sara-agent@; do
	check "unit $unit.service installed" test -f "$root/lib/systemd/system/$unit.service"
done
check "no unit enabled on installation" sh -c "! find '$root/etc/systemd' -name 'sara*' 2>/dev/null | grep -q ."

echo "deb_install: installed into $mode"
echo "deb_install: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
