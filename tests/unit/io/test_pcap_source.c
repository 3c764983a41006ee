/* test_pcap_source.c - unit tests for src/io/pcap_source.c: hand-written pcap and
 * pcapng files for each link type, truncation, skipping, and the corpus. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <dirent.h>
#include <unistd.h>

#include <cmocka.h>
#include <pcap/pcap.h>

#include "io/pcap_source.h"

/* A 28-byte IPv4/UDP packet and a 48-byte IPv6/UDP packet: the source never
 * parses them, the tests only check where they start. */
static const uint8_t ipv4_packet[28] = {
	0x45, 0x00, 0x00, 0x1c, 0x12, 0x34, 0x00, 0x00, 0x40, 0x11, 0x00, 0x00,
	198, 18, 0, 1, 198, 18, 10, 1, 0x13, 0xc4, 0x13, 0xc4, 0x00, 0x08, 0x00, 0x00,
};
static uint8_t ipv6_packet[48] = { 0x60, 0x00, 0x00, 0x00, 0x00, 0x08, 0x11, 0x40 };

static const uint8_t mac_pair[12] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2 };

/* ---- writing captures by hand ---------------------------------------------- */

struct frame {
	uint8_t bytes[256];
	size_t len;
};

static void frame_put(struct frame *f, const void *data, size_t len)
{
	assert_true(f->len + len <= sizeof(f->bytes));
	if (len == 0)
		return;
	memcpy(f->bytes + f->len, data, len);
	f->len += len;
}

static void frame_be16(struct frame *f, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };
	frame_put(f, b, 2);
}

static void frame_u32(struct frame *f, uint32_t v, bool big_endian)
{
	uint8_t b[4];
	for (int i = 0; i < 4; i++)
		b[big_endian ? i : 3 - i] = (uint8_t)(v >> (24 - 8 * i));
	frame_put(f, b, 4);
}

static struct frame ethernet_frame(const uint16_t *types, size_t type_count, const void *l3,
				   size_t l3_len)
{
	struct frame f = { .len = 0 };
	frame_put(&f, mac_pair, sizeof(mac_pair));
	for (size_t i = 0; i < type_count; i++) {
		frame_be16(&f, types[i]);
		if (i + 1 < type_count)
			frame_be16(&f, (uint16_t)(100 + i)); /* VLAN TCI */
	}
	frame_put(&f, l3, l3_len);
	return f;
}

static struct frame sll_frame(uint16_t protocol, const void *l3, size_t l3_len)
{
	static const uint8_t head[14] = { 0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0 };
	struct frame f = { .len = 0 };
	frame_put(&f, head, sizeof(head));   /* packet type, ARPHRD, addr len, addr */
	frame_be16(&f, protocol);
	frame_put(&f, l3, l3_len);
	return f;
}

static struct frame sll2_frame(uint16_t protocol, const void *l3, size_t l3_len)
{
	static const uint8_t rest[18] = { 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0 };
	struct frame f = { .len = 0 };
	frame_be16(&f, protocol);
	frame_put(&f, rest, sizeof(rest)); /* reserved, ifindex, ARPHRD, type, addr len, addr */
	frame_put(&f, l3, l3_len);
	return f;
}

static struct frame loopback_frame(uint32_t af, bool big_endian, const void *l3, size_t l3_len)
{
	struct frame f = { .len = 0 };
	frame_u32(&f, af, big_endian);
	frame_put(&f, l3, l3_len);
	return f;
}

static struct frame raw_frame(const void *l3, size_t l3_len)
{
	struct frame f = { .len = 0 };
	frame_put(&f, l3, l3_len);
	return f;
}

struct capture {
	char path[64];
	FILE *file;
};

