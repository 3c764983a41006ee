/* test_ha_configs.c - unit tests for src/sara-ctl/ha_configs.c: BIRD's,
 * conntrackd's and keepalived's configurations for
 * conf/ha/two-dispatchers.cfg (against the committed conf/ha/ files),
 * conntrackd NOTRACK multicast for three dispatchers (against
 * conf/ha/conntrackd-three-198.18.2.1.conf) and its bulk resend timer
 * (conf/ha/sara-conntrackd-resync-three.timer), keepalived's watch of
 * sara-gw, and the configurations that cannot be made. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "dpi/span.h"
#include "engine/config.h"
#include "io/config_file.h"
#include "sara-ctl/ha_configs.h"

/* Tests run from the repository root (make unit) or from tests/unit. */
static const char *repo_path(const char *name, char *buf, size_t size)
{
	static const char *const dirs[] = { ".", "../..", ".." };
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(buf, size, "%s/%s", dirs[i], name);
		if (access(buf, R_OK) == 0)
			return buf;
	}
	snprintf(buf, size, "%s", name);
	return buf;
}

static char *read_text(const char *name)
{
	char path[256];
	FILE *file = fopen(repo_path(name, path, sizeof(path)), "r");
	char *text = calloc(1, HA_CONFIG_TEXT_MAX);
	size_t len;
	assert_non_null(file);
	assert_non_null(text);
	len = fread(text, 1, HA_CONFIG_TEXT_MAX - 1, file);
	text[len] = '\0';
	fclose(file);
	return text;
}

static struct sara_config *load_two(void)
{
	struct sara_config *cfg = malloc(sizeof(*cfg));
	char path[256], err[512];
	bool ok;
	assert_non_null(cfg);
	ok = sara_config_load(repo_path("conf/ha/two-dispatchers.cfg", path, sizeof(path)), cfg, err, sizeof(err));
	if (!ok)
		print_error("%s\n", err);
	assert_true(ok);
	return cfg;
}

static struct netaddr addr(const char *text)
{
	struct netaddr a;
	assert_true(netaddr_parse(span_make(text, strlen(text)), &a));
	return a;
}

static void test_bird_matches_the_committed_file(void **state)
{
	struct sara_config *cfg = load_two();
	struct netaddr self = addr("198.18.2.1");
	char *want = read_text("conf/ha/bird-198.18.2.1.conf"), text[HA_CONFIG_TEXT_MAX], err[256];
	(void)state;
	assert_true(ha_bird_config(cfg, &self, text, sizeof(text), err, sizeof(err)));
	assert_string_equal(text, want);
	/* the other dispatcher differs in its router id only */
	self = addr("198.18.2.2");
	assert_true(ha_bird_config(cfg, &self, text, sizeof(text), err, sizeof(err)));
	assert_non_null(strstr(text, "router id 198.18.2.2;\n"));
	cfg->ha.bfd = false;
	assert_true(ha_bird_config(cfg, &self, text, sizeof(text), err, sizeof(err)));
	assert_null(strstr(text, "bfd"));
	free(want);
	free(cfg);
}

static void test_conntrackd_matches_the_committed_file(void **state)
{
	struct sara_config *cfg = load_two();
	struct netaddr self = addr("198.18.2.1");
	char *want = read_text("conf/ha/conntrackd-198.18.2.1.conf"), text[HA_CONFIG_TEXT_MAX], err[256];
	(void)state;
	assert_true(ha_conntrackd_config(cfg, &self, text, sizeof(text), err, sizeof(err)));
	assert_string_equal(text, want);
	/* the peer sends to us */
	self = addr("198.18.2.2");
	assert_true(ha_conntrackd_config(cfg, &self, text, sizeof(text), err, sizeof(err)));
	assert_non_null(strstr(text, "\t\tIPv4_address 198.18.2.2\n\t\tIPv4_Destination_Address 198.18.2.1\n"));
	free(want);
	free(cfg);
}

/* a third dispatcher, 198.18.2.3: NOTRACK over multicast, never FTFW (its
 * single sequence tracking drops messages among three) */
