# lib.sh - the namespace harness: the sara lab, a real cluster in network namespaces
# (client, router, dispatcher, gateway, LAN bridge, 3 servers), helpers to run programs
# in it, and the e2e tests' set-up and checks. Sourced by tests/netns/e2e_*.sh, the lab
# (tests/lab/lab.sh, whose configs and scenarios it reads from tests/lab/) and the
# experiments; bash only.
#
# Addressing (IPv4, prefix $LAB_PREFIX, default "sara-lab-"):
#   cli  c0 198.18.0.10/24 (+.11 .12)              default via 198.18.0.1
#   rtr  r0 198.18.0.1/24, r1 198.18.1.1/30 (dsp), r2 198.18.1.5/30 (gw); VIP via 198.18.1.2
#   dsp  d0 198.18.1.2/30, d1 198.18.2.1/24 (LAN)   default via 198.18.1.1, forwarding
#   gw   g0 198.18.1.6/30, g1 198.18.2.254/24 (LAN) default via 198.18.1.5, forwarding
#   lan  bridge br0 joining dsp, gw, s1..s3
#   sN   eth0 198.18.2.1N/24, VIP 198.18.77.20/32 on lo, default via 198.18.2.254 src VIP
#
# IPv6 is disabled in every namespace unless LAB_IPV6=1 is set before lab_up, which adds
# (nodad: ready at once) an IPv6 plane beside the IPv4 one, the control traffic staying IPv4:
#   cli  c0 fd00::10/64 (+::11 ::12)               default via fd00::1
#   rtr  r0 fd00::1/64, r1 fd00:1::1/64 (dsp), r2 fd00:3::1/64 (gw); VIP6 via fd00:1::2
#   dsp  d0 fd00:1::2/64, d1 fd00:2::1/64 (LAN)     default via fd00:1::1, forwarding
#   gw   g0 fd00:3::2/64, g1 fd00:2::fe/64 (LAN)    default via fd00:3::1, forwarding
#   sN   eth0 fd00:2::1N/64, VIP6 fd00:77::20/128 on lo, default via fd00:2::fe src VIP6
#
# Usage: set LAB_PREFIX (optional), source this file, call lab_init, then lab_up ...;
# install `trap lab_cleanup EXIT` so everything is torn down even on failure.

LAB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LAB_DIR=$LAB_ROOT/tests/lab    # the lab's cluster template, proxy config and scenarios
LAB_PREFIX=${LAB_PREFIX:-${SARA_LAB_PREFIX:-sara-lab-}}
LAB_VIP=198.18.77.20
LAB_CLI_IPS=(198.18.0.10 198.18.0.11 198.18.0.12)
LAB_SERVERS=(s1 s2 s3)
LAB_SERVER_IPS=(198.18.2.11 198.18.2.12 198.18.2.13)
LAB_IPV6=${LAB_IPV6:-0}  # 1: the IPv6 plane below is added by lab_up
LAB_VIP6=fd00:77::20
LAB_CLI_IPS6=(fd00::10 fd00::11 fd00::12)
LAB_SERVER_IPS6=(fd00:2::11 fd00:2::12 fd00:2::13)
LAB_RUN=
LAB_PIDS=()              # every background PID we started
LAB_NAMES=()             # its log name, same index
LAB_CAP_PIDS=()          # tcpdump PIDs, per server index
LAB_VERBOSE=${LAB_VERBOSE:-0}
LAB_RULES_MODE=          # "sara-ctl" or "fallback" or "hmark", set by lab_rules

lab_log() { printf '[lab %s] %s\n' "$(date +%T)" "$*" >&2; }
lab_die() { lab_log "ERROR: $*"; return 1; }

lab_ns() { printf '%s%s' "$LAB_PREFIX" "$1"; }
# lab_hostport ADDR PORT: "198.18.77.20:5060" or "[fd00:77::20]:5060"
lab_hostport() { case $1 in *:*) printf '[%s]:%s' "$1" "$2" ;; *) printf '%s:%s' "$1" "$2" ;; esac; }
lab_in() { local ns; ns=$(lab_ns "$1"); shift; ip netns exec "$ns" "$@"; }

# ---------------------------------------------------------------- binaries
# lab_bin NAME: path of a built program in $SARA_BIN_DIR (default build/), empty when
# it is not built there: the programs under test come from one build directory,
# never a stale copy from another.
lab_bin() {
	local name=$1 dir=${SARA_BIN_DIR:-$LAB_ROOT/build}
	[ -x "$dir/$name" ] && printf '%s' "$dir/$name"
	return 0
}

# ---------------------------------------------------------------- processes
lab_alive() { kill -0 "$1" 2>/dev/null; }

# lab_bg NAME NS|- CMD...   start CMD in the background (in namespace NS, cwd $LAB_RUN),
# output to $LAB_RUN/logs/NAME.log; sets LAB_BGPID.
lab_bg() {
	local name=$1 ns=$2; shift 2
	if [ "$ns" = - ]; then
		( cd "$LAB_RUN" && exec "$@" ) >"$LAB_RUN/logs/$name.log" 2>&1 </dev/null &
	else
		( cd "$LAB_RUN" && exec ip netns exec "$(lab_ns "$ns")" "$@" ) \
			>"$LAB_RUN/logs/$name.log" 2>&1 </dev/null &
	fi
	LAB_BGPID=$!
	LAB_PIDS+=("$LAB_BGPID")
	LAB_NAMES+=("$name")
	[ "$LAB_VERBOSE" = 1 ] && lab_log "started $name pid $LAB_BGPID: $*"
	return 0
}

# lab_wait_exit PID TENTHS: bounded wait for PID to exit; 1 if still alive
lab_wait_exit() {
	local pid=$1 n=$2 i
	for ((i = 0; i < n; i++)); do lab_alive "$pid" || break; sleep 0.1; done
	lab_alive "$pid" && return 1
	return 0
}

# lab_rc PID: exit status of a background PID we started (waits for it)
lab_rc() {
	local rc=0
	wait "$1" 2>/dev/null || rc=$?
	printf '%s' "$rc"
}

lab_descendants() {
	local c
	for c in $(pgrep -P "$1" 2>/dev/null || true); do lab_descendants "$c"; echo "$c"; done
}

