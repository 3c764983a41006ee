#!/usr/bin/env bash
# ct_events_scans.sh - when sarad scans the conntrack table now that events keep its live
# set: a marked entry that existed before sarad started (it may never send a DESTROY:
# created while nothing listened) keeps the scan of every media_s / 2 going; once it is
# gone, one more scan finds it gone and the scans stop; a marked entry created after the
# start arrives as an event and starts no scan. No traffic: entries are made with conntrack.
# Usage: tests/netns/ct_events_scans.sh [BUILD/sarad]   (root; PASS/FAIL, exit 0/1, 77 = skipped)
set -u

SARAD=${1:-build/sarad}
NS=sara-A-cte MEDIA_S=10
VIP=198.18.77.20 SRV=198.18.2.11 CLI=198.18.0.10
PY=/usr/bin/python3
if [ "$(id -u)" -ne 0 ]; then echo "SKIP: needs root (network namespaces, conntrack)"; exit 77; fi
command -v conntrack >/dev/null 2>&1 || { echo "FAIL: conntrack not installed (make deps installs it)"; exit 1; }
[ -x "$SARAD" ] || { echo "FAIL: $SARAD not built"; exit 1; }
ip netns add "$NS" 2>/dev/null || { echo "SKIP: cannot create network namespaces"; exit 77; }
WORK=$(mktemp -d /tmp/sara-A-cte.XXXXXX)
SARAD_PID=
cleanup() {
	[ -n "$SARAD_PID" ] && kill "$SARAD_PID" 2>/dev/null && wait "$SARAD_PID" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

failures=0
check() { # check DESCRIPTION CONDITION...
	local what=$1; shift
	if "$@"; then echo "ok   - $what"; else echo "FAIL - $what"; failures=$((failures + 1)); fi
}
N="ip netns exec $NS"
$N ip link set lo up
entry() { # entry insert|delete SPORT: a UDP entry with s1's mark
	if [ "$1" = insert ]; then
		$N conntrack -I -p udp -s $CLI -d $VIP --sport "$2" --dport 6000 --timeout 600 -m 1 >/dev/null 2>&1
	else
		$N conntrack -D -p udp -s $CLI -d $VIP --sport "$2" --dport 6000 >/dev/null 2>&1
	fi
}
daemon_counter() { # daemon_counter NAME
	$N "$PY" - "$WORK/sarad.sock" "$1" <<'PYX'
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

entry insert 7000 || { echo "SKIP: conntrack -I failed (no conntrack in namespaces?)"; exit 77; }
cat >"$WORK/cluster.cfg" <<CFG
name = "sara-A-cte";
vips = [ "$VIP" ];
servers = ( { id = "s1"; address = "$SRV"; mark = 1; table = 101; } );
queue = { first = 0; count = 1; fail_open = true; };
timeouts = { signalling_s = 10; media_s = $MEDIA_S; linger_s = 1; };
control = { socket = "$WORK/sarad.sock"; };
CFG
$N "$SARAD" -c "$WORK/cluster.cfg" --foreground >"$WORK/sarad.log" 2>&1 &
SARAD_PID=$!
for _ in $(seq 50); do [ -S "$WORK/sarad.sock" ] && break; sleep 0.1; done
check "sarad started and serves its control socket" test -S "$WORK/sarad.sock"
check "it follows conntrack events" sh -c "! grep -q conntrack_events_unavailable '$WORK/sarad.log'"

# media_s / 2 = 5 s: the entry from before the start is scanned for again.
sleep $((MEDIA_S / 2 * 2 + 1))
scans=$(daemon_counter conntrack_scans)
check "an entry from before the start keeps the periodic scan going ($scans scans in $((MEDIA_S + 1)) s)" \
	test "${scans:-0}" -ge 2
entry delete 7000
sleep $((MEDIA_S / 2 + 1))            # the scan that finds it gone
before=$(daemon_counter conntrack_scans)
events0=$(daemon_counter conntrack_events)
entry insert 7002                     # after the start: an event, no scan
sleep $((MEDIA_S / 2 * 2 + 1))
after=$(daemon_counter conntrack_scans)
events=$(daemon_counter conntrack_events)
check "once it is gone the scans stop ($before, then $after $((MEDIA_S + 1)) s later)" test "$after" -eq "$before"
check "an entry created after the start arrives as an event ($events0, then $events)" test "$events" -gt "$events0"
lost=$(daemon_counter conntrack_events_lost)
check "no event lost ($lost)" test "${lost:-1}" -eq 0

kill -TERM "$SARAD_PID"; wait "$SARAD_PID"; rc=$?; SARAD_PID=
check "sarad stops on SIGTERM with status 0 (got $rc)" test "$rc" -eq 0
if [ "$failures" -ne 0 ]; then
	echo "--- sarad.log"; tail -30 "$WORK/sarad.log"
	echo "FAIL: $failures checks failed"; exit 1
fi
echo "PASS"
exit 0
