# overload_lib.sh - helpers of the overload experiments (tests/bench/goodput.sh,
# tests/bench/slowstart.sh, tests/netns/e2e_overload.sh): SIP and RTSP servers of known
# capacity (tests/tools/sip_load_server, rtsp_load_server), an agent per server reporting
# that server's own load, sarad configured per admission mode, and sipp (or
# tests/tools/oc_uac.py, rtsp_uac.py) offering sessions with media.
# Sourced after tests/netns/lib.sh; bash only.

OV_INVITE_US=${OV_INVITE_US:-70000}    # service time of a new INVITE on a server
OV_OTHER_US=${OV_OTHER_US:-15000}      # of every other message (ACK, BYE, retransmissions)
OV_RTP_SENT=120                        # RTP packets every established call sends (g711a-short.pcap)
OV_AGENT_INTERVAL_MS=${OV_AGENT_INTERVAL_MS:-200}
OV_UAC_XML=$LAB_ROOT/tests/bench/goodput-uac.xml
OV_SIPP_PORT=5070                      # each sipp run takes the next local port (late packets
OV_SIPP_MEDIA=10000                    # of an earlier run find no socket) and media range
declare -A OV_SRV_PIDS OV_AGENT_PIDS
# RTSP (rtsp_load_server, rtsp_uac.py): SETUP's service time, that of every other request
# (OPTIONS, DESCRIBE, PLAY, TEARDOWN), and the media a session's PLAY streams to its client
OV_RTSP_SETUP_US=${OV_RTSP_SETUP_US:-60000}
OV_RTSP_OTHER_US=${OV_RTSP_OTHER_US:-10000}
OV_RTSP_RTP_PACKETS=${OV_RTSP_RTP_PACKETS:-50}
OV_RTSP_RTP_INTERVAL_MS=${OV_RTSP_RTP_INTERVAL_MS:-40}

# ov_capacity: calls/s one server completes (1 s / (INVITE + ACK + BYE service times))
ov_capacity() { awk -v i="$OV_INVITE_US" -v o="$OV_OTHER_US" 'BEGIN { printf "%.2f", 1e6 / (i + 2 * o) }'; }

# ov_rtsp_capacity: RTSP sessions/s one server completes (1 s / (SETUP + 4 other requests))
ov_rtsp_capacity() {
	awk -v u="$OV_RTSP_SETUP_US" -v o="$OV_RTSP_OTHER_US" 'BEGIN { printf "%.2f", 1e6 / (u + 4 * o) }'
}

# ov_missing: prints what the experiments need and is not there (empty = all there):
# ov_missing_built (sara's programs and tools, from the build) and ov_missing_external
# (installed programs and files)
ov_missing_built() {
	local p
	for p in sip_load_server; do [ -x "${SARA_BIN_DIR:-$LAB_ROOT/build}/tools/$p" ] || echo "tools/$p"; done
	for p in sarad sara-gw sara-ctl sara-agent; do [ -n "$(lab_bin "$p")" ] || echo "$p"; done
	return 0
}

ov_missing_external() {
	local p
	for p in sipp editcap /usr/bin/python3; do command -v "$p" >/dev/null 2>&1 || echo "$p"; done
	[ -f /usr/share/sip-tester/g711a.pcap ] || echo "/usr/share/sip-tester/g711a.pcap"
	return 0
}

ov_missing() { ov_missing_built; ov_missing_external; }

# What the modes' names mean, for the experiments' tables
OV_MODES_LABEL='sa2c: the defaults, estimate "window" per server; sa2c-cluster: window_per_server = false; sa2c-rate: estimate "rate"'

