#!/usr/bin/env bash
# soak.sh [BUILD_DIR] - the soak run (`make soak`, never in CI): the lab (sarad, sara-gw,
# three SIP servers) under a steady rate of SIP calls with RTP, UDP and TCP, for
# SOAK_MINUTES; each minute a line with sarad's RSS, open fds, sessions and flows in its
# tables, calls completed and failed so far, and the kernel queue's drops; at the end each
# figure's first and last value and whether it stayed flat.
#
# Flat means: RSS and fds at the end within 10 % (+ 2 MiB, + 4 fds) of their value after the
# first minute (the tables are allocated at start, so growth is a leak), sessions and flows
# at the end within 25 % of the run's mean of minutes 2.., no queue drop, fewer than 0.1 %
# failed calls. Exit 0 flat, 1 not flat or set-up failed, 77 skipped.
# Env: SOAK_MINUTES (30), SOAK_RATE (calls/s, 40: what sipp sustains here with media for
# every call; half UDP, half TCP), SOAK_SERVERS ("load": tests/tools/sip_load_server, UDP
# and TCP in one process, far above SOAK_RATE in capacity; "sipp": sipp UAS, one per
# transport, which have stopped or crashed within 20 minutes here), SARA_LAB_PREFIX
# (sara-soak-).
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ $# -gt 0 ] && [ -d "$1" ]; then export SARA_BIN_DIR; SARA_BIN_DIR=$(cd "$1" && pwd); fi
LAB_PREFIX=${SARA_LAB_PREFIX:-sara-soak-}
. "$HERE/../netns/lib.sh"

minutes=${SOAK_MINUTES:-30}
rate=${SOAK_RATE:-40}
life=$((minutes * 60 + 240))
half=$(((rate + 1) / 2))
# calls for 2 minutes more than the run: the last minute's figures are read
# (each a little after its minute) while the calls still flow
calls=$((half * (minutes * 60 + 120)))

servers=${SOAK_SERVERS:-load}

# soak_start_load_servers LIFETIME: a sip_load_server on each server (VIP:5060, UDP and
# TCP), 1 ms per INVITE and 0.5 ms per other message: 500 calls/s each
soak_start_load_servers() {
	local s bin=${SARA_BIN_DIR:-$LAB_ROOT/build}/tools/sip_load_server
	[ -x "$bin" ] || { lab_die "$bin is missing (make all builds it)"; return 1; }
	for s in "${LAB_SERVERS[@]}"; do
		lab_bg "srv-$s" "$s" timeout "$1" "$bin" --media-ip "$LAB_VIP" --invite-us 1000 --other-us 500 \
			--lifetime-s "$1" --name "$s"
		LAB_UAS_PIDS+=("$LAB_BGPID")
		lab_wait_listen "$s" udp 5060 "$LAB_BGPID" && lab_wait_listen "$s" tcp 5060 "$LAB_BGPID" || return 1
	done
}

e2e_setup "$life"
case $servers in
load) soak_start_load_servers "$life" || { e2e_fail "sip_load_server"; exit 1; } ;;
sipp) lab_start_sip_servers "$life" || { e2e_fail "sipp servers"; exit 1; } ;;
*) e2e_fail "SOAK_SERVERS=$servers: want load or sipp"; exit 1 ;;
esac
CTL=$(lab_bin sara-ctl)
# sarad itself: lab_bg's pid is `timeout`, whose child sarad is
sarad=$(ps --ppid "$LAB_SARAD_PID" -o pid= | tr -d ' ' | head -1)
[ -n "$sarad" ] || { e2e_fail "sarad's pid"; exit 1; }

# two clients, UDP and TCP, each offering half the rate for the whole run
for t in u1 tn; do
	name=soak-$t; port=5070; [ "$t" = tn ] && port=5072
	lab_assets
	lab_bg "$name" cli timeout $((minutes * 60 + 180)) sipp "$LAB_VIP:5060" -sf uac-hold.xml -t "$t" \
		-s 100 -i 198.18.0.10 -p "$port" -mi 198.18.0.10 -mp $((port == 5070 ? 7000 : 9000)) \
		-m "$calls" -r "$half" -l $((half * 20)) -nostdin -trace_stat -stf "$LAB_RUN/logs/$name.csv" -fd 10 \
		-max_socket 400
