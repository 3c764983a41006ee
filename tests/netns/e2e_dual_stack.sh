#!/usr/bin/env bash
# e2e_dual_stack: a dual-stack cluster (an IPv4 and an IPv6 VIP; each server with an
# address and an address6) taking sipp calls over UDP and TCP on both VIPs at once, RTP
# both ways: every packet of every call at exactly one server, the calls of each family
# spread over the servers, each server's mark routed by ip rule and ip -6 rule alike.
# Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
LAB_PREFIX=sara-e2e-dual-
LAB_IPV6=1
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

E2E_CFG_SED="s|^vips = .*|vips = [ \"$LAB_VIP\", \"$LAB_VIP6\" ];|; s|address = \"198\.18\.2\.1\([1-3]\)\";|address = \"198.18.2.1\1\"; address6 = \"fd00:2::1\1\";|"
e2e_setup 60
[ "$(grep -c 'address6 = "fd00:2::1[1-3]"' "$LAB_CFG")" -eq 3 ] || { e2e_fail "the config's servers have no address6"; exit 1; }
for fam in "" -6; do
	rules=$(lab_in dsp ip $fam rule show)
	for i in 1 2 3; do
		grep -q "fwmark 0x$i lookup 10$i" <<<"$rules" || e2e_fail "no ip $fam rule for mark $i"
	done
done
routes=$(lab_in dsp ip route show table 103)
grep -q "$LAB_VIP via 198.18.2.13" <<<"$routes" || e2e_fail "no IPv4 route in table 103"
routes=$(lab_in dsp ip -6 route show table 103)
grep -q "$LAB_VIP6 via fd00:2::13" <<<"$routes" || e2e_fail "no IPv6 route in table 103"

lab_cap_start 50 || { e2e_fail "captures"; exit 1; }
e2e_cap_client_start 50 || { e2e_fail "client capture"; exit 1; }
LAB_UAS_VIPS="$LAB_VIP $LAB_VIP6" lab_start_sip_servers 40 || { e2e_fail "sipp servers"; exit 1; }

# on each VIP: 3 UDP calls (one shared signalling flow) and 2 TCP calls, all at once
LAB_UAC_VIP=$LAB_VIP lab_sipp_uac udp4 u1 198.18.0.10 5060 7000 3; A4=$LAB_BGPID
LAB_UAC_VIP=$LAB_VIP lab_sipp_uac tcp4 tn 198.18.0.11 5064 9000 2; T4=$LAB_BGPID
LAB_UAC_VIP=$LAB_VIP6 lab_sipp_uac udp6 u1 fd00::10 5060 7000 3; A6=$LAB_BGPID
LAB_UAC_VIP=$LAB_VIP6 lab_sipp_uac tcp6 tn fd00::11 5064 9000 2; T6=$LAB_BGPID
E2E_WAIT_TENTHS=300 e2e_wait udp4=$A4 tcp4=$T4 udp6=$A6 tcp6=$T6
CALLS=10
ok_total=0
for n in udp4 tcp4 udp6 tcp6; do
	read -r ok fail < <(lab_sipp_stats "$n")
	echo "sipp $n: exit ${E2E_ST[$n]}, calls successful $ok failed $fail"
	ok_total=$((ok_total + ok))
	[ "${E2E_ST[$n]}" = 0 ] || e2e_fail "sipp $n exit ${E2E_ST[$n]} (see logs/$n.log)"
done
[ "$ok_total" -eq "$CALLS" ] || e2e_fail "$ok_total of $CALLS calls succeeded"

sleep 0.5
for p in "${LAB_UAS_PIDS[@]}"; do lab_stop TERM "$p" 20; done
lab_cap_stop

# RTP both ways on each family (each UAC plays 120 packets per call)
for fam in 4 6; do
	if [ $fam = 4 ]; then ipf=ip vip=$LAB_VIP; else ipf=ipv6 vip=$LAB_VIP6; fi
	to_srv=0
	for s in "${LAB_SERVERS[@]}"; do
		n=$(e2e_count "$LAB_RUN/cap/$s.pcap" "$ipf.dst == $vip && udp && !(udp.dstport == 5060)")
		echo "$s: $n IPv$fam media packets from clients"
		to_srv=$((to_srv + n))
	done
	to_cli=$(e2e_count "$LAB_RUN/cap/cli.pcap" "$ipf.src == $vip && udp && !(udp.srcport == 5060)")
	echo "client: $to_cli IPv$fam media packets from the servers"
	[ "$to_srv" -ge $((5 * 120 * 9 / 10)) ] || e2e_fail "only $to_srv IPv$fam client media packets reached the servers"
	[ "$to_cli" -ge $((5 * 120 * 9 / 10)) ] || e2e_fail "only $to_cli IPv$fam server media packets reached the clients"
done

e2e_observed "$CALLS" 3
# each family's calls: 5, intact, on at least 2 servers
fams=$(/usr/bin/python3 - "$LAB_RUN/observed.json" "$LAB_VIP6" <<'PY'
import json, sys
d, vip6 = json.load(open(sys.argv[1])), sys.argv[2]
fam = {"4": [0, 0, set()], "6": [0, 0, set()]}
for x in d["sessions"]:
    f = fam["6" if any(vip6 in fl["dst"] or vip6 in fl["src"] for fl in x["flows"]) else "4"]
    f[0] += 1
    f[1] += x["intact"]
    f[2].add(x.get("server"))
for k in ("4", "6"):
    print(k, fam[k][0], fam[k][1], len(fam[k][2]), ",".join(sorted(s for s in fam[k][2] if s)))
PY
) || { e2e_fail "cannot read sara-replay's JSON"; fams=; }
while read -r fam n intact nservers servers; do
	echo "IPv$fam: $n calls, $intact intact, on $nservers servers ($servers)"
	[ "$n" -eq 5 ] || e2e_fail "IPv$fam: $n calls seen by the servers, want 5"
	[ "$intact" -eq "$n" ] || e2e_fail "IPv$fam: $((n - intact)) calls split over servers"
	[ "$nservers" -ge 2 ] || e2e_fail "IPv$fam calls on $nservers servers, want >= 2"
done <<<"$fams"
e2e_crossings 4
[ "$E2E_RC" -eq 0 ] && echo "PASS e2e_dual_stack" || echo "FAIL e2e_dual_stack"
exit "$E2E_RC"
