#!/usr/bin/env bash
# Tests sara-replay --observed without namespaces: splits a recorded 3-call SIP
# capture into per-server captures (each call at its own server, as a working
# dispatcher would deliver them), then damages the split and expects --check
# to catch it. Derived files live in a temp dir. Prints PASS/FAIL lines.
# Usage: tests/pcap/observed.sh BUILD/sara-replay
set -u
replay=${1:?usage: observed.sh path/to/sara-replay}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
capture="$root/pcaps/sip-sipp-sipp-udp-3calls.pcap"
config="$root/conf/example.cfg"
vip=198.18.77.20
tmp=$(mktemp -d /tmp/sara-observed.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0

# split.py IN OUTDIR HOW: writes OUTDIR/s1.pcap s2.pcap s3.pcap (same link
# type and timestamps as IN). A packet belongs to the call whose Call-ID it
# carries, or whose SDP announced one of its UDP ports; call i (in order of
# appearance) goes to server s(i%3+1). HOW damages the result:
#   bycall    nothing
#   one-file  every packet in s1.pcap
#   move-rtp  the 10th client->VIP RTP packet of call 0 goes to call 1's server
#   drop-rtp  the 10th client->VIP RTP packet of call 0 is in no file
#   drop-call no packet of call 2 is in any file
#   forwarded as bycall, with what the path rewrites changed: TTL - 2, other
#             IPv4 and UDP checksums
cat > "$tmp/split.py" <<'EOF'
import re, struct, sys

src, outdir, how = sys.argv[1], sys.argv[2], sys.argv[3]
VIP = bytes([198, 18, 77, 20])
data = open(src, 'rb').read()
magic = data[:4]
endian = '<' if magic in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1') else '>'
linktype = struct.unpack(endian + 'I', data[20:24])[0]
l3_offset = {1: 14, 101: 0, 228: 0, 113: 16, 276: 20}[linktype]
records, pos = [], 24
while pos + 16 <= len(data):
    incl = struct.unpack(endian + 'I', data[pos + 8:pos + 12])[0]
    records.append(data[pos:pos + 16 + incl])
    pos += 16 + incl

def udp_parts(rec):
    ip = rec[16 + l3_offset:]
    if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 17:
        return None
    ihl = (ip[0] & 15) * 4
    sport, dport = struct.unpack('>HH', ip[ihl:ihl + 4])
    return ip[12:16], ip[16:20], sport, dport, ip[ihl + 8:]

calls, port_call, owner = {}, {}, []
for rec in records:
    parts = udp_parts(rec)
    call = None
    if parts:
        src_ip, dst_ip, sport, dport, payload = parts
        m = re.search(rb'\r\n(?:Call-ID|i)\s*:\s*([^\r\n]+)', payload, re.I)
        if m:
            call = calls.setdefault(m.group(1).strip(), len(calls))
            for port in re.findall(rb'\r\nm=audio (\d+)', payload):
                port_call[int(port)] = call
        else:
            call = port_call.get(sport, port_call.get(dport))
    owner.append(call)

files = {name: [] for name in ('s1', 's2', 's3')}
rtp_seen = 0
for rec, call in zip(records, owner):
    server = 's%d' % ((call or 0) % 3 + 1)
    parts = udp_parts(rec)
    inbound_rtp = parts and parts[1] == VIP and parts[3] != 5060 and call == 0
    if inbound_rtp:
        rtp_seen += 1
    if how == 'one-file':
        server = 's1'
    elif how == 'move-rtp' and inbound_rtp and rtp_seen == 10:
        server = 's2'
    elif how == 'drop-rtp' and inbound_rtp and rtp_seen == 10:
        continue
    elif how == 'drop-call' and call == 2:
        continue
    elif how == 'forwarded' and parts:
        rec = bytearray(rec)
        ip = 16 + l3_offset
        rec[ip + 8] = (rec[ip + 8] - 2) & 0xff
        rec[ip + 10:ip + 12] = b'\x12\x34'
        rec[ip + (rec[ip] & 15) * 4 + 6:ip + (rec[ip] & 15) * 4 + 8] = b'\xab\xcd'
        rec = bytes(rec)
    files[server].append(rec)
for name, recs in files.items():
    with open('%s/%s.pcap' % (outdir, name), 'wb') as out:
        out.write(data[:24])
        out.writelines(recs)
print('calls %d packets %d' % (len(calls), len(records)), file=sys.stderr)
EOF

# expect NAME WANT_RC GREP_PATTERN... -- ARGS...: runs sara-replay --check
# with ARGS; passes when it exits WANT_RC and its report matches each pattern.
expect() {
	local name=$1 want=$2; shift 2
	local patterns=()
	while [ "$1" != "--" ]; do patterns+=("$1"); shift; done
	shift
	local out rc problems=()
	out=$("$replay" -c "$config" --vip "$vip" --check "$@" 2>&1)
	rc=$?
	[ "$rc" -eq "$want" ] || problems+=("exit $rc, expected $want")
	for p in "${patterns[@]}"; do
		grep -qE -- "$p" <<<"$out" || problems+=("no line matching: $p")
	done
	if [ ${#problems[@]} -eq 0 ]; then
		echo "PASS observed: $name"; passed=$((passed + 1))
	else
		echo "FAIL observed: $name"; printf '  %s\n' "${problems[@]}"
		printf '%s\n' "$out" | sed 's/^/  | /' | head -40
		failed=$((failed + 1))
	fi
}

split() { # HOW -> prints the --observed arguments of a fresh split
	mkdir -p "$tmp/$1"
	python3 "$tmp/split.py" "$capture" "$tmp/$1" "$1" 2>/dev/null || { echo "FAIL observed: split $1"; exit 1; }
	echo "--observed s1=$tmp/$1/s1.pcap --observed s2=$tmp/$1/s2.pcap --observed s3=$tmp/$1/s3.pcap"
}

by_call=$(split bycall) || exit 1
one_file=$(split one-file) || exit 1
move_rtp=$(split move-rtp) || exit 1
drop_rtp=$(split drop-rtp) || exit 1
drop_call=$(split drop-call) || exit 1
forwarded=$(split forwarded) || exit 1

# Merged mode: the per-server captures are the only input.
# shellcheck disable=SC2086
expect "each call at its own server passes" 0 \
	'^sessions 3 intact 3 split 0 unreached 0;' \
	'^server s1: sessions 1 packets 1[0-9][0-9]$' '^server s2: sessions 1 ' '^server s3: sessions 1 ' \
	-- $by_call
# shellcheck disable=SC2086
expect "everything at one server passes" 0 \
	'^sessions 3 intact 3 split 0 unreached 0;' '^server s1: sessions 3 ' '^server s2: sessions 0 packets 0$' \
	-- $one_file
# shellcheck disable=SC2086
expect "one RTP packet at another server splits its session" 1 \
	'^session sip 1-[^ ]+ server s1 SPLIT$' 'secondary packets 120 server s1,s2$' \
	'^sessions 3 intact 2 split 1 unreached 0;' '^server s2: sessions 2 ' \
	-- $move_rtp

# Matched mode: the original capture is what was sent; the per-server
# captures say where each sent packet arrived.
# shellcheck disable=SC2086
expect "matched: every sent packet arrived once" 0 \
	'^sessions 3 intact 3 split 0 unreached 0;' '^server s3: sessions 1 packets 1[0-9][0-9]$' \
	-- $by_call "$capture"
# shellcheck disable=SC2086
expect "matched: a lost RTP packet breaks its session" 1 \
	'^session sip 1-[^ ]+ server s1 SPLIT$' 'secondary packets 120 server s1,unmarked$' \
	-- $drop_rtp "$capture"
# shellcheck disable=SC2086
expect "matched: a call no server received is unreached" 1 \
	'^session sip 3-[^ ]+ server - UNREACHED$' '^sessions 3 intact 2 split 0 unreached 1;' \
	-- $drop_call "$capture"

# shellcheck disable=SC2086
expect "matched: TTL and checksums rewritten on the way still match" 0 \
	'^sessions 3 intact 3 split 0 unreached 0;' '^server s2: sessions 1 packets 1[0-9][0-9]$' \
	-- $forwarded "$capture"

# Every recorded capture, observed whole at s1, groups as plainly replayed
# and passes, merged and matched.
while read -r name check cfg file vips; do
	case "$name" in ''|'#'*) continue ;; esac
	[[ $file == pcaps/* ]] || continue
	args=(-c "$root/$cfg")
	for v in $vips; do args+=(--vip "$v"); done
	plain=$("$replay" "${args[@]}" "$root/$file" 2>&1 | grep -c '^session ')
	for how in merged matched; do
		extra=(); [ $how = matched ] && extra=("$root/$file")
		out=$("$replay" "${args[@]}" --check --observed "s1=$root/$file" "${extra[@]}" 2>&1)
		rc=$?
		if [ "$rc" -eq 0 ] && grep -q "^sessions $plain intact $plain split 0 unreached 0;" <<<"$out"; then
			echo "PASS observed: $name whole at s1 ($how)"; passed=$((passed + 1))
		else
			echo "FAIL observed: $name whole at s1 ($how): exit $rc, expected $plain intact sessions"
			printf '%s\n' "$out" | sed 's/^/  | /' | tail -5
			failed=$((failed + 1))
		fi
	done
done < "$here/cases.txt"

# JSON: the plain contract plus "observed" and "per_server".
# shellcheck disable=SC2086
if "$replay" -c "$config" --vip "$vip" --json $move_rtp | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert {"sessions", "unassigned_flows", "summary", "packets", "counters"} <= d.keys()
assert d["observed"] is True
assert d["summary"]["split"] == 1 and d["summary"]["unreached"] == 0
assert d["per_server"]["s2"]["sessions"] == 2, d["per_server"]
assert sum(s["packets"] for s in d["per_server"].values()) == d["packets"]["inbound"]
split = [s for s in d["sessions"] if not s["intact"]]
assert len(split) == 1 and any(f["servers"] == ["s1", "s2"] for f in split[0]["flows"]), split
'; then
	echo "PASS observed: --json report"; passed=$((passed + 1))
else
	echo "FAIL observed: --json report"; failed=$((failed + 1))
fi

# Usage errors exit 2.
for bad in "nosuch=$tmp/bycall/s1.pcap" "s1" "s1=" "s1=$tmp/missing.pcap"; do
	"$replay" -c "$config" --observed "$bad" > /dev/null 2>&1
	rc=$?
	if [ "$rc" -eq 2 ]; then
		echo "PASS observed: --observed $bad exits 2"; passed=$((passed + 1))
	else
		echo "FAIL observed: --observed $bad exited $rc, expected 2"; failed=$((failed + 1))
	fi
done

echo "observed: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
