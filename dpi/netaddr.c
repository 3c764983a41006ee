/* netaddr.c - parsing and printing of IPv4/IPv6 addresses and endpoints. */
#include "dpi/netaddr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

_Static_assert(NETADDR_IPV4 == AF_INET && NETADDR_IPV6 == AF_INET6, "family values");

bool netaddr_parse(struct span s, struct netaddr *out)
{
	char text[INET6_ADDRSTRLEN + 1];
	s = span_trim(s);
	if (s.len >= 2 && s.ptr[0] == '[' && s.ptr[s.len - 1] == ']') {
		s.ptr++;
		s.len -= 2;
	}
	if (s.len == 0 || s.len > INET6_ADDRSTRLEN)
		return false;
	memcpy(text, s.ptr, s.len);
	text[s.len] = '\0';
	memset(out, 0, sizeof(*out));
	if (memchr(text, ':', s.len)) {
		if (inet_pton(AF_INET6, text, out->bytes) != 1)
			return false;
		out->family = AF_INET6;
		return true;
	}
	if (inet_pton(AF_INET, text, out->bytes) != 1)
		return false;
	out->family = AF_INET;
	return true;
}

bool netaddr_equal(const struct netaddr *a, const struct netaddr *b)
{
	return a->family == b->family && memcmp(a->bytes, b->bytes, 16) == 0;
}

bool endpoint_equal(const struct endpoint *a, const struct endpoint *b)
{
	if (!a->addr.family || !b->addr.family)
		return a->addr.family == b->addr.family;
	return netaddr_equal(&a->addr, &b->addr) && a->port == b->port;
}

bool netaddr_is_unspecified(const struct netaddr *a)
{
	static const uint8_t zero[16];
	return a->family != 0 && memcmp(a->bytes, zero, 16) == 0;
}

bool netaddr_is_multicast(const struct netaddr *a)
{
	if (a->family == AF_INET)
		return (a->bytes[0] & 0xf0) == 0xe0;
	if (a->family == AF_INET6)
		return a->bytes[0] == 0xff;
	return false;
}

const char *netaddr_format(const struct netaddr *a, char *buf, size_t size)
{
	if (size == 0)
		return buf;
	if (a->family != AF_INET && a->family != AF_INET6) {
		snprintf(buf, size, "-");
		return buf;
	}
	if (!inet_ntop(a->family, a->bytes, buf, (socklen_t)size))
		snprintf(buf, size, "?");
	return buf;
}

const char *endpoint_format(const struct endpoint *e, char *buf, size_t size)
{
	char addr[NETADDR_STRLEN];
	netaddr_format(&e->addr, addr, sizeof(addr));
	if (e->addr.family == AF_INET6)
		snprintf(buf, size, "[%s]:%u", addr, e->port);
	else
		snprintf(buf, size, "%s:%u", addr, e->port);
	return buf;
}

bool endpoint_parse(struct span s, struct endpoint *out)
{
	struct span host, port;
	uint32_t value;
	s = span_trim(s);
	if (s.len == 0)
		return false;
	if (s.ptr[0] == '[') {
		const char *close = memchr(s.ptr, ']', s.len);
		if (!close || (size_t)(close - s.ptr) + 2 > s.len || close[1] != ':')
			return false;
		host = span_make(s.ptr, (size_t)(close - s.ptr) + 1);
		port = span_make(close + 2, s.len - host.len - 1);
	} else {
		const char *colon = memrchr(s.ptr, ':', s.len);
		if (!colon || memchr(s.ptr, ':', (size_t)(colon - s.ptr)))
			return false; /* unbracketed IPv6 is ambiguous */
		host = span_make(s.ptr, (size_t)(colon - s.ptr));
		port = span_make(colon + 1, s.len - host.len - 1);
	}
	if (!span_to_u32(port, 65535, &value) || !netaddr_parse(host, &out->addr))
		return false;
	out->port = (uint16_t)value;
	return true;
}
