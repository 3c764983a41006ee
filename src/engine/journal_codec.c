/* journal_codec.c - the session journal's records to and from bytes
 * (journal_codec.h). */
#include "engine/journal_codec.h"

#include <string.h>

#include "engine/byte_writer.h"

/*
 * A record, all integers big-endian:
 *   u8 sync (JOURNAL_SYNC), u8 type, u16 payload length,
 *   u32 CRC-32C of the type, the length and the payload, then the payload:
 *   HEADER   u16 format version, u8 name length, name, u64 created (wall ms),
 *            u64 next session serial
 *   SERVER   u8 id length, id, addr, u32 mark, u32 table, then for a
 *            dual-stack server only: addr address6
 *   SESSION  u64 serial, u32 version, u8 proto, u8 flags (SESSION_*),
 *            u8 server id length, server id, u16 key length, key,
 *            u64 created (ms), addr peer, u16 signalling timeout (s, 0:
 *            the configured one), u8 stream count, per stream: addr
 *            client, addr server, addr client rtcp, addr server rtcp,
 *            u16 client rtp, client rtcp, server rtp, server rtcp
 *   FLOW     u64 serial, u8 identity, u8 family, u8 l4, u16 sport,
 *            u16 dport, src (4|16 bytes), dst (4|16 bytes)
 *   END      u64 serial
 *   CONNECTION      key, u8 server id length, server id
 *   CONNECTION_END  key
 * key (FLOW's from its family on): u8 family, u8 l4, u16 sport, u16 dport,
 * src, dst
 * addr: u8 family (0|4|6), then 0, 4 or 16 bytes. Families travel as 4/6,
 * not as the host's AF_* numbers.
 */
#define JOURNAL_SYNC 0xa7

#define SESSION_CONFIRMED 0x01
#define SESSION_KEY_IS_CONNECTION 0x02
#define SESSION_TRANSACTION_ONLY 0x04
#define SESSION_SERVER_HEARD 0x08
#define SESSION_FLAGS_ALL 0x0f

