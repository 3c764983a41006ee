/* flow_text.c - a flow key as log text (flow_text.h). */
#include "sarad/flow_text.h"

#include <stdio.h>

void flow_text(const struct flow_key *key, char *buf, size_t size)
{
	char src[ENDPOINT_STRLEN], dst[ENDPOINT_STRLEN];
	struct endpoint e;
	if (key->family == 0) {
		snprintf(buf, size, "(no flow)");
		return;
	}
	flow_key_src(key, &e);
	endpoint_format(&e, src, sizeof(src));
	flow_key_dst(key, &e);
	endpoint_format(&e, dst, sizeof(dst));
	snprintf(buf, size, "%s %s -> %s", key->l4 == L4_TCP ? "tcp" : key->l4 == L4_UDP ? "udp" : "ip", src, dst);
}
