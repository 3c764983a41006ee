/* test_key_file.c - unit tests for the control messages' key file: good
 * files, every refusal (mode, length, digits), generation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "io/key_file.h"

static const char *const KEY_HEX = "000102030405060708090a0b0c0d0e0f"
				   "101112131415161718191a1b1c1d1e1f";

static struct wire_key test_key(void)
{
	struct wire_key key;
	for (int i = 0; i < WIRE_KEY_SIZE; i++)
		key.bytes[i] = (uint8_t)i;
	return key;
}

/* ---- key files ---- */

struct keydir {
	char dir[64];
	char path[128];
};

static void keydir_make(struct keydir *k)
{
	snprintf(k->dir, sizeof(k->dir), "/tmp/sara-test-wire.XXXXXX");
	assert_non_null(mkdtemp(k->dir));
	snprintf(k->path, sizeof(k->path), "%s/cluster.key", k->dir);
}

static void keydir_remove(struct keydir *k)
{
	unlink(k->path);
	rmdir(k->dir);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f;
	unlink(path);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static void test_key_load_good(void **state)
{
	struct keydir k;
	struct wire_key key, expected = test_key();
	char err[256], text[160];
	(void)state;
	keydir_make(&k);
	snprintf(text, sizeof(text), "  \n%s\n\n", KEY_HEX);
	write_file(k.path, text, 0600);
	assert_true(key_file_load(k.path, &key, err, sizeof(err)));
	assert_memory_equal(key.bytes, expected.bytes, WIRE_KEY_SIZE);
	/* Upper-case hex and mode 0400 are fine. */
	snprintf(text, sizeof(text), "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F");
	write_file(k.path, text, 0400);
	assert_true(key_file_load(k.path, &key, err, sizeof(err)));
	assert_memory_equal(key.bytes, expected.bytes, WIRE_KEY_SIZE);
	keydir_remove(&k);
}

static void test_key_load_errors(void **state)
{
	struct keydir k;
	struct wire_key key;
	char err[256], text[400];
	(void)state;
	keydir_make(&k);

	assert_false(key_file_load(k.path, &key, err, sizeof(err)));
	assert_non_null(strstr(err, k.path));
	assert_non_null(strstr(err, "No such file"));

	snprintf(text, sizeof(text), "%s\n", KEY_HEX);
	text[10] = 'g';
	write_file(k.path, text, 0600);
	assert_false(key_file_load(k.path, &key, err, sizeof(err)));
	assert_non_null(strstr(err, "hex"));

	write_file(k.path, "00112233\n", 0600);
	assert_false(key_file_load(k.path, &key, err, sizeof(err)));
	assert_non_null(strstr(err, "64 hex digits"));

	snprintf(text, sizeof(text), "%s00\n", KEY_HEX);
	write_file(k.path, text, 0600);
	assert_false(key_file_load(k.path, &key, err, sizeof(err)));

	/* Two keys separated by a space are not one key. */
	snprintf(text, sizeof(text), "%.32s %.32s\n", KEY_HEX, KEY_HEX + 32);
	write_file(k.path, text, 0600);
	assert_false(key_file_load(k.path, &key, err, sizeof(err)));

	memset(text, 'a', 300);
	text[300] = '\0';
	write_file(k.path, text, 0600);
	assert_false(key_file_load(k.path, &key, err, sizeof(err)));
	assert_non_null(strstr(err, "too long"));

	write_file(k.path, "", 0600);
	assert_false(key_file_load(k.path, &key, err, sizeof(err)));

	snprintf(text, sizeof(text), "%s\n", KEY_HEX);
	write_file(k.path, text, 0644);
	assert_false(key_file_load(k.path, &key, err, sizeof(err)));
	assert_non_null(strstr(err, "0644"));
	write_file(k.path, text, 0640);
	assert_false(key_file_load(k.path, &key, err, sizeof(err)));
	write_file(k.path, text, 0602);
	assert_false(key_file_load(k.path, &key, err, sizeof(err)));

	/* A directory is not a key file. */
	assert_false(key_file_load(k.dir, &key, err, sizeof(err)));
	keydir_remove(&k);
}

static void test_key_generate(void **state)
{
	struct keydir k;
	struct wire_key first, second;
	struct stat st;
	char err[256];
	(void)state;
	keydir_make(&k);
	assert_true(key_file_generate(k.path, err, sizeof(err)));
	assert_int_equal(stat(k.path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 2 * WIRE_KEY_SIZE + 1);
	assert_true(key_file_load(k.path, &first, err, sizeof(err)));
	/* Never overwrites an existing key. */
	assert_false(key_file_generate(k.path, err, sizeof(err)));
	assert_non_null(strstr(err, "exists"));
	assert_true(key_file_load(k.path, &second, err, sizeof(err)));
	assert_memory_equal(first.bytes, second.bytes, WIRE_KEY_SIZE);
	unlink(k.path);
	assert_true(key_file_generate(k.path, err, sizeof(err)));
	assert_true(key_file_load(k.path, &second, err, sizeof(err)));
	assert_memory_not_equal(first.bytes, second.bytes, WIRE_KEY_SIZE);
	keydir_remove(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_load_good),
		cmocka_unit_test(test_key_load_errors),
		cmocka_unit_test(test_key_generate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
