/* main.c - sara-ctl: parses the command line, loads the cluster's
 * configuration and runs one command: rules (rules_apply), keygen, bird,
 * conntrackd, conntrackd-timer or keepalived (ha_configs), gw-check (gw_check), or one
 * of sarad's commands over its control socket (sarad_request). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/config.h"
#include "io/config_file.h"
#include "sara-ctl/command_line.h"
#include "sara-ctl/ctl.h"
#include "sara-ctl/gw_check.h"
#include "sara-ctl/ha_configs.h"
#include "sara-ctl/keygen.h"
#include "sara-ctl/rules_apply.h"
#include "sara-ctl/sarad_request.h"

static int run(const struct command_line *cl)
{
	struct sara_config *cfg = malloc(sizeof(*cfg));
	char err[512];
	int status = EXIT_USAGE;

	if (!cfg) {
		fprintf(stderr, "%s: out of memory\n", CTL_PROGRAM);
		return EXIT_FAILED;
	}
	if (!sara_config_load(cl->config_path, cfg, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	if (cl->check_config) {
		printf("%s: ok (%u VIPs, %u servers, selection %s)\n", cl->config_path, cfg->vip_count,
		       cfg->server_count, selection_algorithm_name(cfg->selection.algorithm));
		status = 0;
		if (!cl->command)
			goto out;
	}
	if (strcmp(cl->command, "rules") == 0)
		status = rules_apply(cfg, &cl->rules);
	else if (strcmp(cl->command, "keygen") == 0)
		status = keygen_write(cfg);
	else if (strcmp(cl->command, "gw-check") == 0)
		status = gw_check_run(cfg);
	else if (command_line_is_ha(cl->command))
		status = ha_configs_run(cfg, cl->command, cl->self);
	else
		status = sarad_request_run(cfg, &cl->sarad);
out:
	free(cfg);
	return status;
}

int main(int argc, char **argv)
{
	struct command_line cl;
	int status;

	/* A command that exits before reading its stdin must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	status = command_line_parse(argc, argv, &cl);
	if (status != COMMAND_LINE_PARSED)
		return status;
	return run(&cl);
}
