/* test_dispatcher.c - the dispatcher applying what reaches it: a gateway
 * announcement reaches the engine; an agent's report reaches server health
 * and, through it, selection; without agents reports change nothing; the
 * operator's drain and undrain; the tick feeds health's slow start to the
 * engine; conntrack events and sarad's own connmarks keep a followed live
 * set current (an entry created with a server's mark, or confirmed and then
 * marked by a verdict, is live; one destroyed, or created unmarked or marked
 * by others, is not) and leave an unfollowed one alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sarad/health_feed.h"
#include "sarad_fixture.h"

struct fixture {
	struct sara_config cfg;
	struct daemon_counters counters;
	struct log_kinds logs;
	struct dispatcher d;
};

static int start(void **state, bool agents)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];
	assert_non_null(f);
	fixture_log_start();
	fixture_config(&f->cfg);
	f->cfg.selection.slow_start_s = 10;
	daemon_counters_init(&f->counters);
	log_kinds_init(&f->logs);
	fixture_clock_ms = 1000000;
	assert_int_equal(dispatcher_init(&f->d, &f->cfg, NULL, &f->counters, &f->logs, fixture_now_ms, err,
					 sizeof(err)), 0);
	if (agents)
		assert_int_equal(dispatcher_watch_health(&f->d, fixture_clock_ms, err, sizeof(err)), 0);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return start(state, true);
}

static int setup_no_agents(void **state)
{
	return start(state, false);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	dispatcher_fini(&f->d);
	daemon_counters_destroy(&f->counters);
	log_set_sink(NULL, NULL);
	log_close();
	free(f);
	return 0;
}

static uint64_t engine_counter(struct fixture *f, enum counter_id id)
{
	return counter_get(engine_counters(f->d.engine), id);
}

static struct engine_server_info engine_view(struct fixture *f, unsigned server)
{
	struct engine_server_info info;
	assert_true(engine_server_info(f->d.engine, server, &info));
	return info;
}

/* A gateway's 200 OK to the client for call-1, with an audio stream. */
static void make_announcement(struct announcement *ann)
{
	struct netaddr a;
	memset(ann, 0, sizeof(*ann));
	ann->conn.family = NETADDR_IPV4;
	ann->conn.l4 = L4_UDP;
	ann->conn.sport = 5060;
	ann->conn.dport = 5060;
	fixture_parse("198.18.0.10", &a);
	memcpy(ann->conn.src, a.bytes, 16);
	fixture_parse("198.18.77.20", &a);
	memcpy(ann->conn.dst, a.bytes, 16);
	ann->facts.proto = PROTO_SIP;
	ann->facts.status = 200;
	ann->facts.confirms_session = true;
	ann->facts.key_len = (uint16_t)strlen("call-1@test");
	memcpy(ann->facts.key, "call-1@test", ann->facts.key_len);
	ann->facts.media_op = MEDIA_REPLACE;
	ann->facts.stream_count = 1;
	ann->facts.streams[0].enabled = true;
	ann->facts.streams[0].rtp_port = 6000;
	ann->facts.streams[0].rtcp_port = 6001;
}

static void test_announcement_reaches_engine(void **state)
{
	struct fixture *f = *state;
	struct announcement ann;
	make_announcement(&ann);
	assert_int_equal(engine_counter(f, COUNTER_ANNOUNCEMENTS), 0);
	dispatcher_announce(&f->d, &ann);
	assert_int_equal(engine_counter(f, COUNTER_ANNOUNCEMENTS), 1);
	ann.facts.proto = PROTO_NONE;   /* the engine's own check still applies */
	dispatcher_announce(&f->d, &ann);
	assert_int_equal(engine_counter(f, COUNTER_ANNOUNCEMENTS), 1);
	assert_int_equal(engine_counter(f, COUNTER_ANNOUNCEMENT_INVALID), 1);
}

static void test_agent_report_reaches_health_and_selection(void **state)
{
	struct fixture *f = *state;
	struct agent_heartbeat up = { .host_id = 2, .seq = 1, .flag = AGENT_UP };
	struct agent_heartbeat down = { .host_id = 2, .seq = 2, .flag = AGENT_APP_DOWN };
	struct agent_load load = { .host_id = 1, .fixed = { 5000, 2000, 1000, 0, 3000 } };
	struct server_health_info info;

	dispatcher_heartbeat(&f->d, 1, &up);
	assert_true(health_feed_info(f->d.health, 1, fixture_clock_ms, &info));
	assert_int_equal(info.state, SERVER_UP);
	assert_true(dispatcher_server_healthy(&f->d, 1, fixture_clock_ms));
	dispatcher_heartbeat(&f->d, 1, &down);
	assert_true(health_feed_info(f->d.health, 1, fixture_clock_ms, &info));
	assert_int_equal(info.state, SERVER_APP_DOWN);
	assert_false(dispatcher_server_healthy(&f->d, 1, fixture_clock_ms));
	assert_false(engine_view(f, 1).available);
	assert_true(engine_view(f, 0).available);

	assert_true(engine_view(f, 0).load_estimate < 0);
	dispatcher_load_report(&f->d, 0, &load);
	assert_true(engine_view(f, 0).load_estimate >= 0);
	assert_true(health_feed_info(f->d.health, 0, fixture_clock_ms, &info));
	assert_int_equal(info.loads, 1);
}

