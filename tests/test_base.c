#include <errno.h>
#include <limits.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "weft/base.h"

static void now_is_monotonic_and_matches_clock(void **state)
{
	struct timespec ts;
	int64_t a, b, c;

	(void)state;
	a = weft_now();
	clock_gettime(CLOCK_MONOTONIC, &ts);
	b = (int64_t)ts.tv_sec * WEFT_SEC + ts.tv_nsec;
	c = weft_now();
	assert_true(a > 0);
	assert_true(a <= b && b <= c);
	for (int i = 0; i < 100000; i++) {
		int64_t d = weft_now();
		assert_true(d >= c);
		c = d;
	}
}

static void deadlines(void **state)
{
	(void)state;
	assert_int_equal(weft_deadline_in(-1), WEFT_FOREVER);
	assert_int_equal(weft_deadline_in(INT64_MAX), WEFT_FOREVER);
	int64_t d = weft_deadline_in(WEFT_SEC);
	assert_true(d > weft_now() && d <= weft_now() + WEFT_SEC);
	assert_int_equal(weft_deadline_ms(WEFT_FOREVER), -1);
	assert_int_equal(weft_deadline_ms(0), 0);
	assert_int_equal(weft_deadline_ms(weft_now() - WEFT_SEC), 0);
	int ms = weft_deadline_ms(weft_now() + 1500 * WEFT_MSEC);
	assert_in_range(ms, 1490, 1500);
	/* Rounds up: a deadline 1 ns away is 1 ms of poll, not a busy 0. */
	assert_int_equal(weft_deadline_ms(weft_now() + 100 * WEFT_USEC), 1);
	assert_int_equal(weft_deadline_ms(INT64_MAX), INT_MAX);
	/* One rule: only WEFT_FOREVER is forever; other negatives are past. */
	assert_int_equal(weft_deadline_ms(-2), 0);
	assert_int_equal(weft_deadline_ms(INT64_MIN), 0);
}

static void strerror_names_codes(void **state)
{
	(void)state;
	assert_string_equal(weft_strerror(0), "success");
	assert_string_equal(weft_strerror(-ETIMEDOUT), "deadline expired");
	assert_string_equal(weft_strerror(-EPIPE), "closed (queue or pipe "
						   "closed)");
	assert_string_equal(weft_strerror(-ENOENT), "No such file or "
						    "directory");
	assert_non_null(weft_strerror(-99999));
	assert_non_null(weft_strerror(INT_MIN));
	assert_non_null(weft_strerror(5));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(now_is_monotonic_and_matches_clock),
		cmocka_unit_test(deadlines),
		cmocka_unit_test(strerror_names_codes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