# ov_write_config MODE FILE [SLOW_START_S]: a sarad config for the lab with admission
# MODE: off (disabled), sa2c (SA2C, 503 + Retry-After: the defaults, the window estimate
# per server; sa2c-cluster: the cluster's window alone; sa2c-oc and sa2c-nooc are the
# same config, the experiment's callers differ: see ov_oc_uac) or random (the session-unaware
# baseline: every packet dropped with the new-session probability, no 503) or limit
# (call-limit, OpenSIPS load_balancer's model: OV_CALL_LIMIT calls in progress per
# server, default 42: 10 calls/s of about 4.2 s each, 503 above).
# OV_ADMISSION_EXTRA is added inside the admission group (e.g. thresholds);
# OV_SELECTION names the selection algorithm (default shell).
ov_write_config() {
	local mode=$1 file=$2 slow=${3:-0} adm
	case $mode in
	off) adm="enabled = false;" ;;
	sa2c | sa2c-oc | sa2c-nooc) adm="enabled = true; policy = \"sa2c\"; reject = \"503\"; retry_after_s = 5; ${OV_ADMISSION_EXTRA:-}" ;;
	sa2c-lead) adm="enabled = true; policy = \"sa2c\"; estimate = \"lead\"; reject = \"503\"; retry_after_s = 5; ${OV_ADMISSION_EXTRA:-}" ;;
	sa2c-degrade) adm="enabled = true; policy = \"sa2c\"; degrade = true; reject = \"503\"; retry_after_s = 5; ${OV_ADMISSION_EXTRA:-}" ;;
	sa2c-rate) adm="enabled = true; policy = \"sa2c\"; estimate = \"rate\"; reject = \"503\"; retry_after_s = 5; ${OV_ADMISSION_EXTRA:-}" ;;
	sa2c-window) adm="enabled = true; policy = \"sa2c\"; estimate = \"window\"; reject = \"503\"; retry_after_s = 5; ${OV_ADMISSION_EXTRA:-}" ;;
	sa2c-cluster) adm="enabled = true; policy = \"sa2c\"; window_per_server = false; reject = \"503\"; retry_after_s = 5; ${OV_ADMISSION_EXTRA:-}" ;;
	random) adm="enabled = true; policy = \"random\"; reject = \"drop\"; ${OV_ADMISSION_EXTRA:-}" ;;
	limit) adm="enabled = true; policy = \"call-limit\"; call_limit = ${OV_CALL_LIMIT:-42}; reject = \"503\"; retry_after_s = 5;" ;;
	*) lab_die "unknown admission mode $mode"; return 1 ;;
	esac
	cat >"$file" <<EOF
# written by tests/netns/overload_lib.sh: admission $mode
name = "${LAB_PREFIX%-}";
vips = [ "$LAB_VIP" ];
ports = { sip = [ 5060 ]; rtsp = [ 8554 ]; };
servers = (
  { id = "s1"; address = "198.18.2.11"; mark = 1; table = 101; },
  { id = "s2"; address = "198.18.2.12"; mark = 2; table = 102; },
  { id = "s3"; address = "198.18.2.13"; mark = 3; table = 103; }
);
queue     = { first = 0; count = 1; fail_open = true; };
gateway   = { listen = "198.18.2.1:7401"; };
agents    = { listen = "198.18.2.1:7402"; interval_ms = $OV_AGENT_INTERVAL_MS; misses = 5; };
key_file  = "$LAB_RUN/cluster.key";
selection = { algorithm = "${OV_SELECTION:-shell}"; slow_start_s = $slow; };
timeouts  = { signalling_s = 30; media_s = 15; linger_s = 2; };
limits    = { flows = 65536; sessions = 16384; when_full = "pass"; };
admission = { $adm };
control   = { socket = "$LAB_RUN/sarad.sock"; };
state     = { journal = "$LAB_RUN/sarad.journal"; };
EOF
}

# ov_start_server S LIFETIME_S: a sip_load_server on server S (VIP:5060, DSR); its load
# file is $LAB_RUN/load-S, its per-second counts $LAB_RUN/stats-S, its JSON summary the
# last line of logs/srv-S.log
ov_start_server() {
	local s=$1 life=$2 bin=${SARA_BIN_DIR:-$LAB_ROOT/build}/tools/sip_load_server
	rm -f "$LAB_RUN/load-$s" "$LAB_RUN/stats-$s"
	lab_bg "srv-$s" "$s" timeout $((life + 20)) "$bin" --media-ip "$LAB_VIP" --invite-us "$OV_INVITE_US" \
		--other-us "$OV_OTHER_US" --load-file "$LAB_RUN/load-$s" --stats-file "$LAB_RUN/stats-$s" --lifetime-s "$life" --name "$s"
	OV_SRV_PIDS[$s]=$LAB_BGPID
	lab_wait_listen "$s" udp 5060 "$LAB_BGPID"
}