static const uint32_t crc32c_table[256] = {
	0x00000000u, 0xf26b8303u, 0xe13b70f7u, 0x1350f3f4u, 0xc79a971fu, 0x35f1141cu,
	0x26a1e7e8u, 0xd4ca64ebu, 0x8ad958cfu, 0x78b2dbccu, 0x6be22838u, 0x9989ab3bu,
	0x4d43cfd0u, 0xbf284cd3u, 0xac78bf27u, 0x5e133c24u, 0x105ec76fu, 0xe235446cu,
	0xf165b798u, 0x030e349bu, 0xd7c45070u, 0x25afd373u, 0x36ff2087u, 0xc494a384u,
	0x9a879fa0u, 0x68ec1ca3u, 0x7bbcef57u, 0x89d76c54u, 0x5d1d08bfu, 0xaf768bbcu,
	0xbc267848u, 0x4e4dfb4bu, 0x20bd8edeu, 0xd2d60dddu, 0xc186fe29u, 0x33ed7d2au,
	0xe72719c1u, 0x154c9ac2u, 0x061c6936u, 0xf477ea35u, 0xaa64d611u, 0x580f5512u,
	0x4b5fa6e6u, 0xb93425e5u, 0x6dfe410eu, 0x9f95c20du, 0x8cc531f9u, 0x7eaeb2fau,
	0x30e349b1u, 0xc288cab2u, 0xd1d83946u, 0x23b3ba45u, 0xf779deaeu, 0x05125dadu,
	0x1642ae59u, 0xe4292d5au, 0xba3a117eu, 0x4851927du, 0x5b016189u, 0xa96ae28au,
	0x7da08661u, 0x8fcb0562u, 0x9c9bf696u, 0x6ef07595u, 0x417b1dbcu, 0xb3109ebfu,
	0xa0406d4bu, 0x522bee48u, 0x86e18aa3u, 0x748a09a0u, 0x67dafa54u, 0x95b17957u,
	0xcba24573u, 0x39c9c670u, 0x2a993584u, 0xd8f2b687u, 0x0c38d26cu, 0xfe53516fu,
	0xed03a29bu, 0x1f682198u, 0x5125dad3u, 0xa34e59d0u, 0xb01eaa24u, 0x42752927u,
	0x96bf4dccu, 0x64d4cecfu, 0x77843d3bu, 0x85efbe38u, 0xdbfc821cu, 0x2997011fu,
	0x3ac7f2ebu, 0xc8ac71e8u, 0x1c661503u, 0xee0d9600u, 0xfd5d65f4u, 0x0f36e6f7u,
	0x61c69362u, 0x93ad1061u, 0x80fde395u, 0x72966096u, 0xa65c047du, 0x5437877eu,
	0x4767748au, 0xb50cf789u, 0xeb1fcbadu, 0x197448aeu, 0x0a24bb5au, 0xf84f3859u,
	0x2c855cb2u, 0xdeeedfb1u, 0xcdbe2c45u, 0x3fd5af46u, 0x7198540du, 0x83f3d70eu,
	0x90a324fau, 0x62c8a7f9u, 0xb602c312u, 0x44694011u, 0x5739b3e5u, 0xa55230e6u,
	0xfb410cc2u, 0x092a8fc1u, 0x1a7a7c35u, 0xe811ff36u, 0x3cdb9bddu, 0xceb018deu,
	0xdde0eb2au, 0x2f8b6829u, 0x82f63b78u, 0x709db87bu, 0x63cd4b8fu, 0x91a6c88cu,
	0x456cac67u, 0xb7072f64u, 0xa457dc90u, 0x563c5f93u, 0x082f63b7u, 0xfa44e0b4u,
	0xe9141340u, 0x1b7f9043u, 0xcfb5f4a8u, 0x3dde77abu, 0x2e8e845fu, 0xdce5075cu,
	0x92a8fc17u, 0x60c37f14u, 0x73938ce0u, 0x81f80fe3u, 0x55326b08u, 0xa759e80bu,
	0xb4091bffu, 0x466298fcu, 0x1871a4d8u, 0xea1a27dbu, 0xf94ad42fu, 0x0b21572cu,
	0xdfeb33c7u, 0x2d80b0c4u, 0x3ed04330u, 0xccbbc033u, 0xa24bb5a6u, 0x502036a5u,
	0x4370c551u, 0xb11b4652u, 0x65d122b9u, 0x97baa1bau, 0x84ea524eu, 0x7681d14du,
	0x2892ed69u, 0xdaf96e6au, 0xc9a99d9eu, 0x3bc21e9du, 0xef087a76u, 0x1d63f975u,
	0x0e330a81u, 0xfc588982u, 0xb21572c9u, 0x407ef1cau, 0x532e023eu, 0xa145813du,
	0x758fe5d6u, 0x87e466d5u, 0x94b49521u, 0x66df1622u, 0x38cc2a06u, 0xcaa7a905u,
	0xd9f75af1u, 0x2b9cd9f2u, 0xff56bd19u, 0x0d3d3e1au, 0x1e6dcdeeu, 0xec064eedu,
	0xc38d26c4u, 0x31e6a5c7u, 0x22b65633u, 0xd0ddd530u, 0x0417b1dbu, 0xf67c32d8u,
	0xe52cc12cu, 0x1747422fu, 0x49547e0bu, 0xbb3ffd08u, 0xa86f0efcu, 0x5a048dffu,
	0x8ecee914u, 0x7ca56a17u, 0x6ff599e3u, 0x9d9e1ae0u, 0xd3d3e1abu, 0x21b862a8u,
	0x32e8915cu, 0xc083125fu, 0x144976b4u, 0xe622f5b7u, 0xf5720643u, 0x07198540u,
	0x590ab964u, 0xab613a67u, 0xb831c993u, 0x4a5a4a90u, 0x9e902e7bu, 0x6cfbad78u,
	0x7fab5e8cu, 0x8dc0dd8fu, 0xe330a81au, 0x115b2b19u, 0x020bd8edu, 0xf0605beeu,
	0x24aa3f05u, 0xd6c1bc06u, 0xc5914ff2u, 0x37faccf1u, 0x69e9f0d5u, 0x9b8273d6u,
	0x88d28022u, 0x7ab90321u, 0xae7367cau, 0x5c18e4c9u, 0x4f48173du, 0xbd23943eu,
	0xf36e6f75u, 0x0105ec76u, 0x12551f82u, 0xe03e9c81u, 0x34f4f86au, 0xc69f7b69u,
	0xd5cf889du, 0x27a40b9eu, 0x79b737bau, 0x8bdcb4b9u, 0x988c474du, 0x6ae7c44eu,
	0xbe2da0a5u, 0x4c4623a6u, 0x5f16d052u, 0xad7d5351u,
};

