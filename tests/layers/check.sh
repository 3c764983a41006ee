#!/usr/bin/env bash
# check.sh BUILD - enforces the layering (make layers):
#   dpi/         may use libc and libosip2 only, and nothing else of sara;
#   src/engine/  may use dpi/, libc's memory, string and math functions, and
#                libsodium: no socket, file, syslog or thread call, none of
#                libnetfilter_queue, libnetfilter_conntrack, libmnl, libpcap,
#                libconfig;
#   src/io/      may use dpi/ and src/engine/;
#   src/PROGRAM/ may use the layers, not another program's folder.
# Symbols are read from the built objects (nm), includes from the sources.
# Before checking the tree it plants a violation of each kind and fails if
# the check does not catch it, so a check that cannot fail cannot pass.
set -u
BUILD=${1:?usage: check.sh BUILD}
cd "$(dirname "$0")/../.."

# What each lower layer may call outside itself (anchored regexes).
LIBC_PURE='_GLOBAL_OFFSET_TABLE_|mem[a-z]*|str[a-z]*|snprintf|vsnprintf|malloc|calloc|realloc|free|aligned_alloc|posix_memalign|qsort|bsearch|abort|__[A-Za-z0-9_]*|_Unwind_[A-Za-z_]*'
LIBM='log|log2|exp|sqrt|pow|fmax|fmin|fabs|floor|ceil|lround|llround|lrint|round|trunc|isnan'
DPI_ALLOWED="^($LIBC_PURE|$LIBM|osip_[a-z_0-9]*|sdp_message_[a-z_]*|parser_init|getrandom|inet_pton|inet_ntop|__osip_[a-z_]*)\$"
# The engine may also map its big tables (mmap, madvise) and use libsodium.
ENGINE_ALLOWED="^($LIBC_PURE|$LIBM|mmap|munmap|madvise|crypto_[a-z_0-9]*|randombytes_[a-z_]*|sodium_[a-z_]*)\$"
# Include prefixes each layer may name ("dpi/x.h").
INC_DPI='dpi'
INC_ENGINE='dpi|engine'
INC_IO='dpi|engine|io'
# System headers that mean I/O, threads or an adapter's library.
# <arpa/inet.h> stays allowed: inet_pton and inet_ntop only convert text.
BANNED_HEADERS='sys/socket\.h|sys/un\.h|netinet/|pthread\.h|syslog\.h|poll\.h|sys/epoll\.h|unistd\.h|fcntl\.h|libconfig\.h|pcap|libnetfilter|libmnl|linux/netfilter'

failures=0
fail() { echo "layers: $*"; failures=$((failures + 1)); }

defined_in() { nm --defined-only -g "$@" 2>/dev/null | awk 'NF == 3 {print $3}' | sort -u; }
undefined_in() { nm -u "$@" 2>/dev/null | awk '{print $NF}' | sort -u; }

# check_symbols NAME ALLOWED_REGEX OBJ... -- SAME_LAYER_AND_BELOW_OBJ...
check_symbols() {
	local name=$1 allowed=$2; shift 2
	local objs=() own=() bad=0
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do objs+=("$1"); shift; done
	shift
	own=("$@")
	local defined; defined=$(defined_in "${objs[@]}" "${own[@]}")
	for o in "${objs[@]}"; do
		for sym in $(undefined_in "$o"); do
			grep -qxF "$sym" <<<"$defined" && continue
			[[ $sym =~ $allowed ]] && continue
			fail "$name: $o calls $sym, which its layer may not use"
			bad=1
		done
	done
	return $bad
}

