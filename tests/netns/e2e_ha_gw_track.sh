#!/usr/bin/env bash
# e2e_ha_gw_track: keepalived watches sara-gw (sara-ctl keepalived's
# vrrp_script, sara-ctl gw-check against gateway.metrics). Two gateways
# under VRRP in the lab with two active dispatchers (tests/lab/ha_lib.sh);
# gw1 holds the shared addresses and announces. SIP calls (UDP and TCP, hold
# and resume re-INVITEs, RTP) from clients of both dispatchers; 1.5 s in,
# only gw1's sara-gw gets stuck (SIGSTOP: its process, metrics thread and
# queue all hold, nothing answers; E2E_GW_TRACK_FAULT=kill: SIGKILL instead):
# gw1's keepalived and links stay up. gw1's
# priority drops below gw2's (equal while both are well): gw2 preempts and
# holds the addresses within TAKEOVER_MAX_MS of the kill, gw1 is backup (no
# FAULT), the calls go on through gw2, and new calls answered after the
# takeover are announced by gw2's sara-gw (every media flow predicted, every
# call on one server: the servers' captures, sara-replay --observed). Then,
# the new calls still on, gw1's sara-gw is killed and starts again (as
# systemd's watchdog and Restart= would do to a stuck one): its priority is back,
# equal to gw2's, and the addresses stay on gw2 (nothing moves back). Last,
# with the calls done, every sara-gw is killed: a gateway still holds the
# addresses (replies forwarded, unannounced, rather than by nobody).
# Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
LAB_PREFIX=sara-e2e-hgt-
HA_GATEWAY_COUNT=2
TAKEOVER_MAX_MS=${TAKEOVER_MAX_MS:-3500}  # 2 failed checks 1 s apart, the check's 0.8 s, VRRP's hand-over
FAULT=${E2E_GW_TRACK_FAULT:-stop}          # stop (stuck) or kill (dead)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$LAB_DIR/ha_lib.sh"

# gw_sent GW: announcements GW's sara-gw has sent (its counters, logged on SIGUSR1)
gw_sent() {
	local log=$LAB_RUN/logs/sara-gw-$1.log before
	before=$(grep -c 'event=counters when=SIGUSR1 group=daemon' "$log")
	kill -USR1 "${HA_GW_PID[$1]}"
	for ((i = 0; i < 20; i++)); do
		[ "$(grep -c 'event=counters when=SIGUSR1 group=daemon' "$log")" -gt "$before" ] && break
		sleep 0.1
	done
	grep 'event=counters when=SIGUSR1 group=daemon' "$log" | tail -1 | grep -o ' sent=[0-9]*' | cut -d= -f2
}

# ka_log GW: GW's keepalived log
ka_log() { cat "$LAB_RUN/logs/keepalived-$1.log" 2>/dev/null; }

ha_setup
for g in gw1 gw2; do
	grep -q 'track_script' "$LAB_RUN/$g/keepalived.conf" || echo "note: $g's keepalived.conf tracks no script"
	lab_in "$g" "$(lab_bin sara-ctl)" -c "$LAB_CFG" gw-check >/dev/null 2>&1 ||
		{ e2e_fail "sara-ctl gw-check in $g: sara-gw not alive at start"; exit 1; }
done
lab_cap_start 100 || { e2e_fail "captures"; exit 1; }
lab_start_sip_servers 70 || { e2e_fail "sipp servers"; exit 1; }

# two client addresses per dispatcher, by the router's own ECMP choice
declare -A picked
clients=()
for ip in "${HA_CLI_IPS[@]}"; do
	d=$(ha_dispatcher_of "$ip")
	[ "${picked[$d]:-0}" -lt 2 ] || continue
	picked[$d]=$(( ${picked[$d]:-0} + 1 ))
	clients+=("$ip:$d")
done
[ "${picked[d1]:-0}" -eq 2 ] && [ "${picked[d2]:-0}" -eq 2 ] ||
	{ e2e_fail "the router's ECMP sends no two of ${#HA_CLI_IPS[@]} client addresses to each dispatcher"; exit 1; }
echo "clients: ${clients[*]}; VRRP master $(ha_vrrp_master)"