static uint32_t crc32c_bytes(uint32_t crc, const uint8_t *data, size_t len)
{
	for (size_t i = 0; i < len; i++)
		crc = crc32c_table[(crc ^ data[i]) & 0xff] ^ (crc >> 8);
	return crc;
}

#if defined(__x86_64__) && defined(__GNUC__)
/* SSE4.2's crc32 instruction is this very CRC (Castagnoli, reflected),
 * eight bytes a step: every record on the packet path is checksummed. */
__attribute__((target("sse4.2"))) static uint32_t crc32c_sse42(uint32_t crc, const uint8_t *data, size_t len)
{
	uint64_t wide = crc;
	for (; len >= 8; data += 8, len -= 8) {
		uint64_t v;
		memcpy(&v, data, sizeof(v));
		wide = __builtin_ia32_crc32di(wide, v);
	}
	crc = (uint32_t)wide;
	for (; len > 0; data++, len--)
		crc = __builtin_ia32_crc32qi(crc, *data);
	return crc;
}
#endif

uint32_t journal_crc32c(uint32_t crc, const uint8_t *data, size_t len)
{
#if defined(__x86_64__) && defined(__GNUC__)
	if (__builtin_cpu_supports("sse4.2"))
		return ~crc32c_sse42(~crc, data, len);
#endif
	return ~crc32c_bytes(~crc, data, len);
}

/* ---- writing ---- */

static uint8_t disk_family(uint8_t family)
{
	return family == NETADDR_IPV4 ? 4 : family == NETADDR_IPV6 ? 6 : 0;
}

static size_t addr_size(uint8_t family)
{
	return family == NETADDR_IPV4 ? 4 : family == NETADDR_IPV6 ? 16 : 0;
}

/* An unset address (family 0) is written as family 0 and no bytes. */
static void put_addr(struct byte_writer *w, const struct netaddr *a)
{
	uint8_t family = disk_family(a->family);
	if (a->family != 0 && family == 0) {
		w->bad = true;
		return;
	}
	put_u8(w, family);
	put_bytes(w, a->bytes, addr_size(a->family));
}

/* A short string: u8 length then the bytes (no NUL). */
static void put_string(struct byte_writer *w, const char *s, size_t max)
{
	size_t n = strnlen(s, max);
	if (n >= max || n > UINT8_MAX) {
		w->bad = true;
		return;
	}
	put_u8(w, (uint8_t)n);
	put_bytes(w, s, n);
}

/* Opens a record: the payload goes after the header, sealed by finish(). */
static void begin(struct byte_writer *w, uint8_t *out, size_t cap)
{
	w->p = out;
	w->cap = cap;
	w->len = JOURNAL_RECORD_HEADER;
	w->bad = cap < JOURNAL_RECORD_HEADER;
}

static size_t finish(struct byte_writer *w, uint8_t type)
{
	size_t payload = w->len - JOURNAL_RECORD_HEADER;
	uint32_t crc;
	if (w->bad || payload > JOURNAL_PAYLOAD_MAX)
		return 0;
	w->p[0] = JOURNAL_SYNC;
	w->p[1] = type;
	w->p[2] = (uint8_t)(payload >> 8);
	w->p[3] = (uint8_t)payload;
	crc = journal_crc32c(0, w->p + 1, 3);
	crc = journal_crc32c(crc, w->p + JOURNAL_RECORD_HEADER, payload);
	w->p[4] = (uint8_t)(crc >> 24);
	w->p[5] = (uint8_t)(crc >> 16);
	w->p[6] = (uint8_t)(crc >> 8);
	w->p[7] = (uint8_t)crc;
	return w->len;
}

size_t journal_encode_magic(uint8_t *out, size_t cap)
{
	if (cap < JOURNAL_MAGIC_SIZE)
		return 0;
	memcpy(out, JOURNAL_MAGIC, JOURNAL_MAGIC_SIZE);
	return JOURNAL_MAGIC_SIZE;
}

size_t journal_encode_header(const struct journal_header *h, uint8_t *out, size_t cap)
{
	struct byte_writer w;
	begin(&w, out, cap);
	put_u16(&w, h->version);
	put_string(&w, h->cluster, sizeof(h->cluster));
	put_u64(&w, h->created_wall_ms);
	put_u64(&w, h->next_serial);
	return finish(&w, JOURNAL_HEADER);
}

