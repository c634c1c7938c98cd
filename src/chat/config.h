/*
 * config: the chat server's settings and the parsing of its options. Pure,
 * like the TCP server's config: it prints nothing, so it can be unit-tested.
 */
#ifndef FORKNET_CHAT_CONFIG_H
#define FORKNET_CHAT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../lib/log.h"
#include "../lib/options.h"

#define CHAT_DEFAULT_PORT 9001
#define CHAT_DEFAULT_MAX_CLIENTS 64
#define CHAT_MAX_CLIENTS_LIMIT 65536
#define CHAT_DEFAULT_IDLE_TIMEOUT 300
#define CHAT_IDLE_TIMEOUT_LIMIT 86400 /* a day */
#define CHAT_DEFAULT_MAX_MESSAGE 4096
/* Room is kept in a datagram for the longest prefix ("[IPv6%zone]:port>> ") and a newline. */
#define CHAT_MAX_MESSAGE_LIMIT 65000
#define CHAT_DEFAULT_RATE 20
#define CHAT_RATE_LIMIT 1000000

struct chat_config {
	const char *bind; /* NULL: all addresses, IPv6 and IPv4 */
	uint16_t port;
	unsigned long max_clients;
	unsigned long idle_timeout; /* seconds */
	unsigned long max_message;  /* bytes */
	unsigned long rate;         /* messages a second per member, burst twice that; 0: no limit */
	bool open;                  /* no address check: any datagram joins */
	enum log_level log_level;
	bool print_port;            /* once listening, write the port on standard output */
};

void chat_config_defaults(struct chat_config *config);

/* As server_config_parse (config.h of the TCP server), for the chat server's options. */
enum config_result chat_config_parse(struct chat_config *config, int argc, char **argv,
				     char *error, size_t size);

extern const char chat_config_options_help[];

#endif
