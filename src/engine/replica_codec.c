/* replica_codec.c - replicated session decisions, sealed (replica_codec.h). */
#include "engine/replica_codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "dpi/byte_order.h"

/* ---- digests ---- */

static int server_by_id(const void *a, const void *b)
{
	const struct server_config *x = *(const struct server_config *const *)a;
	const struct server_config *y = *(const struct server_config *const *)b;
	return strcmp(x->id, y->id);
}

static void hash_addr(crypto_generichash_state *st, const struct netaddr *a)
{
	uint8_t family = a->family;
	crypto_generichash_update(st, &family, 1);
	if (a->family)
		crypto_generichash_update(st, a->bytes, sizeof(a->bytes));
}

struct replica_digest replica_server_digest(const struct sara_config *cfg)
{
	const struct server_config *sorted[SARA_MAX_SERVERS];
	struct replica_digest d;
	crypto_generichash_state st;
	unsigned n = 0;
	memset(&d, 0, sizeof(d));
	if (sodium_init() < 0)
		return d;
	for (unsigned i = 0; i < cfg->server_count && i < SARA_MAX_SERVERS; i++)
		if (cfg->servers[i].id[0] && !cfg->servers[i].retired)
			sorted[n++] = &cfg->servers[i];
	qsort(sorted, n, sizeof(sorted[0]), server_by_id);
	crypto_generichash_init(&st, (const uint8_t *)"sara-servers", 12, sizeof(d.bytes));
	for (unsigned i = 0; i < n; i++) {
		uint8_t be[8];
		crypto_generichash_update(&st, (const uint8_t *)sorted[i]->id, strlen(sorted[i]->id) + 1);
		hash_addr(&st, &sorted[i]->address);
		hash_addr(&st, &sorted[i]->address6);
		put_be32(be, sorted[i]->mark);
		put_be32(be + 4, sorted[i]->table);
		crypto_generichash_update(&st, be, sizeof(be));
	}
	crypto_generichash_final(&st, d.bytes, sizeof(d.bytes));
	return d;
}

struct replica_digest replica_key_fingerprint(const struct wire_key *key)
{
	static const char label[] = "sara-replica-key-fingerprint";
	struct replica_digest d;
	memset(&d, 0, sizeof(d));
	if (sodium_init() < 0)
		return d;
	/* keyed by the key: the fingerprint tells nothing of it */
	crypto_generichash(d.bytes, sizeof(d.bytes), (const uint8_t *)label, sizeof(label) - 1, key->bytes,
			   sizeof(key->bytes));
	return d;
}

size_t replica_item_size(const struct replica_item *item)
{
	if (item->op == REPLICA_SESSION) {
		unsigned streams = item->u.session.stream_count <= SESSION_MAX_STREAMS ? item->u.session.stream_count
										   : SESSION_MAX_STREAMS;
		return offsetof(struct replica_item, u) + offsetof(struct session_record, streams) +
		       streams * sizeof(struct session_stream);
	}
	switch (item->op) {
	case REPLICA_SESSION_END: return offsetof(struct replica_item, u);
	case REPLICA_FLOW: return offsetof(struct replica_item, u) + sizeof(item->u.flow);
	case REPLICA_CONNECTION: return offsetof(struct replica_item, u) + sizeof(item->u.connection);
	case REPLICA_CONNECTION_END: return offsetof(struct replica_item, u) + sizeof(item->u.connection_end);
	}
	return sizeof(*item);
}

/* ---- the body ---- */

/* A flow key in a fixed byte order, for the store's names. */
static size_t flow_key_bytes(const struct flow_key *k, uint8_t out[38])
{
	out[0] = k->family;
	out[1] = k->l4;
	put_be16(out + 2, k->sport);
	put_be16(out + 4, k->dport);
	memcpy(out + 6, k->src, 16);
	memcpy(out + 22, k->dst, 16);
	return 38;
}

