# ha_lib.sh - the lab with several active dispatchers (docs/high-availability.md):
# a router running BIRD with ECMP and BFD, dispatchers d1..dN (HA_DISPATCHER_COUNT,
# 2 by default, set before sourcing) each running sarad, BIRD, conntrackd and
# sara-ha-check, the gateway (or, with HA_GATEWAY_COUNT=2, gateways gw1 and
# gw2 under keepalived VRRP, each watching its own sara-gw through
# gateway.metrics on its loopback), three servers and clients on many addresses.
# HA_CT_RESYNC_S sets ha.sync_resync_s (conntrackd's bulk resend among three
# or more, ha_start_resync). HA_SELECTION (hash by default) is selection.algorithm; HA_SESSION_STORE=redis
# turns on session replication, with a redis-server in each dispatcher;
# HA_REDIS_PASSWORD (default none) makes every store require it, given to
# sarad through ha.redis_password_file.
# Sourced after tests/netns/lib.sh, whose helpers (processes, captures, servers,
# clients, checks) it reuses; bash only.
#
# Addressing (IPv4):
#   cli  c0 198.18.0.10-.(9+10N)/24                    default via 198.18.0.1
#   rtr  r0 198.18.0.1/24, r1 198.18.1.1/24 (router segment, bridge br1 in lan)
#        VIP by ECMP over the dispatchers' BGP routes; 198.18.2.0/24 via gw
#   dN   up0 198.18.1.(1+N)/24, lan0 198.18.2.N/24 (server LAN)  default via 198.18.1.1
#   gw   g0 198.18.1.254/24, g1 198.18.2.254/24                default via 198.18.1.1
#   gwN  g0 198.18.1.(251+N)/24, g1 198.18.2.(251+N)/24; the VRRP master adds
#        198.18.1.254 and 198.18.2.254 (sara-ctl keepalived)  default via 198.18.1.1
#   lan  br1 (rtr, dN, gateways) and br0 (dN, gateways, s1..s3)
#   sN   eth0 198.18.2.1N/24, VIP on lo, default via 198.18.2.254 src VIP

