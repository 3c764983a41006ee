#!/usr/bin/env bash
# Re-record the sara test captures from real programs, inside private network namespaces.
#
#   pcaps/record.sh [NAME...]        (no NAME = all captures; -l lists the names)
#
# Needs root (ip netns), and: sip-tester (sipp) baresip-core kamailio sipsak ffmpeg
# python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-{tools,plugins-base,plugins-good,plugins-ugly}
# tcpdump tshark (editcap) ethtool sox.
#
# Topology (created per capture, deleted afterwards, also on failure):
#   netns sara-rec-<pid>-cli  veth sara-c0  198.18.77.10/24            (clients)
#   netns sara-rec-<pid>-srv  veth sara-s0  198.18.77.20/24 + .21/24   (servers, kamailio on .21)
# IPv6 and NIC offloads are off in both namespaces. Captures are taken on the server side
# (sara-s0, Ethernet link type) except sip-kamailio-* which use -i any (LINUX_SLL2) so that
# the proxy->callee leg over lo is captured too.
#
# Environment: OUT=dir (default: this directory) where NAME.pcap files are written.
#              KEEP_WORK=1 keeps the temporary work dir (logs, configs) for debugging.
# A capture is copied to OUT only if its recipe succeeded; the script exits 1 if any failed.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB=$HERE/lab
OUT=${OUT:-$HERE}

ALL=(
  sip-sipp-sipp-udp-call
  sip-sipp-sipp-udp-3calls
  sip-sipp-sipp-tcp-hold
  sip-baresip-baresip-udp-call
  sip-baresip-baresip-tcp-hold
  sip-kamailio-proxy-udp
  rtsp-ffmpeg-gst-udp
  rtsp-gst-gst-udp
  rtsp-ffmpeg-gst-tcp-interleaved
  rtsp-2clients-gst-udp
  rtsp-ffmpeg-ffmpeg-record-udp
  rtsp-ffmpeg-ffmpeg-record-tcp-interleaved
)

CLI_IP=198.18.77.10
SRV_IP=198.18.77.20
KAM_IP=198.18.77.21
NSC=sara-rec-$$-cli
NSS=sara-rec-$$-srv
INC=(ip netns exec "$NSC")
INS=(ip netns exec "$NSS")
RTSP_URL=rtsp://$SRV_IP:8554/test
RTSP_LIVE=rtsp://$SRV_IP:8554/live

