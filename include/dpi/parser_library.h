/* parser_library.h - process-wide libosip2 set-up shared by the SIP and SDP
 * parsers (parser tables; its stderr trace silenced). */
#ifndef SARA_PARSER_LIBRARY_H
#define SARA_PARSER_LIBRARY_H

/* Idempotent; sip_parse() and sdp_parse() call it on first use. Call it
 * once before starting threads that parse. */
void parser_library_init(void);

#endif
