/*
 * admission: stateless join tokens and limits on replies to strangers.
 * See admission.h.
 */
#include "admission.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "../lib/clock.h"

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
 * The bytes that identify ADDRESS (family, port, address, scope), followed by
 * EXTRA (8 bytes), into OUT; returns their count. The whole sockaddr is not
 * hashed: its padding is not part of the address.
 */
static size_t address_bytes(const struct address *address, uint64_t extra, unsigned char *out)
{
	size_t length = 0;
	uint16_t port = addr_port(address);

	out[length++] = (unsigned char)addr_family(address);
	out[length++] = (unsigned char)(port >> 8);
	out[length++] = (unsigned char)port;
	if (addr_family(address) == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&address->storage;
		memcpy(out + length, &in6->sin6_addr, 16);
		length += 16;
		memcpy(out + length, &in6->sin6_scope_id, sizeof in6->sin6_scope_id);
		length += sizeof in6->sin6_scope_id;
	} else if (addr_family(address) == AF_INET) {
		const struct sockaddr_in *in4 = (const struct sockaddr_in *)&address->storage;
		memcpy(out + length, &in4->sin_addr, 4);
		length += 4;
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
	unsigned char bytes[64];
	size_t length = address_bytes(address, period, bytes);
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

bool admission_may_reply(struct admission *admission, const struct address *address,
			 bool proven, struct timespec now)
{
	unsigned char bytes[64];
	/* The extra word no period reaches keeps this hash apart from the tokens'; never 0. */
	size_t length = address_bytes(address, UINT64_MAX, bytes);
	uint64_t fingerprint = siphash24(admission->key, bytes, length) | 1;
	size_t slot = (size_t)(fingerprint >> 1) % ADMISSION_RECENT;

	if (!proven && admission->recent[slot].fingerprint == fingerprint) {
		if (clock_seconds_between(admission->recent[slot].last, now) < 1.0)
			return false; /* this address had its reply less than a second ago */
	}
	if (!rate_allow(&admission->replies, ADMISSION_REPLIES_PER_SECOND,
			ADMISSION_REPLIES_PER_SECOND, now))
		return false;
	admission->recent[slot].fingerprint = fingerprint;
	admission->recent[slot].last = now;
	return true;
}
