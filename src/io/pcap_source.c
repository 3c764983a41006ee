/* pcap_source.c - a libpcap adapter for sara-replay: reads pcap/pcapng files
 * and strips each record's link header down to the IPv4/IPv6 packet. */
#include "io/pcap_source.h"

#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

/* LINKTYPE_/DLT_ numbers spelled out: some differ between platforms
 * (DLT_RAW is 12 or 14, DLT_LOOP 12 or 108), files carry any of them. */
enum {
	LINK_NULL = 0,
	LINK_ETHERNET = 1,
	LINK_RAW_12 = 12,
	LINK_RAW_14 = 14,
	LINK_RAW = 101,
	LINK_LOOP = 108,
	LINK_SLL = 113,
	LINK_IPV4 = 228,
	LINK_IPV6 = 229,
	LINK_SLL2 = 276,
};

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_VLAN 0x8100    /* 802.1Q */
#define ETHERTYPE_QINQ 0x88a8    /* 802.1ad service tag */
#define ETHERTYPE_QINQ_OLD 0x9100
#define VLAN_TAGS_MAX 4          /* deeper stacks are not real traffic */

#define ETHERNET_HEADER_LEN 14
#define ETHERNET_TYPE_OFFSET 12
#define SLL_HEADER_LEN 16
#define SLL_PROTOCOL_OFFSET 14
#define SLL2_HEADER_LEN 20
#define SLL2_PROTOCOL_OFFSET 0
#define LOOPBACK_HEADER_LEN 4

struct pcap_source {
	pcap_t *pcap;
	int linktype;
	uint64_t file_size;
	struct pcap_source_stats stats;
	char err[PCAP_SOURCE_ERR_MAX];
};

enum decode_result { DECODE_IP, DECODE_NOT_IP, DECODE_SHORT };

static uint16_t read_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t read_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool linktype_supported(int linktype)
{
	switch (linktype) {
	case LINK_NULL: case LINK_ETHERNET: case LINK_RAW_12: case LINK_RAW_14: case LINK_RAW:
	case LINK_LOOP: case LINK_SLL: case LINK_IPV4: case LINK_IPV6: case LINK_SLL2:
		return true;
	default:
		return false;
	}
}

/* Follows an EtherType at data[*offset - 2], through VLAN tags, to IP. */
/* The link types whose header ends in an EtherType. */
struct ethertype_link {
	int linktype;
	size_t header_len;
	size_t type_offset;   /* where in the header the EtherType stands */
};

static const struct ethertype_link ethertype_links[] = {
	{ LINK_ETHERNET, ETHERNET_HEADER_LEN, ETHERNET_TYPE_OFFSET },
	{ LINK_SLL, SLL_HEADER_LEN, SLL_PROTOCOL_OFFSET },
	{ LINK_SLL2, SLL2_HEADER_LEN, SLL2_PROTOCOL_OFFSET },
};

static enum decode_result decode_ethertype(const uint8_t *data, size_t caplen, const struct ethertype_link *link,
					   size_t *offset, uint8_t *family)
{
	uint16_t type;
	if (caplen < link->header_len)
		return DECODE_SHORT;
	*offset = link->header_len;
	type = read_be16(data + link->type_offset);
	for (int tags = 0; type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ ||
			   type == ETHERTYPE_QINQ_OLD; tags++) {
		/* a tag is 2 bytes of TCI, then the next EtherType */
		if (tags == VLAN_TAGS_MAX)
			return DECODE_NOT_IP;
		if (caplen < *offset + 4)
			return DECODE_SHORT;
		type = read_be16(data + *offset + 2);
		*offset += 4;
	}
	if (type == ETHERTYPE_IPV4)
		*family = AF_INET;
	else if (type == ETHERTYPE_IPV6)
		*family = AF_INET6;
	else
		return DECODE_NOT_IP;  /* ARP, LLDP, 802.3 lengths (<= 1500), ... */
	return DECODE_IP;
}

/* The IP version nibble decides, for link types that do not say. */
static enum decode_result family_from_version(const uint8_t *l3, uint8_t *family)
{
	switch (l3[0] >> 4) {
	case 4: *family = AF_INET; return DECODE_IP;
	case 6: *family = AF_INET6; return DECODE_IP;
	default: return DECODE_NOT_IP;
	}
}

/* BSD loopback: an address family number, whose value depends on the OS
 * that captured (AF_INET6 is 10 on Linux, 23 on Windows, 24, 28 or 30 on
 * the BSDs and macOS). */
static enum decode_result family_from_bsd_af(uint32_t af, uint8_t *family)
{
	switch (af) {
	case 2: *family = AF_INET; return DECODE_IP;
	case 10: case 23: case 24: case 28: case 30: *family = AF_INET6; return DECODE_IP;
	default: return DECODE_NOT_IP;
	}
}

