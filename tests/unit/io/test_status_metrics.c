/* test_status_metrics.c - sarad's metrics page from a known snapshot: the
 * servers' and admission's families as exact text, every counter of every
 * reported scope exactly once, queues and the kernel's drops by queue,
 * family names unique with their samples together, label values escaped,
 * and what a snapshot without listeners leaves out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "io/status_metrics.h"

#define QUEUES 2

/* Each set's values are base + id: every sample of the page differs. */
struct scope_source {
	enum counter_scope scope;
	size_t set_offset;
	uint64_t base;
};

#define SET(field) offsetof(struct status_snapshot, field)
static const struct scope_source reported[] = {
	{ COUNTER_SCOPE_ENGINE_STATS, SET(engine), 1000000 },
	{ COUNTER_SCOPE_ENGINE, SET(engine), 1000000 },
	{ COUNTER_SCOPE_ADMISSION, SET(engine), 1000000 },
	{ COUNTER_SCOPE_VERDICT_ACCEPT, SET(verdicts), 2000000 },
	{ COUNTER_SCOPE_VERDICT_DROP, SET(verdicts), 2000000 },
	{ COUNTER_SCOPE_VERDICTS, SET(verdicts), 2000000 },
	{ COUNTER_SCOPE_ANNOUNCE, SET(announcements), 3000000 },
	{ COUNTER_SCOPE_ANNOUNCE_REJECT, SET(announcements), 3000000 },
	{ COUNTER_SCOPE_AGENTS, SET(agents), 4000000 },
	{ COUNTER_SCOPE_AGENT_REJECT, SET(agents), 4000000 },
	{ COUNTER_SCOPE_HEALTH, SET(health), 5000000 },
	{ COUNTER_SCOPE_CONNTRACK, SET(conntrack), 6000000 },
	{ COUNTER_SCOPE_DAEMON, SET(daemon), 7000000 },
	{ COUNTER_SCOPE_REPLY, SET(daemon), 7000000 },
};

static struct status_snapshot *snapshot_new(void)
{
	struct status_snapshot *s = calloc(1, status_snapshot_size(QUEUES));
	struct status_server *s1 = &s->servers[0], *s2 = &s->servers[1];
	assert_non_null(s);
	snprintf(s->cluster, sizeof(s->cluster), "voice \"1\"\\");
	s->uptime_ms = 90500;
	s->has_engine = s->has_verdicts = s->has_announcements = s->has_agents = s->has_conntrack = true;
	for (unsigned i = 0; i < sizeof(reported) / sizeof(reported[0]); i++) {
		struct counter_set *set = (struct counter_set *)((char *)s + reported[i].set_offset);
		for (unsigned id = COUNTER_NONE + 1; id < COUNTER_COUNT; id++)
			set->values[id] = reported[i].base + id;
	}
	s->admission = (struct status_admission){
		.enabled = true, .zone = ADMISSION_ZONE_SHED, .load = 0.7, .cluster_load = 0.7, .dispatcher_load = 0.125,
		.new_session_load = 0.75, .lead_s = 1, .load_per_session = 0.01, .reopen_s = 0, .refuse_new_floor = 0,
		.refuse_new_p = 0.5, .refuse_established_p = 0,
		.current = { 0.6, 0.8, 0.9, 0.98 }, .configured = { 0.6, 0.85, 0.9, 0.98 },
	};
	s->server_count = 2;
	snprintf(s1->id, sizeof(s1->id), "s1");
	s1->weight = 2;
	s1->weight_factor = 0.5;
	s1->available = true;
	s1->drained = 0;
	s1->sessions = 3;
	s1->load_estimate = 0.25;
	s1->has_health = true;
	s1->health = (struct server_health_info){ .state = SERVER_UP, .heard = true, .last_beat_age_ms = 1500,
						  .has_load = true, .load = 0.5, .heartbeats = 10, .lost = 1,
						  .loads = 9 };
	snprintf(s2->id, sizeof(s2->id), "s2");
	s2->weight = 1;
	s2->weight_factor = 1;
	s2->drained = -1;
	s2->load_estimate = -1;
	s->queue_count = QUEUES;
	s->queues[0] = (struct status_queue){ .num = 0, .stats = { 11, 12, 15, 13, 14 } };
	s->queues[1] = (struct status_queue){ .num = 1, .stats = { 21, 22, 25, 23, 24 },
					      .kernel = { .found = true, .waiting = 30, .dropped = 31,
							  .user_dropped = 32, .id_sequence = 33 } };
	return s;
}

