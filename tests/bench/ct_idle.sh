#!/usr/bin/env bash
# ct_idle.sh [BUILD] - sarad's idle CPU with 1 000 and with 1 000 000 kernel-kept media
# flows: marked UDP conntrack entries (a server's mark, one hour's timeout) created through
# ctnetlink (tests/tools/ct_fill) in a namespace where sarad runs, after its start. sarad
# learns of them by conntrack events and scans the table only at start and after lost
# events, so its idle cost should not grow with the table. Per size: utime + stime from
# /proc/PID/stat over CT_IDLE_SECONDS (20), CT_IDLE_RUNS (3) times: mean and spread in % of
# a core, then the ratio against the targets (<= 2 % of a core at a million, <= 2x the
# 1 000 figure). The periodic scan's cost, for comparison: one dump of the million (what
# sarad's scan did every media_s / 2, 15 s by default) timed by tests/tools/ct_query.
# Raises net.netfilter.nf_conntrack_max and the nf_conntrack hashsize (global) for the run
# and restores them. Heavy (a million entries, ~0.5 GB of kernel memory): run it alone,
# e.g. under flock /tmp/sara-netns.lock. Skips (exit 0) without root or namespaces.
set -u
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
SARAD=$BUILD/sarad FILL=$BUILD/tools/ct_fill CTQ=$BUILD/tools/ct_query
SECONDS_PER_RUN=${CT_IDLE_SECONDS:-20} RUNS=${CT_IDLE_RUNS:-3}
SMALL=1000 BIG=${CT_IDLE_BIG:-1000000} MEDIA_S=30
NS=sara-ctidle VIP=198.19.255.1 SRV=198.18.255.2 MARK=1
PY=/usr/bin/python3
MAX_FILE=/proc/sys/net/netfilter/nf_conntrack_max HASH_FILE=/sys/module/nf_conntrack/parameters/hashsize

[ "$(id -u)" -eq 0 ] || { echo "ct_idle.sh: skipped: needs root"; exit 0; }
for f in "$SARAD" "$FILL" "$CTQ"; do [ -x "$f" ] || { echo "ct_idle.sh: $f not built"; exit 1; }; done
ip netns add "$NS" 2>/dev/null || { echo "ct_idle.sh: skipped: cannot create namespaces"; exit 0; }
WORK=$(mktemp -d /tmp/sara-ct-idle.XXXXXX)
SARAD_PID=
max0=$(cat "$MAX_FILE") hash0=$(cat "$HASH_FILE")
cleanup() {
	[ -n "$SARAD_PID" ] && kill "$SARAD_PID" 2>/dev/null && wait "$SARAD_PID" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	echo "$max0" >"$MAX_FILE"
	echo "$hash0" >"$HASH_FILE"
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
IN="ip netns exec $NS"

echo $((BIG + BIG / 4 + 10000)) >"$MAX_FILE"
[ "$hash0" -lt "$BIG" ] && echo "$BIG" >"$HASH_FILE"
$IN ip link set lo up

cat >"$WORK/cluster.cfg" <<CFG
name = "ct-idle";
vips = [ "$VIP" ];
servers = ( { id = "s1"; address = "$SRV"; mark = $MARK; table = 101; } );
queue = { first = 0; count = 1; fail_open = true; };
timeouts = { media_s = $MEDIA_S; };
limits = { flows = $((BIG + BIG / 4)); sessions = 16384; };
control = { socket = "$WORK/sarad.sock"; };
CFG
$IN "$SARAD" -c "$WORK/cluster.cfg" --foreground >"$WORK/sarad.log" 2>&1 &
SARAD_PID=$!
for _ in $(seq 100); do [ -S "$WORK/sarad.sock" ] && break; sleep 0.1; done
[ -S "$WORK/sarad.sock" ] || { echo "ct_idle.sh: sarad did not start"; cat "$WORK/sarad.log"; exit 1; }
if grep -q conntrack_events_unavailable "$WORK/sarad.log"; then
	echo "ct_idle.sh: sarad runs without conntrack events:"; grep conntrack_events_unavailable "$WORK/sarad.log"
fi

hz=$(getconf CLK_TCK)
ticks() { awk '{ print $14 + $15 }' "/proc/$SARAD_PID/stat"; }
daemon_counter() { # daemon_counter NAME -> the value in sarad's status (0 when unset)
	$IN "$PY" - "$WORK/sarad.sock" "$1" <<'PYX'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1]); s.sendall(b"status\n")
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk: break
    data += chunk
