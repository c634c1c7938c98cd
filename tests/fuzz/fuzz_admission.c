/*
 * fuzz_admission: libFuzzer target for the chat server's address check
 * (src/chat/admission.c), driven as the server drives it: a sequence of
 * datagrams from addresses that are not members (any bytes, sometimes the
 * address's own valid token), "server full" replies to proven addresses, and
 * time passing, all chosen by the input.
 *
 * Invariants, checked against this file's own bookkeeping (an independent
 * model of each limit, fed with what the code let through):
 *   - a challenge goes only to a datagram at least as long as it, and a
 *     proven reply is never longer than its request: the server never
 *     amplifies;
 *   - a challenge is a well-formed challenge carrying the address's own
 *     token, which admission_check accepts; a datagram joins only with its
 *     address's valid token;
 *   - one address (IP and port, a v4-mapped form counting as the IPv4 it
 *     carries) is challenged at most once per ADMISSION_ADDRESS_INTERVAL_MS,
 *     and with its "server full" (which may follow its challenge at once)
 *     answered at most twice in any such interval (an exact GCRA);
 *   - one /24 or /64 gets no more than its rate and burst, and all
 *     non-members together no more than theirs (each checked with an exact
 *     GCRA of its own);
 *   - memory is bounded: struct admission is all there is (fixed size, no
 *     allocation), and every call is counted once among its verdicts.
 * The sketches are built small here (see below), so that the limits are
 * checked where addresses share cells.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The admission code itself, built here with sketches of 16 cells a row
 * instead of 65536, and budgets of 5 replies a second for a prefix and 12
 * for all: addresses then share cells all the time, and the few addresses an
 * input can name reach every limit, which is where the limits must hold.
 * (The state is also small enough to start afresh for every input.) Its
 * symbols take the place of the library's.
 */
#define ADMISSION_WIDTH_BITS 4
#define ADMISSION_PREFIX_RATE 5
#define ADMISSION_GLOBAL_RATE 12
#include "chat/admission.c"

#include "chat/protocol.h"
#include "check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


/* The input, read a byte at a time; zeros once it is used up. */
struct input {
	const uint8_t *data;
	size_t size, at;
};

static unsigned next(struct input *in)
{
	return in->at < in->size ? in->data[in->at++] : 0;
}

static bool done(const struct input *in)
{
	return in->at >= in->size;
}

/*
 * The prefixes the addresses come from: four IPv4 /24s and two IPv6 /64s.
 * An address is a prefix, a host part and a port, all from the input; an
 * IPv4 address may come in its v4-mapped IPv6 form, as a dual-stack socket
 * shows it, and must count as the same address and prefix.
 */
#define PREFIXES 6

struct peer {
	struct address address;
	int prefix;           /* 0..PREFIXES-1 */
	unsigned char id[18]; /* what makes the address one: family, host bits, port */
};

static struct peer make_peer(struct input *in)
{
	struct peer peer = {.prefix = (int)(next(in) % PREFIXES)};
	unsigned host = next(in) % 8; /* few hosts and ports, so that addresses repeat */
	uint16_t port = (uint16_t)(4000 + next(in) % 8);
	memset(&peer.address, 0, sizeof peer.address);
	if (peer.prefix < 4) {
		unsigned char ip[4] = {10, 0, (unsigned char)peer.prefix, (unsigned char)(host + 1)};
		bool mapped = next(in) % 4 == 0;
		if (mapped) {
			struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&peer.address.storage;
			in6->sin6_family = AF_INET6;
			in6->sin6_port = htons(port);
			in6->sin6_addr.s6_addr[10] = 0xff;
			in6->sin6_addr.s6_addr[11] = 0xff;
			memcpy(&in6->sin6_addr.s6_addr[12], ip, 4);
			peer.address.length = sizeof *in6;
		} else {
			struct sockaddr_in *in4 = (struct sockaddr_in *)&peer.address.storage;
			in4->sin_family = AF_INET;
			in4->sin_port = htons(port);
			memcpy(&in4->sin_addr, ip, 4);
			peer.address.length = sizeof *in4;
		}
		peer.id[0] = 4;
		memcpy(peer.id + 1, ip, 4);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&peer.address.storage;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		in6->sin6_addr.s6_addr[0] = 0x20;
		in6->sin6_addr.s6_addr[1] = 0x01;
		in6->sin6_addr.s6_addr[2] = 0x0d;
		in6->sin6_addr.s6_addr[3] = 0xb8;
		in6->sin6_addr.s6_addr[7] = (unsigned char)peer.prefix;
		in6->sin6_addr.s6_addr[8 + host % 8] = (unsigned char)(host + 1); /* the host bits vary */
		peer.address.length = sizeof *in6;
		peer.id[0] = 6;
		memcpy(peer.id + 1, &in6->sin6_addr.s6_addr[0], 16);
	}
	peer.id[17] = (unsigned char)(port - 4000);
	return peer;
}

