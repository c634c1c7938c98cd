/*
 * histogram: log-spaced latency buckets. See histogram.h.
 *
 * Values below 2^(SUB_BITS+1) have a bucket each. Above, a value whose
 * highest set bit is B keeps its top SUB_BITS+1 bits: it is shifted right by
 * B - SUB_BITS, which leaves a number M in 32..63, and its bucket is
 * (shift + 1) * 32 + (M - 32). So bucket 64 holds 64-65, bucket 96 holds
 * 128-131, and so on: each power of two is cut into 32 equal parts.
 */
#include "histogram.h"

#include <string.h>

#define SUB_COUNT (1u << HISTOGRAM_SUB_BITS)

void histogram_clear(struct histogram *histogram)
{
	memset(histogram, 0, sizeof *histogram);
}

unsigned histogram_bucket(uint64_t value)
{
	if (value < 2 * SUB_COUNT)
		return (unsigned)value;
	unsigned highest = 63u - (unsigned)__builtin_clzll(value);
	unsigned shift = highest - HISTOGRAM_SUB_BITS;
	return (shift + 1) * SUB_COUNT + (unsigned)(value >> shift) - SUB_COUNT;
}

uint64_t histogram_bucket_low(unsigned index)
{
	if (index < 2 * SUB_COUNT)
		return index;
	unsigned shift = index / SUB_COUNT - 1;
	uint64_t top = index % SUB_COUNT + SUB_COUNT;
	return top << shift;
}

uint64_t histogram_bucket_high(unsigned index)
{
	if (index < 2 * SUB_COUNT)
		return index;
	unsigned shift = index / SUB_COUNT - 1;
	uint64_t top = index % SUB_COUNT + SUB_COUNT;
	/* The last bucket ends at UINT64_MAX; ((top + 1) << shift) would wrap to 0 there. */
	return (top << shift) + ((UINT64_C(1) << shift) - 1);
}

void histogram_add(struct histogram *histogram, uint64_t value)
{
	histogram->buckets[histogram_bucket(value)]++;
	histogram->count++;
	if (value > histogram->max)
		histogram->max = value;
}

void histogram_merge(struct histogram *into, const struct histogram *from)
{
	for (unsigned i = 0; i < HISTOGRAM_BUCKETS; i++)
		into->buckets[i] += from->buckets[i];
	into->count += from->count;
	if (from->max > into->max)
		into->max = from->max;
}

uint64_t histogram_percentile(const struct histogram *histogram, double percent)
{
	if (histogram->count == 0)
		return 0;
	if (percent < 0)
		percent = 0;
	if (percent > 100)
		percent = 100;
	/* The rank of the value asked for, 1-based: p99 of 1000 values is the 990th. */
	double exact = percent / 100.0 * (double)histogram->count;
	uint64_t rank = (uint64_t)exact;
	if ((double)rank < exact)
		rank++;
	if (rank == 0)
		rank = 1;
	uint64_t seen = 0;
	for (unsigned i = 0; i < HISTOGRAM_BUCKETS; i++) {
		seen += histogram->buckets[i];
		if (seen >= rank) {
			uint64_t low = histogram_bucket_low(i), high = histogram_bucket_high(i);
			uint64_t middle = low + (high - low) / 2;
			return middle < histogram->max ? middle : histogram->max;
		}
	}
	return histogram->max;
}
