/* test_server_slots.c - servers added, removed, re-weighted and reordered
 * at run time: the plan that maps a file's servers onto the running slots
 * (kept by id, new ones into free slots or at the end, removed ones retired
 * while something holds them, refusals), and the engine under it: sessions
 * of a removed server keep it and its mark until they end, new sessions
 * avoid it, an added server starts fresh, a freed slot is taken again. */
#include "call_harness.h"

#include "engine/server_slots.h"

static struct server_config make_server(const char *id, unsigned n)
{
	struct server_config s;
	char text[32];
	memset(&s, 0, sizeof(s));
	snprintf(s.id, sizeof(s.id), "%s", id);
	snprintf(text, sizeof(text), "10.0.1.%u", n);
	s.address = ch_addr(text);
	s.mark = n;
	s.table = 100 + n;
	s.weight = 1.0;
	return s;
}

static void with_servers(struct sara_config *cfg, unsigned count, const struct server_config *list)
{
	cfg->server_count = count;
	memset(cfg->servers, 0, sizeof(cfg->servers));
	if (count)
		memcpy(cfg->servers, list, count * sizeof(*list));
}

static struct slot_plan plan_ok(const struct sara_config *running, const bool in_use[], const struct sara_config *next)
{
	static struct slot_plan plan;
	char err[256];
	if (!server_slots_plan(running, in_use, next, &plan, err, sizeof(err)))
		fail_msg("plan refused: %s", err);
	return plan;
}

/* ---- the plan ---- */

static void test_plan_keeps_adds_retires_frees(void **state)
{
	static struct sara_config running, next;
	bool in_use[SARA_MAX_SERVERS] = { false };
	struct slot_plan plan;
	(void)state;
	ch_config(&running);
	with_servers(&running, 4, (struct server_config[]){ make_server("a", 1), make_server("b", 2), make_server("c", 3),
							    make_server("d", 4) });
	in_use[1] = true;   /* b has sessions, d has none */
	next = running;
	/* reordered, b and d gone, e new, c re-weighted */
	with_servers(&next, 3, (struct server_config[]){ make_server("c", 3), make_server("e", 5), make_server("a", 1) });
	next.servers[0].weight = 3.0;
	plan = plan_ok(&running, in_use, &next);
	assert_int_equal(plan.slot_of[0], 2);
	assert_int_equal(plan.slot_of[2], 0);
	assert_int_equal(plan.slot_of[1], 3);              /* d's slot was free: e takes it */
	assert_true(plan.added[3]);
	assert_int_equal(plan.added_count, 1);
	assert_true(plan.retired[1] && plan.running.servers[1].retired);
	assert_string_equal(plan.running.servers[1].id, "b");   /* still routes its sessions */
	assert_int_equal(plan.running.servers[1].mark, 2);
	assert_int_equal(plan.retired_count, 1);
	assert_int_equal(plan.freed_count, 0);             /* d's slot went straight to e */
	assert_int_equal(plan.running.server_count, 4);
	assert_true(plan.running.servers[2].weight == 3.0);
	assert_true(server_slot_active(&plan.running, 0) && server_slot_active(&plan.running, 3));
	assert_false(server_slot_active(&plan.running, 1));
	assert_int_equal(server_slots_find(&plan.running, "b"), 1);
	assert_int_equal(server_slots_find(&plan.running, "d"), -1);

	/* b drains: the next plan frees its slot; the end is trimmed */
	running = plan.running;
	in_use[1] = false;
	with_servers(&next, 2, (struct server_config[]){ make_server("a", 1), make_server("c", 3) });
	plan = plan_ok(&running, in_use, &next);
	assert_true(plan.freed[1] && plan.freed[3]);
	assert_int_equal(plan.freed_count, 2);
	assert_int_equal(plan.running.server_count, 3);    /* slot 3 trimmed, slot 1 a blank hole */
	assert_true(plan.running.servers[1].retired);
	assert_string_equal(plan.running.servers[1].id, "");
	assert_int_equal(plan.running.servers[1].mark, 0);
	assert_int_equal(server_slots_find(&plan.running, ""), -1);

	/* a newcomer fills the hole */
	running = plan.running;
	with_servers(&next, 3, (struct server_config[]){ make_server("a", 1), make_server("c", 3), make_server("f", 6) });
	plan = plan_ok(&running, in_use, &next);
	assert_int_equal(plan.slot_of[2], 1);
	assert_true(plan.added[1]);
	assert_int_equal(plan.running.server_count, 3);
}

/* A removed server listed again while it drains: its slot and sessions
 * come back with it. */
