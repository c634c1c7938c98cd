/*
 * admission: the chat's address check, and what an address that is not a
 * member may be sent. A UDP source address can be forged, so an address
 * becomes a member only once it has shown that it receives there: it is sent
 * a token and must send it back.
 *
 * The token is a keyed hash (SipHash) of the address and the current
 * 30-second period, under a key drawn at start: the server can check it
 * without remembering whom it sent tokens to, so a storm of forged addresses
 * costs it no memory. A token is good for the period it was made in and the
 * next one.
 *
 * Replies to non-members (challenges, "server full") are what a forged flood
 * could aim at a victim, so each is allowed only if all of these hold:
 *
 *   - it is no longer than the datagram it answers (clients pad theirs), so
 *     the server never amplifies: whoever floods it with forged sources
 *     could as well have sent the bytes to the victim himself;
 *   - the address (IP and port) was not answered in the last
 *     ADMISSION_ADDRESS_INTERVAL_MS, nor has it asked again since: one reply
 *     a second at most, and none at all to an address that asks more often
 *     than that (each datagram it sends while held back puts its next answer
 *     off, up to ADMISSION_ADDRESS_PENALTY_MS), so a flooding socket learns
 *     nothing more while a client that retries once a second or less is
 *     answered every time;
 *   - its prefix (the /24 of an IPv4 address, the /64 of an IPv6 one) has had
 *     fewer than ADMISSION_PREFIX_RATE replies in the last second, so one
 *     network cannot take the whole budget, nor be sent much;
 *   - all non-members together have had fewer than ADMISSION_GLOBAL_RATE.
 *
 * An address that has just returned a valid token ("proven": it really
 * receives there) may have its "server full" right after its challenge: see
 * admission_proven.
 *
 * Memory is fixed at start whatever comes: per-address and per-prefix state
 * live in count-min sketches, ADMISSION_ROWS rows of ADMISSION_WIDTH cells,
 * each address (and prefix) hashed with the secret key to one cell per row.
 * A charge raises all of an address's cells and nothing lowers them, so each
 * is at least as strict as the address's own state; it is judged by the
 * least strict of them. Sharing cells with other addresses can therefore
 * only make its limit stricter, never looser: the limits hold for every
 * address. Only answered addresses are charged, and answers are bounded by
 * the overall budget, so at most about 2 * ADMISSION_GLOBAL_RATE addresses
 * are held back at any moment, whatever the flood: a real client is held
 * back by them only if all its cells are shared with theirs, about
 * (8192 / 65536) ^ 4, under 0.03 %. The secret key keeps anyone from
 * choosing addresses that collide.
 *
 * Pure: the caller says what time it is, and sends what it is told it may.
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

#define ADMISSION_PERIOD_SECONDS 30
#define ADMISSION_ADDRESS_INTERVAL_MS 1000
#define ADMISSION_ADDRESS_PENALTY_MS 2000
/* (A test may set these three smaller, to reach the limits with few addresses.) */
#ifndef ADMISSION_PREFIX_RATE
#define ADMISSION_PREFIX_RATE 1024 /* replies a second to one prefix, and as many at once */
#endif
#ifndef ADMISSION_GLOBAL_RATE
#define ADMISSION_GLOBAL_RATE 4096 /* replies a second to all non-members, and as many at once */
#endif
#define ADMISSION_IPV4_PREFIX_BITS 24
#define ADMISSION_IPV6_PREFIX_BITS 64
#define ADMISSION_ROWS 4
#ifndef ADMISSION_WIDTH_BITS
#define ADMISSION_WIDTH_BITS 16
#endif
#define ADMISSION_WIDTH (1 << ADMISSION_WIDTH_BITS)

