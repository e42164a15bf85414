/*
 * bench_switch: the raw cost of a fiber switch, weft's
 * (weft__fiber_switch, the one the coroutine runtime uses) against
 * Boost.Context's jump_fcontext, measured in the same invocation: main
 * switches into a fiber that switches straight back, n round trips, ns
 * per switch (half a round trip). Repetitions alternate weft and Boost;
 * each side's best repetition is reported.
 * Usage: bench_switch [-n rounds] [-r reps] [--busy]
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "busy.h"
#include "result.h"
#include "weft/base.h"
#include "coro/fiber.h"
#include "coro/stack.h"

#ifdef HAVE_BOOST_CONTEXT
double boost_switch_ns(long rounds);
#endif

static struct weft__fiber main_fiber, bounce_fiber;

static void bounce(void *arg)
{
	(void)arg;
	weft__fiber_entered(&bounce_fiber);
	for (;;)
		weft__fiber_switch(&bounce_fiber, &main_fiber);
}

static double weft_switch_ns(long rounds)
{
	struct weft__stack st;
	int64_t t0, ns;

	if (weft__stack_get(&st, 64 * 1024, WEFT__STACK_GUARDED) != 0)
		return 0;
	weft__fiber_init_thread(&main_fiber);
	weft__fiber_make(&bounce_fiber, st.lo, st.size, bounce, NULL);
	weft__fiber_switch(&main_fiber, &bounce_fiber); /* enter once */
	t0 = weft_now();
	for (long i = 0; i < rounds; i++)
		weft__fiber_switch(&main_fiber, &bounce_fiber);
	ns = weft_now() - t0;
	/* Left suspended for good, like Boost's side. */
	weft__fiber_destroy(&bounce_fiber);
	weft__stack_put(&st);
	return (double)ns / (2.0 * (double)rounds);
}

int main(int argc, char **argv)
{
	long rounds = 10000000;
	int reps = 5;
	bool busy = false;
	double w = 0, b = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-n") && i + 1 < argc) {
			rounds = atol(argv[++i]);
		} else if (!strcmp(argv[i], "-r") && i + 1 < argc) {
			reps = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--busy")) {
			busy = true;
		} else {
			fprintf(stderr,
				"usage: %s [-n rounds] [-r reps] [--busy]\n",
				argv[0]);
			return 2;
		}
	}
	if (rounds < 1 || reps < 1)
		return 2;
	if (busy && busy_start() < 0)
		return 1;
	printf("fiber switch ping-pong: %ld round trips x %d reps%s\n", rounds,
	       reps, busy ? ", one core busy with a spinning process" : "");
	weft_switch_ns(rounds / 10 + 1); /* warm up */
	for (int r = 0; r < reps; r++) {
		double x = weft_switch_ns(rounds);

		if (x > 0 && (w == 0 || x < w))
			w = x;
#ifdef HAVE_BOOST_CONTEXT
		x = boost_switch_ns(rounds);
		if (x > 0 && (b == 0 || x < b))
			b = x;
#endif
	}
	busy_stop();
	printf("  weft           %7.2f ns/switch\n", w);
	if (b > 0)
		printf("  boost fcontext %7.2f ns/switch   (boost/weft %.2f)\n",
		       b, ratio_of(b, w));
	else
		printf("  boost fcontext  not built (libboost-context-dev)\n");
	print_result("switch_ns", busy ? "_busy" : "", w, "boost_fcontext", b,
		     ratio_of(b, w), "ns");
	return 0;
}