static size_t encode_record(const struct replica_item *item, uint8_t *out, size_t cap)
{
	switch (item->op) {
	case REPLICA_SESSION: return journal_encode_session(&item->u.session, out, cap);
	case REPLICA_SESSION_END: return 0;
	case REPLICA_FLOW: return journal_encode_flow(&item->u.flow, out, cap);
	case REPLICA_CONNECTION: return journal_encode_connection(&item->u.connection, out, cap);
	case REPLICA_CONNECTION_END: return journal_encode_connection_end(&item->u.connection_end, out, cap);
	}
	return 0;
}

static bool op_names_session(uint8_t op)
{
	return op == REPLICA_SESSION_END || op == REPLICA_FLOW;
}

size_t replica_seal(const struct wire_key *key, uint32_t sender, uint64_t seq, uint64_t time_ms,
		    const struct replica_digest *servers, const struct replica_item *item, uint8_t *out, size_t cap)
{
	uint8_t body[WIRE_MAX_BODY];
	size_t n = 0, rec;
	uint16_t key_len = op_names_session(item->op) ? item->key_len : 0;
	struct wire_header hdr;
	if (key_len >= SESSION_KEY_MAX || (op_names_session(item->op) && key_len == 0))
		return 0;
	body[n++] = REPLICA_FORMAT;
	memcpy(body + n, servers->bytes, REPLICA_DIGEST_SIZE);
	n += REPLICA_DIGEST_SIZE;
	body[n++] = item->op;
	body[n++] = item->proto;
	put_be16(body + n, key_len);
	n += 2;
	memcpy(body + n, item->key, key_len);
	n += key_len;
	rec = encode_record(item, body + n, sizeof(body) - n);
	if (rec == 0 && item->op != REPLICA_SESSION_END)
		return 0;
	n += rec;
	memset(&hdr, 0, sizeof(hdr));
	hdr.type = WIRE_SESSION_REPLICA;
	hdr.body_len = (uint16_t)n;
	hdr.sender = sender;
	hdr.seq = seq;
	hdr.time_ms = time_ms;
	return wire_seal_mac(WIRE_MAC_BLAKE2B, key, &hdr, body, out, cap);
}

static bool decode_body(const uint8_t *body, size_t len, struct replica_item *item)
{
	struct journal_record rec;
	size_t offset, key_len;
	uint8_t op;
	if (len < REPLICA_PREFIX)
		return false;
	op = body[1 + REPLICA_DIGEST_SIZE];
	key_len = get_be16(body + 2 + REPLICA_DIGEST_SIZE + 1);
	offset = REPLICA_PREFIX;
	if (key_len >= SESSION_KEY_MAX || len - offset < key_len)
		return false;
	memset(item, 0, sizeof(*item));
	item->op = op;
	item->proto = body[2 + REPLICA_DIGEST_SIZE];
	item->key_len = (uint16_t)key_len;
	memcpy(item->key, body + offset, key_len);
	offset += key_len;
	if (op_names_session(op) != (key_len > 0))
		return false;
	if (op == REPLICA_SESSION_END)
		return offset == len;
	if (journal_decode(body, len, &offset, &rec) != JOURNAL_READ_RECORD || offset != len)
		return false;
	switch (op) {
	case REPLICA_SESSION:
		if (rec.type != JOURNAL_SESSION)
			return false;
		item->u.session = rec.u.session;
		item->proto = rec.u.session.proto;
		item->key_len = rec.u.session.key_len;
		memcpy(item->key, rec.u.session.key, rec.u.session.key_len);
		return true;
	case REPLICA_FLOW:
		if (rec.type != JOURNAL_FLOW)
			return false;
		item->u.flow = rec.u.flow;
		return true;
	case REPLICA_CONNECTION:
		if (rec.type != JOURNAL_CONNECTION)
			return false;
		item->u.connection = rec.u.connection;
		return true;
	case REPLICA_CONNECTION_END:
		if (rec.type != JOURNAL_CONNECTION_END)
			return false;
		item->u.connection_end = rec.u.connection_end;
		return true;
	}
	return false;
}

