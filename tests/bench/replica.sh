#!/bin/sh
# replica.sh BUILD - session replication through Redis (bench_replica): two
# redis-servers on loopback, 127.0.0.1 this dispatcher's and 127.0.0.2 its
# peer's, on one free port; the cost per new session and the signalling
# rate with replication on against off, and a 100 000-session resync.
# REPLICA_PIN=1: the packet thread on CPU 0, the replication threads and the
# redis-servers on CPU 1: replication beside, not on, the packet path's core.
# REPLICA_CALLS, REPLICA_ROUNDS, REPLICA_RESYNC: the workload; REPLICA_QUEUE:
# ha.replication_queue (65536). Skips (exit 0) without redis-server. Figures only.
set -u
build=${1:-build}
bin=$build/bench/bench_replica
if ! command -v redis-server >/dev/null 2>&1; then
	echo "replica.sh: no redis-server (apt-get install redis-server): skipped"
	exit 0
fi
[ -x "$bin" ] || { echo "replica.sh: $bin not built" >&2; exit 2; }
dir=$(mktemp -d "${TMPDIR:-/tmp}/sara-replica.XXXXXX")
pids=""
cleanup() {
	for pid in $pids; do kill "$pid" 2>/dev/null; done
	for pid in $pids; do wait "$pid" 2>/dev/null; done
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM
port=$(( 20000 + $$ % 20000 ))
for addr in 127.0.0.1 127.0.0.2; do
	pin=""
	[ -n "${REPLICA_PIN:-}" ] && [ "$(nproc)" -ge 2 ] && pin="taskset -c 1"
	$pin redis-server --bind "$addr" --port "$port" --save "" --appendonly no --dir "$dir" \
		--logfile "$dir/redis-$addr.log" --protected-mode no &
	pids="$pids $!"
done
for addr in 127.0.0.1 127.0.0.2; do
	tries=0
	until redis-cli -h "$addr" -p "$port" ping >/dev/null 2>&1; do
		tries=$((tries + 1))
		[ "$tries" -gt 50 ] && { echo "replica.sh: redis-server on $addr:$port did not start" >&2; exit 1; }
		sleep 0.1
	done
done
"$bin" "$port" "${REPLICA_CALLS:-20000}" "${REPLICA_ROUNDS:-5}" "${REPLICA_RESYNC:-100000}"
