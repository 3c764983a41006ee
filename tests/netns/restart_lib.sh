# restart_lib.sh - sourced by e2e_restart_kill.sh and e2e_restart_term.sh: calls and an
# RTSP session in progress while sarad is killed (or stopped) and started again. SIP
# calls over UDP and TCP (uac-restart.xml: RTP, then after the restart a re-INVITE, an
# UPDATE and a BYE) and an RTSP session (PAUSE, PLAY, TEARDOWN after the restart) must
# all complete, every request and every media flow at the server that had the session
# (the servers' captures judged by sara-replay --observed), and sarad must say it
# restored them from its journal. A new call placed right after the restart shifts the
# round-robin, so that a sarad without the sessions would send their requests elsewhere.

# restart_servers LIFETIME: sipp UAS (uas-restart.xml: re-INVITE and UPDATE answered) on
# every server, UDP and TCP, and the RTSP servers.
restart_servers() {
	local life=$1 s
	lab_assets
	cp "$LAB_DIR/uac-restart.xml" "$LAB_DIR/uas-restart.xml" "$LAB_RUN/"
	for s in "${LAB_SERVERS[@]}"; do
		lab_bg "uas-udp-$s" "$s" timeout "$life" sipp -sf uas-restart.xml -t u1 -i "$LAB_VIP" -p 5060 \
			-mi "$LAB_VIP" -mp 6000 -nostdin -trace_err -error_file "$LAB_RUN/logs/uas-udp-$s.err" -fd 1
		LAB_UAS_PIDS+=("$LAB_BGPID")
		lab_bg "uas-tcp-$s" "$s" timeout "$life" sipp -sf uas-restart.xml -t t1 -i "$LAB_VIP" -p 5060 \
			-mi "$LAB_VIP" -mp 16000 -nostdin -trace_err -error_file "$LAB_RUN/logs/uas-tcp-$s.err" -fd 1
		LAB_UAS_PIDS+=("$LAB_BGPID")
	done
	for s in "${LAB_SERVERS[@]}"; do
		lab_wait_listen "$s" udp 5060 || return 1
		lab_wait_listen "$s" tcp 5060 || return 1
	done
	lab_start_rtsp_servers "$life"
}

# sarad_pid: the daemon itself (lab_bg started `timeout`, whose child it is)
sarad_pid() { pgrep -P "$LAB_SARAD_PID" -x sarad | head -1; }

# restart_sarad SIGNAL NAME: sarad stopped with SIGNAL, then started again logging to
# logs/NAME.log; RESTART_GAP_MS: how long the queue was without sarad. Not in a subshell:
# the new sarad must be one of the PIDs the cleanup stops.
RESTART_GAP_MS=
restart_sarad() {
	local sig=$1 name=$2 pid t0 t1 i
	pid=$(sarad_pid)
	[ -n "$pid" ] || { lab_log "no sarad process under $LAB_SARAD_PID"; return 1; }
	t0=$(date +%s%N)
	kill -"$sig" "$pid"
	lab_wait_exit "$LAB_SARAD_PID" 50 || { lab_log "sarad ($pid) did not exit on SIG$sig"; return 1; }
	wait "$LAB_SARAD_PID" 2>/dev/null
	lab_bg "$name" dsp timeout 100 "$(lab_bin sarad)" -c "$LAB_CFG" --foreground
	LAB_SARAD_PID=$LAB_BGPID
	for ((i = 0; i < 100; i++)); do
		lab_alive "$LAB_SARAD_PID" || { lab_log "sarad exited: $(tail -3 "$LAB_RUN/logs/$name.log")"; return 1; }
		if lab_in dsp awk '$1 == 0 && $2 != 0 { ok = 1 } END { exit !ok }' /proc/net/netfilter/nfnetlink_queue \
			2>/dev/null; then
			t1=$(date +%s%N)
			RESTART_GAP_MS=$(((t1 - t0) / 1000000))
			return 0
		fi
		sleep 0.05
	done
	lab_log "the new sarad did not bind queue 0 in 5 s"
	return 1
}

