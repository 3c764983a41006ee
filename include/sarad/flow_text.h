/* flow_text.h - one flow as log text: "udp 192.0.2.1:5060 -> 198.18.0.1:5060". */
#ifndef SARA_SARAD_FLOW_TEXT_H
#define SARA_SARAD_FLOW_TEXT_H

#include <stddef.h>

#include "dpi/flow_key.h"
#include "dpi/netaddr.h"

/* Room for both endpoints, the protocol and the arrow. */
#define FLOW_TEXT_MAX (2 * ENDPOINT_STRLEN + 16)

/* "(no flow)" for a zero key (a held fragment). */
void flow_text(const struct flow_key *key, char *buf, size_t size);

#endif
