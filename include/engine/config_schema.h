/* config_schema.h - the configuration's keys as a table: name, type, bounds
 * and where each value lands in struct sara_config. A reader (io/config_file)
 * walks it; the engine owns it so defaults, bounds and rules live together. */
#ifndef SARA_CONFIG_SCHEMA_H
#define SARA_CONFIG_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum key_type {
	KEY_GROUP,     /* a section: its own table, same base */
	KEY_UINT,      /* integer within [min, max], stored in a field of `size` bytes */
	KEY_FLOAT,     /* number (integers accepted) within bounds */
	KEY_BOOL,
	KEY_STRING,    /* non-empty, fits a buffer of `size` bytes */
	KEY_IDENT,     /* like KEY_STRING, [A-Za-z0-9_.-] only */
	KEY_CHOICE,    /* one of `choices`, stored as int */
	KEY_ADDRESS,   /* one IPv4/IPv6 address */
	KEY_MULTICAST, /* one IPv4/IPv6 multicast address (a group to join) */
	KEY_ENDPOINT,  /* "addr:port" or "[v6]:port" */
	KEY_PORTS,     /* array of ports into uint16_t[capacity] + unsigned count */
	KEY_ADDRESSES, /* array of addresses into netaddr[capacity] + unsigned count */
	KEY_SERVERS,   /* list of server groups, each read through server_key_table */
};

struct key_choice {
	const char *name;
	int value;
};

struct key_table;

struct key_spec {
	const char *name;
	enum key_type type;
	size_t offset;       /* where the value lands, from the group's base */
	size_t size;         /* field width (KEY_UINT) or buffer size (strings) */
	uint64_t min, max;   /* KEY_UINT, inclusive */
	double fmin, fmax;   /* KEY_FLOAT; fmin exclusive when min_exclusive */
	bool min_exclusive;
	const struct key_choice *choices;  /* KEY_CHOICE, ends with a NULL name */
	const struct key_table *section;   /* KEY_GROUP */
	size_t count_offset, capacity;     /* KEY_PORTS, KEY_ADDRESSES */
	bool required;
};

struct key_table {
	const struct key_spec *keys;
	size_t count;
};

#define KEYS_PER_GROUP_MAX 24  /* a reader's seen[] per group */

/* The file's top level (base: struct sara_config) and one server's group
 * (base: struct server_config, weight defaulting to 1). */
extern const struct key_table config_top_keys;
extern const struct key_table server_key_table;

/* A key's own table lookup, NULL when the group has no such key. */
const struct key_spec *key_table_find(const struct key_table *table, const char *name);

#endif
