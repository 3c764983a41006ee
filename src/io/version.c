/* version.c - the version string (version.h); SARA_VERSION comes from the
 * Makefile, which reads it from debian/changelog. */
#include "io/version.h"

#ifndef SARA_VERSION
#error "SARA_VERSION is not defined: build with the Makefile (it reads debian/changelog)"
#endif

const char *sara_version(void)
{
	return SARA_VERSION;
}

void version_print(FILE *out, const char *prog)
{
	fprintf(out, "%s %s\n", prog, SARA_VERSION);
}