/* The link header of one record: where the IP header starts and its family. */
static enum decode_result decode_link_header(int linktype, const uint8_t *data, size_t caplen,
					     size_t *offset, uint8_t *family)
{
	uint32_t af;

	*offset = 0;
	for (size_t i = 0; i < sizeof(ethertype_links) / sizeof(ethertype_links[0]); i++)
		if (ethertype_links[i].linktype == linktype)
			return decode_ethertype(data, caplen, &ethertype_links[i], offset, family);
	switch (linktype) {
	case LINK_NULL:
	case LINK_LOOP:
		if (caplen < LOOPBACK_HEADER_LEN)
			return DECODE_SHORT;
		*offset = LOOPBACK_HEADER_LEN;
		af = read_be32(data);
		/* NULL is in the capturing host's byte order: a real AF is small,
		 * so a value with only high bytes set was written little-endian */
		if (linktype == LINK_NULL && (af & 0xffff0000u) != 0)
			af = __builtin_bswap32(af);
		return family_from_bsd_af(af, family);
	case LINK_RAW_12:
	case LINK_RAW_14:
	case LINK_RAW:
		if (caplen < 1)
			return DECODE_SHORT;
		return family_from_version(data, family);
	case LINK_IPV4:
		*family = AF_INET;
		return caplen < 1 ? DECODE_SHORT : DECODE_IP;
	case LINK_IPV6:
		*family = AF_INET6;
		return caplen < 1 ? DECODE_SHORT : DECODE_IP;
	default:
		return DECODE_NOT_IP;
	}
}

/* Finds the network-layer header of one record. Every read is checked
 * against caplen; at least one byte of the IP header must be captured. */
static enum decode_result decode_link(int linktype, const uint8_t *data, size_t caplen,
				      size_t *offset, uint8_t *family)
{
	enum decode_result result = decode_link_header(linktype, data, caplen, offset, family);
	if (result == DECODE_IP && *offset >= caplen)
		return DECODE_SHORT;
	return result;
}

struct pcap_source *pcap_source_open(const char *path, char *err, size_t err_size)
{
	char pcap_err[PCAP_ERRBUF_SIZE] = "";
	struct pcap_source *src;
	struct stat st;
	FILE *file;

	if (err_size)
		err[0] = '\0';
	src = calloc(1, sizeof(*src));
	if (!src) {
		snprintf(err, err_size, "%s: out of memory", path);
		return NULL;
	}
	/* microsecond stamps whatever the file holds (pcapng may be in ns) */
	src->pcap = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_MICRO,
							    pcap_err);
	if (!src->pcap) {
		/* libpcap's text often starts with the path already */
		if (strncmp(pcap_err, path, strlen(path)) == 0)
			snprintf(err, err_size, "%s", pcap_err);
		else
			snprintf(err, err_size, "%s: %s", path, pcap_err);
		goto free_source;
	}
	src->linktype = pcap_datalink(src->pcap);
	if (!linktype_supported(src->linktype)) {
		const char *name = pcap_datalink_val_to_name(src->linktype);
		snprintf(err, err_size, "%s: unsupported link type %d (%s); sara reads Ethernet, "
			 "Linux cooked (SLL, SLL2), raw IP and BSD loopback captures", path,
			 src->linktype, name ? name : "unknown");
		goto close_pcap;
	}
	file = pcap_file(src->pcap);
	if (file && fstat(fileno(file), &st) == 0 && S_ISREG(st.st_mode))
		src->file_size = (uint64_t)st.st_size;
	return src;

close_pcap:
	pcap_close(src->pcap);
free_source:
	free(src);
	return NULL;
}

int pcap_source_next(struct pcap_source *src, struct captured_packet *out)
{
	for (;;) {
		struct pcap_pkthdr *header;
		const u_char *data;
		enum decode_result result;
		size_t offset;
		uint8_t family = 0;
		int rc = pcap_next_ex(src->pcap, &header, &data);

		if (rc == PCAP_ERROR_BREAK)
			return 0;
		if (rc != 1) {
			snprintf(src->err, sizeof(src->err), "record %" PRIu64 ": %s",
				 src->stats.records + 1, pcap_geterr(src->pcap));
			return -1;
		}
		src->stats.records++;
		result = decode_link(src->linktype, data, header->caplen, &offset, &family);
		if (result == DECODE_SHORT) {
			src->stats.short_frames++;
			continue;
		}
		if (result == DECODE_NOT_IP) {
			src->stats.skipped++;
			continue;
		}
		memset(out, 0, sizeof(*out));
		out->l3 = data + offset;
		out->l3_len = header->caplen - offset;
		/* a bogus len below caplen is treated as "not truncated" */
		out->l3_wire_len = header->len > header->caplen ? header->len - offset : out->l3_len;
		out->truncated = header->caplen < header->len;
		out->family = family;
		out->index = src->stats.records;
		if (header->ts.tv_sec >= 0)
			out->ts_us = (uint64_t)header->ts.tv_sec * 1000000u +
				     (uint64_t)header->ts.tv_usec;
		src->stats.packets++;
		if (out->truncated)
			src->stats.truncated++;
		return 1;
	}
}

void pcap_source_close(struct pcap_source *src)
{
	if (!src)
		return;
	pcap_close(src->pcap);
	free(src);
}

const char *pcap_source_error(const struct pcap_source *src)
{
	return src->err;
}

const struct pcap_source_stats *pcap_source_stats(const struct pcap_source *src)
{
	return &src->stats;
}

int pcap_source_linktype(const struct pcap_source *src)
{
	return src->linktype;
}

const char *pcap_source_linktype_name(const struct pcap_source *src)
{
	const char *name = pcap_datalink_val_to_name(src->linktype);
	return name ? name : "unknown";
}

uint64_t pcap_source_file_size(const struct pcap_source *src)
{
	return src->file_size;
}

int64_t pcap_source_offset(const struct pcap_source *src)
{
	FILE *file = pcap_file(src->pcap);
	return file ? (int64_t)ftell(file) : -1;
}
