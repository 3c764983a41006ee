#!/usr/bin/env bash
# e2e_admission: SA2C in the lab. Node agents report each server's load from a file
# (sara-agent --app-load); with the loads at 0.1 calls are admitted. Two long calls are
# set up, then every load goes to 1.0: sarad answers a new INVITE with 503 + Retry-After
# (the copied Call-ID and CSeq), resets a new RTSP connection (TCP RST) although the
# servers run an RTSP server, counts both, while the established calls' media keeps
# flowing to their servers. Loads back at 0.1: the refusal of new sessions eases off over
# reopen_s, then new calls succeed again and the refused RTSP client gets its stream.
# Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
LAB_PREFIX=sara-e2e-ad-
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

E2E_CFG_EXTRA='agents = { listen = "198.18.2.1:7400"; interval_ms = 200; misses = 3; };
admission = { enabled = true; reject = "503"; retry_after_s = 7; rtsp_reject = "reset";
              reopen_s = 3; lead_s = 0; };'
e2e_setup 110
CTL=$(lab_bin sara-ctl) AGENT=$(lab_bin sara-agent)
grep -q -- --app-load <<<"$("$AGENT" --help 2>&1)" || { e2e_fail "sara-agent (${AGENT:-not built}) has no --app-load"; exit 1; }
e2e_cap_client_start 100 || { e2e_fail "client capture"; exit 1; }
lab_cap_start 100 || { e2e_fail "captures"; exit 1; }
lab_start_sip_servers 70 || { e2e_fail "sipp servers"; exit 1; }
lab_start_rtsp_servers 70 || { e2e_fail "gst-rtsp-server"; exit 1; }
# The RTSP client (ffmpeg, which cannot bind an address) leaves from 198.18.0.11, apart
# from the established calls' media (198.18.0.10) checked below.
RTSP_CLIENT=198.18.0.11
ip -n "$(lab_ns cli)" route add "$LAB_VIP/32" via 198.18.0.1 src "$RTSP_CLIENT"
set_loads() { local s; for s in "${LAB_SERVERS[@]}"; do echo "$1" >"$LAB_RUN/load-$s"; done; }
set_loads 0.1
for s in "${LAB_SERVERS[@]}"; do
	lab_bg "agent-$s" "$s" timeout 100 "$AGENT" -c "$LAB_CFG" --id "$s" --foreground \
		--app-load "file:$LAB_RUN/load-$s" --components backlog
done
status_json() { lab_in dsp timeout 5 "$CTL" -c "$LAB_CFG" status --json 2>/dev/null; }
# admission FIELD: a field of status' "admission" section (zone, load...)
admission() {
	status_json | python3 -c "import json,sys; print(json.load(sys.stdin)['admission'][sys.argv[1]])" "$1" 2>/dev/null
}
# daemon_counter NAME: a counter of status' "daemon" section (reply_sent_reset...)
daemon_counter() {
	status_json | python3 -c "import json,sys; print(json.load(sys.stdin)['daemon'].get(sys.argv[1], 0))" "$1" 2>/dev/null
}
wait_zone() { # wait_zone ZONE TENTHS
	local i
	for ((i = 0; i < $2; i++)); do [ "$(admission zone)" = "$1" ] && return 0; sleep 0.1; done
	return 1
}
# 3 s (the slow start of the servers that joined late is irrelevant here)
wait_zone normal 50 || e2e_fail "admission zone $(admission zone), want normal at load 0.1"

LAB_UAC_XML=uac-long.xml lab_sipp_uac long u1 198.18.0.10 5060 7000 2; U=$LAB_BGPID
sleep 1.5
set_loads 1.0
wait_zone full 50 || e2e_fail "admission zone $(admission zone) (x $(admission load)), want full at load 1.0"
overload_at=$(date +%s.%N)
echo "overload from $overload_at: zone $(admission zone), x $(admission load)"

# a new INVITE: answered 503 by sarad itself (the servers never see it)
lab_in cli timeout 10 python3 - 198.18.0.11 "$LAB_VIP" >"$LAB_RUN/logs/invite503.out" 2>&1 <<'PY'
import socket, sys
src, vip = sys.argv[1], sys.argv[2]
sdp = "v=0\r\no=a 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\nm=audio 7700 RTP/AVP 8\r\n" % (src, src)
msg = ("INVITE sip:bob@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s:5070;branch=z9hG4bK-e2e-503\r\n"
       "Max-Forwards: 70\r\nFrom: <sip:a@%s>;tag=e2e\r\nTo: <sip:bob@%s>\r\n"
       "Call-ID: e2e-503@%s\r\nCSeq: 4711 INVITE\r\nContact: <sip:a@%s:5070>\r\n"
       "Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s") % (
       vip, src, src, vip, src, src, len(sdp), sdp)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, 5070))
