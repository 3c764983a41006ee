/* log_kinds.c - sarad's rate-limited log kinds (log_kinds.h). */
#include "sarad/log_kinds.h"

#include <stddef.h>

void log_kinds_init(struct log_kinds *k)
{
	/* The kinds are the events' names (refusals: refused_REASON). */
	k->malformed = (struct log_limit)LOG_LIMIT_INIT("refused_malformed", 5, 10000);
	k->table_full = (struct log_limit)LOG_LIMIT_INIT("refused_table_full", 5, 10000);
	k->no_server = (struct log_limit)LOG_LIMIT_INIT("refused_no_server", 5, 10000);
	k->admission = (struct log_limit)LOG_LIMIT_INIT("refused_admission", 5, 10000);
	k->overflow = (struct log_limit)LOG_LIMIT_INIT("queue_overflow", 5, 10000);
	k->verdict_error = (struct log_limit)LOG_LIMIT_INIT("verdict_failed", 5, 10000);
	k->ct_error = (struct log_limit)LOG_LIMIT_INIT("connmark_write_failed", 5, 10000);
	k->ct_scan = (struct log_limit)LOG_LIMIT_INIT("conntrack_scan_failed", 5, 60000);
	k->load = (struct log_limit)LOG_LIMIT_INIT("server_load", 5, 10000);
}

void log_kinds_flush(struct log_kinds *k, uint64_t now_ms)
{
	struct log_limit *all[] = { &k->malformed, &k->table_full, &k->no_server, &k->admission, &k->overflow,
				    &k->verdict_error, &k->ct_error, &k->load, &k->ct_scan };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		log_limit_flush(all[i], now_ms);
}