static void test_plan_returning_server(void **state)
{
	static struct sara_config running, next;
	bool in_use[SARA_MAX_SERVERS] = { true, true, true };
	struct slot_plan plan;
	(void)state;
	ch_config(&running);
	with_servers(&running, 3, (struct server_config[]){ make_server("a", 1), make_server("b", 2), make_server("c", 3) });
	next = running;
	with_servers(&next, 2, (struct server_config[]){ make_server("a", 1), make_server("c", 3) });
	plan = plan_ok(&running, in_use, &next);
	running = plan.running;
	with_servers(&next, 3, (struct server_config[]){ make_server("b", 2), make_server("a", 1), make_server("c", 3) });
	plan = plan_ok(&running, in_use, &next);
	assert_int_equal(plan.slot_of[0], 1);
	assert_true(plan.returned[1]);
	assert_false(plan.added[1]);
	assert_false(plan.running.servers[1].retired);
}

static void test_plan_refusals(void **state)
{
	static struct sara_config running, next;
	bool in_use[SARA_MAX_SERVERS] = { true, true };
	static struct slot_plan plan;
	char err[256];
	(void)state;
	ch_config(&running);
	with_servers(&running, 2, (struct server_config[]){ make_server("a", 1), make_server("b", 2) });
	snprintf(running.path, sizeof(running.path), "x.cfg");
	next = running;
	/* b removed while its sessions drain; x would take b's mark */
	with_servers(&next, 2, (struct server_config[]){ make_server("a", 1), make_server("x", 9) });
	next.servers[1].mark = 2;
	assert_false(server_slots_plan(&running, in_use, &next, &plan, err, sizeof(err)));
	assert_non_null(strstr(err, "x.cfg: servers[1] (\"x\"): its mark is still used by removed server \"b\""));
	next.servers[1].mark = 9;
	next.servers[1].table = 102;
	assert_false(server_slots_plan(&running, in_use, &next, &plan, err, sizeof(err)));
	assert_non_null(strstr(err, "its table"));
	/* a dual-stack b keeps its IPv6 address while it drains too */
	next.servers[1].table = 109;
	running.servers[1].address6 = ch_addr("fd00:1::2");
	next.servers[1].address6 = ch_addr("fd00:1::2");
	assert_false(server_slots_plan(&running, in_use, &next, &plan, err, sizeof(err)));
	assert_non_null(strstr(err, "its address is still used by removed server \"b\""));
	/* once b has drained, the same file is fine */
	in_use[1] = false;
	assert_true(server_slots_plan(&running, in_use, &next, &plan, err, sizeof(err)));
	assert_int_equal(plan.slot_of[1], 1);

	/* no room: 64 slots held by servers and drainers */
	with_servers(&running, 0, NULL);
	for (unsigned i = 0; i < SARA_MAX_SERVERS; i++) {
		char id[16];
		snprintf(id, sizeof(id), "o%u", i);
		running.servers[i] = make_server(id, i + 1);
		in_use[i] = true;
	}
	running.server_count = SARA_MAX_SERVERS;
	with_servers(&next, 1, (struct server_config[]){ make_server("new", 200) });
	assert_false(server_slots_plan(&running, in_use, &next, &plan, err, sizeof(err)));
	assert_non_null(strstr(err, "no room"));
}

/* ---- the engine ---- */

static void reload(struct call_harness *h, const struct sara_config *next, struct slot_plan *plan)
{
	char err[256];
	if (!engine_apply_config(h->engine, next, plan, err, sizeof(err)))
		fail_msg("engine_apply_config: %s", err);
}

static const char *clients[] = { "192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.5", "192.0.2.6",
				 "192.0.2.7", "192.0.2.8", "192.0.2.9" };

