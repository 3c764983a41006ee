#!/usr/bin/env bash
# gst_eos_probe.sh - runs gst-launch's RTSP client (rtspsrc, -e, SIGINT) N times, one after
# the other, through one lab, capturing at the client, the dispatcher and the servers, and
# classifies each run: EOS logged? PAUSE/TEARDOWN sent (client capture)? seen by a server?
#
#   tests/lab/gst_eos_probe.sh [N]      (N runs, default 5, at most 30)
#
# Environment (each a variation of the path or the client's conditions):
#   PROBE_MODE   sarad (default): sarad + sara-gw as the e2e tests run them
#                nogwq: sarad, the gateway's queue rules removed (replies in the kernel)
#                plain: no queue rules anywhere: multipath route by client address
#                hmark: kernel-only HMARK by source address, no sarad
#   PROBE_PROTO  udp (default) or tcp
#   PROBE_SECS   seconds before SIGINT (default 6)
#   PROBE_WAIT   1: send SIGINT only once the client received RTP on every stream
#                (default 0: after PROBE_SECS from start, like `timeout -s INT`)
#   PROBE_LOAD   busy loops at normal priority beside the runs (default 0)
#   PROBE_DELAY_MS  verdict latency on the RTSP segments (tcp 8554, both ways): a queue in
#                the router whose program (build/tools/nfq_accept) holds each verdict
#   PROBE_DELAY_RTCP 1: the client's UDP to the VIP (RTCP, punches) is held too
#   PROBE_SIGNAL group (default): `timeout -s INT` as the e2e tests used it (SIGINT to
#                the client's PID and then to its process group); once: `timeout
#                --foreground` (one SIGINT, to the client's PID only)
#   PROBE_DEBUG  GST_DEBUG for the client (default rtspsrc:5)
# One line per run ("run I: eos=.. pause=.. teardown=.. srv_teardown=.. ..."), then a
# summary. Keeps the run dir when LAB_KEEP=1. Exit 0 every run logged EOS, 1 otherwise.
set -uo pipefail
LAB_PREFIX=${SARA_LAB_PREFIX:-sara-gstprobe-}
. "$(dirname "${BASH_SOURCE[0]}")/../netns/lib.sh"

N=${1:-5}
[ "$N" -ge 1 ] && [ "$N" -le 30 ] || { echo "N must be 1..30" >&2; exit 2; }
MODE=${PROBE_MODE:-sarad}
PROTO=${PROBE_PROTO:-udp}
SECS=${PROBE_SECS:-6}
LOAD=${PROBE_LOAD:-0}
DELAY=${PROBE_DELAY_MS:-0}
WAITRTP=${PROBE_WAIT:-0}
SIGMODE=${PROBE_SIGNAL:-group}
CLI=198.18.0.10

why=$(lab_check_env) || { rc=$?; echo "$([ $rc -eq 77 ] && echo skip || echo FAIL): $why"; exit $rc; }
trap lab_cleanup EXIT
trap 'exit 130' INT TERM
lab_init
lab_up || exit 1
lab_config
case $MODE in
sarad | nogwq | plain)
	lab_rules || exit 1
	if [ "$MODE" = plain ]; then
		lab_in dsp iptables -t mangle -F; lab_in dsp iptables -t mangle -X 2>/dev/null
		lab_in gw iptables -t mangle -F
	else
		lab_start_sarad 600 || exit 1
		lab_start_gw 600 || exit 1
		[ "$MODE" = nogwq ] && lab_in gw iptables -t mangle -F
	fi ;;
hmark) lab_rules_hmark src ;;
*) echo "unknown PROBE_MODE $MODE" >&2; exit 2 ;;
esac
lab_in dsp iptables-save -t mangle >"$LAB_RUN/logs/probe-dsp.rules"
lab_in gw iptables-save -t mangle >"$LAB_RUN/logs/probe-gw.rules"

# verdict latency: in the router (so sarad and sara-gw stay as they are), the RTSP
# segments both ways, and with PROBE_DELAY_RTCP=1 the client's UDP to the VIP (RTCP,
# punches), cross a queue whose program holds each verdict PROBE_DELAY_MS
if [ "$DELAY" -gt 0 ]; then
	nfq=$(lab_bin tools/nfq_accept)
	[ -n "$nfq" ] || { echo "build/tools/nfq_accept is not built" >&2; exit 1; }
	lab_bg delayq rtr "$nfq" --queue 7 --seconds 590 --delay-ms "$DELAY"
	for ((i = 0; i < 50; i++)); do grep -q bound "$LAB_RUN/logs/delayq.log" && break; sleep 0.1; done
	for pp in --dport --sport; do
		lab_in rtr iptables -t mangle -A FORWARD -p tcp "$pp" 8554 -j NFQUEUE --queue-num 7
	done
	[ "${PROBE_DELAY_RTCP:-0}" = 1 ] &&
		lab_in rtr iptables -t mangle -A FORWARD -s "$CLI" -d "$LAB_VIP" -p udp -j NFQUEUE --queue-num 7
fi

lab_start_rtsp_servers 580 || exit 1
for ((i = 0; i < LOAD; i++)); do
	lab_bg "load-$i" - timeout 590 bash -c 'while :; do :; done'
done

# tshark over a capture: "time src dst info" lines for RTSP and FINs of the client's connection
rtsp_lines() {
	timeout 60 tshark -n -r "$1" -d tcp.port==8554,rtsp \
		-Y "tcp.port == 8554 && (rtsp.request || rtsp.response || tcp.flags.fin == 1 || tcp.flags.reset == 1)" \
		-T fields -E separator='|' -e frame.time_epoch -e ip.src -e tcp.srcport -e tcp.flags.str \
		-e rtsp.method -e rtsp.status 2>/dev/null
}