log() { printf '[record %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; return 1; }

if [ "${1:-}" = -l ]; then printf '%s\n' "${ALL[@]}"; exit 0; fi
if [ "${1:-}" = -h ] || [ "${1:-}" = --help ]; then sed -n '2,20p' "$0"; exit 0; fi
[ "$(id -u)" -eq 0 ] || { echo "record.sh: needs root (ip netns)" >&2; exit 2; }

WORK=$(mktemp -d /tmp/sara-rec.XXXXXX)
PIDS=()          # every background PID we started (timeout wrappers / subshells)

# ---------------------------------------------------------------- process helpers
# bgrun LOGNAME CMD...   start CMD in the background (cwd $WORK), remember its PID in BGPID
bgrun() {
  local name=$1; shift
  ( cd "$WORK" && exec "$@" ) >"$WORK/logs/$name.log" 2>&1 </dev/null &
  BGPID=$!
  PIDS+=("$BGPID")
}

alive() { kill -0 "$1" 2>/dev/null; }

# wait_exit PID TENTHS   wait (bounded) until PID has exited; returns 1 if still alive
wait_exit() {
  local pid=$1 n=$2 i
  for ((i = 0; i < n; i++)); do alive "$pid" || break; sleep 0.1; done
  if alive "$pid"; then return 1; fi
  wait "$pid" 2>/dev/null || true
}

# descendants PID   all descendant PIDs of PID (children first-level last), by parent PID
descendants() {
  local c
  for c in $(pgrep -P "$1" 2>/dev/null || true); do descendants "$c"; echo "$c"; done
}

# stop_pid SIGNAL PID [TENTHS]   signal PID (a `timeout` wrapper forwards it to its child),
# wait up to TENTHS/10 s (default 5 s), then SIGKILL the PID's descendants and the PID itself.
# Only PIDs we started.
stop_pid() {
  local sig=$1 pid=$2 tenths=${3:-50} c
  alive "$pid" || { wait "$pid" 2>/dev/null || true; return 0; }
  kill -"$sig" "$pid" 2>/dev/null || true
  wait_exit "$pid" "$tenths" && return 0
  log "PID $pid ignored SIG$sig, killing it"
  for c in $(descendants "$pid"); do kill -KILL "$c" 2>/dev/null || true; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# fgrun LOGNAME CMD...   like bgrun, but wait for it (interruptibly) and return its exit code
fgrun() {
  bgrun "$@"
  local rc=0
  wait "$BGPID" || rc=$?
  return "$rc"
}

# stop_all [TENTHS]   stop everything in PIDS, newest first (clients before servers,
# tcpdump last), each with TERM and at most TENTHS/10 s (default 3 s) before SIGKILL
stop_all() {
  local i p
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    p=${PIDS[i]}
    if alive "$p"; then stop_pid TERM "$p" "${1:-30}"; fi
  done
  return 0
}

# ---------------------------------------------------------------- namespaces
netns_down() {
  local ns
  for ns in "$NSC" "$NSS"; do
    if ip netns list | awk '{print $1}' | grep -qxF -- "$ns"; then ip netns del "$ns" || true; fi
  done
}

netns_up() {
  netns_down
  ip netns add "$NSC"
  ip netns add "$NSS"
  # create the veth pair directly inside the namespaces: no name ever appears in the root netns
  ip -n "$NSC" link add sara-c0 type veth peer name sara-s0 netns "$NSS"
  local ns dev
  for ns in "$NSC" "$NSS"; do
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.lo.disable_ipv6=1
    ip -n "$ns" link set lo up
  done
  ip -n "$NSC" addr add "$CLI_IP/24" dev sara-c0
  ip -n "$NSS" addr add "$SRV_IP/24" dev sara-s0
  ip -n "$NSS" addr add "$KAM_IP/24" dev sara-s0
  for ns in "$NSC" "$NSS"; do
    dev=sara-c0; [ "$ns" = "$NSS" ] && dev=sara-s0
    ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$dev.disable_ipv6=1"
    ip netns exec "$ns" ethtool -K "$dev" tso off gso off gro off tx off rx off >/dev/null 2>&1 ||
      ip netns exec "$ns" ethtool -K "$dev" tso off gso off gro off tx off rx off
    ip -n "$ns" link set "$dev" up
  done
  # static neighbour entries: no ARP exchange delays the first packet of a session
  local mac_c mac_s
  mac_c=$(ip -n "$NSC" -o link show sara-c0 | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)
  mac_s=$(ip -n "$NSS" -o link show sara-s0 | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)
  ip -n "$NSC" neigh replace "$SRV_IP" lladdr "$mac_s" dev sara-c0 nud permanent
  ip -n "$NSC" neigh replace "$KAM_IP" lladdr "$mac_s" dev sara-c0 nud permanent
  ip -n "$NSS" neigh replace "$CLI_IP" lladdr "$mac_c" dev sara-s0 nud permanent
}

cleanup() {
  local rc=$?
  set +e
  stop_all 300   # the recipe subshell stops its own processes first (bounded, 3 s each)
  netns_down
  if [ "${KEEP_WORK:-0}" = 1 ]; then log "work dir kept: $WORK"; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_listen NS tcp|udp PORT [PID]   bounded wait until something listens on PORT in NS
# (gives up early if PID, the server we started, has exited)
wait_listen() {
  local ns=$1 proto=$2 port=$3 pid=${4:-} i flag=-Hlnt
  [ "$proto" = udp ] && flag=-Hlnu
  for ((i = 0; i < 100; i++)); do
    if [ -n "$(ip netns exec "$ns" ss "$flag" "sport = :$port")" ]; then return 0; fi
    if [ -n "$pid" ] && ! alive "$pid"; then die "server PID $pid exited before listening on $proto/$port"; fi
    sleep 0.1
  done
  die "nothing listens on $proto/$port in $ns"
}

# ---------------------------------------------------------------- capture
CAP_PID=
CAP_FILE=
cap_start() {   # cap_start NAME IFACE
  local name=$1 iface=$2 i
  CAP_FILE=$WORK/$name.pcap
  bgrun "tcpdump-$name" "${INS[@]}" timeout 90 tcpdump -i "$iface" --immediate-mode -U -n -s 0 \
    -Z root -w "$CAP_FILE" 'not arp'
  CAP_PID=$BGPID
  for ((i = 0; i < 50; i++)); do
    grep -q 'listening on' "$WORK/logs/tcpdump-$name.log" 2>/dev/null && break
    alive "$CAP_PID" || break
    sleep 0.1
  done
  grep -q 'listening on' "$WORK/logs/tcpdump-$name.log" || die "tcpdump did not start"
  sleep 0.2
}

cap_stop() {    # cap_stop NAME
  local name=$1
  sleep 1
  stop_pid INT "$CAP_PID"
  { grep -E 'captured|dropped' "$WORK/logs/tcpdump-$name.log" || true; } | tr '\n' ' ' >&2
  echo >&2
}

# ---------------------------------------------------------------- assets
assets() {
  mkdir -p "$WORK/logs"
  # 3.6 s of the stock sipp G.711 A-law stream (120 packets of 30 ms)
  editcap -r /usr/share/sip-tester/g711a.pcap "$WORK/g711a-short.pcap" 1-120
  # baresip caller tone: 8 kHz mono WAV
  timeout 20 sox -q -n -r 8000 -c 1 -b 16 "$WORK/caller-tone.wav" synth 12 sine 600 vol 0.5
  # publisher clip for the RECORD captures: 6 s H.264 160x120@10 (~80 kbit/s) + PCMU 8 kHz
  timeout 60 ffmpeg -hide_banner -nostdin -loglevel error -y \
    -f lavfi -i testsrc=size=160x120:rate=10 -f lavfi -i sine=frequency=600:sample_rate=8000 \
    -t 6 -c:v libx264 -profile:v baseline -preset ultrafast -b:v 80k -g 10 -pix_fmt yuv420p \
    -c:a pcm_mulaw -ac 1 "$WORK/testclip.mkv"
  local acc_srv="<sip:100@$SRV_IP>;regint=0;answermode=auto;audio_codecs=pcmu,pcma"
  local acc_cli="<sip:alice@$CLI_IP>;regint=0;audio_codecs=pcmu,pcma"
  local acc_cli_tcp="<sip:alice@$CLI_IP;transport=tcp>;regint=0;audio_codecs=pcmu,pcma"
  local acc_srv_reg="<sip:100@$KAM_IP>;regint=60;answermode=auto;audio_codecs=pcmu,pcma"
  "$LAB/baresip-mkconf.sh" "$WORK/bs-srv" "$SRV_IP" "$acc_srv" 'ausine,440' 48000 2
  "$LAB/baresip-mkconf.sh" "$WORK/bs-srv-reg" "$SRV_IP" "$acc_srv_reg" 'ausine,440' 48000 2
  "$LAB/baresip-mkconf.sh" "$WORK/bs-cli" "$CLI_IP" "$acc_cli" "aufile,$WORK/caller-tone.wav" 8000 1
  CONF_EXTRA=$'module\t\t\tcons.so\ncons_listen\t\t127.0.0.1:5555' \
    "$LAB/baresip-mkconf.sh" "$WORK/bs-cli-tcp" "$CLI_IP" "$acc_cli_tcp" "aufile,$WORK/caller-tone.wav" 8000 1
}

# ---------------------------------------------------------------- SIP recipes
# sipp_call NAME TRANSPORT(u1|t1) UAC_XML CALLS [extra UAC args...]
sipp_call() {
  local name=$1 t=$2 xml=$3 calls=$4; shift 4
  local proto=udp; [ "$t" = t1 ] && proto=tcp
  cap_start "$name" sara-s0
  bgrun "$name-uas" "${INS[@]}" timeout 30 sipp -sf "$LAB/uas-media.xml" -t "$t" \
    -i "$SRV_IP" -p 5060 -mi "$SRV_IP" -mp 6000 -m "$calls" -nostdin -trace_err \
    -timeout 25s -timeout_error
  local uas=$BGPID
  wait_listen "$NSS" "$proto" 5060 "$uas"
  local rc=0
  fgrun "$name-uac" "${INC[@]}" timeout 30 sipp "$SRV_IP:5060" -sf "$LAB/$xml" -t "$t" -s 100 \
      -i "$CLI_IP" -p 5060 -mi "$CLI_IP" -mp 7000 -m "$calls" "$@" -nostdin -trace_err \
      -timeout 25s -timeout_error || rc=$?
  local urc=0
  wait_exit "$uas" 50 || { log "UAS still running"; stop_pid TERM "$uas"; urc=1; }
  wait "$uas" 2>/dev/null || urc=$?
  cap_stop "$name"
  [ "$rc" -eq 0 ] || die "sipp UAC exit $rc (see $name-uac.log)"
  [ "$urc" -eq 0 ] || die "sipp UAS exit $urc"
}

rec_sip-sipp-sipp-udp-call()  { sipp_call "$1" u1 uac-media.xml 1; }
rec_sip-sipp-sipp-udp-3calls() { sipp_call "$1" u1 uac-media.xml 3 -l 3 -r 2; }
rec_sip-sipp-sipp-tcp-hold()  { sipp_call "$1" t1 uac-hold.xml 1; }

# baresip_call NAME CLI_CONF HOLD(0|1)
baresip_call() {
  local name=$1 conf=$2 hold=$3 holdpid=
  cap_start "$name" sara-s0
  bgrun "$name-callee" "${INS[@]}" timeout 20 baresip -f "$WORK/bs-srv" -t 15
  local callee=$BGPID
  wait_listen "$NSS" udp 5060 "$callee"
  wait_listen "$NSS" tcp 5060 "$callee"
  if [ "$hold" = 1 ]; then
    # hold at ~1.5 s, resume at ~3 s, via the cons module (UDP over lo: not captured)
    bgrun "$name-hold" bash -c "sleep 1.5; ${INC[*]} bash -c 'printf x > /dev/udp/127.0.0.1/5555'; \
      sleep 1.5; ${INC[*]} bash -c 'printf X > /dev/udp/127.0.0.1/5555'"
    holdpid=$BGPID
  fi
  local rc=0
  fgrun "$name-caller" "${INC[@]}" timeout 12 baresip -f "$WORK/$conf" \
      -e "/dial sip:100@$SRV_IP" -t 5 || rc=$?
  sleep 0.3
  stop_pid TERM "$callee"
  if [ -n "$holdpid" ]; then stop_pid TERM "$holdpid"; fi
  cap_stop "$name"
  [ "$rc" -eq 0 ] || die "baresip caller exit $rc"
}

rec_sip-baresip-baresip-udp-call() { baresip_call "$1" bs-cli 0; }
rec_sip-baresip-baresip-tcp-hold() { baresip_call "$1" bs-cli-tcp 1; }

rec_sip-kamailio-proxy-udp() {
  local name=$1
  mkdir -p "$WORK/kam"
  cap_start "$name" any
  bgrun "$name-kamailio" "${INS[@]}" timeout 30 kamailio -f "$LAB/kamailio.cfg" -DD -E \
    -Y "$WORK/kam" -P "$WORK/kam/kamailio.pid" -m 32 -M 8
  local kam=$BGPID
  wait_listen "$NSS" udp 5060 "$kam"
  bgrun "$name-callee" "${INS[@]}" timeout 20 baresip -f "$WORK/bs-srv-reg" -t 15
  local callee=$BGPID
  sleep 1   # REGISTER -> 200
  local rc=0
  fgrun "$name-sipsak" "${INC[@]}" timeout 5 sipsak -s "sip:$KAM_IP" -H "$CLI_IP" -v || rc=$?
  [ "$rc" -eq 0 ] || log "sipsak exit $rc"
  fgrun "$name-caller" "${INC[@]}" timeout 12 baresip -f "$WORK/bs-cli" \
      -e "/dial sip:100@$KAM_IP" -t 5 || rc=$?
  sleep 0.3
  stop_pid TERM "$callee"      # un-REGISTER on exit
  sleep 0.3
  stop_pid TERM "$kam"
  cap_stop "$name"
  [ "$rc" -eq 0 ] || die "sipsak/baresip caller exit $rc"
}

# ---------------------------------------------------------------- RTSP recipes
GST_SRV=
gst_server_start() {
  bgrun "$1-gst-server" "${INS[@]}" timeout 40 /usr/bin/python3 "$LAB/gst-rtsp-server.py" \
    --addr "$SRV_IP" --port 8554 --lifetime 30
  GST_SRV=$BGPID
  wait_listen "$NSS" tcp 8554 "$GST_SRV"
}

ffmpeg_play() {   # ffmpeg_play LOGNAME udp|tcp
  fgrun "$1" "${INC[@]}" timeout 20 ffmpeg -hide_banner -nostdin -rtsp_transport "$2" \
      -i "$RTSP_URL" -t 3 -map 0 -c copy -f null -
}

gst_play() {      # gst_play LOGNAME udp|tcp   (SIGINT after 4 s -> EOS -> PAUSE + TEARDOWN)
  local rc=0
  # --foreground: ONE SIGINT (plain timeout also signals the process group, and
  # gst-launch dies of a second SIGINT before its EOS and TEARDOWN); 0 = clean EOS
  fgrun "$1" "${INC[@]}" timeout --foreground --preserve-status -s INT -k 5 4 gst-launch-1.0 -e rtspsrc \
      location="$RTSP_URL" protocols="$2" name=s s. ! queue ! fakesink s. ! queue ! fakesink || rc=$?
  [ "$rc" -eq 0 ] || die "gst-launch exit $rc"
}

rtsp_gst_server_case() {   # NAME client transport
  local name=$1 client=$2 tr=$3 rc=0
  cap_start "$name" sara-s0
  gst_server_start "$name"
  "${client}_play" "$name-client" "$tr" || rc=$?
  stop_pid TERM "$GST_SRV"
  cap_stop "$name"
  [ "$rc" -eq 0 ] || die "$client client failed ($rc)"
}

rec_rtsp-ffmpeg-gst-udp()             { rtsp_gst_server_case "$1" ffmpeg udp; }
rec_rtsp-gst-gst-udp()                { rtsp_gst_server_case "$1" gst udp; }
rec_rtsp-ffmpeg-gst-tcp-interleaved() { rtsp_gst_server_case "$1" ffmpeg tcp; }

rec_rtsp-2clients-gst-udp() {
  local name=$1 rc=0 rc2=0
  cap_start "$name" sara-s0
  gst_server_start "$name"
  bgrun "$name-ffmpeg" "${INC[@]}" timeout 20 ffmpeg -hide_banner -nostdin -rtsp_transport udp \
    -i "$RTSP_URL" -t 4 -map 0 -c copy -f null -
  local ff=$BGPID
  sleep 0.7
  gst_play "$name-gst" udp || rc=$?
  wait_exit "$ff" 100 || { stop_pid TERM "$ff"; rc2=1; }
  wait "$ff" 2>/dev/null || rc2=$?
  stop_pid TERM "$GST_SRV"
  cap_stop "$name"
  [ "$rc" -eq 0 ] && [ "$rc2" -eq 0 ] || die "clients failed (gst $rc, ffmpeg $rc2)"
}

rtsp_record_case() {   # NAME udp|tcp
  local name=$1 tr=$2 rc=0
  cap_start "$name" sara-s0
  bgrun "$name-server" "${INS[@]}" timeout 25 ffmpeg -hide_banner -nostdin -rtsp_flags listen \
    -listen_timeout 15 -i "$RTSP_LIVE" -map 0 -c copy -f null -
  local srv=$BGPID
  wait_listen "$NSS" tcp 8554 "$srv"
  fgrun "$name-publisher" "${INC[@]}" timeout 20 ffmpeg -hide_banner -nostdin -re -i "$WORK/testclip.mkv" \
      -t 3 -map 0 -c copy -f rtsp -rtsp_transport "$tr" "$RTSP_LIVE" || rc=$?
  wait_exit "$srv" 50 || stop_pid TERM "$srv"
  cap_stop "$name"
  [ "$rc" -eq 0 ] || die "ffmpeg publisher exit $rc"
}

rec_rtsp-ffmpeg-ffmpeg-record-udp()             { rtsp_record_case "$1" udp; }
rec_rtsp-ffmpeg-ffmpeg-record-tcp-interleaved() { rtsp_record_case "$1" tcp; }

# ---------------------------------------------------------------- capture check
# check_capture NAME FILE   the capture must hold complete sessions, else the recipe is retried:
#   sip-*:  the expected number of INVITE dialogs, each answered 200 and ended by BYE + 200,
#           and at least 2 RTP streams per call (found through the SDP)
#   rtsp-*: the expected number of RTSP sessions, each connection's last RTSP message is a
#           response to its TEARDOWN (ffmpeg sometimes resets the connection before it)
check_capture() {
  local name=$1 f=$2 want=1 got rtp
  case $name in *3calls) want=3 ;; rtsp-2clients-*) want=2 ;; esac
  case $name in
  sip-*)
    got=$(timeout 60 tshark -n -r "$f" -Y 'sip.Status-Code == 200 and sip.CSeq.method == "BYE"' \
      -T fields -e sip.Call-ID 2>/dev/null | sort -u | wc -l)
    local inv
    inv=$(timeout 60 tshark -n -r "$f" -Y 'sip.Status-Code == 200 and sip.CSeq.method == "INVITE"' \
      -T fields -e sip.Call-ID 2>/dev/null | sort -u | wc -l)
    rtp=$(timeout 60 tshark -n -r "$f" -q -z rtp,streams 2>/dev/null | grep -c ' 0x' || true)
    log "check $name: $inv answered INVITE dialogs, $got BYE/200, $rtp RTP streams (want $want calls)"
    [ "$inv" -eq "$want" ] && [ "$got" -eq "$want" ] && [ "$rtp" -ge $((2 * want)) ]
    ;;
  rtsp-*)
    local seqs
    seqs=$(timeout 60 tshark -n -r "$f" -Y 'rtsp.request or rtsp.response' -T fields -E separator='|' \
      -e tcp.stream -e rtsp.method -e rtsp.status 2>/dev/null |
      awk -F'|' '{ k[$1] = 1; last[$1] = ($2 != "") ? $2 : "R" $3; if ($2 == "TEARDOWN") td[$1] = 1 }
        END { n = 0; ok = 0; for (c in k) { n++; if (td[c] && last[c] ~ /^R/) ok++ }; print n, ok }')
    log "check $name: RTSP connections / complete with TEARDOWN reply: $seqs (want $want)"
    [ "$seqs" = "$want $want" ]
    ;;
  *) return 0 ;;
  esac
}