names=() pids=() calls=0 port=5060 mp=7000 tr=u1
for c in "${clients[@]}"; do
	ip=${c%:*}
	lab_sipp_uac "uac-$ip" "$tr" "$ip" "$port" "$mp" 2; names+=("uac-$ip"); pids+=("$LAB_BGPID")
	case $tr in u1) tr=tn ;; *) tr=u1 ;; esac
	calls=$((calls + 2)); port=$((port + 2)); mp=$((mp + 1000))
done
sleep 1.5
sent1=$(gw_sent gw1) sent2=$(gw_sent gw2)
echo "announcements before the kill: gw1 ${sent1:-?}, gw2 ${sent2:-?}"
[ "${sent1:-0}" -gt 0 ] || e2e_fail "gw1, the master, announced nothing"
[ "${sent2:-1}" -eq 0 ] || e2e_fail "gw2, the backup, announced ${sent2:-?} (it should see no reply)"
[ "$(ha_vrrp_master)" = gw1 ] || e2e_fail "gw1 is not the master before the kill: $(ha_vrrp_master)"

# only gw1's sara-gw fails; its keepalived and links stay up
kill_ms=$(date +%s%3N)
case $FAULT in
stop) kill -STOP "${HA_GW_PID[gw1]}" ;;
*) { kill -KILL "${HA_GW_PID[gw1]}"; wait "${HA_GW_PID[gw1]}"; } 2>/dev/null ;;
esac
if ha_wait_master gw2 60; then
	took_ms=$(( $(date +%s%3N) - kill_ms ))
	echo "gw2 holds the shared addresses $took_ms ms after gw1's sara-gw got SIG${FAULT^^} (bound $TAKEOVER_MAX_MS ms)"
	[ "$took_ms" -le "$TAKEOVER_MAX_MS" ] || e2e_fail "takeover in $took_ms ms, over $TAKEOVER_MAX_MS ms"
else
	e2e_fail "gw2 did not take the shared addresses in 6 s after gw1's sara-gw got SIG${FAULT^^}"
fi
lab_alive "${HA_KEEPALIVED_PID[gw1]}" || e2e_fail "gw1's keepalived died: the test kills only sara-gw"
ka_log gw1 | grep -q 'Entering FAULT STATE' && e2e_fail "gw1's keepalived entered FAULT (a failed check must only lower its priority)"
# what gw1's keepalived logged since its check failed
ka_since_failure() { ka_log gw1 | sed -n '/VRRP_Script(sara_gw_alive) failed/,$p'; }
ka_since_failure | grep -q 'Entering BACKUP STATE' || e2e_fail "gw1's keepalived did not leave MASTER for BACKUP"
ka_since_failure | grep -E 'VRRP_Script\(sara_gw_alive\)|priority|BACKUP' | head -4 | sed 's/^/  gw1 keepalived: /'
sent2_takeover=$(gw_sent gw2)
sleep 0.5
# new calls (7.5 s each), answered (and announced) through gw2
sent2_before_new=$(gw_sent gw2)
ip=${clients[0]%:*}
LAB_UAC_XML=uac-long.xml lab_sipp_uac "uac-new-$ip" u1 "$ip" 5090 12000 2
names+=("uac-new-$ip"); pids+=("$LAB_BGPID"); calls=$((calls + 2))
ip=${clients[2]%:*}
LAB_UAC_XML=uac-long.xml lab_sipp_uac "uac-new-$ip" tn "$ip" 5094 13000 2
names+=("uac-new-$ip"); pids+=("$LAB_BGPID"); calls=$((calls + 2))
# answered before gw1's sara-gw is back: only gw2's can have announced them
sleep 1.5
sent2_new=$(gw_sent gw2)
echo "gw2's announcements while the 4 new calls were answered: $(( ${sent2_new:-0} - ${sent2_before_new:-0} ))"
[ $(( ${sent2_new:-0} - ${sent2_before_new:-0} )) -ge 4 ] ||
	e2e_fail "gw2 announced $(( ${sent2_new:-0} - ${sent2_before_new:-0} )) answers of the 4 new calls, want 4 or more"

