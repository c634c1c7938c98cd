/*
 * members: the chat server's member list. Members are kept densely in an
 * array sized at start (--max-clients); a member's address is its identity,
 * compared by family, address and port (addr_equal), never by memcmp of whole
 * sockaddr structures, whose padding is not part of the address.
 *
 * Pointers to members stay valid until the next members_add or
 * members_remove (removal moves the last member into the freed place).
 *
 * The rate buckets of the last MEMBERS_DEPARTED members to leave are kept,
 * and given back if the same address joins again: leaving and rejoining
 * must not refill a bucket, or --rate could be dodged.
 */
#ifndef FORKNET_CHAT_MEMBERS_H
#define FORKNET_CHAT_MEMBERS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include "../lib/addr.h"
#include "protocol.h"
#include "rate.h"

/*
 * How to answer a peer: through which server socket, and from which local
 * address, as an IP_PKTINFO or IPV6_PKTINFO control message. A server bound
 * to the wildcard address must answer from the address the peer wrote to:
 * routing might pick another, and a peer with a connected socket (the forknet
 * client does that) drops what comes from an address it did not write to.
 */
struct route {
	size_t socket;
	size_t control_length; /* 0: the socket has one address; the kernel picks it */
	struct {
		_Alignas(struct cmsghdr) unsigned char bytes[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	} control;
};

struct member {
	struct address address;
	struct route route;             /* how to answer it, as of its last datagram */
	char name[CHAT_NAME_MAX + 1];   /* "" until it takes one with /nick */
	struct timespec last_heard;     /* for --idle-timeout */
	struct timespec last_warned;    /* the last "too fast" notice, at most one a second */
	bool warned;                    /* last_warned is set */
	struct timespec last_logged;    /* the last refusal logged, at most one a second */
	bool logged;                    /* last_logged is set */
	struct rate_bucket rate;
};

#define MEMBERS_DEPARTED 256

struct members {
	struct member *list; /* list[0..count) */
	size_t count;
	size_t capacity;
	struct {
		struct address address; /* family 0: empty */
		struct rate_bucket rate;
	} departed[MEMBERS_DEPARTED]; /* a ring of recent departures */
	size_t departed_next;
};

/* Sizes the list for CAPACITY members. Returns 0 or -1 with errno set. */
int members_init(struct members *members, size_t capacity);
void members_destroy(struct members *members);

bool members_full(const struct members *members);

struct member *members_find(struct members *members, const struct address *address);

/* The member called NAME (LENGTH bytes), in any mix of cases, or NULL. */
struct member *members_find_name(struct members *members, const char *name, size_t length);

/* Adds ADDRESS (answered by ROUTE) at NOW, with its old rate bucket if it left lately; NULL when full. */
struct member *members_add(struct members *members, const struct address *address,
			   const struct route *route, struct timespec now);

void members_remove(struct members *members, struct member *member);

/* How the member is shown: its name, or else its address. Returns BUF. */
const char *member_label(const struct member *member, char *buf, size_t size);

#endif
