/* sarad_fixture.h - what sarad's module tests share: a two-server cluster
 * configuration, a clock the test moves, a log sink that keeps the last
 * lines, and a dispatcher built on them (no conntrack). */
#ifndef SARA_TESTS_SARAD_FIXTURE_H
#define SARA_TESTS_SARAD_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "dpi/span.h"
#include "engine/config.h"
#include "io/log.h"
#include "sarad/dispatcher.h"

#define FIXTURE_INTERVAL_MS 100
#define FIXTURE_MISSES 3
#define FIXTURE_LOG_LINES 64

static uint64_t fixture_clock_ms = 1000000;

static uint64_t fixture_now_ms(void)
{
	return fixture_clock_ms;
}

static char fixture_log[FIXTURE_LOG_LINES][512];
static unsigned fixture_log_count;

static void fixture_log_sink(void *ctx, int priority, const char *line)
{
	(void)ctx;
	(void)priority;
	snprintf(fixture_log[fixture_log_count % FIXTURE_LOG_LINES], sizeof(fixture_log[0]), "%s", line);
	fixture_log_count++;
}

/* True when a kept log line contains text. */
static inline bool fixture_logged(const char *text)
{
	unsigned n = fixture_log_count < FIXTURE_LOG_LINES ? fixture_log_count : FIXTURE_LOG_LINES;
	for (unsigned i = 0; i < n; i++)
		if (strstr(fixture_log[i], text))
			return true;
	return false;
}

static inline void fixture_log_start(void)
{
	fixture_log_count = 0;
	log_open("test", false, false);
	log_set_sink(fixture_log_sink, NULL);
}

static inline void fixture_parse(const char *text, struct netaddr *out)
{
	if (!netaddr_parse(span_make(text, strlen(text)), out))
		memset(out, 0, sizeof(*out));
}

/* Servers s1 and s2, agents every FIXTURE_INTERVAL_MS. */
static inline void fixture_config(struct sara_config *cfg)
{
	sara_config_defaults(cfg);
	snprintf(cfg->name, sizeof(cfg->name), "sarad-test");
	cfg->vip_count = 1;
	fixture_parse("198.18.77.20", &cfg->vips[0]);
	cfg->server_count = 2;
	for (unsigned i = 0; i < 2; i++) {
		snprintf(cfg->servers[i].id, sizeof(cfg->servers[i].id), "s%u", i + 1);
		fixture_parse(i == 0 ? "198.18.2.11" : "198.18.2.12", &cfg->servers[i].address);
		cfg->servers[i].mark = i + 1;
		cfg->servers[i].table = 101 + i;
		cfg->servers[i].weight = 1.0;
	}
	cfg->agents.interval_ms = FIXTURE_INTERVAL_MS;
	cfg->agents.misses = FIXTURE_MISSES;
	fixture_parse("127.0.0.1", &cfg->agents.listen.addr);
	cfg->agents.listen.port = 7411;
	cfg->limits.flows = 256;
	cfg->limits.sessions = 32;
	cfg->limits.tcp_streams = 16;
	cfg->limits.fragments = 8;
}

#endif
