#!/usr/bin/env bash
# e2e_ha_replica: three active dispatchers with selection least-sessions (a
# pick no dispatcher can derive) and session replication through Redis
# (ha.session_store = "redis", a redis-server in each dispatcher). SIP calls
# over UDP (hold and resume re-INVITEs, RTP) from two clients of d1 and one
# of each other dispatcher; 0.7 s in, after the INVITEs and before the first
# re-INVITE, d1's sarad gets SIGKILL: its clients are rehashed onto d2 and
# d3, whose own pick would differ, and their hold re-INVITEs must reach the
# server d1 chose. Then d1 comes back EMPTY (its Redis flushed, its journal
# removed): it reads its peers' stores, takes its clients back, and their
# resume re-INVITEs and BYEs must still reach d1's servers. Judged from the
# servers' captures (sara-replay --observed: every session's signalling and
# media at one server) and the calls' completion. Last, one of d2's stored
# records is published on its channel twice as it is (the second at least
# a replay: a record d2 kept but never published is new to its peers once)
# and once with one bit flipped (a forgery): d1 and d3 refuse and count them. Then d2's
# hello is made to name another cluster key and its subscribers are
# disconnected: d1 and d3 reconnect, refuse d2 and say why in their logs.
# Every store requires a password (ha.redis_password_file; E2E_REPLICA_PASSWORD=
# "" runs without). Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
LAB_PREFIX=sara-e2e-har-
HA_DISPATCHER_COUNT=3
HA_SELECTION=least-sessions
HA_SESSION_STORE=${E2E_REPLICA_STORE:-redis}   # "off": the control run, which must fail
HA_REDIS_PASSWORD=${E2E_REPLICA_PASSWORD-sara lab store}
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$LAB_DIR/ha_lib.sh"

ha_setup
lab_cap_start 100 || { e2e_fail "captures"; exit 1; }
lab_start_sip_servers 70 || { e2e_fail "sipp servers"; exit 1; }

# two client addresses of d1, one of d2 and of d3, by the router's ECMP
declare -A picked want=([d1]=2 [d2]=1 [d3]=1)
clients=()
for ip in "${HA_CLI_IPS[@]}"; do
	d=$(ha_dispatcher_of "$ip")
	[ "$d" != none ] && [ "${picked[$d]:-0}" -lt "${want[$d]}" ] || continue
	picked[$d]=$(( ${picked[$d]:-0} + 1 ))
	clients+=("$ip:$d")
done
[ "${picked[d1]:-0}" -eq 2 ] && [ "${picked[d2]:-0}" -eq 1 ] && [ "${picked[d3]:-0}" -eq 1 ] ||
	{ e2e_fail "the router's ECMP does not give d1 two and d2, d3 one of ${#HA_CLI_IPS[@]} client addresses"; exit 1; }
echo "clients: ${clients[*]}"

names=() pids=() calls=0 port=5060 mp=7000
for c in "${clients[@]}"; do
	ip=${c%:*}
	lab_sipp_uac "uac-$ip" u1 "$ip" "$port" "$mp" 3; names+=("uac-$ip"); pids+=("$LAB_BGPID")
	calls=$((calls + 3)); port=$((port + 2)); mp=$((mp + 1000))
done
sleep 0.7
kill_ms=$(date +%s%3N)
kill -KILL "${HA_SARAD_PID[d1]}"
wait "${HA_SARAD_PID[d1]}" 2>/dev/null
ha_wait_paths 2 30 || e2e_fail "the router still sends to d1 3 s after its sarad died"
echo "d1's route withdrawn $(( $(date +%s%3N) - kill_ms )) ms after the kill"
# d1 forgets everything: the store its sarad would read back, and its journal
stored_d1=$(ha_redis d1 dbsize)
stored_d2=$(ha_redis d2 dbsize)
ha_redis d1 flushall >/dev/null
rm -f "$LAB_RUN/d1/sarad.journal" "$LAB_RUN/d1/sarad.journal.old"
echo "keys in the stores before d1's return: d1 $stored_d1 (flushed), d2 $stored_d2"
# back once the hold re-INVITEs (1.3 s into each call) went through d2 and d3
sleep 1.1
ha_start_sarad d1 || { e2e_fail "sarad in d1 does not start again"; exit 1; }
ha_wait_paths 3 50 || e2e_fail "d1's route is not announced again"
echo "d1 announcing again $(( $(date +%s%3N) - kill_ms )) ms after the kill"

