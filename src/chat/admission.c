/*
 * admission: stateless join tokens and limits on replies to strangers.
 * See admission.h.
 */
#include "admission.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>


int admission_init(struct admission *admission)
{
	unsigned char key[SIPHASH_KEY_SIZE];
	ssize_t got;

	do
		got = getrandom(key, sizeof key, 0);
	while (got < 0 && errno == EINTR);
	if (got != (ssize_t)sizeof key) {
		if (got >= 0)
			errno = EIO;
		return -1;
	}
	admission_init_with_key(admission, key);
	return 0;
}

void admission_init_with_key(struct admission *admission,
			     const unsigned char key[SIPHASH_KEY_SIZE])
{
	memset(admission, 0, sizeof *admission);
	memcpy(admission->key, key, SIPHASH_KEY_SIZE);
}

/*
 * Tags that keep the hashes for tokens (whose extra word is a period number,
 * far smaller), for the address sketch and for the prefix sketch apart.
 */
#define TAG_ADDRESS UINT64_MAX
#define TAG_PREFIX (UINT64_MAX - 1)

/* The most address_bytes writes: family, port, an IPv6 address, its scope, the extra word. */
#define ADDRESS_BYTES_MAX (1 + 2 + 16 + sizeof(uint32_t) + 8)

/*
 * The bytes that identify ADDRESS (family, port, address, scope), followed by
 * EXTRA (8 bytes), into OUT (ADDRESS_BYTES_MAX bytes); returns their count. The whole sockaddr is not
 * hashed: its padding is not part of the address. With PREFIX_ONLY, the port
 * is left out and the address cut to its /24 or /64. An IPv4 address that a
 * dual-stack socket shows as ::ffff:a.b.c.d counts as the IPv4 address it is,
 * or every IPv4 client would share one IPv6 /64.
 */
static size_t address_bytes(const struct address *given, uint64_t extra, bool prefix_only,
			    unsigned char *out)
{
	struct address address = *given;
	size_t length = 0;

	addr_unmap(&address);
	uint16_t port = prefix_only ? 0 : addr_port(&address);
	out[length++] = (unsigned char)addr_family(&address);
	out[length++] = (unsigned char)(port >> 8);
	out[length++] = (unsigned char)port;
	if (addr_family(&address) == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&address.storage;
		size_t kept = prefix_only ? ADMISSION_IPV6_PREFIX_BITS / 8 : 16;
		memcpy(out + length, &in6->sin6_addr, kept);
		length += kept;
		_Static_assert(sizeof in6->sin6_scope_id == sizeof(uint32_t), "a scope is 32 bits");
		memcpy(out + length, &in6->sin6_scope_id, sizeof in6->sin6_scope_id);
		length += sizeof in6->sin6_scope_id;
	} else if (addr_family(&address) == AF_INET) {
		const struct sockaddr_in *in4 = (const struct sockaddr_in *)&address.storage;
		size_t kept = prefix_only ? ADMISSION_IPV4_PREFIX_BITS / 8 : 4;
		memcpy(out + length, &in4->sin_addr, kept);
		length += kept;
	}
	for (int i = 0; i < 8; i++)
		out[length++] = (unsigned char)(extra >> (8 * i));
	return length;
}

static uint64_t period_of(struct timespec now)
{
	return (uint64_t)now.tv_sec / ADMISSION_PERIOD_SECONDS;
}

