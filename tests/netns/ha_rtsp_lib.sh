# ha_rtsp_lib.sh - the body of e2e_ha_rtsp.sh and e2e_ha_rtsp_replica.sh, sourced
# after they set LAB_PREFIX, HA_SELECTION and HA_SESSION_STORE: RTSP streams across a
# dispatcher failover. Two active dispatchers behind the lab's BGP router (ECMP, BFD;
# tests/lab/ha_lib.sh), conntrackd between them, and with HA_SESSION_STORE=redis
# session replication; scripted RTSP clients (tests/lab/rtsp-steps.py: SETUP of both
# streams, PLAY, RTP from the server, an RTCP report a second), four of each
# dispatcher, one of each kind:
#   stream       one connection throughout: PAUSE and PLAY after the kill, PAUSE,
#                PLAY and TEARDOWN after the return; media after every PLAY
#   interleaved  the same, its RTP and RTCP $-framed over its RTSP connection
#                (RTP/AVP/TCP): the survivor meets a connection busy with media,
#                whose first segment there is the client's ACK of it
#   reconnect    closes its connection and carries its session on over a second
#                one before the kill (its dispatcher sends that SYN to the
#                session's server, whatever the connection's hash): the survivor
#                meets the second connection mid-stream
#   resume       closes its connection before the kill and opens the next one
#                after it: the survivor meets its SYN
# With media flowing, the sarad of one dispatcher gets SIGKILL; its clients'
# requests go through the other; it starts again and takes them back. Every
# request must be answered 200 by the session's own server (another answers
# 454), and each session's packets (requests, RTCP, the client's TCP segments)
# must all be at one server: the servers' captures, per client and by
# sara-replay --observed. With the store, the survivor must know the victim's
# sessions at their servers BEFORE the kill (a selection nobody can derive:
# only the store tells it), count them adopted from its peer, and the victim's
# store must hold them.
# E2E_HA_RTSP_CT=off (conntrackd's port dropped) exists to break it, with a
# selection nobody derives: round-robin without conntrackd nor store must fail.
# Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$LAB_DIR/ha_lib.sh"

ha_setup
CTL=$(lab_bin sara-ctl)
if [ "${E2E_HA_RTSP_CT:-on}" = off ]; then
	# no connmark copied between the dispatchers (as e2e_ha_split)
	sync_port=$(awk '/Port/ { print $2; exit }' "$LAB_RUN/d1/conntrackd.conf")
	for n in "${HA_DISPATCHERS[@]}"; do
		lab_in "$n" iptables -I INPUT -p udp --dport "$sync_port" -j DROP
		lab_in "$n" iptables -I OUTPUT -p udp --dport "$sync_port" -j DROP
	done
	echo "conntrackd's port dropped on every dispatcher"
fi
lab_cap_start 100 || { e2e_fail "captures"; exit 1; }
lab_start_rtsp_servers 70 || { e2e_fail "gst-rtsp-server"; exit 1; }

# four client addresses per dispatcher, by the router's own ECMP choice
KINDS=(stream interleaved reconnect resume)
declare -A picked kind_of
clients=()
for ip in "${HA_CLI_IPS[@]}"; do
	d=$(ha_dispatcher_of "$ip")
	[ "$d" != none ] && [ "${picked[$d]:-0}" -lt "${#KINDS[@]}" ] || continue
	kind_of[$ip]=${KINDS[${picked[$d]:-0}]}
	picked[$d]=$(( ${picked[$d]:-0} + 1 ))
	clients+=("$ip:$d")
done
[ "${picked[d1]:-0}" -eq "${#KINDS[@]}" ] && [ "${picked[d2]:-0}" -eq "${#KINDS[@]}" ] ||
	{ e2e_fail "the router's ECMP sends no ${#KINDS[@]} of ${#HA_CLI_IPS[@]} client addresses to each dispatcher"; exit 1; }
