/* parser_library.c - the process-wide set-up of libosip2, which the SIP and
 * SDP parsers share. */
#include "dpi/parser_library.h"

#include <osipparser2/osip_parser.h>
#include <osipparser2/osip_port.h>
#include <stdarg.h>
#include <stdbool.h>

/* libosip2 logs parse errors through its trace module, which the Debian
 * build sends to stderr with no logger configured. Installing a callback
 * at level 0 (nothing enabled) replaces the stderr default. */
static void osip_trace_discard(const char *file, int line, osip_trace_level_t level,
			       const char *format, va_list args)
{
	(void)file;
	(void)line;
	(void)level;
	(void)format;
	(void)args;
}

void parser_library_init(void)
{
	static bool initialised;
	if (initialised)
		return;
	parser_init();
	osip_trace_initialize_func(TRACE_LEVEL0, osip_trace_discard);
	for (int level = TRACE_LEVEL0; level < END_TRACE_LEVEL; level++)
		osip_trace_disable_level((osip_trace_level_t)level);
	initialised = true;
}

