#!/usr/bin/env bash
# ctl_rules.sh - sara-ctl rules --apply/--remove in fresh network namespaces:
# everything is there, a second apply adds no duplicates, a server added or
# removed in the file gets or loses its policy rule and route while the
# others' rules stay untouched, remove leaves nothing of ours, --apply --nft
# refuses without the nft queue expression.
# usage: tests/netns/ctl_rules.sh [BUILD/sara-ctl]   exit 0 PASS, 1 FAIL, 77 skip
set -u

ctl=${1:-build/sara-ctl}
repo=$(cd "$(dirname "$0")/../.." && pwd)
prefix=sara-C-
ns=${prefix}rules-$$
ns_bad=${prefix}bad-$$
tmp=$(mktemp -d /tmp/sara-C-rules.XXXXXX)
failures=0

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

cleanup() {
	ip netns del "$ns" 2>/dev/null
	ip netns del "$ns_bad" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces, iptables)"
for tool in ip iptables ip6tables iptables-save ip6tables-save; do
	command -v "$tool" >/dev/null || { echo "FAIL: $tool not installed (make deps installs it)"; exit 1; }
done
[ -x "$ctl" ] || { echo "FAIL: $ctl not built (make BUILD=... BUILD/sara-ctl)"; exit 1; }
ctl=$(cd "$(dirname "$ctl")" && pwd)/$(basename "$ctl")
ip netns add "$ns" 2>/dev/null || skip "cannot create network namespaces"

in_ns() { ip netns exec "$ns" "$@"; }

# A server LAN in the namespace so routes via the servers are accepted.
in_ns ip link set lo up
in_ns ip link add lan0 type veth peer name lan1 || skip "no veth support"
in_ns ip link set lan0 up
in_ns ip link set lan1 up
in_ns ip addr add 198.18.2.1/24 dev lan0
in_ns ip -6 addr add fd00:2::1/64 dev lan0 nodad

# count PATTERN TEXT: lines of TEXT containing the fixed string PATTERN.
count() { printf '%s\n' "$2" | grep -cF -- "$1"; }

# expect_count WHAT PATTERN TEXT N
expect_count() {
	local n
	n=$(count "$2" "$3")
	if [ "$n" -eq "$4" ]; then pass "$1: $n x '$2'"; else fail "$1: '$2' found $n times, expected $4"; fi
}

state() {
	v4=$(in_ns iptables-save -t mangle)
	v6=$(in_ns ip6tables-save -t mangle)
	rules4=$(in_ns ip rule show)
	rules6=$(in_ns ip -6 rule show)
	routes=$(for t in 101 102 103 111 112 main; do echo "table $t:"; in_ns ip route show table "$t" 2>/dev/null; done)
	routes6=$(for t in 101 102 103 111 112 main; do echo "table $t:"; in_ns ip -6 route show table "$t" 2>/dev/null; done)
}

check_applied() {
	local round=$1
	state
	expect_count "$round iptables hook" "-A PREROUTING -d 198.18.77.20/32 -j SARA" "$v4" 1
	expect_count "$round iptables save" "-A POSTROUTING -d 198.18.77.20/32 -m mark ! --mark 0x0 -j CONNMARK --save-mark" "$v4" 1
	expect_count "$round iptables restore" "-A SARA -j CONNMARK --restore-mark" "$v4" 1
	expect_count "$round iptables sip udp" "-A SARA -p udp -m udp --dport 5060 -j NFQUEUE --queue-num 0 --queue-bypass" "$v4" 1
	expect_count "$round iptables rtsp" "-A SARA -p tcp -m multiport --dports 554,8554 -j NFQUEUE --queue-num 0 --queue-bypass" "$v4" 1
	expect_count "$round iptables return" "-A SARA -m mark ! --mark 0x0 -j RETURN" "$v4" 1
	expect_count "$round iptables chain rules" "-A SARA " "$v4" 6
	expect_count "$round ip6tables hook" "-A PREROUTING -d fd00:77::20/128 -j SARA" "$v6" 1
	expect_count "$round ip6tables chain rules" "-A SARA " "$v6" 6
	for m in 1 2 3; do
		expect_count "$round ip rule" "fwmark 0x$m lookup 10$m" "$rules4" 1
		expect_count "$round ip -6 rule" "fwmark 0x$m lookup 10$m" "$rules6" 1
	done
	expect_count "$round routes" "198.18.77.20 via 198.18.2.1" "$routes" 3
	expect_count "$round fallback nexthops" "nexthop via 198.18.2.1" "$routes" 3
	# the servers' address6: the IPv6 VIP routed under the same marks and tables
	expect_count "$round IPv6 routes" "fd00:77::20 via fd00:2::1" "$routes6" 3
	expect_count "$round IPv6 fallback nexthops" "nexthop via fd00:2::1" "$routes6" 3
}