ok=0
for ((r = 1; r <= N; r++)); do
	rd=$LAB_RUN/run$r; mkdir -p "$rd"
	caps=()
	lab_bg "cap-cli-$r" cli timeout 60 tcpdump -i c0 --immediate-mode -U -n -s 0 -Z root -w "$rd/cli.pcap" 'not arp'
	caps+=("$LAB_BGPID")
	lab_bg "cap-dsp-$r" dsp timeout 60 tcpdump -i d1 --immediate-mode -U -n -s 0 -Z root -w "$rd/dsp.pcap" 'not arp'
	caps+=("$LAB_BGPID")
	for s in "${LAB_SERVERS[@]}"; do
		lab_bg "cap-$s-$r" "$s" timeout 60 tcpdump -i eth0 --immediate-mode -U -n -s 0 -Z root -w "$rd/$s.pcap" 'not arp'
		caps+=("$LAB_BGPID")
	done
	for n in cli dsp "${LAB_SERVERS[@]}"; do
		for ((i = 0; i < 50; i++)); do grep -q 'listening on' "$LAB_RUN/logs/cap-$n-$r.log" && break; sleep 0.1; done
	done
	t0=$(date +%s.%N)
	# a core dump (if gst crashes) lands in the run's own dir
	gst=(env GST_DEBUG="${PROBE_DEBUG:-rtspsrc:5}" GST_DEBUG_NO_COLOR=1 bash -c 'cd "$0" && ulimit -c unlimited && exec "$@"' "$rd")
	# plain `timeout -s INT` signals the child twice (its PID, then its process group):
	# gst-launch takes the first SIGINT as "stop with EOS" and dies of the second
	fg=(--foreground); [ "$SIGMODE" = group ] && fg=()
	if [ "$WAITRTP" = 1 ]; then
		gst+=(timeout "${fg[@]}" --preserve-status -k 5 30)
	else
		gst+=(timeout "${fg[@]}" --preserve-status -s INT -k 5 "$SECS")
	fi
	lab_bg "gst-$r" cli "${gst[@]}" gst-launch-1.0 -e rtspsrc location="rtsp://$LAB_VIP:8554/test" \
		protocols="$PROTO" name=s s. ! queue ! fakesink s. ! queue ! fakesink
	gp=$LAB_BGPID
	if [ "$WAITRTP" = 1 ]; then
		sleep "$SECS"
		lab_stop INT "$gp" 100
	else
		lab_wait_exit "$gp" 200 || lab_stop KILL "$gp"
	fi
	st=$(lab_rc "$gp")
	t1=$(date +%s.%N)
	sleep 0.5
	for p in "${caps[@]}"; do lab_stop INT "$p" 30; done
	log=$LAB_RUN/logs/gst-$r.log
	eos=0; grep -q 'Got EOS from element' "$log" && eos=1
	err=$(grep -m1 '^ERROR' "$log" | cut -c1-80)
	playing=0; grep -q 'Setting pipeline to PLAYING' "$log" && playing=1
	core=$(cd "$rd" && ls core* 2>/dev/null | head -1)
	rtsp_lines "$rd/cli.pcap" >"$rd/cli.rtsp"
	cpause=$(awk -F'|' -v c="$CLI" '$2 == c && $5 == "PAUSE"' "$rd/cli.rtsp" | wc -l)
	ctear=$(awk -F'|' -v c="$CLI" '$2 == c && $5 == "TEARDOWN"' "$rd/cli.rtsp" | wc -l)
	cfin=$(awk -F'|' -v c="$CLI" '$2 == c && $4 ~ /F/' "$rd/cli.rtsp" | wc -l)
	stear=0; srv=-
	for s in "${LAB_SERVERS[@]}"; do
		rtsp_lines "$rd/$s.pcap" >"$rd/$s.rtsp"
		if grep -q '|SETUP|' "$rd/$s.rtsp"; then srv=$s; fi
		n=$(awk -F'|' -v c="$CLI" '$2 == c && $5 == "TEARDOWN"' "$rd/$s.rtsp" | wc -l)
		stear=$((stear + n))
	done
	rtp=$(e2e_count "$rd/cli.pcap" "ip.src == $LAB_VIP && udp")
	rtcp_out=$(e2e_count "$rd/cli.pcap" "ip.src == $CLI && udp && !(udp.length < 30)")
	# time from the PLAY reply to the client's FIN / first TEARDOWN, from the client capture
	playt=$(awk -F'|' -v c="$CLI" '$2 == c && $5 != "" { m = $5 } $2 != c && $6 != "" && m == "PLAY" { print $1; exit }' "$rd/cli.rtsp")
	fint=$(awk -F'|' -v c="$CLI" '$2 == c && $4 ~ /F/ { print $1; exit }' "$rd/cli.rtsp")
	printf 'run %d: exit %s eos=%d playing=%d pause=%d teardown=%d fin=%d srv_teardown=%d server=%s rtp_in=%d udp_out=%d start->end %.1fs play_reply->fin %s %s\n' \
		"$r" "$st" "$eos" "$playing" "$cpause" "$ctear" "$cfin" "$stear" "$srv" "$rtp" "$rtcp_out" \
		"$(echo "$t1 - $t0" | bc)" "$( [ -n "$playt" ] && [ -n "$fint" ] && echo "$fint - $playt" | bc || echo -)" "${err:+($err)}${core:+ core: $core}"
	[ "$eos" = 1 ] && ok=$((ok + 1))
done
echo "gst_eos_probe: mode $MODE signal $SIGMODE proto $PROTO secs $SECS wait_rtp $WAITRTP load $LOAD delay ${DELAY}ms: EOS in $ok of $N runs"
[ "$ok" -eq "$N" ]
