/* test_reload.c - sara-agent's SIGHUP: a new interval, destination or key
 * is taken (and says whether the channel must be opened again); a file
 * that no longer lists the agent's server, lacks agents.listen or does not
 * load is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "io/config_file.h"
#include "io/key_file.h"
#include "sara-agent/reload.h"

struct fixture {
	char dir[64], path[128], key[128], key2[128];
	struct sara_config running;
	struct wire_key running_key;
};

static void write_config(struct fixture *f, const char *servers, const char *listen, unsigned interval_ms,
			 const char *key)
{
	FILE *out = fopen(f->path, "w");
	assert_non_null(out);
	fprintf(out,
		"name = \"agent-reload\";\nvips = [ \"198.18.77.20\" ];\n"
		"servers = ( %s );\n"
		"agents = { %s%s%s interval_ms = %u; };\nkey_file = \"%s\";\n",
		servers, listen ? "listen = \"" : "", listen ? listen : "", listen ? "\";" : "", interval_ms, key);
	fclose(out);
}

#define TWO "{ id = \"s1\"; address = \"198.18.2.11\"; mark = 1; table = 101; }, " \
	    "{ id = \"s2\"; address = \"198.18.2.12\"; mark = 2; table = 102; }"

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[512];
	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/sara-agent-reload-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/cluster.cfg", f->dir);
	snprintf(f->key, sizeof(f->key), "%s/a.key", f->dir);
	snprintf(f->key2, sizeof(f->key2), "%s/b.key", f->dir);
	assert_true(key_file_generate(f->key, err, sizeof(err)));
	assert_true(key_file_generate(f->key2, err, sizeof(err)));
	write_config(f, TWO, "198.18.2.1:7400", 1000, f->key);
	assert_true(sara_config_load(f->path, &f->running, err, sizeof(err)));
	assert_true(key_file_load(f->key, &f->running_key, err, sizeof(err)));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	unlink(f->path);
	unlink(f->key);
	unlink(f->key2);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void test_changes_taken(void **state)
{
	struct fixture *f = *state;
	static struct agent_reload r;
	char err[512];

	/* the same file: nothing to do */
	assert_true(agent_reload_read(f->path, "s2", &f->running, &f->running_key, &r, err, sizeof(err)));
	assert_false(r.channel_changed);
	assert_false(r.interval_changed);
	assert_int_equal(r.server, 1);

	/* s1 removed: s2 moves up the list, the agent follows it by id */
	write_config(f, "{ id = \"s2\"; address = \"198.18.2.12\"; mark = 2; table = 102; }", "198.18.2.1:7400",
		     500, f->key);
	assert_true(agent_reload_read(f->path, "s2", &f->running, &f->running_key, &r, err, sizeof(err)));
	assert_int_equal(r.server, 0);
	assert_true(r.interval_changed);
	assert_false(r.channel_changed);
	assert_int_equal(r.cfg.agents.interval_ms, 500);

	write_config(f, TWO, "198.18.2.2:7400", 1000, f->key);
	assert_true(agent_reload_read(f->path, "s2", &f->running, &f->running_key, &r, err, sizeof(err)));
	assert_true(r.channel_changed);

	write_config(f, TWO, "198.18.2.1:7400", 1000, f->key2);
	assert_true(agent_reload_read(f->path, "s2", &f->running, &f->running_key, &r, err, sizeof(err)));
	assert_true(r.channel_changed);
	assert_memory_not_equal(&r.key, &f->running_key, sizeof(r.key));
}

static void test_refused(void **state)
{
	struct fixture *f = *state;
	static struct agent_reload r;
	char err[512];
	FILE *out;

	write_config(f, "{ id = \"s1\"; address = \"198.18.2.11\"; mark = 1; table = 101; }", "198.18.2.1:7400",
		     1000, f->key);
	assert_false(agent_reload_read(f->path, "s2", &f->running, &f->running_key, &r, err, sizeof(err)));
	assert_non_null(strstr(err, "server s2 is no longer listed"));

	write_config(f, TWO, NULL, 1000, f->key);
	assert_false(agent_reload_read(f->path, "s2", &f->running, &f->running_key, &r, err, sizeof(err)));
	assert_non_null(strstr(err, "agents.listen is not set"));

	out = fopen(f->path, "w");
	assert_non_null(out);
	fputs("name = \"x\"\nvips = [ ;\n", out);
	fclose(out);
	assert_false(agent_reload_read(f->path, "s2", &f->running, &f->running_key, &r, err, sizeof(err)));
	assert_non_null(strstr(err, f->path));

	write_config(f, TWO, "198.18.2.1:7400", 1000, "/nonexistent/key");
	assert_false(agent_reload_read(f->path, "s2", &f->running, &f->running_key, &r, err, sizeof(err)));
	assert_non_null(strstr(err, "key_file"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_changes_taken, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
