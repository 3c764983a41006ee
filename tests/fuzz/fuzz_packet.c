/* fuzz_packet.c - libFuzzer target: a sequence of raw datagrams through
 * packet_decode, ipfrag_submit and tcp_stream, as the engine would feed
 * them, and the unsupported ones through packet_decode_icmp_error. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dpi/ipfrag.h"
#include "dpi/packet.h"
#include "dpi/tcp_stream.h"

/* Blank-line framing, a stand-in for the SIP/RTSP framers. */
static enum frame_result blank_line_framer(const uint8_t *p, size_t len, size_t max_message,
					   size_t *msg_len)
{
	if (p[0] == '\r' || p[0] == '\n') {
		*msg_len = 1;
		return FRAME_SKIP;
	}
	for (size_t i = 1; i < len && i < max_message; i++) {
		if (p[i - 1] == '\n' && p[i] == '\n') {
			*msg_len = i + 1;
			return FRAME_MESSAGE;
		}
	}
	return len >= max_message ? FRAME_INVALID : FRAME_NEED_MORE;
}

static void feed_tcp(struct tcp_stream *stream, const struct packet *p)
{
	tcp_stream_add(stream, p->tcp_seq, p->tcp_flags, p->payload, p->payload_len);
	const uint8_t *msg;
	size_t msg_len;
	for (;;) {
		enum frame_result r = tcp_stream_next(stream, blank_line_framer, 1024, &msg, &msg_len);
		if (r == FRAME_MESSAGE) {
			/* Touch every byte so ASan checks the span. */
			volatile uint8_t sum = 0;
			for (size_t i = 0; i < msg_len; i++)
				sum ^= msg[i];
			tcp_stream_consume(stream, msg_len);
		} else {
			if (r == FRAME_INVALID)
				tcp_stream_resync(stream);
			break;
		}
	}
	if (tcp_stream_buffered(stream) > 512)
		abort();
}

static void check_payload(const uint8_t *ip, size_t len, const struct packet *p)
{
	if (p->payload < ip || p->payload_len > len || (size_t)(p->payload - ip) > len - p->payload_len)
		abort();
	if (p->key.pad != 0)
		abort();
}

/* Input: records of [control byte][2-byte length][bytes]; the control byte
 * advances the clock so fragment timeouts are exercised. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipfrag_table *fragments = ipfrag_table_create(4, 4096, 100);
	struct tcp_stream_pool *pool = tcp_stream_pool_create(1, 512);
	struct tcp_stream *stream = tcp_stream_open(pool);
	uint64_t now = 0;
	size_t pos = 0;
	while (size - pos >= 3) {
		uint8_t control = data[pos];
		size_t len = (size_t)data[pos + 1] << 8 | data[pos + 2];
		pos += 3;
		if (len > size - pos)
			len = size - pos;
		/* An exact-size copy: any over-read hits ASan's redzone. */
		uint8_t *ip = malloc(len ? len : 1);
		memcpy(ip, data + pos, len);
		pos += len;
		now += control & 0x7f;

		struct packet p;
		enum packet_status status = packet_decode(ip, len, &p);
		if (status == PACKET_OK || status == PACKET_FRAGMENT)
			check_payload(ip, len, &p);
		if (status == PACKET_FRAGMENT) {
			const uint8_t *whole;
			size_t whole_len;
			if (ipfrag_submit(fragments, ip, len, &p, now, &whole, &whole_len) ==
			    IPFRAG_COMPLETE) {
				struct packet q;
				enum packet_status again = packet_decode(whole, whole_len, &q);
				if (again == PACKET_FRAGMENT)
					abort(); /* reassembly never yields a fragment */
				if (again == PACKET_OK)
					check_payload(whole, whole_len, &q);
				if (again == PACKET_OK && q.key.l4 == L4_TCP)
					feed_tcp(stream, &q);
			}
		} else if (status == PACKET_OK && p.key.l4 == L4_TCP) {
			feed_tcp(stream, &p);
		} else if (status == PACKET_UNSUPPORTED) {
			struct icmp_error e;
			enum icmp_error_status icmp = packet_decode_icmp_error(ip, len, &e);
			if (icmp >= ICMP_ERROR_STATUS_COUNT)
				abort();
			if (icmp == ICMP_ERROR_OK &&
			    (e.quoted.pad != 0 || e.quoted.family != e.dst.family ||
			     (e.quoted.l4 != L4_TCP && e.quoted.l4 != L4_UDP)))
				abort();
		}
		free(ip);
		if (ipfrag_pending(fragments) > 4 || tcp_stream_pool_bytes(pool) > 512)
			abort();
	}
	tcp_stream_close(pool, stream);
	tcp_stream_pool_destroy(pool);
	ipfrag_table_destroy(fragments);
	return 0;
}
