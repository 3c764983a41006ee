/* announce_codec.h - announcements on the wire: an explicit big-endian
 * encoding of struct announcement (never a copy of the struct's bytes) and
 * a decoder that validates every field it reads. */
#ifndef SARA_ANNOUNCE_CODEC_H
#define SARA_ANNOUNCE_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "engine/config.h"
#include "engine/signal_facts.h"

/* Returns the encoded length, 0 if cap is too small. */
size_t announce_encode(const struct announcement *ann, uint8_t *out, size_t cap);
/* NULL on success, else a short static reason usable as a counter name. */
const char *announce_decode(const uint8_t *buf, size_t len, struct announcement *out);
/* NULL when the announcement only names what the cluster owns: its
 * signalling flow is to a VIP on a configured signalling port; else a
 * reason (counter name). sarad calls this before engine_announce. */
const char *announce_check_cluster(const struct sara_config *cfg, const struct announcement *ann);

#endif
