# one_server_lib.sh - sourced by tests/netns/sarad_smoke.sh and e2e_long_media.sh:
# a client, a dispatcher and one server in three namespaces, policy routing
# for mark 1 only (a packet reaching the server proves sarad marked it), the
# plan's rules fail-closed, and the tests' helpers (check, control, status,
# jget). Needs NS_CLI NS_DSP NS_SRV (NS_CLI already created), IF (interface
# prefix), VIP CLI SRV PY WORK; sets IC ID IS.

failures=0
check() { # check DESCRIPTION CONDITION...
	local what=$1; shift
	if "$@"; then echo "ok   - $what"; else echo "FAIL - $what"; failures=$((failures + 1)); fi
}

# one_server_up: the namespaces' links, addresses, routes and rules; exits
# the test (set -e) on any failure.
one_server_up() {
	set -e
	ip netns add "$NS_DSP"
	ip netns add "$NS_SRV"
	IC="ip netns exec $NS_CLI" ID="ip netns exec $NS_DSP" IS="ip netns exec $NS_SRV"
	ip link add $IF-c0 type veth peer name $IF-d0
	ip link add $IF-d1 type veth peer name $IF-s0
	ip link set $IF-c0 netns "$NS_CLI"; ip link set $IF-d0 netns "$NS_DSP"
	ip link set $IF-d1 netns "$NS_DSP"; ip link set $IF-s0 netns "$NS_SRV"
	for ns in "$NS_CLI" "$NS_DSP" "$NS_SRV"; do
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv4.conf.all.rp_filter=0 \
			net.ipv4.conf.default.rp_filter=0
		ip -n "$ns" link set lo up
	done
	ip -n "$NS_CLI" addr add $CLI/24 dev $IF-c0; ip -n "$NS_CLI" link set $IF-c0 up
	ip -n "$NS_CLI" route add default via 198.18.0.1
	ip -n "$NS_DSP" addr add 198.18.0.1/24 dev $IF-d0; ip -n "$NS_DSP" link set $IF-d0 up
	ip -n "$NS_DSP" addr add 198.18.2.1/24 dev $IF-d1; ip -n "$NS_DSP" link set $IF-d1 up
	$ID sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.$IF-d0.rp_filter=0 net.ipv4.conf.$IF-d1.rp_filter=0
	ip -n "$NS_SRV" addr add $SRV/24 dev $IF-s0; ip -n "$NS_SRV" link set $IF-s0 up
	ip -n "$NS_SRV" addr add $VIP/32 dev lo
	$IS sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
	ip -n "$NS_SRV" route add default via 198.18.2.1

	# Policy routing: only packets marked 1 have a route to the VIP.
	ip -n "$NS_DSP" rule add fwmark 1 lookup 101
	ip -n "$NS_DSP" route add $VIP/32 via $SRV table 101

	# The data path of the plan (what sara-ctl rules emits), fail-closed.
	$ID iptables -t mangle -N SARA
	$ID iptables -t mangle -A PREROUTING -d $VIP -j SARA
	$ID iptables -t mangle -A SARA -j CONNMARK --restore-mark
	$ID iptables -t mangle -A SARA -p udp -m multiport --dports 5060 -j NFQUEUE --queue-num 0
	$ID iptables -t mangle -A SARA -p tcp -m multiport --dports 5060,8554 -j NFQUEUE --queue-num 0
	$ID iptables -t mangle -A SARA -m mark ! --mark 0 -j RETURN
	$ID iptables -t mangle -A SARA -j NFQUEUE --queue-num 0
	$ID iptables -t mangle -A POSTROUTING -d $VIP -m mark ! --mark 0 -j CONNMARK --save-mark
	$ID iptables -t mangle -A POSTROUTING -d $VIP -m mark --mark 1 -j RETURN
	set +e
}

control() { # control COMMAND -> sarad's reply (JSON) on stdout
	$ID "$PY" - "$WORK/sarad.sock" "$1" <<'PYX'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1]); s.sendall(sys.argv[2].encode() + b"\n")
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk: break
    data += chunk
print(data.decode())
PYX
}
status() { control status; }
jget() { # jget JSON PYTHON-EXPRESSION-ON-d
	"$PY" -c "import json,sys; d=json.loads(sys.argv[1]); print($2)" "$1" 2>/dev/null
}
