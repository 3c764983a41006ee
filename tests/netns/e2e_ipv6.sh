#!/usr/bin/env bash
# e2e_ipv6: an IPv6-only VIP (fd00:77::20) and IPv6-only servers: sipp calls over UDP and
# TCP with RTP both ways, and an RTSP session (ffmpeg, RTP over UDP), all over IPv6 through
# sarad + sara-gw (ip6tables rules, ip -6 policy routes): every packet of every session at
# exactly one server, sessions on all 3 servers. Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
LAB_PREFIX=sara-e2e-v6-
LAB_IPV6=1
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# the lab cluster with the IPv6 VIP only, each server at its IPv6 address
E2E_CFG_SED="s|^vips = .*|vips = [ \"$LAB_VIP6\" ];|; s|address = \"198\.18\.2\.1\([1-3]\)\";|address = \"fd00:2::1\1\";|"
e2e_setup 60
grep -q '198\.18\.77\.20\|198\.18\.2\.1[1-3]' <(grep -E '^vips|address' "$LAB_CFG") &&
	{ e2e_fail "the config still names an IPv4 VIP or server"; exit 1; }
# (read whole, then matched: grep -q closing the pipe early would fail it under pipefail)
out=$(lab_in dsp ip -6 rule show)
grep -q 'fwmark 0x2 lookup 102' <<<"$out" || e2e_fail "no ip -6 rule for server s2's mark"
out=$(lab_in dsp ip -6 route show table 102)
grep -q "$LAB_VIP6 via fd00:2::12" <<<"$out" || e2e_fail "no IPv6 route in table 102"
out=$(lab_in dsp ip6tables -t mangle -S PREROUTING)
grep -q -- "-d $LAB_VIP6/128 -j SARA" <<<"$out" || e2e_fail "no ip6tables hook"

lab_cap_start 50 || { e2e_fail "captures"; exit 1; }
e2e_cap_client_start 50 || { e2e_fail "client capture"; exit 1; }
LAB_UAS_VIPS=$LAB_VIP6 lab_start_sip_servers 40 || { e2e_fail "sipp servers"; exit 1; }
LAB_RTSP_VIP=$LAB_VIP6 lab_start_rtsp_servers 40 || { e2e_fail "gst-rtsp-server"; exit 1; }

# 3 UDP calls from fd00::10 (one shared signalling flow), 2 TCP calls from fd00::11, one
# RTSP session from fd00::12's side of the client (ffmpeg picks its source address)
LAB_UAC_VIP=$LAB_VIP6 lab_sipp_uac udp u1 fd00::10 5060 7000 3; A=$LAB_BGPID
LAB_UAC_VIP=$LAB_VIP6 lab_sipp_uac tcp tn fd00::11 5064 9000 2; T=$LAB_BGPID
lab_ffmpeg_play ff-udp udp 3 "$LAB_VIP6"; F=$LAB_BGPID
E2E_WAIT_TENTHS=300 e2e_wait udp=$A tcp=$T ff-udp=$F
CALLS=5
ok_total=0
for n in udp tcp; do
	read -r ok fail < <(lab_sipp_stats "$n")
	echo "sipp $n: exit ${E2E_ST[$n]}, calls successful $ok failed $fail"
	ok_total=$((ok_total + ok))
	[ "${E2E_ST[$n]}" = 0 ] || e2e_fail "sipp $n exit ${E2E_ST[$n]} (see logs/$n.log)"
done
[ "$ok_total" -eq "$CALLS" ] || e2e_fail "$ok_total of $CALLS calls succeeded"
echo "ffmpeg: exit ${E2E_ST[ff-udp]}"
[ "${E2E_ST[ff-udp]}" = 0 ] || e2e_fail "RTSP client ff-udp exit ${E2E_ST[ff-udp]} (see logs/ff-udp.log)"

sleep 0.5
for p in "${LAB_UAS_PIDS[@]}" "${LAB_RTSP_PIDS[@]}"; do lab_stop TERM "$p" 20; done
lab_cap_stop

# SIP media both ways over IPv6 (each UAC plays 120 packets per call), RTSP media to the
# client; nothing of the test's traffic over IPv4
to_srv=0 v4=0
for s in "${LAB_SERVERS[@]}"; do
	n=$(e2e_count "$LAB_RUN/cap/$s.pcap" "ipv6.dst == $LAB_VIP6 && udp && !(udp.dstport == 5060)")
	m=$(e2e_count "$LAB_RUN/cap/$s.pcap" "ipv6.src == $LAB_VIP6 && udp && !(udp.srcport == 5060)")
	k=$(e2e_count "$LAB_RUN/cap/$s.pcap" "ip.addr == $LAB_VIP")
	echo "$s: $n media packets from clients, $m media packets to clients, $k IPv4 VIP packets"
	to_srv=$((to_srv + n)); v4=$((v4 + k))
done
sip_rtp=$(e2e_count "$LAB_RUN/cap/cli.pcap" "ipv6.src == $LAB_VIP6 && udp && udp.srcport >= 6000 && udp.srcport < 7000")
rtsp_rtp=$(e2e_count "$LAB_RUN/cap/cli.pcap" "ipv6.src == $LAB_VIP6 && udp && !(udp.srcport >= 6000 && udp.srcport < 7000) && !(udp.srcport >= 16000 && udp.srcport < 17000) && !(udp.srcport == 5060)")
echo "client: $sip_rtp media packets of the UDP calls, $rtsp_rtp RTSP media packets from the servers"
[ "$to_srv" -ge $((CALLS * 120 * 9 / 10)) ] || e2e_fail "only $to_srv client media packets reached the servers"
[ "$sip_rtp" -ge $((3 * 120 * 9 / 10)) ] || e2e_fail "only $sip_rtp server media packets of the UDP calls reached the client"
[ "$rtsp_rtp" -ge 50 ] || e2e_fail "only $rtsp_rtp RTSP media packets reached the client"
[ "$v4" -eq 0 ] || e2e_fail "$v4 packets to or from the IPv4 VIP"

e2e_observed $((CALLS + 1)) 3
e2e_crossings 4
[ "$E2E_RC" -eq 0 ] && echo "PASS e2e_ipv6" || echo "FAIL e2e_ipv6"
exit "$E2E_RC"
