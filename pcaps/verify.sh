#!/usr/bin/env bash
# Summarise the sara test captures with tshark (the facts quoted in README.md).
#
#   pcaps/verify.sh [FILE.pcap...]      (default: every pcaps/*.pcap)
#
# Per capture: link type, packets, bytes, duration; SIP Call-IDs with the message
# sequence of each; RTSP Session ids with the request/response sequence of each;
# RTP streams (src -> dst, SSRC, payload type, packets); RTCP and ICMP counts.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
files=("$@")
[ ${#files[@]} -gt 0 ] || files=("$HERE"/*.pcap)

ts() { timeout 60 tshark -n -r "$@" 2>/dev/null; }

for f in "${files[@]}"; do
  echo "=== $(basename "$f")"
  timeout 30 capinfos -E -c -s -u "$f" 2>/dev/null | sed -n 's/^\(File encapsulation\|Number of packets\|File size\|Capture duration\): *\(.*\)/  \1: \2/p'

  # SIP: one line per Call-ID with its message sequence
  sip=$(ts "$f" -Y sip -T fields -E separator='|' -e sip.Call-ID -e sip.Method -e sip.Status-Code -e sip.CSeq.method)
  if [ -n "$sip" ]; then
    awk -F'|' '{ m = ($2 != "") ? $2 : $3 "/" $4; if (!($1 in seq)) order[n++] = $1; seq[$1] = seq[$1] " " m }
      END { printf "  SIP Call-IDs: %d\n", n; for (i = 0; i < n; i++) printf "    %s:%s\n", order[i], seq[order[i]] }' <<<"$sip"
  fi

  # RTSP: requests and responses in order, with the Session id
  rtsp=$(ts "$f" -Y 'rtsp.request or rtsp.response' -T fields -E separator='|' -e tcp.stream -e rtsp.method -e rtsp.status -e rtsp.session)
  if [ -n "$rtsp" ]; then
    awk -F'|' '{ sub(/;.*/, "", $4); if ($4 != "") sess[$4] = 1
        m = ($2 != "") ? $2 : $3; if (!($1 in seq)) order[n++] = $1; seq[$1] = seq[$1] " " m
        if ($4 != "") sid[$1] = $4 }
      END { k = 0; for (s in sess) k++; printf "  RTSP connections: %d, Session ids: %d\n", n, k
        for (i = 0; i < n; i++) printf "    tcp.stream %s session %s:%s\n", order[i], sid[order[i]], seq[order[i]] }' <<<"$rtsp"
  fi

  # RTP streams (SDP / RTSP SETUP, plus heuristic RTP on UDP: the NAT punch packets of
  # the RTSP clients show up as 1-packet streams)
  ts "$f" -o rtp.heuristic_rtp:TRUE -q -z rtp,streams | awk '
    /^ *[0-9]+\.[0-9]+ +[0-9]+\.[0-9]+ +[0-9.]+ +[0-9]+ +[0-9.]+ +[0-9]+ +0x/ {
      n++; line[n] = sprintf("    %s:%s -> %s:%s ssrc %s %s pkts %s", $3, $4, $5, $6, $7, $8, $9) }
    END { printf "  RTP streams: %d\n", n; for (i = 1; i <= n; i++) print line[i] }'
  printf '  RTCP packets: %s, ICMP packets: %s\n' \
    "$(ts "$f" -Y 'rtcp and not icmp' | wc -l)" "$(ts "$f" -Y icmp | wc -l)"
done