ok_total=0 failed_total=0
for ((i = 0; i < ${#pids[@]}; i++)); do
	lab_wait_exit "${pids[i]}" 450 || lab_stop TERM "${pids[i]}"
	st=$(lab_rc "${pids[i]}")
	read -r ok failed < <(lab_sipp_stats "${names[i]}")
	echo "  ${names[i]}: exit $st, calls successful $ok failed $failed"
	ok_total=$((ok_total + ok)); failed_total=$((failed_total + failed))
done
# a replayed and a forged record on d2's channel
channel="sara:${LAB_PREFIX%-}:replica"
key=$(ha_redis d2 --scan --pattern "sara:${LAB_PREFIX%-}:s:*" | head -1)
if [ -n "$key" ]; then
	ha_redis d2 --raw hget "$key" s | head -c -1 >"$LAB_RUN/replayed.bin"
	/usr/bin/python3 -c 'import sys; b = bytearray(open(sys.argv[1], "rb").read()); b[40] ^= 1; open(sys.argv[2], "wb").write(b)' \
		"$LAB_RUN/replayed.bin" "$LAB_RUN/forged.bin"
	ha_redis d2 -x publish "$channel" <"$LAB_RUN/replayed.bin" >/dev/null
	ha_redis d2 -x publish "$channel" <"$LAB_RUN/replayed.bin" >/dev/null
	ha_redis d2 -x publish "$channel" <"$LAB_RUN/forged.bin" >/dev/null
	sleep 0.3
else
	e2e_fail "no session in d2's store to replay"
fi
declare -A counter
# read_counters dN KEY...: counter[dN.KEY] from sarad's status, anywhere in it
read_counters() {
	local n=$1 status k v; shift
	status=$(lab_in "$n" "$(lab_bin sara-ctl)" -c "${HA_CFG[$n]}" status --json 2>/dev/null)
	while read -r k v; do counter[$n.$k]=$v; done < <(printf '%s' "$status" | /usr/bin/python3 -c '
import json, sys
keys = sys.argv[1:]
found = {}
def walk(x):
    if isinstance(x, dict):
        for k, v in x.items():
            if k in keys and isinstance(v, int) and k not in found:
                found[k] = v
            walk(v)
    elif isinstance(x, list):
        for v in x:
            walk(v)
walk(json.load(sys.stdin))
for k in keys:
    print(k, found.get(k, 0))
' "$@")
}
for n in "${HA_DISPATCHERS[@]}"; do
	read_counters "$n" replica_sessions_adopted replica_sessions_updated replica_records_resynced \
		replica_records_received replica_records_published replica_queue_drops replica_rejected_forged \
		replica_rejected_other_servers replica_peers_refused sessions_adopted replica_rejected_replayed \
		replica_rejected_stale
	echo "sarad $n: adopted from peers ${counter[$n.replica_sessions_adopted]}," \
		"updated ${counter[$n.replica_sessions_updated]}, resynced ${counter[$n.replica_records_resynced]}," \
		"received ${counter[$n.replica_records_received]}, published ${counter[$n.replica_records_published]}," \
		"queue drops ${counter[$n.replica_queue_drops]}, forged ${counter[$n.replica_rejected_forged]}," \
		"replayed ${counter[$n.replica_rejected_replayed]}, stale ${counter[$n.replica_rejected_stale]}," \
		"peers refused ${counter[$n.replica_peers_refused]}; derived by hash ${counter[$n.sessions_adopted]}"
done
grep -h 'records read from its store' "$LAB_RUN/logs/sarad-d1.log" | tail -2 | sed 's/^/  d1: /'
for p in "${LAB_UAS_PIDS[@]}"; do lab_stop TERM "$p" 20; done
lab_cap_stop
[ "$ok_total" -eq "$calls" ] && [ "$failed_total" -eq 0 ] ||
	e2e_fail "calls: $ok_total successful, $failed_total failed, of $calls"
[ "${counter[d1.replica_records_resynced]}" -gt 0 ] ||
	e2e_fail "d1 came back empty and read nothing from its peers' stores"
[ $(( ${counter[d2.replica_sessions_adopted]} + ${counter[d3.replica_sessions_adopted]} )) -gt 0 ] ||
	e2e_fail "d2 and d3 adopted none of d1's sessions"
for n in "${HA_DISPATCHERS[@]}"; do
	[ "${counter[$n.replica_queue_drops]}" -eq 0 ] && [ "${counter[$n.replica_peers_refused]}" -eq 0 ] ||
		e2e_fail "$n: replication drops or refused peers"
done
# d2's channel is followed by d1 and d3: each refused the forgery and the replay
for n in d1 d3; do
	[ "${counter[$n.replica_rejected_forged]}" -eq 1 ] ||
		e2e_fail "$n: ${counter[$n.replica_rejected_forged]} forged records counted, want 1"
	[ $(( ${counter[$n.replica_rejected_replayed]} + ${counter[$n.replica_rejected_stale]} )) -ge 1 ] ||
		e2e_fail "$n: the replayed record was not refused"
done
[ "${counter[d2.replica_rejected_forged]}" -eq 0 ] || e2e_fail "d2 counted forged records"
# d2 with another key: its hello's key fingerprint changed, its subscribers cut
hello_key="sara:${LAB_PREFIX%-}:hello"
hello=$(ha_redis d2 --raw get "$hello_key")
other=$(printf '%s' "$hello" | sed 's/ key=[0-9a-f]*/ key=0123456789abcdef/')
ha_redis d2 set "$hello_key" "$other" >/dev/null
ha_redis d2 client kill type pubsub >/dev/null
for ((i = 0; i < 30; i++)); do
	grep -q 'peer 198.18.2.2:6379 uses another cluster key: refused' "$LAB_RUN/logs/sarad-d3.log" && break
	sleep 0.1
done
for n in d1 d3; do
	read_counters "$n" replica_peers_refused
	line=$(grep -h 'peer 198.18.2.2:6379 uses another cluster key' "$LAB_RUN/logs/sarad-$n.log" | head -1)
	echo "  $n: ${line#*sarad }"
	[ -n "$line" ] && [ "${counter[$n.replica_peers_refused]}" -eq 1 ] ||
		e2e_fail "$n did not refuse d2 with another key (refused ${counter[$n.replica_peers_refused]})"
done
e2e_observed "$calls" 2
[ "$E2E_RC" -eq 0 ] && e2e_ok "every call stayed on the server d1 chose, through d2 and d3 and back to an emptied d1"
exit "$E2E_RC"