/* Classic little-endian pcap, microsecond stamps. */
static void capture_begin(struct capture *c, uint32_t linktype)
{
	int fd;
	snprintf(c->path, sizeof(c->path), "/tmp/sara-test-pcap-XXXXXX");
	fd = mkstemp(c->path);
	assert_true(fd >= 0);
	c->file = fdopen(fd, "wb");
	assert_non_null(c->file);
	struct frame h = { .len = 0 };
	frame_u32(&h, 0xa1b2c3d4, false);
	frame_put(&h, (uint8_t[]){ 2, 0, 4, 0 }, 4);
	frame_u32(&h, 0, false);
	frame_u32(&h, 0, false);
	frame_u32(&h, 65535, false);
	frame_u32(&h, linktype, false);
	assert_int_equal(fwrite(h.bytes, 1, h.len, c->file), h.len);
}

/* wire_len 0 means "as captured". */
static void capture_add(struct capture *c, uint32_t sec, uint32_t usec, const struct frame *f,
			size_t wire_len)
{
	struct frame h = { .len = 0 };
	frame_u32(&h, sec, false);
	frame_u32(&h, usec, false);
	frame_u32(&h, (uint32_t)f->len, false);
	frame_u32(&h, (uint32_t)(wire_len ? wire_len : f->len), false);
	assert_int_equal(fwrite(h.bytes, 1, h.len, c->file), h.len);
	assert_int_equal(fwrite(f->bytes, 1, f->len, c->file), f->len);
}

static void capture_end(struct capture *c)
{
	assert_int_equal(fclose(c->file), 0);
	c->file = NULL;
}

static struct pcap_source *open_ok(const char *path)
{
	char err[512];
	struct pcap_source *src = pcap_source_open(path, err, sizeof(err));
	if (!src)
		print_error("%s\n", err);
	assert_non_null(src);
	return src;
}

/* Reads the next packet and checks its family and that l3 is the given packet. */
static void expect_packet(struct pcap_source *src, uint8_t family, const void *l3, size_t l3_len)
{
	struct captured_packet p;
	assert_int_equal(pcap_source_next(src, &p), 1);
	assert_int_equal(p.family, family);
	assert_int_equal(p.l3_len, l3_len);
	assert_int_equal(p.l3_wire_len, l3_len);
	assert_false(p.truncated);
	assert_memory_equal(p.l3, l3, l3_len);
}

static void expect_end(struct pcap_source *src)
{
	struct captured_packet p;
	assert_int_equal(pcap_source_next(src, &p), 0);
}

/* ---- link types -------------------------------------------------------------- */

static void test_ethernet(void **state)
{
	struct capture c;
	struct captured_packet p;
	struct pcap_source *src;
	struct frame v4 = ethernet_frame((uint16_t[]){ 0x0800 }, 1, ipv4_packet, sizeof(ipv4_packet));
	struct frame arp = ethernet_frame((uint16_t[]){ 0x0806 }, 1, ipv4_packet, 28);
	struct frame llc = ethernet_frame((uint16_t[]){ 46 }, 1, ipv4_packet, 28); /* 802.3 length */
	struct frame v6 = ethernet_frame((uint16_t[]){ 0x86dd }, 1, ipv6_packet, sizeof(ipv6_packet));
	(void)state;

	capture_begin(&c, 1);
	capture_add(&c, 1700000000, 123456, &v4, 0);
	capture_add(&c, 1700000001, 0, &arp, 0);
	capture_add(&c, 1700000001, 5, &llc, 0);
	capture_add(&c, 1700000002, 999999, &v6, 0);
	capture_end(&c);

	src = open_ok(c.path);
	assert_int_equal(pcap_source_linktype(src), DLT_EN10MB);
	assert_string_equal(pcap_source_linktype_name(src), "EN10MB");
	assert_int_equal(pcap_source_next(src, &p), 1);
	assert_int_equal(p.family, AF_INET);
	assert_int_equal(p.l3_len, sizeof(ipv4_packet));
	assert_memory_equal(p.l3, ipv4_packet, sizeof(ipv4_packet));
	assert_int_equal(p.ts_us, 1700000000123456ull);
	assert_int_equal(captured_packet_ms(&p), 1700000000123ull);
	assert_int_equal(p.index, 1);
	assert_int_equal(pcap_source_next(src, &p), 1);
	assert_int_equal(p.family, AF_INET6);
	assert_int_equal(p.index, 4);
	assert_int_equal(p.ts_us, 1700000002999999ull);
	assert_memory_equal(p.l3, ipv6_packet, sizeof(ipv6_packet));
	expect_end(src);
	expect_end(src);  /* end stays end */
	assert_int_equal(pcap_source_stats(src)->records, 4);
	assert_int_equal(pcap_source_stats(src)->packets, 2);
	assert_int_equal(pcap_source_stats(src)->skipped, 2);
	assert_int_equal(pcap_source_stats(src)->short_frames, 0);
	assert_string_equal(pcap_source_error(src), "");
	pcap_source_close(src);
	unlink(c.path);
}

