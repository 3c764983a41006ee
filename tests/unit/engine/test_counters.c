/* test_counters.c - the counter table (names, help, kinds, scopes), add and
 * get by id, the visitor's order and filter, and the tables that map reason
 * enums (verdicts, wire verdicts) to counter ids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "engine/admission.h"
#include "engine/counters.h"
#include "engine/engine.h"
#include "engine/wire.h"

static enum counter_id id_of(const struct counter_def *def)
{
	for (unsigned id = COUNTER_NONE + 1; id < COUNTER_COUNT; id++)
		if (counter_def((enum counter_id)id) == def)
			return (enum counter_id)id;
	fail_msg("a visited row is not in the table");
	return COUNTER_NONE;
}

static void test_every_row_is_complete(void **state)
{
	(void)state;
	for (unsigned id = COUNTER_NONE + 1; id < COUNTER_COUNT; id++) {
		const struct counter_def *def = counter_def((enum counter_id)id);
		assert_non_null(def);
		assert_non_null(def->name);
		assert_true(strlen(def->name) > 0);
		/* A name is a JSON key and a metric name: lower case, digits, '_'. */
		assert_int_equal(strspn(def->name, "abcdefghijklmnopqrstuvwxyz0123456789_"), strlen(def->name));
		assert_non_null(def->help);
		assert_true(strlen(def->help) > 10);
		assert_null(strchr(def->help, '\n'));
		assert_true(def->kind == COUNTER_KIND_EVENTS || def->kind == COUNTER_KIND_TOTAL ||
			    def->kind == COUNTER_KIND_GAUGE);
		assert_int_not_equal(def->scopes, 0);
		assert_int_equal(def->scopes & ~((1u << COUNTER_SCOPE_COUNT) - 1), 0);
		assert_string_equal(counter_name((enum counter_id)id), def->name);
	}
	assert_null(counter_def(COUNTER_NONE));
	assert_null(counter_def(COUNTER_COUNT));
	assert_string_equal(counter_name(COUNTER_NONE), "none");
	assert_string_equal(counter_name((enum counter_id)(COUNTER_COUNT + 5)), "none");
}

/* Names must be unique where they are listed together: in one scope, and in
 * the scopes that share a status object or a log line. */
static void assert_unique_across(uint32_t scopes)
{
	for (unsigned a = COUNTER_NONE + 1; a < COUNTER_COUNT; a++) {
		const struct counter_def *da = counter_def((enum counter_id)a);
		if (!(da->scopes & scopes))
			continue;
		for (unsigned b = a + 1; b < COUNTER_COUNT; b++) {
			const struct counter_def *db = counter_def((enum counter_id)b);
			if ((db->scopes & scopes) && strcmp(da->name, db->name) == 0)
				fail_msg("\"%s\" twice (ids %u and %u)", da->name, a, b);
		}
	}
}

static void test_names_unique_where_listed_together(void **state)
{
	(void)state;
	for (unsigned scope = 0; scope < COUNTER_SCOPE_COUNT; scope++)
		assert_unique_across(1u << scope);
	assert_unique_across(COUNTER_IN_ENGINE_STATS | COUNTER_IN_ENGINE);
	assert_unique_across(COUNTER_IN_QUEUE | COUNTER_IN_KERNEL_QUEUE);
	assert_unique_across(COUNTER_IN_ANNOUNCE | COUNTER_IN_ANNOUNCE_REJECT);
	assert_unique_across(COUNTER_IN_AGENTS | COUNTER_IN_AGENT_REJECT);
	assert_unique_across(COUNTER_IN_DAEMON | COUNTER_IN_REPLY);
	assert_unique_across(COUNTER_IN_VERDICTS);
}

