/* announce_codec.h - announcements on the wire: an explicit big-endian
 * encoding of struct announcement (never a copy of the struct's bytes) and
 * a decoder that validates every field it reads. */
#ifndef SARA_ANNOUNCE_CODEC_H
#define SARA_ANNOUNCE_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "engine/config.h"
#include "engine/counters.h"
#include "engine/signal_facts.h"

/* Returns the encoded length, 0 if cap is too small. */
size_t announce_encode(const struct announcement *ann, uint8_t *out, size_t cap);
/* COUNTER_NONE on success, else the counter of the reason
 * (COUNTER_ANNOUNCE_TRUNCATED...). */
enum counter_id announce_decode(const uint8_t *buf, size_t len, struct announcement *out);
/* COUNTER_NONE when the announcement only names what the cluster owns: its
 * signalling flow is to a VIP on a configured signalling port; else the
 * reason's counter. sarad calls this before engine_announce. */
enum counter_id announce_check_cluster(const struct sara_config *cfg, const struct announcement *ann);

#endif