static char *render(const struct status_snapshot *s)
{
	static struct metrics_text t;
	metrics_text_reset(&t);
	status_metrics_render(s, &t);
	assert_false(t.failed);
	return t.text;
}

/* The page's lines that start with prefix, in order. */
static void lines_with(const char *page, const char *prefix, char *out, size_t size)
{
	size_t used = 0, n = strlen(prefix);
	out[0] = '\0';
	for (const char *line = page; *line;) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) + 1 : strlen(line);
		const char *name = strncmp(line, "# HELP ", 7) == 0 || strncmp(line, "# TYPE ", 7) == 0 ? line + 7 : line;
		if (strncmp(name, prefix, n) == 0) {
			assert_true(used + len < size);
			memcpy(out + used, line, len);
			used += len;
			out[used] = '\0';
		}
		line += len;
	}
}

static void test_servers_exact(void **state)
{
	struct status_snapshot *s = snapshot_new();
	static char block[8192];
	(void)state;
	lines_with(render(s), "sara_server_", block, sizeof(block));
	assert_string_equal(block,
		"# HELP sara_server_weight the server's configured weight\n"
		"# TYPE sara_server_weight gauge\n"
		"sara_server_weight{server=\"s1\"} 2\n"
		"sara_server_weight{server=\"s2\"} 1\n"
		"# HELP sara_server_weight_factor the share of its weight the server has now (slow start: 0..1)\n"
		"# TYPE sara_server_weight_factor gauge\n"
		"sara_server_weight_factor{server=\"s1\"} 0.5\n"
		"sara_server_weight_factor{server=\"s2\"} 1\n"
		"# HELP sara_server_available 1 when the server may take new sessions\n"
		"# TYPE sara_server_available gauge\n"
		"sara_server_available{server=\"s1\"} 1\n"
		"sara_server_available{server=\"s2\"} 0\n"
		"# HELP sara_server_drained 1 while the operator drains the server\n"
		"# TYPE sara_server_drained gauge\n"
		"sara_server_drained{server=\"s1\"} 0\n"
		"# HELP sara_server_sessions sessions pinned to the server now\n"
		"# TYPE sara_server_sessions gauge\n"
		"sara_server_sessions{server=\"s1\"} 3\n"
		"sara_server_sessions{server=\"s2\"} 0\n"
		"# HELP sara_server_load_estimate the shell forecast of the server's load (0..1)\n"
		"# TYPE sara_server_load_estimate gauge\n"
		"sara_server_load_estimate{server=\"s1\"} 0.25\n"
		"# HELP sara_server_state 1 for the health state a server is in (from its agent's heartbeats), 0 for "
		"the others\n"
		"# TYPE sara_server_state gauge\n"
		"sara_server_state{server=\"s1\",state=\"unknown\"} 0\n"
		"sara_server_state{server=\"s1\",state=\"up\"} 1\n"
		"sara_server_state{server=\"s1\",state=\"draining\"} 0\n"
		"sara_server_state{server=\"s1\",state=\"app_down\"} 0\n"
		"sara_server_state{server=\"s1\",state=\"failed\"} 0\n"
		"# HELP sara_server_load the load the server's agent last reported (0..1)\n"
		"# TYPE sara_server_load gauge\n"
		"sara_server_load{server=\"s1\"} 0.5\n"
		"# HELP sara_server_heartbeat_age_seconds time since the server's agent was last heard\n"
		"# TYPE sara_server_heartbeat_age_seconds gauge\n"
		"sara_server_heartbeat_age_seconds{server=\"s1\"} 1.5\n"
		"# HELP sara_server_heartbeats_total heartbeats taken from the server's agent\n"
		"# TYPE sara_server_heartbeats_total counter\n"
		"sara_server_heartbeats_total{server=\"s1\"} 10\n"
		"# HELP sara_server_heartbeats_lost_total heartbeats of the server's agent missing from the sequence\n"
		"# TYPE sara_server_heartbeats_lost_total counter\n"
		"sara_server_heartbeats_lost_total{server=\"s1\"} 1\n"
		"# HELP sara_server_load_reports_total load reports taken from the server's agent\n"
		"# TYPE sara_server_load_reports_total counter\n"
		"sara_server_load_reports_total{server=\"s1\"} 9\n");
	free(s);
}