static void test_engine_remove_and_add(void **state)
{
	struct call_harness *h = ch_new(NULL);
	static struct sara_config next;
	static struct slot_plan plan;
	struct engine_server_info info;
	uint64_t session[3];
	int server[3], placed[SARA_MAX_SERVERS] = { 0 };
	char call[32], sdp[512];
	struct verdict v;
	(void)state;
	for (int i = 0; i < 3; i++) {
		snprintf(call, sizeof(call), "before-%d", i);
		session[i] = ch_call(h, clients[i], call, 7000, 6000 + 2 * i, &server[i]);
		assert_int_equal(server[i], i);
	}
	/* s2 goes, s4 comes, the file lists s3 first */
	next = h->cfg;
	with_servers(&next, 3, (struct server_config[]){ h->cfg.servers[2], h->cfg.servers[0], make_server("s4", 4) });
	reload(h, &next, &plan);
	assert_int_equal(plan.retired_count, 1);
	assert_true(plan.retired[1]);
	assert_int_equal(plan.added_count, 1);
	assert_true(plan.added[3]);
	assert_int_equal(engine_config(h->engine)->server_count, 4);
	assert_true(engine_config(h->engine)->servers[1].retired);
	assert_true(engine_server_info(h->engine, 1, &info));
	assert_false(info.available);
	assert_int_equal(info.sessions, 1);
	/* health or an undrain cannot make a retired server take sessions */
	engine_set_server_available(h->engine, 1, true);
	assert_true(engine_server_info(h->engine, 1, &info) && !info.available);

	/* the calls in progress stay where they are, s2's with mark 2 */
	for (int i = 0; i < 3; i++) {
		snprintf(call, sizeof(call), "before-%d", i);
		ch_client_request(h, clients[i], "INVITE", call, 2, ch_sdp(sdp, sizeof(sdp), clients[i], 7100), &v);
		ch_assert_to(h, &v, session[i], server[i]);
		assert_int_equal(v.mark, (uint32_t)(i + 1));
		ch_media(h, clients[i], 7000, 6000 + 2 * i, &v);
		ch_assert_to(h, &v, session[i], server[i]);
	}
	/* new calls go to s1, s3 and s4 only */
	for (int i = 3; i < 9; i++) {
		snprintf(call, sizeof(call), "after-%d", i);
		ch_client_request(h, clients[i], "INVITE", call, 1, ch_sdp(sdp, sizeof(sdp), clients[i], 7000), &v);
		assert_int_equal(v.reason, REASON_SESSION);
		assert_true(v.server >= 0);
		placed[v.server]++;
	}
	assert_int_equal(placed[1], 0);
	assert_int_equal(placed[0], 2);
	assert_int_equal(placed[2], 2);
	assert_int_equal(placed[3], 2);
	assert_int_equal(engine_config(h->engine)->servers[3].mark, 4);

	/* s2's call ends; the next reload frees its slot, which s5 takes fresh */
	ch_client_request(h, clients[1], "BYE", "before-1", 3, NULL, &v);
	ch_server_ok(h, clients[1], "before-1", 3, "BYE", 0);   /* the BYE answered: the call lingers, then ends */
	ch_assert_to(h, &v, session[1], 1);
	ch_advance_ms(h, 3000);
	assert_false(ch_session_exists(h, session[1]));
	with_servers(&next, 4, (struct server_config[]){ h->cfg.servers[2], h->cfg.servers[0], make_server("s4", 4),
							 make_server("s5", 5) });
	reload(h, &next, &plan);
	assert_true(plan.freed[1] == false && plan.added[1]);   /* freed and taken in one plan */
	assert_int_equal(plan.slot_of[3], 1);
	assert_string_equal(engine_config(h->engine)->servers[1].id, "s5");
	assert_int_equal(engine_config(h->engine)->servers[1].mark, 5);
	assert_true(engine_server_info(h->engine, 1, &info) && info.available && info.sessions == 0);
	ch_free(h);
}

/* A retired server whose sessionless flows remain is not freed: a flow
 * placed by hash (no session) still holds it. */
static void test_engine_flow_holds_retired_slot(void **state)
{
	struct call_harness *h = ch_new(NULL);
	static struct sara_config next;
	static struct slot_plan plan;
	struct verdict v;
	int held = -1;
	(void)state;
	/* unpredicted media from a few clients, spread by hash */
	for (int i = 0; i < 9 && held < 0; i++) {
		ch_media(h, clients[i], 9000, 9000, &v);
		assert_int_equal(v.identity, FLOW_UNPREDICTED);
		if (v.server == 2)
			held = i;
	}
	assert_true(held >= 0);
	next = h->cfg;
	with_servers(&next, 2, (struct server_config[]){ h->cfg.servers[0], h->cfg.servers[1] });
	reload(h, &next, &plan);
	assert_true(plan.retired[2]);
	assert_int_equal(engine_config(h->engine)->server_count, 3);
	ch_media(h, clients[held], 9000, 9000, &v);
	assert_int_equal(v.server, 2);
	assert_int_equal(v.mark, 3);
	/* once the flow expires, a reload frees the slot */
	ch_advance_ms(h, 3 * CH_MEDIA_S * 1000);
	reload(h, &next, &plan);
	assert_true(plan.freed[2]);
	assert_int_equal(engine_config(h->engine)->server_count, 2);
	ch_free(h);
}

/* Weights change by id whatever the order. */
static void test_engine_reweight_by_id(void **state)
{
	struct call_harness *h = ch_new(NULL);
	static struct sara_config next;
	static struct slot_plan plan;
	struct engine_server_info info;
	(void)state;
	next = h->cfg;
	with_servers(&next, 3, (struct server_config[]){ h->cfg.servers[2], h->cfg.servers[1], h->cfg.servers[0] });
	next.servers[0].weight = 7.0;   /* s3 */
	reload(h, &next, &plan);
	assert_int_equal(plan.added_count + plan.retired_count + plan.freed_count, 0);
	assert_true(engine_server_info(h->engine, 2, &info) && info.weight == 7.0);
	assert_true(engine_server_info(h->engine, 0, &info) && info.weight == 1.0);
	ch_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan_keeps_adds_retires_frees),
		cmocka_unit_test(test_plan_returning_server),
		cmocka_unit_test(test_plan_refusals),
		cmocka_unit_test(test_engine_remove_and_add),
		cmocka_unit_test(test_engine_flow_holds_retired_slot),
		cmocka_unit_test(test_engine_reweight_by_id),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