static void test_three_dispatchers_use_notrack_multicast(void **state)
{
	struct sara_config *cfg = load_two();
	struct netaddr self = addr("198.18.2.1");
	char *want = read_text("conf/ha/conntrackd-three-198.18.2.1.conf"), text[HA_CONFIG_TEXT_MAX], err[256];
	(void)state;
	cfg->ha.dispatchers[cfg->ha.dispatcher_count++] = addr("198.18.2.3");
	assert_true(ha_conntrackd_config(cfg, &self, text, sizeof(text), err, sizeof(err)));
	assert_string_equal(text, want);
	assert_null(strstr(text, "FTFW {"));
	self = addr("198.18.2.3");
	assert_true(ha_conntrackd_config(cfg, &self, text, sizeof(text), err, sizeof(err)));
	assert_non_null(strstr(text, "\tMode NOTRACK {\n\t\tDisableExternalCache yes\n\t\tStartupResync on\n\t}\n"
				     "\tMulticast {\n\t\tIPv4_address 225.0.0.50\n\t\tGroup 3780\n"
				     "\t\tIPv4_interface 198.18.2.3\n\t\tSndSocketBuffer 1249280\n"
				     "\t\tRcvSocketBuffer 1249280\n\t\tInterface sync0\n\t\tChecksum on\n\t}\n"));
	cfg->ha.sync_group = addr("239.1.2.3");
	assert_true(ha_conntrackd_config(cfg, &self, text, sizeof(text), err, sizeof(err)));
	assert_non_null(strstr(text, "IPv4_address 239.1.2.3\n"));
	cfg->ha.sync_interface[0] = '\0';
	assert_false(ha_conntrackd_config(cfg, &self, text, sizeof(text), err, sizeof(err)));
	assert_non_null(strstr(err, "ha.sync_interface is needed"));
	free(want);
	free(cfg);
}

/* conntrackd refuses its whole file over an interface name its lexer takes
 * for a number (tried with conntrackd 1.4.7): sara-ctl says so instead */
static void test_conntrackd_refuses_interface_names_read_as_numbers(void **state)
{
	static const char *const refused[] = { "d1", "e0", "a", "abcd", "ab12", "0", "12345", "1e5", "0x1" };
	static const char *const taken[] = { "sync0", "eth0.100", "br-lan", "lan_0", "abcde", "ffff1", "x" };
	struct sara_config *cfg = load_two();
	struct netaddr self = addr("198.18.2.1");
	char text[HA_CONFIG_TEXT_MAX], err[512];
	(void)state;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		snprintf(cfg->ha.sync_interface, sizeof(cfg->ha.sync_interface), "%s", refused[i]);
		assert_false(ha_conntrackd_config(cfg, &self, text, sizeof(text), err, sizeof(err)));
		assert_non_null(strstr(err, "conntrackd reads a name"));
		assert_non_null(strstr(err, refused[i]));
	}
	for (size_t i = 0; i < sizeof(taken) / sizeof(taken[0]); i++) {
		char line[64];
		snprintf(cfg->ha.sync_interface, sizeof(cfg->ha.sync_interface), "%s", taken[i]);
		assert_true(ha_conntrackd_config(cfg, &self, text, sizeof(text), err, sizeof(err)));
		snprintf(line, sizeof(line), "\t\tInterface %s\n", taken[i]);
		assert_non_null(strstr(text, line));
	}
	free(cfg);
}

/* NOTRACK's repair among three: the systemd timer of conntrackd -B, its
 * period ha.sync_resync_s, and the conntrackd configuration saying so */
static void test_three_dispatchers_resend_in_bulk(void **state)
{
	struct sara_config *cfg = load_two();
	struct netaddr self = addr("198.18.2.1");
	char *want = read_text("conf/ha/sara-conntrackd-resync-three.timer"), text[HA_CONFIG_TEXT_MAX], err[256];
	(void)state;
	assert_int_equal(cfg->ha.sync_resync_s, HA_SYNC_RESYNC_S_DEFAULT);
	/* two dispatchers: FTFW resends, no timer */
	assert_false(ha_conntrackd_timer(cfg, text, sizeof(text), err, sizeof(err)));
	assert_non_null(strstr(err, "3 or more ha.dispatchers"));
	assert_true(ha_conntrackd_config(cfg, &self, text, sizeof(text), err, sizeof(err)));
	assert_null(strstr(text, "sync_resync_s"));
	cfg->ha.dispatchers[cfg->ha.dispatcher_count++] = addr("198.18.2.3");
	assert_true(ha_conntrackd_timer(cfg, text, sizeof(text), err, sizeof(err)));
	assert_string_equal(text, want);
	cfg->ha.sync_resync_s = 7;
	assert_true(ha_conntrackd_timer(cfg, text, sizeof(text), err, sizeof(err)));
	assert_non_null(strstr(text, "\n[Timer]\nOnActiveSec=7s\nOnUnitActiveSec=7s\nAccuracySec=1s\n"));
	assert_non_null(strstr(text, "every 7 s (ha.sync_resync_s)"));
	assert_true(ha_conntrackd_config(cfg, &self, text, sizeof(text), err, sizeof(err)));
	assert_non_null(strstr(text, "# the whole table sent again every 7 s (ha.sync_resync_s) by\n"));
	assert_false(ha_conntrackd_timer(cfg, text, 100, err, sizeof(err)));
	assert_non_null(strstr(err, "longer than 100 bytes"));
	cfg->ha.sync_resync_s = 0;
	assert_false(ha_conntrackd_timer(cfg, text, sizeof(text), err, sizeof(err)));
	assert_non_null(strstr(err, "ha.sync_resync_s is 0"));
	assert_true(ha_conntrackd_config(cfg, &self, text, sizeof(text), err, sizeof(err)));
	assert_non_null(strstr(text, "# never sent again in bulk (ha.sync_resync_s = 0)"));
	free(want);
	free(cfg);
}