/* The same limits in the sketches' unit, nanoseconds (see admission.c). */
#define ADMISSION_ADDRESS_INTERVAL_NS ((int64_t)ADMISSION_ADDRESS_INTERVAL_MS * 1000000)
#define ADMISSION_ADDRESS_PENALTY_NS ((int64_t)ADMISSION_ADDRESS_PENALTY_MS * 1000000)
#define ADMISSION_PREFIX_INTERVAL_NS ((int64_t)1000000000 / ADMISSION_PREFIX_RATE)
#define ADMISSION_PREFIX_TOLERANCE_NS ((ADMISSION_PREFIX_RATE - 1) * ADMISSION_PREFIX_INTERVAL_NS)
#define ADMISSION_GLOBAL_INTERVAL_NS ((int64_t)1000000000 / ADMISSION_GLOBAL_RATE)
#define ADMISSION_GLOBAL_TOLERANCE_NS ((ADMISSION_GLOBAL_RATE - 1) * ADMISSION_GLOBAL_INTERVAL_NS)

/* Why a datagram from a non-member gets no reply (or that it may get one). */
enum admission_verdict {
	ADMISSION_REPLY,         /* send it: counted against every budget */
	ADMISSION_TOO_SHORT,     /* the reply would be longer than the datagram */
	ADMISSION_ADDRESS_LIMIT, /* this address was answered less than a second ago, or asks too often */
	ADMISSION_PREFIX_LIMIT,  /* its /24 or /64 has had its share this second */
	ADMISSION_GLOBAL_LIMIT,  /* all non-members have had theirs */
};
#define ADMISSION_VERDICTS 5

/* Per row, the time (ns on CLOCK_MONOTONIC) until which a cell's keys are held back. */
struct admission_sketch {
	int64_t until[ADMISSION_ROWS][ADMISSION_WIDTH];
};

struct admission {
	unsigned char key[SIPHASH_KEY_SIZE];
	struct admission_sketch addresses;
	struct admission_sketch prefixes;
	int64_t global_until;
	unsigned long verdicts[ADMISSION_VERDICTS]; /* how many of each, for the log */
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
 * A datagram of REQUEST bytes came from ADDRESS, not a member, at NOW: may it
 * be answered with REPLY bytes? Counts the datagram against ADDRESS whatever
 * the answer, and the reply against every budget when it is ADMISSION_REPLY.
 */
enum admission_verdict admission_stranger(struct admission *admission,
					  const struct address *address, size_t request,
					  size_t reply, struct timespec now);

/*
 * The same for ADDRESS, which has just sent back its valid token (the reply
 * is "server full"): the size rule and the overall budget hold, the prefix
 * limit does not (the address is real), and the address limit is one reply
 * looser, so that the answer may follow the challenge at once; a token
 * replayed over and over gets no more than that.
 */
enum admission_verdict admission_proven(struct admission *admission, const struct address *address,
					size_t request, size_t reply, struct timespec now);

/* What to do with a datagram from an address that is not a member. */
enum admission_action {
	ADMISSION_JOINS,     /* it sent back its valid token: it may become a member */
	ADMISSION_CHALLENGE, /* send it the challenge */
	ADMISSION_DROP,      /* send it nothing */
};

/*
 * The whole of the address check for the datagram DATA (LENGTH bytes, any
 * bytes) from ADDRESS, not a member, at NOW: JOINS if it is "/join" with
 * ADDRESS's valid token; else CHALLENGE, with the challenge (exactly
 * CHAT_CHALLENGE_LENGTH bytes, then a NUL) in CHALLENGE, when
 * admission_stranger allows it; else DROP. *VERDICT gets admission_stranger's
 * verdict (ADMISSION_REPLY for JOINS).
 */
enum admission_action admission_answer(struct admission *admission, const struct address *address,
				       const char *data, size_t length, struct timespec now,
				       char challenge[CHAT_CHALLENGE_LENGTH + 1],
				       enum admission_verdict *verdict);

/* What a verdict means, in a few words ("address limit"). */
const char *admission_verdict_text(enum admission_verdict verdict);

#endif
