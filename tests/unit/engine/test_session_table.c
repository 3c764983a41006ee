/* test_session_table.c - unit tests for the session pool: keyed add,
 * lookup, rekey and remove, protocol separation, serials and limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "engine/session_table.h"

static void init_table(struct session_table *table, uint32_t capacity)
{
	struct hash_key key;
	memset(&key, 0xa5, sizeof(key));
	assert_true(session_table_init(table, capacity, &key));
}

static uint32_t add(struct session_table *table, enum proto_id proto, const char *key)
{
	return session_table_add(table, proto, key, strlen(key));
}

static uint32_t lookup(const struct session_table *table, enum proto_id proto, const char *key)
{
	return session_table_lookup(table, proto, key, strlen(key));
}

static void test_add_lookup_remove(void **state)
{
	struct session_table table;
	uint32_t a, b;

	(void)state;
	init_table(&table, 8);
	assert_int_equal(lookup(&table, PROTO_SIP, "a84b4c76e66710@pc33"), SESSION_NIL);
	a = add(&table, PROTO_SIP, "a84b4c76e66710@pc33");
	b = add(&table, PROTO_SIP, "a84b4c76e66710@pc34");
	assert_int_not_equal(a, SESSION_NIL);
	assert_int_not_equal(b, SESSION_NIL);
	assert_int_not_equal(a, b);
	assert_int_equal(table.in_use, 2);

	const struct session *s = &table.sessions[a];
	assert_true(s->in_use);
	assert_int_equal(s->proto, PROTO_SIP);
	assert_int_equal(s->key_len, strlen("a84b4c76e66710@pc33"));
	assert_string_equal(s->key, "a84b4c76e66710@pc33");
	assert_int_equal(s->server, -1);
	assert_int_equal(s->flows_head, SESSION_NIL);
	assert_int_equal(s->flow_count, 0);
	assert_false(s->confirmed);
	assert_false(s->ending);

	assert_int_equal(lookup(&table, PROTO_SIP, "a84b4c76e66710@pc33"), a);
	assert_int_equal(lookup(&table, PROTO_SIP, "a84b4c76e66710@pc34"), b);
	/* Prefixes and extensions are other keys. */
	assert_int_equal(lookup(&table, PROTO_SIP, "a84b4c76e66710@pc3"), SESSION_NIL);
	assert_int_equal(lookup(&table, PROTO_SIP, "a84b4c76e66710@pc333"), SESSION_NIL);

	session_table_remove(&table, a);
	assert_int_equal(table.in_use, 1);
	assert_false(table.sessions[a].in_use);
	assert_int_equal(lookup(&table, PROTO_SIP, "a84b4c76e66710@pc33"), SESSION_NIL);
	assert_int_equal(lookup(&table, PROTO_SIP, "a84b4c76e66710@pc34"), b);
	session_table_fini(&table);
}

static void test_keys_are_counted_bytes(void **state)
{
	static const char with_nul[] = { 'a', '\0', 'b' };
	struct session_table table;
	uint32_t id;

	(void)state;
	init_table(&table, 4);
	id = session_table_add(&table, PROTO_RTSP, with_nul, sizeof(with_nul));
	assert_int_not_equal(id, SESSION_NIL);
	assert_int_equal(session_table_lookup(&table, PROTO_RTSP, with_nul, sizeof(with_nul)), id);
	assert_int_equal(session_table_lookup(&table, PROTO_RTSP, "a", 1), SESSION_NIL);
	/* The empty key is a key like any other. */
	id = session_table_add(&table, PROTO_RTSP, "", 0);
	assert_int_not_equal(id, SESSION_NIL);
	assert_int_equal(session_table_lookup(&table, PROTO_RTSP, "", 0), id);
	session_table_fini(&table);
}

static void test_rekey(void **state)
{
	struct session_table table;
	uint32_t id, other;
	uint64_t serial;

	(void)state;
	init_table(&table, 8);
	/* RTSP: keyed by its connection until the server names a Session. */
	id = add(&table, PROTO_RTSP, "conn:192.0.2.10:40312>198.18.10.1:554");
	other = add(&table, PROTO_RTSP, "conn:192.0.2.11:40312>198.18.10.1:554");
	serial = table.sessions[id].serial;
	assert_true(session_table_rekey(&table, id, "12345678", 8));
	assert_int_equal(lookup(&table, PROTO_RTSP, "conn:192.0.2.10:40312>198.18.10.1:554"),
			 SESSION_NIL);
	assert_int_equal(lookup(&table, PROTO_RTSP, "12345678"), id);
	assert_string_equal(table.sessions[id].key, "12345678");
	assert_int_equal(table.sessions[id].key_len, 8);
	assert_int_equal(table.sessions[id].serial, serial);
	assert_int_equal(table.in_use, 2);
	/* Its neighbour is untouched. */
	assert_int_equal(lookup(&table, PROTO_RTSP, "conn:192.0.2.11:40312>198.18.10.1:554"), other);

	/* Rekeyed entries unlink cleanly on removal. */
	session_table_remove(&table, id);
	assert_int_equal(lookup(&table, PROTO_RTSP, "12345678"), SESSION_NIL);
	assert_int_equal(lookup(&table, PROTO_RTSP, "conn:192.0.2.11:40312>198.18.10.1:554"), other);
	session_table_fini(&table);
}

