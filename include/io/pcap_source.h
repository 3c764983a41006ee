/* pcap_source.h - reads pcap and pcapng files and yields each captured IP
 * packet from its network-layer header on (the sara-replay adapter). */
#ifndef SARA_PCAP_SOURCE_H
#define SARA_PCAP_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PCAP_SOURCE_ERR_MAX 512

/* One packet, valid until the next pcap_source_next or pcap_source_close. */
struct captured_packet {
	const uint8_t *l3;     /* first byte of the IPv4 or IPv6 header */
	size_t l3_len;         /* bytes captured from l3 on: never read past this; may
	                        * include link padding, the IP length is authoritative */
	size_t l3_wire_len;    /* bytes from l3 on as they were on the wire (>= l3_len) */
	uint64_t ts_us;        /* capture time, microseconds since the Unix epoch */
	uint8_t family;        /* AF_INET or AF_INET6, from the link header or IP version */
	bool truncated;        /* caplen < len: l3_len < l3_wire_len, the caller decides */
	uint64_t index;        /* 1-based record number in the file (as Wireshark counts) */
};

/* Milliseconds since the epoch, for callers on a millisecond clock. */
static inline uint64_t captured_packet_ms(const struct captured_packet *p)
{
	return p->ts_us / 1000;
}

struct pcap_source_stats {
	uint64_t records;      /* every record read from the file */
	uint64_t packets;      /* IPv4/IPv6 packets returned */
	uint64_t skipped;      /* records that were not IPv4/IPv6 (ARP, LLDP, ...) */
	uint64_t short_frames; /* records cut inside the link header: skipped too */
	uint64_t truncated;    /* packets returned with caplen < len */
};

struct pcap_source;

/* Opens a pcap or pcapng file. Link types: Ethernet (with 802.1Q/802.1ad
 * tags), Linux cooked v1 and v2, raw IP (LINKTYPE 12, 14, 101), IPv4 (228),
 * IPv6 (229), BSD loopback (NULL, LOOP). NULL with "path: reason" in err
 * (always NUL-terminated) on failure, an unknown link type included. */
struct pcap_source *pcap_source_open(const char *path, char *err, size_t err_size);
/* 1: *out holds the next IP packet; 0: end of file; -1: read error, text in
 * pcap_source_error (a file cut mid-record is an error). Non-IP records are
 * skipped and counted, never returned. */
int pcap_source_next(struct pcap_source *src, struct captured_packet *out);
/* NULL-safe. */
void pcap_source_close(struct pcap_source *src);

/* The last error, "" when none. */
const char *pcap_source_error(const struct pcap_source *src);
const struct pcap_source_stats *pcap_source_stats(const struct pcap_source *src);
/* The file's link type as libpcap reports it (DLT_*), and its name. */
int pcap_source_linktype(const struct pcap_source *src);
const char *pcap_source_linktype_name(const struct pcap_source *src);
/* Progress: the file's size and how far reading has got, in bytes
 * (offset is -1 when the stream cannot tell, size 0 for a pipe). */
uint64_t pcap_source_file_size(const struct pcap_source *src);
int64_t pcap_source_offset(const struct pcap_source *src);

#endif
