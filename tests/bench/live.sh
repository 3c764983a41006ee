#!/bin/bash
# live.sh BUILD - the live data-path benchmark: client -> dispatcher -> 3 servers
# in network namespaces; packets/s delivered and dispatcher CPU per packet for
# kernel-only marking, conntrack+CONNMARK, sarad's fast path, NFQUEUE accept-all
# and sarad on signalling (LIVE_SIP_RULES=1: and accept-all behind sara-ctl's
# rules; LIVE_REPLICA=1: and sarad replicating its sessions through Redis),
# then SIP calls/s through sarad vs direct. The flat-out runs also
# report the queue's drops and who had the dispatcher core. Each SIP path
# also gets its lossless capacity: the highest offered rate it delivers with
# at most 0.5 % lost (RFC 2544's throughput), found by bisection.
# Skips (exit 0) when not root or namespaces are unavailable. Figures only:
# exits 1 only when the set-up itself fails.
set -u

build=${1:-build}
repo=$(cd "$(dirname "$0")/../.." && pwd)
case $build in /*) ;; *) build=$repo/$build ;; esac
tools=$build/tools
prefix=sara-bench-
vip=198.18.77.20
media_port=40000
sip_port=5060
rounds=${LIVE_ROUNDS:-3}          # each path this many times, interleaved
run_seconds=${LIVE_SECONDS:-2}    # one flat-out or fixed-rate run
media_flows=1024
media_rate=${LIVE_MEDIA_RATE:-100000}   # fixed rate for the CPU cost (pps)
sip_rate=${LIVE_SIP_RATE:-20000}        # fixed rate for signalling CPU cost
calls=${LIVE_CALLS:-12000}               # sipp calls per run
call_rate=${LIVE_CALL_RATE:-4000}       # sipp -r (calls/s offered; sipp itself tops out near 5000 here)
only=${LIVE_ONLY:-}      # media, sip or calls: run only that part (debugging)
nfq_args=${LIVE_NFQ_ARGS:-}   # more nfq_accept options for path d (e.g. --conntrack)
sip_rules=${LIVE_SIP_RULES:-0}   # 1: also path f, accept-all behind sara-ctl's rules
replica=${LIVE_REPLICA:-0}       # 1: also path g, sarad with ha.session_store = "redis"
store_cpu=${LIVE_STORE_CPU:-1}   # path g: the core of the dispatcher's own Redis (1: the dispatcher's)
perf_dir=${LIVE_PERF:-}  # a directory: perf record -g of the dispatcher core in each flat-out run
daemon_nice=${LIVE_NICE:-}   # a niceness for the queue programs (sarad, nfq_accept), e.g. -10
keep=${LIVE_KEEP:-0}     # 1: keep the work directory (logs) and print its path
notrack=${LIVE_NOTRACK:-true}   # true: queue.notrack_udp_signalling in the bench config (paths e and f)
search_steps=${LIVE_SEARCH_STEPS:-7}      # bisection steps of the lossless-capacity search (0: none)
search_seconds=${LIVE_SEARCH_SECONDS:-2}  # one step's run
load_cpu=0      # load generator, sinks, bridge and server softirq
dsp_cpu=1       # the dispatcher's softirq (RPS) and its daemon

skip() {
	echo "live.sh: skipped: $*"
	exit 0
}

[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces, iptables, NFQUEUE)"
[ "$(nproc)" -ge 2 ] || skip "needs 2 CPUs (load generator and dispatcher on separate cores)"
for cmd in ip iptables taskset awk; do
	command -v "$cmd" >/dev/null 2>&1 || skip "$cmd not installed"
done
for tool in udp_blast nfq_accept cpu_spin; do
	[ -x "$tools/$tool" ] || skip "$tools/$tool not built (make BUILD=$(basename "$build") $(basename "$build")/tools/$tool)"
done
probe=${prefix}probe-$$
ip netns add "$probe" 2>/dev/null || skip "cannot create network namespaces"
ip netns del "$probe"

work=$(mktemp -d "${TMPDIR:-/tmp}/sara-live.XXXXXX")
pids=""
namespaces="cli dsp lan s1 s2 s3"

# Stops what this script started (by PID) and deletes its namespaces.
cleanup() {
	for pid in $pids; do
		kill "$pid" 2>/dev/null
	done
	for pid in $pids; do
		wait "$pid" 2>/dev/null
	done
	for ns in $namespaces; do
		ip netns del "$prefix$ns" 2>/dev/null
	done
	if [ "$keep" = 1 ]; then
		echo "live.sh: logs kept in $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# Foreground commands only: started in the background through this function,
# $! would be a subshell's PID, not the program's (ip netns exec and taskset
# exec the program, so background jobs call them directly).
in_ns() {
	local ns=$1
	shift
	ip netns exec "$prefix$ns" "$@"
}

# Forgets a PID once it has been waited for.
forget_pid() {
	local keep="" pid
	for pid in $pids; do
		[ "$pid" = "$1" ] || keep="$keep $pid"
	done
	pids=$keep
}

stop_pid() {
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	forget_pid "$1"
}

die() {
	echo "live.sh: $*" >&2
	exit 1
}

# ---- topology -------------------------------------------------------------
# cli (198.18.0.10-13) -- dsp (198.18.0.1 | 198.18.2.1) -- lan bridge -- s1..s3
# (198.18.2.11-13, VIP on lo, ARP off for it). Servers route back via dsp.
setup_topology() {
	local ns i
	for ns in $namespaces; do
		ip netns add "$prefix$ns" || return 1
		in_ns "$ns" ip link set lo up
		in_ns "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 \
			net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 >/dev/null
	done
	ip -n "${prefix}cli" link add c0 type veth peer name d0 netns "${prefix}dsp" || return 1
	ip -n "${prefix}dsp" link add d1 type veth peer name b0 netns "${prefix}lan" || return 1
	in_ns lan ip link add br0 type bridge || return 1
	in_ns lan ip link set b0 master br0
	for i in 1 2 3; do
		ip -n "${prefix}s$i" link add e0 type veth peer name b$i netns "${prefix}lan" || return 1
		in_ns lan ip link set "b$i" master br0
		in_ns lan ip link set "b$i" up
		in_ns "s$i" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
		in_ns "s$i" ip addr add "198.18.2.1$i/24" dev e0
		in_ns "s$i" ip addr add "$vip/32" dev lo
		in_ns "s$i" ip link set e0 up
		in_ns "s$i" ip route add default via 198.18.2.1
		# Count what arrives, and drop the load before it draws ICMP errors.
		in_ns "s$i" iptables -A INPUT -d "$vip" -p udp --dport "$media_port" -j DROP
		in_ns "s$i" iptables -A INPUT -d "$vip" -p udp --dport "$sip_port" -j DROP
	done
	in_ns lan ip link set b0 up
	in_ns lan ip link set br0 up
	for i in 0 1 2 3; do
		in_ns cli ip addr add "198.18.0.1$i/24" dev c0
	done
	in_ns cli ip link set c0 up
	in_ns cli ip route add default via 198.18.0.1
	in_ns dsp ip addr add 198.18.0.1/24 dev d0
	in_ns dsp ip addr add 198.18.2.1/24 dev d1
	in_ns dsp ip link set d0 up
	in_ns dsp ip link set d1 up
	in_ns dsp sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.d0.rp_filter=0 net.ipv4.conf.d1.rp_filter=0
	# Policy routing, shared by every path: mark i -> table 10i -> server i;
	# unmarked packets (NFQUEUE accept-all) take the multipath route.
	for i in 1 2 3; do
		in_ns dsp ip rule add fwmark "$i" lookup "10$i"
		in_ns dsp ip route replace "$vip/32" via "198.18.2.1$i" table "10$i"
	done
	in_ns dsp ip route replace "$vip/32" nexthop via 198.18.2.11 nexthop via 198.18.2.12 \
		nexthop via 198.18.2.13
	# Receive packet steering: the dispatcher's receive work runs on dsp_cpu,
	# the bridge, servers and client on load_cpu, so dsp_cpu measures it alone.
	in_ns dsp sh -c "echo $((1 << dsp_cpu)) > /sys/class/net/d0/queues/rx-0/rps_cpus; \
		echo $((1 << dsp_cpu)) > /sys/class/net/d1/queues/rx-0/rps_cpus" || return 1
	for i in 0 1 2 3; do
		in_ns lan sh -c "echo $((1 << load_cpu)) > /sys/class/net/b$i/queues/rx-0/rps_cpus"
	done
	in_ns cli sh -c "echo $((1 << load_cpu)) > /sys/class/net/c0/queues/rx-0/rps_cpus"
	for i in 1 2 3; do
		in_ns "s$i" sh -c "echo $((1 << load_cpu)) > /sys/class/net/e0/queues/rx-0/rps_cpus"
	done
	# Static neighbours: no ARP resolution inside the first measurement.
	local mac
	mac=$(in_ns dsp cat /sys/class/net/d0/address)
	in_ns cli ip neigh replace 198.18.0.1 lladdr "$mac" dev c0 nud permanent || return 1
	for i in 1 2 3; do
		mac=$(in_ns "s$i" cat /sys/class/net/e0/address)
		in_ns dsp ip neigh replace "198.18.2.1$i" lladdr "$mac" dev d1 nud permanent || return 1
		# The servers only receive: without static entries the bridge
		# floods every packet to all three.
		in_ns lan bridge fdb replace "$mac" dev "b$i" master static || return 1
	done
	mac=$(in_ns dsp cat /sys/class/net/d1/address)
	in_ns lan bridge fdb replace "$mac" dev b0 master static || return 1
	return 0
}

# ---- the paths ------------------------------------------------------------
hmark_rule="-j HMARK --hmark-tuple src,dst,sport,dport,proto --hmark-mod 3 --hmark-offset 1 --hmark-rnd 0x5a7a"

clear_rules() {
	in_ns dsp iptables -t mangle -F
	in_ns dsp iptables -t mangle -X
	in_ns dsp iptables -t raw -F
}

path_a_start() {   # kernel-only: HMARK + policy routing
	in_ns dsp iptables -t mangle -A PREROUTING -d "$vip" $hmark_rule
}

path_b_start() {   # + conntrack, CONNMARK restore/save
	in_ns dsp iptables -t mangle -N BENCH
	in_ns dsp iptables -t mangle -A PREROUTING -d "$vip" -j BENCH
	in_ns dsp iptables -t mangle -A BENCH -j CONNMARK --restore-mark
	in_ns dsp iptables -t mangle -A BENCH -m mark ! --mark 0 -j RETURN
	in_ns dsp iptables -t mangle -A BENCH $hmark_rule
	in_ns dsp iptables -t mangle -A POSTROUTING -d "$vip" -m mark ! --mark 0 -j CONNMARK --save-mark
}

daemon_pid=""
nice_cmd=""     # nice execs the program: $! stays its PID
[ -n "$daemon_nice" ] && nice_cmd="nice -n $daemon_nice"

# Waits until a program listens on NFQUEUE 0 in the dispatcher namespace.
wait_queue_bound() {
	local tries=0
	while [ $tries -lt 300 ]; do   # 30 s: a 2.5-million-session table is set up first
		in_ns dsp awk '$1 == 0 { found = 1 } END { exit !found }' \
			/proc/net/netfilter/nfnetlink_queue 2>/dev/null && return 0
		kill -0 "$daemon_pid" 2>/dev/null || return 1
		sleep 0.1
		tries=$((tries + 1))
	done
	return 1
}

path_d_start() {   # every SIP packet through the minimal accept-all program
	in_ns dsp iptables -t mangle -A PREROUTING -d "$vip" -p udp --dport "$sip_port" \
		-j NFQUEUE --queue-num 0
	ip netns exec "${prefix}dsp" taskset -c "$dsp_cpu" $nice_cmd "$tools/nfq_accept" --queue 0 --seconds 60 $nfq_args \
		>"$work/nfq_accept.log" 2>&1 &
	daemon_pid=$!
	pids="$pids $daemon_pid"
	wait_queue_bound || { cat "$work/nfq_accept.log"; die "nfq_accept did not bind queue 0"; }
}

# Path f: nfq_accept behind sara-ctl's rules (conntrack, CONNMARK restore and
# save, the queue rules): the kernel's part of path e without sarad's work.
path_f_start() {
	in_ns dsp "$build/sara-ctl" -c "$cfg" rules --apply >"$work/rules.log" 2>&1 ||
		{ cat "$work/rules.log"; die "sara-ctl rules --apply failed"; }
	ip netns exec "${prefix}dsp" taskset -c "$dsp_cpu" $nice_cmd "$tools/nfq_accept" --queue 0 --seconds 60 $nfq_args \
		>"$work/nfq_accept.log" 2>&1 &
	daemon_pid=$!
	pids="$pids $daemon_pid"
	wait_queue_bound || { cat "$work/nfq_accept.log"; die "nfq_accept did not bind queue 0"; }
}

sarad_start() {    # sara-ctl's rules + sarad (paths c, e and, given a config, g)
	local config=${1:-$cfg}
	in_ns dsp "$build/sara-ctl" -c "$config" rules --apply >"$work/rules.log" 2>&1 ||
		{ cat "$work/rules.log"; die "sara-ctl rules --apply failed"; }
	ip netns exec "${prefix}dsp" taskset -c "$dsp_cpu" $nice_cmd "$build/sarad" -c "$config" \
		--foreground >>"$work/sarad.log" 2>&1 &
	daemon_pid=$!
	pids="$pids $daemon_pid"
	wait_queue_bound || { tail -n 20 "$work/sarad.log"; die "sarad did not bind queue 0"; }
}

# redis_start NS ADDRESS CPU: a session store for path g, answering when it returns.
redis_pids=""
redis_start() {
	ip netns exec "$prefix$1" taskset -c "$3" redis-server --bind "$2" --port 6379 --save "" --appendonly no \
		--protected-mode no --dir "$work" --logfile "$work/redis-$1.log" &
	pids="$pids $!"
	redis_pids="$redis_pids $!"
	local tries=0
	until in_ns "$1" redis-cli -h "$2" ping 2>/dev/null | grep -q PONG; do
		tries=$((tries + 1))
		[ $tries -gt 50 ] && die "redis-server on $2 ($1) did not start: $(tail -n 2 "$work/redis-$1.log")"
		sleep 0.1
	done
}

path_g_start() {
	in_ns lan ip addr replace 198.18.2.2/24 dev br0
	redis_start dsp 198.18.2.1 "$store_cpu"
	redis_start lan 198.18.2.2 "$load_cpu"
	sarad_start "$work/bench-replica.cfg"
}

path_stop() {
	# sarad's own account of the run: the sessions it made, the packets a
	# full table passed without one, and (path g) what it replicated.
	if [ "$1" = e ] || [ "$1" = g ]; then
		local config=$cfg
		[ "$1" = g ] && config=$work/bench-replica.cfg
		echo "     sarad: $(in_ns dsp "$build/sara-ctl" -c "$config" status --json 2>/dev/null |
			grep -o '"\(sessions_created\|session_table_full\|replica_records_written\|replica_queue_drops\|replica_store_errors\)": *[0-9]*' |
			tr -d '"' | paste -sd, - | sed 's/,/, /g')"
	fi
	if [ -n "$daemon_pid" ]; then
		stop_pid "$daemon_pid"
		daemon_pid=""
	fi
	if [ "$1" = c ] || [ "$1" = e ] || [ "$1" = f ] || [ "$1" = g ]; then
		in_ns dsp "$build/sara-ctl" -c "$cfg" rules --remove >/dev/null 2>&1
	fi
	# Each run starts from nothing: no journal to restore sessions from
	# (a full table would pass packets without making sessions).
	rm -f "$work/bench.journal" "$work/bench.journal.lock"
	if [ "$1" = g ]; then   # the stores stop with their dispatcher: each round starts empty
		for pid in $redis_pids; do
			stop_pid "$pid"
		done
		redis_pids=""
	fi
	clear_rules
	# sara-ctl --remove may take the shared policy routing with it.
	for i in 1 2 3; do
		in_ns dsp ip rule add fwmark "$i" lookup "10$i" 2>/dev/null
		in_ns dsp ip route replace "$vip/32" via "198.18.2.1$i" table "10$i"
	done
	in_ns dsp ip route replace "$vip/32" nexthop via 198.18.2.11 nexthop via 198.18.2.12 \
		nexthop via 198.18.2.13
}

path_start() {
	case $1 in
	a) path_a_start ;;
	b) path_b_start ;;
	c|e) sarad_start ;;
	d) path_d_start ;;
	f) path_f_start ;;
	g) path_g_start ;;
	esac
}

# ---- measurements ---------------------------------------------------------
server_rx() {     # packets received by the three servers so far
	local total=0 i n
	for i in 1 2 3; do
		n=$(in_ns "s$i" cat /sys/class/net/e0/statistics/rx_packets)
		total=$((total + n))
	done
	echo "$total"
}

spin_rate() {     # idle-priority loops/s left on dsp_cpu during $1 seconds
	"$tools/cpu_spin" "$dsp_cpu" "$1" | awk '{ print $NF }'
}

sport_next=10000
# next_ports: advances sport_next to a fresh block of source ports (new
# flows every run, so no connmark left by an earlier path applies).
next_ports() {
	sport_next=$((sport_next + 256))
	[ $sport_next -gt 60000 ] && sport_next=10000
}

# blast KIND RATE BASE: one bounded run from source ports BASE..BASE+255 of
# the four client addresses. Prints "sent delivered seconds".
blast() {
	local kind=$1 rate=$2 base=$3 seconds=${4:-$run_seconds} before after out sent secs
	local port=$media_port
	[ "$kind" = sip-options ] && port=$sip_port
	before=$(server_rx)
	out=$(in_ns cli taskset -c "$load_cpu" "$tools/udp_blast" --dst "$vip:$port" \
		--src 198.18.0.10 --src 198.18.0.11 --src 198.18.0.12 --src 198.18.0.13 \
		--sport-base "$base" --flows "$media_flows" --payload "$kind" --rate "$rate" \
		--seconds "$seconds" --count 5000000)
	sleep 0.3      # let queues drain into the servers
	after=$(server_rx)
	sent=$(echo "$out" | awk '{ print $3 }')
	secs=$(echo "$out" | awk '{ print $6 }')
	echo "$sent $((after - before)) $secs"
}

# queue_drops: "queue_full socket_full" of NFQUEUE 0 in the dispatcher so far
# (columns 6 and 7 of nfnetlink_queue), nothing when no program binds it.
queue_drops() {
	in_ns dsp awk '$1 == 0 { print $6, $7 }' /proc/net/netfilter/nfnetlink_queue 2>/dev/null
}

# cpu_ticks PID: user + system clock ticks of PID so far (0 when gone).
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0
}
ksoftirqd_pid=$(pgrep -x "ksoftirqd/$dsp_cpu" | head -n 1)

# measure PATH KIND RATE: a flat-out run (capacity), then a fixed-rate run
# with the CPU spinner on dsp_cpu (cost), then the spinner alone for the
# same time (the unloaded rate, averaged with a shorter one before: other
# work on the machine shows in both). Appends to $work/results.
measure() {
	local path=$1 kind=$2 rate=$3 idle_before idle_after idle flat fixed loaded
	idle_before=$(spin_rate 1)
	next_ports
	local drops_before drops_after
	drops_before=$(queue_drops)
	local daemon_before=0 daemon_after=0 softirqd_before=0 softirqd_after=0
	[ -n "$daemon_pid" ] && daemon_before=$(cpu_ticks "$daemon_pid")
	[ -n "$ksoftirqd_pid" ] && softirqd_before=$(cpu_ticks "$ksoftirqd_pid")
	local perf_pid=""
	if [ -n "$perf_dir" ]; then
		perf record -q -g -C "$dsp_cpu" -o "$perf_dir/$path-$(date +%s%N).data" -- sleep "$run_seconds" \
			>/dev/null 2>&1 &
		perf_pid=$!
		pids="$pids $perf_pid"
	fi
	flat=$(blast "$kind" 0 "$sport_next")
	if [ -n "$perf_pid" ]; then
		wait "$perf_pid"
		forget_pid "$perf_pid"
	fi
	drops_after=$(queue_drops)
	[ -n "$daemon_pid" ] && daemon_after=$(cpu_ticks "$daemon_pid")
	[ -n "$ksoftirqd_pid" ] && softirqd_after=$(cpu_ticks "$ksoftirqd_pid")
	next_ports
	"$tools/cpu_spin" "$dsp_cpu" "$run_seconds" >"$work/spin.out" &
	local spin_pid=$!
	pids="$pids $spin_pid"
	fixed=$(blast "$kind" "$rate" "$sport_next")
	wait "$spin_pid"
	forget_pid "$spin_pid"
	loaded=$(awk '{ print $NF }' "$work/spin.out")
	idle_after=$(spin_rate "$run_seconds")
	idle=$(awk -v a="$idle_before" -v b="$idle_after" 'BEGIN { printf "%.0f", (a + b) / 2 }')
	set -- $flat
	local flat_sent=$1 flat_delivered=$2 flat_secs=$3
	set -- $fixed
	local fixed_sent=$1 fixed_delivered=$2 fixed_secs=$3
	awk -v p="$path" -v fs="$flat_sent" -v fd="$flat_delivered" -v ft="$flat_secs" \
	    -v xs="$fixed_sent" -v xd="$fixed_delivered" -v xt="$fixed_secs" \
	    -v idle="$idle" -v loaded="$loaded" 'BEGIN {
		busy = (idle > 0) ? 1 - loaded / idle : 0
		if (busy < 0) busy = 0
		xpps = (xt > 0) ? xd / xt : 0
		us = (xpps > 0) ? busy * 1e6 / xpps : 0
		printf "%s %.0f %.0f %.0f %.4f %.3f %.2f\n", p, (ft > 0) ? fs / ft : 0, (ft > 0) ? fd / ft : 0,
		       xpps, (xs > 0) ? xd / xs : 0, busy, us
	}' >>"$work/results"
	tail -n 1 "$work/results" | awk '{
		printf "  %s: flat-out sent %7.0f pps, delivered %7.0f pps | fixed rate delivered %6.0f pps (%.2f%%), dsp core busy %4.1f%%, %.2f us/pkt\n",
		       $1, $2, $3, $4, $5 * 100, $6 * 100, $7 }'
	# Only the queued paths have a queue; a path restarted binds a new one.
	[ -n "$drops_before" ] && [ -n "$drops_after" ] && set -- $drops_before $drops_after &&
		echo "     flat-out queue 0: queue full $(($3 - $1)), socket full $(($4 - $2))"
	# Who had the dispatcher core during the flat-out run (the sleep after
	# the blast included): the daemon against receive work deferred to
	# ksoftirqd, in percent of one core.
	[ -n "$daemon_pid" ] && awk -v d=$((daemon_after - daemon_before)) -v k=$((softirqd_after - softirqd_before)) \
		-v hz="$(getconf CLK_TCK)" -v s="$run_seconds" -v c="$dsp_cpu" 'BEGIN {
		printf "     flat-out cpu: daemon %.0f%%, ksoftirqd/%d %.0f%%\n", 100 * d / hz / (s + 0.3), c, 100 * k / hz / (s + 0.3) }'
}

write_config() {
	cfg=$work/bench.cfg
	head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/bench.key"
	chmod 600 "$work/bench.key"
	cat >"$cfg" <<EOF
# Generated by tests/bench/live.sh.
name = "bench";
vips = [ "$vip" ];
ports = { sip = [ $sip_port ]; rtsp = [ 8554 ]; };
servers = (
  { id = "s1"; address = "198.18.2.11"; mark = 1; table = 101; },
  { id = "s2"; address = "198.18.2.12"; mark = 2; table = 102; },
  { id = "s3"; address = "198.18.2.13"; mark = 3; table = 103; }
);
# No bypass: an overloaded queue drops, as nfq_accept's rule does.
queue = { first = 0; count = 1; fail_open = false;$([ "$notrack" = true ] && echo " notrack_udp_signalling = true;") };
key_file = "$work/bench.key";
timeouts = { signalling_s = 10; media_s = 30; linger_s = 1; };
selection = { algorithm = "round-robin"; };
# The benchmark measures capacity: admission control would shed new
# sessions once sarad's own CPU nears saturation.
admission = { enabled = false; };
# Room for every Call-ID of a 10 s signalling timeout at 200 000 new ones a
# second: a full table would pass packets without making sessions (cheaper).
limits = { flows = 2500000; sessions = 2500000; when_full = "pass"; };
control = { socket = "$work/bench.sock"; };
state = { journal = "$work/bench.journal"; };
EOF
	# Path g: the same dispatcher replicating every session to its own
	# Redis (on store_cpu) and a peer's (198.18.2.2, in the lan namespace:
	# the other machine, on the load core).
	{
		cat "$cfg"
		echo 'ha = { dispatchers = [ "198.18.2.1", "198.18.2.2" ]; session_store = "redis"; redis_port = 6379; };'
	} >"$work/bench-replica.cfg"
}

median_of() {     # median of column $2 for path $1 in results
	awk -v p="$1" -v c="$2" '$1 == p { print $c }' "$work/results" | sort -g |
		awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2];
			else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# capacity PATH KIND LOW HIGH: bisects the offered rate between LOW (known
# to pass) and HIGH for the highest rate the path delivers with at most 0.5 %
# lost, each step a fresh block of flows; appends "cap_PATH RATE" to results.
# Flat-out delivery under a flood measures how a path sheds the excess (the
# kernel receives and copies every packet before the full queue drops it);
# this measures what it carries.
capacity() {
	local path=$1 kind=$2 low=$3 high=$4 from=$3 to=$4 step mid out
	for step in $(seq 1 "$search_steps"); do
		mid=$(( (low + high) / 2 ))
		next_ports
		out=$(blast "$kind" "$mid" "$sport_next" "$search_seconds")
		set -- $out
		if awk -v s="$1" -v d="$2" 'BEGIN { exit !(s > 0 && d >= 0.995 * s) }'; then
			low=$mid
		else
			high=$mid
		fi
	done
	echo "cap_$path $low" >>"$work/results"
	printf '     lossless capacity: %7.0f pps (<= 0.5%% lost, %d steps of %s s between %s and %s pps)\n' \
		"$low" "$search_steps" "$search_seconds" "$from" "$to"
}

# ---- SIP calls/s: sipp uac -> VIP through sarad vs -> s1 directly ----------
uac_port=5070
# sipp_calls TARGET PORT: prints "successful failed seconds". Each run uses a
# new local PORT (late retransmissions of an earlier run's calls find no socket);
# a call whose message is lost aborts after -recv_timeout instead of hanging
# the run (the default UAS cannot absorb a retransmitted INVITE).
sipp_calls() {
	local target=$1 port=$2 started ended out
	started=$(date +%s.%N)
	out=$(in_ns cli taskset -c "$load_cpu" timeout 60 sipp -sn uac "$target:$sip_port" -t u1 \
		-i 198.18.0.10 -p "$port" -r "$call_rate" -m "$calls" -l "$calls" -nostdin \
		-buff_size 4194304 -recv_timeout 1000 -timeout 20s -timeout_error -trace_err \
		-error_file "$work/sipp-uac-$target.err" 2>&1)
	ended=$(date +%s.%N)
	echo "$out" >>"$work/sipp-uac.log"
	local ok failed
	ok=$(echo "$out" | awk -F'|' '/Successful call/ { gsub(/ /, "", $3); v = $3 } END { print v + 0 }')
	failed=$(echo "$out" | awk -F'|' '/Failed call/ { gsub(/ /, "", $3); v = $3 } END { print v + 0 }')
	echo "$ok $failed $(awk -v a="$started" -v b="$ended" 'BEGIN { printf "%.3f", b - a }')"
}

# ---- main -----------------------------------------------------------------
echo "== live data path (namespaces ${prefix}*, 1 client -> dispatcher -> 3 servers)"
have_sarad=1
for prog in sarad sara-ctl; do
	if [ ! -x "$build/$prog" ] || "$build/$prog" --help 2>&1 | grep -q "not yet implemented"; then
		have_sarad=0
	fi
done
write_config
setup_topology || die "topology set-up failed"
command -v sipp >/dev/null 2>&1 || echo "live.sh: sipp not installed: no call-rate test"

media_paths="a b"
sip_paths="d"
if [ $have_sarad -eq 1 ]; then
	media_paths="a b c"
	sip_paths="d e"
	[ "$sip_rules" = 1 ] && sip_paths="d e f"
	if [ "$replica" = 1 ]; then
		if command -v redis-server >/dev/null 2>&1; then
			sip_paths="$sip_paths g"
		else
			echo "live.sh: no redis-server: path g (replication) skipped"
		fi
	fi
else
	echo "live.sh: $build/sarad or sara-ctl missing or unfinished: paths c and e skipped"
fi
case $only in
media) sip_paths="" ;;
sip) media_paths="" ;;
calls) media_paths="" sip_paths="" ;;
esac
echo "  load: 200-byte RTP-like UDP, $media_flows flows from 4 addresses to $vip:$media_port;" \
     "SIP OPTIONS (unique Call-IDs) to :$sip_port; runs of ${run_seconds} s;" \
     "flat-out, then fixed $media_rate pps (media) / $sip_rate pps (SIP) for CPU cost"
echo "  cpu $load_cpu: load generator, bridge, servers; cpu $dsp_cpu: dispatcher softirq + daemon"
: >"$work/results"
for round in $(seq 1 "$rounds"); do
	[ -n "$media_paths$sip_paths" ] || break
	echo " round $round"
	for path in $media_paths; do
		path_start "$path"
		measure "$path" rtp "$media_rate"
		path_stop "$path"
	done
	for path in $sip_paths; do
		path_start "$path"
		measure "$path" sip-options "$sip_rate"
		if [ "$search_steps" -gt 0 ]; then
			# between the fixed rate (delivered) and what the flat-out run sent
			capacity "$path" sip-options "$sip_rate" \
				"$(awk -v p="$path" '$1 == p { v = $2 } END { printf "%.0f", v }' "$work/results")"
		fi
		path_stop "$path"
	done
done

names_a="kernel HMARK + policy routing"
names_b="+ conntrack + CONNMARK restore/save"
names_c="sarad fast path (connmark; first packets to sarad)"
names_d="SIP OPTIONS through nfq_accept (accept-all)"
names_e="SIP OPTIONS through sarad"
names_f="SIP OPTIONS through nfq_accept behind sara's rules"
names_g="SIP OPTIONS through sarad replicating (Redis)"
ratio() {     # ratio NUM DEN COLUMN
	awk -v n="$(median_of "$1" "$3")" -v d="$(median_of "$2" "$3")" \
		'BEGIN { if (d > 0) printf "%.2f", n / d; else printf "n/a" }'
}
has_path() {     # PATH, or cap_PATH for its lossless capacity
	awk -v p="$1" '$1 == p { found = 1 } END { exit !found }' "$work/results"
}
if [ -s "$work/results" ]; then
	echo "== medians of $rounds rounds"
	for path in $media_paths $sip_paths; do
		name_var=names_$path
		printf '  (%s) %-52s delivered %8.0f pps flat-out; %5.2f us/pkt at fixed rate\n' "$path" \
			"${!name_var}" "$(median_of "$path" 3)" "$(median_of "$path" 7)"
	done
	# Capacity by CPU cost is the inverse ratio of us/pkt. Flat-out delivery
	# only measures the dispatcher when its core saturates before the
	# load generator's (see "dsp core busy" above).
	has_path a && has_path b &&
		echo "live (b)/(a) conntrack+CONNMARK vs kernel-only: $(ratio b a 3) delivered pps, $(ratio a b 7) capacity by CPU per packet"
	has_path b && has_path c &&
		echo "live (c)/(b) sarad fast path vs conntrack+CONNMARK: $(ratio c b 3) delivered pps, $(ratio b c 7) capacity by CPU per packet (target >= 0.95)"
	has_path e && has_path f &&
		echo "live (e)/(f) sarad vs accept-all behind sara's rules: $(ratio e f 3) delivered pps, $(ratio f e 7) capacity by CPU per packet"
	has_path d && has_path f &&
		echo "live (f)/(d) sara's rules vs none, both accept-all: $(ratio f d 3) delivered pps, $(ratio d f 7) capacity by CPU per packet"
	has_path e && has_path g &&
		echo "live (g)/(e) replication on vs off: $(ratio g e 3) delivered pps, $(ratio e g 7) capacity by CPU per packet (target >= 0.8)"
	has_path d && has_path e &&
		echo "live (e)/(d) sarad vs accept-all on SIP: $(ratio e d 3) delivered pps, $(ratio d e 7) capacity by CPU per packet (target >= 0.8)"
	for path in $sip_paths; do
		has_path "cap_$path" || continue
		name_var=names_$path
		printf '  (%s) %-52s lossless capacity %8.0f pps (median; %s)\n' "$path" "${!name_var}" \
			"$(median_of "cap_$path" 2)" "$(awk -v p="cap_$path" '$1 == p { printf "%s%s", sep, $2; sep = " " }' "$work/results")"
	done
	for pair in "e f" "f d" "e d" "g e"; do
		set -- $pair
		has_path "cap_$1" && has_path "cap_$2" &&
			awk -v n="$(median_of "cap_$1" 2)" -v d="$(median_of "cap_$2" 2)" -v a="$1" -v b="$2" 'BEGIN {
				if (d > 0) printf "live (%s)/(%s) lossless capacity: %.2f%s\n", a, b, n / d,
					(a == "e" && b == "d") || a == "g" ? " (target >= 0.8)" : "" }'
	done
fi

if [ $have_sarad -eq 1 ] && command -v sipp >/dev/null 2>&1 &&
   { [ -z "$only" ] || [ "$only" = calls ]; }; then
	echo "== SIP call set-up rate: sipp uac (-r $call_rate, -m $calls) -> $vip via sarad vs -> 198.18.2.11 directly"
	for i in 1 2 3; do
		in_ns "s$i" iptables -D INPUT -d "$vip" -p udp --dport "$sip_port" -j DROP
		ip netns exec "${prefix}s$i" taskset -c "$load_cpu" sipp -sn uas -t u1 -i "$vip" -p "$sip_port" -nostdin \
			-buff_size 4194304 -trace_err -error_file "$work/sipp-uas-$i.err" >"$work/sipp-uas-$i.log" 2>&1 &
		pids="$pids $!"
	done
	ip netns exec "${prefix}s1" taskset -c "$load_cpu" sipp -sn uas -t u1 -i 198.18.2.11 -p "$sip_port" -nostdin \
		-buff_size 4194304 -trace_err -error_file "$work/sipp-uas-direct.err" >"$work/sipp-uas-direct.log" 2>&1 &
	pids="$pids $!"
	sarad_start
	sleep 0.5
	: >"$work/calls"
	for round in $(seq 1 "$rounds"); do
		for target in vip direct; do
			address=$vip
			[ $target = direct ] && address=198.18.2.11
			uac_port=$((uac_port + 1))
			set -- $(sipp_calls "$address" "$uac_port")
			echo "$target $1 $2 $3" >>"$work/calls"
			awk -v t="$target" -v ok="$1" -v f="$2" -v s="$3" 'BEGIN {
				printf "  %-6s %5d calls ok, %d failed, %.2f s: %.0f calls/s\n", t, ok, f, s, (s > 0) ? ok / s : 0 }'
		done
	done
	path_stop e
	calls_median() {
		awk -v t="$1" '$1 == t && $4 > 0 { print $2 / $4 }' "$work/calls" | sort -g |
			awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2];
				else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
	}
	via=$(calls_median vip)
	direct=$(calls_median direct)
	awk -v v="$via" -v d="$direct" 'BEGIN {
		printf "live sip calls/s: %.0f via sarad, %.0f direct, ratio %s (target >= 0.9)\n", v, d,
		       (d > 0) ? sprintf("%.2f", v / d) : "n/a" }'
fi
if [ -s "$work/sarad.log" ] && grep -q -e " warning:" -e " error:" "$work/sarad.log"; then
	echo "live.sh: sarad reported (queue overflows are expected in the flat-out runs):"
	grep -e " warning:" -e " error:" "$work/sarad.log" | head -n 8 | sed 's/^/  /'
fi
exit 0