static void test_admission_state_and_cluster_exact(void **state)
{
	struct status_snapshot *s = snapshot_new();
	static char block[8192];
	const char *page;
	(void)state;
	page = render(s);
	assert_non_null(strstr(page, "# HELP sara_info the cluster this sarad serves (value 1)\n"
				     "# TYPE sara_info gauge\n"
				     "sara_info{cluster=\"voice \\\"1\\\"\\\\\"} 1\n"
				     "# HELP sara_uptime_seconds time since sarad started\n"
				     "# TYPE sara_uptime_seconds gauge\n"
				     "sara_uptime_seconds 90.5\n"));
	lines_with(page, "sara_admission_zone", block, sizeof(block));
	assert_string_equal(block, "# HELP sara_admission_zone 1 for the zone the load x stands in against the current "
				   "thresholds, 0 for the others\n"
				   "# TYPE sara_admission_zone gauge\n"
				   "sara_admission_zone{zone=\"off\"} 0\n"
				   "sara_admission_zone{zone=\"normal\"} 0\n"
				   "sara_admission_zone{zone=\"shed\"} 1\n"
				   "sara_admission_zone{zone=\"closed\"} 0\n"
				   "sara_admission_zone{zone=\"degrade\"} 0\n"
				   "sara_admission_zone{zone=\"full\"} 0\n");
	lines_with(page, "sara_admission_threshold{", block, sizeof(block));
	assert_string_equal(block, "sara_admission_threshold{set=\"current\",threshold=\"t1\"} 0.6\n"
				   "sara_admission_threshold{set=\"current\",threshold=\"t2\"} 0.8\n"
				   "sara_admission_threshold{set=\"current\",threshold=\"t3\"} 0.9\n"
				   "sara_admission_threshold{set=\"current\",threshold=\"c\"} 0.98\n"
				   "sara_admission_threshold{set=\"configured\",threshold=\"t1\"} 0.6\n"
				   "sara_admission_threshold{set=\"configured\",threshold=\"t2\"} 0.85\n"
				   "sara_admission_threshold{set=\"configured\",threshold=\"t3\"} 0.9\n"
				   "sara_admission_threshold{set=\"configured\",threshold=\"c\"} 0.98\n");
	lines_with(page, "sara_admission_load ", block, sizeof(block));
	assert_string_equal(block, "# HELP sara_admission_load x, the larger of the cluster's and the dispatcher's "
				   "load (0..1)\n"
				   "# TYPE sara_admission_load gauge\n"
				   "sara_admission_load 0.7\n");
	lines_with(page, "sara_admission_refusal_probability{", block, sizeof(block));
	assert_string_equal(block, "sara_admission_refusal_probability{kind=\"new\"} 0.5\n"
				   "sara_admission_refusal_probability{kind=\"established\"} 0\n");
	assert_non_null(strstr(page, "sara_admission_decisions_total{decision=\"refused\",kind=\"new\",zone=\"shed\"} "));
	free(s);
}

