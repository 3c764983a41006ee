/* version.h - the project's one version string, debian/changelog's, handed
 * to this module by the Makefile; and the line --version prints. */
#ifndef SARA_VERSION_H
#define SARA_VERSION_H

#include <stdio.h>

/* "0.1.0" */
const char *sara_version(void);
/* "PROG VERSION\n" on out: every program's --version. */
void version_print(FILE *out, const char *prog);

#endif