# ov_start_rtsp_server S LIFETIME_S: an rtsp_load_server on server S (VIP:8554, DSR);
# load and stats files and JSON summary as ov_start_server's (ov_stop_server stops it)
ov_start_rtsp_server() {
	local s=$1 life=$2 bin=${SARA_BIN_DIR:-$LAB_ROOT/build}/tools/rtsp_load_server
	rm -f "$LAB_RUN/load-$s" "$LAB_RUN/stats-$s"
	lab_bg "srv-$s" "$s" timeout $((life + 20)) "$bin" --setup-us "$OV_RTSP_SETUP_US" --other-us "$OV_RTSP_OTHER_US" \
		--rtp-packets "$OV_RTSP_RTP_PACKETS" --rtp-interval-ms "$OV_RTSP_RTP_INTERVAL_MS" \
		--load-file "$LAB_RUN/load-$s" --stats-file "$LAB_RUN/stats-$s" --lifetime-s "$life" --name "$s"
	OV_SRV_PIDS[$s]=$LAB_BGPID
	lab_wait_listen "$s" tcp 8554 "$LAB_BGPID"
}

ov_stop_server() {
	local s=$1
	[ -n "${OV_SRV_PIDS[$s]:-}" ] && lab_stop TERM "${OV_SRV_PIDS[$s]}" 30
	OV_SRV_PIDS[$s]=
	return 0
}

# ov_server_json S: the server's JSON summary (after ov_stop_server)
ov_server_json() { grep '^{' "$LAB_RUN/logs/srv-$1.log" 2>/dev/null | tail -1; }

# ov_start_agent S CONFIG LIFETIME_S: sara-agent for S reporting the server's own load
# file as the only counted component (the lab's namespaces share the host's CPU figures)
ov_start_agent() {
	local s=$1 cfg=$2 life=$3
	lab_bg "agent-$s" "$s" timeout "$life" "$(lab_bin sara-agent)" -c "$cfg" --id "$s" --foreground \
		--app-load "file:$LAB_RUN/load-$s" --components backlog
	OV_AGENT_PIDS[$s]=$LAB_BGPID
}

ov_stop_agent() {
	local s=$1
	[ -n "${OV_AGENT_PIDS[$s]:-}" ] && lab_stop TERM "${OV_AGENT_PIDS[$s]}" 20
	OV_AGENT_PIDS[$s]=
	return 0
}

# ov_status_json: sarad's status document (sara-ctl status --json) on stdout
ov_status_json() { timeout 5 "$(lab_bin sara-ctl)" -c "$LAB_CFG" status --json 2>/dev/null; }

# ov_trace_admission SECONDS: every 0.2 s for SECONDS, one line "t zone x l_c t2 t3
# p_new p_established x_new" of sarad's admission state (bounded: 5 samples a second)
ov_trace_admission() {
	local n=$(($1 * 5)) i t0
	t0=$(date +%s.%N)
	for ((i = 0; i < n; i++)); do
		ov_status_json | /usr/bin/python3 -c 'import json, sys, time
a = json.load(sys.stdin)["admission"]; t = a["thresholds"]
print("%.1f %s %.3f %.3f %.3f %.3f %.2f %.2f %.3f %.1f %.1f %.1f %.0f" % (time.time() - float(sys.argv[1]), a["zone"], a["load"],
      a["cluster_load"], t["t2"], t["t3"], a["refuse_new_p"], a["refuse_established_p"],
      a["new_session_load"], a.get("rate_tokens", 0), a.get("rate_limit", 0),
      a.get("answer_window", 0), a.get("answers_awaited", 0)))' "$t0" 2>/dev/null
		sleep 0.2
	done
}

