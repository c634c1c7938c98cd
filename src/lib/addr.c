/*
 * addr: parsing, formatting and comparing socket addresses. See addr.h.
 */
#include "addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "number.h"

enum host_kind addr_host_kind(const char *text)
{
	size_t length = strlen(text);
	struct in_addr ipv4;

	if (length == 0)
		return HOST_INVALID;
	if (text[0] == '[' || strchr(text, ':') != NULL) {
		struct address parsed;
		return addr_parse_numeric(text, 0, &parsed) == 0 ? HOST_IPV6 : HOST_INVALID;
	}
	if (strspn(text, "0123456789.") == length)
		return inet_pton(AF_INET, text, &ipv4) == 1 ? HOST_IPV4 : HOST_INVALID;

	/*
	 * Anything inet_aton takes ("127.1", "0x7f000001") is an IPv4 address in
	 * an old spelling, which getaddrinfo would quietly accept: refuse it, so
	 * that only the strict dotted quad counts as IPv4.
	 */
	if (inet_aton(text, &ipv4) != 0)
		return HOST_INVALID;

	/* A host name (RFC 1123): dot-separated labels of letters, digits and inner hyphens. */
	if (text[length - 1] == '.')
		length--; /* one trailing dot, as in "localhost.", is allowed */
	if (length == 0 || length > 253)
		return HOST_INVALID;
	const char *end = text + length;
	bool all_digits = false;
	for (const char *label = text;; label++) {
		const char *stop = memchr(label, '.', (size_t)(end - label));
		if (stop == NULL)
			stop = end;
		size_t label_length = (size_t)(stop - label);
		if (label_length == 0 || label_length > 63 || label[0] == '-' || stop[-1] == '-')
			return HOST_INVALID;
		all_digits = true;
		for (const char *c = label; c < stop; c++) {
			bool letter = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z');
			bool digit = *c >= '0' && *c <= '9';
			/* '_' is not in RFC 1123, but /etc/hosts and container networks use it. */
			if (!letter && !digit && *c != '-' && *c != '_')
				return HOST_INVALID;
			all_digits = all_digits && digit;
		}
		if (stop == end)
			break;
		label = stop;
	}
	/* RFC 1123 2.1: the top-level label is never all digits, or names and addresses would mix. */
	if (all_digits)
		return HOST_INVALID;
	return HOST_NAME;
}

const char *addr_host_problem(const char *text)
{
	struct in_addr ipv4;

	if (addr_host_kind(text) != HOST_INVALID)
		return NULL;
	if (text[0] == '\0')
		return "empty: an IP address or host name is needed";
	if (text[0] == '[' || strchr(text, ':') != NULL)
		return "not an IPv6 address";
	/* "127.1", "0x7f.1", "2130706433": spellings inet_aton takes, and a typo of a dotted quad. */
	if (inet_aton(text, &ipv4) != 0 || strspn(text, "0123456789.") == strlen(text))
		return "an IPv4 address must be a dotted quad of numbers 0-255, such as 127.0.0.1";
	return "not an IP address or host name (a name is letters, digits, '-' and '.')";
}