# ---------------------------------------------------------------- main
names=("$@")
[ ${#names[@]} -gt 0 ] || names=("${ALL[@]}")
for n in "${names[@]}"; do
  declare -F "rec_$n" >/dev/null || { echo "record.sh: unknown capture '$n' (try -l)" >&2; exit 2; }
done

mkdir -p "$OUT"
assets
failed=()
for n in "${names[@]}"; do
  ok=0
  for attempt in 1 2 3; do
    log "=== $n (attempt $attempt)"
    netns_up
    # the recipe runs in a background subshell (so that set -e applies inside it and the
    # parent's trap can stop it); its own EXIT trap stops everything it started
    ( PIDS=(); trap 'exit 130' INT TERM; trap stop_all EXIT; "rec_$n" "$n" ) &
    rpid=$!
    PIDS=("$rpid")
    rrc=0
    wait "$rpid" || rrc=$?
    PIDS=()
    netns_down
    if [ "$rrc" -eq 0 ] && check_capture "$n" "$WORK/$n.pcap"; then ok=1; break; fi
    log "attempt $attempt of $n failed (exit $rrc)"
  done
  if [ "$ok" = 1 ]; then
    cp "$WORK/$n.pcap" "$OUT/$n.pcap"
    log "ok  $n: $(stat -c %s "$OUT/$n.pcap") bytes"
  else
    failed+=("$n")
    log "FAILED $n (logs in $WORK/logs; KEEP_WORK=1 keeps them)"
  fi
done
if [ ${#failed[@]} -gt 0 ]; then log "failed: ${failed[*]}"; exit 1; fi
log "all done: ${names[*]}"
