/* captures.h - reads sara-replay's capture files into a replay, in the order
 * its mode needs; errors are reported on stderr. */
#ifndef SARA_REPLAY_CAPTURES_H
#define SARA_REPLAY_CAPTURES_H

#include <stdbool.h>

#include "io/pcap_source.h"
#include "sara-replay/replay.h"

/* One per-server capture (--observed ID=FILE). */
struct observed_capture {
	const char *path;
	int server;
	struct pcap_source *src;   /* open while it is read */
	struct captured_packet cp; /* its next packet, when has_packet */
	bool has_packet;
};

/* The capture of an --observed argument "ID=FILE", ID a server of cfg;
 * false when it is not one. Its path points into arg. */
bool captures_parse_observed(const char *arg, const struct sara_config *cfg, struct observed_capture *cap);

/* Everything a run reads, in its mode: the per-server captures (added to
 * the run with replay_add_observed, then merged, or loaded as observations
 * when files are the sent captures), then files. -1 at the first capture
 * that cannot be opened or read (reported). */
int captures_replay(struct replay *r, struct observed_capture *caps, unsigned cap_count, char *const *files,
		    unsigned file_count, bool progress);

/* Replays every packet of the file at path; progress shows a percentage on
 * stderr. -1 when the file cannot be opened or read (the packets read
 * before an error stay replayed). */
int captures_replay_file(struct replay *r, const char *path, bool progress);
/* Merged mode: replays the captures' packets in timestamp order (ties: the
 * earlier capture), each as captured at its server. Every capture shares
 * one kernel clock. -1 when one cannot be opened or read. */
int captures_replay_merged(struct replay *r, struct observed_capture *caps, unsigned count);
/* Matched mode: hands every packet of the captures to replay_observe, before
 * the sent files are replayed. -1 when one cannot be opened or read. */
int captures_load_observations(struct replay *r, struct observed_capture *caps, unsigned count);
/* Closes what the two above opened. */
void captures_close(struct observed_capture *caps, unsigned count);

#endif
