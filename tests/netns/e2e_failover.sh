#!/usr/bin/env bash
# e2e_failover: node agents on the 3 lab servers; 6 calls with 7 s of RTP spread
# round-robin; s2's agent is killed 2.5 s in. sarad fails s2 after misses x interval,
# re-pins its calls evenly over s1 and s3 and rewrites their connmarks, so each of s2's
# media flows continues at s1 or s3 (one each), while the others stay where they were.
# Then `sara-ctl drain s3`: new calls go to s1 only; `undrain s3` brings s3 back.
# Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
LAB_PREFIX=sara-e2e-fv-
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# No slow start: a server whose agent answers after sarad has counted it
# failed would join ramping and miss its round-robin turns (agent_sarad
# tests slow start). No admission: the agents read this host's own load,
# and a busy CI host (a disk flush) would refuse calls this test counts
# (e2e_admission tests admission, with loads it sets).
E2E_CFG_EXTRA='agents = { listen = "198.18.2.1:7400"; interval_ms = 200; misses = 3; };
selection = { algorithm = "round-robin"; slow_start_s = 0; };
admission = { enabled = false; };'
e2e_setup 110
CTL=$(lab_bin sara-ctl) AGENT=$(lab_bin sara-agent)
grep -q drain <<<"$("$CTL" --help 2>&1)" || { e2e_fail "sara-ctl (${CTL:-not built}) has no drain command"; exit 1; }
lab_cap_start 100 || { e2e_fail "captures"; exit 1; }
lab_start_sip_servers 70 || { e2e_fail "sipp servers"; exit 1; }
declare -A AGENT_PID
for s in "${LAB_SERVERS[@]}"; do
	lab_bg "agent-$s" "$s" timeout 100 "$AGENT" -c "$LAB_CFG" --id "$s" --foreground
	AGENT_PID[$s]=$LAB_BGPID
done
ctl() { lab_in dsp timeout 5 "$CTL" -c "$LAB_CFG" "$@"; }
# state S: the health state of server S in `sara-ctl servers --json`
state() {
	ctl servers --json 2>/dev/null | python3 -c "import json,sys
d = json.load(sys.stdin)
print([s for s in d['servers'] if s['id'] == sys.argv[1]][0]['state'])" "$1" 2>/dev/null
}
wait_state() { # wait_state S STATE TENTHS
	local i
	for ((i = 0; i < $3; i++)); do [ "$(state "$1")" = "$2" ] && return 0; sleep 0.1; done
	return 1
}
for s in "${LAB_SERVERS[@]}"; do wait_state "$s" up 50 || e2e_fail "$s not up after 5 s"; done

LAB_UAC_XML=uac-long.xml lab_sipp_uac long u1 198.18.0.10 5060 7000 6; U=$LAB_BGPID
sleep 2.5
kill_at=$(date +%s.%N)
lab_stop TERM "${AGENT_PID[s2]}" 20
wait_state s2 failed 30 || e2e_fail "s2 not failed 3 s after its agent stopped"
failed_at=$(date +%s.%N)
echo "s2's agent stopped at $kill_at, s2 failed at $failed_at"
grep -h "event=server_failed server=s2" "$LAB_RUN/logs/sarad.log" | sed 's/^/sarad: /'

ctl drain s3 >"$LAB_RUN/logs/drain.out" 2>&1 || e2e_fail "sara-ctl drain s3: $(cat "$LAB_RUN/logs/drain.out")"
drain_at=$(date +%s.%N)
LAB_UAC_XML=uac-media.xml lab_sipp_uac drained u1 198.18.0.11 5062 7600 4; D=$LAB_BGPID
E2E_WAIT_TENTHS=200 e2e_wait drained=$D
ctl undrain s3 >"$LAB_RUN/logs/undrain.out" 2>&1 || e2e_fail "sara-ctl undrain s3"
undrain_at=$(date +%s.%N)
LAB_UAC_XML=uac-media.xml lab_sipp_uac undrained u1 198.18.0.12 5064 7800 6; N=$LAB_BGPID
E2E_WAIT_TENTHS=250 e2e_wait long=$U undrained=$N
ctl servers >"$LAB_RUN/logs/servers.txt" 2>&1; sed 's/^/servers: /' "$LAB_RUN/logs/servers.txt"
moved=$(ctl status --json | python3 -c "import json,sys; print(json.load(sys.stdin)['daemon'].get('connmarks_moved', 0))")
sleep 0.3
for p in "${LAB_UAS_PIDS[@]}"; do lab_stop TERM "$p" 20; done
lab_cap_stop