static void test_vlan(void **state)
{
	struct capture c;
	struct pcap_source *src;
	struct frame dot1q = ethernet_frame((uint16_t[]){ 0x8100, 0x0800 }, 2, ipv4_packet,
					    sizeof(ipv4_packet));
	struct frame qinq = ethernet_frame((uint16_t[]){ 0x88a8, 0x8100, 0x86dd }, 3, ipv6_packet,
					   sizeof(ipv6_packet));
	struct frame tagged_arp = ethernet_frame((uint16_t[]){ 0x8100, 0x0806 }, 2, ipv4_packet, 28);
	struct frame deep = ethernet_frame((uint16_t[]){ 0x8100, 0x8100, 0x8100, 0x8100, 0x8100,
							 0x0800 }, 6, ipv4_packet, 28);
	struct frame cut = ethernet_frame((uint16_t[]){ 0x8100 }, 1, "\x00", 1); /* tag cut short */
	(void)state;

	capture_begin(&c, 1);
	capture_add(&c, 1, 0, &dot1q, 0);
	capture_add(&c, 2, 0, &qinq, 0);
	capture_add(&c, 3, 0, &tagged_arp, 0);
	capture_add(&c, 4, 0, &deep, 0);
	capture_add(&c, 5, 0, &cut, 0);
	capture_end(&c);

	src = open_ok(c.path);
	expect_packet(src, AF_INET, ipv4_packet, sizeof(ipv4_packet));   /* offset 18 */
	expect_packet(src, AF_INET6, ipv6_packet, sizeof(ipv6_packet));  /* offset 22 */
	expect_end(src);
	assert_int_equal(pcap_source_stats(src)->packets, 2);
	assert_int_equal(pcap_source_stats(src)->skipped, 2);
	assert_int_equal(pcap_source_stats(src)->short_frames, 1);
	pcap_source_close(src);
	unlink(c.path);
}

static void test_linux_cooked(void **state)
{
	struct capture c;
	struct pcap_source *src;
	struct frame v4 = sll_frame(0x0800, ipv4_packet, sizeof(ipv4_packet));
	struct frame vlan_v6 = sll_frame(0x8100, "\x00\x64\x86\xdd", 4);
	struct frame arp = sll_frame(0x0806, ipv4_packet, 28);
	struct frame v6_2 = sll2_frame(0x86dd, ipv6_packet, sizeof(ipv6_packet));
	struct frame arp_2 = sll2_frame(0x0806, ipv4_packet, 28);
	(void)state;

	frame_put(&vlan_v6, ipv6_packet, sizeof(ipv6_packet));
	capture_begin(&c, 113);
	capture_add(&c, 1, 0, &v4, 0);
	capture_add(&c, 1, 1, &arp, 0);
	capture_add(&c, 1, 2, &vlan_v6, 0);
	capture_end(&c);
	src = open_ok(c.path);
	assert_int_equal(pcap_source_linktype(src), DLT_LINUX_SLL);
	expect_packet(src, AF_INET, ipv4_packet, sizeof(ipv4_packet));   /* offset 16 */
	expect_packet(src, AF_INET6, ipv6_packet, sizeof(ipv6_packet));  /* offset 20 */
	expect_end(src);
	assert_int_equal(pcap_source_stats(src)->skipped, 1);
	pcap_source_close(src);
	unlink(c.path);

	capture_begin(&c, 276);
	capture_add(&c, 1, 0, &arp_2, 0);
	capture_add(&c, 1, 1, &v6_2, 0);
	capture_end(&c);
	src = open_ok(c.path);
	assert_int_equal(pcap_source_linktype(src), DLT_LINUX_SLL2);
	expect_packet(src, AF_INET6, ipv6_packet, sizeof(ipv6_packet));  /* offset 20 */
	expect_end(src);
	assert_int_equal(pcap_source_stats(src)->skipped, 1);
	pcap_source_close(src);
	unlink(c.path);
}