# check_includes NAME ALLOWED_PREFIXES BAN_SYSTEM(0/1) FILE...
check_includes() {
	local name=$1 prefixes=$2 ban=$3; shift 3
	local bad=0
	for f in "$@"; do
		while IFS= read -r line; do
			local inc=${line#*\"}; inc=${inc%%\"*}
			if [[ $inc == */* ]] && ! [[ ${inc%%/*} =~ ^($prefixes)$ ]]; then
				fail "$name: $f includes \"$inc\" from a layer above it"; bad=1
			fi
		done < <(grep -E '^[[:space:]]*#[[:space:]]*include[[:space:]]+"' "$f")
		if [ "$ban" = 1 ]; then
			while IFS= read -r line; do
				fail "$name: $f includes ${line#*include} (I/O, threads or an adapter's library)"; bad=1
			done < <(grep -E "^[[:space:]]*#[[:space:]]*include[[:space:]]+<($BANNED_HEADERS)" "$f")
		fi
	done
	return $bad
}

objs_of() { local d=$1; ls "$BUILD"/obj/"$d"/*.o 2>/dev/null; }

DPI_OBJS=$(objs_of dpi)
ENGINE_OBJS=$(objs_of src/engine)
IO_OBJS=$(objs_of src/io)
[ -n "$DPI_OBJS" ] && [ -n "$ENGINE_OBJS" ] && [ -n "$IO_OBJS" ] ||
	{ echo "layers: no objects under $BUILD/obj (build first: make layers)"; exit 1; }

# ---- the checker must catch a planted violation of each kind ----
plant=$(mktemp -d /tmp/sara-layers.XXXXXX)
trap 'rm -rf "$plant"' EXIT
cat >"$plant/planted.c" <<'EOF'
#include <sys/socket.h>
#include "io/log.h"
int planted_engine_call(void) { return socket(AF_INET, SOCK_DGRAM, 0); }
EOF
${CC:-cc} -std=c11 -D_GNU_SOURCE -iquote include -c "$plant/planted.c" -o "$plant/planted.o" ||
	{ echo "layers: cannot compile the planted violation"; exit 1; }
saved=$failures
# shellcheck disable=SC2086
if check_symbols "self-test" "$ENGINE_ALLOWED" "$plant/planted.o" -- $ENGINE_OBJS $DPI_OBJS >/dev/null ||
   check_includes "self-test" "$INC_ENGINE" 1 "$plant/planted.c" >/dev/null; then
	echo "layers: FAIL: a planted socket() call and io/ include in an engine file went unnoticed"
	exit 1
fi
failures=$saved
echo "layers: self-test: a planted socket() call and an io/ include in the engine are caught"

# ---- the tree ----
# shellcheck disable=SC2086
check_symbols dpi "$DPI_ALLOWED" $DPI_OBJS -- $DPI_OBJS
# shellcheck disable=SC2086
check_symbols engine "$ENGINE_ALLOWED" $ENGINE_OBJS -- $DPI_OBJS
check_includes dpi "$INC_DPI" 1 dpi/*.c include/dpi/*.h
check_includes engine "$INC_ENGINE" 1 src/engine/*.c include/engine/*.h
check_includes io "$INC_IO" 0 src/io/*.c include/io/*.h
# io must not reach into a program's folder: its undefined symbols resolve
# in the layers or in libraries, never in a program's objects.
prog_objs=$(ls "$BUILD"/obj/src/sara*/*.o 2>/dev/null)
if [ -n "$prog_objs" ]; then
	# shellcheck disable=SC2086
	prog_defined=$(defined_in $prog_objs)
	# shellcheck disable=SC2086
	for sym in $(undefined_in $IO_OBJS $ENGINE_OBJS $DPI_OBJS); do
		grep -qxF "$sym" <<<"$prog_defined" && fail "a layer calls $sym, defined in a program's folder"
	done
fi
for dir in src/sara*/; do
	prog=$(basename "$dir")
	files=$(ls "$dir"*.c include/"$prog"/*.h 2>/dev/null)
	# shellcheck disable=SC2086
	check_includes "$prog" "dpi|engine|io|$prog" 0 $files
done

if [ "$failures" -ne 0 ]; then
	echo "layers: $failures violation(s)"
	exit 1
fi
echo "layers: dpi $(wc -w <<<"$DPI_OBJS") objects, engine $(wc -w <<<"$ENGINE_OBJS"), io $(wc -w <<<"$IO_OBJS"): every rule holds"