static void test_what_cannot_be_made(void **state)
{
	struct sara_config *cfg = load_two();
	struct netaddr self = addr("198.18.2.9");
	char text[HA_CONFIG_TEXT_MAX], err[256];
	(void)state;
	assert_false(ha_bird_config(cfg, &self, text, sizeof(text), err, sizeof(err)));
	assert_non_null(strstr(err, "198.18.2.9 is not in ha.dispatchers"));
	self = addr("198.18.2.1");
	assert_false(ha_bird_config(cfg, &self, text, 64, err, sizeof(err)));
	assert_non_null(strstr(err, "longer than 64 bytes"));
	cfg->vips[0] = addr("fd00:77::20");
	assert_false(ha_bird_config(cfg, &self, text, sizeof(text), err, sizeof(err)));
	assert_non_null(strstr(err, "no VIP of ha.router's address family"));
	memset(&cfg->ha.router, 0, sizeof(cfg->ha.router));
	assert_false(ha_bird_config(cfg, &self, text, sizeof(text), err, sizeof(err)));
	assert_non_null(strstr(err, "ha.router is not set"));
	cfg->ha.dispatcher_count = 1;
	assert_false(ha_conntrackd_config(cfg, &self, text, sizeof(text), err, sizeof(err)));
	assert_non_null(strstr(err, "at least 2 dispatchers"));
	free(cfg);
}

/* the committed file's interfaces: the server LAN's, the router's; its
 * check, as sara-ctl installed in /usr/sbin makes it */
static const char vrrp_names[][HA_IFNAME_MAX] = { "eth1", "eth0" };
#define CHECK "/usr/sbin/sara-ctl -c /etc/sara/voice-ha.cfg gw-check"

static void test_keepalived_matches_the_committed_file(void **state)
{
	struct sara_config *cfg = load_two();
	struct netaddr self = addr("198.18.2.252");
	char *want = read_text("conf/ha/keepalived-198.18.2.252.conf"), text[HA_CONFIG_TEXT_MAX], err[256];
	(void)state;
	assert_true(ha_keepalived_config(cfg, &self, vrrp_names, CHECK, text, sizeof(text), err, sizeof(err)));
	assert_string_equal(text, want);
	/* the second gateway: the same priority (sara-gw watched), its own
	 * router id */
	self = addr("198.18.2.253");
	assert_true(ha_keepalived_config(cfg, &self, vrrp_names, CHECK, text, sizeof(text), err, sizeof(err)));
	assert_non_null(strstr(text, "\trouter_id voice-ha-gw2\n"));
	assert_non_null(strstr(text, "\tinterface eth0\n\tvirtual_router_id 52\n\tpriority 200\n\tadvert_int 0.10\n"
				     "\tvirtual_ipaddress {\n\t\t198.18.1.254/32 dev eth0\n"));
	assert_null(strstr(text, "priority 190"));
	cfg->ha.vrrp_advert_ms = 1250;
	assert_true(ha_keepalived_config(cfg, &self, vrrp_names, CHECK, text, sizeof(text), err, sizeof(err)));
	assert_non_null(strstr(text, "\tadvert_int 1.25\n"));
	free(want);
	free(cfg);
}

/* The group tracks sara-gw's check, unweighed: its failure is the group's
 * FAULT (a weight would move nothing under nopreempt). */
