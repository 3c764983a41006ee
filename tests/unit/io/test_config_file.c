/* test_config_file.c - unit tests for src/io/config_file.c and the rules of
 * src/engine/config.c: the shipped configs load, the defaults hold, and
 * every error class reports the exact "file:line: reason". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/config.h"
#include "io/config_file.h"

/* Tests run from the repository root (make unit) or from tests/unit. */
static const char *conf_path(const char *name, char *buf, size_t size)
{
	static const char *const dirs[] = { "conf", "../../conf", "../conf" };
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(buf, size, "%s/%s", dirs[i], name);
		if (access(buf, R_OK) == 0)
			return buf;
	}
	snprintf(buf, size, "conf/%s", name);
	return buf;
}

/* Writes text to a fresh file under /tmp; the caller unlinks it. */
static void write_temp_config(const char *text, char *path, size_t size)
{
	FILE *file;
	int fd;
	snprintf(path, size, "/tmp/sara-test-config-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	file = fdopen(fd, "w");
	assert_non_null(file);
	assert_int_equal(fputs(text, file) >= 0, 1);
	assert_int_equal(fclose(file), 0);
}

static bool load_text(const char *text, struct sara_config *cfg, char *err, size_t err_size,
		      char *path, size_t path_size)
{
	bool ok;
	write_temp_config(text, path, path_size);
	ok = sara_config_load(path, cfg, err, err_size);
	unlink(path);
	return ok;
}

static void expect_loads(const char *text, struct sara_config *cfg)
{
	char path[64], err[512];
	bool ok = load_text(text, cfg, err, sizeof(err), path, sizeof(path));
	if (!ok)
		print_error("unexpected error: %s\n", err);
	assert_true(ok);
}

/* line 0: the reason has no line ("path: reason"). */
static void expect_error(const char *text, unsigned line, const char *reason)
{
	struct sara_config cfg;
	char path[64], err[512], expected[640];
	bool ok = load_text(text, &cfg, err, sizeof(err), path, sizeof(path));
	if (line)
		snprintf(expected, sizeof(expected), "%s:%u: %s", path, line, reason);
	else
		snprintf(expected, sizeof(expected), "%s: %s", path, reason);
	if (ok)
		print_error("config loaded, expected: %s\n", expected);
	assert_false(ok);
	assert_string_equal(err, expected);
}

struct error_case {
	const char *text;
	unsigned line;
	const char *reason;
};

static void run_cases(const struct error_case *cases, size_t count)
{
	for (size_t i = 0; i < count; i++)
		expect_error(cases[i].text, cases[i].line, cases[i].reason);
}

#define RUN_CASES(cases) run_cases(cases, sizeof(cases) / sizeof(cases[0]))

/* Three lines: whatever a case appends starts on line 4. */
#define BASE "name = \"t\";\n" \
	"vips = [ \"198.18.10.1\" ];\n" \
	"servers = ( { id = \"s1\"; address = \"198.18.2.11\"; mark = 1; table = 101; } );\n"

/* Two servers, the first dual-stack: the second, which each case supplies,
 * is on line 5. */
#define TWO_SERVERS(second) "name = \"t\";\n" \
	"vips = [ \"198.18.10.1\", \"fd00:10::1\" ];\n" \
	"servers = (\n" \
	"  { id = \"s1\"; address = \"198.18.2.11\"; address6 = \"fd00:2::11\"; mark = 1; table = 101; },\n" \
	"  " second "\n" \
	");\n"


static bool endpoint_equal_for_test(const struct endpoint *a, const struct endpoint *b)
{
	return netaddr_equal(&a->addr, &b->addr) && a->port == b->port;
}

/* ---- several dispatchers: the ha group ------------------------------------- */

static void test_ha_group(void **state)
{
	static const struct error_case cases[] = {
		{ BASE "ha = { dispatchers = [ \"198.18.2.1\", \"198.18.2.1\" ]; };\n", 4,
		  "ha.dispatchers[1] 198.18.2.1 is listed twice" },
		{ BASE "ha = { dispatchers = [ \"198.18.2.1\", \"fd00::2\" ]; };\n", 4,
		  "ha.dispatchers: IPv4 and IPv6 addresses mixed" },
		{ BASE "ha = { dispatchers = [ \"198.18.10.1\" ]; };\n", 4,
		  "ha.dispatchers[0] 198.18.10.1 is not a dispatcher's own unicast address" },
		{ BASE "ha = { router = \"198.18.1.1\"; asn = 65001; };\n", 4,
		  "ha.router needs ha.asn and ha.router_asn" },
		{ BASE "ha = { sync_group = \"198.18.1.1\"; };\n", 4,
		  "ha.sync_group 198.18.1.1 is not a multicast address" },
		{ BASE "ha = { gateways = [ \"198.18.2.252\", \"198.18.10.1\" ]; };\n", 4,
		  "ha.gateways[1] 198.18.10.1 is not a unicast address of the gateways (nor a VIP)" },
		{ BASE "ha = { gateways = [ \"198.18.2.252\" ]; vrrp_addresses = [ \"198.18.2.252\" ]; };\n", 4,
		  "ha.gateways[0] 198.18.2.252 is listed twice in ha.gateways and ha.vrrp_addresses" },
		{ BASE "ha = { vrrp_addresses = [ \"198.18.2.254\", \"198.18.1.254\" ]; vrrp_id = 255; };\n", 4,
		  "ha.vrrp_id 255 + 2 addresses goes past 255" },
		{ BASE "ha = { vrrp_advert_ms = 105; };\n", 4,
		  "ha.vrrp_advert_ms 105 is not a multiple of 10 (VRRPv3 counts centiseconds)" },
	};
	struct sara_config *cfg = malloc(sizeof(*cfg));
	struct endpoint to[SARA_MAX_DISPATCHERS];
	char text[NETADDR_STRLEN];
	(void)state;
	assert_non_null(cfg);
	RUN_CASES(cases);
	/* one dispatcher: the listen endpoint itself; a wildcard is nowhere */
	expect_loads(BASE "gateway = { listen = \"198.18.2.1:7401\"; };\n", cfg);
	assert_int_equal(cfg->ha.dispatcher_count, 0);
	assert_true(cfg->ha.bfd);
	assert_int_equal(cfg->ha.bfd_interval_ms, 100);
	assert_int_equal(cfg->ha.sync_port, 3780);
	assert_int_equal(sara_config_dispatcher_endpoints(cfg, &cfg->gateway.listen, to, SARA_MAX_DISPATCHERS), 1);
	assert_true(endpoint_equal_for_test(&to[0], &cfg->gateway.listen));
	expect_loads(BASE "gateway = { listen = \"0.0.0.0:7401\"; };\n", cfg);
	assert_int_equal(sara_config_dispatcher_endpoints(cfg, &cfg->gateway.listen, to, SARA_MAX_DISPATCHERS), 0);
	/* several: every dispatcher at the listen port */
	expect_loads(BASE "gateway = { listen = \"0.0.0.0:7401\"; };\n"
		     "ha = { dispatchers = [ \"198.18.2.1\", \"198.18.2.2\" ]; router = \"198.18.1.1\";\n"
		     "       asn = 65001; router_asn = 65000; bfd = false; sync_interface = \"lan0\"; };\n", cfg);
	assert_int_equal(sara_config_dispatcher_endpoints(cfg, &cfg->gateway.listen, to, SARA_MAX_DISPATCHERS), 2);
	assert_string_equal(netaddr_format(&to[1].addr, text, sizeof(text)), "198.18.2.2");
	assert_int_equal(to[1].port, 7401);
	assert_int_equal(sara_config_dispatcher_endpoints(cfg, &cfg->gateway.listen, to, 1), 1);
	assert_false(cfg->ha.bfd);
	assert_int_equal(cfg->ha.asn, 65001);
	assert_string_equal(cfg->ha.sync_interface, "lan0");
	/* conntrackd's group set: a multicast address is what the key takes */
	expect_loads(BASE "ha = { sync_group = \"225.0.0.51\"; };\n", cfg);
	assert_string_equal(netaddr_format(&cfg->ha.sync_group, text, sizeof(text)), "225.0.0.51");
	expect_loads(BASE "ha = { dispatchers = [ \"198.18.2.1\", \"198.18.2.2\" ]; router = \"198.18.1.1\";\n"
		     "       asn = 65001; router_asn = 65000; bfd = false; sync_interface = \"lan0\"; };\n", cfg);
	assert_int_equal(cfg->ha.vrrp_id, 51);
	assert_int_equal(cfg->ha.vrrp_advert_ms, 100);
	expect_loads(BASE "ha = { gateways = [ \"198.18.2.252\", \"198.18.2.253\" ];\n"
		     "       vrrp_addresses = [ \"198.18.2.254\" ]; vrrp_id = 254; vrrp_advert_ms = 1000; };\n", cfg);
	assert_int_equal(cfg->ha.gateway_count, 2);
	assert_int_equal(cfg->ha.vrrp_address_count, 1);
	assert_int_equal(cfg->ha.vrrp_id, 254);
	assert_int_equal(cfg->ha.vrrp_advert_ms, 1000);
	assert_string_equal(cfg->ha.redis_password_file, "");   /* none: no AUTH */
	expect_loads(BASE "ha = { dispatchers = [ \"198.18.2.1\", \"198.18.2.2\" ]; session_store = \"redis\";\n"
		     "       redis_password_file = \"/etc/sara/redis.pass\"; };\n", cfg);
	assert_string_equal(cfg->ha.redis_password_file, "/etc/sara/redis.pass");
	free(cfg);
}

/* ---- the shipped configs --------------------------------------------------- */

static void test_example_config_loads(void **state)
{
	struct sara_config cfg;
	char path[128], err[512], text[NETADDR_STRLEN];
	(void)state;
	conf_path("example.cfg", path, sizeof(path));
	if (!sara_config_load(path, &cfg, err, sizeof(err)))
		print_error("%s\n", err);
	assert_true(sara_config_load(path, &cfg, err, sizeof(err)));
	assert_string_equal(cfg.name, "lab");
	assert_string_equal(cfg.path, path);
	assert_int_equal(cfg.vip_count, 2);
	assert_string_equal(netaddr_format(&cfg.vips[0], text, sizeof(text)), "198.18.77.20");
	assert_string_equal(netaddr_format(&cfg.vips[1], text, sizeof(text)), "fd00:77::20");
	assert_int_equal(cfg.server_count, 3);
	for (unsigned i = 0; i < 3; i++) {
		char id[8], address[32];
		snprintf(id, sizeof(id), "s%u", i + 1);
		snprintf(address, sizeof(address), "198.18.2.%u", 11 + i);
		assert_string_equal(cfg.servers[i].id, id);
		assert_string_equal(netaddr_format(&cfg.servers[i].address, text, sizeof(text)),
				    address);
		snprintf(address, sizeof(address), "fd00:2::%u", 11 + i);
		assert_string_equal(netaddr_format(&cfg.servers[i].address6, text, sizeof(text)),
				    address);
		assert_int_equal(cfg.servers[i].mark, i + 1);
		assert_int_equal(cfg.servers[i].table, 101 + i);
		assert_true(cfg.servers[i].weight == 1.0);
	}
	assert_int_equal(cfg.sip_port_count, 1);
	assert_int_equal(cfg.sip_ports[0], 5060);
	assert_int_equal(cfg.rtsp_port_count, 2);
	assert_int_equal(cfg.rtsp_ports[0], 554);
	assert_int_equal(cfg.rtsp_ports[1], 8554);
	assert_int_equal(cfg.gateway.listen.addr.family, 0);
	assert_int_equal(cfg.agents.listen.addr.family, 0);
	assert_true(cfg.admission.enabled);
	assert_int_equal(cfg.admission.policy, ADMISSION_POLICY_SA2C);
	assert_int_equal(cfg.admission.rtsp_reject, RTSP_REJECT_RESET);
	assert_int_equal(cfg.admission.replies_per_s, 1000);
	assert_string_equal(cfg.control.socket, "/run/sara/lab.sock");
	assert_string_equal(cfg.key_file, "/etc/sara/lab.key");
	assert_int_equal(cfg.limits.malformed, MALFORMED_PASS);
	assert_true(sara_config_validate(&cfg, err, sizeof(err)));
}

static void test_voice1_config_loads(void **state)
{
	struct sara_config cfg;
	char path[128], err[512], text[ENDPOINT_STRLEN];
	(void)state;
	conf_path("voice-1.cfg", path, sizeof(path));
	if (!sara_config_load(path, &cfg, err, sizeof(err)))
		print_error("%s\n", err);
	assert_true(sara_config_load(path, &cfg, err, sizeof(err)));
	assert_string_equal(cfg.name, "voice-1");
	assert_int_equal(cfg.vip_count, 2);
	assert_int_equal(cfg.server_count, 2);
	assert_string_equal(endpoint_format(&cfg.gateway.listen, text, sizeof(text)),
			    "198.18.1.1:7401");
	assert_string_equal(endpoint_format(&cfg.agents.listen, text, sizeof(text)),
			    "198.18.1.1:7400");
	assert_string_equal(cfg.key_file, "/etc/sara/voice-1.key");
	assert_true(cfg.admission.enabled);
	assert_int_equal(cfg.admission.reject, REJECT_503);
	assert_true(cfg.admission.c == 0.98);
	assert_int_equal(cfg.selection.algorithm, SELECT_SHELL);
	assert_string_equal(cfg.control.socket, "/run/sara/voice-1.sock");
	/* its IPv6 VIP routes to the servers' address6 */
	assert_string_equal(netaddr_format(&cfg.servers[0].address6, text, sizeof(text)), "fd00:2::11");
	assert_string_equal(netaddr_format(&cfg.servers[1].address6, text, sizeof(text)), "fd00:2::12");
}

/* ---- defaults -------------------------------------------------------------- */

static void test_defaults(void **state)
{
	struct sara_config cfg;
	(void)state;
	sara_config_defaults(&cfg);
	assert_int_equal(cfg.vip_count, 0);
	assert_int_equal(cfg.server_count, 0);
	assert_int_equal(cfg.sip_port_count, 1);
	assert_int_equal(cfg.sip_ports[0], 5060);
	assert_int_equal(cfg.rtsp_port_count, 2);
	assert_int_equal(cfg.rtsp_ports[0], 554);
	assert_int_equal(cfg.rtsp_ports[1], 8554);
	assert_int_equal(cfg.queue.first, 0);
	assert_int_equal(cfg.queue.count, 1);
	assert_true(cfg.queue.fail_open);
	assert_int_equal(cfg.gateway.listen.addr.family, 0);
	assert_int_equal(cfg.agents.listen.addr.family, 0);
	assert_int_equal(cfg.metrics.listen.addr.family, 0);
	assert_int_equal(cfg.agents.interval_ms, 1000);
	assert_int_equal(cfg.agents.misses, 3);
	assert_int_equal(cfg.timeouts.signalling_s, 60);
	assert_int_equal(cfg.timeouts.media_s, 30);
	assert_int_equal(cfg.timeouts.linger_s, 5);
	assert_int_equal(cfg.selection.algorithm, SELECT_SHELL);
	assert_int_equal(cfg.selection.window, 8);
	assert_int_equal(cfg.selection.slow_start_s, 30);
	assert_true(cfg.admission.enabled);
	assert_int_equal(cfg.admission.policy, ADMISSION_POLICY_SA2C);
	assert_int_equal(cfg.admission.rtsp_reject, RTSP_REJECT_RESET);
	assert_true(cfg.admission.lead_s == 1.0);
	assert_true(cfg.admission.reopen_s == 0.0);
	assert_true(cfg.admission.t1 == 0.6);
	assert_true(cfg.admission.t2 == 0.8);
	assert_true(cfg.admission.t3 == 0.9);
	assert_true(cfg.admission.c == 0.98);
	assert_true(cfg.admission.alpha == 0.7);
	assert_int_equal(cfg.admission.reject, REJECT_503);
	assert_int_equal(cfg.admission.retry_after_s, 5);
	assert_true(cfg.admission.window_per_server);
	assert_int_equal(cfg.limits.flows, 1000000);
	assert_int_equal(cfg.limits.sessions, 250000);
	assert_int_equal(cfg.limits.when_full, FULL_PASS);
	assert_int_equal(cfg.limits.tcp_streams, 4096);
	assert_int_equal(cfg.limits.tcp_buffer, 16384);
	assert_int_equal(cfg.limits.fragments, 1024);
	assert_int_equal(cfg.limits.malformed, MALFORMED_PASS);
}

static void test_minimal_config_gets_defaults(void **state)
{
	struct sara_config cfg;
	(void)state;
	expect_loads("name = \"min\";\n"
		     "vips = [ \"fd00:10::1\" ];\n"
		     "servers = ( { id = \"a\"; address = \"fd00:2::11\"; mark = 7; table = 7; } );\n",
		     &cfg);
	assert_string_equal(cfg.name, "min");
	assert_string_equal(cfg.control.socket, "/run/sara/min.sock");
	assert_string_equal(cfg.key_file, "/etc/sara/min.key");
	assert_true(cfg.servers[0].weight == 1.0);
	assert_int_equal(cfg.timeouts.signalling_s, 60);
	assert_int_equal(cfg.limits.tcp_buffer, 16384);
	assert_int_equal(cfg.rtsp_port_count, 2);
}

static void test_accepted_forms(void **state)
{
	struct sara_config cfg;
	(void)state;
	/* integers where numbers are expected; 2^31 with libconfig's L suffix */
	expect_loads(TWO_SERVERS("{ id = \"s-2.b_c\"; address = \"198.18.2.12\"; address6 = \"fd00:2::12\"; "
				 "mark = 2147483648L; table = 2147483647; weight = 1000; }")
		     "admission = { t1 = 0; t2 = 0.5; t3 = 0.75; c = 1; alpha = 1; reject = \"drop\"; window_per_server = false; };\n"
		     "limits = { when_full = \"drop\"; malformed = \"drop\"; };\n"
		     "selection = { algorithm = \"least-sessions\"; };\n"
		     "ports = { sip = [ 5060, 5080 ]; rtsp = [ ]; };\n"
		     "agents = { listen = \"[fd00::1]:7400\"; };\n"
		     "metrics = { listen = \"127.0.0.1:9100\"; };\n"
		     "timeouts = { signalling_s = 10; media_s = 60; linger_s = 0; };\n",
		     &cfg);
	assert_int_equal(cfg.servers[1].mark, 2147483648u);
	assert_int_equal(cfg.servers[1].table, 2147483647u);
	assert_true(cfg.servers[1].weight == 1000.0);
	assert_true(cfg.admission.t1 == 0.0);
	assert_true(cfg.admission.c == 1.0);
	assert_int_equal(cfg.admission.reject, REJECT_DROP);
	assert_false(cfg.admission.window_per_server);
	assert_int_equal(cfg.limits.when_full, FULL_DROP);
	assert_int_equal(cfg.limits.malformed, MALFORMED_DROP);
	assert_int_equal(cfg.selection.algorithm, SELECT_LEAST_SESSIONS);
	assert_int_equal(cfg.sip_port_count, 2);
	assert_int_equal(cfg.rtsp_port_count, 0);
	assert_int_equal(cfg.agents.listen.addr.family, NETADDR_IPV6);
	assert_int_equal(cfg.agents.listen.port, 7400);
	assert_int_equal(cfg.metrics.listen.addr.family, NETADDR_IPV4);
	assert_int_equal(cfg.metrics.listen.port, 9100);
}

/* ---- error classes ----------------------------------------------------------- */

static void test_unreadable_file(void **state)
{
	struct sara_config cfg;
	char err[512];
	(void)state;
	assert_false(sara_config_load("/nonexistent/sara.cfg", &cfg, err, sizeof(err)));
	assert_string_equal(err, "/nonexistent/sara.cfg: cannot read: No such file or directory");
}

static void test_syntax_errors(void **state)
{
	static const struct error_case cases[] = {
		{ "name = \"t\";\nvips = [ \"198.18.10.1\" ];\nservers = ( { id = ; } );\n", 3,
		  "syntax error" },
		{ BASE "timeouts = { media_s = 30; \n", 5, "syntax error" },
		{ BASE "ports = { sip = [ 5060, \"x\" ]; };\n", 4, "mismatched element type in array" },
		{ BASE "name = \"again\";\n", 4, "duplicate setting name" },
	};
	(void)state;
	RUN_CASES(cases);
}

static void test_missing_required_keys(void **state)
{
	static const struct error_case cases[] = {
		{ "vips = [ \"198.18.10.1\" ];\n"
		  "servers = ( { id = \"s1\"; address = \"198.18.2.11\"; mark = 1; table = 101; } );\n",
		  0, "missing required key \"name\"" },
		{ "name = \"t\";\n"
		  "servers = ( { id = \"s1\"; address = \"198.18.2.11\"; mark = 1; table = 101; } );\n",
		  0, "missing required key \"vips\"" },
		{ "name = \"t\";\nvips = [ \"198.18.10.1\" ];\n", 0, "missing required key \"servers\"" },
		{ TWO_SERVERS("{ id = \"s2\"; address = \"198.18.2.12\"; table = 102; }"),
		  5, "missing required key \"mark\" in \"servers[1]\"" },
		{ TWO_SERVERS("{ id = \"s2\"; address = \"198.18.2.12\"; mark = 2; }"),
		  5, "missing required key \"table\" in \"servers[1]\"" },
		{ TWO_SERVERS("{ address = \"198.18.2.12\"; mark = 2; table = 102; }"),
		  5, "missing required key \"id\" in \"servers[1]\"" },
		{ "name = \"t\";\nvips = [ ];\n", 2, "vips must list at least one address" },
		{ "name = \"t\";\nvips = [ \"198.18.10.1\" ];\nservers = ( );\n",
		  3, "servers must list at least one server" },
	};
	(void)state;
	RUN_CASES(cases);
}

static void test_unknown_keys(void **state)
{
	static const struct error_case cases[] = {
		{ BASE "timeouts = { timeout = 30; };\n", 4, "unknown key \"timeout\" in \"timeouts\"" },
		{ BASE "timeout = { signalling_s = 30; };\n", 4, "unknown key \"timeout\"" },
		{ BASE "limits = {\n  flows = 10;\n  sesions = 5;\n};\n",
		  6, "unknown key \"sesions\" in \"limits\"" },
		{ TWO_SERVERS("{ id = \"s2\"; address = \"198.18.2.12\"; mark = 2; table = 102; "
			      "wieght = 2.0; }"),
		  5, "unknown key \"wieght\" in \"servers[1]\"" },
	};
	(void)state;
	RUN_CASES(cases);
}

static void test_wrong_types(void **state)
{
	static const struct error_case cases[] = {
		{ "name = 3;\n", 1, "name must be a string" },
		{ BASE "timeouts = { media_s = \"30\"; };\n", 4, "timeouts.media_s must be an integer" },
		{ BASE "timeouts = { media_s = 30.5; };\n", 4, "timeouts.media_s must be an integer" },
		{ BASE "admission = { t1 = \"0.5\"; };\n", 4, "admission.t1 must be a number" },
		{ BASE "queue = { fail_open = 1; };\n", 4, "queue.fail_open must be true or false" },
		{ BASE "ports = 5060;\n", 4, "\"ports\" must be a group { ... }" },
		{ BASE "ports = { sip = 5060; };\n", 4,
		  "ports.sip must be a list of ports, like [ 5060 ]" },
		{ BASE "ports = { sip = [ \"5060\" ]; };\n", 4, "ports.sip[0] must be an integer" },
		{ "name = \"t\";\nvips = \"198.18.10.1\";\n", 2,
		  "vips must be a list of addresses, like [ \"198.18.10.1\" ]" },
		{ "name = \"t\";\nvips = [ \"198.18.10.1\" ];\nservers = { id = \"s1\"; };\n", 3,
		  "servers must be a list of groups, like ( { id = \"s1\"; ... } )" },
		{ "name = \"t\";\nvips = [ \"198.18.10.1\" ];\nservers = ( \"s1\" );\n", 3,
		  "servers[0] must be a group { id = ...; address = ...; }" },
		{ BASE "key_file = \"\";\n", 4, "key_file must not be empty" },
		{ BASE "selection = { algorithm = \"fastest\"; };\n", 4,
		  "selection.algorithm must be one of \"shell\", \"round-robin\", "
		  "\"least-sessions\", \"hash\", not \"fastest\"" },
		{ BASE "limits = { when_full = \"evict\"; };\n", 4,
		  "limits.when_full must be one of \"pass\", \"drop\", not \"evict\"" },
		{ BASE "limits = { malformed = \"reject\"; };\n", 4,
		  "limits.malformed must be one of \"pass\", \"drop\", not \"reject\"" },
		{ BASE "admission = { reject = \"486\"; };\n", 4,
		  "admission.reject must be one of \"drop\", \"503\", not \"486\"" },
		{ BASE "agents = { listen = \"198.18.1.1\"; };\n", 4,
		  "agents.listen \"198.18.1.1\" must be address:port, like \"198.18.1.1:7400\" "
		  "or \"[fd00::1]:7400\"" },
		{ BASE "gateway = { listen = \"198.18.1.1:0\"; };\n", 4,
		  "gateway.listen \"198.18.1.1:0\" must be address:port, like \"198.18.1.1:7400\" "
		  "or \"[fd00::1]:7400\"" },
	};
	(void)state;
	RUN_CASES(cases);
}

static void test_bounds(void **state)
{
	static const struct error_case cases[] = {
		{ BASE "timeouts = { signalling_s = 5; };\n", 4,
		  "timeouts.signalling_s must be between 10 and 60, not 5" },
		{ BASE "timeouts = {\n  media_s = 61;\n};\n", 5,
		  "timeouts.media_s must be between 10 and 60, not 61" },
		{ BASE "timeouts = { linger_s = -1; };\n", 4,
		  "timeouts.linger_s must be between 0 and 60, not -1" },
		{ BASE "ports = { sip = [ 5060,\n 0 ]; };\n", 5,
		  "ports.sip[1] must be between 1 and 65535, not 0" },
		{ BASE "ports = { rtsp = [ 65536 ]; };\n", 4,
		  "ports.rtsp[0] must be between 1 and 65535, not 65536" },
		{ BASE "ports = { sip = [ 1, 2, 3, 4, 5, 6, 7, 8, 9 ]; };\n", 4,
		  "ports.sip has 9 ports, at most 8" },
		{ BASE "queue = { count = 0; };\n", 4, "queue.count must be between 1 and 1024, not 0" },
		{ BASE "admission = { lead_s = 11; };\n", 4, "admission.lead_s must be at least 0 and at most 10, not 11" },
		{ TWO_SERVERS("{ id = \"s2\"; address = \"198.18.2.12\"; mark = 2; table = 102; "
			      "weight = 0; }"),
		  5, "servers[1].weight must be greater than 0 and at most 1000, not 0" },
		{ TWO_SERVERS("{ id = \"s2\"; address = \"198.18.2.12\"; mark = 2; table = 102; "
			      "weight = 1000.5; }"),
		  5, "servers[1].weight must be greater than 0 and at most 1000, not 1000.5" },
		{ TWO_SERVERS("{ id = \"s2\"; address = \"198.18.2.12\"; mark = 0; table = 102; }"),
		  5, "servers[1].mark must be between 1 and 2147483648, not 0" },
		{ TWO_SERVERS("{ id = \"s2\"; address = \"198.18.2.12\"; mark = 2147483649L; "
			      "table = 102; }"),
		  5, "servers[1].mark must be between 1 and 2147483648, not 2147483649" },
		{ TWO_SERVERS("{ id = \"s2\"; address = \"198.18.2.12\"; mark = 2147483648; "
			      "table = 102; }"),
		  5, "servers[1].mark must be between 1 and 2147483648, not -2147483648 (write "
		  "integers above 2147483647 with an L suffix, like 2147483648L)" },
		{ TWO_SERVERS("{ id = \"s2\"; address = \"198.18.2.12\"; mark = 2; table = 0; }"),
		  5, "servers[1].table must be between 1 and 2147483647, not 0" },
		{ TWO_SERVERS("{ id = \"s2\"; address = \"198.18.2.12\"; mark = 2; "
			      "table = 2147483648L; }"),
		  5, "servers[1].table must be between 1 and 2147483647, not 2147483648" },
		{ TWO_SERVERS("{ id = \"s2\"; address = \"198.18.2.12\"; mark = 2; table = 254; }"),
		  5, "servers[1].table 254 is reserved (253 default, 254 main, 255 local)" },
		{ TWO_SERVERS("{ id = \"s 2\"; address = \"198.18.2.12\"; mark = 2; table = 102; }"),
		  5, "servers[1].id \"s 2\" may only contain letters, digits, '_', '.' and '-'" },
		{ TWO_SERVERS("{ id = \"s23456789012345678901234567890ab\"; address = \"198.18.2.12\"; "
			      "mark = 2; table = 102; }"),
		  5, "servers[1].id is longer than 31 characters" },
		{ TWO_SERVERS("{ id = \"s2\"; address = \"198.18.2\"; mark = 2; table = 102; }"),
		  5, "servers[1].address \"198.18.2\" is not an IPv4 or IPv6 address" },
		{ "name = \"a/b\";\n", 1,
		  "name \"a/b\" may only contain letters, digits, '_', '.' and '-'" },
		{ "name = \"t\";\nvips = [ \"198.18.10.1\",\n  \"198.18.10.300\" ];\n", 3,
		  "vips[1] \"198.18.10.300\" is not an IPv4 or IPv6 address" },
		{ "name = \"t\";\nvips = [ \"224.0.0.1\" ];\n", 2,
		  "vips[0] \"224.0.0.1\" must be a unicast address" },
		{ "name = \"t\";\nvips = [ \"0.0.0.1\", \"0.0.0.2\", \"0.0.0.3\", \"0.0.0.4\", "
		  "\"0.0.0.5\", \"0.0.0.6\", \"0.0.0.7\", \"0.0.0.8\", \"0.0.0.9\", \"0.0.0.10\", "
		  "\"0.0.0.11\", \"0.0.0.12\", \"0.0.0.13\", \"0.0.0.14\", \"0.0.0.15\", "
		  "\"0.0.0.16\", \"0.0.0.17\" ];\n", 2, "vips has 17 addresses, at most 16" },
	};
	(void)state;
	RUN_CASES(cases);
}

static void test_too_many_servers(void **state)
{
	char text[8192];
	size_t used;
	(void)state;
	used = (size_t)snprintf(text, sizeof(text),
				"name = \"t\";\nvips = [ \"198.18.10.1\" ];\nservers = (\n");
	for (unsigned i = 0; i <= SARA_MAX_SERVERS; i++)
		used += (size_t)snprintf(text + used, sizeof(text) - used,
					 "{ id = \"s%u\"; address = \"10.0.0.%u\"; mark = %u; "
					 "table = %u; }%s\n", i, i + 1, i + 1, i + 1,
					 i < SARA_MAX_SERVERS ? "," : "");
	snprintf(text + used, sizeof(text) - used, ");\n");
	expect_error(text, 3, "servers has 65 entries, at most 64");
}

static void test_uniqueness(void **state)
{
	static const struct error_case cases[] = {
		{ "name = \"t\";\nvips = [ \"198.18.10.1\",\n  \"198.18.10.1\" ];\n"
		  "servers = ( { id = \"s1\"; address = \"198.18.2.11\"; mark = 1; table = 101; } );\n",
		  3, "vips[1] 198.18.10.1 is listed twice" },
		{ TWO_SERVERS("{ id = \"s1\"; address = \"198.18.2.12\"; mark = 2; table = 102; }"),
		  5, "servers[1].id \"s1\" is already used by servers[0]" },
		{ TWO_SERVERS("{ id = \"s2\"; address = \"198.18.2.11\"; mark = 2; table = 102; }"),
		  5, "servers[1].address 198.18.2.11 is already used by servers[0] (\"s1\")" },
		{ TWO_SERVERS("{ id = \"s2\"; address = \"198.18.2.12\"; mark = 1; table = 102; }"),
		  5, "servers[1].mark 1 is already used by servers[0] (\"s1\")" },
		{ TWO_SERVERS("{ id = \"s2\"; address = \"198.18.2.12\"; mark = 2; table = 101; }"),
		  5, "servers[1].table 101 is already used by servers[0] (\"s1\")" },
		{ BASE "ports = { sip = [ 5060,\n  5060 ]; };\n", 5, "ports.sip[1] 5060 is listed twice" },
	};
	(void)state;
	RUN_CASES(cases);
}

static void test_cross_key_rules(void **state)
{
	static const struct error_case cases[] = {
		{ BASE "admission = {\n  t1 = 0.8;\n  t2 = 0.8;\n};\n", 6,
		  "admission: t1 (0.8) must be below t2 (0.8)" },
		{ BASE "admission = { t2 = 0.95; };\n", 4, "admission: t2 (0.95) must be below t3 (0.9)" },
		{ BASE "admission = {\n  t3 = 0.99;\n};\n", 4,
		  "admission: t3 (0.99) must be below c (0.98)" },
		{ BASE "admission = { enabled = true;\n  policy = \"call-limit\"; };\n", 4,
		  "admission: policy \"call-limit\" needs call_limit (calls per server) above 0" },
		{ BASE "limits = { sessions = 200;\n  flows = 100; };\n", 5,
		  "limits: flows (100) must be at least sessions (200)" },
		{ BASE "ports = { sip = [ 5060,\n  554 ]; };\n", 5,
		  "port 554 is listed both in ports.sip and ports.rtsp" },
		{ BASE "ports = { sip = [ 5060 ];\n  rtsp = [ 5060 ]; };\n", 5,
		  "port 5060 is listed both in ports.sip and ports.rtsp" },
		{ BASE "ports = { sip = [ ]; rtsp = [ ]; };\n", 4,
		  "ports: at least one SIP or RTSP port is needed" },
		{ TWO_SERVERS("{ id = \"s2\"; address = \"fd00:10::1\"; mark = 2; table = 102; }"),
		  5, "servers[1].address fd00:10::1 is also a VIP" },
		{ BASE "queue = { first = 65535;\n  count = 2; };\n", 5,
		  "queue: first 65535 + count 2 goes past queue 65535" },
	};
	(void)state;
	RUN_CASES(cases);
}

/* A server's second address (address6), and VIP families without a route:
 * selection picks any server for any VIP, so every server needs an address
 * of every VIP family. */
static void test_vip_families(void **state)
{
	static const struct error_case cases[] = {
		{ "name = \"t\";\nvips = [ \"198.18.10.1\",\n  \"fd00:10::1\" ];\n"
		  "servers = ( { id = \"s1\"; address = \"198.18.2.11\"; mark = 1; table = 101; } );\n",
		  3, "vips[1] fd00:10::1 is IPv6 but no server has an IPv6 address (give the servers one with "
		  "address6)" },
		{ "name = \"t\";\nvips = [ \"198.18.10.1\" ];\n"
		  "servers = ( { id = \"s1\"; address = \"fd00:2::11\"; mark = 1; table = 101; } );\n",
		  2, "vips[0] 198.18.10.1 is IPv4 but no server has an IPv4 address" },
		{ TWO_SERVERS("{ id = \"s2\"; address = \"198.18.2.12\"; mark = 2; table = 102; }"),
		  5, "servers[1] (\"s2\") has no IPv6 address, but vips[1] fd00:10::1 is IPv6 and any server may get "
		  "its sessions: give it one with address6" },
		{ TWO_SERVERS("{ id = \"s2\"; address = \"fd00:2::12\"; mark = 2; table = 102; }"),
		  5, "servers[1] (\"s2\") has no IPv4 address, but vips[0] 198.18.10.1 is IPv4 and any server may get "
		  "its sessions: give it one as address, its IPv6 one as address6" },
		{ TWO_SERVERS("{ id = \"s2\"; address = \"198.18.2.12\"; address6 = \"198.18.2.22\"; mark = 2; "
			      "table = 102; }"),
		  5, "servers[1].address6 198.18.2.22 is not an IPv6 address" },
		{ TWO_SERVERS("{ id = \"s2\"; address = \"fd00:2::12\"; address6 = \"fd00:2::22\"; mark = 2; "
			      "table = 102; }"),
		  5, "servers[1] (\"s2\") has two IPv6 addresses (address fd00:2::12, address6 fd00:2::22): "
		  "address6 is the IPv6 address of a server whose address is IPv4" },
		{ TWO_SERVERS("{ id = \"s2\"; address = \"198.18.2.12\"; address6 = \"fd00:2::11\"; mark = 2; "
			      "table = 102; }"),
		  5, "servers[1].address6 fd00:2::11 is already used by servers[0] (\"s1\")" },
		{ TWO_SERVERS("{ id = \"s2\"; address = \"fd00:2::11\"; mark = 2; table = 102; }"),
		  5, "servers[1].address fd00:2::11 is already used by servers[0] (\"s1\")" },
		{ TWO_SERVERS("{ id = \"s2\"; address = \"198.18.2.12\"; address6 = \"fd00:10::1\"; mark = 2; "
			      "table = 102; }"),
		  5, "servers[1].address6 fd00:10::1 is also a VIP" },
		{ TWO_SERVERS("{ id = \"s2\"; address = \"198.18.2.12\"; address6 = \"v6\"; mark = 2; "
			      "table = 102; }"),
		  5, "servers[1].address6 \"v6\" is not an IPv4 or IPv6 address" },
	};
	struct sara_config cfg;
	char text[NETADDR_STRLEN];
	(void)state;
	RUN_CASES(cases);

	/* IPv6 only: no address6 needed */
	expect_loads("name = \"six\";\nvips = [ \"fd00:10::1\" ];\n"
		     "servers = ( { id = \"a\"; address = \"fd00:2::11\"; mark = 7; table = 7; } );\n", &cfg);
	assert_int_equal(cfg.servers[0].address6.family, 0);
	assert_null(server_config_address(&cfg.servers[0], NETADDR_IPV4));
	/* dual stack */
	expect_loads(TWO_SERVERS("{ id = \"s2\"; address = \"198.18.2.12\"; address6 = \"fd00:2::12\"; mark = 2; "
				 "table = 102; }"), &cfg);
	assert_string_equal(netaddr_format(server_config_address(&cfg.servers[1], NETADDR_IPV6), text, sizeof(text)),
			    "fd00:2::12");
	assert_string_equal(netaddr_format(server_config_address(&cfg.servers[1], NETADDR_IPV4), text, sizeof(text)),
			    "198.18.2.12");
	/* an IPv4-only cluster needs no address6 */
	expect_loads(BASE, &cfg);
}

static void test_validate_programmatic(void **state)
{
	struct sara_config cfg;
	char err[256];
	(void)state;
	sara_config_defaults(&cfg);
	assert_false(sara_config_validate(&cfg, err, sizeof(err)));
	assert_string_equal(err, "vips must list 1 to 16 addresses");

	assert_true(netaddr_parse(span_make("198.18.10.1", 11), &cfg.vips[0]));
	cfg.vip_count = 1;
	snprintf(cfg.servers[0].id, sizeof(cfg.servers[0].id), "s1");
	assert_true(netaddr_parse(span_make("198.18.2.11", 11), &cfg.servers[0].address));
	cfg.servers[0].mark = 1;
	cfg.servers[0].table = 101;
	cfg.servers[0].weight = 1.0;
	cfg.server_count = 1;
	assert_true(sara_config_validate(&cfg, err, sizeof(err)));

	cfg.admission.alpha = 1.5;
	assert_false(sara_config_validate(&cfg, err, sizeof(err)));
	assert_string_equal(err, "admission: alpha (1.5) must be between 0 and 1");
	cfg.admission.alpha = 0.7;
	cfg.admission.c = 1.01;
	assert_false(sara_config_validate(&cfg, err, sizeof(err)));
	assert_string_equal(err, "admission: c (1.01) must be at most 1");
	cfg.admission.c = 0.98;

	snprintf(cfg.path, sizeof(cfg.path), "x.cfg");
	cfg.servers[0].address = cfg.vips[0];
	assert_false(sara_config_validate(&cfg, err, sizeof(err)));
	assert_string_equal(err, "x.cfg: servers[0].address 198.18.10.1 is also a VIP");
}

/* ---- lookups ------------------------------------------------------------------- */

/* SIGHUP: live keys may change; each key a restart needs is refused by
 * name, and an invalid next config is refused by config_validate. */
static void expect_reload_refused(const struct sara_config *running, const struct sara_config *next,
				  const char *key)
{
	char err[512];
	assert_false(sara_config_reload_check(running, next, err, sizeof(err)));
	if (!strstr(err, key))
		print_error("expected \"%s\" in: %s\n", key, err);
	assert_non_null(strstr(err, key));
}

static void test_reload_check(void **state)
{
	struct sara_config running, next;
	char path[128], err[512];
	(void)state;
	conf_path("example.cfg", path, sizeof(path));
	assert_true(sara_config_load(path, &running, err, sizeof(err)));

	next = running;
	assert_true(sara_config_reload_check(&running, &next, err, sizeof(err)));
	next.timeouts.media_s = 45;
	next.timeouts.signalling_s = 50;
	next.timeouts.linger_s = 1;
	next.selection.algorithm = SELECT_HASH;
	next.servers[1].weight = 4.5;
	next.admission.enabled = !running.admission.enabled;
	next.admission.t1 = 0.5;
	next.admission.t2 = 0.6;
	next.admission.t3 = 0.7;
	next.admission.c = 0.8;
	next.admission.retry_after_s = 9;
	next.admission.reject = REJECT_DROP;
	next.limits.when_full = FULL_DROP;
	next.limits.malformed = MALFORMED_DROP;
	if (!sara_config_reload_check(&running, &next, err, sizeof(err)))
		print_error("%s\n", err);
	assert_true(sara_config_reload_check(&running, &next, err, sizeof(err)));

	next = running;
	next.servers[1].mark = 77;
	expect_reload_refused(&running, &next, "servers[1].mark");
	next = running;
	next.servers[2].address.bytes[3] ^= 1;
	expect_reload_refused(&running, &next, "servers[2].address");
	next = running;
	next.servers[1].address6.bytes[15] ^= 0x40;
	expect_reload_refused(&running, &next, "servers[1].address6");
	/* Servers come and go at run time; one that stays keeps its address,
	 * mark and table, wherever the file lists it. */
	next = running;
	next.server_count--;
	assert_true(sara_config_reload_check(&running, &next, err, sizeof(err)));
	next = running;
	next.servers[0] = running.servers[1];
	next.servers[1] = running.servers[0];
	assert_true(sara_config_reload_check(&running, &next, err, sizeof(err)));
	next.servers[0].mark = 77;
	expect_reload_refused(&running, &next, "servers[0].mark");
	expect_reload_refused(&running, &next, "under another id");
	next = running;
	next.vips[0].bytes[3] ^= 1;
	expect_reload_refused(&running, &next, "vips");
	next = running;
	snprintf(next.ha.redis_password_file, sizeof(next.ha.redis_password_file), "/etc/sara/redis.pass");
	expect_reload_refused(&running, &next, "ha.redis_password_file");
	next = running;
	next.sip_ports[0] = 5070;
	expect_reload_refused(&running, &next, "ports.sip");
	next = running;
	next.queue.first++;
	expect_reload_refused(&running, &next, "queue.first/count");
	next = running;
	next.limits.flows *= 2;
	expect_reload_refused(&running, &next, "limits.flows");
	next = running;
	next.selection.window++;
	expect_reload_refused(&running, &next, "selection.window");
	next = running;
	next.admission.replies_per_s++;
	expect_reload_refused(&running, &next, "admission.replies_per_s");
	next = running;
	snprintf(next.control.socket, sizeof(next.control.socket), "/run/other.sock");
	expect_reload_refused(&running, &next, "control.socket");
	next = running;
	assert_true(endpoint_parse(span_make("127.0.0.1:9101", 14), &next.metrics.listen));
	expect_reload_refused(&running, &next, "metrics.listen");
	/* Invalid as a whole (T1 above T2): config_validate's reason. */
	next = running;
	next.admission.t1 = 0.95;
	next.admission.t2 = 0.9;
	assert_false(sara_config_reload_check(&running, &next, err, sizeof(err)));
	assert_non_null(strstr(err, "t1"));
}

static void test_lookups(void **state)
{
	struct sara_config cfg;
	struct netaddr addr;
	char path[128], err[512];
	(void)state;
	assert_true(sara_config_load(conf_path("voice-1.cfg", path, sizeof(path)), &cfg, err,
				sizeof(err)));
	assert_true(netaddr_parse(span_make("fd00:10::1", 10), &addr));
	assert_true(sara_config_is_vip(&cfg, &addr));
	assert_int_equal(sara_config_server_by_address(&cfg, &addr), -1);
	assert_true(netaddr_parse(span_make("198.18.10.2", 11), &addr));
	assert_false(sara_config_is_vip(&cfg, &addr));
	assert_true(netaddr_parse(span_make("198.18.2.12", 11), &addr));
	assert_int_equal(sara_config_server_by_address(&cfg, &addr), 1);
	assert_ptr_equal(server_config_address(&cfg.servers[1], NETADDR_IPV4), &cfg.servers[1].address);
	/* a dual-stack server is found by either address */
	assert_true(netaddr_parse(span_make("fd00:2::12", 10), &addr));
	assert_int_equal(sara_config_server_by_address(&cfg, &addr), 1);
	assert_ptr_equal(server_config_address(&cfg.servers[1], NETADDR_IPV6), &cfg.servers[1].address6);
	assert_true(sara_config_is_sip_port(&cfg, 5060));
	assert_false(sara_config_is_sip_port(&cfg, 554));
	assert_true(sara_config_is_rtsp_port(&cfg, 8554));
	assert_false(sara_config_is_rtsp_port(&cfg, 5060));
	assert_string_equal(selection_algorithm_name(SELECT_SHELL), "shell");
	assert_string_equal(selection_algorithm_name(SELECT_ROUND_ROBIN), "round-robin");
	assert_string_equal(selection_algorithm_name(SELECT_LEAST_SESSIONS), "least-sessions");
	assert_string_equal(selection_algorithm_name(SELECT_HASH), "hash");
	assert_string_equal(selection_algorithm_name((enum selection_algorithm)42), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example_config_loads),
		cmocka_unit_test(test_voice1_config_loads),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_minimal_config_gets_defaults),
		cmocka_unit_test(test_accepted_forms),
		cmocka_unit_test(test_unreadable_file),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_missing_required_keys),
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_too_many_servers),
		cmocka_unit_test(test_uniqueness),
		cmocka_unit_test(test_cross_key_rules),
		cmocka_unit_test(test_vip_families),
		cmocka_unit_test(test_validate_programmatic),
		cmocka_unit_test(test_lookups),
		cmocka_unit_test(test_reload_check),
		cmocka_unit_test(test_ha_group),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
