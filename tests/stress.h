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

/*
 * Run fn(arg) on a thread and wait at most `secs` for it: true if it
 * returned. A call that should never wait, and on a bug would wait
 * forever, is tested through this instead of hanging the test.
 */
static inline int returns_within(void *(*fn)(void *), void *arg, int secs)
{
	pthread_t tid;
	struct timespec ts;

	if (pthread_create(&tid, NULL, fn, arg))
		return 0;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += secs;
	if (pthread_timedjoin_np(tid, NULL, &ts) == 0)
		return 1;
	pthread_detach(tid); /* the test fails; let the process end */
	return 0;
}

#endif
