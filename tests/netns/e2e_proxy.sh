#!/usr/bin/env bash
# e2e_proxy: calls relayed into the cluster by kamailio (record-routing proxy on the client
# side, 198.18.0.12) while RTP flows directly from the callers (.10 UDP, .11 TCP to the
# proxy): the signalling source differs from the media's. Every call's packets at exactly
# one server, calls on all 3 servers (2 each: round-robin); every request of a call came
# through the proxy to that one server and was answered to the proxy; every INVITE and the
# 200 to the initial INVITE carry the proxy's Record-Route for that call.
# Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
LAB_PREFIX=sara-e2e-prx-
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
command -v kamailio >/dev/null || { echo "FAIL: kamailio not installed (make deps installs it)"; exit 1; }

e2e_setup 110
lab_cap_start 100 || { e2e_fail "captures"; exit 1; }
lab_start_sip_servers 70 || { e2e_fail "sipp servers"; exit 1; }
mkdir -p "$LAB_RUN/kam"
lab_bg kamailio cli timeout 80 kamailio -f "$LAB_DIR/kamailio-lab.cfg" -DD -E -Y "$LAB_RUN/kam" \
	-P "$LAB_RUN/kam/kamailio.pid" -m 32 -M 8
KAM=$LAB_BGPID
lab_wait_listen cli udp 5060 "$KAM" && lab_wait_listen cli tcp 5060 "$KAM" ||
	{ e2e_fail "kamailio does not listen"; tail -5 "$LAB_RUN/logs/kamailio.log"; exit 1; }

# sipp addresses the VIP in the request URI but sends everything to the proxy (-rsa)
lab_sipp_uac prx-udp u1 198.18.0.10 5070 7000 4 -rsa 198.18.0.12:5060; U=$LAB_BGPID
lab_sipp_uac prx-tcp tn 198.18.0.11 5072 9000 2 -rsa 198.18.0.12:5060; T=$LAB_BGPID
e2e_wait prx-udp=$U prx-tcp=$T
CALLS=6
ok_total=0
for n in prx-udp prx-tcp; do
	read -r ok fail < <(lab_sipp_stats "$n")
	echo "sipp $n: exit ${E2E_ST[$n]}, calls successful $ok failed $fail"
	ok_total=$((ok_total + ok))
	[ "${E2E_ST[$n]}" = 0 ] || e2e_fail "sipp $n exit ${E2E_ST[$n]} (see logs/$n.log)"
done
[ "$ok_total" -eq "$CALLS" ] || e2e_fail "$ok_total of $CALLS calls succeeded"

sleep 0.5
lab_stop TERM "$KAM" 30
for p in "${LAB_UAS_PIDS[@]}"; do lab_stop TERM "$p" 20; done
lab_cap_stop

# the signalling reached the servers from the proxy, the media from the callers
for s in "${LAB_SERVERS[@]}"; do
	med=$(e2e_count "$LAB_RUN/cap/$s.pcap" "(ip.src == 198.18.0.10 || ip.src == 198.18.0.11) && ip.dst == $LAB_VIP && udp && !(udp.dstport == 5060)")
	echo "$s: $med media packets from the callers"
	[ "$med" -gt 0 ] || e2e_fail "$s: no media from the callers"
done

# Every SIP message each server saw, one line each: server, source, destination, Call-ID,
# request method, CSeq, status, From tag, Record-Route entries (";"-joined).
for s in "${LAB_SERVERS[@]}"; do
	timeout 60 tshark -n -r "$LAB_RUN/cap/$s.pcap" -Y sip -T fields -E separator='|' \
		-E occurrence=a -E aggregator=';' -e ip.src -e ip.dst -e sip.Call-ID -e sip.Method \
		-e sip.CSeq -e sip.Status-Code -e sip.from.tag -e sip.Record-Route 2>/dev/null |
		sed "s/^/$s|/"
