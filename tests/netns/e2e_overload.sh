#!/usr/bin/env bash
# e2e_overload.sh - overload in the lab (the short, functional goodput check): 3 SIP servers
# of known capacity (tests/tools/sip_load_server), sipp offering about 2x that capacity with
# media, once with SA2C admission (503) and once with admission off. Asserts only robust
# facts: with SA2C sarad answered 503s, completed calls/s stay at least half the capacity
# and completed calls kept most of their media (80%); with admission off more calls time
# out than with SA2C. About 55 s. Full curves: tests/bench/goodput.sh.
# Usage: tests/netns/e2e_overload.sh   (root; SARA_BIN_DIR = the build; exit 0 pass, 1 fail, 77 skip)
set -uo pipefail
export SARA_LAB_PREFIX=sara-e2e-ovl-
export OV_SELECTION=round-robin   # identical servers: admission alone (see tests/bench/goodput.sh)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/overload_lib.sh"

seconds=18        # offered time per mode
w1=8              # rates over [w1, seconds + 4] s of sipp's time (see goodput.sh)
load_x=2

why=$(lab_check_env) || { rc=$?; echo "$([ $rc -eq 77 ] && echo skip || echo FAIL): $why"; exit $rc; }
missing=$(ov_missing_external | tr '\n' ' ')
[ -z "$missing" ] || { echo "skip: missing $missing"; exit 77; }
missing=$(ov_missing_built | tr '\n' ' ')
[ -z "$missing" ] || { echo "FAIL: not built in ${SARA_BIN_DIR:-$LAB_ROOT/build}: $missing"; exit 1; }
trap e2e_cleanup EXIT
trap 'exit 130' INT TERM
lab_init
lab_up || { e2e_fail "lab topology"; exit 1; }
lab_config
ov_write_config sa2c "$LAB_RUN/ovl-sa2c.cfg" 0 && ov_write_config off "$LAB_RUN/ovl-off.cfg" 0 || exit 1
LAB_CFG=$LAB_RUN/ovl-sa2c.cfg
lab_rules || { e2e_fail "dispatcher/gateway rules"; exit 1; }
lab_start_gw 100 || { e2e_fail "sara-gw does not start"; exit 1; }
for s in "${LAB_SERVERS[@]}"; do ov_start_agent "$s" "$LAB_CFG" 100; done
cap=$(awk -v c="$(ov_capacity)" 'BEGIN { printf "%.2f", 3 * c }')
rate=$(awk -v c="$cap" -v x="$load_x" 'BEGIN { printf "%.0f", c * x }')
echo "capacity $cap calls/s (3 servers); offered $rate calls/s for $seconds s per mode"

declare -A GOODPUT TIMEOUTS N503 RTP COMPLETED
run_mode() {   # run_mode MODE
	local mode=$1 name=uac-$1 s sipp_pid
	LAB_CFG=$LAB_RUN/ovl-$mode.cfg
	for s in "${LAB_SERVERS[@]}"; do ov_start_server "$s" $((seconds + 20)) || return 1; done
	lab_start_sarad $((seconds + 25)) || return 1
	ov_wait_up 3 10 || return 1
	sleep 1
	ov_sipp "$name" "$rate" $((rate * seconds)) $((seconds + 15))
	sipp_pid=$LAB_BGPID
	sleep $((seconds + 5))
	# the window is over: calls still in flight do not count either way
	lab_stop TERM "$sipp_pid" 30
	ov_status_json >"$LAB_RUN/status-$mode.json"
	lab_stop TERM "$LAB_SARAD_PID" 30
	for s in "${LAB_SERVERS[@]}"; do ov_stop_server "$s"; done
	for s in "${LAB_SERVERS[@]}"; do ov_server_json "$s"; done >"$LAB_RUN/servers-$mode.json"
	GOODPUT[$mode]=$(ov_sipp_rate "$name" "SuccessfulCall(C)" "$w1" $((seconds + 4)))
	TIMEOUTS[$mode]=$(ov_sipp_fields "$name" "FailedTimeoutOnRecv(C)")
	N503[$mode]=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["daemon"]["reply_sent_503"])' \
		"$LAB_RUN/status-$mode.json" 2>/dev/null || echo 0)
	read -r COMPLETED[$mode] RTP[$mode] < <(/usr/bin/python3 - "$LAB_RUN/servers-$mode.json" <<'PY'
import json, sys
calls = rtp = 0
for line in open(sys.argv[1]):
    d = json.loads(line)
    calls += d["rtp"]["completed_calls"]
    rtp += d["rtp"]["per_completed_call"] * d["rtp"]["completed_calls"]
print(calls, "%.1f" % (rtp / calls if calls else 0))
PY
)
	local ok fail
	read -r ok fail < <(ov_sipp_fields "$name" "SuccessfulCall(C)" "FailedCall(C)")
	echo "$mode: calls ok $ok failed $fail (timeouts ${TIMEOUTS[$mode]}); goodput ${GOODPUT[$mode]} calls/s over [$w1, $((seconds + 4))] s;" \
		"sarad 503s ${N503[$mode]}; servers completed ${COMPLETED[$mode]} calls, ${RTP[$mode]} of $OV_RTP_SENT RTP packets each"
}

run_mode sa2c || { e2e_fail "sa2c run did not start"; exit 1; }
run_mode off || { e2e_fail "off run did not start"; exit 1; }

min_goodput=$(awk -v c="$cap" 'BEGIN { printf "%.1f", 0.5 * c }')
# Media: decided flows stay in the kernel (connmark), only a flow's first packets cross
# sarad, where SA2C may drop them above T3 (moving down under lasting overload): a few
# percent are lost (7% measured), so the bound is loose; tests/bench/goodput.sh, with
# every packet through sarad, measures the degradation itself.
min_rtp=$(awk -v n="$OV_RTP_SENT" 'BEGIN { printf "%.0f", 0.8 * n }')
[ "${N503[sa2c]:-0}" -gt 0 ] && e2e_ok "sa2c: sarad answered ${N503[sa2c]} INVITEs with 503" ||
	e2e_fail "sa2c: no 503 sent (reply_sent_503 ${N503[sa2c]:-none})"
awk -v g="${GOODPUT[sa2c]:-0}" -v m="$min_goodput" 'BEGIN { exit !(g >= m) }' &&
	e2e_ok "sa2c: goodput ${GOODPUT[sa2c]} calls/s >= $min_goodput (half the capacity)" ||
	e2e_fail "sa2c: goodput ${GOODPUT[sa2c]:-0} calls/s < $min_goodput"
awk -v r="${RTP[sa2c]:-0}" -v m="$min_rtp" 'BEGIN { exit !(r >= m) }' &&
	e2e_ok "sa2c: completed calls kept their media (${RTP[sa2c]} of $OV_RTP_SENT RTP packets each)" ||
	e2e_fail "sa2c: completed calls lost media: ${RTP[sa2c]:-0} of $OV_RTP_SENT RTP packets each"
[ "${TIMEOUTS[off]:-0}" -gt "${TIMEOUTS[sa2c]:-0}" ] &&
	e2e_ok "off: more calls timed out than with sa2c (${TIMEOUTS[off]} > ${TIMEOUTS[sa2c]})" ||
	e2e_fail "off: timed-out calls ${TIMEOUTS[off]:-0}, not more than sa2c's ${TIMEOUTS[sa2c]:-0}"
[ "$E2E_RC" -eq 0 ] && echo PASS
exit "$E2E_RC"
