#!/usr/bin/env bash
# deb_install.sh [BUILD] - make deb, lintian on the package (errors and
# warnings fail), then `apt-get install ./sara_*.deb` in a fresh Debian root
# made by mmdebstrap (the host's release, with systemd; the dependencies
# from the archive) and the installed programs run there: --help,
# --check-config on the shipped example, a replay of a bundled capture, a
# missing config, the units installed but not enabled. Then, where
# systemd-nspawn can boot that root (its own network namespace), the units
# run under systemd: sarad@, sara-gw@ and sara-agent@ start with their
# sandboxes, sara-ctl reaches sarad's socket, a reload applies a good file
# and refuses a broken one, a cluster without a config fails, a stop
# removes the socket. Where no fresh root can be made (no mmdebstrap, no
# archive), the package is unpacked with dpkg -x and its programs run on
# this machine instead; the closing lines say what was possible.
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
nspawn_pid=""
cleanup() {
	if [ -n "$nspawn_pid" ] && kill -0 "$nspawn_pid" 2>/dev/null; then
		kill "$nspawn_pid"
		wait "$nspawn_pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

# in_container COMMAND...: runs COMMAND inside the booted root.
in_container() { nsenter -t "$container_pid" -a "$@"; }

# The units under systemd, in the fresh root booted by systemd-nspawn with a
# network namespace of its own: the lab cluster with loopback listeners.
boot_and_check_units() {
	local cfg=$root/etc/sara/lab.cfg state i
	sed -e 's|^gateway = { };|gateway = { listen = "127.0.0.1:7401"; };|' \
	    -e 's|^agents = { interval_ms.*|agents = { listen = "127.0.0.1:7400"; interval_ms = 1000; misses = 3; };|' \
	    "$root/usr/share/doc/sara/examples/example.cfg" >"$cfg"
	chroot "$root" sara-ctl -c /etc/sara/lab.cfg keygen >/dev/null
	cp "$root/usr/share/doc/sara/examples/example.agent" "$root/etc/sara/lab.agent"
	systemd-nspawn --quiet -D "$root" --register=no --keep-unit --private-network -b >"$tmp/nspawn.log" 2>&1 &
	nspawn_pid=$!
	container_pid=""
	for i in $(seq 1 100); do
		container_pid=$(pgrep -P "$nspawn_pid" -x systemd | head -n 1)
		[ -n "$container_pid" ] && break
		sleep 0.2
	done
	if [ -z "$container_pid" ]; then
		tail -n 20 "$tmp/nspawn.log"
		booted="no: systemd-nspawn could not boot the root here"
		return
	fi
	state=$(timeout 60 nsenter -t "$container_pid" -a systemctl is-system-running --wait 2>/dev/null)
	if [ "$state" != running ] && [ "$state" != degraded ]; then
		tail -n 20 "$tmp/nspawn.log"
		booted="no: the booted root did not come up ($state)"
		return
	fi
	booted="yes (systemd-nspawn, $state)"
	check "systemctl start sarad@lab sara-gw@lab sara-agent@lab" \
		in_container systemctl start sarad@lab sara-gw@lab sara-agent@lab
	sleep 3
	check "the three units are active" in_container systemctl is-active sarad@lab sara-gw@lab sara-agent@lab
	check "sara-ctl status through /run/sara/lab.sock" in_container sara-ctl -c /etc/sara/lab.cfg status
	agent_heard() { local out; out=$(in_container sara-ctl -c /etc/sara/lab.cfg servers); echo "$out";
		grep -Eq '^s1 .* [0-9.]+s ' <<<"$out"; }
	check "sarad hears sara-agent@lab (s1's heartbeat)" agent_heard
	no_denials() { ! in_container journalctl --no-pager -u 'sara*' | grep -Ei 'not permitted|denied|bad system call'; }
	check "no permission refused in the units' journal" no_denials
	sed -i 's/signalling_s = 60/signalling_s = 45/' "$cfg"
	reload_applied() { in_container systemctl reload sarad@lab && sleep 1 &&
		in_container journalctl --no-pager -u sarad@lab | grep -q 'event=reload result=applied .* signalling_s=45 '; }
	check "systemctl reload sarad@lab applies a good file" reload_applied
	sed -i 's/signalling_s = 45/signalling_s = 99/' "$cfg"
	reload_refused() { ! in_container systemctl reload sarad@lab 2>&1 && in_container systemctl is-active sarad@lab; }
	check "systemctl reload refuses a broken file, sarad keeps running" reload_refused
	sed -i 's/signalling_s = 99/signalling_s = 60/' "$cfg"
	no_config() { in_container systemctl start sarad@nope; sleep 2;
		in_container systemctl is-failed sarad@nope &&
		in_container journalctl --no-pager -u sarad@nope | grep -q 'nope.cfg: cannot read'; }
	check "sarad@nope without /etc/sara/nope.cfg: failed, the file named" no_config
	stopped() { in_container systemctl stop sarad@lab sara-gw@lab sara-agent@lab && ! in_container test -e /run/sara/lab.sock; }
	check "systemctl stop removes the control socket" stopped
	in_container systemctl poweroff >/dev/null 2>&1
	for i in $(seq 1 50); do
		kill -0 "$nspawn_pid" 2>/dev/null || break
		sleep 0.2
	done
}

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
	if mmdebstrap --variant=apt --quiet --include=systemd,systemd-sysv,dbus \
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

booted="no: the package was not installed in a fresh root"
if [ "$root" = "$tmp/root" ]; then
	if command -v systemd-nspawn >/dev/null && command -v nsenter >/dev/null; then
		boot_and_check_units
	else
		booted="no: systemd-nspawn (systemd-container) or nsenter is missing"
	fi
fi

echo "deb_install: installed into $mode"
echo "deb_install: units run under systemd: $booted"
echo "deb_install: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
