#!/usr/bin/env bash
# metrics_cost.sh [BUILD] - what scraping /metrics costs sarad's packet path. A client,
# sarad (one queue: its event loop is the packet path) and a server in namespaces; SIP
# OPTIONS at a fixed rate through sarad, and probes (each a new flow through sarad,
# echoed by the server) for the round-trip time; runs alternate without and with a
# scraper fetching /metrics every 10 ms. Per run: the loop thread's CPU per message
# (the packet path), the whole process's (the metrics thread's rendering included),
# messages delivered, and the probes' RTT percentiles. Then mean and spread per mode.
# Env: METRICS_COST_RUNS (3 per mode), METRICS_COST_SECONDS (5), METRICS_COST_RATE (4000 pps).
# Skips (exit 0) without root or namespaces; exit 1 when the set-up fails.
set -u
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
SARAD=$BUILD/sarad BLAST=$BUILD/tools/udp_blast
RUNS=${METRICS_COST_RUNS:-3} SECONDS_PER_RUN=${METRICS_COST_SECONDS:-5} RATE=${METRICS_COST_RATE:-4000}
P=sara-mc NS_CLI=$P-cli NS_DSP=$P-dsp NS_SRV=$P-srv IF=mc
VIP=198.18.77.20 CLI=198.18.0.10 SRV=198.18.2.11 EP=198.18.2.1:9100
PY=/usr/bin/python3

[ "$(id -u)" -eq 0 ] || { echo "metrics_cost.sh: skipped: needs root"; exit 0; }
for f in "$SARAD" "$BLAST"; do [ -x "$f" ] || { echo "metrics_cost.sh: $f not built"; exit 1; }; done
ip netns add "$NS_CLI" 2>/dev/null || { echo "metrics_cost.sh: skipped: cannot create namespaces"; exit 0; }
WORK=$(mktemp -d /tmp/sara-metrics-cost.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	for ns in "$NS_CLI" "$NS_DSP" "$NS_SRV"; do ip netns del "$ns" 2>/dev/null; done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
. "$ROOT/tests/netns/one_server_lib.sh"
one_server_up

cat >"$WORK/cluster.cfg" <<EOF
name = "metrics-cost";
vips = [ "$VIP" ];
servers = ( { id = "s1"; address = "$SRV"; mark = 1; table = 101; } );
queue = { first = 0; count = 1; fail_open = true; };
limits = { flows = 262144; sessions = 65536; };
admission = { enabled = false; };
control = { socket = "$WORK/sarad.sock"; };
metrics = { listen = "$EP"; };
EOF
$ID "$SARAD" -c "$WORK/cluster.cfg" --foreground >"$WORK/sarad.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do [ -S "$WORK/sarad.sock" ] && break; sleep 0.1; done
DAEMON=$(pgrep -f "$SARAD -c $WORK/cluster.cfg" | head -1)
[ -n "$DAEMON" ] && $ID curl -s -o /dev/null "http://$EP/metrics" || { echo "metrics_cost.sh: sarad did not start"; cat "$WORK/sarad.log"; exit 1; }

# The server echoes the probes (to the VIP, port 5070) straight back to the client.
$IS "$PY" -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('$VIP', 5070))
while True:
    data, peer = s.recvfrom(2048)
    s.sendto(data, peer)
" &
PIDS+=($!)

ticks() { awk '{ print $14 + $15 }' "$1"; }                # utime + stime of a /proc stat file
rx() { $IS cat /sys/class/net/$IF-s0/statistics/rx_packets; }
hz=$(getconf CLK_TCK)