# ---- conf/example.cfg: apply, apply again, remove ----------------------------
out=$(in_ns "$ctl" -c "$repo/conf/example.cfg" rules --apply 2>&1)
rc=$?
echo "$out"
[ $rc -eq 0 ] && pass "apply exit 0" || fail "apply exited $rc"
check_applied "apply"

out=$(in_ns "$ctl" -c "$repo/conf/example.cfg" rules --apply 2>&1)
rc=$?
echo "$out"
[ $rc -eq 0 ] && pass "second apply exit 0" || fail "second apply exited $rc"
check_applied "re-apply"
case $out in *"10 rules already present"*) pass "re-apply found its 4 hooks, 3 ip rules and 3 ip -6 rules present" ;;
	*) fail "re-apply did not report 10 rules already present" ;; esac

# ---- the server list changes: s3 removed, s4 added ------------------------------
sed -e 's|{ id = "s3"; address = "198.18.2.13"; address6 = "fd00:2::13"; mark = 3; table = 103;|{ id = "s4"; address = "198.18.2.14"; address6 = "fd00:2::14"; mark = 4; table = 104;|' \
	"$repo/conf/example.cfg" >"$tmp/changed.cfg"
# the key file and socket of the example, wherever they are
sed -i "s|socket = \"[^\"]*\"|socket = \"$tmp/none.sock\"|" "$tmp/changed.cfg"
in_ns "$ctl" -c "$tmp/changed.cfg" --check-config >/dev/null 2>&1 || fail "the changed config does not load: $(in_ns "$ctl" -c "$tmp/changed.cfg" --check-config 2>&1)"
before=$(in_ns ip rule show | grep -E 'fwmark 0x[12] ')
out=$(in_ns "$ctl" -c "$tmp/changed.cfg" rules --apply 2>&1)
rc=$?
echo "$out"
[ $rc -eq 0 ] && pass "apply of the changed list exit 0" || fail "apply of the changed list exited $rc"
state
after=$(in_ns ip rule show | grep -E 'fwmark 0x[12] ')
[ "$before" = "$after" ] && pass "the rules of s1 and s2 were not touched (same priorities)" ||
	fail "the rules of s1 and s2 changed: before [$before] after [$after]"
expect_count "s3's rule pruned" "fwmark 0x3 " "$rules4" 0
expect_count "s4's rule added" "fwmark 0x4 lookup 104" "$rules4" 1
expect_count "s3's IPv6 rule pruned" "fwmark 0x3 " "$rules6" 0
expect_count "s4's IPv6 rule added" "fwmark 0x4 lookup 104" "$rules6" 1
routes=$(for t in 101 102 103 104; do echo "table $t:"; in_ns ip route show table "$t" 2>/dev/null; done)
expect_count "s3's table emptied, s4's filled" "198.18.77.20 via" "$routes" 3
expect_count "s4's route" "198.18.77.20 via 198.18.2.14" "$routes" 1
case $out in *"removed the IPv4 rule of mark 3 (table 103)"*) pass "the pruned rule is reported" ;;
	*) fail "no report of the pruned rule" ;; esac
fallback=$(in_ns ip route show 198.18.77.20/32)
expect_count "fallback over s1 s2 s4" "nexthop via" "$fallback" 3
expect_count "fallback without s3" "198.18.2.13" "$fallback" 0
# a rule of someone else (another protocol) is never pruned
in_ns ip rule add fwmark 9 lookup 109
in_ns "$ctl" -c "$tmp/changed.cfg" rules --apply >/dev/null 2>&1 || fail "re-apply of the changed list"
expect_count "a foreign fwmark rule stays" "fwmark 0x9 lookup 109" "$(in_ns ip rule show)" 1
in_ns ip rule del fwmark 9 lookup 109
in_ns "$ctl" -c "$tmp/changed.cfg" rules --remove >/dev/null 2>&1 || fail "remove of the changed list"
in_ns "$ctl" -c "$repo/conf/example.cfg" rules --apply >/dev/null 2>&1 || fail "apply of the example again"

out=$(in_ns "$ctl" -c "$repo/conf/example.cfg" rules --remove 2>&1)
rc=$?
echo "$out"
[ $rc -eq 0 ] && pass "remove exit 0" || fail "remove exited $rc"
state
expect_count "remove iptables" "SARA" "$v4" 0
expect_count "remove ip6tables" "SARA" "$v6" 0
expect_count "remove ip rules" "fwmark" "$rules4" 0
expect_count "remove ip -6 rules" "fwmark" "$rules6" 0
expect_count "remove routes" "198.18.77.20" "$routes" 0
expect_count "remove IPv6 routes" "fd00:77::20" "$routes6" 0
out=$(in_ns "$ctl" -c "$repo/conf/example.cfg" rules --remove 2>&1)
rc=$?
[ $rc -eq 0 ] && pass "remove again (nothing there) exit 0" || fail "second remove exited $rc: $out"

