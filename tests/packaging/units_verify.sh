#!/usr/bin/env bash
# units_verify.sh BUILD - systemd-analyze verify on the units in
# conf/systemd/ and the conntrackd resend timer sara-ctl writes, as `make install` puts them in a root (PREFIX=/usr, units
# in /lib/systemd/system): verify resolves ExecStart and the dependencies
# inside --root, so the root gets the installed programs, /bin/kill and
# this machine's own system units (the targets the units name), and man(1)
# looks for the Documentation= pages among the installed ones. Any message
# fails. Works where systemd is not PID 1. First proves, on a
# planted unit naming a missing program and an unknown setting, that the
# check fails when it should.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/../.."
command -v systemd-analyze >/dev/null || { echo "units_verify: systemd-analyze is missing (apt-get install systemd)"; exit 1; }
[ -d /lib/systemd/system ] || { echo "units_verify: no /lib/systemd/system to take the system targets from"; exit 1; }

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
if ! make -s BUILD="$BUILD" DESTDIR="$root" PREFIX=/usr UNITDIR=/lib/systemd/system install >"$root.log" 2>&1; then
	cat "$root.log"; rm -f "$root.log"
	echo "units_verify: make install failed"
	exit 1
fi
rm -f "$root.log"
mkdir -p "$root/bin" "$root/usr/sbin"
cp /bin/kill "$root/bin/kill"
# sara-conntrackd-resync.service runs conntrackd and names its manual (make
# deps installs both)
if command -v conntrackd >/dev/null; then
	cp "$(command -v conntrackd)" "$root/usr/sbin/conntrackd"
	mkdir -p "$root/usr/share/man/man8"
	cp /usr/share/man/man8/conntrackd.8* "$root/usr/share/man/man8/" 2>/dev/null
fi
# a machine without conntrackd's manual (man pages excluded): its units'
# Documentation= is not checked, and this says so
ct_man=yes
ls "$root"/usr/share/man/man8/conntrackd.8* >/dev/null 2>&1 || ct_man=no
# The system's units, ours untouched (cp -n): sysinit.target, multi-user.target, ...
cp -rn /lib/systemd/system/. "$root/lib/systemd/system/"

# verify UNIT [OPTION]: prints systemd-analyze's messages; fails on any.
verify() {
	local out rc
	out=$(MANPATH="$root/usr/share/man" systemd-analyze verify ${2:-} --root="$root" "$1" 2>&1)
	rc=$?
	[ -n "$out" ] && printf '%s\n' "$out"
	[ "$rc" -eq 0 ] && [ -z "$out" ]
}

sed -e 's|^ExecStart=/usr/sbin/sarad|ExecStart=/usr/sbin/sara-missing|' -e '/^\[Service\]/a NoSuchSetting=yes' \
	conf/systemd/sarad@.service >"$root/lib/systemd/system/sara-planted@.service"
if verify sara-planted@check.service >"$root/planted.out"; then
	echo "units_verify: the planted broken unit passed: the check cannot fail"
	exit 1
fi
echo "units_verify: the planted broken unit is refused: $(grep -c . "$root/planted.out") messages"
rm "$root/lib/systemd/system/sara-planted@.service" "$root/planted.out"

# the timer sara-ctl conntrackd-timer writes (its committed example) beside
# the service it starts
cp conf/ha/sara-conntrackd-resync-three.timer "$root/lib/systemd/system/sara-conntrackd-resync.timer"
failures=0
count=0
for unit in conf/systemd/*.service "$root/lib/systemd/system/sara-conntrackd-resync.timer"; do
	name=${unit##*/}
	instance=$name
	case $name in *@.service) instance=${name%@.service}@verify.service ;; esac
	count=$((count + 1))
	man_option=
	if [ "$ct_man" = no ] && [ "${name#sara-conntrackd}" != "$name" ]; then
		man_option=--man=no
		echo "units_verify: $instance: no conntrackd(8) on this machine, its Documentation= not checked"
	fi
	if verify "$instance" $man_option; then
		echo "units_verify: $instance ok"
	else
		echo "units_verify: $instance FAILED"
		failures=$((failures + 1))
	fi
done
echo "units_verify: $count units, $failures failed"
[ "$count" -gt 0 ] && [ "$failures" -eq 0 ]