int addr_parse_service(const char *text, const char *protocol, uint16_t *port)
{
	size_t length = strlen(text);
	if (length > 0 && strspn(text, "0123456789") == length)
		return addr_parse_port(text, port); /* EINVAL cannot come back: digits only */
	/*
	 * A service name (RFC 6335: letters, digits and '-', at least one letter,
	 * so "9pfs" is one; the database also has a few with '_' or '.').
	 */
	if (length == 0 || length > 63 ||
	    strspn(text, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != length) {
		errno = ENOENT;
		return -1;
	}
	struct servent entry, *found = NULL;
	/* Room for an entry with all its aliases; a larger one is looked up once more with more. */
	char small[1024], *buffer = small;
	size_t size = sizeof small;
	int result;
	while ((result = getservbyname_r(text, protocol, &entry, buffer, size, &found)) == ERANGE &&
	       size < 65536) {
		if (buffer != small)
			free(buffer);
		size *= 4;
		buffer = malloc(size);
		if (buffer == NULL)
			return -1; /* ENOMEM */
	}
	if (result == 0 && found != NULL)
		*port = ntohs((uint16_t)found->s_port);
	if (buffer != small)
		free(buffer);
	if (result != 0 || found == NULL) {
		errno = ENOENT;
		return -1;
	}
	return 0;
}

int addr_parse_port(const char *text, uint16_t *port)
{
	unsigned long value;

	if (number_parse(text, 0, 65535, &value) != 0)
		return -1;
	*port = (uint16_t)value;
	return 0;
}

int addr_parse_numeric(const char *text, uint16_t port, struct address *out)
{
	char host[ADDRESS_TEXT_MAX];
	size_t length = strlen(text);

	/* Strip the brackets of "[::1]"; they are only allowed around IPv6. */
	if (text[0] == '[') {
		if (length < 3 || text[length - 1] != ']' || length - 2 >= sizeof host)
			goto invalid;
		memcpy(host, text + 1, length - 2);
		host[length - 2] = '\0';
		if (strchr(host, ':') == NULL)
			goto invalid;
	} else {
		if (length >= sizeof host)
			goto invalid;
		memcpy(host, text, length + 1);
	}

	memset(out, 0, sizeof *out);
	if (strchr(host, ':') == NULL) {
		/* inet_pton, unlike inet_aton, takes only the strict dotted quad. */
		struct sockaddr_in *in4 = (struct sockaddr_in *)&out->storage;
		if (inet_pton(AF_INET, host, &in4->sin_addr) != 1)
			goto invalid;
		in4->sin_family = AF_INET;
		in4->sin_port = htons(port);
		out->length = sizeof *in4;
		return 0;
	}

	/* IPv6, possibly with a zone ("fe80::1%eth0"): getaddrinfo parses both without I/O. */
	struct addrinfo hints = {.ai_family = AF_INET6, .ai_flags = AI_NUMERICHOST};
	struct addrinfo *result = NULL;
	if (getaddrinfo(host, NULL, &hints, &result) != 0 || result == NULL)
		goto invalid;
	memcpy(&out->storage, result->ai_addr, result->ai_addrlen);
	out->length = result->ai_addrlen;
	freeaddrinfo(result);
	addr_unmap(out);
	addr_set_port(out, port);
	return 0;

invalid:
	errno = EINVAL;
	return -1;
}

void addr_unmap(struct address *address)
{
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&address->storage;

	if (address->storage.ss_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
		return;
	struct sockaddr_in in4 = {.sin_family = AF_INET, .sin_port = in6->sin6_port};
	memcpy(&in4.sin_addr, &in6->sin6_addr.s6_addr[12], sizeof in4.sin_addr);
	memset(&address->storage, 0, sizeof address->storage);
	memcpy(&address->storage, &in4, sizeof in4);
	address->length = sizeof in4;
}

int addr_resolve(const char *host, uint16_t port, int socktype, bool passive,
		 struct address *out, size_t max, size_t *count)
{
	enum host_kind kind = addr_host_kind(host);

	*count = 0;
	if (kind == HOST_INVALID)
		return EAI_NONAME;
	if (kind == HOST_IPV4 || kind == HOST_IPV6) {
		if (max == 0 || addr_parse_numeric(host, port, &out[0]) != 0)
			return EAI_NONAME;
		*count = 1;
		return 0;
	}

	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = socktype,
		/* No AI_ADDRCONFIG: it hides "localhost" on hosts with only loopback. */
		.ai_flags = passive ? AI_PASSIVE : 0,
	};
	struct addrinfo *list = NULL;
	int status = getaddrinfo(host, NULL, &hints, &list);
	if (status != 0)
		return status;
	for (const struct addrinfo *ai = list; ai != NULL && *count < max; ai = ai->ai_next) {
		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
		    ai->ai_addrlen > sizeof out->storage)
			continue;
		struct address candidate = {.length = ai->ai_addrlen};
		memcpy(&candidate.storage, ai->ai_addr, ai->ai_addrlen);
		addr_set_port(&candidate, port);
		bool seen = false;
		for (size_t i = 0; i < *count && !seen; i++)
			seen = addr_equal(&out[i], &candidate);
		if (!seen)
			out[(*count)++] = candidate;
	}
	freeaddrinfo(list);
	return *count > 0 ? 0 : EAI_NONAME;
}