enum replica_verdict replica_open(const struct wire_key *key, struct wire_replay *replay, const uint8_t *msg,
				  size_t len, uint64_t now_wall_ms, uint32_t max_skew_ms, uint32_t expect_sender,
				  const struct replica_digest *servers, struct replica_item *item,
				  struct wire_header *hdr)
{
	static const enum replica_verdict from_wire[WIRE_VERDICT_COUNT] = {
		[WIRE_OK] = REPLICA_OK, [WIRE_TRUNCATED] = REPLICA_TRUNCATED, [WIRE_BAD_MAGIC] = REPLICA_BAD_MAGIC,
		[WIRE_FORGED] = REPLICA_FORGED, [WIRE_REPLAYED] = REPLICA_REPLAYED, [WIRE_STALE] = REPLICA_STALE,
		[WIRE_TOO_MANY_SENDERS] = REPLICA_TOO_MANY_SENDERS,
	};
	const uint8_t *body;
	enum wire_verdict v = wire_open_mac(WIRE_MAC_BLAKE2B, key, replay, msg, len, now_wall_ms,
					    replay ? max_skew_ms : UINT32_MAX, hdr, &body);
	if (v != WIRE_OK)
		return (unsigned)v < WIRE_VERDICT_COUNT ? from_wire[v] : REPLICA_MALFORMED;
	if (hdr->type != WIRE_SESSION_REPLICA)
		return REPLICA_NOT_REPLICA;
	if (expect_sender && hdr->sender != expect_sender)
		return REPLICA_OTHER_SENDER;
	if (hdr->body_len < REPLICA_PREFIX || body[0] != REPLICA_FORMAT)
		return REPLICA_MALFORMED;
	if (memcmp(body + 1, servers->bytes, REPLICA_DIGEST_SIZE) != 0)
		return REPLICA_OTHER_SERVERS;
	return decode_body(body, hdr->body_len, item) ? REPLICA_OK : REPLICA_MALFORMED;
}

size_t replica_message_length(const uint8_t *p, size_t len)
{
	size_t n;
	if (len < WIRE_HEADER_SIZE)
		return 0;
	n = WIRE_HEADER_SIZE + (size_t)get_be16(p + 6) + WIRE_TAG_SIZE;
	return n <= len ? n : 0;
}

const char *replica_verdict_name(enum replica_verdict verdict)
{
	static const char *const names[REPLICA_VERDICT_COUNT] = {
		[REPLICA_OK] = "ok", [REPLICA_TRUNCATED] = "truncated", [REPLICA_BAD_MAGIC] = "bad_magic",
		[REPLICA_FORGED] = "forged", [REPLICA_REPLAYED] = "replayed", [REPLICA_STALE] = "stale",
		[REPLICA_TOO_MANY_SENDERS] = "too_many_senders", [REPLICA_NOT_REPLICA] = "not_replica",
		[REPLICA_OTHER_SENDER] = "other_sender", [REPLICA_OTHER_SERVERS] = "other_servers",
		[REPLICA_MALFORMED] = "malformed",
	};
	return (unsigned)verdict < REPLICA_VERDICT_COUNT ? names[verdict] : "unknown";
}

/* ---- the store's names ---- */

static size_t hex(const uint8_t *in, size_t n, char *out, size_t size)
{
	static const char digits[] = "0123456789abcdef";
	if (size < 2 * n + 1)
		return 0;
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
	return 2 * n;
}

static size_t bounded(int n, size_t size)
{
	return n < 0 || (size_t)n >= size ? 0 : (size_t)n;
}

/* Text pieces appended to out (the writer formats a key per record: no
 * format string to parse). False when they do not fit. */
struct name_buf {
	char *out;
	size_t len, size;
};

static bool name_put(struct name_buf *b, const char *text, size_t len)
{
	if (b->len + len >= b->size)
		return false;
	memcpy(b->out + b->len, text, len);
	b->len += len;
	b->out[b->len] = '\0';
	return true;
}