/* The names are the public interface: a few, pinned. */
static void test_names_are_stable(void **state)
{
	(void)state;
	assert_string_equal(counter_name(COUNTER_TCP_STREAM_OVERFLOW), "tcp_stream_overflow");
	assert_string_equal(counter_name(COUNTER_PACKET_TRUNCATED), "truncated");
	assert_string_equal(counter_name(COUNTER_SIP_PARSE_ERROR), "sip_parse_error");
	assert_string_equal(counter_name(COUNTER_WIRE_FORGED), "wire_forged");
	assert_string_equal(counter_name(COUNTER_ANNOUNCE_NOT_SIGNALLING_PORT), "announce_not_signalling_port");
	assert_string_equal(counter_name(COUNTER_AGENT_LOAD_OUT_OF_RANGE), "agent_load_out_of_range");
	assert_string_equal(counter_name(COUNTER_ADMISSION_REFUSED_NEW_SHED), "admission_refused_new_shed");
	assert_string_equal(counter_name(COUNTER_ADMISSION_ADMITTED_ESTABLISHED_FULL),
			    "admission_admitted_established_full");
	assert_string_equal(counter_name(COUNTER_CONNTRACK_SCAN_MS), "conntrack_scan_ms");
	assert_string_equal(counter_name(COUNTER_REPLY_SENT_503), "reply_sent_503");
	assert_string_equal(counter_name(COUNTER_QUEUE_RECEIVED), "received");
	assert_string_equal(counter_name(COUNTER_KERNEL_USER_DROPPED), "kernel_user_dropped");
	assert_string_equal(counter_name(COUNTER_ENGINE_MEMORY_BYTES), "memory_bytes");
	assert_string_equal(counter_name(COUNTER_DROP_ADMISSION), "admission");
	/* One counter kept by two owners. */
	assert_int_equal(counter_def(COUNTER_FLOW_TABLE_FULL)->scopes, COUNTER_IN_ENGINE | COUNTER_IN_GATEWAY);
	assert_int_equal(counter_def(COUNTER_WIRE_REPLAYED)->scopes, COUNTER_IN_REJECTS);
	/* The shared TCP signalling loop counts for the engine and the gateway:
	 * both report what it counts. */
	assert_int_equal(counter_def(COUNTER_TCP_STREAMS_FULL)->scopes, COUNTER_IN_ENGINE | COUNTER_IN_GATEWAY);
	assert_int_equal(counter_def(COUNTER_TCP_STREAM_OVERFLOW)->scopes, COUNTER_IN_ENGINE | COUNTER_IN_GATEWAY);
	assert_int_equal(counter_def(COUNTER_TCP_STREAM_OUT_OF_ORDER_LIMIT)->scopes,
			 COUNTER_IN_ENGINE | COUNTER_IN_GATEWAY);
	assert_int_equal(counter_def(COUNTER_TCP_STREAM_NO_MEMORY)->scopes, COUNTER_IN_ENGINE | COUNTER_IN_GATEWAY);
	assert_int_equal(counter_def(COUNTER_TCP_STREAM_UNFRAMEABLE)->scopes,
			 COUNTER_IN_ENGINE | COUNTER_IN_GATEWAY);
	assert_int_equal(counter_def(COUNTER_ENGINE_FLOWS_IN_USE)->kind, COUNTER_KIND_GAUGE);
}

static void test_add_and_get_by_id(void **state)
{
	struct counter_set set = { 0 };
	(void)state;
	counter_add(&set, COUNTER_TCP_STREAM_OVERFLOW, 1);
	counter_add(&set, COUNTER_TCP_STREAM_OVERFLOW, 2);
	counter_add(&set, COUNTER_CONNTRACK_SCAN_MS, 1500);
	assert_int_equal(counter_get(&set, COUNTER_TCP_STREAM_OVERFLOW), 3);
	assert_int_equal(counter_get(&set, COUNTER_CONNTRACK_SCAN_MS), 1500);
	assert_int_equal(counter_get(&set, COUNTER_TCP_STREAMS_FULL), 0);
	/* No counter, and ids out of range, count nothing. */
	counter_add(&set, COUNTER_NONE, 7);
	counter_add(&set, COUNTER_COUNT, 7);
	counter_add(&set, (enum counter_id)-1, 7);
	assert_int_equal(counter_get(&set, COUNTER_NONE), 0);
	assert_int_equal(counter_get(&set, COUNTER_COUNT), 0);
	assert_int_equal(set.values[COUNTER_NONE], 0);
}

struct visit_log {
	unsigned calls;
	enum counter_id last;
	unsigned seen[COUNTER_COUNT];
	uint64_t values[COUNTER_COUNT];
};

static void record(void *ctx, const struct counter_def *def, uint64_t value)
{
	struct visit_log *log = ctx;
	enum counter_id id = id_of(def);
	assert_true(id > log->last);     /* table order */
	log->last = id;
	log->calls++;
	log->seen[id]++;
	log->values[id] = value;
}

