#!/usr/bin/env bash
# ct_marks_query.sh - sarad's conntrack queries (ct_marks_exists, behind the
# engine's flow_active hook) answer right every time, in a namespace's own
# conntrack table: an existing entry is present on every one of repeated
# queries (an unread netlink ACK would make every second one absent), with its
# mark; a missing one is absent; answers do not leak from one query into the next;
# the dump sarad's conntrack scan makes lists the marked entries only.
# Usage: tests/netns/ct_marks_query.sh [BUILD/tools/ct_query]   (root; exit 0/1, 77 = skipped)
set -u

QUERY=${1:-build/tools/ct_query}
NS=sara-A-ctq
if [ "$(id -u)" -ne 0 ]; then echo "SKIP: needs root (network namespaces, conntrack)"; exit 77; fi
command -v conntrack >/dev/null 2>&1 || { echo "FAIL: conntrack not installed (make deps installs it)"; exit 1; }
[ -x "$QUERY" ] || { echo "FAIL: $QUERY not built"; exit 1; }
ip netns add "$NS" 2>/dev/null || { echo "SKIP: cannot create network namespaces"; exit 77; }
trap 'ip netns del "$NS" 2>/dev/null' EXIT
trap 'exit 1' INT TERM

failures=0
check() { # check DESCRIPTION CONDITION...
	local what=$1; shift
	if "$@"; then echo "ok   - $what"; else echo "FAIL - $what"; failures=$((failures + 1)); fi
}
N="ip netns exec $NS"
CLI=198.18.0.10 VIP=198.18.77.20
for port in 7000 7001; do
	$N conntrack -I -p udp -s $CLI -d $VIP --sport $port --dport 6000 --timeout 60 -m $((port - 6990)) \
		>/dev/null 2>&1 || { echo "SKIP: conntrack -I failed (no conntrack in namespaces?)"; exit 77; }
done
$N conntrack -I -p tcp -s fd00::10 -d fd00::20 --sport 40000 --dport 5060 --state ESTABLISHED \
	--timeout 60 -m 7 >/dev/null 2>&1

out=$($N "$QUERY" -n 6 udp $CLI 7000 $VIP 6000 | tr '\n' ' ')
check "an existing entry, 6 queries in a row: $out" test "$out" = "$(printf 'present 10 %.0s' 1 2 3 4 5 6)"
out=$($N "$QUERY" -n 3 udp $CLI 7999 $VIP 6000 | tr '\n' ' ')
check "a missing entry, 3 queries: $out" test "$out" = "absent absent absent "
# Several flows on one handle, as the engine asks about them.
out=$($N "$QUERY" -n 2 udp $CLI 7000 $VIP 6000 udp $CLI 7998 $VIP 6000 udp $CLI 7001 $VIP 6000 | tr '\n' ' ')
check "present, absent, present, twice over: $out" \
	test "$out" = "present 10 absent present 11 present 10 absent present 11 "
out=$($N "$QUERY" -n 3 tcp fd00::10 40000 fd00::20 5060 | tr '\n' ' ')
check "IPv6 TCP, 3 queries: $out" test "$out" = "present 7 present 7 present 7 "

# The scan's dump: every marked UDP/TCP entry by its original tuple, with
# its mark; an unmarked entry is left out.
$N conntrack -I -p udp -s $CLI -d $VIP --sport 7002 --dport 6000 --timeout 60 >/dev/null 2>&1
out=$($N "$QUERY" --dump | sort | tr '\n' ';')
want="dumped 3;tcp fd00::10 40000 fd00::20 5060 7;udp $CLI 7000 $VIP 6000 10;udp $CLI 7001 $VIP 6000 11;"
check "--dump lists the 3 marked entries, not the unmarked one: $out" test "$out" = "$want"

if [ "$failures" -ne 0 ]; then echo "FAIL: $failures checks failed"; exit 1; fi
echo "PASS"
