/* sarad_request.h - one sara-ctl command for sarad (control_commands.h):
 * its request line built from the table, sent over the control socket, and
 * the reply rendered. */
#ifndef SARA_CTL_SARAD_REQUEST_H
#define SARA_CTL_SARAD_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include "engine/config.h"
#include "io/control_commands.h"
#include "sara-ctl/render.h"

/* What the command line asked, already checked against the command. */
struct sarad_request {
	const struct control_command *command;
	struct control_args args;    /* its operand and option values */
	enum render_format format;   /* text, the reply raw, or JSON lines */
};

/* "sessions --server s1 --limit 5\n" into line; false when it does not fit. */
bool sarad_request_line(const struct sarad_request *req, char *line, size_t size);
/* Asks sarad and renders the reply on stdout (problems on stderr).
 * Returns 0, EXIT_FAILED or EXIT_USAGE. */
int sarad_request_run(const struct sara_config *cfg, const struct sarad_request *req);

#endif
