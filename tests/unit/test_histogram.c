/*
 * test_histogram: unit tests of the latency histogram behind forknet bench
 * (src/client/histogram.h).
 *
 * What is checked: every value lands in a bucket whose bounds hold it, the
 * buckets tile the whole range of uint64_t without gap or overlap, a bucket
 * is never wider than 1/32 of its values, percentiles of known sets come out
 * within that precision and never above the maximum, and merging two
 * histograms is the same as counting everything in one.
 *
 * Run: build/tests/unit/test_histogram
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "client/histogram.h"

static struct histogram one, two, both;

static void test_buckets_hold_their_values(void **state)
{
	(void)state;
	uint64_t samples[] = {0, 1, 31, 63, 64, 65, 66, 127, 128, 1000, 123456789,
			      UINT64_C(1) << 40, (UINT64_C(1) << 63) + 12345, UINT64_MAX};
	for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
		unsigned bucket = histogram_bucket(samples[i]);
		assert_true(bucket < HISTOGRAM_BUCKETS);
		assert_true(histogram_bucket_low(bucket) <= samples[i]);
		assert_true(samples[i] <= histogram_bucket_high(bucket));
	}
	assert_int_equal(histogram_bucket(UINT64_MAX), HISTOGRAM_BUCKETS - 1);
}

static void test_buckets_tile_the_range(void **state)
{
	(void)state;
	assert_int_equal(histogram_bucket_low(0), 0);
	for (unsigned i = 1; i < HISTOGRAM_BUCKETS; i++) {
		uint64_t low = histogram_bucket_low(i);
		assert_int_equal(low, histogram_bucket_high(i - 1) + 1);
		assert_int_equal(histogram_bucket(low), i);
		assert_int_equal(histogram_bucket(histogram_bucket_high(i)), i);
		/* Precision: a bucket spans at most 1/32 of its smallest value. */
		uint64_t width = histogram_bucket_high(i) - low;
		assert_true(low < 64 ? width == 0 : width <= low / 32);
	}
	assert_true(histogram_bucket_high(HISTOGRAM_BUCKETS - 1) == UINT64_MAX);
}

static void test_percentiles(void **state)
{
	(void)state;
	histogram_clear(&one);
	assert_int_equal(histogram_percentile(&one, 50), 0);
	for (uint64_t v = 1; v <= 1000; v++)
		histogram_add(&one, v * 1000); /* 1 us .. 1 ms */
	assert_int_equal(one.count, 1000);
	assert_int_equal(one.max, 1000000);
	double wanted[][2] = {{50, 500000}, {90, 900000}, {99, 990000}, {100, 1000000}};
	for (size_t i = 0; i < 4; i++) {
		double got = (double)histogram_percentile(&one, wanted[i][0]);
		assert_true(got >= wanted[i][1] * (1 - 1.0 / 32));
		assert_true(got <= wanted[i][1] * (1 + 1.0 / 32));
		assert_true(got <= 1000000); /* never above the maximum */
	}
	assert_true(histogram_percentile(&one, 0) <= 1000 * (1 + 1.0 / 32));
	histogram_clear(&one);
	histogram_add(&one, 7);
	assert_int_equal(histogram_percentile(&one, 99.9), 7);
}

static void test_merge_is_counting_together(void **state)
{
	(void)state;
	histogram_clear(&one);
	histogram_clear(&two);
	histogram_clear(&both);
	for (uint64_t v = 0; v < 5000; v++) {
		uint64_t value = v * v * 37 + 5;
		histogram_add(v % 3 == 0 ? &one : &two, value);
		histogram_add(&both, value);
	}
	histogram_merge(&one, &two);
	assert_int_equal(one.count, both.count);
	assert_int_equal(one.max, both.max);
	assert_memory_equal(one.buckets, both.buckets, sizeof both.buckets);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buckets_hold_their_values),
		cmocka_unit_test(test_buckets_tile_the_range),
		cmocka_unit_test(test_percentiles),
		cmocka_unit_test(test_merge_is_counting_together),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
