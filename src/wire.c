/* wire.c - authenticated control messages (wire.h): big-endian header, body,
 * crypto_auth tag; per-sender replay windows; key files. */
#include "wire.h"

#include "byte_order.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#define KEY_FILE_MAX 256  /* 64 hex digits plus generous whitespace */

static bool sodium_ok;

static void sodium_once(void)
{
	sodium_ok = sodium_init() >= 0;
}

/* sodium_init once per process (it picks the fastest implementations). */
static bool sodium_ready(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, sodium_once);
	return sodium_ok;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool wire_key_load(const char *path, struct wire_key *key, char *err, size_t err_size)
{
	char text[KEY_FILE_MAX + 1];
	size_t len = 0, start, end;
	struct stat st;
	bool ok = false;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		snprintf(err, err_size, "%s: %s", path, strerror(errno));
		return false;
	}
	if (fstat(fd, &st) != 0) {
		snprintf(err, err_size, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, err_size, "%s: not a regular file", path);
		goto out;
	}
	/* A cluster key readable by others lets them forge announcements. */
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(err, err_size, "%s: mode %04o is open to group or others (chmod 600)", path,
			 (unsigned)(st.st_mode & 07777));
		goto out;
	}
	while (len < sizeof(text)) {
		ssize_t r = read(fd, text + len, sizeof(text) - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, err_size, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > KEY_FILE_MAX) {
		snprintf(err, err_size, "%s: too long for a key file (want 64 hex digits)", path);
		goto out;
	}
	start = 0;
	end = len;
	while (start < end && is_space(text[start]))
		start++;
	while (end > start && is_space(text[end - 1]))
		end--;
	if (end - start != 2 * WIRE_KEY_SIZE) {
		snprintf(err, err_size, "%s: key has %zu characters, want %d hex digits", path,
			 end - start, 2 * WIRE_KEY_SIZE);
		goto out;
	}
	for (size_t i = 0; i < WIRE_KEY_SIZE; i++) {
		int hi = hex_value(text[start + 2 * i]), lo = hex_value(text[start + 2 * i + 1]);
		if (hi < 0 || lo < 0) {
			snprintf(err, err_size, "%s: not a hex digit at offset %zu", path,
				 start + 2 * i + (hi < 0 ? 0 : 1));
			sodium_memzero(key, sizeof(*key));
			goto out;
		}
		key->bytes[i] = (uint8_t)(hi << 4 | lo);
	}
	ok = true;
out:
	sodium_memzero(text, sizeof(text));
	close(fd);
	return ok;
}

bool wire_key_generate(const char *path, char *err, size_t err_size)
{
	uint8_t key[WIRE_KEY_SIZE];
	char text[2 * WIRE_KEY_SIZE + 2];
	size_t done = 0, len;
	bool ok = false;
	int fd;
	if (!sodium_ready()) {
		snprintf(err, err_size, "%s: libsodium cannot initialise", path);
		return false;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		snprintf(err, err_size, "%s: %s", path, strerror(errno));
		return false;
	}
	randombytes_buf(key, sizeof(key));
	sodium_bin2hex(text, sizeof(text), key, sizeof(key));
	len = strlen(text);
	text[len++] = '\n';
	while (done < len) {
		ssize_t w = write(fd, text + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			snprintf(err, err_size, "%s: %s", path, strerror(errno));
			goto out;
		}
		done += (size_t)w;
	}
	if (fsync(fd) != 0) {
		snprintf(err, err_size, "%s: %s", path, strerror(errno));
		goto out;
	}
	ok = true;
out:
	sodium_memzero(key, sizeof(key));
	sodium_memzero(text, sizeof(text));
	if (close(fd) != 0 && ok) {
		snprintf(err, err_size, "%s: %s", path, strerror(errno));
		ok = false;
	}
	if (!ok)
		unlink(path);
	return ok;
}