s.settimeout(2)
s.sendto(msg.encode(), (vip, 5060))
reply, peer = s.recvfrom(65535)
print("from %s:%d" % peer)
print(reply.decode(errors="replace"))
PY
sed 's/^/  503: /' "$LAB_RUN/logs/invite503.out" | tr -d '\r'
grep -q "^from $LAB_VIP:5060" "$LAB_RUN/logs/invite503.out" || e2e_fail "no reply from $LAB_VIP:5060 to the refused INVITE"
grep -q "^SIP/2.0 503 Service Unavailable" "$LAB_RUN/logs/invite503.out" || e2e_fail "the reply is not a 503"
grep -qi "^Retry-After: 7" "$LAB_RUN/logs/invite503.out" || e2e_fail "no Retry-After: 7"
grep -qi "^Call-ID: e2e-503@198.18.0.11" "$LAB_RUN/logs/invite503.out" || e2e_fail "Call-ID not copied"
grep -qi "^CSeq: 4711 INVITE" "$LAB_RUN/logs/invite503.out" || e2e_fail "CSeq not copied"
grep -qi "^Via: SIP/2.0/UDP 198.18.0.11:5070;branch=z9hG4bK-e2e-503" "$LAB_RUN/logs/invite503.out" || e2e_fail "Via not copied"

# a new RTSP client: its connection reset by sarad, although the servers listen on 8554
rst_before=$(daemon_counter reply_sent_reset)
lab_ffmpeg_play rtsp-refused udp 2; P=$LAB_BGPID
E2E_WAIT_TENTHS=150 e2e_wait rtsp-refused=$P
rst_refused=$(daemon_counter reply_sent_reset)
echo "RTSP client during the overload: exit ${E2E_ST[rtsp-refused]}, reply_sent_reset $rst_before -> $rst_refused"
grep -m1 -i 'refused' "$LAB_RUN/logs/rtsp-refused.log" | sed 's/^/  rtsp: /'
[ "${E2E_ST[rtsp-refused]}" != 0 ] || e2e_fail "the RTSP client played while the cluster was full"
grep -qi 'Connection refused' "$LAB_RUN/logs/rtsp-refused.log" || e2e_fail "the RTSP connection was not reset"
[ "$rst_refused" -ge $((rst_before + 1)) ] || e2e_fail "reply_sent_reset $rst_before -> $rst_refused: sarad did not reset the RTSP connection"

