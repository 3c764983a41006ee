#!/usr/bin/env bash
# e2e_oc: RFC 7339 overload control in the lab. The agents report a load of 0.7, between
# T1 and T2: SA2C (the lead estimate, whose refusal holds still while x does) refuses
# about half the new sessions (zone shed). A client whose INVITEs advertise
# ";oc" in their top Via gets oc (the refusal percentage), oc-validity and oc-seq back,
# both in sarad's own 503s and in the servers' responses, which sara-gw rewrites in its
# queue; a client without oc gets both unchanged. Checked on the client's and the
# servers' captures and on sarad's and sara-gw's counters.
# Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
LAB_PREFIX=sara-e2e-oc-
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

E2E_CFG_EXTRA='agents = { listen = "198.18.2.1:7400"; interval_ms = 200; misses = 3; };
admission = { enabled = true; estimate = "lead"; reject = "503"; lead_s = 0; oc_validity_ms = 2000; };'
e2e_setup 40
CTL=$(lab_bin sara-ctl) AGENT=$(lab_bin sara-agent)
e2e_cap_client_start 40 || { e2e_fail "client capture"; exit 1; }
lab_cap_start 40 || { e2e_fail "captures"; exit 1; }
lab_start_sip_servers 40 || { e2e_fail "sipp servers"; exit 1; }
set_loads() { local s; for s in "${LAB_SERVERS[@]}"; do echo "$1" >"$LAB_RUN/load-$s"; done; }
# 0.7 from the first report: a step from below would let the load estimate's trend
# overshoot T2 and move it down (eq 4), closing admission instead of shedding.
set_loads 0.7
for s in "${LAB_SERVERS[@]}"; do
	lab_bg "agent-$s" "$s" timeout 40 "$AGENT" -c "$LAB_CFG" --id "$s" --foreground \
		--app-load "file:$LAB_RUN/load-$s" --components backlog
done
status_json() { lab_in dsp timeout 5 "$CTL" -c "$LAB_CFG" status --json 2>/dev/null; }
admission() {
	status_json | python3 -c "import json,sys; print(json.load(sys.stdin)['admission'][sys.argv[1]])" "$1" 2>/dev/null
}
daemon_counter() {
	status_json | python3 -c "import json,sys; print(json.load(sys.stdin)['daemon'].get(sys.argv[1], 0))" "$1" 2>/dev/null
}
wait_zone() { # wait_zone ZONE TENTHS
	local i
	for ((i = 0; i < $2; i++)); do [ "$(admission zone)" = "$1" ] && return 0; sleep 0.1; done
	return 1
}

# CLIENT: INVITEs from 198.18.0.11 (Via with ";oc;oc-algo=\"loss\"") and from 198.18.0.12
# (plain Via), COUNT each, 20 ms apart; then every response for 3 s, one line each:
# "oc|plain STATUS top-Via".
cat >"$LAB_RUN/oc_client.py" <<'PY'
import select, socket, sys, time
vip, count, tag = sys.argv[1], int(sys.argv[2]), sys.argv[3]
clients = {"oc": ("198.18.0.11", 5070, ";oc;oc-algo=\"loss\""), "plain": ("198.18.0.12", 5072, "")}
socks = {}
for name, (src, port, via_extra) in clients.items():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, port))
    socks[s] = name
for i in range(count):
    for s, name in socks.items():
        src, port, via_extra = clients[name]
        sdp = "v=0\r\no=a 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\nm=audio %d RTP/AVP 8\r\n" % (
            src, src, 7000 + 2 * i)
        msg = ("INVITE sip:bob@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s:%d;branch=z9hG4bK-%s-%s-%d%s\r\n"
               "Max-Forwards: 70\r\nFrom: <sip:a@%s>;tag=%s%d\r\nTo: <sip:bob@%s>\r\n"
               "Call-ID: %s-%s-%d@%s\r\nCSeq: 1 INVITE\r\nContact: <sip:a@%s:%d>\r\n"
               "Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s") % (
               vip, src, port, tag, name, i, via_extra, src, name, i, vip, tag, name, i, src, src, port,
               len(sdp), sdp)
        s.sendto(msg.encode(), (vip, 5060))
    time.sleep(0.02)