size_t journal_encode_server(const struct server_record *s, uint8_t *out, size_t cap)
{
	struct byte_writer w;
	begin(&w, out, cap);
	put_string(&w, s->id, sizeof(s->id));
	put_addr(&w, &s->address);
	put_u32(&w, s->mark);
	put_u32(&w, s->table);
	if (s->address6.family) {
		w.bad |= s->address6.family != NETADDR_IPV6;
		put_addr(&w, &s->address6);
	}
	return finish(&w, JOURNAL_SERVER);
}

size_t journal_encode_session(const struct session_record *s, uint8_t *out, size_t cap)
{
	struct byte_writer w;
	uint8_t flags = (uint8_t)((s->confirmed ? SESSION_CONFIRMED : 0) |
				  (s->key_is_connection ? SESSION_KEY_IS_CONNECTION : 0) |
				  (s->transaction_only ? SESSION_TRANSACTION_ONLY : 0) |
				  (s->server_heard ? SESSION_SERVER_HEARD : 0));
	begin(&w, out, cap);
	if (s->key_len >= SESSION_KEY_MAX || s->stream_count > SESSION_MAX_STREAMS)
		w.bad = true;
	put_u64(&w, s->serial);
	put_u32(&w, s->version);
	put_u8(&w, s->proto);
	put_u8(&w, flags);
	put_string(&w, s->server_id, sizeof(s->server_id));
	put_u16(&w, s->key_len);
	put_bytes(&w, s->key, s->key_len < SESSION_KEY_MAX ? s->key_len : 0);
	put_u64(&w, s->created_ms);
	put_addr(&w, &s->peer);
	put_u16(&w, s->signalling_s);
	put_u8(&w, s->stream_count);
	for (unsigned i = 0; i < s->stream_count && i < SESSION_MAX_STREAMS; i++) {
		const struct session_stream *st = &s->streams[i];
		put_addr(&w, &st->client_addr);
		put_addr(&w, &st->server_addr);
		put_addr(&w, &st->client_rtcp_addr);
		put_addr(&w, &st->server_rtcp_addr);
		put_u16(&w, st->client_rtp);
		put_u16(&w, st->client_rtcp);
		put_u16(&w, st->server_rtp);
		put_u16(&w, st->server_rtcp);
	}
	return finish(&w, JOURNAL_SESSION);
}

static void put_key(struct byte_writer *w, const struct flow_key *key)
{
	if (disk_family(key->family) == 0)
		w->bad = true;
	put_u8(w, disk_family(key->family));
	put_u8(w, key->l4);
	put_u16(w, key->sport);
	put_u16(w, key->dport);
	put_bytes(w, key->src, addr_size(key->family));
	put_bytes(w, key->dst, addr_size(key->family));
}

size_t journal_encode_flow(const struct session_flow_record *f, uint8_t *out, size_t cap)
{
	struct byte_writer w;
	begin(&w, out, cap);
	put_u64(&w, f->serial);
	put_u8(&w, f->identity);
	put_key(&w, &f->key);
	return finish(&w, JOURNAL_FLOW);
}

size_t journal_encode_connection(const struct connection_record *c, uint8_t *out, size_t cap)
{
	struct byte_writer w;
	begin(&w, out, cap);
	put_key(&w, &c->key);
	put_string(&w, c->server_id, sizeof(c->server_id));
	return finish(&w, JOURNAL_CONNECTION);
}

size_t journal_encode_connection_end(const struct flow_key *key, uint8_t *out, size_t cap)
{
	struct byte_writer w;
	begin(&w, out, cap);
	put_key(&w, key);
	return finish(&w, JOURNAL_CONNECTION_END);
}

size_t journal_encode_end(uint64_t serial, uint8_t *out, size_t cap)
{
	struct byte_writer w;
	begin(&w, out, cap);
	put_u64(&w, serial);
	return finish(&w, JOURNAL_END);
}

size_t journal_encode_record(const struct journal_record *rec, uint8_t *out, size_t cap)
{
	switch ((enum journal_record_type)rec->type) {
	case JOURNAL_HEADER: return journal_encode_header(&rec->u.header, out, cap);
	case JOURNAL_SERVER: return journal_encode_server(&rec->u.server, out, cap);
	case JOURNAL_SESSION: return journal_encode_session(&rec->u.session, out, cap);
	case JOURNAL_FLOW: return journal_encode_flow(&rec->u.flow, out, cap);
	case JOURNAL_END: return journal_encode_end(rec->u.end_serial, out, cap);
	case JOURNAL_CONNECTION: return journal_encode_connection(&rec->u.connection, out, cap);
	case JOURNAL_CONNECTION_END: return journal_encode_connection_end(&rec->u.connection_end, out, cap);
	}
	return 0;
}

