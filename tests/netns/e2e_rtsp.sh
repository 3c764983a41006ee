#!/usr/bin/env bash
# e2e_rtsp: RTSP sessions over UDP (ffmpeg, gst) and TCP interleaved (ffmpeg, gst) from one
# client address through sarad + sara-gw: every session's control connection and media at
# exactly one server, sessions on all 3 servers, media crossing into user space a few
# packets per flow. A gst client counts only when it logs EOS and a server captured its
# TEARDOWN, or the client's capture shows it sent none (lab_gst_verdict). Exit 0 pass,
# 1 fail, 77 skip.
set -uo pipefail
LAB_PREFIX=sara-e2e-rtsp-
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_setup 110
lab_cap_start 100 || { e2e_fail "captures"; exit 1; }
e2e_cap_client_start 100 || { e2e_fail "client capture"; exit 1; }
lab_start_rtsp_servers 60 || { e2e_fail "gst-rtsp-server"; exit 1; }

# six sessions, all from 198.18.0.10, started a little apart so round-robin sees an order
lab_ffmpeg_play ff-udp-1 udp 3; P1=$LAB_BGPID; sleep 0.3
lab_gst_play gst-udp udp 4;     P2=$LAB_BGPID; sleep 0.3
lab_ffmpeg_play ff-tcp tcp 3;   P3=$LAB_BGPID; sleep 0.3
lab_gst_play gst-tcp tcp 4;     P4=$LAB_BGPID; sleep 0.3
lab_ffmpeg_play ff-udp-2 udp 3; P5=$LAB_BGPID; sleep 0.3
lab_gst_play gst-udp-2 udp 4;   P6=$LAB_BGPID
E2E_WAIT_TENTHS=250 e2e_wait ff-udp-1=$P1 gst-udp=$P2 ff-tcp=$P3 gst-tcp=$P4 ff-udp-2=$P5 gst-udp-2=$P6
SESSIONS=6
for n in ff-udp-1 gst-udp ff-tcp gst-tcp ff-udp-2 gst-udp-2; do
	st=${E2E_ST[$n]}
	echo "$n: exit $st"
	case $n:$st in
	gst*) ;;   # judged below, from the captures too
	ff*:0) ;;
	*) e2e_fail "RTSP client $n exit $st (see logs/$n.log)" ;;
	esac
done

sleep 0.5
for p in "${LAB_RTSP_PIDS[@]}"; do lab_stop TERM "$p" 20; done
lab_cap_stop

for n in gst-udp gst-tcp gst-udp-2; do
	lab_gst_verdict "$n" "${E2E_ST[$n]}" || e2e_fail "gst client $n (see logs/$n.log)"
done

# media reached the clients: RTP over UDP from the VIP, and interleaved data on TCP
udp_rtp=$(e2e_count "$LAB_RUN/cap/cli.pcap" "ip.src == $LAB_VIP && udp")
echo "client: $udp_rtp UDP media packets from the servers"
[ "$udp_rtp" -ge 200 ] || e2e_fail "only $udp_rtp UDP media packets reached the clients"
for s in "${LAB_SERVERS[@]}"; do
	n=$(e2e_count "$LAB_RUN/cap/$s.pcap" "ip.dst == $LAB_VIP && udp")
	echo "$s: $n UDP packets from clients (RTCP, NAT punches)"
done

e2e_observed "$SESSIONS" 3
# players send the servers only NAT punches and RTCP reports (a few per flow), so the
# kernel fast path may carry none of them: only the bound on crossings is checked
e2e_crossings 4 0
[ "$E2E_RC" -eq 0 ] && echo "PASS e2e_rtsp" || echo "FAIL e2e_rtsp"
exit "$E2E_RC"