static void test_without_agents_reports_change_nothing(void **state)
{
	struct fixture *f = *state;
	struct agent_heartbeat down = { .host_id = 1, .seq = 1, .flag = AGENT_APP_DOWN };
	assert_null(f->d.health);
	dispatcher_heartbeat(&f->d, 0, &down);
	assert_true(engine_view(f, 0).available);
	assert_true(dispatcher_server_healthy(&f->d, 0, fixture_clock_ms));
}

static void test_operator_drain(void **state)
{
	struct fixture *f = *state;
	char err[64];
	assert_int_equal(dispatcher_set_drain(&f->d, 0, true, err, sizeof(err)), 0);
	assert_true(dispatcher_is_drained(&f->d, 0));
	assert_false(engine_view(f, 0).available);
	assert_true(fixture_logged("event=server_drained server=s1 by=operator available=false "
				   "msg=\"no new sessions, its sessions stay\""));
	assert_int_equal(dispatcher_set_drain(&f->d, 0, false, err, sizeof(err)), 0);
	assert_false(dispatcher_is_drained(&f->d, 0));
	assert_true(engine_view(f, 0).available);
	assert_true(fixture_logged("event=server_undrained server=s1 by=operator available=true msg=\"available again\""));
	assert_int_equal(daemon_counter_get(&f->counters, COUNTER_OPERATOR_DRAINS), 1);
	assert_int_equal(daemon_counter_get(&f->counters, COUNTER_OPERATOR_UNDRAINS), 1);
	assert_int_equal(dispatcher_set_drain(&f->d, 5, true, err, sizeof(err)), -1);
	assert_string_equal(err, "no server 5");
	assert_false(dispatcher_is_drained(&f->d, 5));
}

/* An unhealthy server stays out when the operator undrains it. */
static void test_undrain_of_unhealthy_server(void **state)
{
	struct fixture *f = *state;
	struct agent_heartbeat down = { .host_id = 1, .seq = 1, .flag = AGENT_APP_DOWN };
	char err[64];
	dispatcher_heartbeat(&f->d, 0, &down);
	assert_int_equal(dispatcher_set_drain(&f->d, 0, true, err, sizeof(err)), 0);
	assert_int_equal(dispatcher_set_drain(&f->d, 0, false, err, sizeof(err)), 0);
	assert_false(engine_view(f, 0).available);
	assert_true(fixture_logged("event=server_undrained server=s1 by=operator available=false msg=\"but unhealthy\""));
}

/* A recovered server ramps up: the tick hands health's growing factor to
 * the engine, once per agents interval. */
static void test_tick_feeds_slow_start(void **state)
{
	struct fixture *f = *state;
	struct agent_heartbeat hb = { .host_id = 2, .flag = AGENT_APP_DOWN };
	uint64_t t = fixture_clock_ms;
	double started;

	dispatcher_heartbeat(&f->d, 1, &hb);
	t += SERVER_HEALTH_HOLD_DOWN_MIN_MS * 2;
	for (unsigned i = 0; i < SERVER_HEALTH_RECOVER_BEATS + 1; i++) {
		t += FIXTURE_INTERVAL_MS;
		fixture_clock_ms = t;
		hb.seq++;
		hb.flag = AGENT_UP;
		dispatcher_heartbeat(&f->d, 1, &hb);
	}
	assert_true(engine_view(f, 1).available);
	started = engine_view(f, 1).weight_factor;
	assert_true(started < 0.5);
	/* Half the slow start later, still beating. */
	for (unsigned i = 0; i < 50; i++) {
		t += FIXTURE_INTERVAL_MS;
		fixture_clock_ms = t;
		hb.seq++;
		dispatcher_heartbeat(&f->d, 1, &hb);
		dispatcher_tick(&f->d, t);
	}
	assert_true(engine_view(f, 1).weight_factor > started + 0.3);
	assert_true(engine_view(f, 1).weight_factor < 1.0);
}

static struct flow_key media_key(uint16_t client_port)
{
	struct flow_key k;
	memset(&k, 0, sizeof(k));
	k.family = NETADDR_IPV4;
	k.l4 = L4_UDP;
	k.sport = client_port;
	k.dport = 30000;
	k.src[0] = 198, k.src[1] = 18, k.src[2] = 0, k.src[3] = 10;
	k.dst[0] = 198, k.dst[1] = 18, k.dst[2] = 77, k.dst[3] = 20;
	return k;
}

static struct live_set *empty_set(uint32_t capacity)
{
	struct hash_key key;
	memset(&key, 0x5a, sizeof(key));
	struct live_set *set = live_set_create(capacity, &key);
	assert_non_null(set);
	return set;
}