/* ---- reading ---- */

struct reader {
	const uint8_t *p;
	size_t len, pos;
	bool bad;
};

static const uint8_t *take(struct reader *r, size_t n)
{
	const uint8_t *at;
	if (r->bad || r->len - r->pos < n) {
		r->bad = true;
		return NULL;
	}
	at = r->p + r->pos;
	r->pos += n;
	return at;
}

static uint8_t get_u8(struct reader *r)
{
	const uint8_t *b = take(r, 1);
	return b ? b[0] : 0;
}

static uint16_t get_u16(struct reader *r)
{
	const uint8_t *b = take(r, 2);
	return b ? (uint16_t)((b[0] << 8) | b[1]) : 0;
}

static uint32_t get_u32(struct reader *r)
{
	const uint8_t *b = take(r, 4);
	return b ? ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3] : 0;
}

static uint64_t get_u64(struct reader *r)
{
	uint64_t hi = get_u32(r);
	return (hi << 32) | get_u32(r);
}

static void get_bytes(struct reader *r, void *dst, size_t n)
{
	const uint8_t *b = take(r, n);
	if (b)
		memcpy(dst, b, n);
}

/* family 4 or 6 (or 0 where unset is allowed) to the host's value. */
static uint8_t host_family(struct reader *r, uint8_t family, bool unset_ok)
{
	if (family == 4)
		return NETADDR_IPV4;
	if (family == 6)
		return NETADDR_IPV6;
	if (family != 0 || !unset_ok)
		r->bad = true;
	return 0;
}

static void get_addr(struct reader *r, struct netaddr *a)
{
	memset(a, 0, sizeof(*a));
	a->family = host_family(r, get_u8(r), true);
	get_bytes(r, a->bytes, addr_size(a->family));
}

/* A short string into a NUL-terminated field of size max. */
static void get_string(struct reader *r, char *dst, size_t max)
{
	size_t n = get_u8(r);
	memset(dst, 0, max);
	if (n >= max) {
		r->bad = true;
		return;
	}
	get_bytes(r, dst, n);
	if (memchr(dst, '\0', n))
		r->bad = true;
}

static void read_header(struct reader *r, struct journal_header *h)
{
	h->version = get_u16(r);
	get_string(r, h->cluster, sizeof(h->cluster));
	h->created_wall_ms = get_u64(r);
	h->next_serial = get_u64(r);
}

static void read_server(struct reader *r, struct server_record *s)
{
	get_string(r, s->id, sizeof(s->id));
	get_addr(r, &s->address);
	s->mark = get_u32(r);
	s->table = get_u32(r);
	if (r->pos < r->len) {
		get_addr(r, &s->address6);
		r->bad |= s->address6.family != NETADDR_IPV6;
	}
	if (s->id[0] == '\0' || s->address.family == 0 || s->mark == 0)
		r->bad = true;
}

static void read_session(struct reader *r, struct session_record *s)
{
	uint8_t flags;
	s->serial = get_u64(r);
	s->version = get_u32(r);
	s->proto = get_u8(r);
	flags = get_u8(r);
	if (s->serial == 0 || s->proto == PROTO_NONE || s->proto >= PROTO_COUNT || (flags & ~SESSION_FLAGS_ALL))
		r->bad = true;
	s->confirmed = flags & SESSION_CONFIRMED;
	s->key_is_connection = flags & SESSION_KEY_IS_CONNECTION;
	s->transaction_only = flags & SESSION_TRANSACTION_ONLY;
	s->server_heard = flags & SESSION_SERVER_HEARD;
	s->server = -1;
	get_string(r, s->server_id, sizeof(s->server_id));
	s->key_len = get_u16(r);
	if (s->key_len == 0 || s->key_len >= SESSION_KEY_MAX) {
		r->bad = true;
		return;
	}
	get_bytes(r, s->key, s->key_len);
	s->created_ms = get_u64(r);
	get_addr(r, &s->peer);
	s->signalling_s = get_u16(r);
	s->stream_count = get_u8(r);
	if (s->stream_count > SESSION_MAX_STREAMS) {
		r->bad = true;
		return;
	}
	for (unsigned i = 0; i < s->stream_count; i++) {
		struct session_stream *st = &s->streams[i];
		get_addr(r, &st->client_addr);
		get_addr(r, &st->server_addr);
		get_addr(r, &st->client_rtcp_addr);
		get_addr(r, &st->server_rtcp_addr);
		st->client_rtp = get_u16(r);
		st->client_rtcp = get_u16(r);
		st->server_rtp = get_u16(r);
		st->server_rtcp = get_u16(r);
	}
	if (s->server_id[0] == '\0')
		r->bad = true;
}

