/* keygen.c - writes a new cluster key (keygen.h). */
#include "sara-ctl/keygen.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "io/key_file.h"
#include "sara-ctl/ctl.h"

int keygen_write(const struct sara_config *cfg)
{
	char err[512], dir[SARA_PATH_MAX];
	char *slash;
	struct stat st;

	if (lstat(cfg->key_file, &st) == 0) {
		fprintf(stderr, "%s: %s exists; refusing to overwrite a key (delete it first to rotate)\n", CTL_PROGRAM,
			cfg->key_file);
		return EXIT_FAILED;
	}
	/* Create the key's directory (one level, e.g. /etc/sara) when missing. */
	snprintf(dir, sizeof(dir), "%s", cfg->key_file);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (stat(dir, &st) != 0 && mkdir(dir, 0700) != 0) {
			fprintf(stderr, "%s: cannot create %s: %s\n", CTL_PROGRAM, dir, strerror(errno));
			return EXIT_FAILED;
		}
	}
	if (!key_file_generate(cfg->key_file, err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", CTL_PROGRAM, err);
		return EXIT_FAILED;
	}
	printf("%s: wrote a new key to %s (mode 0600); copy it to every sara-gw and sara-agent host\n", CTL_PROGRAM,
	       cfg->key_file);
	return 0;
}