# gw1's sara-gw is back (as systemd's Restart= would bring it): gw1's check
# succeeds again, its priority equals gw2's, and the addresses stay on gw2
# while the new calls go on
if [ "$FAULT" = stop ]; then
	lab_alive "${HA_GW_PID[gw1]}" || e2e_fail "gw1's stopped sara-gw is gone before the watchdog's kill"
	{ kill -KILL "${HA_GW_PID[gw1]}"; wait "${HA_GW_PID[gw1]}"; } 2>/dev/null
fi
back_ms=$(date +%s%3N)
ha_start_gw gw1 1 || e2e_fail "sara-gw in gw1 does not start again"
for ((i = 0; i < 60; i++)); do
	ka_since_failure | grep -q 'VRRP_Script(sara_gw_alive) succeeded' && break
	sleep 0.1
done
if ka_since_failure | grep -q 'VRRP_Script(sara_gw_alive) succeeded'; then
	echo "gw1's check succeeds again $(( $(date +%s%3N) - back_ms )) ms after its sara-gw started again"
else
	e2e_fail "gw1's check did not succeed in 6 s after its sara-gw came back"
fi
for ((i = 0; i < 15; i++)); do
	[ "$(ha_vrrp_master)" = gw2 ] || { e2e_fail "the addresses moved to $(ha_vrrp_master) after gw1 came back"; break; }
	sleep 0.1
done

ok_total=0 failed_total=0
for ((i = 0; i < ${#pids[@]}; i++)); do
	lab_wait_exit "${pids[i]}" 450 || lab_stop TERM "${pids[i]}"
	st=$(lab_rc "${pids[i]}")
	read -r ok failed < <(lab_sipp_stats "${names[i]}")
	echo "  ${names[i]}: exit $st, calls successful $ok failed $failed"
	ok_total=$((ok_total + ok)); failed_total=$((failed_total + failed))
done
sent2=$(gw_sent gw2) sent1=$(gw_sent gw1)
echo "announcements of gw2: ${sent2_takeover:-?} at the takeover, ${sent2:-?} at the end; gw1's new sara-gw: ${sent1:-?}"
[ "${sent2:-0}" -gt "${sent2_takeover:-0}" ] || e2e_fail "gw2 announced nothing of the calls answered after the takeover"
[ "${sent1:-1}" -eq 0 ] || e2e_fail "gw1, back as backup, announced ${sent1:-?} (it should see no reply)"
[ "$(ha_vrrp_master)" = gw2 ] || e2e_fail "at the end $(ha_vrrp_master) holds the shared addresses, want gw2"

# every sara-gw dead (one cause could take them all): both priorities drop
# alike, so the master keeps the addresses; a FAULT on both would leave the
# servers' replies no gateway
for g in gw1 gw2; do { kill -KILL "${HA_GW_PID[$g]}"; wait "${HA_GW_PID[$g]}"; } 2>/dev/null; done
sleep 3.5
for g in gw1 gw2; do
	ka_log "$g" | tail -n 20 | grep -q 'VRRP_Script(sara_gw_alive) failed' ||
		e2e_fail "$g's check has not failed 3.5 s after its sara-gw was killed"
	lab_alive "${HA_KEEPALIVED_PID[$g]}" || e2e_fail "$g's keepalived died"
done
holder=$(ha_vrrp_master)
echo "every sara-gw dead: $holder holds the shared addresses"
[ "$holder" != none ] || e2e_fail "every sara-gw dead: no gateway holds the shared addresses"
for n in "${HA_DISPATCHERS[@]}"; do
	echo "sarad $n:"; lab_in "$n" "$(lab_bin sara-ctl)" -c "${HA_CFG[$n]}" status 2>&1 |
		grep -E 'sessions_adopted|sessions_created|announce' | sed 's/^/  /' | head -8
done
for p in "${LAB_UAS_PIDS[@]}"; do lab_stop TERM "$p" 20; done
lab_cap_stop
[ "$ok_total" -eq "$calls" ] && [ "$failed_total" -eq 0 ] ||
	e2e_fail "calls: $ok_total successful, $failed_total failed, of $calls"
e2e_observed "$calls" 2
[ "$E2E_RC" -eq 0 ] && e2e_ok "gw1's sara-gw got SIG${FAULT^^}: gw2 took over in ${took_ms:-?} ms, announced the new calls, kept the addresses when gw1 came back"
exit "$E2E_RC"