# ov_wait_up N SECONDS: bounded wait until sarad sees at least N servers up
ov_wait_up() {
	local want=$1 tenths=$(($2 * 10)) i n
	for ((i = 0; i < tenths; i++)); do
		n=$(ov_status_json | /usr/bin/python3 -c 'import json,sys
try: print(sum(1 for s in json.load(sys.stdin)["servers"] if s.get("state") == "up"))
except Exception: print(0)' 2>/dev/null)
		[ "${n:-0}" -ge "$want" ] && return 0
		sleep 0.1
	done
	lab_die "sarad sees ${n:-0} servers up, want $want"
}

# ov_wait_tcp_conns N SOURCE: bounded wait (3 s) until the client has N SIP/TCP
# connections from SOURCE established to the VIP
ov_wait_tcp_conns() {
	local want=$1 src=$2 i n
	for ((i = 0; i < 30; i++)); do
		n=$(lab_in cli ss -Htn state established "src $src and dst $LAB_VIP and dport = :5060" | wc -l)
		[ "${n:-0}" -ge "$want" ] && return 0
		sleep 0.1
	done
	return 1
}

# ov_pid_child PID: the program a `timeout` wrapper runs
ov_pid_child() { pgrep -P "$1" 2>/dev/null | head -1; }

# ov_cpu_s PID: CPU seconds (user + system) used so far by PID
ov_cpu_s() {
	awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# ov_sipp NAME RATE CALLS TIMEOUT_S [TRANSPORT [SOURCE [SIPP_ARG...]]]: a sipp UAC in the
# client (goodput-uac.xml: media, setup deadline) offering RATE calls/s, CALLS in all,
# over TRANSPORT (sipp's -t, default u1) from SOURCE (default 198.18.0.10); LAB_BGPID
# is its PID.
ov_sipp() {
	local name=$1 rate=$2 calls=$3 t=$4 transport=${5:-u1} src=${6:-198.18.0.10}
	shift $(($# < 6 ? $# : 6))
	lab_assets
	cp "$OV_UAC_XML" "$LAB_RUN/"
	OV_SIPP_PORT=$((OV_SIPP_PORT + 1))
	OV_SIPP_MEDIA=$((OV_SIPP_MEDIA + 2000))
	[ "$OV_SIPP_MEDIA" -gt 58000 ] && OV_SIPP_MEDIA=10000
	lab_bg "$name" cli timeout "$t" sipp "$LAB_VIP:5060" -sf goodput-uac.xml -t "$transport" -i "$src" \
		-p "$OV_SIPP_PORT" -mi "$src" -mp "$OV_SIPP_MEDIA" -r "$rate" -m "$calls" -l "$calls" "$@" \
		-nostdin -trace_err -error_file "$LAB_RUN/logs/$name.err" -trace_stat -stf "$LAB_RUN/logs/$name.csv" \
		-fd 1 -timeout "$((t - 3))s" -timeout_error -buff_size 1048576
}

# ov_oc_uac NAME RATE SECONDS TIMEOUT_S [--oc]: tests/tools/oc_uac.py in the client
# (the calls of goodput-uac.xml: 6 s setup deadline, 120 media packets of 30 ms, BYE
# 4 s after the ACK), honouring RFC 7339 overload control with --oc; its statistics in
# logs/NAME.csv in sipp's format (ov_sipp_fields and ov_sipp_rate read it), its JSON
# summary the last line of logs/NAME.log; LAB_BGPID is its PID.
OV_OC_UAC=$LAB_ROOT/tests/tools/oc_uac.py
ov_oc_uac() {
	local name=$1 rate=$2 seconds=$3 t=$4
	shift 4
	OV_SIPP_PORT=$((OV_SIPP_PORT + 1))
	lab_bg "$name" cli timeout "$t" /usr/bin/python3 "$OV_OC_UAC" --vip "$LAB_VIP" --src 198.18.0.10 \
		--sip-port "$OV_SIPP_PORT" --rate "$rate" --seconds "$seconds" --stat-file "$LAB_RUN/logs/$name.csv" "$@"
}

# ov_rtsp_uac NAME RATE SECONDS TIMEOUT_S: tests/tools/rtsp_uac.py in the client offering
# RATE RTSP sessions/s for SECONDS (6 s setup deadline, the servers' media, TEARDOWN); its
# statistics in logs/NAME.csv in sipp's format, its JSON summary the last line of
# logs/NAME.log (ov_oc_uac_json reads it); LAB_BGPID is its PID.
OV_RTSP_UAC=$LAB_ROOT/tests/tools/rtsp_uac.py
ov_rtsp_uac() {
	lab_bg "$1" cli timeout "$4" /usr/bin/python3 "$OV_RTSP_UAC" --vip "$LAB_VIP" --src 198.18.0.10 \
		--rate "$2" --seconds "$3" --rtp-packets "$OV_RTSP_RTP_PACKETS" \
		--rtp-interval-ms "$OV_RTSP_RTP_INTERVAL_MS" --stat-file "$LAB_RUN/logs/$1.csv"
}

# ov_oc_uac_json NAME KEY: a number of oc_uac's (or rtsp_uac's) JSON summary (0 when missing)
ov_oc_uac_json() {
	grep '^{' "$LAB_RUN/logs/$1.log" 2>/dev/null | tail -1 |
		/usr/bin/python3 -c 'import json, sys
try: print(json.loads(sys.stdin.read()).get(sys.argv[1], 0))
except Exception: print(0)' "$2"
}

# ov_sipp_fields NAME FIELD...: the values of those counters (e.g. SuccessfulCall(C))
# in the last line of the sipp stat file, space-separated (0 when missing)
ov_sipp_fields() {
	local f=$LAB_RUN/logs/$1.csv
	shift
	[ -s "$f" ] || { printf '0 %.0s' "$@"; echo; return 0; }
	awk -F';' -v want="$*" 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i }
		END { n = split(want, w, " "); for (k = 1; k <= n; k++) printf "%s%d", (k > 1 ? " " : ""), (w[k] in col) ? $(col[w[k]]) : 0; print "" }' "$f"
}

# ov_sipp_start NAME: sipp's start time (epoch seconds) from its stat file
ov_sipp_start() {
	awk -F';' 'NR == 2 { split($1, t, /[ \t]+/); print t[3]; exit }' "$LAB_RUN/logs/$1.csv" 2>/dev/null
}

# ov_sipp_rate NAME FIELD FROM_S TO_S: the rate of a cumulative sipp counter between
# FROM_S and TO_S seconds after sipp started (the last stat lines at or before them)
ov_sipp_rate() {
	awk -F';' -v want="$2" -v w1="$3" -v w2="$4" '
		NR == 1 { for (i = 1; i <= NF; i++) if ($i == want) c = i; next }
		{ split($1, a, /[ \t]+/); split($3, b, /[ \t]+/); e = b[3] - a[3]
		  if (e <= w1) { e1 = e; v1 = $c } if (e <= w2) { e2 = e; v2 = $c } }
		END { if (c && e2 > e1) printf "%.2f", (v2 - v1) / (e2 - e1); else printf "0" }' "$LAB_RUN/logs/$1.csv" 2>/dev/null
}

# ov_server_rate STATS_FILE COLUMN FROM_EPOCH TO_EPOCH: the rate of a server's cumulative
# count (column 3 invites, 4 answered, 5 completed) between two wall-clock times
ov_server_rate() {
	awk -v c="$2" -v w1="$3" -v w2="$4" '
		{ if ($1 <= w1) { e1 = $1; v1 = $c } if ($1 <= w2) { e2 = $1; v2 = $c } }
		END { if (e2 > e1) printf "%.2f", (v2 - v1) / (e2 - e1); else printf "0" }' "$1" 2>/dev/null
}