# run MODE: one run; prints "mode sent delivered loop_us process_us p50_us p99_us scrapes"
run() {
	local mode=$1 scraper= loop0 proc0 loop1 proc1 rx0 rx1 out sent scrapes=0
	if [ "$mode" = scraped ]; then
		$ID "$PY" -c "
import http.client, time, sys
end = time.time() + $SECONDS_PER_RUN + 0.5
n = 0
while time.time() < end:
    c = http.client.HTTPConnection('${EP%:*}', ${EP#*:}, timeout=2)
    c.request('GET', '/metrics')
    if c.getresponse().read().startswith(b'# HELP'):
        n += 1
    c.close()
    time.sleep(0.01)
print(n)
" >"$WORK/scrapes" &
		scraper=$!
		sleep 0.3
	fi
	loop0=$(ticks /proc/$DAEMON/task/$DAEMON/stat) proc0=$(ticks /proc/$DAEMON/stat) rx0=$(rx)
	$IC "$PY" - "$CLI" "$VIP" "$SECONDS_PER_RUN" >"$WORK/rtt" <<'EOF' &
import socket, sys, time
cli, vip, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
rtts, lost, end = [], 0, time.time() + seconds
while time.time() < end:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)   # a new flow: it crosses sarad
    s.bind((cli, 0))
    s.settimeout(0.5)
    t = time.perf_counter()
    s.sendto(b"probe", (vip, 5070))
    try:
        s.recv(64)
        rtts.append((time.perf_counter() - t) * 1e6)
    except socket.timeout:
        lost += 1
    s.close()
    time.sleep(0.01)
rtts.sort()
pick = lambda q: rtts[min(len(rtts) - 1, int(q * len(rtts)))] if rtts else 0
print("%.0f %.0f %d %d" % (pick(0.5), pick(0.99), len(rtts), lost))
EOF
	local prober=$!
	out=$($IC "$BLAST" --dst "$VIP:5060" --src "$CLI" --sport-base 20000 --flows 512 --payload sip-options \
		--rate "$RATE" --seconds "$SECONDS_PER_RUN" --count 100000000)
	wait "$prober"
	sleep 0.3
	loop1=$(ticks /proc/$DAEMON/task/$DAEMON/stat) proc1=$(ticks /proc/$DAEMON/stat) rx1=$(rx)
	if [ -n "$scraper" ]; then wait "$scraper"; scrapes=$(cat "$WORK/scrapes"); fi
	sent=$(awk '{ print $3 }' <<<"$out")
	read -r p50 p99 answered lost <"$WORK/rtt"
	awk -v m="$mode" -v s="$sent" -v d="$((rx1 - rx0))" -v l="$((loop1 - loop0))" -v p="$((proc1 - proc0))" \
	    -v hz="$hz" -v p50="$p50" -v p99="$p99" -v a="$answered" -v lo="$lost" -v n="$scrapes" 'BEGIN {
		msgs = s + a + lo
		printf "%s %d %d %.2f %.2f %d %d %d\n", m, msgs, d, l * 1e6 / hz / msgs, p * 1e6 / hz / msgs, p50, p99, n
	}'
}

echo "metrics_cost: $RUNS runs per mode of $SECONDS_PER_RUN s, SIP OPTIONS at $RATE/s + ~90 probes/s, scraper every 10 ms"
echo "mode messages delivered loop_us/msg process_us/msg rtt_p50_us rtt_p99_us scrapes"
for ((i = 0; i < RUNS; i++)); do
	for mode in quiet scraped; do
		run "$mode" | tee -a "$WORK/results"
	done
done
echo "mode: loop us/msg mean [min..max]; process us/msg mean [min..max]; RTT p50 mean [min..max]; p99 mean [min..max]"
for mode in quiet scraped; do
	awk -v m="$mode" '$1 == m {
		n++; for (f = 4; f <= 7; f++) { s[f] += $f; if (n == 1 || $f < lo[f]) lo[f] = $f; if (n == 1 || $f > hi[f]) hi[f] = $f }
		sc += $8 }
		END { printf "%s: %.2f [%.2f..%.2f]; %.2f [%.2f..%.2f]; %.0f [%d..%d] us; %.0f [%d..%d] us; %d scrapes\n", m,
			s[4] / n, lo[4], hi[4], s[5] / n, lo[5], hi[5], s[6] / n, lo[6], hi[6], s[7] / n, lo[7], hi[7], sc }' \
		"$WORK/results"
done