static bool name_hex(struct name_buf *b, const uint8_t *in, size_t n)
{
	size_t done = hex(in, n, b->out + b->len, b->size - b->len);
	b->len += done;
	return done == 2 * n;
}

static bool name_uint(struct name_buf *b, unsigned v)
{
	char digits[12];
	size_t n = 0;
	do {
		digits[sizeof(digits) - 1 - n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return name_put(b, digits + sizeof(digits) - n, n);
}

size_t replica_store_key(const char *cluster, const struct replica_item *item, char *out, size_t size)
{
	struct name_buf b = { out, 0, size };
	uint8_t bytes[38];
	const char *key;
	size_t key_len;
	uint8_t proto;
	bool ok = size > 0 && name_put(&b, "sara:", 5) && name_put(&b, cluster, strlen(cluster));
	if (item->op == REPLICA_CONNECTION || item->op == REPLICA_CONNECTION_END) {
		const struct flow_key *k = item->op == REPLICA_CONNECTION ? &item->u.connection.key
									   : &item->u.connection_end;
		ok = ok && name_put(&b, ":c:", 3) && name_hex(&b, bytes, flow_key_bytes(k, bytes));
		return ok ? b.len : 0;
	}
	/* a session's state names itself */
	proto = item->op == REPLICA_SESSION ? item->u.session.proto : item->proto;
	key = item->op == REPLICA_SESSION ? item->u.session.key : item->key;
	key_len = item->op == REPLICA_SESSION ? item->u.session.key_len : item->key_len;
	if (key_len == 0 || key_len >= SESSION_KEY_MAX)
		return 0;
	ok = ok && name_put(&b, ":s:", 3) && name_uint(&b, proto) && name_put(&b, ":", 1) &&
	     name_hex(&b, (const uint8_t *)key, key_len);
	return ok ? b.len : 0;
}

size_t replica_store_field(const struct replica_item *item, char *out, size_t size)
{
	struct name_buf b = { out, 0, size };
	uint8_t bytes[38];
	bool ok = size > 0;
	switch (item->op) {
	case REPLICA_SESSION:
	case REPLICA_SESSION_END:
		ok = ok && name_put(&b, "s", 1);
		break;
	case REPLICA_FLOW:
		ok = ok && name_put(&b, "f:", 2) && name_hex(&b, bytes, flow_key_bytes(&item->u.flow.key, bytes));
		break;
	case REPLICA_CONNECTION:
	case REPLICA_CONNECTION_END:
		ok = ok && name_put(&b, "c", 1);
		break;
	default:
		ok = false;
	}
	return ok ? b.len : 0;
}

size_t replica_store_pattern(const char *cluster, char *out, size_t size)
{
	return bounded(snprintf(out, size, "sara:%s:[sc]:*", cluster), size);
}

size_t replica_hello_key(const char *cluster, char *out, size_t size)
{
	return bounded(snprintf(out, size, "sara:%s:hello", cluster), size);
}

size_t replica_channel(const char *cluster, char *out, size_t size)
{
	return bounded(snprintf(out, size, "sara:%s:replica", cluster), size);
}

/* ---- hello ---- */

size_t replica_hello_format(const struct replica_hello *h, char *out, size_t size)
{
	char key[2 * REPLICA_DIGEST_SIZE + 1], servers[2 * REPLICA_DIGEST_SIZE + 1];
	hex(h->key.bytes, REPLICA_DIGEST_SIZE, key, sizeof(key));
	hex(h->servers.bytes, REPLICA_DIGEST_SIZE, servers, sizeof(servers));
	return bounded(snprintf(out, size, "sara-replica %u cluster=%s key=%s servers=%s sender=%u", h->format,
				h->cluster, key, servers, h->sender),
		       size);
}

static bool unhex(const char *text, size_t len, uint8_t *out, size_t n)
{
	if (len != 2 * n)
		return false;
	for (size_t i = 0; i < 2 * n; i++) {
		char c = text[i];
		int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (v < 0)
			return false;
		out[i / 2] = (uint8_t)(i % 2 ? (out[i / 2] << 4) | v : v);
	}
	return true;
}

/* The value of "NAME=" among the space-separated words of text. */
static bool field(const char *text, size_t len, const char *name, const char **value, size_t *value_len)
{
	size_t name_len = strlen(name);
	size_t i = 0;
	while (i < len) {
		size_t end = i;
		while (end < len && text[end] != ' ')
			end++;
		if (end - i > name_len && memcmp(text + i, name, name_len) == 0 && text[i + name_len] == '=') {
			*value = text + i + name_len + 1;
			*value_len = end - i - name_len - 1;
			return true;
		}
		i = end + 1;
	}
	return false;
}

static bool parse_uint(const char *text, size_t len, uint32_t *out)
{
	uint64_t v = 0;
	if (len == 0 || len > 10)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (text[i] < '0' || text[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(text[i] - '0');
	}
	if (v > UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

bool replica_hello_parse(const char *text, size_t len, struct replica_hello *out)
{
	static const char head[] = "sara-replica ";
	const char *v;
	size_t n, i = sizeof(head) - 1;
	uint32_t format;
	memset(out, 0, sizeof(*out));
	if (len < i || memcmp(text, head, i) != 0)
		return false;
	n = 0;
	while (i + n < len && text[i + n] != ' ')
		n++;
	if (!parse_uint(text + i, n, &format))
		return false;
	out->format = format;
	if (!field(text, len, "cluster", &v, &n) || n == 0 || n >= sizeof(out->cluster))
		return false;
	for (size_t c = 0; c < n; c++)   /* a cluster name's characters only (KEY_IDENT) */
		if (!((v[c] >= 'a' && v[c] <= 'z') || (v[c] >= 'A' && v[c] <= 'Z') || (v[c] >= '0' && v[c] <= '9') ||
		      v[c] == '_' || v[c] == '.' || v[c] == '-'))
			return false;
	memcpy(out->cluster, v, n);
	if (!field(text, len, "key", &v, &n) || !unhex(v, n, out->key.bytes, REPLICA_DIGEST_SIZE))
		return false;
	if (!field(text, len, "servers", &v, &n) || !unhex(v, n, out->servers.bytes, REPLICA_DIGEST_SIZE))
		return false;
	return field(text, len, "sender", &v, &n) && parse_uint(v, n, &out->sender);
}

enum replica_hello_check replica_hello_compare(const struct replica_hello *ours, const struct replica_hello *theirs,
						 uint32_t expect_sender)
{
	if (theirs->format != ours->format)
		return REPLICA_HELLO_OTHER_FORMAT;
	if (strcmp(theirs->cluster, ours->cluster) != 0)
		return REPLICA_HELLO_OTHER_CLUSTER;
	if (memcmp(theirs->key.bytes, ours->key.bytes, REPLICA_DIGEST_SIZE) != 0)
		return REPLICA_HELLO_OTHER_KEY;
	if (memcmp(theirs->servers.bytes, ours->servers.bytes, REPLICA_DIGEST_SIZE) != 0)
		return REPLICA_HELLO_OTHER_SERVERS;
	if (theirs->sender != expect_sender)
		return REPLICA_HELLO_OTHER_SENDER;
	return REPLICA_HELLO_MATCH;
}

const char *replica_hello_check_text(enum replica_hello_check check)
{
	switch (check) {
	case REPLICA_HELLO_MATCH: return "agrees";
	case REPLICA_HELLO_OTHER_FORMAT: return "speaks another replication format";
	case REPLICA_HELLO_OTHER_CLUSTER: return "belongs to another cluster";
	case REPLICA_HELLO_OTHER_KEY: return "uses another cluster key";
	case REPLICA_HELLO_OTHER_SERVERS: return "has another server list";
	case REPLICA_HELLO_OTHER_SENDER: return "is not the dispatcher its address is listed as";
	}
	return "unknown";
}