victim=${clients[0]#*:}
survivor=d1; [ "$victim" = d1 ] && survivor=d2
echo "clients: $(for c in "${clients[@]}"; do printf '%s (%s, %s) ' "${c%:*}" "${c#*:}" "${kind_of[${c%:*}]}"; done)"
echo "killing sarad in $victim"

K=$LAB_RUN/killed R=$LAB_RUN/restarted
declare -A steps ready
steps[stream]="options,describe,setup,play,waitfile:$K,wait:1,pause,wait:0.5,play,waitfile:$R,wait:1,pause,wait:0.5,play,wait:1,teardown"
ready[stream]='^PLAY 200'
steps[interleaved]=${steps[stream]} ready[interleaved]=${ready[stream]}
# gst-rtsp-server stops a session's media with its first connection and answers its
# TEARDOWN on another 404: these two are judged by their requests, answered 200
steps[reconnect]="options,describe,setup,play,wait:1,close,connect,get_parameter,waitfile:$K,wait:1,get_parameter,waitfile:$R,wait:1,get_parameter"
ready[reconnect]='^GET_PARAMETER 200'
steps[resume]="options,describe,setup,play,wait:1,close,waitfile:$K,wait:1,connect,get_parameter,waitfile:$R,wait:1,get_parameter"
ready[resume]='^CLOSE'
names=() pids=()
for c in "${clients[@]}"; do
	ip=${c%:*} opts=()
	[ "${kind_of[$ip]}" = interleaved ] && opts=(--interleaved)
	lab_bg "rtsp-$ip" cli timeout 60 /usr/bin/python3 "$LAB_DIR/rtsp-steps.py" "${opts[@]}" \
		--url "rtsp://$LAB_VIP:8554/test" --bind "$ip" --client-port 20000 --steps "${steps[${kind_of[$ip]}]}"
	names+=("rtsp-$ip"); pids+=("$LAB_BGPID")
done
# every client where the kill must find it: media flowing, reconnected, or closed
for ((i = 0; i < 100; i++)); do
	n=0
	for c in "${clients[@]}"; do
		grep -q "${ready[${kind_of[${c%:*}]}]}" "$LAB_RUN/logs/rtsp-${c%:*}.log" && n=$((n + 1))
	done
	[ "$n" -eq "${#clients[@]}" ] && break
	sleep 0.1
done
[ "$n" -eq "${#clients[@]}" ] || { e2e_fail "$n of ${#clients[@]} clients ready for the kill after 10 s"; exit 1; }
sleep 0.5

# sessions_server DISPATCHER IP: the server DISPATCHER's sarad gives IP's session
sessions_server() {
	lab_in "$1" "$CTL" -c "${HA_CFG[$1]}" sessions --client "$2" 2>/dev/null |
		awk '$2 == "rtsp" { print $4 }' | sort -u | tr '\n' ' '
}
# counter DISPATCHER NAME: a counter of its sarad's status, wherever in it (the
# replication's are the daemon's)
counter() {
	lab_in "$1" timeout 5 "$CTL" -c "${HA_CFG[$1]}" status --json 2>/dev/null | python3 -c '
import json, sys
def find(x):
    if isinstance(x, dict):
        if isinstance(x.get(sys.argv[1]), int):
            return x[sys.argv[1]]
        x = list(x.values())
    if isinstance(x, list):
        for v in x:
            r = find(v)
            if r is not None:
                return r
    return None
print(find(json.load(sys.stdin)) or 0)' "$2"
}
declare -A before
for c in "${clients[@]}"; do
	[ "${c#*:}" = "$victim" ] || continue
	before[${c%:*}]=$(sessions_server "$victim" "${c%:*}")
done
if [ "${HA_SESSION_STORE:-off}" = redis ]; then
	# replicated: the survivor knows the victim's sessions before anything of them meets it
	for c in "${clients[@]}"; do
		[ "${c#*:}" = "$victim" ] || continue
		ip=${c%:*} known=$(sessions_server "$survivor" "${c%:*}")
		echo "  $ip (${kind_of[$ip]}): server by $victim: ${before[$ip]:-none}; by $survivor, from $victim's store: ${known:-none}"
		[ -n "${before[$ip]}" ] && [ "$known" = "${before[$ip]}" ] ||
			e2e_fail "$ip's session: ${before[$ip]:-none} by $victim, ${known:-none} by $survivor before the kill"
	done
fi

kill_ms=$(date +%s%3N)
kill -KILL "${HA_SARAD_PID[$victim]}"
wait "${HA_SARAD_PID[$victim]}" 2>/dev/null
touch "$K"
ha_wait_paths 1 30 || e2e_fail "the router still sends to $victim 3 s after its sarad died"
echo "route withdrawn $(( $(date +%s%3N) - kill_ms )) ms after the kill"
# the victim's clients' requests through the survivor (1 s after the kill), then media
sleep 2.5
for c in "${clients[@]}"; do
	[ "${c#*:}" = "$victim" ] || continue
	ip=${c%:*} after=$(sessions_server "$survivor" "${c%:*}")
	echo "  $ip (${kind_of[$ip]}): server by $victim before the kill: ${before[$ip]:-none}; by $survivor after it: ${after:-none}"
	[ -n "${before[$ip]}" ] && [ "$after" = "${before[$ip]}" ] ||
		e2e_fail "$ip's session: ${before[$ip]:-none} by $victim, ${after:-none} by $survivor"
done
moved=$(counter "$survivor" rtsp_connection_moved_to_session)
affinity=$(counter "$survivor" rtsp_connection_affinity)
joined=$(counter "$survivor" rtsp_connection_joined)
not_joined=$(counter "$survivor" rtsp_connection_not_joined)
echo "$survivor: RTSP connections joined to their session $joined, not joined $not_joined;" \
	"met mid-stream and moved to their session's server $moved; SYNs sent to their client's session $affinity"
[ "${not_joined:-0}" -eq 0 ] || e2e_fail "$survivor kept $not_joined connections apart from their sessions"
if [ "${HA_SESSION_STORE:-off}" = redis ]; then
	adopted=$(counter "$survivor" replica_sessions_adopted)
	drops=$(counter "$survivor" replica_queue_drops) refused=$(counter "$survivor" replica_peers_refused)
	echo "$survivor: sessions adopted from $victim's store $adopted; replication drops $drops, peers refused $refused"
	[ "${adopted:-0}" -ge "${picked[$victim]}" ] || e2e_fail "$survivor adopted $adopted sessions from its peer, want ${picked[$victim]} at least"
	[ "$drops" -eq 0 ] && [ "$refused" -eq 0 ] || e2e_fail "replication drops or refused peers"
	# the victim's store (its redis-server lives on) holds each of its clients' sessions
	for c in "${clients[@]}"; do
		[ "${c#*:}" = "$victim" ] || continue
		ip=${c%:*}
		sess=$(awk '/^PLAY 200 session / { print $4; exit }' "$LAB_RUN/logs/rtsp-$ip.log")
		hex=$(printf '%s' "$sess" | od -An -tx1 | tr -d ' \n')
		key=$(ha_redis "$victim" --scan --pattern "sara:${LAB_PREFIX%-}:s:*:$hex" | head -1)
		fields=$([ -n "$key" ] && ha_redis "$victim" hkeys "$key" | tr '\n' ' ')
		echo "  $ip (${kind_of[$ip]}): session $sess in $victim's store: ${key:-none} (${fields:-no fields})"
		[ -n "$sess" ] && [ -n "$key" ] || e2e_fail "$ip's session ${sess:-none} is not in $victim's store"
	done
fi

ha_start_sarad "$victim" || { e2e_fail "sarad in $victim does not start again"; exit 1; }
ha_wait_paths 2 50 || e2e_fail "$victim's route is not announced again"
echo "$victim announcing again $(( $(date +%s%3N) - kill_ms )) ms after the kill"
touch "$R"

for ((i = 0; i < ${#pids[@]}; i++)); do
	lab_wait_exit "${pids[i]}" 150 || lab_stop TERM "${pids[i]}"
	st=$(lab_rc "${pids[i]}")
	log=$LAB_RUN/logs/${names[i]}.log ip=${clients[i]%:*}
	echo "  ${names[i]} (${clients[i]#*:}, ${kind_of[$ip]}): exit $st:" \
		"$(grep -E '^[A-Z_]+ [0-9]+ ' "$log" | awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $1, $2 }')"
	echo "    rtp received after: $(awk '/^rtp after/ { printf "%s %s ", $3, $4 }' "$log")"
	[ "$st" = 0 ] || e2e_fail "${names[i]}: a request was not answered 200 ($(tail -1 "$log"))"
	if [ "${kind_of[$ip]}" = stream ] || [ "${kind_of[$ip]}" = interleaved ]; then
		# after the first PLAY, the PLAY through the survivor and the one after the return
		[ "$(grep -cE '^rtp after play: [1-9]' "$log")" -ge 5 ] || e2e_fail "${names[i]}: no media after one of its PLAYs"
	else
		grep -qE '^rtp after play: [1-9]' "$log" || e2e_fail "${names[i]}: no media after its PLAY"
	fi
done
echo "$victim's sarad restored $(lab_in "$victim" timeout 5 "$CTL" -c "${HA_CFG[$victim]}" status --json 2>/dev/null |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["daemon"].get("journal_sessions_restored", 0))') sessions from its journal;" \
	"connections moved to their session's server $(counter "$victim" rtsp_connection_moved_to_session)," \
	"not joined $(counter "$victim" rtsp_connection_not_joined)"
sleep 0.5
for p in "${LAB_RTSP_PIDS[@]}"; do lab_stop TERM "$p" 20; done
lab_cap_stop

# per client, each server's share of its requests and media, from the servers' captures
# (one pass over each: "src dst method udp-port tcp-dport tcp-len" lines)
for s in "${LAB_SERVERS[@]}"; do
	timeout 60 tshark -n -d tcp.port==8554,rtsp -r "$LAB_RUN/cap/$s.pcap" -Y "rtsp.request || udp || tcp.port == 8554" \
		-T fields -E separator='|' -e ip.src -e ip.dst -e rtsp.method -e udp.srcport -e tcp.dstport -e tcp.len \
		2>/dev/null >"$LAB_RUN/$s.fields"
done
for c in "${clients[@]}"; do
	ip=${c%:*} at=
	for s in "${LAB_SERVERS[@]}"; do
		# framed: the server's TCP segments with data to the client (interleaved media among them)
		read -r rtp rtcp segs framed req < <(awk -F'|' -v ip="$ip" -v vip="$LAB_VIP" '
			$1 == ip && $3 != "" { n[$3]++ }
			$1 == vip && $2 == ip && $4 != "" { rtp++ }
			$1 == ip && $2 == vip && $4 != "" { rtcp++ }
			$1 == ip && $2 == vip && $5 == 8554 { segs++ }
			$1 == vip && $2 == ip && $5 != "" && $6 > 0 { framed++ }
			END { r = ""; for (m in n) r = r (r ? ", " : "") m " " n[m]; print rtp + 0, rtcp + 0, segs + 0, framed + 0, r }' \
			"$LAB_RUN/$s.fields")
		[ -n "$req" ] || [ "$rtp$rtcp$segs" != 000 ] || continue
		echo "  $ip (${c#*:}, ${kind_of[$ip]}) at $s: requests: ${req:-none}; media to the client $rtp, RTCP from it $rtcp;" \
			"its TCP segments $segs, the server's with data $framed"
		at="$at$s "
	done
	[ "$(wc -w <<<"$at")" -eq 1 ] || e2e_fail "$ip's session reached servers: ${at:-none}"
done
# sara-replay counts the second connection of each reconnect and resume client as a
# session of its own (its "conn:" key), at the same server as the first
e2e_observed $(( ${#clients[@]} + ${#clients[@]} * 2 / ${#KINDS[@]} )) 1
[ "$E2E_RC" -eq 0 ] && e2e_ok "every RTSP session kept its server across the failover and the return"
exit "$E2E_RC"