done >"$LAB_RUN/sip-at-servers.txt"
# The proxy's share, per call and per server. Per call (uac-hold.xml): the INVITE and two
# re-INVITEs, their ACKs and the BYE (7 requests) all through the proxy and all at one
# server, answered to the proxy (180, a 200 per INVITE and one for the BYE). The proxy
# record-routes every INVITE (kamailio-lab.cfg: record_route() for initial and in-dialog
# INVITEs): each carries the proxy's entry with the call's From tag as ftag, two entries
# (r2=on, UDP and TCP) for the calls from the TCP caller 198.18.0.11; the server's 200 to
# the initial INVITE copies them (uas-media.xml), so 4 messages per call carry them.
# Round-robin spreads the 6 calls 2 per server: 14 requests and 8 Record-Routes each.
/usr/bin/python3 - "$LAB_RUN/sip-at-servers.txt" "$CALLS" "${LAB_SERVERS[@]}" <<'PY' >"$LAB_RUN/proxy-check.txt"
import collections, re, sys
path, calls, servers = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
PROXY, VIP = "198.18.0.12", "198.18.77.20"
problems = []
at = collections.defaultdict(set)           # Call-ID -> servers
requests = collections.defaultdict(set)     # Call-ID -> {(CSeq, method)}
responses = collections.defaultdict(set)    # Call-ID -> {(CSeq, status)}
rr = collections.defaultdict(dict)          # Call-ID -> {message: Record-Route entries}
tags = {}
for line in open(path):
    server, src, dst, cid, method, cseq, status, ftag, route = line.rstrip("\n").split("|")
    at[cid].add(server)
    tags[cid] = ftag
    if method:
        requests[cid].add((cseq, method))
        if src != PROXY or dst != VIP:
            problems.append("%s: %s %s from %s to %s, not from the proxy" % (server, cid, cseq, src, dst))
    else:
        responses[cid].add((cseq, status))
        if src != VIP or dst != PROXY:
            problems.append("%s: %s %s %s from %s to %s, not to the proxy" % (server, cid, status, cseq, src, dst))
    if route:
        rr[cid][(cseq, method or status)] = re.findall(r"<([^>]*)>", route)
want_requests = {("1 INVITE", "INVITE"), ("1 ACK", "ACK"), ("2 INVITE", "INVITE"), ("2 ACK", "ACK"),
                 ("3 INVITE", "INVITE"), ("3 ACK", "ACK"), ("4 BYE", "BYE")}
want_responses = {("1 INVITE", "180"), ("1 INVITE", "200"), ("2 INVITE", "200"), ("3 INVITE", "200"),
                  ("4 BYE", "200")}
want_rr = {("1 INVITE", "INVITE"), ("2 INVITE", "INVITE"), ("3 INVITE", "INVITE"), ("1 INVITE", "200")}
per_server = collections.Counter()
rr_per_server = collections.Counter()
for cid in sorted(at):
    where = sorted(at[cid])
    if len(where) != 1:
        problems.append("call %s at %s, want one server" % (cid, ",".join(where)))
    per_server[where[0]] += 1
    if requests[cid] != want_requests:
        problems.append("call %s: requests %s, want %s" % (cid, sorted(requests[cid]), sorted(want_requests)))
    if responses[cid] != want_responses:
        problems.append("call %s: responses %s, want %s" % (cid, sorted(responses[cid]), sorted(want_responses)))
    if set(rr[cid]) != want_rr:
        problems.append("call %s: Record-Route in %s, want %s" % (cid, sorted(rr[cid]), sorted(want_rr)))
    entries = 2 if cid.endswith("@198.18.0.11") else 1
    for msg, route in rr[cid].items():
        good = [e for e in route if e.startswith("sip:%s;" % PROXY) and
                re.search(r";ftag=([^;]*)", e) and re.search(r";ftag=([^;]*)", e).group(1) == tags[cid]]
        if len(route) != entries or len(good) != entries:
            problems.append("call %s %s: Record-Route %s, want %d entries of the proxy with ftag=%s"
                            % (cid, msg, route, entries, tags[cid]))
    rr_per_server[where[0]] += len(rr[cid])
for s in servers:
    n_req = sum(len(requests[c]) for c in at if sorted(at[c]) == [s])
    print("%s: %d calls, %d requests from the proxy, %d messages with its Record-Route"
          % (s, per_server[s], n_req, rr_per_server[s]))
    if per_server[s] != calls // len(servers):
        problems.append("%s: %d calls, want %d (round-robin)" % (s, per_server[s], calls // len(servers)))
if len(at) != calls:
    problems.append("%d calls at the servers, want %d" % (len(at), calls))
for p in problems:
    print("problem: " + p)
PY
grep -v '^problem: ' "$LAB_RUN/proxy-check.txt"
while IFS= read -r p; do e2e_fail "${p#problem: }"; done < <(grep '^problem: ' "$LAB_RUN/proxy-check.txt")

e2e_observed "$CALLS" 3
e2e_crossings 4
[ "$E2E_RC" -eq 0 ] && echo "PASS e2e_proxy" || echo "FAIL e2e_proxy"
exit "$E2E_RC"
