/*
 * Unit tests of src/lib/siphash.c against the published test vectors of
 * SipHash-2-4 (key 00 01 .. 0f, messages 00, 00 01, ...).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "lib/siphash.h"

static void reference_key(unsigned char key[SIPHASH_KEY_SIZE])
{
	for (int i = 0; i < SIPHASH_KEY_SIZE; i++)
		key[i] = (unsigned char)i;
}

/* The vectors of the reference implementation for lengths 0, 1, 7, 8, 15 and 63. */
static void test_reference_vectors(void **state)
{
	(void)state;
	static const struct {
		size_t length;
		uint64_t hash;
	} vectors[] = {
		{0, 0x726fdb47dd0e0e31ULL},  {1, 0x74f839c593dc67fdULL},
		{7, 0xab0200f58b01d137ULL},  {8, 0x93f5f5799a932462ULL},
		{15, 0xa129ca6149be45e5ULL}, {63, 0x958a324ceb064572ULL},
	};
	unsigned char key[SIPHASH_KEY_SIZE], message[64];
	reference_key(key);
	for (int i = 0; i < 64; i++)
		message[i] = (unsigned char)i;
	for (size_t v = 0; v < sizeof vectors / sizeof vectors[0]; v++) {
		uint64_t hash = siphash24(key, message, vectors[v].length);
		if (hash != vectors[v].hash)
			fail_msg("length %zu: %016llx, want %016llx", vectors[v].length,
				 (unsigned long long)hash, (unsigned long long)vectors[v].hash);
	}
}

/* Another key gives another hash; the same inputs always the same one. */
static void test_key_matters(void **state)
{
	(void)state;
	unsigned char key[SIPHASH_KEY_SIZE], other[SIPHASH_KEY_SIZE];
	reference_key(key);
	memcpy(other, key, sizeof other);
	other[15] ^= 1;
	assert_true(siphash24(key, "abc", 3) == siphash24(key, "abc", 3));
	assert_true(siphash24(key, "abc", 3) != siphash24(other, "abc", 3));
	assert_true(siphash24(key, "abc", 3) != siphash24(key, "abd", 3));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reference_vectors),
		cmocka_unit_test(test_key_matters),
	};
	return cmocka_run_group_tests_name("siphash", tests, NULL, NULL);
}
