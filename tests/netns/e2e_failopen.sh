#!/usr/bin/env bash
# e2e_failopen: calls with 7 s of RTP through sarad; sarad is killed (SIGKILL, by PID) 2.5 s
# into the calls. The queue is fail-open and the media flows' connmarks stay in the kernel,
# so every established media flow keeps arriving at the server it had before the kill.
# Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
LAB_PREFIX=sara-e2e-fo-
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_setup 110
lab_cap_start 100 || { e2e_fail "captures"; exit 1; }
lab_start_sip_servers 70 || { e2e_fail "sipp servers"; exit 1; }

LAB_UAC_XML=uac-long.xml lab_sipp_uac long-udp u1 198.18.0.10 5060 7000 3; U=$LAB_BGPID
LAB_UAC_XML=uac-long.xml lab_sipp_uac long-tcp tn 198.18.0.11 5064 9000 3; T=$LAB_BGPID
sleep 2.5
if [ "$E2E_SARAD" = 1 ]; then
	# the sarad process itself (the PID we hold is its `timeout` wrapper)
	sarad_pid=$(pgrep -P "$LAB_SARAD_PID" | head -1)
	[ -n "$sarad_pid" ] || { e2e_fail "sarad is not running before the kill"; exit 1; }
	disown "$LAB_SARAD_PID"   # its death by SIGKILL is expected: no job report
	kill_at=$(date +%s.%N)
	kill -KILL "$sarad_pid"
	lab_wait_exit "$LAB_SARAD_PID" 30 || e2e_fail "sarad still running after SIGKILL"
	echo "sarad (pid $sarad_pid) killed at $kill_at"
else
	kill_at=$(date +%s.%N)
	echo "no sarad: reference point $kill_at"
fi
# what the kernel did after the kill: the queue has no listener, packets bypass it
lab_in dsp cat /proc/net/netfilter/nfnetlink_queue | sed 's/^/nfnetlink_queue: /'

E2E_WAIT_TENTHS=250 e2e_wait long-udp=$U long-tcp=$T
for n in long-udp long-tcp; do
	read -r ok fail < <(lab_sipp_stats "$n")
	echo "sipp $n: exit ${E2E_ST[$n]}, calls successful $ok failed $fail (BYEs after the kill may be misrouted)"
done
sleep 0.3
for p in "${LAB_UAS_PIDS[@]}"; do lab_stop TERM "$p" 20; done
lab_cap_stop
echo "dispatcher chain SARA (packets per rule):"
lab_sara_rule_counts | sed 's/^/  /'

# per media flow (client -> VIP, not 5060): the servers that got it before and after the kill
after=$(echo "$kill_at + 0.2" | bc)
for s in "${LAB_SERVERS[@]}"; do
	timeout 60 tshark -n -r "$LAB_RUN/cap/$s.pcap" \
		-Y "ip.dst == $LAB_VIP && udp && !icmp && !(udp.dstport == 5060)" \
		-T fields -e frame.time_epoch -e ip.src -e udp.srcport -e udp.dstport 2>/dev/null |
		awk -v s="$s" -v t="$after" '{ k = $2 ":" $3 ">" $4; if ($1 > t) a[k]++; else b[k]++ }
			END { for (k in b) print k, s, "before", b[k]; for (k in a) print k, s, "after", a[k] }'
done >"$LAB_RUN/flows-kill.txt"
flows=$(awk '{ print $1 }' "$LAB_RUN/flows-kill.txt" | sort -u)
nflows=0
for f in $flows; do
	nflows=$((nflows + 1))
	before_srv=$(awk -v f="$f" '$1 == f && $3 == "before" { print $2 }' "$LAB_RUN/flows-kill.txt" | sort -u | paste -sd,)
	after_srv=$(awk -v f="$f" '$1 == f && $3 == "after" { print $2 }' "$LAB_RUN/flows-kill.txt" | sort -u | paste -sd,)
	npre=$(awk -v f="$f" '$1 == f && $3 == "before" { n += $4 } END { print n + 0 }' "$LAB_RUN/flows-kill.txt")
	npost=$(awk -v f="$f" '$1 == f && $3 == "after" { n += $4 } END { print n + 0 }' "$LAB_RUN/flows-kill.txt")
	echo "media $f: before the kill $npre packets at ${before_srv:--}, after $npost packets at ${after_srv:--}"
	[ -n "$before_srv" ] && [ "$before_srv" = "$after_srv" ] || e2e_fail "media flow $f moved: ${before_srv:--} -> ${after_srv:--}"
	[ "$npost" -ge 100 ] || e2e_fail "media flow $f: only $npost packets after the kill"
done
[ "$nflows" -eq 6 ] || e2e_fail "$nflows media flows seen, want 6"
used=$(awk '{ print $2 }' "$LAB_RUN/flows-kill.txt" | sort -u | wc -l)
echo "media flows $nflows on $used servers"
[ "$used" -ge 2 ] || e2e_fail "media flows on $used servers only (the check needs sessions spread)"
[ "$E2E_RC" -eq 0 ] && echo "PASS e2e_failopen" || echo "FAIL e2e_failopen"
exit "$E2E_RC"
