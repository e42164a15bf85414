/*
 * The coroutine runtime's bottom layer: the context switch (switch_<arch>.S
 * through fiber.c) and the stack pool (stack.c).
 */
#include <errno.h>
#include <fenv.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <sys/mman.h>
#include <sys/wait.h>

#include "check.h"
#include "coro/fiber.h"
#include "coro/stack.h"

/* ---- ping-pong ---- */

struct pingpong {
	struct weft__fiber main, f;
	struct weft__stack st;
	volatile long value; /* passed through memory, each way */
	long rounds;
};

static void pong(void *arg)
{
	struct pingpong *p = arg;

	weft__fiber_entered(&p->f);
	for (;;) {
		p->value = p->value * 2 + 1;
		weft__fiber_switch(&p->f, &p->main);
		if (p->value < 0)
			break;
	}
	weft__fiber_switch_final(&p->f, &p->main);
}

static void ping_pong(void **state)
{
	struct pingpong p = { .rounds = 200000 };

	(void)state;
	weft__fiber_init_thread(&p.main);
	assert_int_equal(weft__stack_get(&p.st, 64 * 1024, WEFT__STACK_GUARDED),
			 0);
	weft__fiber_make(&p.f, p.st.lo, p.st.size, pong, &p);
	for (long i = 0; i < p.rounds; i++) {
		long v = i % 1000;

		p.value = v;
		weft__fiber_switch(&p.main, &p.f);
		assert_int_equal(p.value, v * 2 + 1);
	}
	p.value = -1;
	weft__fiber_switch(&p.main, &p.f); /* it ends */
	weft__fiber_destroy(&p.f);
	weft__stack_put(&p.st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ping_pong),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