/* The model: per address, the last challenge; per prefix and overall, an exact GCRA. */
#define ADDRESSES_MAX 512

static struct {
	unsigned char id[18];
	int64_t until; /* its GCRA: replies on schedule from then on, ns */
} addresses[ADDRESSES_MAX];
static size_t address_count;
static int64_t prefix_until[PREFIXES];
static int64_t global_until;

/* PEER's own GCRA state in the model. */
static int64_t *address_until(const struct peer *peer)
{
	for (size_t i = 0; i < address_count; i++)
		if (memcmp(addresses[i].id, peer->id, sizeof peer->id) == 0)
			return &addresses[i].until;
	CHECK(address_count < ADDRESSES_MAX); /* 4 * 8 * 8 + 2 * 8 * 8 addresses at most */
	memcpy(addresses[address_count].id, peer->id, sizeof peer->id);
	addresses[address_count].until = INT64_MIN / 2;
	return &addresses[address_count++].until;
}

/* An exact GCRA: checks that an event the code let through conforms, and counts it. */
static void gcra_take(int64_t *until, int64_t now, int64_t interval, int64_t tolerance)
{
	CHECK(*until - tolerance <= now);
	*until = (*until > now ? *until : now) + interval;
}

static int64_t ns(struct timespec t)
{
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static unsigned long verdict_total(const struct admission *admission)
{
	unsigned long total = 0;
	for (int i = 0; i < ADMISSION_VERDICTS; i++)
		total += admission->verdicts[i];
	return total;
}

/*
 * One datagram from PEER, of a kind the input picks in a few bytes: literal
 * bytes, a filler of any length up to 255, "/join" and blanks, or the peer's
 * own token (padded or not), so that short inputs reach every limit.
 */
static void datagram(struct admission *admission, struct input *in, const struct peer *peer,
		     struct timespec now)
{
	char text[300];
	size_t length = 0;
	unsigned kind = next(in) % 4;
	if (kind == 0) {
		length = next(in) % 64;
		for (size_t i = 0; i < length; i++)
			text[i] = (char)next(in);
	} else if (kind == 1) {
		length = next(in);
		memset(text, (int)next(in), length);
	} else if (kind == 2) {
		length = next(in);
		memset(text, ' ', length);
		memcpy(text, "/join", length < 5 ? length : 5);
	} else {
		char token[CHAT_TOKEN_LENGTH + 1];
		admission_token(admission, &peer->address, now, token);
		length = (size_t)snprintf(text, sizeof text, "/join %s", token);
		size_t pad = next(in) % 64; /* blanks, then maybe a line end */
		memset(text + length, ' ', pad);
		length += pad;
		if (next(in) % 2)
			text[length++] = '\n';
	}
	char challenge[CHAT_CHALLENGE_LENGTH + 1];
	enum admission_verdict verdict = ADMISSION_VERDICTS;
	enum admission_action action =
		admission_answer(admission, &peer->address, text, length, now, challenge, &verdict);
	int64_t t = ns(now);
	struct chat_request request;
	chat_parse(text, length, &request);
	bool valid_token = request.kind == CHAT_JOIN &&
			   admission_check(admission, &peer->address, now, request.argument,
					   request.length);

	switch (action) {
	case ADMISSION_JOINS:
		CHECK(valid_token);
		CHECK(verdict == ADMISSION_REPLY);
		break;
	case ADMISSION_CHALLENGE: {
		CHECK(!valid_token);
		CHECK(verdict == ADMISSION_REPLY);
		CHECK(length >= CHAT_CHALLENGE_LENGTH); /* never more bytes out than in */
		CHECK(strlen(challenge) == CHAT_CHALLENGE_LENGTH);
		char token[CHAT_TOKEN_LENGTH + 1];
		CHECK(chat_challenge_token(challenge, CHAT_CHALLENGE_LENGTH, token));
		CHECK(admission_check(admission, &peer->address, now, token, CHAT_TOKEN_LENGTH));
		/* A challenge: on schedule, no tolerance. */
		gcra_take(address_until(peer), t, ADMISSION_ADDRESS_INTERVAL_NS, 0);
		gcra_take(&prefix_until[peer->prefix], t, ADMISSION_PREFIX_INTERVAL_NS,
			  ADMISSION_PREFIX_TOLERANCE_NS);
		gcra_take(&global_until, t, ADMISSION_GLOBAL_INTERVAL_NS, ADMISSION_GLOBAL_TOLERANCE_NS);
		break;
	}
	case ADMISSION_DROP:
		CHECK(!valid_token);
		CHECK(verdict != ADMISSION_REPLY && verdict < ADMISSION_VERDICTS);
		if (verdict == ADMISSION_TOO_SHORT)
			CHECK(length < CHAT_CHALLENGE_LENGTH);
		else
			CHECK(length >= CHAT_CHALLENGE_LENGTH);
		break;
	default:
		CHECK(!"an action that does not exist");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct admission admission;
	struct input in = {.data = data, .size = size};
	unsigned char key[SIPHASH_KEY_SIZE];
	for (size_t i = 0; i < sizeof key; i++)
		key[i] = (unsigned char)next(&in);
	admission_init_with_key(&admission, key);
	address_count = 0;
	for (int i = 0; i < PREFIXES; i++)
		prefix_until[i] = INT64_MIN / 2;
	global_until = INT64_MIN / 2;
	struct timespec now = {.tv_sec = 1000 + (time_t)next(&in), .tv_nsec = 0};
	unsigned long calls = 0;

	while (!done(&in)) {
		unsigned op = next(&in);
		if (op % 4 == 3) {
			/* Time passes: up to 255 microseconds, milliseconds, tenths or seconds. */
			static const int64_t units[] = {1000, 1000000, 100000000, 1000000000};
			int64_t step = (int64_t)next(&in) * units[(op >> 2) % 4];
			int64_t t = ns(now) + step;
			now = (struct timespec){.tv_sec = (time_t)(t / 1000000000), .tv_nsec = (long)(t % 1000000000)};
			continue;
		}
		if (op % 4 == 2) {
			/* "server full" to a proven address: no prefix limit, one interval of tolerance. */
			struct peer peer = make_peer(&in);
			size_t request = next(&in), reply = next(&in) % 64;
			enum admission_verdict verdict =
				admission_proven(&admission, &peer.address, request, reply, now);
			calls++;
			CHECK(verdict == ADMISSION_REPLY || verdict == ADMISSION_TOO_SHORT ||
			      verdict == ADMISSION_ADDRESS_LIMIT || verdict == ADMISSION_GLOBAL_LIMIT);
			CHECK((verdict == ADMISSION_TOO_SHORT) == (reply > request));
			if (verdict == ADMISSION_REPLY) {
				gcra_take(address_until(&peer), ns(now), ADMISSION_ADDRESS_INTERVAL_NS,
					  ADMISSION_ADDRESS_INTERVAL_NS);
				gcra_take(&global_until, ns(now), ADMISSION_GLOBAL_INTERVAL_NS,
					  ADMISSION_GLOBAL_TOLERANCE_NS);
			}
			continue;
		}
		struct peer peer = make_peer(&in);
		unsigned repeat = op % 4 == 1 ? 1 + next(&in) % 16 : 1; /* again: a flooding socket */
		size_t start = in.at;
		for (unsigned r = 0; r < repeat; r++) {
			in.at = start;
			unsigned long before = verdict_total(&admission);
			datagram(&admission, &in, &peer, now);
			/* A valid token is checked without a verdict being counted; anything else counts once. */
			unsigned long counted = verdict_total(&admission) - before;
			CHECK(counted <= 1);
			calls += counted;
			now.tv_nsec += 1000; /* a microsecond between datagrams */
			if (now.tv_nsec >= 1000000000) {
				now.tv_sec++;
				now.tv_nsec -= 1000000000;
			}
		}
	}
	CHECK(verdict_total(&admission) == calls);
	return 0;
}
