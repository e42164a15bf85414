/* Shared by the concurrency tests: iteration counts, item casts, sleeping. */
#ifndef WEFT_TEST_STRESS_H
#define WEFT_TEST_STRESS_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "weft/base.h"

#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif
#ifndef UNDER_TSAN
#define UNDER_TSAN 0
#endif

/* Scale a stress count down under TSan (roughly 10-20x slower). */
#define STRESS(n, tsan_n) (UNDER_TSAN ? (tsan_n) : (n))

/* Integers carried as queue items and task results. */
#define V(x) ((void *)(uintptr_t)(x))
#define U(p) ((uintptr_t)(p))

static inline void sleep_ms(int ms)
{
	nanosleep(&(struct timespec){ ms / 1000, (ms % 1000) * 1000000L },
		  NULL);
}

/* Milliseconds since `t0` (weft_now() nanoseconds). */
static inline int64_t ms_since(int64_t t0)
{
	return (weft_now() - t0) / WEFT_MSEC;
}

#endif
