/*
 * admission: the chat's address check. A UDP source address can be forged,
 * so an address becomes a member only once it has shown that it receives at
 * that address: it is sent a token and must send it back.
 *
 * The token is a keyed hash (SipHash) of the address and the current
 * 30-second period, under a key drawn at start: the server can check it
 * without remembering whom it sent tokens to, so a storm of forged addresses
 * costs it no memory. A token is good for the period it was made in and the
 * next one.
 *
 * Replies to addresses that are not members (challenges, "server full") are
 * limited to one per address per second and ADMISSION_REPLIES_PER_SECOND in
 * all, so that forged addresses can aim only a trickle at their victim. An
 * address that has returned its token cannot be forged, and may have its
 * "server full" right after its challenge.
 */
#ifndef FORKNET_CHAT_ADMISSION_H
#define FORKNET_CHAT_ADMISSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "../lib/addr.h"
#include "../lib/siphash.h"
#include "protocol.h"
#include "rate.h"

#define ADMISSION_PERIOD_SECONDS 30
#define ADMISSION_REPLIES_PER_SECOND 100
/* Addresses remembered for the per-address limit; older ones are forgotten. */
#define ADMISSION_RECENT 4096

struct admission {
	unsigned char key[SIPHASH_KEY_SIZE];
	struct {
		uint64_t fingerprint; /* a hash of the address; 0: empty */
		struct timespec last; /* when it was last replied to */
	} recent[ADMISSION_RECENT];
	struct rate_bucket replies; /* all replies to non-members */
};

/* Draws a fresh key. Returns 0 or -1 with errno set. */
int admission_init(struct admission *admission);

/* Sets the key (for tests, which need tokens they can predict). */
void admission_init_with_key(struct admission *admission,
			     const unsigned char key[SIPHASH_KEY_SIZE]);

/* The token for ADDRESS at NOW (CLOCK_MONOTONIC), as CHAT_TOKEN_LENGTH hex digits. */
void admission_token(const struct admission *admission, const struct address *address,
		     struct timespec now, char token[CHAT_TOKEN_LENGTH + 1]);

/* True if TOKEN (LENGTH bytes) is ADDRESS's token for this period or the last. */
bool admission_check(const struct admission *admission, const struct address *address,
		     struct timespec now, const char *token, size_t length);

/*
 * True if a reply may go to non-member ADDRESS now (and counts it). A PROVEN
 * address (it has just sent back a valid token, so it really receives there)
 * is not held to one reply a second, only to the limit in all.
 */
bool admission_may_reply(struct admission *admission, const struct address *address,
			 bool proven, struct timespec now);

#endif
