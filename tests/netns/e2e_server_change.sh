#!/usr/bin/env bash
# e2e_server_change: servers changed by SIGHUP under calls. The cluster starts with s1 and
# s2; with calls in progress on both (SIP over UDP and TCP, uac-restart.xml: re-INVITE,
# UPDATE, BYE later), s2 is removed and s3 added: `sara-ctl rules --apply` adds s3's policy
# rule and keeps s2's (sarad still routes s2's calls), then SIGHUP. The calls in progress
# complete on their servers (the servers' captures judged by sara-replay --observed), new
# calls go to s1 and s3 only, sara-ctl servers shows s2 removed while it drains; once its
# calls and connections are gone sarad says so and `rules --apply` prunes its rule, the
# others' untouched. Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
LAB_PREFIX=sara-e2e-sc-
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/restart_lib.sh"

# s3 not listed at first; short signalling timeouts, so that s2's TCP connections idle
# out soon after their calls; a short slow start, so that s3 takes its share of new calls
# a few seconds after it joins
E2E_CFG_SED='/id = "s3"/d; s/mark = 2; table = 102; },/mark = 2; table = 102; }/; s/signalling_s = 30;/signalling_s = 10;/'
E2E_CFG_EXTRA='selection = { algorithm = "round-robin"; slow_start_s = 2; };'
e2e_setup 120
lab_cap_start 110 || { e2e_fail "captures"; exit 1; }
restart_servers 90 || { e2e_fail "servers"; exit 1; }
ctl=$(lab_bin sara-ctl)
rule_lines() { lab_in dsp ip rule show | grep -E "fwmark 0x$1 " ; }

# Calls in progress on s1 and s2: 4 over UDP, 2 over TCP; their in-dialog requests 7 s on
LAB_UAC_XML=uac-restart.xml lab_sipp_uac calls-udp u1 198.18.0.10 5070 7000 4 -d 7000; A=$LAB_BGPID
LAB_UAC_XML=uac-restart.xml lab_sipp_uac calls-tcp tn 198.18.0.11 5071 9000 2 -d 7000; B=$LAB_BGPID
sleep 2

# s2 out, s3 in
s1_rule=$(rule_lines 1)
sed -i -e 's/{ id = "s2"; address = "198.18.2.12"; mark = 2; table = 102; }/{ id = "s3"; address = "198.18.2.13"; mark = 3; table = 103; }/' "$LAB_CFG"
grep -n 'id = "s' "$LAB_CFG" | sed 's/^/  config: /'
out=$(lab_in dsp "$ctl" -c "$LAB_CFG" rules --apply 2>&1) || e2e_fail "rules --apply with s3: $out"
echo "$out" | sed 's/^/  /'
[ -n "$(rule_lines 3)" ] || e2e_fail "no policy rule for s3 (mark 3) after rules --apply"
[ -n "$(rule_lines 2)" ] || e2e_fail "s2's policy rule went while sarad still routes its calls"
[ "$(rule_lines 1)" = "$s1_rule" ] || e2e_fail "s1's policy rule was touched: [$s1_rule] -> [$(rule_lines 1)]"
kill -HUP "$(sarad_pid)"
sleep 0.3
grep -E "SIGHUP|server s[23]" "$LAB_RUN/logs/sarad.log" | sed 's/^/  sarad: /'
grep -q "server s3 added" "$LAB_RUN/logs/sarad.log" || e2e_fail "sarad did not add s3"
grep -q "server s2 removed: no new sessions" "$LAB_RUN/logs/sarad.log" || e2e_fail "sarad did not remove s2"
servers=$(timeout 5 "$ctl" -c "$LAB_CFG" servers 2>&1)
echo "$servers" | sed 's/^/  /'
printf '%s\n' "$servers" | grep -E '^s2 ' | grep -q removed || e2e_fail "sara-ctl servers does not show s2 removed"

# New calls once s3's slow start is over: s1 and s3 only
sleep 2.5
LAB_UAC_XML=uac-hold.xml lab_sipp_uac new-udp u1 198.18.0.12 5072 7400 4; C=$LAB_BGPID
E2E_WAIT_TENTHS=300 e2e_wait calls-udp=$A calls-tcp=$B new-udp=$C
for n in calls-udp:4 calls-tcp:2 new-udp:4; do
	read -r ok fail < <(lab_sipp_stats "${n%:*}")
	echo "sipp ${n%:*}: exit ${E2E_ST[${n%:*}]}, calls successful $ok failed $fail"
	[ "${E2E_ST[${n%:*}]}" = 0 ] && [ "$ok" -eq "${n#*:}" ] ||
		e2e_fail "sipp ${n%:*}: $ok of ${n#*:} calls succeeded (see logs/${n%:*}.log)"
done

# s2 drains: its calls ended, its TCP connections idle out, then it is gone
gone=
for _ in $(seq 300); do
	grep -q "server s2 gone" "$LAB_RUN/logs/sarad.log" && { gone=1; break; }
	sleep 0.1
done
[ -n "$gone" ] && echo "  sarad: $(grep -o 'server s2 gone.*' "$LAB_RUN/logs/sarad.log")" ||
	e2e_fail "s2 was not freed after its calls ended"
out=$(lab_in dsp "$ctl" -c "$LAB_CFG" rules --apply 2>&1) || e2e_fail "rules --apply after s2 drained: $out"
echo "$out" | sed 's/^/  /'
[ -z "$(rule_lines 2)" ] || e2e_fail "s2's policy rule is still there once it drained"
[ "$(rule_lines 1)" = "$s1_rule" ] || e2e_fail "s1's policy rule was touched"
[ -n "$(rule_lines 3)" ] || e2e_fail "s3's policy rule went"

sleep 0.5
for p in "${LAB_UAS_PIDS[@]}" "${LAB_RTSP_PIDS[@]}"; do lab_stop TERM "$p" 20; done
lab_cap_stop
# the new calls (from 198.18.0.12) at s1 and s3 only
for s in "${LAB_SERVERS[@]}"; do
	n=$(e2e_count "$LAB_RUN/cap/$s.pcap" 'sip.Method == "INVITE" && ip.src == 198.18.0.12 && !(sip.To contains "tag=")')
	echo "$s: $n new calls"
	eval "new_$s=$n"
done
[ "$new_s2" -eq 0 ] || e2e_fail "$new_s2 new calls reached the removed s2"
[ "$new_s3" -ge 1 ] || e2e_fail "no new call reached the added s3"
[ $((new_s1 + new_s3)) -eq 4 ] || e2e_fail "$((new_s1 + new_s3)) of 4 new calls at s1 and s3"
# sara-replay judges the captures against every server that took part
sed -e 's/{ id = "s3"; address = "198.18.2.13"; mark = 3; table = 103; }/{ id = "s2"; address = "198.18.2.12"; mark = 2; table = 102; },\n  &/' \
	"$LAB_CFG" >"$LAB_RUN/observed.cfg"
LAB_CFG=$LAB_RUN/observed.cfg e2e_observed 10 3
[ "$E2E_RC" -eq 0 ] && echo "PASS e2e_server_change" || echo "FAIL e2e_server_change"
exit "$E2E_RC"