end = time.time() + 3
while time.time() < end:
    ready, _, _ = select.select(list(socks), [], [], 0.2)
    for s in ready:
        data, peer = s.recvfrom(65535)
        lines = data.decode(errors="replace").split("\r\n")
        via = next((l for l in lines if l.lower().startswith(("via:", "v:"))), "-")
        print(socks[s], lines[0].split(" ")[1] if lines[0].startswith("SIP/2.0 ") else "?", via)
PY
run_clients() { # run_clients COUNT TAG
	lab_in cli timeout 15 python3 "$LAB_RUN/oc_client.py" "$LAB_VIP" "$1" "$2" >"$LAB_RUN/logs/oc-$2.out" \
		2>"$LAB_RUN/logs/oc-$2.err"
}

wait_zone shed 60 || e2e_fail "admission zone $(admission zone) (x $(admission load)), want shed at load 0.7"
# A few calls first: the admitted ones' 200s make sara-gw announce their media to sarad,
# which is how sarad learns where to send its state.
run_clients 6 warm
grep -c '^oc 200 ' "$LAB_RUN/logs/oc-warm.out" | sed 's/^/  warm: 200s to the oc client: /'
grep -q ' 200 ' "$LAB_RUN/logs/oc-warm.out" || e2e_fail "no call admitted at load 0.7"
sleep 1.2
p=$(admission refuse_new_p)
want_oc=$(python3 -c "print(round(100 * float('$p')))")
echo "overload: zone $(admission zone), x $(admission load), refuse_new_p $p: oc should read $want_oc"
run_clients 20 shed
awk '{ print $1, $2 }' "$LAB_RUN/logs/oc-shed.out" | sort | uniq -c | sed 's/^/  responses: /'
grep -m2 '^oc 503' "$LAB_RUN/logs/oc-shed.out" | sed 's/^/  /'
grep -m2 '^oc 200' "$LAB_RUN/logs/oc-shed.out" | sed 's/^/  /'
grep -m1 '^plain 503' "$LAB_RUN/logs/oc-shed.out" | sed 's/^/  /'
oc503=$(grep -c "^oc 503 .*;oc=$want_oc;oc-validity=2000;oc-seq=[0-9]*\.[0-9]*;oc-algo=\"loss\"" "$LAB_RUN/logs/oc-shed.out")
warm503=$(grep -c '^oc 503 .*;oc=[0-9]*;oc-validity=2000;' "$LAB_RUN/logs/oc-warm.out")
ocsrv=$(grep -c "^oc [12][0-9][0-9] .*;oc=$want_oc;oc-validity=2000;oc-seq=[0-9]*\.[0-9]*;oc-algo=\"loss\"" "$LAB_RUN/logs/oc-shed.out")
oc_all=$(grep -c '^oc ' "$LAB_RUN/logs/oc-shed.out")
oc_with=$(grep -c '^oc .*;oc=[0-9]' "$LAB_RUN/logs/oc-shed.out")
plain_all=$(grep -c '^plain ' "$LAB_RUN/logs/oc-shed.out")
plain_oc=$(grep -c '^plain .*oc' "$LAB_RUN/logs/oc-shed.out")
plain503=$(grep -c '^plain 503' "$LAB_RUN/logs/oc-shed.out")
plainsrv=$(grep -c '^plain [12][0-9][0-9]' "$LAB_RUN/logs/oc-shed.out")
echo "oc client: $oc_all responses, $oc_with with oc ($oc503 sarad 503s, $ocsrv server responses with oc=$want_oc)"
echo "plain client: $plain_all responses ($plain503 503s, $plainsrv from the servers), $plain_oc mention oc"
[ "$oc503" -ge 1 ] || e2e_fail "no 503 from sarad with oc=$want_oc to the oc client"
[ "$ocsrv" -ge 1 ] || e2e_fail "no server response with oc=$want_oc to the oc client"
[ "$oc_all" -ge 20 ] && [ "$oc_with" -eq "$oc_all" ] || e2e_fail "$oc_with of $oc_all responses to the oc client carry oc"
[ "$plain503" -ge 1 ] && [ "$plainsrv" -ge 1 ] || e2e_fail "the plain client got $plain503 503s and $plainsrv server responses, want both"
[ "$plain_oc" -eq 0 ] || e2e_fail "$plain_oc responses to the plain client mention oc"

