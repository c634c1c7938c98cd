/*
 * siphash: SipHash-2-4, written from the algorithm's description in the
 * paper "SipHash: a fast short-input PRF". See siphash.h.
 */
#include "siphash.h"

static uint64_t rotate_left(uint64_t x, int bits)
{
	return (x << bits) | (x >> (64 - bits));
}

/* Eight bytes as a little-endian number, whatever the machine's byte order. */
static uint64_t load_le64(const unsigned char *p)
{
	uint64_t value = 0;
	for (int i = 7; i >= 0; i--)
		value = (value << 8) | p[i];
	return value;
}

struct sip_state {
	uint64_t v0, v1, v2, v3;
};

static void sip_round(struct sip_state *s)
{
	s->v0 += s->v1;
	s->v1 = rotate_left(s->v1, 13);
	s->v1 ^= s->v0;
	s->v0 = rotate_left(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = rotate_left(s->v3, 16);
	s->v3 ^= s->v2;
	s->v0 += s->v3;
	s->v3 = rotate_left(s->v3, 21);
	s->v3 ^= s->v0;
	s->v2 += s->v1;
	s->v1 = rotate_left(s->v1, 17);
	s->v1 ^= s->v2;
	s->v2 = rotate_left(s->v2, 32);
}

/* Mixes one 64-bit word in: two rounds ("2" in 2-4). */
static void sip_compress(struct sip_state *s, uint64_t word)
{
	s->v3 ^= word;
	sip_round(s);
	sip_round(s);
	s->v0 ^= word;
}

uint64_t siphash24(const unsigned char key[SIPHASH_KEY_SIZE], const void *data, size_t length)
{
	const unsigned char *in = data;
	uint64_t k0 = load_le64(key), k1 = load_le64(key + 8);
	/* The four initial constants spell "somepseudorandomlygeneratedbytes". */
	struct sip_state s = {
		.v0 = k0 ^ 0x736f6d6570736575ULL,
		.v1 = k1 ^ 0x646f72616e646f6dULL,
		.v2 = k0 ^ 0x6c7967656e657261ULL,
		.v3 = k1 ^ 0x7465646279746573ULL,
	};

	size_t whole = length - length % 8;
	for (size_t i = 0; i < whole; i += 8)
		sip_compress(&s, load_le64(in + i));

	/* The last word: the remaining bytes, and the length's low byte on top. */
	uint64_t last = (uint64_t)(length & 0xff) << 56;
	for (size_t i = 0; i < length % 8; i++)
		last |= (uint64_t)in[whole + i] << (8 * i);
	sip_compress(&s, last);

	/* Finalization: four rounds ("4" in 2-4). */
	s.v2 ^= 0xff;
	for (int i = 0; i < 4; i++)
		sip_round(&s);
	return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}
