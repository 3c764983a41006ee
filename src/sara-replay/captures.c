/* captures.c - sara-replay's capture files: opens them, reads their
 * packets in the order each mode needs and hands them to the replay. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sara-replay/captures.h"

bool captures_parse_observed(const char *arg, const struct sara_config *cfg, struct observed_capture *cap)
{
	const char *eq = strchr(arg, '=');
	int server = -1;
	for (unsigned b = 0; eq && b < cfg->server_count; b++)
		if (strlen(cfg->servers[b].id) == (size_t)(eq - arg) &&
		    memcmp(cfg->servers[b].id, arg, (size_t)(eq - arg)) == 0)
			server = (int)b;
	if (!eq || eq[1] == '\0' || server < 0)
		return false;
	*cap = (struct observed_capture){ .path = eq + 1, .server = server };
	return true;
}

static void show_progress(const struct pcap_source *src, const char *path, time_t *last)
{
	time_t now = time(NULL);
	uint64_t size = pcap_source_file_size(src);
	int64_t offset = pcap_source_offset(src);
	if (now == *last || size == 0 || offset < 0)
		return;
	*last = now;
	fprintf(stderr, "\r%s: %3u%%", path, (unsigned)((uint64_t)offset * 100 / size));
}

int captures_replay_file(struct replay *r, const char *path, bool progress)
{
	char err[PCAP_SOURCE_ERR_MAX];
	struct captured_packet cp;
	struct pcap_source *src = pcap_source_open(path, err, sizeof(err));
	time_t last = 0;
	uint64_t count = 0;
	int rc;
	if (!src) {
		fprintf(stderr, "sara-replay: %s\n", err);
		return -1;
	}
	while ((rc = pcap_source_next(src, &cp)) == 1) {
		replay_packet(r, &cp);
		if (progress && (++count & 0xfff) == 0)
			show_progress(src, path, &last);
	}
	if (progress && last)
		fprintf(stderr, "\r%s: 100%%\n", path);
	if (rc < 0)
		fprintf(stderr, "sara-replay: %s: %s\n", path, pcap_source_error(src));
	pcap_source_close(src);
	return rc < 0 ? -1 : 0;
}

/* Advances one capture; false at its end or on a read error, which is
 * reported and makes *failed true. */
static bool observed_advance(struct observed_capture *o, bool *failed)
{
	int rc = pcap_source_next(o->src, &o->cp);
	o->has_packet = rc == 1;
	if (rc < 0) {
		fprintf(stderr, "sara-replay: %s: %s\n", o->path, pcap_source_error(o->src));
		*failed = true;
	}
	return o->has_packet;
}

/* Opens every capture; false at the first that cannot be opened. */
static bool observed_open_all(struct observed_capture *caps, unsigned count)
{
	char err[PCAP_SOURCE_ERR_MAX];
	for (unsigned i = 0; i < count; i++) {
		caps[i].src = pcap_source_open(caps[i].path, err, sizeof(err));
		if (!caps[i].src) {
			fprintf(stderr, "sara-replay: %s\n", err);
			return false;
		}
	}
	return true;
}

int captures_replay_merged(struct replay *r, struct observed_capture *caps, unsigned count)
{
	bool failed = false;
	if (!observed_open_all(caps, count))
		return -1;
	for (unsigned i = 0; i < count; i++)
		observed_advance(&caps[i], &failed);
	for (;;) {
		struct observed_capture *next = NULL;
		for (unsigned i = 0; i < count; i++) {
			struct observed_capture *o = &caps[i];
			if (o->has_packet && (!next || o->cp.ts_us < next->cp.ts_us))
				next = o;
		}
		if (!next)
			break;
		r->current_server = next->server;
		replay_packet(r, &next->cp);
		observed_advance(next, &failed);
	}
	return failed ? -1 : 0;
}

int captures_load_observations(struct replay *r, struct observed_capture *caps, unsigned count)
{
	bool failed = false;
	if (!observed_open_all(caps, count))
		return -1;
	for (unsigned i = 0; i < count; i++)
		while (observed_advance(&caps[i], &failed))
			replay_observe(r, caps[i].server, &caps[i].cp);
	return failed ? -1 : 0;
}

int captures_replay(struct replay *r, struct observed_capture *caps, unsigned cap_count, char *const *files,
		    unsigned file_count, bool progress)
{
	for (unsigned i = 0; i < cap_count; i++)
		replay_add_observed(r, caps[i].server);
	if (r->mode == REPLAY_MERGED && captures_replay_merged(r, caps, cap_count) < 0)
		return -1;
	if (r->mode == REPLAY_MATCHED && captures_load_observations(r, caps, cap_count) < 0)
		return -1;
	for (unsigned i = 0; i < file_count; i++)
		if (captures_replay_file(r, files[i], progress) < 0)
			return -1;
	return 0;
}

void captures_close(struct observed_capture *caps, unsigned count)
{
	for (unsigned i = 0; i < count; i++) {
		pcap_source_close(caps[i].src);
		caps[i].src = NULL;
	}
}