static void token_for_period(const struct admission *admission, const struct address *address,
			     uint64_t period, char token[CHAT_TOKEN_LENGTH + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char bytes[ADDRESS_BYTES_MAX];
	size_t length = address_bytes(address, period, false, bytes);
	uint64_t hash = siphash24(admission->key, bytes, length);

	for (int i = 0; i < CHAT_TOKEN_LENGTH; i++)
		token[i] = hex[(hash >> (4 * i)) & 0x0f];
	token[CHAT_TOKEN_LENGTH] = '\0';
}

void admission_token(const struct admission *admission, const struct address *address,
		     struct timespec now, char token[CHAT_TOKEN_LENGTH + 1])
{
	token_for_period(admission, address, period_of(now), token);
}

bool admission_check(const struct admission *admission, const struct address *address,
		     struct timespec now, const char *token, size_t length)
{
	char expected[CHAT_TOKEN_LENGTH + 1];
	uint64_t period = period_of(now);

	if (length != CHAT_TOKEN_LENGTH)
		return false;
	token_for_period(admission, address, period, expected);
	if (memcmp(expected, token, CHAT_TOKEN_LENGTH) == 0)
		return true;
	if (period == 0)
		return false;
	/* A token made just before a period ended is still good in the next one. */
	token_for_period(admission, address, period - 1, expected);
	return memcmp(expected, token, CHAT_TOKEN_LENGTH) == 0;
}

/* The keyed hash that indexes ADDRESS (or, with PREFIX_ONLY, its /24 or /64) in a sketch. */
static uint64_t sketch_key(const struct admission *admission, const struct address *address,
			   bool prefix_only)
{
	unsigned char bytes[ADDRESS_BYTES_MAX];
	size_t length = address_bytes(address, prefix_only ? TAG_PREFIX : TAG_ADDRESS, prefix_only, bytes);
	return siphash24(admission->key, bytes, length);
}

/* The time of NOW in nanoseconds, the sketches' unit. */
static int64_t nanoseconds(struct timespec now)
{
	return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

_Static_assert(ADMISSION_ROWS * ADMISSION_WIDTH_BITS <= 64, "one 64-bit hash must index every row");

/* SKETCH's cell in ROW for a key that hashed to HASH. */
static int64_t *cell(struct admission_sketch *sketch, uint64_t hash, int row)
{
	return &sketch->until[row][(hash >> (ADMISSION_WIDTH_BITS * row)) & (ADMISSION_WIDTH - 1)];
}

/*
 * Until when the key is held back. Each of its cells is at least its own
 * state (every charge of the key raises them all, and nothing lowers them),
 * so the earliest of them is the closest to its own and never earlier.
 */
static int64_t sketch_until(struct admission_sketch *sketch, uint64_t hash)
{
	int64_t until = *cell(sketch, hash, 0);

	for (int row = 1; row < ADMISSION_ROWS; row++)
		if (*cell(sketch, hash, row) < until)
			until = *cell(sketch, hash, row);
	return until;
}

/* Holds the key back until at least UNTIL, in every row. */
static void sketch_raise(struct admission_sketch *sketch, uint64_t hash, int64_t until)
{
	for (int row = 0; row < ADMISSION_ROWS; row++)
		if (*cell(sketch, hash, row) < until)
			*cell(sketch, hash, row) = until;
}

/*
 * The rate limits below are GCRA, the "virtual scheduling" form of a token
 * bucket: UNTIL is when the next event would be on schedule; an event
 * conforms if it comes no more than TOLERANCE early, and then moves UNTIL one
 * INTERVAL on. One number per key, nothing to refill.
 */
static bool conforms(int64_t until, int64_t now, int64_t tolerance)
{
	return until - tolerance <= now;
}

static int64_t scheduled(int64_t until, int64_t now, int64_t interval)
{
	return (until > now ? until : now) + interval;
}

static enum admission_verdict verdict(struct admission *admission, enum admission_verdict v)
{
	admission->verdicts[v]++;
	return v;
}

/* The overall budget: may one more reply go, and if so, count it. */
static bool global_allows(struct admission *admission, int64_t now)
{
	if (!conforms(admission->global_until, now, ADMISSION_GLOBAL_TOLERANCE_NS))
		return false;
	admission->global_until = scheduled(admission->global_until, now, ADMISSION_GLOBAL_INTERVAL_NS);
	return true;
}

enum admission_verdict admission_stranger(struct admission *admission,
					  const struct address *address, size_t request,
					  size_t reply, struct timespec when)
{
	int64_t now = nanoseconds(when);

	if (reply > request)
		return verdict(admission, ADMISSION_TOO_SHORT);

	/*
	 * The address: answered at most once an interval. One that is held back
	 * (answered less than an interval ago, or asking since) has its next
	 * answer put off by each datagram it sends, up to the penalty: a socket
	 * that sends faster than once an interval is never answered again while
	 * it does, and one that asks once a second is answered every time. An
	 * address is charged only once answered, so that a flood of forged
	 * one-time sources cannot fill the sketch.
	 */
	uint64_t hash = sketch_key(admission, address, false);
	int64_t held = sketch_until(&admission->addresses, hash);
	if (held > now) {
		int64_t later = held + ADMISSION_ADDRESS_INTERVAL_NS;
		sketch_raise(&admission->addresses, hash,
			     later < now + ADMISSION_ADDRESS_PENALTY_NS ? later
									: now + ADMISSION_ADDRESS_PENALTY_NS);
		return verdict(admission, ADMISSION_ADDRESS_LIMIT);
	}

	/* Its prefix, then everyone: counted only when the reply goes. */
	uint64_t prefix = sketch_key(admission, address, true);
	int64_t prefix_until = sketch_until(&admission->prefixes, prefix);
	if (!conforms(prefix_until, now, ADMISSION_PREFIX_TOLERANCE_NS))
		return verdict(admission, ADMISSION_PREFIX_LIMIT);
	if (!global_allows(admission, now))
		return verdict(admission, ADMISSION_GLOBAL_LIMIT);
	sketch_raise(&admission->prefixes, prefix,
		     scheduled(prefix_until, now, ADMISSION_PREFIX_INTERVAL_NS));
	sketch_raise(&admission->addresses, hash, now + ADMISSION_ADDRESS_INTERVAL_NS);
	return verdict(admission, ADMISSION_REPLY);
}

enum admission_verdict admission_proven(struct admission *admission, const struct address *address,
					size_t request, size_t reply, struct timespec when)
{
	int64_t now = nanoseconds(when);

	if (reply > request)
		return verdict(admission, ADMISSION_TOO_SHORT);
	/*
	 * One interval of tolerance: the answer may follow the challenge at
	 * once, but a replayed token gets no more than that once an interval.
	 */
	uint64_t hash = sketch_key(admission, address, false);
	int64_t held = sketch_until(&admission->addresses, hash);
	if (!conforms(held, now, ADMISSION_ADDRESS_INTERVAL_NS))
		return verdict(admission, ADMISSION_ADDRESS_LIMIT);
	if (!global_allows(admission, now))
		return verdict(admission, ADMISSION_GLOBAL_LIMIT);
	sketch_raise(&admission->addresses, hash, scheduled(held, now, ADMISSION_ADDRESS_INTERVAL_NS));
	return verdict(admission, ADMISSION_REPLY);
}

enum admission_action admission_answer(struct admission *admission, const struct address *address,
				       const char *data, size_t length, struct timespec now,
				       char challenge[CHAT_CHALLENGE_LENGTH + 1],
				       enum admission_verdict *result)
{
	struct chat_request request;
	char token[CHAT_TOKEN_LENGTH + 1];

	chat_parse(data, length, &request);
	if (request.kind == CHAT_JOIN &&
	    admission_check(admission, address, now, request.argument, request.length)) {
		*result = ADMISSION_REPLY;
		return ADMISSION_JOINS;
	}
	*result = admission_stranger(admission, address, length, CHAT_CHALLENGE_LENGTH, now);
	if (*result != ADMISSION_REPLY)
		return ADMISSION_DROP;
	admission_token(admission, address, now, token);
	if (chat_challenge(token, challenge, CHAT_CHALLENGE_LENGTH + 1) != CHAT_CHALLENGE_LENGTH)
		return ADMISSION_DROP; /* cannot happen: the length is fixed by the format */
	return ADMISSION_CHALLENGE;
}

const char *admission_verdict_text(enum admission_verdict v)
{
	static const char *const texts[ADMISSION_VERDICTS] = {
		[ADMISSION_REPLY] = "answered",
		[ADMISSION_TOO_SHORT] = "too short for an answer",
		[ADMISSION_ADDRESS_LIMIT] = "address limit",
		[ADMISSION_PREFIX_LIMIT] = "prefix limit",
		[ADMISSION_GLOBAL_LIMIT] = "overall limit",
	};
	return (unsigned)v < ADMISSION_VERDICTS ? texts[v] : "?";
}