static bool live(struct fixture *f, uint16_t client_port)
{
	struct flow_key k = media_key(client_port);
	return f->d.live && live_set_contains(f->d.live, &k);
}

static void event(struct fixture *f, enum ct_event_kind kind, uint16_t client_port, uint32_t mark, bool kept)
{
	struct flow_key k = media_key(client_port);
	assert_int_equal(dispatcher_ct_event(&f->d, kind, &k, mark), kept);
}

static void test_events_keep_a_followed_set(void **state)
{
	struct fixture *f = *state;
	struct live_set *scanned = empty_set(16);
	struct flow_key k = media_key(4000);
	assert_true(live_set_add(scanned, &k));       /* the scan saw 4000 */
	dispatcher_set_live(&f->d, scanned, fixture_clock_ms, true);
	assert_true(dispatcher_has_live(&f->d));
	event(f, CT_EVENT_NEW, 4002, 2, true);        /* s2's mark */
	event(f, CT_EVENT_NEW, 4004, 77, true);       /* another program's mark */
	event(f, CT_EVENT_NEW, 4006, 0, true);        /* not marked (yet) */
	assert_true(live(f, 4000));
	assert_true(live(f, 4002));
	assert_false(live(f, 4004));
	assert_false(live(f, 4006));
	k = media_key(4006);
	assert_true(dispatcher_connmark_set(&f->d, &k));   /* a verdict marked it once confirmed */
	assert_true(live(f, 4006));
	assert_true(dispatcher_connmark_set(&f->d, &k));   /* again: already in */
	event(f, CT_EVENT_DESTROY, 4000, 1, true);    /* the kernel's timeout ended it */
	assert_false(live(f, 4000));
	event(f, CT_EVENT_DESTROY, 4002, 0, true);    /* ended after sarad cleared its mark */
	assert_false(live(f, 4002));
	event(f, CT_EVENT_DESTROY, 4002, 0, true);    /* gone twice: nothing left to take */
	assert_true(live(f, 4006));
	assert_int_equal(live_set_count(f->d.live), 1);
	dispatcher_drop_live(&f->d);                  /* events lost */
	assert_false(dispatcher_has_live(&f->d));
	event(f, CT_EVENT_NEW, 4008, 1, true);        /* no set: nothing to keep */
	k = media_key(4010);
	assert_true(dispatcher_connmark_set(&f->d, &k));
	assert_false(dispatcher_has_live(&f->d));
}

/* A set that events do not follow answers for media_s after its scan, as
 * scanned: events change nothing in it. */
static void test_events_leave_an_unfollowed_set(void **state)
{
	struct fixture *f = *state;
	struct live_set *scanned = empty_set(16);
	struct flow_key k = media_key(4000);
	assert_true(live_set_add(scanned, &k));
	dispatcher_set_live(&f->d, scanned, fixture_clock_ms, false);
	event(f, CT_EVENT_DESTROY, 4000, 1, true);
	event(f, CT_EVENT_NEW, 4002, 1, true);
	k = media_key(4004);
	assert_true(dispatcher_connmark_set(&f->d, &k));
	assert_true(live(f, 4000));
	assert_false(live(f, 4002));
	assert_false(live(f, 4004));
}

/* A followed set with no room for a new live entry could no longer say
 * "ended" for sure: it is dropped (single queries until a scan succeeds). */
static void test_overfull_followed_set_is_dropped(void **state)
{
	struct fixture *f = *state;
	struct flow_key k;
	dispatcher_set_live(&f->d, empty_set(2), fixture_clock_ms, true);
	event(f, CT_EVENT_NEW, 4000, 1, true);
	event(f, CT_EVENT_NEW, 4002, 1, true);
	event(f, CT_EVENT_NEW, 4000, 1, true);        /* already in: no room needed */
	assert_true(dispatcher_has_live(&f->d));
	event(f, CT_EVENT_NEW, 4004, 2, false);
	assert_false(dispatcher_has_live(&f->d));
	/* The same for an entry a verdict marked. */
	dispatcher_set_live(&f->d, empty_set(1), fixture_clock_ms, true);
	event(f, CT_EVENT_NEW, 4000, 1, true);
	k = media_key(4002);
	assert_false(dispatcher_connmark_set(&f->d, &k));
	assert_false(dispatcher_has_live(&f->d));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_announcement_reaches_engine, setup, teardown),
		cmocka_unit_test_setup_teardown(test_agent_report_reaches_health_and_selection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_without_agents_reports_change_nothing, setup_no_agents, teardown),
		cmocka_unit_test_setup_teardown(test_operator_drain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_undrain_of_unhealthy_server, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tick_feeds_slow_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events_keep_a_followed_set, setup_no_agents, teardown),
		cmocka_unit_test_setup_teardown(test_events_leave_an_unfollowed_set, setup_no_agents, teardown),
		cmocka_unit_test_setup_teardown(test_overfull_followed_set_is_dropped, setup_no_agents, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
