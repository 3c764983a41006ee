/* test_journal.c - sarad's session journal on real files: a restart (the
 * journal left as a SIGKILL leaves it) restores every session; a torn
 * tail, a corrupt record, a foreign file or another cluster's are reported
 * and never trusted (a foreign file is moved aside); a compaction cut
 * short at any point loses nothing; a server the configuration no longer
 * lists comes back retired so that its sessions drain; a journal that
 * cannot be written, or that another sarad holds, leaves sarad without one. */
#include "engine/call_harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sarad/journal.h"

#define C1 "192.0.2.11"
#define C2 "192.0.2.12"
#define C3 "192.0.2.13"

static uint64_t now_ms(void)
{
	return 1000;
}

struct fixture {
	char dir[64], path[128];
	struct call_harness *h;
	struct session_journal *j;
	struct journal_restore_report report;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/sara-journal-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/voice.journal", f->dir);
	f->h = ch_new(NULL);
	snprintf(f->h->cfg.state.journal, sizeof(f->h->cfg.state.journal), "%s", f->path);
	*state = f;
	return 0;
}

/* What a SIGKILL leaves: the file as written, nothing flushed or closed. */
static void kill_journal(struct fixture *f)
{
	if (!f->j)
		return;
	journal_file_close(&f->j->file);
	journal_file_unlock(&f->j->file);   /* what the process's end does */
	free(f->j->batch);
	free(f->j);
	f->j = NULL;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	DIR *dir;
	struct dirent *e;
	kill_journal(f);
	ch_free(f->h);
	dir = opendir(f->dir);
	while (dir && (e = readdir(dir))) {
		char path[400];
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", f->dir, e->d_name);
		unlink(path);
	}
	if (dir)
		closedir(dir);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* sarad starting: a new engine with cfg (NULL: the same), the journal opened on it. */
static void start(struct fixture *f, const struct sara_config *cfg)
{
	char err[512];
	kill_journal(f);
	engine_destroy(f->h->engine);
	f->h->engine = NULL;
	if (cfg)
		f->h->cfg = *cfg;
	f->h->engine = ch_engine_new(f->h, &f->h->cfg);
	f->j = session_journal_open(&f->h->cfg, f->h->engine, NULL, now_ms, 1700000000000ull, &f->report, err,
				    sizeof(err));
	if (!f->j)
		fail_msg("session_journal_open: %s", err);
}

/* What the dispatcher does after each engine call. */
static void written(struct fixture *f)
{
	session_journal_write(f->j);
}

static uint64_t call(struct fixture *f, const char *client, const char *id, uint16_t server_rtp, int *server)
{
	uint64_t session = ch_call(f->h, client, id, 7000, server_rtp, server);
	written(f);
	return session;
}

static void bye_reaches(struct fixture *f, const char *client, const char *id, uint64_t session, int server)
{
	struct verdict v;
	ch_client_request(f->h, client, "BYE", id, 9, NULL, &v);
	ch_server_ok(f->h, client, id, 9, "BYE", 0);   /* the BYE answered: the call lingers, then ends */
	written(f);
	ch_assert_to(f->h, &v, session, server);
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static off_t size_of(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? st.st_size : -1;
}

static void test_restart_restores(void **state)
{
	struct fixture *f = *state;
	const char *clients[3] = { C1, C2, C3 }, *ids[3] = { "a@x", "b@x", "c@x" };
	uint64_t session[3];
	int server[3];
	start(f, NULL);
	assert_true(f->report.read);
	assert_int_equal(f->report.restored, 0);
	assert_true(exists(f->path));
	for (int i = 0; i < 3; i++)
		session[i] = call(f, clients[i], ids[i], 6000 + 2 * i, &server[i]);
	start(f, NULL);
	assert_int_equal(f->report.restored, 3);
	assert_int_equal(f->report.bytes_rejected, 0);
	for (int i = 0; i < 3; i++)
		bye_reaches(f, clients[i], ids[i], session[i], server[i]);
	/* ended sessions stay ended through another restart */
	ch_advance_ms(f->h, 3000);
	written(f);
	start(f, NULL);
	assert_int_equal(f->report.restored, 0);
	assert_true(f->report.snapshot_bytes < 200);
}

static void test_torn_tail(void **state)
{
	struct fixture *f = *state;
	int server;
	uint64_t a;
	start(f, NULL);
	a = call(f, C1, "a@x", 6000, &server);
	call(f, C2, "b@x", 6002, &server);
	assert_int_equal(truncate(f->path, size_of(f->path) - 3), 0);
	start(f, NULL);
	assert_int_equal(f->report.current.torn_bytes, f->report.bytes_rejected);
	assert_true(f->report.current.torn_bytes > 0);
	assert_int_equal(f->report.current.corrupt_bytes, 0);
	assert_true(f->report.restored >= 1);
	bye_reaches(f, C1, "a@x", a, 0);
}

static void test_corrupt_record(void **state)
{
	struct fixture *f = *state;
	int server, fd;
	off_t at;
	uint8_t byte;
	start(f, NULL);
	call(f, C1, "a@x", 6000, &server);
	at = size_of(f->path);
	call(f, C2, "b@x", 6002, &server);
	call(f, C3, "c@x", 6004, &server);
	fd = open(f->path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &byte, 1, at + 12), 1);
	byte ^= 0x10;
	assert_int_equal(pwrite(fd, &byte, 1, at + 12), 1);
	close(fd);
	start(f, NULL);
	assert_int_equal(f->report.current.corrupt_offset, (size_t)at);
	assert_true(f->report.current.corrupt_bytes > 0);
	assert_int_equal(f->report.restored, 1);
	/* the new file is whole again */
	start(f, NULL);
	assert_int_equal(f->report.bytes_rejected, 0);
	assert_int_equal(f->report.restored, 1);
}

static void test_foreign_files_set_aside(void **state)
{
	struct fixture *f = *state;
	FILE *out = fopen(f->path, "w");
	char first_aside[SARA_PATH_MAX + 48];
	int server;
	assert_non_null(out);
	fputs("# not a journal\n", out);
	fclose(out);
	start(f, NULL);
	assert_int_equal(f->report.current.status, JOURNAL_IMAGE_NOT_JOURNAL);
	assert_int_equal(f->report.bytes_rejected, 16);
	assert_true(f->report.set_aside[1][0]);
	assert_true(exists(f->report.set_aside[1]));
	assert_int_equal(size_of(f->report.set_aside[1]), 16);
	snprintf(first_aside, sizeof(first_aside), "%s", f->report.set_aside[1]);
	call(f, C1, "a@x", 6000, &server);

	/* another cluster's journal */
	kill_journal(f);
	snprintf(f->h->cfg.name, sizeof(f->h->cfg.name), "another");
	start(f, NULL);
	assert_int_equal(f->report.current.status, JOURNAL_IMAGE_CLUSTER);
	assert_string_equal(f->report.current.header.cluster, "harness");
	assert_int_equal(f->report.restored, 0);
	assert_true(exists(f->report.set_aside[1]));
	assert_string_not_equal(f->report.set_aside[1], first_aside);
	assert_int_equal(size_of(first_aside), 16);   /* the first one is still there */
}

/* A compaction as the file grows: rotated, walked, settled; killed before
 * the settle, the previous file and the new one are read together. */
static void test_compaction_settled_or_not(void **state)
{
	struct fixture *f = *state;
	char old_path[160], id[32], sdp[512];
	uint64_t sessions[6];
	int servers[6];
	struct verdict v;
	snprintf(old_path, sizeof(old_path), "%s.old", f->path);
	start(f, NULL);
	for (int i = 0; i < 6; i++) {
		snprintf(id, sizeof(id), "s%d@x", i);
		sessions[i] = call(f, i % 2 ? C1 : C2, id, (uint16_t)(6000 + 2 * i), &servers[i]);
	}
	/* a re-INVITE: the oldest records of s1@x are stale now */
	ch_client_request(f->h, C1, "INVITE", "s1@x", 2, ch_sdp(sdp, sizeof(sdp), C1, 7100), &v);
	written(f);
	assert_false(session_journal_step(f->j));      /* not grown enough */
	f->j->compact_at = 0;
	assert_true(session_journal_step(f->j));       /* a small table: rotated and walked at once */
	assert_true(exists(old_path));
	/* killed before the settle */
	start(f, NULL);
	assert_int_equal(f->report.restored, 6);
	assert_true(f->report.previous.records > 0);
	assert_false(exists(old_path));                /* the start's compaction is whole */

	f->j->compact_at = 0;
	assert_true(session_journal_step(f->j));
	session_journal_settle(f->j);
	assert_false(exists(old_path));
	start(f, NULL);
	assert_int_equal(f->report.restored, 6);
	assert_int_equal(f->report.previous.records, 0);
	for (int i = 0; i < 6; i++) {
		snprintf(id, sizeof(id), "s%d@x", i);
		bye_reaches(f, i % 2 ? C1 : C2, id, sessions[i], servers[i]);
	}
}

/* Killed while a compaction's walk is half done, with sessions created and
 * ended meanwhile: nothing is lost, nothing ended comes back. */
static void test_killed_mid_walk(void **state)
{
	struct fixture *f = *state;
	char id[32];
	uint64_t sessions[8];
	int servers[8];
	struct verdict v;
	start(f, NULL);
	for (int i = 0; i < 8; i++) {
		snprintf(id, sizeof(id), "w%d@x", i);
		sessions[i] = call(f, i % 2 ? C1 : C3, id, (uint16_t)(6000 + 2 * i), &servers[i]);
	}
	f->j->compact_at = 0;
	f->j->walk_slots = 3;
	assert_false(session_journal_step(f->j));       /* rotated, slots 0-2 walked */
	assert_true(f->j->compacting);
	ch_client_request(f->h, C1, "BYE", "w7@x", 9, NULL, &v);   /* in a slot not walked yet */
	ch_server_ok(f->h, C1, "w7@x", 9, "BYE", 0);   /* the BYE answered: the call lingers, then ends */
	written(f);
	ch_advance_ms(f->h, 3000);
	written(f);
	sessions[7] = 0;
	call(f, C2, "late@x", 6100, &servers[7]);
	assert_false(session_journal_step(f->j));       /* slots 3-5 */
	start(f, NULL);
	assert_int_equal(f->report.restored, 8);        /* w0..w6 and late */
	assert_true(f->report.previous.records > 0);
	for (int i = 0; i < 7; i++) {
		snprintf(id, sizeof(id), "w%d@x", i);
		bye_reaches(f, i % 2 ? C1 : C3, id, sessions[i], servers[i]);
	}
	ch_client_request(f->h, C1, "BYE", "w7@x", 10, NULL, &v);
	ch_server_ok(f->h, C1, "w7@x", 10, "BYE", 0);   /* the BYE answered: the call lingers, then ends */
	assert_int_equal(v.session, 0);
}

static void drop_s2(struct sara_config *cfg, bool reuse_mark)
{
	cfg->servers[1] = cfg->servers[2];
	cfg->server_count = 2;
	if (reuse_mark) {
		snprintf(cfg->servers[1].id, sizeof(cfg->servers[1].id), "s4");
		cfg->servers[1].address = ch_addr("10.0.0.4");
		cfg->servers[1].mark = 2;
		cfg->servers[1].table = 104;
	}
}

/* A server removed while sarad was down: its sessions drain on it. */
static void test_server_removed_meanwhile(void **state)
{
	struct fixture *f = *state;
	const char *clients[3] = { C1, C2, C3 }, *ids[3] = { "a@x", "b@x", "c@x" };
	struct sara_config next;
	uint64_t session[3];
	int server[3];
	struct verdict v;
	start(f, NULL);
	for (int i = 0; i < 3; i++)
		session[i] = call(f, clients[i], ids[i], 6000 + 2 * i, &server[i]);
	assert_int_equal(server[1], 1);
	next = f->h->cfg;
	drop_s2(&next, false);
	start(f, &next);
	assert_int_equal(f->report.restored, 3);
	assert_int_equal(f->report.servers_retired, 1);
	assert_int_equal(engine_config(f->h->engine)->server_count, 3);
	assert_true(engine_config(f->h->engine)->servers[2].retired);
	assert_string_equal(engine_config(f->h->engine)->servers[2].id, "s2");
	ch_client_request(f->h, C2, "BYE", "b@x", 9, NULL, &v);
	ch_server_ok(f->h, C2, "b@x", 9, "BYE", 0);   /* the BYE answered: the call lingers, then ends */
	written(f);
	assert_int_equal(v.session, session[1]);
	assert_int_equal(v.server, 2);
	assert_int_equal(v.mark, 2);
	/* the others are where they were, by id */
	bye_reaches(f, C1, "a@x", session[0], 0);
	bye_reaches(f, C3, "c@x", session[2], 1);
	/* a second restart keeps the retired server while its session lingers */
	start(f, &next);
	assert_int_equal(f->report.servers_retired, 1);
}

/* ... unless the new list gave its mark to another server: not restored. */
static void test_removed_server_mark_taken(void **state)
{
	struct fixture *f = *state;
	struct sara_config next;
	int server;
	start(f, NULL);
	call(f, C1, "a@x", 6000, &server);
	call(f, C2, "b@x", 6002, &server);
	next = f->h->cfg;
	drop_s2(&next, true);
	start(f, &next);
	assert_int_equal(f->report.restored, 1);
	assert_int_equal(f->report.dropped_no_server, 1);
	assert_int_equal(f->report.servers_retired, 0);
}

static void test_unwritable(void **state)
{
	struct fixture *f = *state;
	struct journal_restore_report rep;
	struct sara_config cfg = f->h->cfg;
	char err[512];
	snprintf(cfg.state.journal, sizeof(cfg.state.journal), "%s/no/such/dir/x.journal", f->dir);
	assert_null(session_journal_open(&cfg, f->h->engine, NULL, now_ms, 0, &rep, err, sizeof(err)));
	assert_non_null(strstr(err, "no/such/dir/x.journal"));
	assert_int_equal(rep.restored, 0);
}

/* A second sarad of the cluster on the host leaves the first one's
 * journal alone: it runs without one. */
static void test_second_sarad(void **state)
{
	struct fixture *f = *state;
	struct journal_restore_report rep;
	struct engine *other;
	char err[512];
	int server;
	start(f, NULL);
	call(f, C1, "a@x", 6000, &server);
	other = ch_engine_new(f->h, &f->h->cfg);
	assert_null(session_journal_open(&f->h->cfg, other, NULL, now_ms, 0, &rep, err, sizeof(err)));
	assert_non_null(strstr(err, "in use by another process"));
	assert_false(rep.read);
	engine_destroy(other);
	/* the first one's file is whole, and still its own */
	call(f, C2, "b@x", 6002, &server);
	start(f, NULL);
	assert_int_equal(f->report.restored, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_restart_restores, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_files_set_aside, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compaction_settled_or_not, setup, teardown),
		cmocka_unit_test_setup_teardown(test_killed_mid_walk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_removed_meanwhile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_removed_server_mark_taken, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unwritable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_sarad, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