static void test_visit_each_once_in_table_order(void **state)
{
	static struct visit_log log;
	struct counter_set set;
	(void)state;
	for (unsigned id = 0; id < COUNTER_COUNT; id++)
		set.values[id] = id * 10u;
	for (unsigned scope = 0; scope < COUNTER_SCOPE_COUNT; scope++) {
		unsigned members = 0;
		memset(&log, 0, sizeof(log));
		counters_visit(&set, (enum counter_scope)scope, COUNTERS_ALL, record, &log);
		for (unsigned id = COUNTER_NONE + 1; id < COUNTER_COUNT; id++) {
			bool member = counter_def((enum counter_id)id)->scopes & (1u << scope);
			members += member;
			assert_int_equal(log.seen[id], member ? 1 : 0);
			if (member)
				assert_int_equal(log.values[id], id * 10u);
		}
		assert_int_equal(log.calls, members);
		assert_true(members > 0);
	}
	/* A scope out of range visits nothing. */
	memset(&log, 0, sizeof(log));
	counters_visit(&set, COUNTER_SCOPE_COUNT, COUNTERS_ALL, record, &log);
	assert_int_equal(log.calls, 0);
}

/* Reported: events once non-zero; totals and gauges always. */
static void test_visit_reported_skips_zero_events(void **state)
{
	static struct visit_log log;
	struct counter_set set = { 0 };
	(void)state;
	counter_add(&set, COUNTER_SIP_TRUNCATED, 2);
	counter_add(&set, COUNTER_ENGINE_PACKETS, 0);
	counters_visit(&set, COUNTER_SCOPE_ENGINE, COUNTERS_REPORTED, record, &log);
	assert_int_equal(log.calls, 1);
	assert_int_equal(log.values[COUNTER_SIP_TRUNCATED], 2);

	memset(&log, 0, sizeof(log));
	counters_visit(&set, COUNTER_SCOPE_ENGINE_STATS, COUNTERS_REPORTED, record, &log);
	assert_int_equal(log.seen[COUNTER_ENGINE_PACKETS], 1);
	assert_int_equal(log.seen[COUNTER_ENGINE_MEMORY_BYTES], 1);
	assert_int_equal(log.values[COUNTER_ENGINE_PACKETS], 0);

	memset(&log, 0, sizeof(log));
	counters_visit(&set, COUNTER_SCOPE_REPLY, COUNTERS_REPORTED, record, &log);
	assert_int_equal(log.calls, 6);
}

static void test_verdict_counters(void **state)
{
	(void)state;
	for (unsigned a = VERDICT_ACCEPT; a <= VERDICT_DROP; a++) {
		uint32_t scope = a == VERDICT_ACCEPT ? COUNTER_IN_VERDICT_ACCEPT : COUNTER_IN_VERDICT_DROP;
		for (unsigned r = 0; r < VERDICT_REASON_COUNT; r++) {
			enum counter_id id = verdict_counter((enum verdict_action)a, (enum verdict_reason)r);
			assert_int_not_equal(id, COUNTER_NONE);
			assert_int_equal(counter_def(id)->scopes, scope);
			for (unsigned q = 0; q < r; q++)
				assert_int_not_equal(id, verdict_counter((enum verdict_action)a,
									 (enum verdict_reason)q));
		}
	}
	assert_string_equal(counter_name(verdict_counter(VERDICT_ACCEPT, REASON_NOT_VIP)), "not_vip");
	assert_string_equal(counter_name(verdict_counter(VERDICT_DROP, REASON_ADMISSION)), "admission");
	assert_int_equal(verdict_counter((enum verdict_action)2, REASON_SESSION), COUNTER_NONE);
}

static void test_wire_verdict_counters_are_rejects(void **state)
{
	(void)state;
	for (unsigned v = WIRE_OK + 1; v < WIRE_VERDICT_COUNT; v++)
		assert_int_equal(counter_def(wire_verdict_counter((enum wire_verdict)v))->scopes, COUNTER_IN_REJECTS);
}