void addr_any(int family, uint16_t port, struct address *out)
{
	memset(out, 0, sizeof *out);
	if (family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&out->storage;
		in6->sin6_family = AF_INET6;
		in6->sin6_addr = in6addr_any;
		out->length = sizeof *in6;
	} else {
		struct sockaddr_in *in4 = (struct sockaddr_in *)&out->storage;
		in4->sin_family = AF_INET;
		in4->sin_addr.s_addr = htonl(INADDR_ANY);
		out->length = sizeof *in4;
	}
	addr_set_port(out, port);
}

int addr_family(const struct address *address)
{
	return address->storage.ss_family;
}

bool addr_is_any(const struct address *address)
{
	if (address->storage.ss_family == AF_INET)
		return ((const struct sockaddr_in *)&address->storage)->sin_addr.s_addr ==
		       htonl(INADDR_ANY);
	if (address->storage.ss_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)&address->storage)->sin6_addr);
	return false;
}

uint16_t addr_port(const struct address *address)
{
	if (address->storage.ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)&address->storage)->sin6_port);
	if (address->storage.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&address->storage)->sin_port);
	return 0;
}

void addr_set_port(struct address *address, uint16_t port)
{
	if (address->storage.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&address->storage)->sin6_port = htons(port);
	else if (address->storage.ss_family == AF_INET)
		((struct sockaddr_in *)&address->storage)->sin_port = htons(port);
}

bool addr_equal(const struct address *a, const struct address *b)
{
	if (a->storage.ss_family != b->storage.ss_family)
		return false;
	if (a->storage.ss_family == AF_INET) {
		const struct sockaddr_in *x = (const struct sockaddr_in *)&a->storage;
		const struct sockaddr_in *y = (const struct sockaddr_in *)&b->storage;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->storage.ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)&a->storage;
		const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)&b->storage;
		return x->sin6_port == y->sin6_port && x->sin6_scope_id == y->sin6_scope_id &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
	}
	return false;
}

char *addr_format(const struct address *address, char *buf, size_t size)
{
	char host[INET6_ADDRSTRLEN];
	char zone[IF_NAMESIZE + 1] = "";
	uint16_t port = addr_port(address);

	if (address->storage.ss_family == AF_INET) {
		const struct sockaddr_in *in4 = (const struct sockaddr_in *)&address->storage;
		if (inet_ntop(AF_INET, &in4->sin_addr, host, sizeof host) == NULL)
			goto unknown;
		snprintf(buf, size, "%s:%u", host, port);
		return buf;
	}
	if (address->storage.ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&address->storage;
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			/* A dual-stack socket sees IPv4 peers as ::ffff:a.b.c.d; show them as IPv4. */
			if (inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], host, sizeof host) == NULL)
				goto unknown;
			snprintf(buf, size, "%s:%u", host, port);
			return buf;
		}
		if (inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host) == NULL)
			goto unknown;
		if (in6->sin6_scope_id != 0) {
			/*
			 * A zone is shown by its interface's name where the resolver takes
			 * one back (link-local addresses, "fe80::1%eth0"), else by number,
			 * so that what is printed can be given to -b again.
			 */
			bool named = IN6_IS_ADDR_LINKLOCAL(&in6->sin6_addr) ||
				     IN6_IS_ADDR_MC_LINKLOCAL(&in6->sin6_addr);
			zone[0] = '%';
			if (!named || if_indextoname(in6->sin6_scope_id, zone + 1) == NULL)
				snprintf(zone, sizeof zone, "%%%u", (unsigned)in6->sin6_scope_id);
		}
		snprintf(buf, size, "[%s%s]:%u", host, zone, port);
		return buf;
	}
unknown:
	snprintf(buf, size, "(unknown address family %d)", address->storage.ss_family);
	return buf;
}