static void test_keepalived_watches_sara_gw(void **state)
{
	struct sara_config *cfg = load_two();
	struct netaddr self = addr("198.18.2.253");
	char text[HA_CONFIG_TEXT_MAX], err[256];
	(void)state;
	assert_true(ha_keepalived_config(cfg, &self, vrrp_names, CHECK, text, sizeof(text), err, sizeof(err)));
	assert_non_null(strstr(text, "\tscript_user root\n\tenable_script_security\n}\n"));
	assert_non_null(strstr(text, "vrrp_script sara_gw_alive {\n\tscript \"" CHECK "\"\n\tinterval 1\n"
				     "\ttimeout 1\n\tfall 2\n\trise 2\n\tweight -50\n}\n"));
	assert_non_null(strstr(text, "(gateway.metrics,\n# 127.0.0.1:9101)"));
	/* weighed in every instance, the group told to honour weights: a
	 * failed check lowers the priority, never a FAULT that could leave
	 * the replies no gateway when every sara-gw is dead */
	assert_non_null(strstr(text, "\t\tsara_vrrp_52\n\t}\n\tsync_group_tracking_weight\n}\n"));
	assert_non_null(strstr(text, "\t\t198.18.2.254/32 dev eth1\n\t}\n\ttrack_script {\n\t\tsara_gw_alive\n\t}\n}\n"));
	assert_non_null(strstr(text, "\t\t198.18.1.254/32 dev eth0\n\t}\n\ttrack_script {\n\t\tsara_gw_alive\n\t}\n}\n"));
	/* equal priorities, preempting only a lower one: the second gateway
	 * has the first's priority, and nothing moves while both are well */
	assert_null(strstr(text, "nopreempt"));
	assert_non_null(strstr(text, "\tpriority 200\n"));
	assert_null(strstr(text, "\tpriority 190\n"));

	/* no endpoint to ask: nothing watched, and the file says so */
	memset(&cfg->gateway.metrics, 0, sizeof(cfg->gateway.metrics));
	assert_true(ha_keepalived_config(cfg, &self, vrrp_names, NULL, text, sizeof(text), err, sizeof(err)));
	assert_non_null(strstr(text, "# No preemption. gateway.metrics is not set: keepalived does not watch\n# sara-gw"));
	assert_null(strstr(text, "vrrp_script"));
	assert_null(strstr(text, "track_script"));
	assert_null(strstr(text, "script_user"));
	/* unwatched: the first gateway preferred, no preemption */
	assert_non_null(strstr(text, "\tnopreempt\n"));
	assert_non_null(strstr(text, "\tpriority 190\n"));
	free(cfg);
}

static void test_keepalived_that_cannot_be_made(void **state)
{
	struct sara_config *cfg = load_two();
	struct netaddr self = addr("198.18.2.1");
	char text[HA_CONFIG_TEXT_MAX], err[256];
	(void)state;
	assert_false(ha_keepalived_config(cfg, &self, vrrp_names, CHECK, text, sizeof(text), err, sizeof(err)));
	assert_non_null(strstr(err, "198.18.2.1 is not in ha.gateways"));
	self = addr("198.18.2.252");
	assert_false(ha_keepalived_config(cfg, &self, vrrp_names, CHECK, text, 100, err, sizeof(err)));
	assert_non_null(strstr(err, "longer than 100 bytes"));
	/* a check keepalived could not run as written */
	assert_false(ha_keepalived_config(cfg, &self, vrrp_names, NULL, text, sizeof(text), err, sizeof(err)));
	assert_non_null(strstr(err, "no check command keepalived can run"));
	assert_false(ha_keepalived_config(cfg, &self, vrrp_names, "/opt/my \"sara\"/sara-ctl -c x gw-check", text,
					  sizeof(text), err, sizeof(err)));
	assert_non_null(strstr(err, "no check command keepalived can run"));
	cfg->ha.vrrp_address_count = 0;
	assert_false(ha_keepalived_config(cfg, &self, vrrp_names, CHECK, text, sizeof(text), err, sizeof(err)));
	assert_non_null(strstr(err, "ha.vrrp_addresses is empty"));
	cfg->ha.gateway_count = 1;
	assert_false(ha_keepalived_config(cfg, &self, vrrp_names, CHECK, text, sizeof(text), err, sizeof(err)));
	assert_non_null(strstr(err, "at least 2 gateways"));
	free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bird_matches_the_committed_file),
		cmocka_unit_test(test_conntrackd_matches_the_committed_file),
		cmocka_unit_test(test_three_dispatchers_use_notrack_multicast),
		cmocka_unit_test(test_conntrackd_refuses_interface_names_read_as_numbers),
		cmocka_unit_test(test_three_dispatchers_resend_in_bulk),
		cmocka_unit_test(test_what_cannot_be_made),
		cmocka_unit_test(test_keepalived_matches_the_committed_file),
		cmocka_unit_test(test_keepalived_watches_sara_gw),
		cmocka_unit_test(test_keepalived_that_cannot_be_made),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