static void test_raw_ip(void **state)
{
	static const uint32_t raw_types[] = { 101, 12, 14 };
	struct frame v4 = raw_frame(ipv4_packet, sizeof(ipv4_packet));
	struct frame v6 = raw_frame(ipv6_packet, sizeof(ipv6_packet));
	struct frame junk = raw_frame("\x50\x00\x00\x00", 4);
	struct capture c;
	struct pcap_source *src;
	(void)state;

	for (size_t i = 0; i < sizeof(raw_types) / sizeof(raw_types[0]); i++) {
		capture_begin(&c, raw_types[i]);
		capture_add(&c, 1, 0, &v4, 0);
		capture_add(&c, 1, 1, &junk, 0);
		capture_add(&c, 1, 2, &v6, 0);
		capture_end(&c);
		src = open_ok(c.path);
		expect_packet(src, AF_INET, ipv4_packet, sizeof(ipv4_packet));
		expect_packet(src, AF_INET6, ipv6_packet, sizeof(ipv6_packet));
		expect_end(src);
		assert_int_equal(pcap_source_stats(src)->skipped, 1);
		pcap_source_close(src);
		unlink(c.path);
	}

	capture_begin(&c, 228);
	capture_add(&c, 1, 0, &v4, 0);
	capture_end(&c);
	src = open_ok(c.path);
	expect_packet(src, AF_INET, ipv4_packet, sizeof(ipv4_packet));
	expect_end(src);
	pcap_source_close(src);
	unlink(c.path);

	capture_begin(&c, 229);
	capture_add(&c, 1, 0, &v6, 0);
	capture_end(&c);
	src = open_ok(c.path);
	expect_packet(src, AF_INET6, ipv6_packet, sizeof(ipv6_packet));
	expect_end(src);
	pcap_source_close(src);
	unlink(c.path);
}

static void test_bsd_loopback(void **state)
{
	struct capture c;
	struct pcap_source *src;
	struct frame v4_le = loopback_frame(2, false, ipv4_packet, sizeof(ipv4_packet));
	struct frame v4_be = loopback_frame(2, true, ipv4_packet, sizeof(ipv4_packet));
	struct frame v6_darwin = loopback_frame(30, false, ipv6_packet, sizeof(ipv6_packet));
	struct frame v6_linux = loopback_frame(10, true, ipv6_packet, sizeof(ipv6_packet));
	struct frame other = loopback_frame(7, false, ipv4_packet, 28);
	struct frame v6_openbsd = loopback_frame(24, true, ipv6_packet, sizeof(ipv6_packet));
	(void)state;

	capture_begin(&c, 0);
	capture_add(&c, 1, 0, &v4_le, 0);
	capture_add(&c, 1, 1, &v4_be, 0);
	capture_add(&c, 1, 2, &other, 0);
	capture_add(&c, 1, 3, &v6_darwin, 0);
	capture_add(&c, 1, 4, &v6_linux, 0);
	capture_end(&c);
	src = open_ok(c.path);
	assert_int_equal(pcap_source_linktype(src), DLT_NULL);
	expect_packet(src, AF_INET, ipv4_packet, sizeof(ipv4_packet));   /* offset 4 */
	expect_packet(src, AF_INET, ipv4_packet, sizeof(ipv4_packet));
	expect_packet(src, AF_INET6, ipv6_packet, sizeof(ipv6_packet));
	expect_packet(src, AF_INET6, ipv6_packet, sizeof(ipv6_packet));
	expect_end(src);
	assert_int_equal(pcap_source_stats(src)->skipped, 1);
	pcap_source_close(src);
	unlink(c.path);

	capture_begin(&c, 108);  /* LOOP: always network byte order */
	capture_add(&c, 1, 0, &v6_openbsd, 0);
	capture_add(&c, 1, 1, &v4_be, 0);
	capture_end(&c);
	src = open_ok(c.path);
	expect_packet(src, AF_INET6, ipv6_packet, sizeof(ipv6_packet));
	expect_packet(src, AF_INET, ipv4_packet, sizeof(ipv4_packet));
	expect_end(src);
	pcap_source_close(src);
	unlink(c.path);
}

