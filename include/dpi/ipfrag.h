/* ipfrag.h - bounded IPv4/IPv6 fragment reassembly, so that a large UDP
 * signalling message (an INVITE with a big SDP) can be parsed whole. */
#ifndef SARA_IPFRAG_H
#define SARA_IPFRAG_H

#include <stddef.h>
#include <stdint.h>

#include "dpi/packet.h"

enum ipfrag_result {
	IPFRAG_PENDING = 0,  /* stored; datagram not complete yet */
	IPFRAG_COMPLETE,     /* *out_ip / *out_len hold the whole datagram */
	IPFRAG_DROPPED,      /* table full, datagram too big, overlap, bad offsets */
};

struct ipfrag_table;

/* capacity: datagrams reassembled at once; max_datagram: bytes (<= 65535);
 * timeout_ms: a partial datagram older than this is discarded. */
struct ipfrag_table *ipfrag_table_create(unsigned capacity, size_t max_datagram,
					 uint32_t timeout_ms);
void ipfrag_table_destroy(struct ipfrag_table *table);

/* ip/len is the fragment as received, frag its packet_decode() result.
 * On IPFRAG_COMPLETE the output is a complete, unfragmented IP datagram
 * (fresh header, valid for packet_decode) owned by the table and valid until
 * the next call. */
enum ipfrag_result ipfrag_submit(struct ipfrag_table *table, const uint8_t *ip, size_t len,
				 const struct packet *frag, uint64_t now_ms,
				 const uint8_t **out_ip, size_t *out_len);
/* Partial datagrams currently held, and those discarded on timeout so far. */
unsigned ipfrag_pending(const struct ipfrag_table *table);
uint64_t ipfrag_expired(const struct ipfrag_table *table);
/* Datagrams given up: table full, too big, conflicting overlap, bad offsets. */
uint64_t ipfrag_dropped(const struct ipfrag_table *table);

#endif
