/*
 * addr: socket addresses as values. Parsing of hosts and ports, numeric
 * formatting ("127.0.0.1:9000", "[::1]:9000"), comparison, name resolution.
 * Pure functions except addr_resolve, which may query the resolver.
 */
#ifndef FORKNET_ADDR_H
#define FORKNET_ADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* An address of any family together with its length, as the socket calls take it. */
struct address {
	struct sockaddr_storage storage;
	socklen_t length;
};

/* Room for the longest formatted address: "[" IPv6 "%" interface "]:" port. */
#define ADDRESS_TEXT_MAX 80

/* What a host argument is, judged by its spelling alone. */
enum host_kind {
	HOST_INVALID, /* neither a numeric address nor a well-formed name */
	HOST_IPV4,    /* dotted quad, e.g. 127.0.0.1 */
	HOST_IPV6,    /* e.g. ::1, fe80::1%eth0, or [::1] */
	HOST_NAME,    /* e.g. localhost or my_host, to be resolved */
};

enum host_kind addr_host_kind(const char *text);

/*
 * Why TEXT cannot be a host argument, in a few words ("an IPv4 address must
 * be a dotted quad, such as 127.0.0.1"), or NULL if addr_host_kind accepts it.
 */
const char *addr_host_problem(const char *text);

/* Parses a decimal port 0..65535; returns 0, or -1 with errno EINVAL or ERANGE. */
int addr_parse_port(const char *text, uint16_t *port);

/*
 * Parses a port as a decimal number 0..65535 (digits only) or as a service
 * name of PROTOCOL ("tcp", "udp") from the services database
 * (/etc/services), as "echo" for 7. Returns 0, or -1 with errno ERANGE (a
 * number out of range), ENOENT (neither a number nor a known service) or
 * ENOMEM. Looks up the database:
 * not for signal handlers.
 */
int addr_parse_service(const char *text, const char *protocol, uint16_t *port);

/*
 * Parses a numeric IPv4 or IPv6 address (brackets allowed); returns 0 or -1
 * (EINVAL). An IPv4-mapped IPv6 address (::ffff:127.0.0.1) comes out as the
 * IPv4 address it carries, so that it binds and connects as IPv4.
 */
int addr_parse_numeric(const char *text, uint16_t port, struct address *out);

/* Turns an IPv4-mapped IPv6 address into the plain IPv4 address; others are left alone. */
void addr_unmap(struct address *address);

/*
 * Resolves HOST (numeric or a name) for SOCKTYPE into at most MAX distinct
 * addresses, in the resolver's order. PASSIVE asks for addresses to bind.
 * Returns 0, or a getaddrinfo error code (EAI_*, for gai_strerror).
 */
int addr_resolve(const char *host, uint16_t port, int socktype, bool passive,
		 struct address *out, size_t max, size_t *count);

/* The wildcard address of FAMILY (AF_INET or AF_INET6) with PORT. */
void addr_any(int family, uint16_t port, struct address *out);

int addr_family(const struct address *address);

/* True for the wildcard address (0.0.0.0 or ::) of either family. */
bool addr_is_any(const struct address *address);
uint16_t addr_port(const struct address *address);
void addr_set_port(struct address *address, uint16_t port);

/* True when both have the same family, address (and scope) and port. */
bool addr_equal(const struct address *a, const struct address *b);

/*
 * Writes "ADDR:PORT" (IPv6 as "[ADDR]:PORT") into BUF of SIZE bytes
 * (ADDRESS_TEXT_MAX is enough). IPv4-mapped IPv6 addresses are shown as the
 * IPv4 address they carry. Returns BUF, so it can be used as an argument.
 */
char *addr_format(const struct address *address, char *buf, size_t size);

#endif
