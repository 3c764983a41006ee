#!/usr/bin/env bash
# metrics: the Prometheus endpoints in the lab. sarad with metrics.listen, sara-gw and
# the three agents with --metrics; SIP calls over UDP and TCP go through while a recorder
# scrapes sarad every second. Each page passes `promtool check metrics`; the values that
# the calls move moved (sessions, verdicts by reason, announcements, agent reports,
# server health); a scraper that connects and sends nothing holds no other scrape and
# no call back, and is cut off by the connection timeout; a path other than /metrics
# is 404; a port in use stops a second sarad (and an agent) with a message and exit 1.
# METRICS_PLOT_DIR=DIR: the recorded series as DIR/metrics.csv and plotted to
# DIR/metrics.svg and DIR/metrics.png (tests/lab/metrics_plot.sh).
# Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
LAB_PREFIX=sara-e2e-met-
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SARAD_EP=198.18.2.1:9100
GW_EP=198.18.1.6:9101
AGENT_PORT=9102
command -v promtool >/dev/null 2>&1 || { echo "FAIL: promtool not installed (make deps installs it)"; exit 1; }
command -v curl >/dev/null 2>&1 || { echo "FAIL: curl not installed (make deps installs it)"; exit 1; }

# Admission off (its load is still worked out and shown): the agents read this host's
# own load, and a busy CI host must not refuse the calls this test counts
# (e2e_admission tests admission).
E2E_CFG_EXTRA="agents = { listen = \"198.18.2.1:7400\"; interval_ms = 200; misses = 3; };
selection = { algorithm = \"round-robin\"; slow_start_s = 0; };
admission = { enabled = false; };
metrics = { listen = \"$SARAD_EP\"; };"
LAB_GW_ARGS="--metrics $GW_EP"
e2e_setup 110
AGENT=$(lab_bin sara-agent) SARAD=$(lab_bin sarad)
lab_start_sip_servers 80 || { e2e_fail "sipp servers"; exit 1; }
# s1's agent has a probe that always answers, for sara_agent_probe_up.
for i in 0 1 2; do
	s=${LAB_SERVERS[i]}
	probe=()
	[ "$i" = 0 ] && probe=(--probe cmd:true)
	lab_bg "agent-$s" "$s" timeout 100 "$AGENT" -c "$LAB_CFG" --id "$s" --foreground \
		--metrics "${LAB_SERVER_IPS[i]}:$AGENT_PORT" "${probe[@]}"
done

# scrape NS ENDPOINT [PATH]: the page (or whatever the server answers) on stdout
scrape() { lab_in "$1" curl -s -m 3 "http://$2${3:-/metrics}"; }
# value PAGE SAMPLE: the value of the sample line that starts with SAMPLE (name{labels})
value() { awk -v k="$2" 'index($0, k " ") == 1 { print $2; exit }' <<<"$1"; }
# valid NAME PAGE: promtool's verdict on the page
valid() {
	local out
	if out=$(promtool check metrics <<<"$2" 2>&1); then
		e2e_ok "$1: promtool check metrics passes ($(grep -c '^# TYPE' <<<"$2") families)"
	else
		e2e_fail "$1: promtool check metrics: $(head -5 <<<"$out")"
	fi
}

for ((i = 0; i < 50; i++)); do
	[ "$(value "$(scrape dsp $SARAD_EP)" 'sara_server_state{server="s3",state="up"}')" = 1 ] && break
	sleep 0.2
done

# The recorder: sarad's page every second, for the plot and to see values move.
mkdir -p "$LAB_RUN/scrapes"
lab_bg recorder dsp bash -c "for i in \$(seq -w 1 45); do curl -s -m 2 -o '$LAB_RUN/scrapes/'\$i.prom \
	http://$SARAD_EP/metrics; sleep 1; done"
RECORDER=$LAB_BGPID
before=$(scrape dsp $SARAD_EP)
valid sarad "$before"

sleep 2
LAB_UAC_XML=uac-media.xml lab_sipp_uac wave1 u1 198.18.0.10 5060 7000 30 -r 3; W1=$LAB_BGPID
sleep 4
# A scraper that connects and says nothing: while it waits, other scrapes and the
# calls go on; the server closes it after its connection timeout.
lab_bg idle dsp python3 -c "
import socket, sys, time
s = socket.create_connection(('${SARAD_EP%:*}', ${SARAD_EP#*:}))
t = time.time()
s.settimeout(15)
try:
    data = s.recv(1)
except OSError:
    data = None
print('closed after %.1f s' % (time.time() - t), 'by the server' if data == b'' else 'on our side')
"
IDLE=$LAB_BGPID
sleep 0.5
t0=$(date +%s.%N)
during=$(scrape dsp $SARAD_EP)
t1=$(date +%s.%N)
took=$(echo "$t1 - $t0" | bc)
[ -n "$(value "$during" sara_uptime_seconds)" ] && echo "$took < 1" | bc | grep -q 1 &&
	e2e_ok "a scrape while an idle connection is open answers in ${took} s" ||
	e2e_fail "a scrape while an idle connection is open: ${took} s, page of $(wc -c <<<"$during") bytes"
sleep 8
lab_sipp_uac wave2 tn 198.18.0.11 5064 9000 12 -r 2; W2=$LAB_BGPID
E2E_WAIT_TENTHS=400 e2e_wait wave1=$W1 wave2=$W2
sleep 4
for n in wave1 wave2; do
	read -r ok fail < <(lab_sipp_stats "$n")
	echo "sipp $n: exit ${E2E_ST[$n]}, calls successful $ok failed $fail"
	[ "${E2E_ST[$n]}" = 0 ] || e2e_fail "sipp $n exit ${E2E_ST[$n]}: calls failed while scraped"
done
lab_wait_exit "$IDLE" 100
idle_said=$(cat "$LAB_RUN/logs/idle.log")
grep -q "by the server" <<<"$idle_said" &&
	awk '{ exit !($3 >= 4 && $3 <= 8) }' <<<"$idle_said" &&
	e2e_ok "the idle connection was closed by sarad: $idle_said" ||
	e2e_fail "the idle connection: ${idle_said:-no answer} (want closed by the server after ~5 s)"

sleep 1.5
after=$(scrape dsp $SARAD_EP)
valid sarad "$after"
echo "$after" >"$LAB_RUN/sarad.prom"
for sample in sara_sessions_created_total 'sara_verdicts_total{action="accept",reason="session"}' \
	sara_announcements_accepted_total sara_agents_heartbeats_total sara_agents_loads_total \
	'sara_queue_received_total{queue="0"}' 'sara_admission_decisions_total{decision="admitted",kind="new",zone="off"}' \
	sara_metrics_scrapes_total; do
	a=$(value "$before" "$sample") b=$(value "$after" "$sample")
	if [ -n "$b" ] && awk -v a="${a:-0}" -v b="$b" 'BEGIN { exit !(b > a) }'; then
		e2e_ok "$sample moved: ${a:-absent} -> $b"
	else
		e2e_fail "$sample did not move: ${a:-absent} -> ${b:-absent}"
	fi
done
created=$(value "$after" sara_sessions_created_total)
[ "${created:-0}" -ge 42 ] && e2e_ok "sessions created: $created (42 calls)" || e2e_fail "sessions created: ${created:-?}, want >= 42"
for s in s1 s2 s3; do
	beats=$(value "$after" "sara_server_heartbeats_total{server=\"$s\"}")
	up=$(value "$after" "sara_server_state{server=\"$s\",state=\"up\"}")
	[ "${beats:-0}" -gt 0 ] && [ "$up" = 1 ] && e2e_ok "server $s up, $beats heartbeats" ||
		e2e_fail "server $s: up ${up:-absent}, heartbeats ${beats:-absent}"
done
drops=$(value "$after" 'sara_queue_kernel_dropped_total{queue="0"}')
[ "${drops:-x}" = 0 ] && e2e_ok "the kernel dropped no queued packet" || e2e_fail "kernel queue drops: ${drops:-absent}"
code=$(lab_in dsp curl -s -o /dev/null -w '%{http_code}' "http://$SARAD_EP/")
[ "$code" = 404 ] && e2e_ok "GET / is 404" || e2e_fail "GET / answered $code"

gw_page=$(scrape gw $GW_EP)
valid sara-gw "$gw_page"
echo "$gw_page" >"$LAB_RUN/gw.prom"
n=$(value "$gw_page" sara_gw_announcements_total)
[ "${n:-0}" -gt 0 ] && e2e_ok "sara-gw announced $n" || e2e_fail "sara_gw_announcements_total ${n:-absent}"
for i in 0 1 2; do
	page=$(scrape "${LAB_SERVERS[i]}" "${LAB_SERVER_IPS[i]}:$AGENT_PORT")
	[ "$i" = 0 ] && valid "sara-agent s1" "$page" && echo "$page" >"$LAB_RUN/agent.prom"
	n=$(value "$page" sara_agent_reports_total)
	[ "${n:-0}" -gt 5 ] && e2e_ok "agent ${LAB_SERVERS[i]} reported $n rounds" ||
		e2e_fail "agent ${LAB_SERVERS[i]}: sara_agent_reports_total ${n:-absent}"
done

# Every metric the Grafana dashboard reads is on one of the pages.
missing=""
for name in $(grep -o 'sara_[a-z0-9_]*' "$LAB_ROOT/conf/grafana/sara-dashboard.json" | sort -u); do
	grep -q "^# TYPE $name " "$LAB_RUN/sarad.prom" "$LAB_RUN/gw.prom" "$LAB_RUN/agent.prom" ||
		missing="$missing $name"
done
[ -z "$missing" ] && e2e_ok "every metric of conf/grafana/sara-dashboard.json is served" ||
	e2e_fail "the dashboard reads metrics no page has:$missing"

# A port in use: a second sarad (its own queue and socket, no listeners) and a second
# agent on s1's port stop at start, saying so.
sed -e 's/first = 0;/first = 7;/' -e "s|$LAB_RUN/sarad.sock|$LAB_RUN/second.sock|" \
	-e '/^gateway *=/d' -e '/^agents *=/d' "$LAB_CFG" >"$LAB_RUN/second.cfg"
lab_in dsp timeout 10 "$SARAD" -c "$LAB_RUN/second.cfg" --foreground >"$LAB_RUN/logs/second.log" 2>&1
rc=$?
msg=$(grep -o "metrics.listen $SARAD_EP: cannot bind: Address already in use" "$LAB_RUN/logs/second.log")
[ "$rc" -eq 1 ] && [ -n "$msg" ] && e2e_ok "a second sarad on the metrics port exits 1: $msg" ||
	e2e_fail "a second sarad on the metrics port: exit $rc, $(tail -2 "$LAB_RUN/logs/second.log")"
lab_in s1 timeout 10 "$AGENT" -c "$LAB_CFG" --id s1 --foreground --metrics "${LAB_SERVER_IPS[0]}:$AGENT_PORT" \
	>"$LAB_RUN/logs/agent-second.log" 2>&1
rc=$?
grep -q "cannot bind: Address already in use" "$LAB_RUN/logs/agent-second.log" && [ "$rc" -eq 1 ] &&
	e2e_ok "a second agent on the metrics port exits 1" ||
	e2e_fail "a second agent on the metrics port: exit $rc, $(tail -2 "$LAB_RUN/logs/agent-second.log")"

# The recorded series: one CSV row per scrape (rates from consecutive scrapes).
lab_stop TERM "$RECORDER" 20
csv=$LAB_RUN/metrics.csv
for f in "$LAB_RUN"/scrapes/*.prom; do
	[ -s "$f" ] && awk '
		function v(k) { return (k in m) ? m[k] : "" }
		/^#/ { next }
		{ m[$1] = $2 }
		/^sara_verdicts_total\{action="accept"/ { acc += $2 }
		/^sara_verdicts_total\{action="drop"/ { drop += $2 }
		/^sara_(announcements|agents)_rejects_total/ { rej += $2 }
		END {
			zone = 0; split("off normal shed closed degrade full", z, " ")
			for (i = 1; i <= 6; i++) if (v("sara_admission_zone{zone=\"" z[i] "\"}") == 1) zone = i - 1
			printf "%s,%s,%s,%s,%s,%d,%d,%s,%s,%s,%s,%d,%s,%s,%s,%s,%s,%s,%s,%s,%d\n", v("sara_uptime_seconds"),
				v("sara_sessions_in_use"), v("sara_flows_in_use"), v("sara_sessions_capacity"),
				v("sara_flows_capacity"), acc, drop, v("sara_verdicts_total{action=\"accept\",reason=\"session\"}"),
				v("sara_admission_load"), v("sara_admission_cluster_load"), v("sara_admission_dispatcher_load"),
				zone, v("sara_server_sessions{server=\"s1\"}"), v("sara_server_sessions{server=\"s2\"}"),
				v("sara_server_sessions{server=\"s3\"}"), v("sara_server_load{server=\"s1\"}"),
				v("sara_server_load{server=\"s2\"}"), v("sara_server_load{server=\"s3\"}"),
				v("sara_queue_kernel_dropped_total{queue=\"0\"}"), v("sara_announcements_accepted_total"), rej
		}' "$f"
done | awk -F, 'BEGIN { print "uptime_s,sessions_in_use,flows_in_use,sessions_capacity,flows_capacity," \
	"accept_per_s,drop_per_s,accept_session_per_s,admission_load,cluster_load,dispatcher_load,zone," \
	"s1_sessions,s2_sessions,s3_sessions,s1_load,s2_load,s3_load,kernel_dropped,announcements_per_s,rejects" }
	NR > 1 && $1 > pt { dt = $1 - pt; printf "%s,%s,%s,%s,%s,%.1f,%.1f,%.1f,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%.1f,%s\n",
		$1, $2, $3, $4, $5, ($6 - pa) / dt, ($7 - pd) / dt, ($8 - ps) / dt, $9, $10, $11, $12, $13, $14, $15,
		$16, $17, $18, $19, ($20 - pn) / dt, $21 }
	{ pt = $1; pa = $6; pd = $7; ps = $8; pn = $20 }' >"$csv"
rows=$(($(wc -l <"$csv") - 1))
peak=$(awk -F, 'NR > 1 && $2 > p { p = $2 } END { print p + 0 }' "$csv")
[ "$rows" -ge 20 ] && [ "$peak" -ge 10 ] && e2e_ok "recorded $rows scrapes, sessions in use peaking at $peak" ||
	e2e_fail "recorded $rows scrapes, sessions in use peaking at $peak"
if [ -n "${METRICS_PLOT_DIR:-}" ]; then
	cp "$csv" "$METRICS_PLOT_DIR/metrics.csv"
	"$LAB_ROOT/tests/lab/metrics_plot.sh" "$METRICS_PLOT_DIR/metrics.csv" "$METRICS_PLOT_DIR"
fi

[ "$E2E_RC" -eq 0 ] && echo "PASS metrics" || echo "FAIL metrics"
exit "$E2E_RC"