# restart_run SIGNAL TEST: the whole test; exits with its status.
restart_run() {
	local sig=$1 test=$2 n st ok fail calls=6 rtp_line
	e2e_setup 100
	lab_cap_start 90 || { e2e_fail "captures"; exit 1; }
	restart_servers 60 || { e2e_fail "servers"; exit 1; }

	# 3 calls over UDP, 3 over TCP (a connection each), in-dialog requests 5 s after the ACK
	LAB_UAC_XML=uac-restart.xml lab_sipp_uac uac-udp u1 198.18.0.10 5070 7000 3 -d 5000; U=$LAB_BGPID
	LAB_UAC_XML=uac-restart.xml lab_sipp_uac uac-tcp tn 198.18.0.11 5071 9000 3 -d 5000; T=$LAB_BGPID
	lab_bg rtsp-client cli timeout 40 /usr/bin/python3 "$LAB_DIR/rtsp-steps.py" \
		--url "rtsp://$LAB_VIP:8554/test" --bind 198.18.0.12 --client-port 20000 \
		--steps "options,describe,setup,play,waitfile:$LAB_RUN/restarted,wait:1.5,pause,wait:1,play,wait:2,teardown"
	R=$LAB_BGPID
	sleep 2.5

	restart_sarad "$sig" sarad-2 || { e2e_fail "sarad did not come back after SIG$sig"; exit 1; }
	touch "$LAB_RUN/restarted"
	echo "sarad stopped with SIG$sig and started again: the queue was without it for $RESTART_GAP_MS ms"
	# A new call at once: it takes the next round-robin pick, so that a sarad that had
	# forgotten the sessions would send their later requests elsewhere.
	lab_sipp_uac uac-new u1 198.18.0.12 5072 7400 1; N=$LAB_BGPID

	E2E_WAIT_TENTHS=300 e2e_wait uac-udp=$U uac-tcp=$T rtsp=$R uac-new=$N
	for n in uac-udp:3 uac-tcp:3 uac-new:1; do
		read -r ok fail < <(lab_sipp_stats "${n%:*}")
		echo "sipp ${n%:*}: exit ${E2E_ST[${n%:*}]}, calls successful $ok failed $fail"
		[ "${E2E_ST[${n%:*}]}" = 0 ] && [ "$ok" -eq "${n#*:}" ] ||
			e2e_fail "sipp ${n%:*}: $ok of ${n#*:} calls succeeded (see logs/${n%:*}.log)"
	done
	echo "rtsp client: exit ${E2E_ST[rtsp]}"
	sed 's/^/  /' "$LAB_RUN/logs/rtsp-client.log"
	[ "${E2E_ST[rtsp]}" = 0 ] || e2e_fail "the RTSP session's requests after the restart were not all answered 200"
	rtp_line=$(grep -c '^rtp after play: [1-9]' "$LAB_RUN/logs/rtsp-client.log")
	[ "$rtp_line" -ge 2 ] || e2e_fail "no media after the PLAY that followed the restart"

	echo "the restarted sarad:"
	grep -E "journal|restored|started" "$LAB_RUN/logs/sarad-2.log" | sed 's/^/  /'
	st=$(lab_sarad_status --json 2>/dev/null)
	n=$(printf '%s' "$st" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["daemon"].get("journal_sessions_restored", 0))' 2>/dev/null)
	echo "journal_sessions_restored: $n"
	[ "${n:-0}" -eq $((calls + 1)) ] || e2e_fail "sarad restored ${n:-0} sessions, want $((calls + 1))"
	grep -q "3 TCP connections restored" "$LAB_RUN/logs/sarad-2.log" ||
		e2e_fail "sarad did not restore the 3 SIP/TCP connections"

	sleep 0.5
	for p in "${LAB_UAS_PIDS[@]}" "${LAB_RTSP_PIDS[@]}"; do lab_stop TERM "$p" 20; done
	lab_cap_stop
	e2e_observed $((calls + 2)) 3
	[ "$E2E_RC" -eq 0 ] && echo "PASS $test" || echo "FAIL $test"
	exit "$E2E_RC"
}