static unsigned occurrences(const char *page, const char *value)
{
	char needle[64];
	unsigned n = 0;
	snprintf(needle, sizeof(needle), " %s\n", value);
	for (const char *p = strstr(page, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

struct every_check {
	const char *page;
	uint64_t base;
	unsigned checked;
};

static void check_once(void *ctx, const struct counter_def *def, uint64_t value)
{
	struct every_check *c = ctx;
	uint64_t v = c->base + counter_id_of(def);
	size_t len = strlen(def->name);
	char text[40];
	(void)value;
	if (len > 3 && strcmp(def->name + len - 3, "_ms") == 0)
		snprintf(text, sizeof(text), "%llu.%03u", (unsigned long long)(v / 1000), (unsigned)(v % 1000));
	else
		snprintf(text, sizeof(text), "%llu", (unsigned long long)v);
	if (occurrences(c->page, text) != 1)
		fail_msg("counter %s (value %s) appears %u times", def->name, text, occurrences(c->page, text));
	c->checked++;
}

/* Every counter of every scope sarad reports is one sample of the page. */
static void test_every_counter_once(void **state)
{
	static const struct counter_set empty;
	struct status_snapshot *s = snapshot_new();
	struct every_check check = { render(s), 0, 0 };
	unsigned expected = 0;
	(void)state;
	for (unsigned i = 0; i < sizeof(reported) / sizeof(reported[0]); i++) {
		check.base = reported[i].base;
		counters_visit(&empty, reported[i].scope, COUNTERS_ALL, check_once, &check);
	}
	for (unsigned i = 0; i < sizeof(reported) / sizeof(reported[0]); i++)
		for (unsigned id = COUNTER_NONE + 1; id < COUNTER_COUNT; id++)
			expected += (counter_def((enum counter_id)id)->scopes >> reported[i].scope) & 1u;
	assert_int_equal(check.checked, expected);
	assert_true(expected > 200);
	free(s);
}

/* The queues' counters by queue; the kernel's only where it has the queue. */
static void test_queues(void **state)
{
	struct status_snapshot *s = snapshot_new();
	static char block[8192];
	const char *page;
	(void)state;
	page = render(s);
	lines_with(page, "sara_queue_received_total", block, sizeof(block));
	assert_string_equal(block, "# HELP sara_queue_received_total packets read from the queue\n"
				   "# TYPE sara_queue_received_total counter\n"
				   "sara_queue_received_total{queue=\"0\"} 11\n"
				   "sara_queue_received_total{queue=\"1\"} 21\n");
	lines_with(page, "sara_queue_kernel_", block, sizeof(block));
	assert_string_equal(block, "# HELP sara_queue_kernel_waiting packets waiting for a verdict\n"
				   "# TYPE sara_queue_kernel_waiting gauge\n"
				   "sara_queue_kernel_waiting{queue=\"1\"} 30\n"
				   "# HELP sara_queue_kernel_dropped_total packets the kernel dropped: queue full\n"
				   "# TYPE sara_queue_kernel_dropped_total counter\n"
				   "sara_queue_kernel_dropped_total{queue=\"1\"} 31\n"
				   "# HELP sara_queue_kernel_user_dropped_total packets the kernel dropped: socket buffer full\n"
				   "# TYPE sara_queue_kernel_user_dropped_total counter\n"
				   "sara_queue_kernel_user_dropped_total{queue=\"1\"} 32\n"
				   "# HELP sara_queue_kernel_id_sequence_total the id of the queue's last packet\n"
				   "# TYPE sara_queue_kernel_id_sequence_total counter\n"
				   "sara_queue_kernel_id_sequence_total{queue=\"1\"} 33\n");
	free(s);
}

/* Each family once, HELP then TYPE, and its samples right after it. */
static void test_families_unique_and_grouped(void **state)
{
	static char names[1024][METRICS_NAME_MAX];
	struct status_snapshot *s = snapshot_new();
	char *page = strdup(render(s)), *save = NULL;
	unsigned families = 0, samples = 0;
	const char *current = "";
	(void)state;
	for (char *line = strtok_r(page, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[METRICS_NAME_MAX];
		if (strncmp(line, "# HELP ", 7) == 0) {
			sscanf(line + 7, "%127s", name);
			for (unsigned i = 0; i < families; i++)
				if (strcmp(names[i], name) == 0)
					fail_msg("family %s twice", name);
			assert_true(families < 1024);
			snprintf(names[families++], METRICS_NAME_MAX, "%s", name);
			current = names[families - 1];
			continue;
		}
		if (strncmp(line, "# TYPE ", 7) == 0) {
			sscanf(line + 7, "%127s", name);
			assert_string_equal(name, current);
			continue;
		}
		sscanf(line, "%127[^{ ]", name);
		if (strcmp(name, current) != 0)
			fail_msg("sample %s under family %s", line, current);
		samples++;
	}
	assert_true(families > 150);
	assert_true(samples > families);
	free(page);
	free(s);
}

/* Without listeners, agents or conntrack their families are absent. */
static void test_bare_snapshot(void **state)
{
	struct status_snapshot *s = snapshot_new();
	const char *page;
	(void)state;
	s->has_announcements = s->has_agents = s->has_conntrack = false;
	s->servers[0].has_health = false;
	page = render(s);
	assert_null(strstr(page, "sara_announcements_"));
	assert_null(strstr(page, "sara_agents_"));
	assert_null(strstr(page, "sara_health_"));
	assert_null(strstr(page, "sara_server_state"));
	assert_null(strstr(page, "sara_conntrack_updates"));
	assert_non_null(strstr(page, "sara_server_sessions{server=\"s1\"} 3\n"));
	assert_non_null(strstr(page, "sara_verdicts_total{action=\"accept\",reason=\"session\"} "));
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_servers_exact),
		cmocka_unit_test(test_admission_state_and_cluster_exact),
		cmocka_unit_test(test_every_counter_once),
		cmocka_unit_test(test_queues),
		cmocka_unit_test(test_families_unique_and_grouped),
		cmocka_unit_test(test_bare_snapshot),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