print(json.loads(data)["daemon"].get(sys.argv[2], 0))
PYX
}
# Until sarad has taken in what the fill sent: two quiet seconds in a row (60 s at most).
settle() {
	local quiet=0 t0 t1
	for _ in $(seq 60); do
		t0=$(ticks); sleep 1; t1=$(ticks)
		if [ $((t1 - t0)) -le 1 ]; then quiet=$((quiet + 1)); [ $quiet -ge 2 ] && return; else quiet=0; fi
	done
}
# measure LABEL: RUNS windows of idle CPU, printed; "LABEL mean min max" into $WORK/LABEL
measure() {
	local label=$1 t0 t1 figures=()
	for _ in $(seq "$RUNS"); do
		t0=$(ticks); sleep "$SECONDS_PER_RUN"; t1=$(ticks)
		figures+=("$(awk -v d=$((t1 - t0)) -v hz="$hz" -v s="$SECONDS_PER_RUN" 'BEGIN { printf "%.3f", 100 * d / hz / s }')")
	done
	printf '%s\n' "${figures[@]}" | awk -v l="$label" '{ s += $1; if (NR == 1 || $1 < lo) lo = $1; if ($1 > hi) hi = $1 }
		END { printf "%s %.3f %.3f %.3f\n", l, s / NR, lo, hi }' >"$WORK/$label"
	echo "  $label entries: idle CPU ${figures[*]} % of a core, ${SECONDS_PER_RUN} s each"
}
fill() { # fill COUNT FIRST
	local started out
	started=$(date +%s.%N)
	out=$($IN "$FILL" "$1" "$MARK" "$2" 3600) || { echo "ct_idle.sh: ct_fill: $out"; exit 1; }
	echo "  ct_fill: $out in $(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }') s;" \
		"conntrack holds $($IN conntrack -C 2>/dev/null || echo ?) entries"
}

echo "== ct_idle: sarad's idle CPU against kernel-kept marked conntrack entries (media_s $MEDIA_S)"
fill "$SMALL" 0
settle
measure "$SMALL"
fill $((BIG - SMALL)) "$SMALL"
settle
measure "$BIG"
echo "  sarad: conntrack_events $(daemon_counter conntrack_events), events lost $(daemon_counter conntrack_events_lost)," \
	"resync scans $(daemon_counter conntrack_resyncs), scans $(daemon_counter conntrack_scans)" \
	"($(daemon_counter conntrack_scan_ms) ms in all)"
dump_ms=$($IN "$CTQ" --dump-count 2>&1 >/dev/null | awk '/^dump:/ { print $2 }')

read -r _ small_mean small_lo small_hi <"$WORK/$SMALL"
read -r _ big_mean big_lo big_hi <"$WORK/$BIG"
awk -v sm="$small_mean" -v slo="$small_lo" -v shi="$small_hi" -v bm="$big_mean" -v blo="$big_lo" -v bhi="$big_hi" \
    -v dump="${dump_ms:-0}" -v media="$MEDIA_S" -v big="$BIG" -v small="$SMALL" -v hz="$hz" \
    -v secs="$SECONDS_PER_RUN" 'BEGIN {
	tick = 100 / hz / secs   # one clock tick in a window, in % of a core
	printf "  %d entries: %.3f %% of a core (%.3f..%.3f)\n", small, sm, slo, shi
	printf "  %d entries: %.3f %% of a core (%.3f..%.3f); target <= 2 %%: %s\n", big, bm, blo, bhi,
		bm <= 2 ? "met" : "NOT met"
	ratio = bm / (sm > tick ? sm : tick)
	printf "  ratio %d / %d: %.2f (the 1 000 figure taken as at least one tick, %.3f %%); target <= 2: %s\n",
		big, small, ratio, tick, ratio <= 2 ? "met" : "NOT met"
	if (dump > 0)
		printf "  the periodic scan instead: one dump of %d entries took %.0f ms, every %d s = %.1f %% of a core\n",
			big, dump, media / 2, dump / 10 / (media / 2)
}'