/* ---- truncation, short frames, errors ----------------------------------------- */

static void test_truncated_packets_are_returned(void **state)
{
	struct capture c;
	struct captured_packet p;
	struct pcap_source *src;
	struct frame cut = ethernet_frame((uint16_t[]){ 0x0800 }, 1, ipv4_packet, 16);
	struct frame stub = { .len = 10 };  /* cut inside the Ethernet header */
	struct frame header_only = ethernet_frame((uint16_t[]){ 0x0800 }, 1, NULL, 0);
	(void)state;

	capture_begin(&c, 1);
	capture_add(&c, 1, 0, &stub, 60);
	capture_add(&c, 1, 1, &header_only, 60);
	capture_add(&c, 1, 2, &cut, 14 + 1500);
	capture_end(&c);

	src = open_ok(c.path);
	assert_int_equal(pcap_source_next(src, &p), 1);
	assert_true(p.truncated);
	assert_int_equal(p.l3_len, 16);
	assert_int_equal(p.l3_wire_len, 1500);
	assert_memory_equal(p.l3, ipv4_packet, 16);
	assert_int_equal(p.index, 3);
	expect_end(src);
	assert_int_equal(pcap_source_stats(src)->records, 3);
	assert_int_equal(pcap_source_stats(src)->packets, 1);
	assert_int_equal(pcap_source_stats(src)->truncated, 1);
	assert_int_equal(pcap_source_stats(src)->short_frames, 2);
	pcap_source_close(src);
	unlink(c.path);
}

static void test_file_cut_mid_record_is_an_error(void **state)
{
	struct capture c;
	struct captured_packet p;
	struct pcap_source *src;
	struct frame v4 = ethernet_frame((uint16_t[]){ 0x0800 }, 1, ipv4_packet, sizeof(ipv4_packet));
	(void)state;

	capture_begin(&c, 1);
	capture_add(&c, 1, 0, &v4, 0);
	capture_add(&c, 1, 1, &v4, 0);
	capture_end(&c);
	assert_int_equal(truncate(c.path, 24 + 2 * 16 + (off_t)v4.len - 5), 0);

	src = open_ok(c.path);
	assert_int_equal(pcap_source_next(src, &p), 1);
	assert_int_equal(pcap_source_next(src, &p), -1);
	assert_non_null(strstr(pcap_source_error(src), "record 2: "));
	assert_non_null(strstr(pcap_source_error(src), "truncated"));
	pcap_source_close(src);
	unlink(c.path);
}