sent=$(daemon_counter oc_states_sent)
with_oc=$(status_json | python3 -c "import json,sys; print(json.load(sys.stdin)['daemon'].get('reply_503_oc', 0))")
gw_pid=$(pgrep -P "$LAB_GW_PID" | head -1)   # LAB_GW_PID is timeout(1), sara-gw its child
kill -USR1 "$gw_pid"
sleep 0.3
gw_line=$(grep 'event=counters' "$LAB_RUN/logs/sara-gw.log" | grep 'group=daemon' | tail -1)
gw_added=$(sed -n 's/.* oc_added=\([0-9]*\).*/\1/p' <<<"$gw_line")
gw_taken=$(sed -n 's/.* oc_states_taken=\([0-9]*\).*/\1/p' <<<"$gw_line")
gw_plain=$(sed -n 's/.* oc_not_advertised=\([0-9]*\).*/\1/p' <<<"$gw_line")
echo "sarad: oc_states_sent $sent, reply_503_oc $with_oc; sara-gw: oc_states_taken $gw_taken, oc_added $gw_added, oc_not_advertised $gw_plain"
[ "${sent:-0}" -ge 2 ] || e2e_fail "sarad sent $sent states to the gateway"
[ "${with_oc:-0}" -eq $((oc503 + warm503)) ] || e2e_fail "reply_503_oc $with_oc, want $((oc503 + warm503)) (the oc client's 503s)"
[ "${gw_taken:-0}" -ge 2 ] || e2e_fail "sara-gw took ${gw_taken:-none} states"
[ "${gw_added:-0}" -ge "$ocsrv" ] || e2e_fail "sara-gw oc_added ${gw_added:-none}, want >= $ocsrv"
[ "${gw_plain:-0}" -ge "$plainsrv" ] || e2e_fail "sara-gw oc_not_advertised ${gw_plain:-none}, want >= $plainsrv"
for p in "${LAB_UAS_PIDS[@]}"; do lab_stop TERM "$p" 20; done
lab_cap_stop

# The captures: the oc client's responses carry oc on the wire, the plain client's never;
# the servers sent theirs without it (sara-gw wrote it on the way).
cli_oc=$(e2e_count "$LAB_RUN/cap/cli.pcap" "ip.src == $LAB_VIP && ip.dst == 198.18.0.11 && udp && sip.Via contains \"oc-validity=2000\"")
cli_plain=$(e2e_count "$LAB_RUN/cap/cli.pcap" "ip.src == $LAB_VIP && ip.dst == 198.18.0.12 && udp && frame contains \"oc-\"")
cli_plain_all=$(e2e_count "$LAB_RUN/cap/cli.pcap" "ip.src == $LAB_VIP && ip.dst == 198.18.0.12 && sip.Status-Code")
srv_oc=0 srv_all=0
for s in "${LAB_SERVERS[@]}"; do
	# not the ICMP errors the client sends back once its socket is gone: they quote
	# the rewritten response
	n=$(e2e_count "$LAB_RUN/cap/$s.pcap" "ip.dst == 198.18.0.11 && udp && !icmp && frame contains \"oc-validity\"")
	srv_oc=$((srv_oc + n))
	n=$(e2e_count "$LAB_RUN/cap/$s.pcap" "ip.dst == 198.18.0.11 && !icmp && sip.Status-Code")
	srv_all=$((srv_all + n))
done
echo "captures: $cli_oc responses with oc-validity at the oc client; $cli_plain of $cli_plain_all at the plain client mention oc-; $srv_oc of the $srv_all responses to the oc client left a server with it"
[ "$cli_oc" -ge "$oc_with" ] || e2e_fail "the client's capture shows $cli_oc responses with oc, the client read $oc_with"
[ "$cli_plain_all" -ge "$plain_all" ] && [ "$cli_plain" -eq 0 ] || e2e_fail "plain client capture: $cli_plain of $cli_plain_all with oc-"
[ "$srv_all" -ge "$ocsrv" ] && [ "$srv_oc" -eq 0 ] || e2e_fail "$srv_oc of $srv_all responses left a server with oc already"
[ "$E2E_RC" -eq 0 ] && e2e_ok "RFC 7339 overload control: oc=$want_oc in sarad's 503s and the servers' responses to the oc client only"
exit "$E2E_RC"
