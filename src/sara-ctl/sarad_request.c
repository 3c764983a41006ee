/* sarad_request.c - asks sarad one command and renders its reply
 * (sarad_request.h). */
#include "sara-ctl/sarad_request.h"

#include <stdio.h>
#include <stdlib.h>

#include "sara-ctl/control_client.h"
#include "sara-ctl/ctl.h"
#include "sara-ctl/render.h"

bool sarad_request_line(const struct sarad_request *req, char *line, size_t size)
{
	const struct control_command *cmd = req->command;
	size_t used = (size_t)snprintf(line, size, "%s", cmd->name);
	if (cmd->operand && req->args.operand && used < size)
		used += (size_t)snprintf(line + used, size - used, " %s", req->args.operand);
	for (unsigned i = 0; i < CONTROL_OPTIONS_MAX && cmd->options[i].name && used < size; i++)
		if (req->args.values[i])
			used += (size_t)snprintf(line + used, size - used, " %s %s", cmd->options[i].name,
						 req->args.values[i]);
	if (used < size)
		used += (size_t)snprintf(line + used, size - used, "\n");
	return used < size;
}

static int render(const struct sarad_request *req, const char *doc, size_t len)
{
	const char *const *values = req->args.values;
	switch (req->command->id) {
	case CONTROL_SERVERS:
		return render_servers(doc, len, req->format, stdout, stderr);
	case CONTROL_SESSIONS:
		if (values[CONTROL_SESSIONS_KEY])
			return render_session_detail(doc, len, req->format, stdout, stderr);
		return render_sessions(doc, len, req->format, values[CONTROL_SESSIONS_SERVER],
				       values[CONTROL_SESSIONS_CLIENT], stdout, stderr);
	case CONTROL_REFUSED:
		return render_refused(doc, len, req->format, stdout, stderr);
	case CONTROL_DRAIN:
	case CONTROL_UNDRAIN:
		return render_drain(doc, len, req->format, req->args.operand, stdout, stderr);
	case CONTROL_STATUS:
	case CONTROL_PING:
	case CONTROL_COMMAND_COUNT:
		break;
	}
	return render_status(doc, len, req->format, stdout, stderr);
}

int sarad_request_run(const struct sara_config *cfg, const struct sarad_request *req)
{
	char line[CONTROL_CLIENT_REQUEST_MAX];
	size_t max = req->command->id == CONTROL_SESSIONS ? CONTROL_CLIENT_LISTING_MAX : CONTROL_CLIENT_REPLY_MAX;
	char *doc = NULL;
	size_t len = 0;
	int status;

	if (!sarad_request_line(req, line, sizeof(line))) {
		fprintf(stderr, "%s: %s: the request is too long\n", CTL_PROGRAM, req->command->name);
		return EXIT_USAGE;
	}
	status = control_client_ask(cfg, line, max, &doc, &len);
	if (status == 0)
		status = render(req, doc, len);
	free(doc);
	return status;
}