# lab_stop SIGNAL PID [TENTHS]: signal one PID we started, wait, then SIGKILL it and its
# descendants. A `timeout` wrapper forwards the signal to its child.
lab_stop() {
	local sig=$1 pid=$2 tenths=${3:-30} c
	[ -n "$pid" ] || return 0
	if ! lab_alive "$pid"; then wait "$pid" 2>/dev/null; return 0; fi
	kill -"$sig" "$pid" 2>/dev/null
	lab_wait_exit "$pid" "$tenths" && { wait "$pid" 2>/dev/null; return 0; }
	lab_log "pid $pid ignored SIG$sig, killing it"
	for c in $(lab_descendants "$pid"); do kill -KILL "$c" 2>/dev/null; done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

lab_stop_all() {
	local i
	for ((i = ${#LAB_PIDS[@]} - 1; i >= 0; i--)); do
		lab_alive "${LAB_PIDS[i]}" && lab_stop TERM "${LAB_PIDS[i]}" "${1:-30}"
	done
	return 0
}

# ---------------------------------------------------------------- namespaces
lab_all_ns() {
	local n
	for n in cli rtr dsp gw lan "${LAB_SERVERS[@]}"; do lab_ns "$n"; echo; done
}

lab_ns_exists() { [ -e "/run/netns/$1" ]; }

# lab_claim_prefix: a lab owns its prefix through a lock held (on an fd its processes
# inherit) for the lab's life. Namespaces of the prefix found while the lock is free were
# left by a run that died without its cleanup: they are removed, with a line saying so.
# Returns 1 when a live lab holds the prefix.
LAB_LOCK_FD=
lab_claim_prefix() {
	local ns p stale=""
	mkdir -p /run/sara-lab
	exec {LAB_LOCK_FD}>"/run/sara-lab/${LAB_PREFIX}lock"
	if ! flock -n "$LAB_LOCK_FD"; then
		lab_die "prefix $LAB_PREFIX is held by another running lab (/run/sara-lab/${LAB_PREFIX}lock)"
		return 1
	fi
	for ns in $(lab_all_ns); do
		lab_ns_exists "$ns" || continue
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
		ip netns del "$ns" 2>/dev/null || { lab_die "cannot delete the stale netns $ns"; return 1; }
		stale="$stale $ns"
	done
	[ -z "$stale" ] || lab_log "removed namespaces a dead run left:$stale"
	return 0
}

# lab_check_env: root, ip netns, iptables. Prints why and returns 77 where namespaces
# cannot be made here, 1 where a tool make deps installs is missing.
lab_check_env() {
	local probe
	if [ "$(id -u)" -ne 0 ]; then echo "lab: needs root (network namespaces)"; return 77; fi
	for probe in ip iptables tcpdump timeout; do
		command -v "$probe" >/dev/null 2>&1 || { echo "lab: $probe not installed (make deps installs it)"; return 1; }
	done
	probe=$(lab_ns probe$$)
	if ! ip netns add "$probe" 2>/dev/null; then
		echo "lab: cannot create network namespaces (ip netns add failed)"; return 77
	fi
	if ! ip netns exec "$probe" iptables -t mangle -L -n >/dev/null 2>&1; then
		ip netns del "$probe"
		echo "lab: iptables (mangle) unusable in a namespace"; return 77
	fi
	ip netns del "$probe"
	return 0
}

# lab_init: run dir, logs, assets. Call once before anything else.
lab_init() {
	LAB_RUN=$(mktemp -d /tmp/sara-lab.XXXXXX)
	mkdir -p "$LAB_RUN/logs" "$LAB_RUN/cap"
	chmod 755 "$LAB_RUN"
}

lab_sysctl() { lab_in "$1" sysctl -qw "${@:2}" >/dev/null; }

# lab_veth NS_A DEV_A NS_B DEV_B: a veth pair created directly inside the namespaces
lab_veth() {
	ip -n "$(lab_ns "$1")" link add "$2" type veth peer name "$4" netns "$(lab_ns "$3")"
}

lab_dev_up() {   # lab_dev_up NS DEV: offloads off (MTU-sized TCP, valid checksums), up
	lab_in "$1" ethtool -K "$2" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
	lab_sysctl "$1" "net.ipv4.conf.$2.rp_filter=0"
	ip -n "$(lab_ns "$1")" link set "$2" up
}

LAB_CREATED=0            # 1 once lab_up created namespaces: only then does cleanup delete them
lab_up() {
	local n ns i
	lab_claim_prefix || return 1
	LAB_CREATED=1
	for n in cli rtr dsp gw lan "${LAB_SERVERS[@]}"; do
		ns=$(lab_ns "$n")
		ip netns add "$ns" || return 1
		if [ "$LAB_IPV6" = 1 ]; then
			# no DAD on the links made next: a tentative link-local address holds
			# neighbour discovery, and so the first packets, back for a second
			lab_sysctl "$n" net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0 \
				net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
		else
			lab_sysctl "$n" net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
		fi
		lab_sysctl "$n" net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
		lab_sysctl "$n" net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.default.send_redirects=0
		ip -n "$ns" link set lo up
	done
	lab_veth cli c0 rtr r0
	lab_veth rtr r1 dsp d0
	lab_veth rtr r2 gw g0
	ip -n "$(lab_ns lan)" link add br0 type bridge stp_state 0 forward_delay 0
	lab_veth dsp d1 lan pd
	lab_veth gw g1 lan pg
	for ((i = 0; i < ${#LAB_SERVERS[@]}; i++)); do lab_veth "${LAB_SERVERS[i]}" eth0 lan "p${LAB_SERVERS[i]}"; done
	for n in pd pg "${LAB_SERVERS[@]/#/p}"; do
		ip -n "$(lab_ns lan)" link set "$n" master br0
		lab_dev_up lan "$n"
	done
	ip -n "$(lab_ns lan)" link set br0 up

	# client
	for i in "${LAB_CLI_IPS[@]}"; do ip -n "$(lab_ns cli)" addr add "$i/24" dev c0; done
	lab_dev_up cli c0
	ip -n "$(lab_ns cli)" route add default via 198.18.0.1
	# router
	ip -n "$(lab_ns rtr)" addr add 198.18.0.1/24 dev r0
	ip -n "$(lab_ns rtr)" addr add 198.18.1.1/30 dev r1
	ip -n "$(lab_ns rtr)" addr add 198.18.1.5/30 dev r2
	for n in r0 r1 r2; do lab_dev_up rtr "$n"; done
	lab_sysctl rtr net.ipv4.ip_forward=1
	ip -n "$(lab_ns rtr)" route add "$LAB_VIP/32" via 198.18.1.2
	ip -n "$(lab_ns rtr)" route add 198.18.2.0/24 via 198.18.1.6
	# dispatcher
	ip -n "$(lab_ns dsp)" addr add 198.18.1.2/30 dev d0
	ip -n "$(lab_ns dsp)" addr add 198.18.2.1/24 dev d1
	lab_dev_up dsp d0; lab_dev_up dsp d1
	lab_sysctl dsp net.ipv4.ip_forward=1
	ip -n "$(lab_ns dsp)" route add default via 198.18.1.1
	# gateway
	ip -n "$(lab_ns gw)" addr add 198.18.1.6/30 dev g0
	ip -n "$(lab_ns gw)" addr add 198.18.2.254/24 dev g1
	lab_dev_up gw g0; lab_dev_up gw g1
	lab_sysctl gw net.ipv4.ip_forward=1
	ip -n "$(lab_ns gw)" route add default via 198.18.1.5
	ip -n "$(lab_ns gw)" route replace 198.18.0.0/24 via 198.18.1.5
	# servers: VIP on lo, never answer ARP for it
	for ((i = 0; i < ${#LAB_SERVERS[@]}; i++)); do
		n=${LAB_SERVERS[i]}
		lab_sysctl "$n" net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
		ip -n "$(lab_ns "$n")" addr add "$LAB_VIP/32" dev lo
		ip -n "$(lab_ns "$n")" addr add "${LAB_SERVER_IPS[i]}/24" dev eth0
		lab_dev_up "$n" eth0
		# direct server return: what the server originates leaves from the VIP
		ip -n "$(lab_ns "$n")" route add default via 198.18.2.254 src "$LAB_VIP"
	done
	# a routing loop guard: until rules say otherwise, VIP packets the dispatcher cannot
	# place are dropped instead of bouncing back to the router
	ip -n "$(lab_ns dsp)" route add blackhole "$LAB_VIP/32"
	if [ "$LAB_IPV6" = 1 ]; then lab_up_ipv6 || return 1; fi
	lab_wait_lan
}

# lab_up_ipv6: the IPv6 plane (LAB_IPV6=1), the same topology as the IPv4 one. nodad:
# the addresses are usable at once; the links exist, so routes over them are accepted.
lab_addr6() { ip -n "$(lab_ns "$1")" -6 addr add "$2" dev "$3" nodad; }   # NS ADDR/LEN DEV
lab_up_ipv6() {
	local i n
	for i in "${LAB_CLI_IPS6[@]}"; do lab_addr6 cli "$i/64" c0; done
	ip -n "$(lab_ns cli)" -6 route add default via fd00::1
	lab_addr6 rtr fd00::1/64 r0
	lab_addr6 rtr fd00:1::1/64 r1
	lab_addr6 rtr fd00:3::1/64 r2
	lab_sysctl rtr net.ipv6.conf.all.forwarding=1
	ip -n "$(lab_ns rtr)" -6 route add "$LAB_VIP6/128" via fd00:1::2
	ip -n "$(lab_ns rtr)" -6 route add fd00:2::/64 via fd00:3::2
	lab_addr6 dsp fd00:1::2/64 d0
	lab_addr6 dsp fd00:2::1/64 d1
	lab_sysctl dsp net.ipv6.conf.all.forwarding=1
	ip -n "$(lab_ns dsp)" -6 route add default via fd00:1::1
	lab_addr6 gw fd00:3::2/64 g0
	lab_addr6 gw fd00:2::fe/64 g1
	lab_sysctl gw net.ipv6.conf.all.forwarding=1
	ip -n "$(lab_ns gw)" -6 route add default via fd00:3::1
	for ((i = 0; i < ${#LAB_SERVERS[@]}; i++)); do
		n=${LAB_SERVERS[i]}
		lab_addr6 "$n" "$LAB_VIP6/128" lo
		lab_addr6 "$n" "${LAB_SERVER_IPS6[i]}/64" eth0
		ip -n "$(lab_ns "$n")" -6 route add default via fd00:2::fe src "$LAB_VIP6"
	done
	ip -n "$(lab_ns dsp)" -6 route add blackhole "$LAB_VIP6/128"
}

# lab_wait_lan: bounded wait until every bridge port forwards (STP is off: at once)
lab_wait_lan() {
	local i
	for ((i = 0; i < 30; i++)); do
		[ "$(bridge -n "$(lab_ns lan)" link show | grep -c 'state forwarding')" -eq $((2 + ${#LAB_SERVERS[@]})) ] &&
			return 0
		sleep 0.1
	done
	lab_die "the server LAN bridge does not forward"
}

# lab_down_ns: kill what is left inside our namespaces (only ours: the prefix is ours), delete them
lab_down_ns() {
	local ns p
	[ "$LAB_CREATED" = 1 ] || return 0
	for ns in $(lab_all_ns); do
		lab_ns_exists "$ns" || continue
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
		ip netns del "$ns" 2>/dev/null || lab_log "cannot delete netns $ns"
	done
	return 0
}

# lab_cleanup: the EXIT trap. Stops every process we started, deletes the namespaces and
# (unless LAB_KEEP=1) the run dir. Keeps the exit status.
lab_cleanup() {
	local rc=$?
	set +e
	trap - EXIT INT TERM
	lab_stop_all 30
	lab_down_ns
	if [ -n "$LAB_RUN" ] && [ -d "$LAB_RUN" ]; then
		if [ "${LAB_KEEP:-0}" = 1 ]; then
			lab_log "run dir kept: $LAB_RUN"
		else
			rm -rf "$LAB_RUN"
		fi
	fi
	exit "$rc"
}

# lab_leftovers: prints namespaces or started processes still present (empty = clean)
lab_leftovers() {
	local ns p
	[ "$LAB_CREATED" = 1 ] && for ns in $(lab_all_ns); do lab_ns_exists "$ns" && echo "netns $ns"; done
	for p in "${LAB_PIDS[@]}"; do lab_alive "$p" && echo "pid $p"; done
	return 0
}

# ---------------------------------------------------------------- cluster config + key
lab_config() {   # writes $LAB_RUN/cluster.cfg and $LAB_RUN/cluster.key; sets LAB_CFG
	LAB_CFG=$LAB_RUN/cluster.cfg
	sed -e "s|@NAME@|${LAB_PREFIX%-}|g" -e "s|@RUN@|$LAB_RUN|g" "$LAB_DIR/cluster.cfg.in" >"$LAB_CFG"
	local ctl
	ctl=$(lab_bin sara-ctl)
	if [ -n "$ctl" ] && "$ctl" -c "$LAB_CFG" keygen >"$LAB_RUN/logs/keygen.log" 2>&1 &&
		[ -s "$LAB_RUN/cluster.key" ]; then
		:
	else
		( umask 077; head -c32 /dev/urandom | xxd -p -c64 >"$LAB_RUN/cluster.key" )
	fi
	chmod 600 "$LAB_RUN/cluster.key"
}

# ---------------------------------------------------------------- netfilter rules
# The dispatcher's rules as the plan specifies them (what `sara-ctl rules --apply` writes);
# used until sara-ctl exists. $1 = dsp.
lab_rules_fallback_dsp() {
	local ns=dsp qopt="--queue-num 0 --queue-bypass" i
	lab_in $ns iptables -t mangle -N SARA
	lab_in $ns iptables -t mangle -A PREROUTING -d "$LAB_VIP" -j SARA
	lab_in $ns iptables -t mangle -A SARA -j CONNMARK --restore-mark
	lab_in $ns iptables -t mangle -A SARA -p udp -m multiport --dports 5060 -j NFQUEUE $qopt
	lab_in $ns iptables -t mangle -A SARA -p tcp -m multiport --dports 5060 -j NFQUEUE $qopt
	lab_in $ns iptables -t mangle -A SARA -p tcp -m multiport --dports 8554 -j NFQUEUE $qopt
	lab_in $ns iptables -t mangle -A SARA -m mark ! --mark 0 -j RETURN
	lab_in $ns iptables -t mangle -A SARA -j NFQUEUE $qopt
	lab_in $ns iptables -t mangle -A POSTROUTING -d "$LAB_VIP" -m mark ! --mark 0 -j CONNMARK --save-mark
	for ((i = 0; i < 3; i++)); do
		lab_in $ns ip rule add fwmark $((i + 1)) lookup $((101 + i))
		lab_in $ns ip route replace "$LAB_VIP/32" via "${LAB_SERVER_IPS[i]}" table $((101 + i))
	done
	lab_in $ns ip route replace "$LAB_VIP/32" nexthop via 198.18.2.11 nexthop via 198.18.2.12 \
		nexthop via 198.18.2.13
}

lab_rules_fallback_gw() {
	lab_in gw iptables -t mangle -A FORWARD -s "$LAB_VIP" -p udp -m multiport --sports 5060 \
		-j NFQUEUE --queue-num 0 --queue-bypass
	lab_in gw iptables -t mangle -A FORWARD -s "$LAB_VIP" -p tcp -m multiport --sports 5060,8554 \
		-j NFQUEUE --queue-num 0 --queue-bypass
}

# Static kernel-only placement (no sarad): HMARK over the given tuple, e.g. "src" (all
# flows of a client address to one server) or "src,dst,sport,dport,proto" (an L4 balancer).
lab_rules_hmark() {
	local tuple=${1:-src} i
	lab_in dsp iptables -t mangle -A PREROUTING -d "$LAB_VIP" -j HMARK --hmark-tuple "$tuple" \
		--hmark-mod 3 --hmark-offset 1 --hmark-rnd 0x5a7a
	for ((i = 0; i < 3; i++)); do
		lab_in dsp ip rule add fwmark $((i + 1)) lookup $((101 + i))
		lab_in dsp ip route replace "$LAB_VIP/32" via "${LAB_SERVER_IPS[i]}" table $((101 + i))
	done
	LAB_RULES_MODE=hmark
}

# lab_rules: dispatcher + gateway rules, through sara-ctl when it works, else the fallback.
lab_rules() {
	local ctl
	ctl=$(lab_bin sara-ctl)
	if [ -n "$ctl" ] && [ "${LAB_NO_CTL:-0}" != 1 ] &&
		lab_in dsp "$ctl" -c "$LAB_CFG" rules --apply >"$LAB_RUN/logs/rules-dsp.log" 2>&1 &&
		lab_in gw "$ctl" -c "$LAB_CFG" rules --gateway --apply >"$LAB_RUN/logs/rules-gw.log" 2>&1; then
		LAB_RULES_MODE=sara-ctl
	else
		[ -n "$ctl" ] && lab_log "sara-ctl rules failed (see logs/rules-*.log): using the lab's own rules"
		# start from clean tables in case sara-ctl applied half of them
		lab_in dsp iptables -t mangle -F; lab_in dsp iptables -t mangle -X 2>/dev/null
		lab_in gw iptables -t mangle -F
		local i
		for ((i = 0; i < 3; i++)); do
			while lab_in dsp ip rule del fwmark $((i + 1)) lookup $((101 + i)) 2>/dev/null; do :; done
		done
		lab_rules_fallback_dsp || return 1
		lab_rules_fallback_gw || return 1
		LAB_RULES_MODE=fallback
	fi
	# the multipath fallback route must replace the loop guard (sara-ctl may not know it)
	if lab_in dsp ip route show "$LAB_VIP/32" | grep -q blackhole; then
		lab_in dsp ip route replace "$LAB_VIP/32" nexthop via 198.18.2.11 nexthop via 198.18.2.12 \
			nexthop via 198.18.2.13
	fi
	lab_in dsp iptables-save -t mangle >"$LAB_RUN/logs/dsp-mangle.rules" 2>&1
	lab_in gw iptables-save -t mangle >"$LAB_RUN/logs/gw-mangle.rules" 2>&1
	if [ "$LAB_IPV6" = 1 ]; then
		lab_in dsp ip6tables-save -t mangle >"$LAB_RUN/logs/dsp-mangle6.rules" 2>&1
		lab_in gw ip6tables-save -t mangle >"$LAB_RUN/logs/gw-mangle6.rules" 2>&1
	fi
}

# lab_rules_all_queued: lab_rules, then without the connmark fast path: every packet to
# the VIP crosses to sarad, media of decided flows too (experiments where sarad must see
# every packet, e.g. admission.policy "random", which drops established sessions' media).
lab_rules_all_queued() {
	lab_rules || return 1
	while lab_in dsp iptables -t mangle -D SARA -m mark ! --mark 0 -j RETURN 2>/dev/null; do :; done
	lab_in dsp iptables-save -t mangle >"$LAB_RUN/logs/dsp-mangle.rules" 2>&1
}

# ---------------------------------------------------------------- sarad + sara-gw
# lab_prog_works BIN: false for a placeholder that only says "not yet implemented"
lab_prog_works() {
	local out
	[ -n "$1" ] || return 1
	out=$(timeout 5 "$1" --help 2>&1)
	! printf '%s' "$out" | grep -qi 'not yet implemented'
}

LAB_SARAD_PID=
LAB_GW_PID=
lab_start_sarad() {
	local bin i
	bin=$(lab_bin sarad)
	lab_prog_works "$bin" || { lab_log "sarad is not built in ${SARA_BIN_DIR:-$LAB_ROOT/build}"; return 1; }
	lab_bg sarad dsp timeout "${1:-120}" "$bin" -c "$LAB_CFG" --foreground
	LAB_SARAD_PID=$LAB_BGPID
	# ready when its queue is bound (peer_portid != 0 in the netns' nfnetlink_queue)
	for ((i = 0; i < 50; i++)); do
		lab_alive "$LAB_SARAD_PID" || { lab_log "sarad exited: $(tail -3 "$LAB_RUN/logs/sarad.log")"; return 1; }
		lab_in dsp awk '$1 == 0 && $2 != 0 { ok = 1 } END { exit !ok }' \
			/proc/net/netfilter/nfnetlink_queue 2>/dev/null && return 0
		sleep 0.1
	done
	lab_die "sarad did not bind queue 0 in 5 s"
}

lab_start_gw() {
	local bin i
	bin=$(lab_bin sara-gw)
	lab_prog_works "$bin" || { lab_log "sara-gw is not built in ${SARA_BIN_DIR:-$LAB_ROOT/build}"; return 1; }
	# the queue the gateway rule feeds (sara-ctl's choice, or the fallback's 0)
	local q
	q=$( { lab_in gw iptables-save -t mangle; lab_in gw ip6tables-save -t mangle; } 2>/dev/null |
		grep -o -- '--queue-num [0-9]*' | head -1 | cut -d' ' -f2)
	q=${q:-0}
	# LAB_GW_ARGS: further options (a test's --metrics)
	# shellcheck disable=SC2086
	lab_bg sara-gw gw timeout "${1:-120}" "$bin" -c "$LAB_CFG" --queue "$q" --foreground ${LAB_GW_ARGS:-}
	LAB_GW_PID=$LAB_BGPID
	for ((i = 0; i < 50; i++)); do
		lab_alive "$LAB_GW_PID" || { lab_log "sara-gw exited: $(tail -3 "$LAB_RUN/logs/sara-gw.log")"; return 1; }
		lab_in gw awk -v q="$q" '$1 == q && $2 != 0 { ok = 1 } END { exit !ok }' \
			/proc/net/netfilter/nfnetlink_queue 2>/dev/null && return 0
		sleep 0.1
	done
	lab_die "sara-gw did not bind queue $q in 5 s"
}

# ---------------------------------------------------------------- servers
lab_assets() {
	[ -f "$LAB_RUN/g711a-short.pcap" ] && return 0
	# 3.6 s of the stock sipp G.711 A-law stream (120 packets of 30 ms)
	editcap -r /usr/share/sip-tester/g711a.pcap "$LAB_RUN/g711a-short.pcap" 1-120 >/dev/null
	cp /usr/share/sip-tester/g711a.pcap "$LAB_RUN/"
	cp "$LAB_ROOT/pcaps/lab/uas-media.xml" "$LAB_ROOT/pcaps/lab/uac-hold.xml" \
		"$LAB_ROOT/pcaps/lab/uac-media.xml" "$LAB_DIR/uac-long.xml" "$LAB_RUN/"
}

# lab_wait_listen NS tcp|udp PORT [PID [ADDR]]: bounded wait until something listens on
# PORT (at ADDR when given)
lab_wait_listen() {
	local ns=$1 proto=$2 port=$3 pid=${4:-} addr=${5:-} i flag=-Hlnt filter
	[ "$proto" = udp ] && flag=-Hlnu
	filter="sport = :$port"
	[ -n "$addr" ] && filter="src $(lab_hostport "$addr" "$port")"
	for ((i = 0; i < 100; i++)); do
		[ -n "$(lab_in "$ns" ss $flag "$filter")" ] && return 0
		if [ -n "$pid" ] && ! lab_alive "$pid"; then lab_die "$ns: server pid $pid exited before listening on $proto/$port"; return 1; fi
		sleep 0.1
	done
	lab_die "$ns: nothing listens on $proto/$port"
}

# lab_start_sip_servers [LIFETIME]: sipp UAS on every server, UDP (media from 6000) and
# TCP (media from 16000), both on VIP:5060, answering with the VIP as media address.
# LAB_UAS_MP_STEP (default 0): server i's media ports start i * step higher, so that
# no two servers answer with the same VIP port. LAB_UAS_VIPS (default $LAB_VIP): the
# VIPs served, a pair of UAS each (logs uas-udp-S, uas-tcp-S for $LAB_VIP; uas6-* for
# $LAB_VIP6).
LAB_UAS_PIDS=()
lab_start_sip_servers() {
	local life=${1:-80} s i=0 off vip tag
	lab_assets
	for s in "${LAB_SERVERS[@]}"; do
		off=$((i * ${LAB_UAS_MP_STEP:-0})); i=$((i + 1))
		for vip in ${LAB_UAS_VIPS:-$LAB_VIP}; do
			tag=uas; [ "$vip" = "$LAB_VIP" ] || tag=uas6
			lab_bg "$tag-udp-$s" "$s" timeout "$life" sipp -sf uas-media.xml -t u1 -i "$vip" -p 5060 \
				-mi "$vip" -mp $((6000 + off)) -nostdin -trace_err -error_file "$LAB_RUN/logs/$tag-udp-$s.err" \
				-trace_stat -stf "$LAB_RUN/logs/$tag-udp-$s.csv" -fd 1
			LAB_UAS_PIDS+=("$LAB_BGPID")
			lab_bg "$tag-tcp-$s" "$s" timeout "$life" sipp -sf uas-media.xml -t t1 -i "$vip" -p 5060 \
				-mi "$vip" -mp $((16000 + off)) -nostdin -trace_err -error_file "$LAB_RUN/logs/$tag-tcp-$s.err" \
				-trace_stat -stf "$LAB_RUN/logs/$tag-tcp-$s.csv" -fd 1
			LAB_UAS_PIDS+=("$LAB_BGPID")
		done
	done
	for s in "${LAB_SERVERS[@]}"; do
		for vip in ${LAB_UAS_VIPS:-$LAB_VIP}; do
			lab_wait_listen "$s" udp 5060 "" "$vip" || return 1
			lab_wait_listen "$s" tcp 5060 "" "$vip" || return 1
		done
	done
}

LAB_RTSP_PIDS=()
# lab_start_rtsp_servers [LIFETIME [gst-rtsp-server.py options]]: one on every server, at
# LAB_RTSP_VIP (default $LAB_VIP) port 8554
lab_start_rtsp_servers() {
	local life=${1:-80} s i=0 vip=${LAB_RTSP_VIP:-$LAB_VIP}
	shift $(($# > 0 ? 1 : 0))
	for s in "${LAB_SERVERS[@]}"; do
		lab_bg "rtsp-$s" "$s" timeout $((life + 5)) /usr/bin/python3 "$LAB_ROOT/pcaps/lab/gst-rtsp-server.py" \
			--addr "$vip" --port 8554 --lifetime "$life" "$@"
		LAB_RTSP_PIDS+=("$LAB_BGPID")
	done
	for s in "${LAB_SERVERS[@]}"; do
		lab_wait_listen "$s" tcp 8554 "${LAB_RTSP_PIDS[i]}" "$vip" || return 1
		i=$((i + 1))
	done
}

# ---------------------------------------------------------------- captures
lab_cap_start() {
	local s i
	LAB_CAP_PIDS=()
	for s in "${LAB_SERVERS[@]}"; do
		lab_bg "tcpdump-$s" "$s" timeout "${1:-120}" tcpdump -i eth0 --immediate-mode -U -n -s 0 \
			-Z root -w "$LAB_RUN/cap/$s.pcap" 'not arp'
		LAB_CAP_PIDS+=("$LAB_BGPID")
	done
	for s in "${LAB_SERVERS[@]}"; do
		for ((i = 0; i < 50; i++)); do
			grep -q 'listening on' "$LAB_RUN/logs/tcpdump-$s.log" 2>/dev/null && break
			sleep 0.1
		done
		grep -q 'listening on' "$LAB_RUN/logs/tcpdump-$s.log" || { lab_die "tcpdump in $s did not start"; return 1; }
	done
}

lab_cap_stop() {
	local p
	sleep 0.5
	for p in "${LAB_CAP_PIDS[@]}"; do lab_stop INT "$p" 30; done
	return 0
}

# ---------------------------------------------------------------- clients
# lab_sipp_uac NAME TRANSPORT(u1|tn) CLIENT_IP LOCAL_PORT MEDIA_PORT CALLS [extra sipp args]
# Starts a sipp UAC (uac-hold.xml: RTP both ways, hold + resume re-INVITEs; LAB_UAC_XML
# picks another scenario) in the background, calling LAB_UAC_VIP (default $LAB_VIP);
# LAB_BGPID is its PID, the exit status says whether every call succeeded.
lab_sipp_uac() {
	local name=$1 t=$2 ip=$3 port=$4 mp=$5 calls=$6; shift 6
	lab_assets
	lab_bg "$name" cli timeout 40 sipp "$(lab_hostport "${LAB_UAC_VIP:-$LAB_VIP}" 5060)" -sf "${LAB_UAC_XML:-uac-hold.xml}" -t "$t" -s 100 -i "$ip" \
		-p "$port" -mi "$ip" -mp "$mp" -m "$calls" -l "$calls" -r 10 -nostdin -trace_err \
		-error_file "$LAB_RUN/logs/$name.err" -trace_stat -stf "$LAB_RUN/logs/$name.csv" -fd 1 \
		-timeout 30s -timeout_error -max_socket 200 "$@"
}

# lab_sipp_stats NAME: "successful failed" from the sipp stat file (last line)
lab_sipp_stats() {
	local f=$LAB_RUN/logs/$1.csv
	[ -s "$f" ] || { echo "0 0"; return 0; }
	awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) { if ($i == "SuccessfulCall(C)") s = i; if ($i == "FailedCall(C)") f = i } }
		END { printf "%d %d\n", $s, $f }' "$f"
}

lab_ffmpeg_play() {   # lab_ffmpeg_play NAME udp|tcp SECONDS [VIP]
	lab_bg "$1" cli timeout 25 ffmpeg -hide_banner -nostdin -loglevel info -rtsp_transport "$2" \
		-i "rtsp://$(lab_hostport "${4:-$LAB_VIP}" 8554)/test" -t "${3:-3}" -map 0 -c copy -f null -
}

# lab_gst_play NAME udp|tcp SECONDS: gst-launch's RTSP client (rtspsrc, -e) in the
# background, stopped with ONE SIGINT SECONDS after its PLAY was answered: it then logs
# EOS, sends PAUSE and TEARDOWN, and exits 0. Not `timeout -s INT`: that signals the
# client twice (its PID, then its process group), and gst-launch, whose handler is gone
# after the first SIGINT, dies of the second (130) before the EOS and the TEARDOWN. A
# stopper (log NAME-stop) sends the one SIGINT through `timeout --foreground`, which
# passes it on once and kills the client 5 s later if it hangs. The User-Agent carries
# NAME, so that lab_gst_verdict finds the client's connection in the captures.
# LAB_BGPID is the client's PID (exit status: the client's own).
lab_gst_play() {
	local name=$1 secs=${3:-4} pid
	lab_bg "$name" cli timeout --foreground -k 5 $((secs + 25)) gst-launch-1.0 -e rtspsrc \
		location="rtsp://$LAB_VIP:8554/test" protocols="$2" user-agent="GStreamer/{VERSION} (sara-lab $name)" \
		name=s s. ! queue ! fakesink s. ! queue ! fakesink
	pid=$LAB_BGPID
	# shellcheck disable=SC2016
	lab_bg "$name-stop" - bash -c 'pid=$1 log=$2 secs=$3
		for ((i = 0; i < 200; i++)); do
			grep -q "Sent PLAY request" "$log" && break
			kill -0 "$pid" 2>/dev/null || exit 0
			sleep 0.1
		done
		grep -q "Sent PLAY request" "$log" || echo "no PLAY reply after 20 s"
		sleep "$secs"
		echo "SIGINT at $(date +%T.%N)"
		kill -INT "$pid"' stop "$pid" "$LAB_RUN/logs/$name.log" "$secs"
	LAB_BGPID=$pid
}

# lab_gst_verdict NAME EXIT: whether a gst client of lab_gst_play ended as it should,
# from its log, the client's capture (cap/cli.pcap) and the servers' (after
# lab_cap_stop). It counts (0) when it logged EOS, exited 0 (or 1: an error while
# stopping after the EOS, printed), and either a server captured its TEARDOWN, or the
# client's capture shows it never sent one (reported as such). It fails (1) without
# EOS, on a death by signal, or when the client sent a TEARDOWN that no server saw.
# Prints one line saying which.
lab_gst_verdict() {
	local name=$1 st=$2 log=$LAB_RUN/logs/$1.log cap=$LAB_RUN/cap/cli.pcap eos=0 port sent=0 seen= s n
	local cli=${LAB_CLI_IPS[0]} tsh=(timeout 60 tshark -n -d tcp.port==8554,rtsp)
	grep -q 'Got EOS from element' "$log" && eos=1
	port=$("${tsh[@]}" -r "$cap" -Y "tcp.dstport == 8554 && frame contains \"(sara-lab $name)\"" \
		-T fields -e tcp.srcport 2>/dev/null | sort -u)
	if [ -z "$port" ] || [ "$(printf '%s\n' "$port" | wc -l)" -ne 1 ]; then
		echo "$name: exit $st, EOS $eos, RTSP connection not found in the client capture (ports: ${port:-none})"
		return 1
	fi
	sent=$("${tsh[@]}" -r "$cap" -Y "ip.src == $cli && tcp.srcport == $port && rtsp.method == \"TEARDOWN\"" \
		-T fields -e frame.number 2>/dev/null | wc -l)
	for s in "${LAB_SERVERS[@]}"; do
		n=$("${tsh[@]}" -r "$LAB_RUN/cap/$s.pcap" \
			-Y "ip.src == $cli && tcp.srcport == $port && rtsp.method == \"TEARDOWN\"" \
			-T fields -e frame.number 2>/dev/null | wc -l)
		[ "$n" -gt 0 ] && seen="$seen $s"
	done
	local what="exit $st, EOS $eos, port $port, TEARDOWN sent $sent, seen by${seen:- no server}" note=
	# exit 1 after the EOS: an error while going to NULL, e.g. its PAUSE, sent after its
	# own TEARDOWN and close, failing ("Could not send message"); a signal is never fine
	if [ "$eos" -ne 1 ] || { [ "$st" -ne 0 ] && [ "$st" -ne 1 ]; }; then
		echo "$name: $what: FAILED (no EOS, or killed; stopper: $(tail -1 "$LAB_RUN/logs/$name-stop.log" 2>/dev/null))"
		return 1
	fi
	[ "$st" -eq 1 ] && note=" (gst's error after its EOS, while stopping: $(sed -n '/^Setting pipeline to NULL/,$p' "$log" |
		grep -m1 -o '[a-z_]*\.c([0-9]*): [a-z_]* ()' ) $(sed -n '/^Setting pipeline to NULL/,$p' "$log" |
		grep -m1 -o 'Could not send message.*'))"
	if [ "$sent" -gt 0 ] && [ -z "$seen" ]; then
		echo "$name: $what: FAILED (the TEARDOWN did not reach a server)"
		return 1
	fi
	if [ "$sent" -eq 0 ]; then
		echo "$name: $what: ok, the client closed without a TEARDOWN (its capture shows none sent)$note"
		return 0
	fi
	echo "$name: $what: ok$note"
}

# ---------------------------------------------------------------- reports
# lab_server_sessions S: "sip_calls rtsp_sessions" seen in server S's capture
# (distinct INVITE Call-IDs; RTSP control connections carrying a SETUP)
lab_server_sessions() {
	local f=$LAB_RUN/cap/$1.pcap
	[ -s "$f" ] || { echo "0 0"; return 0; }
	timeout 60 tshark -n -r "$f" -d tcp.port==8554,rtsp \
		-Y '(sip.Method == "INVITE" && ip.dst == '"$LAB_VIP"') || rtsp.method == "SETUP"' \
		-T fields -E separator='|' -e sip.Call-ID -e tcp.stream -e rtsp.method 2>/dev/null |
		awk -F'|' '$1 != "" { sip[$1] = 1 } $3 ~ /SETUP/ { rtsp[$2] = 1 }
			END { ns = 0; nr = 0; for (k in sip) ns++; for (k in rtsp) nr++; print ns, nr }'
}

# lab_flow_servers: per inbound (client -> VIP) media flow of every capture, which servers'
# captures hold it; prints "l4 src dst packets servers" lines, one per flow and server set.
# Signalling flows (ports 5060, 8554) are skipped: one UDP signalling flow legitimately
# carries calls of several servers.
lab_flow_servers() {
	local s
	for s in "${LAB_SERVERS[@]}"; do
		[ -s "$LAB_RUN/cap/$s.pcap" ] || continue
		timeout 60 tshark -n -r "$LAB_RUN/cap/$s.pcap" -Y "ip.dst == $LAB_VIP && udp" \
			-T fields -e ip.src -e udp.srcport -e udp.dstport 2>/dev/null |
			awk -v s="$s" '$3 != 5060 { print "udp " $1 ":" $2 " -> '"$LAB_VIP"':" $3, s }'
	done | sort | uniq -c | awk '{ k = $2 " " $3 " " $4 " " $5; n[k] += $1; sv[k] = sv[k] (sv[k] ? "," : "") $6 }
		END { for (k in n) print k, n[k], sv[k] }' | sort
}

# lab_observed_check [--json]: sara-replay over the servers' captures with --observed;
# prints its output into $LAB_RUN/observed.json and returns its status (2 = unavailable).
lab_observed_check() {
	local replay args=() s rc=0
	replay=$(lab_bin sara-replay)
	[ -n "$replay" ] || return 2
	grep -q -- '--observed' <<<"$("$replay" --help 2>&1)" || return 2
	for s in "${LAB_SERVERS[@]}"; do args+=(--observed "$s=$LAB_RUN/cap/$s.pcap"); done
	timeout 60 "$replay" -c "$LAB_CFG" "${args[@]}" --check --json >"$LAB_RUN/observed.json" \
		2>"$LAB_RUN/logs/observed.err" || rc=$?
	return "$rc"
}

# lab_queue_counters: "queued dropped" for queue 0 in the dispatcher namespace
lab_queue_counters() {
	lab_in dsp awk '$1 == 0 { q = $8; d = $6 + $7 } END { print q + 0, d + 0 }' \
		/proc/net/netfilter/nfnetlink_queue 2>/dev/null || echo "0 0"
}

# lab_sara_rule_counts: packets per rule of the dispatcher's SARA chain ("pkts target rest")
# ("PACKETS TARGET MATCHES...", one line per rule, in order)
# [XT]: iptables (default) or ip6tables
lab_sara_rule_counts() {
	lab_in dsp "${1:-iptables}" -t mangle -L SARA -n -v -x 2>/dev/null |
		awk 'NR > 2 { m = ""; for (i = 10; i <= NF; i++) m = m " " $i; print $1, $3 " " $4 m }'
}

# lab_sarad_status: sarad's counters (sara-ctl status, else the control socket directly)
lab_sarad_status() {
	local ctl sock
	ctl=$(lab_bin sara-ctl)
	if [ -n "$ctl" ] && lab_prog_works "$ctl" && timeout 5 "$ctl" -c "$LAB_CFG" status "$@" 2>&1; then
		return 0
	fi
	sock=$(sed -n 's/.*socket *= *"\([^"]*\)".*/\1/p' "$LAB_CFG")
	[ -S "$sock" ] || { echo "(no control socket at $sock)"; return 1; }
	timeout 5 /usr/bin/python3 - "$sock" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(3)
s.connect(sys.argv[1])
s.sendall(b"status\n")
out = b""
try:
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
except socket.timeout:
    pass
sys.stdout.write(out.decode("utf-8", "replace"))
EOF
}

# ---------------------------------------------------------------- e2e test helpers
# A test sets LAB_PREFIX=sara-e2e-NAME- before sourcing this file, then calls e2e_setup.
E2E_RC=0
e2e_fail() { echo "FAIL: $*"; E2E_RC=1; }
e2e_ok() { echo "ok: $*"; }

# e2e_cleanup: the EXIT trap of a test. Stops what the test started, then checks that
# nothing is left: no process inside its namespaces, no namespace, no started PID.
e2e_cleanup() {
	local rc=$? ns p left=
	set +e
	trap - EXIT INT TERM
	lab_stop_all 30
	for ns in $(lab_all_ns); do
		[ "$LAB_CREATED" = 1 ] || break
		lab_ns_exists "$ns" || continue
		for p in $(ip netns pids "$ns" 2>/dev/null); do
			left="$left $p($(cat "/proc/$p/comm" 2>/dev/null))"
			kill -KILL "$p" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null
	done
	[ -n "$left" ] && { echo "FAIL: processes left in the lab namespaces:$left"; [ "$rc" -eq 0 ] && rc=1; }
	left=$(lab_leftovers | tr '\n' ' ')
	[ -n "$left" ] && { echo "FAIL: left behind: $left"; [ "$rc" -eq 0 ] && rc=1; }
	if [ -n "$LAB_RUN" ] && [ -d "$LAB_RUN" ]; then
		if [ "${LAB_KEEP:-0}" = 1 ] || { [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ "${LAB_KEEP_FAILED:-0}" = 1 ]; }; then
			echo "run dir kept: $LAB_RUN"
		else
			rm -rf "$LAB_RUN"
		fi
	fi
	exit "$rc"
}

# e2e_setup: environment check (77 when impossible), the lab, its rules, sarad and sara-gw.
# A sarad or sara-gw that is not built or does not start fails the test (exit 1): a skip
# would hide the daemon's own failure. E2E_ALLOW_NO_SARAD=1 runs on without them (to
# develop the harness).
e2e_setup() {
	local why
	why=$(lab_check_env) || { rc=$?; echo "$([ $rc -eq 77 ] && echo skip || echo FAIL): $why"; exit $rc; }
	trap e2e_cleanup EXIT
	trap 'exit 130' INT TERM
	lab_init
	lab_up || { e2e_fail "lab topology"; exit 1; }
	lab_config
	# a test's own config sections (agents, admission...), appended; a one-line group
	# of the template it names again (selection, queue...) is replaced by its own
	local key
	for key in $(printf '%s\n' "${E2E_CFG_EXTRA:-}" | sed -n 's/^\([a-z_]*\) *=.*/\1/p'); do
		sed -i "/^$key *= *{.*};/d" "$LAB_CFG"
	done
	[ -n "${E2E_CFG_EXTRA:-}" ] && printf '%s\n' "$E2E_CFG_EXTRA" >>"$LAB_CFG"
	# and a test's edits of the template's lines (sed expressions)
	[ -n "${E2E_CFG_SED:-}" ] && sed -i -e "$E2E_CFG_SED" "$LAB_CFG"
	lab_rules || { e2e_fail "dispatcher/gateway rules"; exit 1; }
	E2E_SARAD=1
	if ! lab_start_sarad "${1:-110}"; then
		if [ "${E2E_ALLOW_NO_SARAD:-0}" = 1 ]; then
			echo "warning: running WITHOUT sarad (E2E_ALLOW_NO_SARAD=1)"; E2E_SARAD=0
		else
			e2e_fail "sarad is not built or does not start"
			[ -s "$LAB_RUN/logs/sarad.log" ] && tail -5 "$LAB_RUN/logs/sarad.log"
			exit 1
		fi
	fi
	if ! lab_start_gw "${1:-110}"; then
		if [ "${E2E_ALLOW_NO_SARAD:-0}" = 1 ]; then
			echo "warning: running WITHOUT sara-gw"
		else
			e2e_fail "sara-gw is not built or does not start"
			[ -s "$LAB_RUN/logs/sara-gw.log" ] && tail -5 "$LAB_RUN/logs/sara-gw.log"
			exit 1
		fi
	fi
}

# e2e_cap_client_start: tcpdump on the client's interface too (RTP arriving at clients)
e2e_cap_client_start() {
	lab_bg tcpdump-cli cli timeout "${1:-110}" tcpdump -i c0 --immediate-mode -U -n -s 0 -Z root \
		-w "$LAB_RUN/cap/cli.pcap" 'not arp'
	LAB_CAP_PIDS+=("$LAB_BGPID")
	local i
	for ((i = 0; i < 50; i++)); do
		grep -q 'listening on' "$LAB_RUN/logs/tcpdump-cli.log" 2>/dev/null && return 0
		sleep 0.1
	done
	lab_die "tcpdump in cli did not start"
}

# e2e_count PCAP FILTER: packets of a capture matching a display filter
e2e_count() {
	[ -s "$1" ] || { echo 0; return 0; }
	timeout 60 tshark -n -r "$1" -Y "$2" -T fields -e frame.number 2>/dev/null | wc -l
}

# e2e_observed EXPECTED_SESSIONS [MIN_SERVERS]: sara-replay --observed --check over the
# servers' captures: EXPECTED sessions, all intact, no unpredicted media, sessions on at
# least MIN_SERVERS (default 3) servers. Sets E2E_MEDIA_FLOWS.
E2E_MEDIA_FLOWS=0
e2e_observed() {
	local want=$1 min_servers=${2:-3} orc=0 out
	lab_observed_check || orc=$?
	if [ "$orc" -eq 2 ]; then e2e_fail "sara-replay --observed is not available"; return 1; fi
	out=$(/usr/bin/python3 - "$LAB_RUN/observed.json" "$want" "$min_servers" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
want, min_servers = int(sys.argv[2]), int(sys.argv[3])
s = d["summary"]
used = {x["server"] for x in d["sessions"] if x.get("server")}
for x in d["sessions"]:
    servers = sorted({v for f in x["flows"] for v in f["servers"] if v})
    print("  session %s %s server %s packets at %s %s" % (x["proto"], x["key"], x.get("server"),
          ",".join(servers) or "-", "intact" if x["intact"] else "SPLIT"))
for f in d.get("unassigned_flows", []):
    print("  unassigned %s %s -> %s packets %d at %s" % (f["l4"], f["src"], f["dst"], f["packets"],
          ",".join(v or "none" for v in f["servers"])))
print("SUMMARY sessions %d intact %d split %d media_flows %d predicted %d unpredicted %d servers %d unassigned %d"
      % (s["sessions"], s["intact"], s["split"], s["media_flows"], s["predicted"], s["unpredicted"],
         len(used), len(d.get("unassigned_flows", []))))
PY
) || { e2e_fail "cannot read sara-replay's JSON"; return 1; }
	printf '%s\n' "$out" | grep -v '^SUMMARY'
	local sessions intact split media predicted unpred servers unassigned
	read -r sessions intact split media predicted unpred servers unassigned < <(printf '%s\n' "$out" |
		awk '/^SUMMARY/ { print $3, $5, $7, $9, $11, $13, $15, $17 }')
	E2E_MEDIA_FLOWS=$((media + unassigned))
	echo "observed: sessions $sessions intact $intact split $split; media flows $media predicted $predicted unpredicted $unpred; servers used $servers; unassigned flows $unassigned"
	[ "$sessions" -eq "$want" ] || e2e_fail "sessions seen by the servers: $sessions, want $want"
	[ "$split" -eq 0 ] && [ "$intact" -eq "$sessions" ] || e2e_fail "$split sessions split over servers"
	[ "$unpred" -eq 0 ] || e2e_fail "$unpred unpredicted media flows"
	[ "$servers" -ge "$min_servers" ] || e2e_fail "sessions on $servers servers, want >= $min_servers"
	[ "$orc" -eq 0 ] || e2e_fail "sara-replay --check exit $orc"
	return 0
}

# e2e_crossings MAX_PER_FLOW [MIN_FAST]: non-signalling packets that crossed into user space
# (the SARA chain's final NFQUEUE rule) at most MAX_PER_FLOW per media flow; the connmark
# fast path (RETURN rule) carried the rest, at least MIN_FAST packets (default 1; 0 where
# clients send little, e.g. RTSP players: RTCP reports only).
e2e_crossings() {
	local max=$1 min_fast=${2:-1} counts counts6= queued fast q qd
	counts=$(lab_sara_rule_counts)
	echo "dispatcher chain SARA (packets per rule):"
	printf '%s\n' "$counts" | sed 's/^/  /'
	if [ "$LAB_IPV6" = 1 ]; then
		counts6=$(lab_sara_rule_counts ip6tables)
		echo "dispatcher chain SARA, ip6tables (packets per rule):"
		printf '%s\n' "$counts6" | sed 's/^/  /'
		counts=$(printf '%s\n%s\n' "$counts" "$counts6")
	fi
	read -r q qd < <(lab_queue_counters)
	echo "kernel queue 0: $q packets queued, $qd dropped"
	echo "sarad status:"; lab_sarad_status 2>&1 | sed 's/^/  /' | head -60
	# one RETURN rule and one final NFQUEUE rule per chain (per family)
	fast=$(printf '%s\n' "$counts" | awk '$2 == "RETURN" { n += $1; seen = 1 } END { if (seen) print n }')
	queued=$(printf '%s\n' "$counts" | awk '$2 == "NFQUEUE" && $0 !~ /multiport|dports|dpt:/ { n += $1 } END { print n + 0 }')
	if [ -z "$fast" ]; then e2e_fail "no SARA chain with a RETURN rule in the dispatcher"; return 1; fi
	echo "media packets: $queued crossed into user space, $fast stayed in the kernel; media flows $E2E_MEDIA_FLOWS"
	[ "$fast" -ge "$min_fast" ] || e2e_fail "$fast media packets took the kernel fast path, want >= $min_fast"
	[ "$queued" -le $((max * (E2E_MEDIA_FLOWS > 0 ? E2E_MEDIA_FLOWS : 1))) ] ||
		e2e_fail "$queued media packets crossed into user space for $E2E_MEDIA_FLOWS flows (max $max per flow)"
	[ "$qd" -eq 0 ] || e2e_fail "the kernel queue dropped $qd packets"
	return 0
}

# e2e_wait_clients NAME=PID...: bounded wait; prints each client's exit status into E2E_ST[NAME]
declare -A E2E_ST
e2e_wait() {
	local arg name pid
	for arg in "$@"; do
		name=${arg%%=*}; pid=${arg#*=}
		lab_wait_exit "$pid" "${E2E_WAIT_TENTHS:-450}" || { echo "$name still running, stopping it"; lab_stop TERM "$pid"; }
		E2E_ST[$name]=$(lab_rc "$pid")
	done
}