# a sipp call during the overload fails (503), and the servers never see its INVITE
LAB_UAC_XML=uac-media.xml lab_sipp_uac refused u1 198.18.0.12 5064 7800 1; R=$LAB_BGPID
E2E_WAIT_TENTHS=150 e2e_wait refused=$R
read -r ok fail < <(lab_sipp_stats refused)
echo "sipp call during the overload: successful $ok failed $fail"
[ "$ok" -eq 0 ] || e2e_fail "a call was admitted while the cluster was full"
counters=$(status_json | python3 -c "import json,sys
d = json.load(sys.stdin)
dm = d['daemon']; v = d['verdicts']['drop']
print(dm.get('reply_sent_503', 0), dm.get('reply_sent_reset', 0), v.get('admission', 0))")
read -r n503 nrst ndrop <<<"$counters"
echo "counters: reply_sent_503 $n503 reply_sent_reset $nrst, drops by admission $ndrop"
[ "$n503" -ge 2 ] || e2e_fail "reply_sent_503 $n503, want >= 2"
[ "$nrst" -eq "$rst_refused" ] || e2e_fail "reply_sent_reset $nrst, want $rst_refused (the RTSP client's resets only)"

set_loads 0.1
loads_back_at=$(date +%s.%N)
wait_zone normal 80 || e2e_fail "admission zone $(admission zone), want normal once loads are back at 0.1"
# The reopening ramp (admission.reopen_s, 3 s here; the default is 0): below T1 the refusal
# of new sessions eases off from 1 to 0 over reopen_s, not at once.
t_normal=$(date +%s%N)
p_first=$(admission refuse_new_p)
for ((i = 0; i < 80; i++)); do [ "$(admission refuse_new_p)" = 0.0 ] && break; sleep 0.1; done
reopen_ms=$((($(date +%s%N) - t_normal) / 1000000))
echo "reopening: refuse_new_p $p_first when the zone turned normal, 0 after $reopen_ms ms"
awk -v p="$p_first" 'BEGIN { exit !(p > 0.3) }' || e2e_fail "refuse_new_p $p_first right after the overload, want the ramp (> 0.3)"
[ "$reopen_ms" -ge 1000 ] && [ "$reopen_ms" -le 5000 ] || e2e_fail "reopened after $reopen_ms ms, want about reopen_s = 3 s"
LAB_UAC_XML=uac-media.xml lab_sipp_uac after u1 198.18.0.12 5066 7900 3; A=$LAB_BGPID
# the RTSP client refused during the overload, now admitted: it gets its stream
lab_ffmpeg_play rtsp-admitted udp 2; P=$LAB_BGPID
E2E_WAIT_TENTHS=250 e2e_wait long=$U after=$A rtsp-admitted=$P
rst_admitted=$(daemon_counter reply_sent_reset)
echo "RTSP client after the overload: exit ${E2E_ST[rtsp-admitted]}, reply_sent_reset $rst_refused -> $rst_admitted"
[ "${E2E_ST[rtsp-admitted]}" = 0 ] || e2e_fail "the RTSP client failed once admitted (see logs/rtsp-admitted.log)"
[ "$rst_admitted" -eq "$rst_refused" ] || e2e_fail "sarad reset $((rst_admitted - rst_refused)) RTSP connections once admitting"
read -r ok fail < <(lab_sipp_stats after)
echo "after the overload: $ok of 3 calls successful"
[ "$ok" -eq 3 ] || e2e_fail "after the overload only $ok of 3 calls succeeded"
sleep 0.3
for p in "${LAB_UAS_PIDS[@]}" "${LAB_RTSP_PIDS[@]}"; do lab_stop TERM "$p" 20; done
lab_cap_stop

# The RTSP client: refused before any server saw its connection, then played from one
# server, which sent its media to the client.
refused_seen=0 setups=0 rtsp_servers=0
for s in "${LAB_SERVERS[@]}"; do
	n=$(e2e_count "$LAB_RUN/cap/$s.pcap" "ip.src == $RTSP_CLIENT && tcp.dstport == 8554 && frame.time_epoch < $loads_back_at")
	refused_seen=$((refused_seen + n))
	n=$(e2e_count "$LAB_RUN/cap/$s.pcap" "ip.src == $RTSP_CLIENT && tcp.dstport == 8554 && frame contains \"SETUP rtsp:\"")
	echo "$s: $n RTSP SETUPs from the RTSP client"
	setups=$((setups + n)); [ "$n" -gt 0 ] && rtsp_servers=$((rtsp_servers + 1))
done
rtp=$(e2e_count "$LAB_RUN/cap/cli.pcap" "ip.src == $LAB_VIP && ip.dst == $RTSP_CLIENT && udp && !icmp")
echo "RTSP client: $refused_seen packets at the servers during the overload; $setups SETUPs at $rtsp_servers server(s) after it; $rtp media packets received"
[ "$refused_seen" -eq 0 ] || e2e_fail "a server saw $refused_seen packets of the refused RTSP connection"
[ "$setups" -eq 2 ] && [ "$rtsp_servers" -eq 1 ] || e2e_fail "$setups SETUPs (want 2: video and audio) at $rtsp_servers servers (want 1)"
[ "$rtp" -ge 50 ] || e2e_fail "the admitted RTSP client received $rtp media packets, want >= 50"

# the established calls' media during the overload: every packet still at one server
after=$(echo "$overload_at + 0.2" | bc)
for s in "${LAB_SERVERS[@]}"; do
	timeout 60 tshark -n -r "$LAB_RUN/cap/$s.pcap" \
		-Y "ip.src == 198.18.0.10 && ip.dst == $LAB_VIP && udp && !icmp && !(udp.dstport == 5060) && frame.time_epoch > $after" \
		-T fields -e udp.srcport 2>/dev/null | sort | uniq -c | awk -v s="$s" '{ print $2, s, $1 }'
done >"$LAB_RUN/media-overload.txt"
sed 's/^/  media during overload (port server packets): /' "$LAB_RUN/media-overload.txt"
nflows=$(awk '{ print $1 }' "$LAB_RUN/media-overload.txt" | sort -u | wc -l)
split=$(awk '{ print $1 }' "$LAB_RUN/media-overload.txt" | sort | uniq -d | wc -l)
low=$(awk '$3 < 80' "$LAB_RUN/media-overload.txt" | wc -l)
[ "$nflows" -eq 2 ] || e2e_fail "$nflows established media flows during the overload, want 2"
[ "$split" -eq 0 ] || e2e_fail "an established media flow was split"
[ "$low" -eq 0 ] || e2e_fail "an established call lost its media during the overload"
servers_saw=$(for s in "${LAB_SERVERS[@]}"; do
	timeout 60 tshark -n -r "$LAB_RUN/cap/$s.pcap" -Y 'sip.Call-ID contains "e2e-503"' 2>/dev/null; done | wc -l)
[ "$servers_saw" -eq 0 ] || e2e_fail "a server saw the refused INVITE"
[ "$E2E_RC" -eq 0 ] && echo "PASS e2e_admission" || echo "FAIL e2e_admission"
exit "$E2E_RC"