# media flows (client -> VIP, not 5060) of the long calls: servers before the failure
# and after it (+0.5 s for the failure to be acted on)
after=$(echo "$failed_at + 0.5" | bc)
for s in "${LAB_SERVERS[@]}"; do
	timeout 60 tshark -n -r "$LAB_RUN/cap/$s.pcap" \
		-Y "ip.src == 198.18.0.10 && ip.dst == $LAB_VIP && udp && !icmp && !(udp.dstport == 5060)" \
		-T fields -e frame.time_epoch -e ip.src -e udp.srcport -e udp.dstport 2>/dev/null |
		awk -v s="$s" -v k0="$kill_at" -v t="$after" '{ k = $2 ":" $3 ">" $4;
			if ($1 > t) a[k]++; else if ($1 < k0) b[k]++ }
			END { for (k in b) print k, s, "before", b[k]; for (k in a) print k, s, "after", a[k] }'
done >"$LAB_RUN/flows.txt"
n_moved=0 n_kept=0 to_s1=0 to_s3=0
for f in $(awk '{ print $1 }' "$LAB_RUN/flows.txt" | sort -u); do
	b=$(awk -v f="$f" '$1 == f && $3 == "before" { print $2 }' "$LAB_RUN/flows.txt" | sort -u | paste -sd,)
	a=$(awk -v f="$f" '$1 == f && $3 == "after" { print $2 }' "$LAB_RUN/flows.txt" | sort -u | paste -sd,)
	npost=$(awk -v f="$f" '$1 == f && $3 == "after" { n += $4 } END { print n + 0 }' "$LAB_RUN/flows.txt")
	echo "media $f: before ${b:--}, after ${a:--} ($npost packets)"
	[ "$npost" -ge 50 ] || e2e_fail "media flow $f: only $npost packets after the failure"
	if [ "$b" = s2 ]; then
		n_moved=$((n_moved + 1))
		case $a in
		s1) to_s1=$((to_s1 + 1)) ;;
		s3) to_s3=$((to_s3 + 1)) ;;
		*) e2e_fail "media flow $f of failed s2 went to ${a:--}, want s1 or s3" ;;
		esac
	else
		n_kept=$((n_kept + 1))
		[ -n "$b" ] && [ "$a" = "$b" ] || e2e_fail "media flow $f of a healthy server moved: ${b:--} -> ${a:--}"
	fi
done
echo "s2's media flows re-pinned: $n_moved ($to_s1 to s1, $to_s3 to s3); others kept: $n_kept; connmarks_moved $moved"
[ "$n_moved" -eq 2 ] || e2e_fail "$n_moved media flows were at s2, want 2 (6 calls round-robin)"
[ "$to_s1" -eq 1 ] && [ "$to_s3" -eq 1 ] || e2e_fail "not spread evenly: $to_s1 to s1, $to_s3 to s3"
[ "$n_kept" -eq 4 ] || e2e_fail "$n_kept media flows on s1/s3, want 4"
[ "${moved:-0}" -ge 2 ] || e2e_fail "connmarks_moved $moved, want >= 2"

# INVITEs per server between drain and undrain, and after the undrain
invites() { # invites SERVER FROM TO CLIENT
	timeout 60 tshark -n -r "$LAB_RUN/cap/$1.pcap" \
		-Y "sip.Method == \"INVITE\" && ip.src == $4 && frame.time_epoch > $2 && frame.time_epoch < $3" \
		-T fields -e sip.Call-ID 2>/dev/null | sort -u | wc -l
}
d1=$(invites s1 "$drain_at" "$undrain_at" 198.18.0.11) d2=$(invites s2 "$drain_at" "$undrain_at" 198.18.0.11)
d3=$(invites s3 "$drain_at" "$undrain_at" 198.18.0.11)
echo "calls while s3 drained and s2 failed: s1 $d1, s2 $d2, s3 $d3"
[ "$d1" -eq 4 ] && [ "$d2" -eq 0 ] && [ "$d3" -eq 0 ] || e2e_fail "drained s3 or failed s2 got new calls"
end_at=$(( $(date +%s) + 60 ))
u3=$(invites s3 "$undrain_at" "$end_at" 198.18.0.12) u1=$(invites s1 "$undrain_at" "$end_at" 198.18.0.12)
echo "calls after undrain s3: s1 $u1, s3 $u3"
[ "$u3" -ge 2 ] || e2e_fail "undrained s3 got $u3 of 6 new calls"
read -r ok fail < <(lab_sipp_stats undrained)
[ "$ok" -eq 6 ] || e2e_fail "after undrain: $ok of 6 calls succeeded"
[ "$E2E_RC" -eq 0 ] && echo "PASS e2e_failover" || echo "FAIL e2e_failover"
exit "$E2E_RC"
