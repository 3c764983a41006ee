/* journal_codec.h - the session journal's file format: an 8-byte magic, a
 * header record (format version, cluster name), then self-checking records
 * (sync byte, type, length, CRC-32C) for servers, sessions, their flows and
 * their ends. Explicit big-endian; the decoder trusts no length. */
#ifndef SARA_JOURNAL_CODEC_H
#define SARA_JOURNAL_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/session_record.h"

#define JOURNAL_MAGIC "SARA-JNL"
#define JOURNAL_MAGIC_SIZE 8
#define JOURNAL_FORMAT_VERSION 1
#define JOURNAL_RECORD_HEADER 8     /* sync u8, type u8, payload length u16, crc32c u32 */
#define JOURNAL_PAYLOAD_MAX 1024    /* larger lengths are corruption */
#define JOURNAL_RECORD_MAX (JOURNAL_RECORD_HEADER + JOURNAL_PAYLOAD_MAX)

enum journal_record_type {
	JOURNAL_HEADER = 1,   /* first record of a file */
	JOURNAL_SERVER,       /* a server sessions may name */
	JOURNAL_SESSION,      /* a session created or changed: its whole state */
	JOURNAL_FLOW,         /* a flow a session decided */
	JOURNAL_END,          /* a session ended: final for its serial */
	JOURNAL_CONNECTION,   /* a signalling TCP connection pinned without a session */
	JOURNAL_CONNECTION_END, /* ... gone */
};

struct journal_header {
	uint16_t version;
	char cluster[SARA_ID_MAX * 2];
	uint64_t created_wall_ms;
	uint64_t next_serial;    /* the engine's next session serial when the file was begun */
};

struct journal_record {
	uint8_t type;         /* enum journal_record_type */
	union {
		struct journal_header header;
		struct server_record server;
		struct session_record session;   /* server is ENGINE_NO_SERVER (-1) when read */
		struct session_flow_record flow;
		uint64_t end_serial;
		struct connection_record connection;   /* server is -1 when read */
		struct flow_key connection_end;
	} u;
};

/* Encoders: the record's length, 0 when cap is too small or the record
 * cannot be represented (a key or id too long, an unknown family). */
size_t journal_encode_magic(uint8_t *out, size_t cap);
size_t journal_encode_header(const struct journal_header *h, uint8_t *out, size_t cap);
size_t journal_encode_server(const struct server_record *s, uint8_t *out, size_t cap);
size_t journal_encode_session(const struct session_record *s, uint8_t *out, size_t cap);
size_t journal_encode_flow(const struct session_flow_record *f, uint8_t *out, size_t cap);
size_t journal_encode_end(uint64_t serial, uint8_t *out, size_t cap);
size_t journal_encode_connection(const struct connection_record *c, uint8_t *out, size_t cap);
size_t journal_encode_connection_end(const struct flow_key *key, uint8_t *out, size_t cap);
/* Any record by its type: the encoder above that type names (0 for an
 * unknown type). */
size_t journal_encode_record(const struct journal_record *rec, uint8_t *out, size_t cap);

enum journal_read {
	JOURNAL_READ_RECORD = 0, /* *out holds a record; *offset moved past it */
	JOURNAL_READ_END,        /* no bytes left */
	JOURNAL_READ_TORN,       /* the bytes left are the start of a record (a write cut short) */
	JOURNAL_READ_CORRUPT,    /* bad sync byte, length, checksum or contents */
};

/* Whether buf starts with the magic. */
bool journal_has_magic(const uint8_t *buf, size_t len);
/* The record at buf[*offset]. On anything but JOURNAL_READ_RECORD,
 * *offset is left where the unusable bytes start. */
enum journal_read journal_decode(const uint8_t *buf, size_t len, size_t *offset, struct journal_record *out);

/* CRC-32C (Castagnoli), as iSCSI and ext4 use it. */
uint32_t journal_crc32c(uint32_t crc, const uint8_t *data, size_t len);

#endif
