/* log_kinds.c - sarad's rate-limited log kinds (log_kinds.h). */
#include "sarad/log_kinds.h"

#include <stddef.h>

void log_kinds_init(struct log_kinds *k)
{
	k->malformed = (struct log_limit)LOG_LIMIT_INIT("malformed signalling", 5, 10000);
	k->table_full = (struct log_limit)LOG_LIMIT_INIT("table full", 5, 10000);
	k->no_server = (struct log_limit)LOG_LIMIT_INIT("no server available", 5, 10000);
	k->admission = (struct log_limit)LOG_LIMIT_INIT("admission", 5, 10000);
	k->overflow = (struct log_limit)LOG_LIMIT_INIT("queue overflow", 5, 10000);
	k->verdict_error = (struct log_limit)LOG_LIMIT_INIT("verdict failed", 5, 10000);
	k->ct_error = (struct log_limit)LOG_LIMIT_INIT("connmark clear failed", 5, 10000);
	k->ct_scan = (struct log_limit)LOG_LIMIT_INIT("conntrack scan failed", 5, 60000);
	k->load = (struct log_limit)LOG_LIMIT_INIT("agent load", 5, 10000);
}

void log_kinds_flush(struct log_kinds *k, uint64_t now_ms)
{
	struct log_limit *all[] = { &k->malformed, &k->table_full, &k->no_server, &k->admission, &k->overflow,
				    &k->verdict_error, &k->ct_error, &k->load, &k->ct_scan };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		log_limit_flush(all[i], now_ms);
}