static void test_protocols_are_separate(void **state)
{
	struct session_table table;
	uint32_t sip, rtsp;

	(void)state;
	init_table(&table, 8);
	sip = add(&table, PROTO_SIP, "12345678");
	assert_int_equal(lookup(&table, PROTO_RTSP, "12345678"), SESSION_NIL);
	rtsp = add(&table, PROTO_RTSP, "12345678");
	assert_int_not_equal(rtsp, SESSION_NIL);
	assert_int_not_equal(sip, rtsp);
	assert_int_equal(lookup(&table, PROTO_SIP, "12345678"), sip);
	assert_int_equal(lookup(&table, PROTO_RTSP, "12345678"), rtsp);
	session_table_remove(&table, sip);
	assert_int_equal(lookup(&table, PROTO_SIP, "12345678"), SESSION_NIL);
	assert_int_equal(lookup(&table, PROTO_RTSP, "12345678"), rtsp);
	session_table_fini(&table);
}

static void test_serials_never_reused(void **state)
{
	struct session_table table;
	uint64_t seen[64];
	unsigned seen_count = 0;

	(void)state;
	init_table(&table, 2);
	/* Cycle one slot through many sessions: each serial is new. */
	for (unsigned round = 0; round < 32; round++) {
		char key[32];
		snprintf(key, sizeof(key), "call-%u", round);
		uint32_t a = add(&table, PROTO_SIP, key);
		uint32_t b = add(&table, PROTO_RTSP, key);
		assert_int_not_equal(a, SESSION_NIL);
		assert_int_not_equal(b, SESSION_NIL);
		seen[seen_count++] = table.sessions[a].serial;
		seen[seen_count++] = table.sessions[b].serial;
		assert_int_not_equal(table.sessions[a].serial, 0);
		session_table_remove(&table, a);
		session_table_remove(&table, b);
	}
	for (unsigned i = 1; i < seen_count; i++)
		assert_true(seen[i] > seen[i - 1]);
	session_table_fini(&table);
}

static void test_capacity(void **state)
{
	struct session_table table;
	uint32_t ids[4];

	(void)state;
	init_table(&table, 4);
	for (unsigned i = 0; i < 4; i++) {
		char key[16];
		snprintf(key, sizeof(key), "call-%u", i);
		ids[i] = add(&table, PROTO_SIP, key);
		assert_int_not_equal(ids[i], SESSION_NIL);
	}
	assert_int_equal(add(&table, PROTO_SIP, "one-too-many"), SESSION_NIL);
	assert_int_equal(table.in_use, 4);
	assert_int_equal(lookup(&table, PROTO_SIP, "one-too-many"), SESSION_NIL);
	session_table_remove(&table, ids[2]);
	assert_int_equal(add(&table, PROTO_SIP, "one-too-many"), ids[2]);
	assert_int_equal(lookup(&table, PROTO_SIP, "call-2"), SESSION_NIL);
	assert_int_equal(lookup(&table, PROTO_SIP, "call-3"), ids[3]);
	assert_true(session_table_memory(&table) >= 4 * sizeof(struct session));
	session_table_fini(&table);
}

static void test_key_too_long(void **state)
{
	struct session_table table;
	char key[SESSION_KEY_MAX + 1];
	uint32_t id;

	(void)state;
	memset(key, 'k', sizeof(key));
	init_table(&table, 4);
	assert_int_equal(session_table_add(&table, PROTO_SIP, key, SESSION_KEY_MAX), SESSION_NIL);
	assert_int_equal(table.in_use, 0);
	assert_int_equal(session_table_lookup(&table, PROTO_SIP, key, SESSION_KEY_MAX), SESSION_NIL);

	/* The longest that fits leaves room for the NUL. */
	id = session_table_add(&table, PROTO_SIP, key, SESSION_KEY_MAX - 1);
	assert_int_not_equal(id, SESSION_NIL);
	assert_int_equal(strlen(table.sessions[id].key), SESSION_KEY_MAX - 1);
	assert_int_equal(session_table_lookup(&table, PROTO_SIP, key, SESSION_KEY_MAX - 1), id);

	/* A refused rekey leaves the old key in place. */
	assert_false(session_table_rekey(&table, id, key, SESSION_KEY_MAX));
	assert_int_equal(session_table_lookup(&table, PROTO_SIP, key, SESSION_KEY_MAX - 1), id);
	session_table_fini(&table);
}

static void test_many_sessions(void **state)
{
	enum { COUNT = 5000 };
	struct session_table table;
	static uint32_t ids[COUNT];
	char key[48];

	(void)state;
	init_table(&table, COUNT);
	for (unsigned i = 0; i < COUNT; i++) {
		snprintf(key, sizeof(key), "%u@host.example", i);
		ids[i] = add(&table, PROTO_SIP, key);
		assert_int_not_equal(ids[i], SESSION_NIL);
	}
	assert_int_equal(add(&table, PROTO_SIP, "extra"), SESSION_NIL);
	for (unsigned i = 0; i < COUNT; i += 3) {
		snprintf(key, sizeof(key), "%u@host.example", i);
		session_table_remove(&table, ids[i]);
	}
	for (unsigned i = 0; i < COUNT; i++) {
		snprintf(key, sizeof(key), "%u@host.example", i);
		assert_int_equal(lookup(&table, PROTO_SIP, key), i % 3 == 0 ? SESSION_NIL : ids[i]);
	}
	session_table_fini(&table);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_lookup_remove),
		cmocka_unit_test(test_keys_are_counted_bytes),
		cmocka_unit_test(test_rekey),
		cmocka_unit_test(test_protocols_are_separate),
		cmocka_unit_test(test_serials_never_reused),
		cmocka_unit_test(test_capacity),
		cmocka_unit_test(test_key_too_long),
		cmocka_unit_test(test_many_sessions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
