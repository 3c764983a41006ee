#!/usr/bin/env bash
# units_caps.sh BUILD - each unit's program runs with no more capabilities
# than its unit's CapabilityBoundingSet= gives it: the unit's ExecStart (the
# built programs for /usr/sbin, a lab config for /etc/sara/%i.cfg, the
# example environment files for $SARA_*_ARGS) under setpriv with that
# bounding set, in a network namespace of its own; it must still be running
# after START_S seconds and have logged no "not permitted". First proves,
# with sarad short of CAP_NET_RAW, that a missing capability is caught.
# Needs root and unshare(1): exit 77 (skipped) otherwise.
set -u
BUILD=$(realpath "${1:-build}")
cd "$(dirname "$0")/../.."
START_S=1.5
if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null || ! unshare -n true 2>/dev/null; then
	echo "units_caps: needs root, setpriv and network namespaces: skipped"
	exit 77
fi
for prog in sarad sara-gw sara-agent sara-ctl; do
	[ -x "$BUILD/$prog" ] || { echo "units_caps: $BUILD/$prog is not built"; exit 1; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The lab cluster with its listeners on loopback and its files in $tmp.
sed -e "s|^key_file = .*|key_file = \"$tmp/lab.key\";|" \
    -e "s|^control = .*|control = { socket = \"$tmp/lab.sock\"; };|" \
    -e 's|^gateway = { };|gateway = { listen = "127.0.0.1:17401"; };|' \
    -e 's|^agents = { interval_ms.*|agents = { listen = "127.0.0.1:17400"; interval_ms = 1000; misses = 3; };|' \
    conf/example.cfg >"$tmp/lab.cfg"
"$BUILD/sara-ctl" -c "$tmp/lab.cfg" keygen >/dev/null || exit 1

# bounding_set UNIT: the unit's capabilities as setpriv's list ("+net_admin,...").
bounding_set() {
	sed -n 's/^CapabilityBoundingSet=//p' "$1" | tr 'A-Z' 'a-z' | \
		awk '{ for (i = 1; i <= NF; i++) { sub(/^cap_/, "", $i); printf ",+%s", $i } }'
}

# command_of UNIT: the unit's ExecStart with this test's paths and arguments.
command_of() {
	local unit=$1 line
	line=$(sed -n 's/^ExecStart=//p' "$unit")
	line=${line//\/usr\/sbin\//$BUILD/}
	line=${line//\/etc\/sara\/%i.cfg/$tmp/lab.cfg}
	# EnvironmentFile= lines: NAME=the rest of the line, unquoted.
	SARA_AGENT_ARGS=$(sed -n 's/^SARA_AGENT_ARGS=//p' conf/systemd/example.agent)
	SARA_GW_ARGS=$(sed -n 's/^SARA_GW_ARGS=//p' conf/systemd/example.gw)
	line=${line//\$SARA_AGENT_ARGS/$SARA_AGENT_ARGS}
	line=${line//\$SARA_GW_ARGS/$SARA_GW_ARGS}
	echo "$line"
}

# runs_with CAPS COMMAND...: true when COMMAND, with bounding set CAPS, in
# a new network namespace, runs START_S seconds and says nothing of
# permissions. Its output goes to $tmp/out.
runs_with() {
	local caps=$1; shift
	unshare -n sh -c 'ip link set lo up; exec setpriv --bounding-set=-all"$0" --inh-caps=-all --no-new-privs "$@"' \
		"$caps" "$@" >"$tmp/out" 2>&1 &
	local pid=$! alive=0
	sleep "$START_S"
	if kill -0 "$pid" 2>/dev/null; then
		alive=1
		kill -TERM "$pid"
	fi
	wait "$pid"
	[ "$alive" -eq 1 ] && ! grep -qi 'not permitted' "$tmp/out"
}

# shellcheck disable=SC2046
if runs_with ",+net_admin" $(command_of conf/systemd/sarad@.service); then
	echo "units_caps: sarad without CAP_NET_RAW passed: the check cannot fail"
	exit 1
fi
echo "units_caps: sarad without CAP_NET_RAW is caught: $(grep -i -m1 'not permitted' "$tmp/out")"

failures=0
count=0
for unit in conf/systemd/*@.service; do
	caps=$(bounding_set "$unit")
	count=$((count + 1))
	# shellcheck disable=SC2046
	if runs_with "$caps" $(command_of "$unit"); then
		echo "units_caps: ${unit##*/} runs with [${caps#,}]"
	else
		echo "units_caps: ${unit##*/} fails with [${caps#,}]:"
		sed 's/^/    /' "$tmp/out" | head -n 10
		failures=$((failures + 1))
	fi
done
echo "units_caps: $count units, $failures failed"
[ "$count" -gt 0 ] && [ "$failures" -eq 0 ]
