/* agent_msg.h - the bodies sara-agent sends inside sealed wire messages:
 * the 11-byte heartbeat (WIRE_HEARTBEAT) and the load report (WIRE_LOAD),
 * with explicit big-endian encoders and validating decoders. */
#ifndef SARA_AGENT_MSG_H
#define SARA_AGENT_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dpi/enum_list.h"
#include "engine/config.h"
#include "engine/counters.h"

/* Heartbeat (DESIGN.md section 8): host id u32, sequence u16, flag u8,
 * timestamp u32, big-endian, 11 bytes. */
#define AGENT_HEARTBEAT_SIZE 11

enum agent_flag {
	AGENT_UP = 0,        /* node and application up */
	AGENT_APP_DOWN = 1,  /* node up, application down (the local probe failed) */
	AGENT_DRAIN = 2,     /* planned failure at `timestamp` */
	AGENT_FLAG_COUNT
};

struct agent_heartbeat {
	uint32_t host_id;    /* agent_sender_id of the server's id (0 is invalid) */
	uint16_t seq;        /* +1 per heartbeat, wraps; gaps count lost heartbeats */
	uint8_t flag;        /* enum agent_flag */
	uint32_t timestamp;  /* wall clock, s since the epoch: the send time, or the
			      * planned failure time with AGENT_DRAIN */
};

/* Load report: host id u32, then the components in enum order, each a u16
 * fixed-point fraction 0..AGENT_LOAD_SCALE (10000 = fully loaded); 14 bytes. */
/* The components, each with its name (agent_load_component_name). */
#define AGENT_LOAD_COMPONENT_LIST(X)                                                       \
	X(AGENT_LOAD_CPU, "cpu")                                                           \
	X(AGENT_LOAD_MEMORY, "memory")                                                     \
	X(AGENT_LOAD_NETWORK, "network") /* socket buffer memory in use */                 \
	X(AGENT_LOAD_IO, "io")           /* block I/O queue length */                      \
	X(AGENT_LOAD_BACKLOG, "backlog") /* the SIP/RTSP server's receive/listen queues */

enum agent_load_component { AGENT_LOAD_COMPONENT_LIST(ENUM_LIST_ID) AGENT_LOAD_COMPONENTS };

#define AGENT_LOAD_SCALE 10000
/* A component the agent does not count (sara-agent --components): sent as
 * this value (the top bit alone), outside 0..AGENT_LOAD_SCALE, so the
 * 14-byte format keeps its layout and an older decoder refuses such a report
 * instead of reading it as a load. Every other value above AGENT_LOAD_SCALE
 * is still out of range. */
#define AGENT_LOAD_NOT_REPORTED 0x8000u
#define AGENT_LOAD_SIZE (4 + 2 * AGENT_LOAD_COMPONENTS)

struct agent_load {
	uint32_t host_id;
	uint16_t fixed[AGENT_LOAD_COMPONENTS];  /* 0..AGENT_LOAD_SCALE */
};

/* Return the encoded length (AGENT_HEARTBEAT_SIZE / AGENT_LOAD_SIZE), 0 if
 * cap is too small. They encode what they are given: validation is the
 * decoder's job, so tests can build bad bodies. */
size_t agent_heartbeat_encode(const struct agent_heartbeat *hb, uint8_t *out, size_t cap);
size_t agent_load_encode(const struct agent_load *load, uint8_t *out, size_t cap);

/* COUNTER_NONE on success, else the reason's counter
 * (COUNTER_AGENT_TRUNCATED, _TRAILING_BYTES, _BAD_HOST, _BAD_FLAG,
 * _LOAD_OUT_OF_RANGE). Never read past len; on failure *out is zeroed. */
enum counter_id agent_heartbeat_decode(const uint8_t *buf, size_t len, struct agent_heartbeat *out);
enum counter_id agent_load_decode(const uint8_t *buf, size_t len, struct agent_load *out);

/* A fraction to fixed point: NaN and values above 1 become AGENT_LOAD_SCALE,
 * values below 0 become 0, the rest round to nearest. */
uint16_t agent_load_to_fixed(double fraction);
/* The fraction; NaN for AGENT_LOAD_NOT_REPORTED. */
double agent_load_from_fixed(uint16_t fixed);

/* The wire sender id (and the bodies' host id) of the agent of server id:
 * a hash of the id with the top bit set, so that a server keeps its
 * identity wherever the file lists it while servers come and go.
 * (Agents before it sent the server's index + 1, 1..64; still taken, as
 * the running table's slot + 1.) */
#define AGENT_SENDER_BY_ID 0x80000000u
uint32_t agent_sender_id(const char *server_id);

/* The wire sender id and the body's host id must both name the same
 * server of cfg (a running table: its slot, retired ones included).
 * COUNTER_NONE and *server set on success, else COUNTER_AGENT_UNKNOWN_HOST
 * or COUNTER_AGENT_HOST_MISMATCH. */
enum counter_id agent_msg_check_sender(const struct sara_config *cfg, uint32_t wire_sender, uint32_t host_id,
				   unsigned *server);

const char *agent_flag_name(uint8_t flag);               /* "up", "app_down", "drain", "?" */
const char *agent_load_component_name(unsigned component); /* "cpu", "memory", ... */

#endif