/* Every admission counter is written, each from its own source. */
static void test_admission_counters_fill_the_scope(void **state)
{
	static struct visit_log log;
	struct admission adm;
	struct counter_set set = { 0 };
	uint64_t n = 1;
	(void)state;
	memset(&adm, 0, sizeof(adm));
	for (unsigned v = 0; v < ADMISSION_VERDICT_COUNT; v++)
		for (unsigned k = 0; k < ADMIT_KIND_COUNT; k++)
			for (unsigned z = 0; z < ADMISSION_ZONE_COUNT; z++)
				adm.decisions[v][k][z] = n++;
	for (unsigned e = 0; e < ADMISSION_EV_COUNT; e++)
		adm.events[e] = n++;
	admission_get_counters(&adm, &set);
	counters_visit(&set, COUNTER_SCOPE_ADMISSION, COUNTERS_ALL, record, &log);
	assert_int_equal(log.calls, n - 1);
	for (unsigned id = 0; id < COUNTER_COUNT; id++)
		for (unsigned other = 0; other < id; other++)
			if (log.seen[id] && log.seen[other])
				assert_int_not_equal(log.values[id], log.values[other]);
	assert_int_equal(counter_get(&set, COUNTER_ADMISSION_ADMITTED_NEW_OFF), 1);
	assert_int_equal(counter_get(&set, COUNTER_ADMISSION_REFUSED_NEW_SHED),
			 adm.decisions[ADMISSION_REFUSED][ADMIT_NEW_SESSION][ADMISSION_ZONE_SHED]);
	assert_int_equal(counter_get(&set, COUNTER_ADMISSION_THRESHOLDS_RESET),
			 adm.events[ADMISSION_EV_THRESHOLDS_RESET]);
}

/* counter_id_of gives back the id of every row; anything else is NONE. */
static void test_id_of_a_row(void **state)
{
	static const struct counter_def stranger = { "stranger", "not in the table", COUNTER_KIND_EVENTS, 0 };
	(void)state;
	for (unsigned id = COUNTER_NONE + 1; id < COUNTER_COUNT; id++)
		assert_int_equal(counter_id_of(counter_def((enum counter_id)id)), id);
	assert_int_equal(counter_id_of(NULL), COUNTER_NONE);
	assert_int_equal(counter_id_of(&stranger), COUNTER_NONE);
}

/* admission_decision_counter names the counter admission_get_counters
 * writes each decision to. */
static void test_admission_decision_counter(void **state)
{
	struct admission adm;
	struct counter_set set = { 0 };
	uint64_t n = 1;
	(void)state;
	memset(&adm, 0, sizeof(adm));
	for (unsigned v = 0; v < ADMISSION_VERDICT_COUNT; v++)
		for (unsigned k = 0; k < ADMIT_KIND_COUNT; k++)
			for (unsigned z = 0; z < ADMISSION_ZONE_COUNT; z++)
				adm.decisions[v][k][z] = n++;
	admission_get_counters(&adm, &set);
	for (unsigned v = 0; v < ADMISSION_VERDICT_COUNT; v++)
		for (unsigned k = 0; k < ADMIT_KIND_COUNT; k++)
			for (unsigned z = 0; z < ADMISSION_ZONE_COUNT; z++) {
				enum counter_id id = admission_decision_counter(
					(enum admission_verdict)v, (enum admission_kind)k, (enum admission_zone)z);
				assert_int_equal(counter_get(&set, id), adm.decisions[v][k][z]);
			}
	assert_string_equal(counter_name(admission_decision_counter(ADMISSION_REFUSED, ADMIT_ESTABLISHED,
								    ADMISSION_ZONE_DEGRADE)),
			    "admission_refused_established_degrade");
	assert_int_equal(admission_decision_counter(ADMISSION_VERDICT_COUNT, ADMIT_NEW_SESSION, ADMISSION_ZONE_OFF),
			 COUNTER_NONE);
	assert_int_equal(admission_decision_counter(ADMISSION_ADMITTED, ADMIT_NEW_SESSION, ADMISSION_ZONE_COUNT),
			 COUNTER_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_row_is_complete),
		cmocka_unit_test(test_names_unique_where_listed_together),
		cmocka_unit_test(test_names_are_stable),
		cmocka_unit_test(test_add_and_get_by_id),
		cmocka_unit_test(test_visit_each_once_in_table_order),
		cmocka_unit_test(test_visit_reported_skips_zero_events),
		cmocka_unit_test(test_verdict_counters),
		cmocka_unit_test(test_wire_verdict_counters_are_rejects),
		cmocka_unit_test(test_admission_counters_fill_the_scope),
		cmocka_unit_test(test_id_of_a_row),
		cmocka_unit_test(test_admission_decision_counter),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
