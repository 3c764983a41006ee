#!/usr/bin/env bash
# ct_bulk_cost.sh - what conntrackd's replication among three dispatchers
# (NOTRACK multicast, as sara-ctl conntrackd writes it) loses in a burst and
# what a bulk resend (conntrackd -B, sara-conntrackd-resync) costs, on the
# lab of tests/lab/ha_lib.sh. For each count K (arguments, default 1000
# 10000 30000): K marked UDP entries to the VIP are loaded at once into d1's
# table (conntrack -R, as a burst of new flows would make them); after 2 s,
# how many d2 and d3 hold (the burst's loss); then d1's conntrackd sends its
# table (-B): how long until d2 and d3 hold all K (or 10 s), how many they
# hold, and d1's multicast bytes and datagrams for the bulk. Not a test: it
# prints figures (docs/high-availability.md). Needs root; flock it with the
# netns tests.
#   flock /tmp/sara-netns.lock bash tests/lab/ct_bulk_cost.sh [K...]
set -uo pipefail
LAB_PREFIX=sara-ctcost-
HA_DISPATCHER_COUNT=3
. "$(dirname "${BASH_SOURCE[0]}")/../netns/lib.sh"
. "$LAB_DIR/ha_lib.sh"

ha_setup
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(1000 10000 30000)

# held dN MARK: dN's entries to the VIP with that mark (the loaded ones)
held() { lab_in "$1" conntrack -L -d "$LAB_VIP" -p udp -m "$2" 2>/dev/null | grep -c 'dport=' ; }
# sent: d1's multicast "bytes datagrams" sent so far (conntrackd -s)
sent() {
	lab_in d1 conntrackd -C "$LAB_RUN/d1/conntrackd.conf" -s 2>/dev/null |
		awk '/multicast traffic/ { m = 1; next } m && /Bytes sent/ { b = $1 } m && /Pckts sent/ { p = $1 } END { print b + 0, p + 0 }'
}

mark=10
for k in "${counts[@]}"; do
	mark=$((mark + 1))
	# K distinct flows: client address 198.18.(100 + i / 50000).x, port by index
	awk -v k="$k" -v m="$mark" -v vip="$LAB_VIP" 'BEGIN {
		for (i = 0; i < k; i++)
			printf "-I -p udp -s 198.18.%d.%d -d %s --sport %d --dport %d -t 600 -m %d\n",
				100 + int(i / 60000), 1 + int(i / 240) % 250, vip, 1024 + i % 240, 20000 + m, m }' \
		>"$LAB_RUN/load-$k.txt"
	lab_in d1 conntrack -R "$LAB_RUN/load-$k.txt" >/dev/null 2>&1
	sleep 2
	echo "K=$k burst: d1 $(held d1 "$mark"), d2 $(held d2 "$mark"), d3 $(held d3 "$mark")"
	read -r b0 p0 < <(sent)
	t0=$(date +%s%3N)
	lab_in d1 conntrackd -C "$LAB_RUN/d1/conntrackd.conf" -B
	for ((i = 0; i < 100; i++)); do
		[ "$(held d2 "$mark")" -ge "$k" ] && [ "$(held d3 "$mark")" -ge "$k" ] && break
		sleep 0.1
	done
	t=$(( $(date +%s%3N) - t0 ))
	sleep 1
	read -r b1 p1 < <(sent)
	entries=$(lab_in d1 conntrackd -C "$LAB_RUN/d1/conntrackd.conf" -i ct 2>/dev/null | grep -c .)
	echo "K=$k bulk: d2 $(held d2 "$mark"), d3 $(held d3 "$mark") after ${t} ms;" \
		"d1's internal cache $entries entries, sent $((b1 - b0)) bytes in $((p1 - p0)) datagrams"
done
# a peer's copy keeps the timeout it was sent with: without another message
# it expires there even while the flow lives on at d1 (packets refresh d1's
# entry without an event). A bulk resend sends it again.
lab_in d1 conntrack -I -p udp -s 198.18.99.1 -d "$LAB_VIP" --sport 1000 --dport 1000 -t 40 -m 99 >/dev/null 2>&1
sleep 6
expiry() { lab_in "$1" conntrack -L -d "$LAB_VIP" -p udp -m 99 2>/dev/null | awk '{ print $3 }'; }
echo "entry loaded at d1 with 40 s: 6 s later d1 $(expiry d1) s, d2 $(expiry d2) s left"
lab_in d1 conntrackd -C "$LAB_RUN/d1/conntrackd.conf" -B
sleep 1
echo "after d1's bulk resend: d1 $(expiry d1) s, d2 $(expiry d2) s left"
lab_in d1 conntrackd -C "$LAB_RUN/d1/conntrackd.conf" -s >"$LAB_RUN/d1-stats.txt" 2>&1
sed 's/^/  d1: /' "$LAB_RUN/d1-stats.txt" | head -40
for d in d2 d3; do
	lab_in "$d" conntrackd -C "$LAB_RUN/$d/conntrackd.conf" -s network 2>/dev/null | sed "s/^/  $d: /"
done
exit 0
