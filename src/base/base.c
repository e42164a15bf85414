/* Time and error names: the only module every other one includes. */
#include "weft/base.h"

#include "base/deadline.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <time.h>

int64_t weft_now(void)
{
	struct timespec ts;

	/* CLOCK_MONOTONIC is served by the vDSO: no syscall on this path. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * WEFT_SEC + ts.tv_nsec;
}

int64_t weft_deadline_in(int64_t ns)
{
	int64_t now;

	if (ns < 0)
		return WEFT_FOREVER;
	now = weft_now();
	if (ns > INT64_MAX - now)
		return WEFT_FOREVER;
	return now + ns;
}

int weft_deadline_ms(int64_t deadline)
{
	int64_t left;

	if (weft__forever(deadline))
		return -1;
	left = weft__left(deadline);
	if (left == 0)
		return 0;
	left = (left + WEFT_MSEC - 1) / WEFT_MSEC;
	return left > INT_MAX ? INT_MAX : (int)left;
}

const char *weft_strerror(int rc)
{
	if (rc == 0)
		return "success";
	if (rc > 0)
		return "not an error code (positive value)";
	if (rc == INT_MIN)
		return "unknown error";
	switch (-rc) {
	/* The codes weft gives a meaning of its own. */
	case EPIPE:
		return "closed (queue or pipe closed)";
	case ETIMEDOUT:
		return "deadline expired";
	case ECANCELED:
		return "cancelled";
	case ESHUTDOWN:
		return "shut down";
	default:
		/* strerrordesc_np (glibc >= 2.32) is thread-safe and static. */
		return strerrordesc_np(-rc) ? strerrordesc_np(-rc)
					    : "unknown error";
	}
}