HA_DISPATCHERS=()
for ((ha_i = 1; ha_i <= ${HA_DISPATCHER_COUNT:-2}; ha_i++)); do HA_DISPATCHERS+=("d$ha_i"); done
HA_CLI_IPS=()
# 10 client addresses per dispatcher: ECMP gives each a few
for ((ha_i = 10; ha_i < 10 + 10 * ${#HA_DISPATCHERS[@]}; ha_i++)); do HA_CLI_IPS+=("198.18.0.$ha_i"); done
HA_GATEWAYS=(gw)
[ "${HA_GATEWAY_COUNT:-1}" -eq 2 ] && HA_GATEWAYS=(gw1 gw2)
HA_GW_METRICS=127.0.0.1:9101   # gateway.metrics with two gateways: each one's own loopback
declare -A HA_SARAD_PID HA_CHECK_PID HA_BIRD_PID HA_CT_PID HA_RESYNC_PID HA_CFG HA_GW_PID HA_KEEPALIVED_PID HA_REDIS_PID

lab_all_ns() {
	local n
	for n in cli rtr "${HA_DISPATCHERS[@]}" "${HA_GATEWAYS[@]}" lan "${LAB_SERVERS[@]}"; do lab_ns "$n"; echo; done
}

ha_up() {
	local n ns i
	lab_claim_prefix || return 1
	LAB_CREATED=1
	for n in cli rtr "${HA_DISPATCHERS[@]}" "${HA_GATEWAYS[@]}" lan "${LAB_SERVERS[@]}"; do
		ns=$(lab_ns "$n")
		ip netns add "$ns" || return 1
		lab_sysctl "$n" net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
		lab_sysctl "$n" net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
		lab_sysctl "$n" net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.default.send_redirects=0
		ip -n "$ns" link set lo up
	done
	# no multicast snooping: conntrackd's group (3 or more dispatchers) reaches every port
	ip -n "$(lab_ns lan)" link add br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0
	ip -n "$(lab_ns lan)" link add br1 type bridge stp_state 0 forward_delay 0
	lab_veth cli c0 rtr r0
	lab_veth rtr r1 lan pr
	# router side "a", server side "b": dN up0/lan0, gateways g0/g1
	for n in "${HA_GATEWAYS[@]}"; do lab_veth "$n" g0 lan "p${n}a"; lab_veth "$n" g1 lan "p${n}b"; done
	for n in "${HA_DISPATCHERS[@]}"; do lab_veth "$n" up0 lan "p${n}a"; lab_veth "$n" lan0 lan "p${n}b"; done
	for n in "${LAB_SERVERS[@]}"; do lab_veth "$n" eth0 lan "p$n"; done
	for n in pr "${HA_GATEWAYS[@]/%/a}" "${HA_DISPATCHERS[@]/%/a}"; do
		[ "$n" = pr ] || n=p$n
		ip -n "$(lab_ns lan)" link set "$n" master br1; lab_dev_up lan "$n"
	done
	for n in "${HA_GATEWAYS[@]/%/b}" "${HA_DISPATCHERS[@]/%/b}" "${LAB_SERVERS[@]}"; do
		ip -n "$(lab_ns lan)" link set "p$n" master br0; lab_dev_up lan "p$n"
	done
	ip -n "$(lab_ns lan)" link set br0 up
	ip -n "$(lab_ns lan)" link set br1 up

	for i in "${HA_CLI_IPS[@]}"; do ip -n "$(lab_ns cli)" addr add "$i/24" dev c0; done
	lab_dev_up cli c0
	ip -n "$(lab_ns cli)" route add default via 198.18.0.1
	ip -n "$(lab_ns rtr)" addr add 198.18.0.1/24 dev r0
	ip -n "$(lab_ns rtr)" addr add 198.18.1.1/24 dev r1
	lab_dev_up rtr r0; lab_dev_up rtr r1
	# ECMP hashes on addresses (L3): a client's flows meet one dispatcher
	lab_sysctl rtr net.ipv4.ip_forward=1 net.ipv4.fib_multipath_hash_policy=0
	ip -n "$(lab_ns rtr)" route add 198.18.2.0/24 via 198.18.1.254
	i=0
	for n in "${HA_DISPATCHERS[@]}"; do
		i=$((i + 1))
		ip -n "$(lab_ns "$n")" addr add "198.18.1.$((1 + i))/24" dev up0
		ip -n "$(lab_ns "$n")" addr add "198.18.2.$i/24" dev lan0
		lab_dev_up "$n" up0; lab_dev_up "$n" lan0
		lab_sysctl "$n" net.ipv4.ip_forward=1
		ip -n "$(lab_ns "$n")" route add default via 198.18.1.1
		# VIP packets no rule places are dropped, never bounced to the router
		ip -n "$(lab_ns "$n")" route add blackhole "$LAB_VIP/32"
	done
	i=0
	for n in "${HA_GATEWAYS[@]}"; do
		i=$((i + 1)); ha_i=$((251 + i))
		[ "$n" = gw ] && ha_i=254
		ip -n "$(lab_ns "$n")" addr add "198.18.1.$ha_i/24" dev g0
		ip -n "$(lab_ns "$n")" addr add "198.18.2.$ha_i/24" dev g1
		lab_dev_up "$n" g0; lab_dev_up "$n" g1
		lab_sysctl "$n" net.ipv4.ip_forward=1
		ip -n "$(lab_ns "$n")" route add default via 198.18.1.1
	done
	for ((i = 0; i < ${#LAB_SERVERS[@]}; i++)); do
		n=${LAB_SERVERS[i]}
		lab_sysctl "$n" net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
		ip -n "$(lab_ns "$n")" addr add "$LAB_VIP/32" dev lo
		ip -n "$(lab_ns "$n")" addr add "${LAB_SERVER_IPS[i]}/24" dev eth0
		lab_dev_up "$n" eth0
		ip -n "$(lab_ns "$n")" route add default via 198.18.2.254 src "$LAB_VIP"
	done
}

# ha_config: one config per dispatcher (HA_CFG[dN]) and the key; LAB_CFG is d1's
ha_config() {
	local n i list="" vrrp="" store="" gw_metrics=""
	for ((i = 1; i <= ${#HA_DISPATCHERS[@]}; i++)); do list="$list${list:+, }\"198.18.2.$i\""; done
	[ "${HA_SESSION_STORE:-off}" = redis ] && store='session_store = "redis"; redis_port = 6379;'
	if [ "${HA_SESSION_STORE:-off}" = redis ] && [ -n "${HA_REDIS_PASSWORD:-}" ]; then
		(umask 077 && printf '%s\n' "$HA_REDIS_PASSWORD" >"$LAB_RUN/redis.pass") || return 1
		store="$store redis_password_file = \"$LAB_RUN/redis.pass\";"
	fi
	[ "${#HA_GATEWAYS[@]}" -eq 2 ] &&
		vrrp='gateways = [ "198.18.2.252", "198.18.2.253" ]; vrrp_addresses = [ "198.18.2.254", "198.18.1.254" ];'
	# keepalived watches each gateway's sara-gw there (sara-ctl gw-check)
	[ "${#HA_GATEWAYS[@]}" -eq 2 ] && gw_metrics="metrics = \"$HA_GW_METRICS\";"
	for n in "${HA_DISPATCHERS[@]}"; do
		mkdir -p "$LAB_RUN/$n"
		HA_CFG[$n]=$LAB_RUN/$n/cluster.cfg
		sed -e "s|@NAME@|${LAB_PREFIX%-}|g" -e "s|@RUN@|$LAB_RUN|g" -e "s|@DSP@|$n|g" \
			-e "s|@DISPATCHERS@|$list|g" -e "s|@VRRP@|$vrrp|g" -e "s|@GW_METRICS@|$gw_metrics|g" \
			-e "s|@SELECTION@|${HA_SELECTION:-hash}|g" \
			-e "s|@RESYNC@|${HA_CT_RESYNC_S:+sync_resync_s = $HA_CT_RESYNC_S;}|g" \
			-e "s|@STORE@|$store|g" "$LAB_DIR/ha-cluster.cfg.in" >"${HA_CFG[$n]}"
	done
	LAB_CFG=${HA_CFG[d1]}
	"$(lab_bin sara-ctl)" -c "$LAB_CFG" keygen >"$LAB_RUN/logs/keygen.log" 2>&1 || return 1
	chmod 600 "$LAB_RUN/cluster.key"
}

ha_router_bird() {
	local n i=0
	{
		echo "router id 198.18.1.1;"
		echo "protocol device { }"
		echo "protocol kernel { ipv4 { import none; export all; }; merge paths on; }"
		echo 'protocol bfd { interface "*" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; }; }'
		for n in "${HA_DISPATCHERS[@]}"; do
			i=$((i + 1))
			echo "protocol bgp $n { local as 65000; neighbor 198.18.1.$((1 + i)) as 65001; bfd on;"
			echo "  connect delay time 1; connect retry time 2; ipv4 { import all; export none; }; }"
		done
	} >"$LAB_RUN/rtr-bird.conf"
}

# ha_start_bird NS CONF: BIRD in the foreground, its socket at $LAB_RUN/NS/bird.ctl
ha_start_bird() {
	local ns=$1 conf=$2
	mkdir -p "$LAB_RUN/$ns"
	bird -p -c "$conf" >"$LAB_RUN/logs/bird-$ns.parse" 2>&1 || { lab_die "BIRD rejects $conf"; return 1; }
	lab_bg "bird-$ns" "$ns" bird -f -c "$conf" -s "$LAB_RUN/$ns/bird.ctl" -P "$LAB_RUN/$ns/bird.pid"
	HA_BIRD_PID[$ns]=$LAB_BGPID
}

ha_birdc() { local ns=$1; shift; birdc -s "$LAB_RUN/$ns/bird.ctl" "$@"; }

# ha_start_sarad dN: sarad in dN, ready when queue 0 is bound there
ha_start_sarad() {
	local n=$1 i bin
	bin=$(lab_bin sarad)
	[ -n "$bin" ] || { lab_die "sarad is not built"; return 1; }
	lab_bg "sarad-$n" "$n" "$bin" -c "${HA_CFG[$n]}" --foreground
	HA_SARAD_PID[$n]=$LAB_BGPID
	for ((i = 0; i < 50; i++)); do
		lab_alive "${HA_SARAD_PID[$n]}" || { lab_die "sarad in $n exited: $(tail -3 "$LAB_RUN/logs/sarad-$n.log")"; return 1; }
		lab_in "$n" awk '$1 == 0 && $2 != 0 { ok = 1 } END { exit !ok }' /proc/net/netfilter/nfnetlink_queue 2>/dev/null &&
			return 0
		sleep 0.1
	done
	lab_die "sarad in $n did not bind queue 0 in 5 s"
}

# ha_start_redis dN: dN's session store, on its ha.dispatchers address (and
# loopback), nothing saved to disk; ready when it answers
ha_start_redis() {
	local n=$1 addr i
	addr=198.18.2.${n#d}
	mkdir -p "$LAB_RUN/$n"
	lab_bg "redis-$n" "$n" redis-server --bind "$addr" 127.0.0.1 --port 6379 --save "" --appendonly no \
		--dir "$LAB_RUN/$n" --protected-mode no ${HA_REDIS_PASSWORD:+--requirepass "$HA_REDIS_PASSWORD"}
	HA_REDIS_PID[$n]=$LAB_BGPID
	for ((i = 0; i < 50; i++)); do
		lab_in "$n" env REDISCLI_AUTH="${HA_REDIS_PASSWORD:-}" redis-cli -h "$addr" ping 2>/dev/null | grep -q PONG &&
			return 0
		lab_alive "${HA_REDIS_PID[$n]}" || break
		sleep 0.1
	done
	lab_die "redis-server in $n does not answer: $(tail -2 "$LAB_RUN/logs/redis-$n.log")"
}

# ha_redis dN ARGS...: redis-cli against dN's store
ha_redis() { local n=$1; shift; lab_in "$n" env REDISCLI_AUTH="${HA_REDIS_PASSWORD:-}" redis-cli -h "198.18.2.${n#d}" "$@"; }

# ha_dispatcher dN: rules, conntrackd, BIRD, (redis,) sarad, the health check
ha_dispatcher() {
	local n=$1 ctl self
	ctl=$(lab_bin sara-ctl)
	self=$(ip -n "$(lab_ns "$n")" -4 -o addr show dev lan0 | awk '{ sub("/.*", "", $4); print $4 }')
	lab_in "$n" "$ctl" -c "${HA_CFG[$n]}" rules --apply >"$LAB_RUN/logs/rules-$n.log" 2>&1 ||
		{ lab_die "sara-ctl rules --apply in $n"; return 1; }
	# sara-ctl finds its own address among ha.dispatchers
	lab_in "$n" "$ctl" -c "${HA_CFG[$n]}" conntrackd >"$LAB_RUN/$n/conntrackd.conf" 2>"$LAB_RUN/logs/ctgen-$n.log" ||
		{ lab_die "sara-ctl conntrackd in $n: $(cat "$LAB_RUN/logs/ctgen-$n.log")"; return 1; }
	lab_in "$n" "$ctl" -c "${HA_CFG[$n]}" bird --self "$self" >"$LAB_RUN/$n/bird.conf" 2>"$LAB_RUN/logs/birdgen-$n.log" ||
		{ lab_die "sara-ctl bird in $n: $(cat "$LAB_RUN/logs/birdgen-$n.log")"; return 1; }
	# HA_CT_SED: an experiment's edit of the generated conntrackd configuration
	[ -z "${HA_CT_SED:-}" ] || sed -i -e "$HA_CT_SED" "$LAB_RUN/$n/conntrackd.conf"
	lab_bg "conntrackd-$n" "$n" conntrackd -C "$LAB_RUN/$n/conntrackd.conf"
	HA_CT_PID[$n]=$LAB_BGPID
	ha_wait_conntrackd "$n" || return 1
	ha_start_resync "$n" || return 1
	ha_start_bird "$n" "$LAB_RUN/$n/bird.conf" || return 1
	if [ "${HA_SESSION_STORE:-off}" = redis ]; then ha_start_redis "$n" || return 1; fi
	ha_start_sarad "$n" || return 1
	ha_start_check "$n"
}

# ha_wait_conntrackd dN: bounded wait until conntrackd answers on its socket
ha_wait_conntrackd() {
	local n=$1 i
	for ((i = 0; i < 50; i++)); do
		lab_alive "${HA_CT_PID[$n]}" || { lab_die "conntrackd in $n exited: $(tail -2 "$LAB_RUN/logs/conntrackd-$n.log")"; return 1; }
		lab_in "$n" conntrackd -C "$LAB_RUN/$n/conntrackd.conf" -s >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	lab_die "conntrackd in $n does not answer"
}

# ha_start_resync dN: with 3 or more dispatchers, what systemd does on a
# dispatcher with the timer of `sara-ctl conntrackd-timer` and
# sara-conntrackd-resync.service: conntrackd -B every OnUnitActiveSec, the
# first one that long after the start (no timer when ha.sync_resync_s is 0;
# HA_CT_RESYNC=off: none, as before the timer existed)
ha_start_resync() {
	local n=$1 period
	[ "${#HA_DISPATCHERS[@]}" -ge 3 ] && [ "${HA_CT_RESYNC:-on}" != off ] || return 0
	lab_in "$n" "$(lab_bin sara-ctl)" -c "${HA_CFG[$n]}" conntrackd-timer >"$LAB_RUN/$n/sara-conntrackd-resync.timer" \
		2>"$LAB_RUN/logs/timergen-$n.log" || return 0
	period=$(sed -n 's/^OnUnitActiveSec=\([0-9]*\)s$/\1/p' "$LAB_RUN/$n/sara-conntrackd-resync.timer")
	[ -n "$period" ] || { lab_die "no OnUnitActiveSec in $n's conntrackd timer"; return 1; }
	# bounded; the sleep is waited for so that a SIGTERM leaves nothing behind
	# shellcheck disable=SC2016
	lab_bg "ct-resync-$n" "$n" bash -c 'trap "kill \$s 2>/dev/null; exit 0" TERM
		for ((i = 0; i < 1000; i++)); do
			sleep "$1" & s=$!; wait "$s"
			echo "$(date +%T.%N | cut -c1-12) conntrackd -B"; conntrackd -C "$2" -B
		done' ct-resync "$period" "$LAB_RUN/$n/conntrackd.conf"
	HA_RESYNC_PID[$n]=$LAB_BGPID
}

ha_start_check() {
	local n=$1
	lab_bg "ha-check-$n" "$n" "$LAB_ROOT/conf/ha/sara-ha-check" -c "${HA_CFG[$n]}" -s "$LAB_RUN/$n/bird.ctl" \
		-i 0.05 -x "$(lab_bin sara-ctl)"
	HA_CHECK_PID[$n]=$LAB_BGPID
}

# ha_start_gw GW ID: sara-gw in GW with sender id ID, ready when its queue is bound
ha_start_gw() {
	local g=$1 id=$2 bin q i
	bin=$(lab_bin sara-gw)
	[ -n "$bin" ] || { lab_die "sara-gw is not built"; return 1; }
	q=$(lab_in "$g" iptables-save -t mangle 2>/dev/null | grep -o -- '--queue-num [0-9]*' | head -1 | cut -d' ' -f2)
	[ -n "$q" ] || { lab_die "no gateway rule in $g"; return 1; }
	lab_bg "sara-gw-$g" "$g" "$bin" -c "$LAB_CFG" --queue "$q" --id "$id" --foreground
	HA_GW_PID[$g]=$LAB_BGPID
	for ((i = 0; i < 50; i++)); do
		lab_alive "${HA_GW_PID[$g]}" || { lab_die "sara-gw in $g exited: $(tail -3 "$LAB_RUN/logs/sara-gw-$g.log")"; return 1; }
		lab_in "$g" awk -v q="$q" '$1 == q && $2 != 0 { ok = 1 } END { exit !ok }' /proc/net/netfilter/nfnetlink_queue 2>/dev/null &&
			return 0
		sleep 0.1
	done
	lab_die "sara-gw in $g did not bind queue $q in 5 s"
}

# ha_start_keepalived GW: keepalived (VRRP only) in GW with what sara-ctl keepalived makes
# (HA_KA_SED: an experiment's edit of it, as HA_CT_SED for conntrackd)
ha_start_keepalived() {
	local g=$1
	mkdir -p "$LAB_RUN/$g"
	lab_in "$g" "$(lab_bin sara-ctl)" -c "$LAB_CFG" keepalived >"$LAB_RUN/$g/keepalived.conf" 2>"$LAB_RUN/logs/kagen-$g.log" ||
		{ lab_die "sara-ctl keepalived in $g: $(cat "$LAB_RUN/logs/kagen-$g.log")"; return 1; }
	[ -z "${HA_KA_SED:-}" ] || sed -i -e "$HA_KA_SED" "$LAB_RUN/$g/keepalived.conf"
	lab_in "$g" keepalived -t -f "$LAB_RUN/$g/keepalived.conf" >"$LAB_RUN/logs/keepalived-$g.parse" 2>&1 ||
		{ lab_die "keepalived rejects $LAB_RUN/$g/keepalived.conf: $(tail -3 "$LAB_RUN/logs/keepalived-$g.parse")"; return 1; }
	lab_bg "keepalived-$g" "$g" keepalived --vrrp --dont-fork --log-console --log-detail -f "$LAB_RUN/$g/keepalived.conf" \
		-p "$LAB_RUN/$g/keepalived.pid" -r "$LAB_RUN/$g/vrrp.pid"
	HA_KEEPALIVED_PID[$g]=$LAB_BGPID
}

# ha_vrrp_master: the gateway holding both shared addresses on links that are up
# ("none" when none holds both). A gateway whose links are down is dead to its
# neighbours whatever addresses it still lists: a keepalived killed with SIGKILL
# may or may not have removed them, depending on which of its processes died first.
ha_vrrp_master() {
	local g
	for g in "${HA_GATEWAYS[@]}"; do
		lab_in "$g" ip -4 -o addr show dev g1 up | grep -q ' 198\.18\.2\.254/' &&
			lab_in "$g" ip -4 -o addr show dev g0 up | grep -q ' 198\.18\.1\.254/' && { echo "$g"; return 0; }
	done
	echo none
}

# ha_wait_master GW TENTHS: bounded wait until GW alone holds the shared addresses
# (on links that are up, as ha_vrrp_master counts them)
ha_wait_master() {
	local want=$1 n=$2 i g holders=0
	for ((i = 0; i < n; i++)); do
		holders=0
		for g in "${HA_GATEWAYS[@]}"; do
			lab_in "$g" ip -4 -o addr show up 2>/dev/null | grep -q ' 198\.18\.[12]\.254/' && holders=$((holders + 1))
		done
		[ "$holders" -eq 1 ] && [ "$(ha_vrrp_master)" = "$want" ] && return 0
		sleep 0.1
	done
	for g in "${HA_GATEWAYS[@]}"; do
		echo "  $g: $(lab_in "$g" ip -4 -o addr show 2>/dev/null | grep ' 198\.18\.[12]\.254/' | awk '{ print $2, $4 }' | tr '\n' ' ')" \
			"links: $(lab_in "$g" ip -o link show 2>/dev/null | awk -F': ' '$2 ~ /^g[01]/ { split($2, n, "@"); print n[1] ($3 ~ /[<,]UP[,>]/ ? " up" : " down") }' | tr '\n' ' ')" >&2
	done
	lab_die "VRRP: $(ha_vrrp_master) holds the shared addresses ($holders gateways hold some on links that are up), want $want alone"
}

# ha_paths: how many next hops the router has for the VIP
ha_paths() {
	lab_in rtr ip route show "$LAB_VIP/32" 2>/dev/null | awk '/nexthop/ { n++ } /^198/ && /via/ { n = 1 } END { print n + 0 }'
}

# ha_wait_paths N TENTHS: bounded wait until the router has N next hops for the VIP
ha_wait_paths() {
	local want=$1 n=$2 i
	for ((i = 0; i < n; i++)); do
		[ "$(ha_paths)" -eq "$want" ] && return 0
		sleep 0.1
	done
	lab_die "the router has $(ha_paths) paths to the VIP, want $want: $(lab_in rtr ip route show "$LAB_VIP/32" | tr '\n' ' ')"
}

# ha_ct_media dN: dN's conntrack entries of media to the VIP with a connmark, one
# "src= sport= dport= mark=" line each, sorted
ha_ct_media() {
	lab_in "$1" conntrack -L -d "$LAB_VIP" -p udp 2>/dev/null | grep 'mark=[1-9]' | grep -v 'dport=5060 ' |
		awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^(src|sport|dport|mark)=/ && !seen[$i]++) printf "%s ", $i; print ""; delete seen }' | sort
}

# ha_ct_replication: how far conntrackd has replicated the media connmarks.
# Every dispatcher's media flows are read twice, 0.5 s apart; the flows
# decided anywhere are those some dispatcher holds in the first reading. Per
# dispatcher one line "dN HELD TOTAL": HELD of those TOTAL flows it holds with
# the same mark in either reading (the second one forgives a flow started just
# before the first, not yet copied). Then "conflicts N": flows held with two
# marks. Files ct-a-dN.txt and ct-b-dN.txt in $LAB_RUN.
ha_ct_replication() {
	local d r files=()
	for r in a b; do
		[ "$r" = a ] || sleep 0.5
		for d in "${HA_DISPATCHERS[@]}"; do ha_ct_media "$d" >"$LAB_RUN/ct-$r-$d.txt"; done
	done
	for d in "${HA_DISPATCHERS[@]}"; do files+=("$LAB_RUN/ct-a-$d.txt" "$LAB_RUN/ct-b-$d.txt"); done
	awk '
		{ n = split(FILENAME, p, "/"); split(p[n], f, /[-.]/); round = f[2]; dsp = f[3]
		  mark = ""; key = ""
		  for (i = 1; i <= NF; i++) if ($i ~ /^mark=/) mark = $i; else key = key " " $i
		  if (!(dsp in seen_dsp)) { seen_dsp[dsp] = 1; order[++ndsp] = dsp }
		  held[dsp, key, mark] = 1
		  if (round == "a") { if (!(key SUBSEP mark in marks)) { marks[key, mark] = 1; nmarks[key]++ }
		                      decided[key] = mark } }
		END {
			for (k in decided) { total++; if (nmarks[k] > 1) conflicts++ }
			for (j = 1; j <= ndsp; j++) {
				h = 0
				for (k in decided) if (nmarks[k] == 1 && ((order[j], k, decided[k]) in held)) h++
				printf "%s %d %d\n", order[j], h, total
			}
			printf "conflicts %d\n", conflicts
		}' "${files[@]}"
}

# ha_dispatcher_of CLIENT_IP: which dispatcher the router sends this client's VIP packets to
ha_dispatcher_of() {
	local via
	via=$(lab_in rtr ip route get "$LAB_VIP" from "$1" iif r0 2>/dev/null | grep -o 'via [0-9.]*' | cut -d' ' -f2)
	case $via in 198.18.1.[2-9]) echo "d$(( ${via##*.} - 1 ))" ;; *) echo none ;; esac
}

# ha_setup: the whole cluster up, every dispatcher announcing (exit 1 on failure)
ha_setup() {
	local why n i
	why=$(lab_check_env) || { rc=$?; echo "$([ $rc -eq 77 ] && echo skip || echo FAIL): $why"; exit $rc; }
	for n in bird birdc conntrackd ${HA_GATEWAYS[1]:+keepalived} \
		$([ "${HA_SESSION_STORE:-off}" = redis ] && echo redis-server redis-cli); do
		command -v "$n" >/dev/null 2>&1 || { echo "FAIL: $n not installed (make deps installs it)"; exit 1; }
	done
	trap e2e_cleanup EXIT
	trap 'exit 130' INT TERM
	lab_init
	ha_up || { e2e_fail "lab topology"; exit 1; }
	ha_config || { e2e_fail "configs"; exit 1; }
	ha_router_bird
	ha_start_bird rtr "$LAB_RUN/rtr-bird.conf" || { e2e_fail "router BIRD"; exit 1; }
	for n in "${HA_DISPATCHERS[@]}"; do ha_dispatcher "$n" || { e2e_fail "dispatcher $n"; exit 1; }; done
	i=0
	for n in "${HA_GATEWAYS[@]}"; do
		i=$((i + 1))
		lab_in "$n" "$(lab_bin sara-ctl)" -c "$LAB_CFG" rules --gateway --apply >"$LAB_RUN/logs/rules-$n.log" 2>&1 ||
			{ e2e_fail "gateway rules in $n"; exit 1; }
		# sara-gw first: keepalived's check finds it alive from its first run
		ha_start_gw "$n" "$i" || { e2e_fail "sara-gw in $n does not start"; exit 1; }
		[ "$n" = gw ] || ha_start_keepalived "$n" || { e2e_fail "keepalived in $n"; exit 1; }
	done
	[ "${HA_GATEWAYS[0]}" = gw ] || ha_wait_master gw1 50 || { e2e_fail "VRRP: gw1 is not the master"; exit 1; }
	ha_wait_paths "${#HA_DISPATCHERS[@]}" 150 || { e2e_fail "BGP: every dispatcher's route at the router"; exit 1; }
}
