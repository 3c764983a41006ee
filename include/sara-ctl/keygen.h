/* keygen.h - sara-ctl keygen: a new random cluster key at the config's
 * key_file, never over an existing one. */
#ifndef SARA_CTL_KEYGEN_H
#define SARA_CTL_KEYGEN_H

#include "engine/config.h"

/* Returns 0 or EXIT_FAILED (after saying why on stderr). */
int keygen_write(const struct sara_config *cfg);

#endif
