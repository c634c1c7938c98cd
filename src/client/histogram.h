/*
 * histogram: latencies in log-spaced buckets, as HdrHistogram does: exact
 * below 64 ns, then 32 buckets for each power of two, so every value is
 * kept within 1/32 (about 3 %) of itself, from nanoseconds to years, in a
 * fixed 15 KiB with no allocation. Histograms of several processes add up
 * bucket by bucket (histogram_merge), which is how forknet bench merges its
 * jobs. Pure code.
 */
#ifndef FORKNET_HISTOGRAM_H
#define FORKNET_HISTOGRAM_H

#include <stdint.h>

#define HISTOGRAM_SUB_BITS 5 /* 32 buckets per power of two */
#define HISTOGRAM_BUCKETS ((64 - HISTOGRAM_SUB_BITS + 1) << HISTOGRAM_SUB_BITS)

struct histogram {
	uint64_t count;
	uint64_t max;
	uint64_t buckets[HISTOGRAM_BUCKETS];
};

void histogram_clear(struct histogram *histogram);
/* Counts one VALUE (nanoseconds, say). */
void histogram_add(struct histogram *histogram, uint64_t value);
/* Adds every count of FROM into INTO. */
void histogram_merge(struct histogram *into, const struct histogram *from);
/*
 * The value below which PERCENT (0-100) of the counted values lie: the
 * middle of the bucket holding that rank, never above the largest value
 * counted. 0 when nothing was counted.
 */
uint64_t histogram_percentile(const struct histogram *histogram, double percent);
/* The bucket that holds VALUE, and the smallest and largest value of bucket INDEX. */
unsigned histogram_bucket(uint64_t value);
uint64_t histogram_bucket_low(unsigned index);
uint64_t histogram_bucket_high(unsigned index);

#endif