size_t wire_seal(const struct wire_key *key, const struct wire_header *hdr, const uint8_t *body,
		 uint8_t *out, size_t cap)
{
	size_t len = WIRE_HEADER_SIZE + (size_t)hdr->body_len;
	if (hdr->body_len > WIRE_MAX_BODY || cap < len + WIRE_TAG_SIZE || !sodium_ready())
		return 0;
	put_be32(out, WIRE_MAGIC);
	out[4] = WIRE_VERSION;
	out[5] = hdr->type;
	put_be16(out + 6, hdr->body_len);
	put_be32(out + 8, hdr->sender);
	put_be64(out + 12, hdr->seq);
	put_be64(out + 20, hdr->time_ms);
	if (hdr->body_len)
		memcpy(out + WIRE_HEADER_SIZE, body, hdr->body_len);
	crypto_auth(out + len, out, len, key->bytes);
	return len + WIRE_TAG_SIZE;
}

/* The sender's replay entry, created on first sight; NULL when full. */
static struct wire_replay_entry *replay_entry(struct wire_replay *replay, uint32_t sender)
{
	struct wire_replay_entry *free_entry = NULL;
	for (size_t i = 0; i < WIRE_MAX_SENDERS; i++) {
		struct wire_replay_entry *e = &replay->senders[i];
		if (e->used && e->sender == sender)
			return e;
		if (!e->used && !free_entry)
			free_entry = e;
	}
	return free_entry;
}

/* Bit i of window: sequence highest - i was accepted. */
static bool replay_accept(struct wire_replay_entry *e, uint32_t sender, uint64_t seq)
{
	uint64_t distance;
	if (!e->used) {
		e->used = true;
		e->sender = sender;
		e->highest = seq;
		e->window = 1;
		return true;
	}
	if (seq > e->highest) {
		distance = seq - e->highest;
		e->window = distance >= WIRE_REPLAY_WINDOW ? 1 : (e->window << distance) | 1;
		e->highest = seq;
		return true;
	}
	distance = e->highest - seq;
	if (distance >= WIRE_REPLAY_WINDOW || (e->window & (1ull << distance)))
		return false;
	e->window |= 1ull << distance;
	return true;
}

enum wire_verdict wire_open(const struct wire_key *key, struct wire_replay *replay, const uint8_t *msg,
			    size_t len, uint64_t now_wall_ms, uint32_t max_skew_ms, struct wire_header *hdr,
			    const uint8_t **body)
{
	struct wire_header h;
	struct wire_replay_entry *entry;
	size_t signed_len;
	uint64_t skew;
	if (len < WIRE_HEADER_SIZE + WIRE_TAG_SIZE)
		return WIRE_TRUNCATED;
	if (get_be32(msg) != WIRE_MAGIC || msg[4] != WIRE_VERSION)
		return WIRE_BAD_MAGIC;
	memset(&h, 0, sizeof(h));
	h.type = msg[5];
	h.body_len = get_be16(msg + 6);
	h.sender = get_be32(msg + 8);
	h.seq = get_be64(msg + 12);
	h.time_ms = get_be64(msg + 20);
	signed_len = WIRE_HEADER_SIZE + (size_t)h.body_len;
	if (h.body_len > WIRE_MAX_BODY || len != signed_len + WIRE_TAG_SIZE)
		return WIRE_TRUNCATED;
	if (!sodium_ready() || crypto_auth_verify(msg + signed_len, msg, signed_len, key->bytes) != 0)
		return WIRE_FORGED;
	skew = h.time_ms > now_wall_ms ? h.time_ms - now_wall_ms : now_wall_ms - h.time_ms;
	if (skew > max_skew_ms)
		return WIRE_STALE;
	entry = replay_entry(replay, h.sender);
	if (!entry)
		return WIRE_TOO_MANY_SENDERS;
	if (!replay_accept(entry, h.sender, h.seq))
		return WIRE_REPLAYED;
	*hdr = h;
	*body = msg + WIRE_HEADER_SIZE;
	return WIRE_OK;
}

const char *wire_verdict_name(enum wire_verdict verdict)
{
	static const char *const names[WIRE_VERDICT_COUNT] = {
		[WIRE_OK] = "wire_ok",
		[WIRE_TRUNCATED] = "wire_truncated",
		[WIRE_BAD_MAGIC] = "wire_bad_magic",
		[WIRE_FORGED] = "wire_forged",
		[WIRE_REPLAYED] = "wire_replayed",
		[WIRE_STALE] = "wire_stale",
		[WIRE_TOO_MANY_SENDERS] = "wire_too_many_senders",
	};
	if ((unsigned)verdict >= WIRE_VERDICT_COUNT)
		return "wire_unknown";
	return names[verdict];
}