static void read_key(struct reader *r, struct flow_key *key)
{
	memset(key, 0, sizeof(*key));
	key->family = host_family(r, get_u8(r), false);
	key->l4 = get_u8(r);
	key->sport = get_u16(r);
	key->dport = get_u16(r);
	get_bytes(r, key->src, addr_size(key->family));
	get_bytes(r, key->dst, addr_size(key->family));
	if (key->l4 != L4_UDP && key->l4 != L4_TCP)
		r->bad = true;
}

static void read_flow(struct reader *r, struct session_flow_record *f)
{
	f->serial = get_u64(r);
	f->identity = get_u8(r);
	read_key(r, &f->key);
	if (f->serial == 0)
		r->bad = true;
}

static void read_connection(struct reader *r, struct connection_record *c)
{
	read_key(r, &c->key);
	get_string(r, c->server_id, sizeof(c->server_id));
	c->server = -1;
	if (c->key.l4 != L4_TCP || c->server_id[0] == '\0')
		r->bad = true;
}

bool journal_has_magic(const uint8_t *buf, size_t len)
{
	return len >= JOURNAL_MAGIC_SIZE && memcmp(buf, JOURNAL_MAGIC, JOURNAL_MAGIC_SIZE) == 0;
}

enum journal_read journal_decode(const uint8_t *buf, size_t len, size_t *offset, struct journal_record *out)
{
	size_t at = *offset, payload;
	uint32_t crc;
	struct reader r;
	if (at >= len)
		return JOURNAL_READ_END;
	if (buf[at] != JOURNAL_SYNC)
		return JOURNAL_READ_CORRUPT;
	if (len - at < JOURNAL_RECORD_HEADER)
		return JOURNAL_READ_TORN;
	payload = ((size_t)buf[at + 2] << 8) | buf[at + 3];
	if (payload > JOURNAL_PAYLOAD_MAX)
		return JOURNAL_READ_CORRUPT;
	if (len - at - JOURNAL_RECORD_HEADER < payload)
		return JOURNAL_READ_TORN;
	crc = journal_crc32c(0, buf + at + 1, 3);
	crc = journal_crc32c(crc, buf + at + JOURNAL_RECORD_HEADER, payload);
	if (crc != (((uint32_t)buf[at + 4] << 24) | ((uint32_t)buf[at + 5] << 16) | ((uint32_t)buf[at + 6] << 8) |
		    buf[at + 7]))
		return JOURNAL_READ_CORRUPT;
	memset(out, 0, sizeof(*out));
	out->type = buf[at + 1];
	r = (struct reader){ buf + at + JOURNAL_RECORD_HEADER, payload, 0, false };
	switch (out->type) {
	case JOURNAL_HEADER: read_header(&r, &out->u.header); break;
	case JOURNAL_SERVER: read_server(&r, &out->u.server); break;
	case JOURNAL_SESSION: read_session(&r, &out->u.session); break;
	case JOURNAL_FLOW: read_flow(&r, &out->u.flow); break;
	case JOURNAL_END:
		out->u.end_serial = get_u64(&r);
		r.bad |= out->u.end_serial == 0;
		break;
	case JOURNAL_CONNECTION: read_connection(&r, &out->u.connection); break;
	case JOURNAL_CONNECTION_END:
		read_key(&r, &out->u.connection_end);
		r.bad |= out->u.connection_end.l4 != L4_TCP;
		break;
	default: r.bad = true; break;
	}
	/* A checksum that matches contents that do not decode (or leave bytes
	 * over) is another writer's record, never ours: corrupt. */
	if (r.bad || r.pos != r.len)
		return JOURNAL_READ_CORRUPT;
	*offset = at + JOURNAL_RECORD_HEADER + payload;
	return JOURNAL_READ_RECORD;
}