done

status_field() {   # status_field PYTHON-EXPR: a figure of `sara-ctl status --json`
	lab_in dsp timeout 5 "$CTL" -c "$LAB_CFG" status --json 2>/dev/null |
		python3 -c "import json,sys; d=json.load(sys.stdin); print($1)" 2>/dev/null || echo -1
}
queue_drops() {   # drops of queue 0 in the dispatcher's namespace (columns 6 and 7)
	lab_in dsp awk '$1 == 0 { print $6 + $7 }' /proc/net/netfilter/nfnetlink_queue
}
calls_of() {   # calls_of COLUMN: the sum over both clients of a sipp statistic
	local n sum=0 v
	for n in soak-u1 soak-tn; do
		v=$(awk -F';' -v c="$1" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) k = i } END { print $k + 0 }' \
			"$LAB_RUN/logs/$n.csv" 2>/dev/null)
		sum=$((sum + ${v:-0}))
	done
	echo "$sum"
}

csv=$LAB_RUN/soak.csv
echo "minute,rss_kib,fds,sessions,flows,calls_ok,calls_failed,queue_drops" >"$csv"
echo "soak: $rate calls/s (UDP and TCP, RTP each) for $minutes min, servers $servers; sarad pid $sarad"
for ((m = 1; m <= minutes; m++)); do
	sleep 60
	lab_alive "$LAB_SARAD_PID" || { e2e_fail "sarad exited at minute $m"; break; }
	rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$sarad/status")
	fds=$(ls "/proc/$sarad/fd" | wc -l)
	sessions=$(status_field "d['engine']['sessions_in_use']")
	flows=$(status_field "d['engine']['flows_in_use']")
	line="$m,$rss,$fds,$sessions,$flows,$(calls_of 'SuccessfulCall(C)'),$(calls_of 'FailedCall(C)'),$(queue_drops)"
	echo "$line" >>"$csv"
	echo "soak: minute $line" | sed 's/,/ /g'
done

python3 - "$csv" <<'PY' || E2E_RC=1
import csv, sys
rows = [{k: int(v) for k, v in r.items()} for r in csv.DictReader(open(sys.argv[1]))]
if len(rows) < 2:
    print("soak: FAIL fewer than 2 minutes recorded"); sys.exit(1)
first, last, later = rows[0], rows[-1], rows[1:]
bad = []
def report(name, ok, detail):
    print(f"soak: {name}: {detail} {'flat' if ok else 'NOT FLAT'}")
    ok or bad.append(name)
report("rss", last["rss_kib"] <= first["rss_kib"] * 1.1 + 2048, f"{first['rss_kib']} -> {last['rss_kib']} KiB")
report("fds", last["fds"] <= first["fds"] * 1.1 + 4, f"{first['fds']} -> {last['fds']}")
for k in ("sessions", "flows"):
    mean = sum(r[k] for r in later) / len(later)
    report(k, abs(last[k] - mean) <= 0.25 * mean + 8, f"{first[k]} -> {last[k]} (mean {mean:.0f})")
report("queue drops", last["queue_drops"] == 0, f"{first['queue_drops']} -> {last['queue_drops']}")
done = last["calls_ok"] + last["calls_failed"]
report("failed calls", done > 0 and last["calls_failed"] <= 0.001 * done,
       f"{last['calls_failed']} of {done}")
sys.exit(1 if bad else 0)
PY
cp "$csv" /tmp/sara-soak-last.csv 2>/dev/null && echo "soak: figures in /tmp/sara-soak-last.csv"
[ "$E2E_RC" -eq 0 ] && echo "soak: PASS" || echo "soak: FAIL"
exit "$E2E_RC"