# ---- gateway rule --------------------------------------------------------------
in_ns "$ctl" -c "$repo/conf/example.cfg" rules --gateway --apply >/dev/null 2>&1 || fail "gateway apply"
in_ns "$ctl" -c "$repo/conf/example.cfg" rules --gateway --apply >/dev/null 2>&1 || fail "gateway re-apply"
state
expect_count "gateway hooks" "-A FORWARD -s 198.18.77.20/32 -j SARA-GW" "$v4" 1
expect_count "gateway queue" "-A SARA-GW -p udp -m udp --sport 5060 -j NFQUEUE --queue-num 1 --queue-bypass" "$v4" 1
expect_count "gateway chain rules" "-A SARA-GW " "$v4" 3
in_ns "$ctl" -c "$repo/conf/example.cfg" rules --gateway --remove >/dev/null 2>&1 || fail "gateway remove"
state
expect_count "gateway removed" "SARA-GW" "$v4$v6" 0

# ---- multi-queue, fail-closed, IPv6 servers --------------------------------------
cat >"$tmp/v6.cfg" <<'EOF'
name = "v6lab";
vips = [ "fd00:77::20" ];
ports = { sip = [ 5060, 5080 ]; rtsp = [ 554 ]; };
servers = (
  { id = "a"; address = "fd00:2::11"; mark = 11; table = 111; },
  { id = "b"; address = "fd00:2::12"; mark = 12; table = 112; }
);
queue = { first = 4; count = 2; fail_open = false; };
EOF
in_ns "$ctl" -c "$tmp/v6.cfg" rules --apply >/dev/null 2>&1 || fail "v6 apply"
in_ns "$ctl" -c "$tmp/v6.cfg" rules --apply >/dev/null 2>&1 || fail "v6 re-apply"
state
expect_count "v6 balance, fail-closed" "-A SARA -j NFQUEUE --queue-balance 4:5" "$v6" 1
expect_count "v6 no bypass" "queue-bypass" "$v6" 0
expect_count "v6 no IPv4 rules" "SARA" "$v4" 0
expect_count "v6 rule" "fwmark 0xb lookup 111" "$rules6" 1
expect_count "v6 route" "fd00:77::20 via fd00:2::11" "$routes6" 1
expect_count "v6 no fallback (fail-closed)" "nexthop" "$routes6" 0
in_ns "$ctl" -c "$tmp/v6.cfg" rules --remove >/dev/null 2>&1 || fail "v6 remove"
state
expect_count "v6 removed" "SARA" "$v6" 0
expect_count "v6 rules removed" "fwmark" "$rules6" 0
expect_count "v6 routes removed" "fd00:77::20" "$routes6" 0

# ---- nft ----------------------------------------------------------------------------
if command -v nft >/dev/null; then
	out=$(in_ns "$ctl" -c "$repo/conf/example.cfg" rules --apply --nft 2>&1)
	rc=$?
	echo "$out"
	if [ $rc -eq 3 ] && [ "$(count 'no nftables queue expression (CONFIG_NFT_QUEUE); use --iptables' "$out")" -eq 1 ]; then
		pass "--apply --nft refused (exit 3)"
	elif [ $rc -eq 0 ] && in_ns nft list table inet sara >/dev/null 2>&1; then
		pass "--apply --nft applied (this kernel has nft queue)"
		in_ns "$ctl" -c "$repo/conf/example.cfg" rules --remove --nft >/dev/null 2>&1 || fail "nft remove"
	else
		fail "--apply --nft: exit $rc"
	fi
	in_ns nft list ruleset | grep -q sara_probe && fail "nft probe table left behind"
else
	out=$(in_ns "$ctl" -c "$repo/conf/example.cfg" rules --apply --nft 2>&1)
	rc=$?
	[ $rc -eq 3 ] && pass "--apply --nft without nft: exit 3 ($out)" || fail "--apply --nft without nft: exit $rc"
fi

# ---- a failing command is reported with its stderr --------------------------------
ip netns add "$ns_bad" || fail "cannot create $ns_bad"
out=$(ip netns exec "$ns_bad" "$ctl" -c "$repo/conf/example.cfg" rules --apply 2>&1)
rc=$?
if [ $rc -eq 1 ] && [ "$(count '`ip route replace 198.18.77.20/32 via 198.18.2.11 table 101 proto 83` failed' "$out")" -eq 1 ]; then
	pass "unreachable server reported: $out"
else
	fail "unreachable server: exit $rc, output: $out"
fi

if [ "$failures" -eq 0 ]; then
	echo "PASS: ctl_rules"
	exit 0
fi
echo "FAIL: ctl_rules ($failures checks failed)"
exit 1
