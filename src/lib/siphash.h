/*
 * siphash: SipHash-2-4 (Aumasson and Bernstein, 2012), a keyed hash that is
 * fast on short inputs and cannot be predicted without the key. forknet uses
 * it for tokens a server can check without remembering whom it gave them to.
 */
#ifndef FORKNET_SIPHASH_H
#define FORKNET_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

#define SIPHASH_KEY_SIZE 16

/* The 64-bit SipHash-2-4 of DATA (LENGTH bytes) under the 16-byte KEY. */
uint64_t siphash24(const unsigned char key[SIPHASH_KEY_SIZE], const void *data, size_t length);

#endif