static void test_open_errors(void **state)
{
	struct capture c;
	char err[512];
	(void)state;

	assert_null(pcap_source_open("/nonexistent/x.pcap", err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/x.pcap"));
	assert_non_null(strstr(err, "No such file"));

	capture_begin(&c, 105);  /* IEEE 802.11 */
	capture_end(&c);
	assert_null(pcap_source_open(c.path, err, sizeof(err)));
	assert_non_null(strstr(err, c.path));
	assert_non_null(strstr(err, ": unsupported link type 105 (IEEE802_11)"));
	unlink(c.path);

	capture_begin(&c, 1);
	fputs("junk", c.file);
	capture_end(&c);
	assert_int_equal(truncate(c.path, 10), 0);  /* not even a file header */
	assert_null(pcap_source_open(c.path, err, sizeof(err)));
	assert_non_null(strstr(err, c.path));
	unlink(c.path);
	pcap_source_close(NULL);
}

static void test_progress(void **state)
{
	struct capture c;
	struct captured_packet p;
	struct pcap_source *src;
	struct stat st;
	struct frame v4 = ethernet_frame((uint16_t[]){ 0x0800 }, 1, ipv4_packet, sizeof(ipv4_packet));
	int64_t last = 0;
	(void)state;

	capture_begin(&c, 1);
	for (unsigned i = 0; i < 100; i++)
		capture_add(&c, i, 0, &v4, 0);
	capture_end(&c);
	assert_int_equal(stat(c.path, &st), 0);

	src = open_ok(c.path);
	assert_int_equal(pcap_source_file_size(src), (uint64_t)st.st_size);
	while (pcap_source_next(src, &p) == 1) {
		int64_t offset = pcap_source_offset(src);
		assert_true(offset >= last);
		assert_true(offset <= st.st_size);
		last = offset;
	}
	assert_int_equal(pcap_source_offset(src), st.st_size);
	assert_int_equal(pcap_source_stats(src)->packets, 100);
	pcap_source_close(src);
	unlink(c.path);
}

/* libpcap's own writer, to keep the hand-written format honest. */
static void test_libpcap_written_file(void **state)
{
	char path[64];
	struct pcap_pkthdr header = { .ts = { 5, 6 } };
	struct frame v6 = ethernet_frame((uint16_t[]){ 0x86dd }, 1, ipv6_packet, sizeof(ipv6_packet));
	struct captured_packet p;
	struct pcap_source *src;
	pcap_dumper_t *dumper;
	pcap_t *dead;
	int fd;
	(void)state;

	snprintf(path, sizeof(path), "/tmp/sara-test-pcap-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	dead = pcap_open_dead(DLT_EN10MB, 65535);
	assert_non_null(dead);
	dumper = pcap_dump_open(dead, path);
	assert_non_null(dumper);
	header.caplen = header.len = (bpf_u_int32)v6.len;
	pcap_dump((u_char *)dumper, &header, v6.bytes);
	pcap_dump_close(dumper);
	pcap_close(dead);

	src = open_ok(path);
	assert_int_equal(pcap_source_next(src, &p), 1);
	assert_int_equal(p.family, AF_INET6);
	assert_int_equal(p.ts_us, 5000006);
	assert_memory_equal(p.l3, ipv6_packet, sizeof(ipv6_packet));
	expect_end(src);
	pcap_source_close(src);
	unlink(path);
}

/* pcapng: section header, one Ethernet interface, one enhanced packet. */
static void test_pcapng(void **state)
{
	struct capture c;
	struct captured_packet p;
	struct pcap_source *src;
	struct frame v4 = ethernet_frame((uint16_t[]){ 0x0800 }, 1, ipv4_packet, sizeof(ipv4_packet));
	struct frame block = { .len = 0 };
	uint64_t ts_us = 1700000000654321ull;
	size_t padded = (v4.len + 3) & ~(size_t)3;
	int fd;
	(void)state;

	snprintf(c.path, sizeof(c.path), "/tmp/sara-test-pcapng-XXXXXX");
	fd = mkstemp(c.path);
	assert_true(fd >= 0);
	c.file = fdopen(fd, "wb");
	assert_non_null(c.file);
	/* SHB */
	frame_u32(&block, 0x0a0d0d0a, false);
	frame_u32(&block, 28, false);
	frame_u32(&block, 0x1a2b3c4d, false);
	frame_put(&block, (uint8_t[]){ 1, 0, 0, 0 }, 4);
	frame_put(&block, (uint8_t[]){ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, 8);
	frame_u32(&block, 28, false);
	/* IDB */
	frame_u32(&block, 1, false);
	frame_u32(&block, 20, false);
	frame_put(&block, (uint8_t[]){ 1, 0, 0, 0 }, 4);
	frame_u32(&block, 65535, false);
	frame_u32(&block, 20, false);
	assert_int_equal(fwrite(block.bytes, 1, block.len, c.file), block.len);
	/* EPB */
	block.len = 0;
	frame_u32(&block, 6, false);
	frame_u32(&block, (uint32_t)(32 + padded), false);
	frame_u32(&block, 0, false);
	frame_u32(&block, (uint32_t)(ts_us >> 32), false);
	frame_u32(&block, (uint32_t)ts_us, false);
	frame_u32(&block, (uint32_t)v4.len, false);
	frame_u32(&block, (uint32_t)v4.len, false);
	frame_put(&block, v4.bytes, v4.len);
	frame_put(&block, (uint8_t[]){ 0, 0, 0, 0 }, padded - v4.len);
	frame_u32(&block, (uint32_t)(32 + padded), false);
	assert_int_equal(fwrite(block.bytes, 1, block.len, c.file), block.len);
	capture_end(&c);

	src = open_ok(c.path);
	assert_int_equal(pcap_source_next(src, &p), 1);
	assert_int_equal(p.family, AF_INET);
	assert_int_equal(p.ts_us, ts_us);
	assert_memory_equal(p.l3, ipv4_packet, sizeof(ipv4_packet));
	expect_end(src);
	pcap_source_close(src);
	unlink(c.path);
}

/* ---- the shared corpus ---------------------------------------------------------- */

static const char *corpus_dir(void)
{
	static const char *const candidates[] = { "../shared/corpus", "../../../shared/corpus",
						  "/work/shared/corpus" };
	const char *env = getenv("SARA_CORPUS");
	struct stat st;
	if (env && env[0])
		return stat(env, &st) == 0 && S_ISDIR(st.st_mode) ? env : NULL;
	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++)
		if (stat(candidates[i], &st) == 0 && S_ISDIR(st.st_mode))
			return candidates[i];
	return NULL;
}

static bool is_capture_name(const char *name)
{
	size_t len = strlen(name);
	return (len > 5 && strcmp(name + len - 5, ".pcap") == 0) ||
	       (len > 7 && strcmp(name + len - 7, ".pcapng") == 0);
}

static void test_corpus_reads_to_the_end(void **state)
{
	static const char *const subdirs[] = { "sip-pcaps", "rtsp-pcaps" };
	const char *corpus = corpus_dir();
	unsigned files = 0;
	uint64_t packets = 0;
	(void)state;

	if (!corpus) {
		print_message("corpus not found (set SARA_CORPUS): skipping\n");
		skip();
	}
	for (size_t d = 0; d < sizeof(subdirs) / sizeof(subdirs[0]); d++) {
		char dir_path[512];
		struct dirent *entry;
		DIR *dir;
		snprintf(dir_path, sizeof(dir_path), "%s/%s", corpus, subdirs[d]);
		dir = opendir(dir_path);
		if (!dir)
			continue;
		while ((entry = readdir(dir)) != NULL) {
			char path[1024], err[512];
			struct captured_packet p;
			struct pcap_source *src;
			int rc;
			if (!is_capture_name(entry->d_name))
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir_path, entry->d_name);
			src = pcap_source_open(path, err, sizeof(err));
			if (!src)
				fail_msg("%s", err);
			while ((rc = pcap_source_next(src, &p)) == 1) {
				assert_true(p.l3_len > 0);
				assert_true(p.l3_wire_len >= p.l3_len);
				assert_true(p.family == AF_INET || p.family == AF_INET6);
			}
			if (rc != 0)
				fail_msg("%s: %s", path, pcap_source_error(src));
			assert_true(pcap_source_stats(src)->records > 0);
			assert_int_equal(pcap_source_offset(src), (int64_t)pcap_source_file_size(src));
			packets += pcap_source_stats(src)->packets;
			files++;
			pcap_source_close(src);
		}
		closedir(dir);
	}
	print_message("corpus %s: %u files, %llu IP packets\n", corpus, files,
		      (unsigned long long)packets);
	assert_true(files > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ethernet),
		cmocka_unit_test(test_vlan),
		cmocka_unit_test(test_linux_cooked),
		cmocka_unit_test(test_raw_ip),
		cmocka_unit_test(test_bsd_loopback),
		cmocka_unit_test(test_truncated_packets_are_returned),
		cmocka_unit_test(test_file_cut_mid_record_is_an_error),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_progress),
		cmocka_unit_test(test_libpcap_written_file),
		cmocka_unit_test(test_pcapng),
		cmocka_unit_test(test_corpus_reads_to_the_end),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
