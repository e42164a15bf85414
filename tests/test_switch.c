/*
 * The coroutine runtime's bottom layer: the context switch (switch_<arch>.S
 * through fiber.c) and the stack pool (stack.c).
 *
 *   ping_pong                 values passed through memory, both ways
 *   callee_saved_survive      every callee-saved register and the FP
 *                             control state survive a switch while the
 *                             other side clobbers them all
 *   thousands_round_robin     thousands of fibers alive, each resumed in
 *                             turn, each stack's contents intact
 *   stack_pool_*              reuse without new mappings, both kinds, bad
 *                             arguments, 100k PACKED stacks at once, the
 *                             map-count limit as -ENOMEM
 *   guard_page_*              an overflow of a GUARDED stack faults on its
 *                             guard page
 *   deep_recursion_*          legal deep recursion works (and leaves a
 *                             PACKED stack's neighbours alone)
 *   threads_and_thread_exit   fibers and pools on two threads at once; a
 *                             thread's cached stacks go back at its exit
 */
#include <errno.h>
#include <fenv.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "check.h"
#include "stress.h"
#include "coro/fiber.h"
#include "coro/stack.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif
/* Set by the build when ctest runs the tests under qemu-user. */
#ifndef UNDER_EMULATOR
#define UNDER_EMULATOR 0
#endif

static struct weft__fiber main_fiber;

/* ---- ping-pong ---- */

struct pingpong {
	struct weft__fiber f;
	struct weft__stack st;
	volatile long value; /* passed through memory, each way */
};

static void pong(void *arg)
{
	struct pingpong *p = arg;

	weft__fiber_entered(&p->f);
	for (;;) {
		p->value = p->value * 2 + 1;
		weft__fiber_switch(&p->f, &main_fiber);
		if (p->value < 0)
			break;
	}
	weft__fiber_switch_final(&p->f, &main_fiber);
}

static void ping_pong(void **state)
{
	struct pingpong p = { 0 };
	long rounds = STRESS(1000000, 100000);

	(void)state;
	weft__fiber_init_thread(&main_fiber);
	assert_int_equal(weft__stack_get(&p.st, 64 * 1024, WEFT__STACK_GUARDED),
			 0);
	weft__fiber_make(&p.f, p.st.lo, p.st.size, pong, &p);
	for (long i = 0; i < rounds; i++) {
		long v = i % 100000;

		p.value = v;
		weft__fiber_switch(&main_fiber, &p.f);
		if (p.value != v * 2 + 1)
			fail_msg("round %ld: sent %ld, got back %ld", i, v,
				 (long)p.value);
	}
	p.value = -1;
	weft__fiber_switch(&main_fiber, &p.f); /* it ends */
	weft__fiber_destroy(&p.f);
	weft__stack_put(&p.st);
}

/* ---- callee-saved registers and FP control state ---- */

/*
 * regs_switch(from, to, in, out): load every callee-saved register from
 * in[], call weft__fiber_switch(from, to), and once resumed store what
 * those registers hold into out[]; the caller's own values are kept on
 * the stack around it. Both sides of the test go through it, with
 * different patterns, so each side's switch-in finds the other side's
 * values in the registers unless the switch restored its own.
 */
#if defined(__x86_64__)
#define NREGS 6
static const char *const reg_names[NREGS] = { "rbx", "rbp", "r12",
					      "r13", "r14", "r15" };
__asm__(".text\n"
	".p2align 4\n"
	".type regs_switch, @function\n"
	"regs_switch:\n"
	"	pushq %rbp\n"
	"	pushq %rbx\n"
	"	pushq %r12\n"
	"	pushq %r13\n"
	"	pushq %r14\n"
	"	pushq %r15\n"
	"	pushq %rcx\n" /* out; rsp is now 16-byte aligned */
	"	movq 0(%rdx), %rbx\n"
	"	movq 8(%rdx), %rbp\n"
	"	movq 16(%rdx), %r12\n"
	"	movq 24(%rdx), %r13\n"
	"	movq 32(%rdx), %r14\n"
	"	movq 40(%rdx), %r15\n"
	"	call weft__fiber_switch@PLT\n"
	"	popq %rcx\n"
	"	movq %rbx, 0(%rcx)\n"
	"	movq %rbp, 8(%rcx)\n"
	"	movq %r12, 16(%rcx)\n"
	"	movq %r13, 24(%rcx)\n"
	"	movq %r14, 32(%rcx)\n"
	"	movq %r15, 40(%rcx)\n"
	"	popq %r15\n"
	"	popq %r14\n"
	"	popq %r13\n"
	"	popq %r12\n"
	"	popq %rbx\n"
	"	popq %rbp\n"
	"	ret\n"
	".size regs_switch, .-regs_switch\n");
#elif defined(__aarch64__)
#define NREGS 19
static const char *const reg_names[NREGS] = { "x19", "x20", "x21", "x22", "x23",
					      "x24", "x25", "x26", "x27", "x28",
					      "x29", "d8",  "d9",  "d10", "d11",
					      "d12", "d13", "d14", "d15" };
__asm__(".text\n"
	".p2align 4\n"
	".type regs_switch, %function\n"
	"regs_switch:\n"
	"	stp x29, x30, [sp, #-176]!\n"
	"	stp x19, x20, [sp, #16]\n"
	"	stp x21, x22, [sp, #32]\n"
	"	stp x23, x24, [sp, #48]\n"
	"	stp x25, x26, [sp, #64]\n"
	"	stp x27, x28, [sp, #80]\n"
	"	stp d8, d9, [sp, #96]\n"
	"	stp d10, d11, [sp, #112]\n"
	"	stp d12, d13, [sp, #128]\n"
	"	stp d14, d15, [sp, #144]\n"
	"	str x3, [sp, #160]\n"
	"	ldp x19, x20, [x2, #0]\n"
	"	ldp x21, x22, [x2, #16]\n"
	"	ldp x23, x24, [x2, #32]\n"
	"	ldp x25, x26, [x2, #48]\n"
	"	ldp x27, x28, [x2, #64]\n"
	"	ldr x29, [x2, #80]\n"
	"	ldp d8, d9, [x2, #88]\n"
	"	ldp d10, d11, [x2, #104]\n"
	"	ldp d12, d13, [x2, #120]\n"
	"	ldp d14, d15, [x2, #136]\n"
	"	bl weft__fiber_switch\n"
	"	ldr x3, [sp, #160]\n"
	"	stp x19, x20, [x3, #0]\n"
	"	stp x21, x22, [x3, #16]\n"
	"	stp x23, x24, [x3, #32]\n"
	"	stp x25, x26, [x3, #48]\n"
	"	stp x27, x28, [x3, #64]\n"
	"	str x29, [x3, #80]\n"
	"	stp d8, d9, [x3, #88]\n"
	"	stp d10, d11, [x3, #104]\n"
	"	stp d12, d13, [x3, #120]\n"
	"	stp d14, d15, [x3, #136]\n"
	"	ldp x19, x20, [sp, #16]\n"
	"	ldp x21, x22, [sp, #32]\n"
	"	ldp x23, x24, [sp, #48]\n"
	"	ldp x25, x26, [sp, #64]\n"
	"	ldp x27, x28, [sp, #80]\n"
	"	ldp d8, d9, [sp, #96]\n"
	"	ldp d10, d11, [sp, #112]\n"
	"	ldp d12, d13, [sp, #128]\n"
	"	ldp d14, d15, [sp, #144]\n"
	"	ldp x29, x30, [sp], #176\n"
	"	ret\n"
	".size regs_switch, .-regs_switch\n");
#else
#error "test_switch: no register test for this architecture"
#endif
void regs_switch(struct weft__fiber *from, struct weft__fiber *to,
		 const uint64_t *in, uint64_t *out);

/* The FP control state as the hardware holds it (control bits only). */
struct fpctl {
	uint64_t a, b;
};

static struct fpctl fpctl_get(void)
{
	struct fpctl c = { 0, 0 };
#if defined(__x86_64__)
	uint16_t cw;
	uint32_t mxcsr;

	__asm__ __volatile__("fnstcw %0" : "=m"(cw));
	__asm__ __volatile__("stmxcsr %0" : "=m"(mxcsr));
	c.a = cw;
	c.b = mxcsr & ~0x3fu; /* without the sticky exception flags */
#else
	__asm__ __volatile__("mrs %0, fpcr" : "=r"(c.a));
#endif
	return c;
}

/*
 * Beyond the rounding mode: x87 precision control to single and MXCSR's
 * flush-to-zero and denormals-are-zero (x86-64), flush-to-zero (aarch64).
 */
static void fpctl_set_extra(void)
{
#if defined(__x86_64__)
	uint16_t cw;
	uint32_t mxcsr;

	__asm__ __volatile__("fnstcw %0" : "=m"(cw));
	cw &= ~0x300;
	__asm__ __volatile__("fldcw %0" : : "m"(cw));
	__asm__ __volatile__("stmxcsr %0" : "=m"(mxcsr));
	mxcsr |= 0x8040;
	__asm__ __volatile__("ldmxcsr %0" : : "m"(mxcsr));
#else
	uint64_t fpcr;

	__asm__ __volatile__("mrs %0, fpcr" : "=r"(fpcr));
	fpcr |= 1u << 24;
	__asm__ __volatile__("msr fpcr, %0" : : "r"(fpcr));
#endif
}

/* 1/3 as the current rounding mode makes it. */
static double third(void)
{
	volatile double one = 1.0, three = 3.0;

	return one / three;
}

struct regs_test {
	struct weft__fiber a, b;
	struct weft__stack sa, sb;
	uint64_t pa[NREGS], pb[NREGS]; /* each side's patterns */
	uint64_t oa[NREGS], ob[NREGS]; /* what each side found on return */
	int rounds;
	int bad_a, bad_b; /* mismatches seen */
	char msg[256];
};

static void check_regs(struct regs_test *t, const char *side,
		       const uint64_t *want, const uint64_t *got, int *bad)
{
	for (int i = 0; i < NREGS; i++)
		if (want[i] != got[i] && !(*bad)++)
			snprintf(t->msg, sizeof(t->msg),
				 "%s: %s was 0x%llx after the switch, "
				 "0x%llx before",
				 side, reg_names[i], (unsigned long long)got[i],
				 (unsigned long long)want[i]);
}

/* Side A: rounds upward, checks its registers and FP state each time. */
static void side_a(void *arg)
{
	struct regs_test *t = arg;
	struct fpctl mine;
	double up;

	weft__fiber_entered(&t->a);
	fesetround(FE_UPWARD);
	mine = fpctl_get();
	up = third();
	for (int r = 0; r < t->rounds; r++) {
		regs_switch(&t->a, &t->b, t->pa, t->oa);
		check_regs(t, "side A", t->pa, t->oa, &t->bad_a);
		struct fpctl now = fpctl_get();
		if ((now.a != mine.a || now.b != mine.b ||
		     fegetround() != FE_UPWARD || third() != up) &&
		    !t->bad_a++)
			snprintf(t->msg, sizeof(t->msg),
				 "side A: FP control 0x%llx/0x%llx after the "
				 "switch, 0x%llx/0x%llx before",
				 (unsigned long long)now.a,
				 (unsigned long long)now.b,
				 (unsigned long long)mine.a,
				 (unsigned long long)mine.b);
	}
	weft__fiber_switch_final(&t->a, &main_fiber);
}

/* Side B: toward zero plus the extra bits; clobbers with its patterns. */
static void side_b(void *arg)
{
	struct regs_test *t = arg;
	struct fpctl mine;
	double down;

	weft__fiber_entered(&t->b);
	fesetround(FE_TOWARDZERO);
	fpctl_set_extra();
	mine = fpctl_get();
	down = third();
	for (;;) {
		regs_switch(&t->b, &t->a, t->pb, t->ob);
		check_regs(t, "side B", t->pb, t->ob, &t->bad_b);
		struct fpctl now = fpctl_get();
		if ((now.a != mine.a || now.b != mine.b ||
		     fegetround() != FE_TOWARDZERO || third() != down) &&
		    !t->bad_b++)
			snprintf(t->msg, sizeof(t->msg),
				 "side B: FP control 0x%llx/0x%llx after the "
				 "switch, 0x%llx/0x%llx before",
				 (unsigned long long)now.a,
				 (unsigned long long)now.b,
				 (unsigned long long)mine.a,
				 (unsigned long long)mine.b);
	}
}

static void callee_saved_survive(void **state)
{
	static struct regs_test t;
	struct fpctl main_ctl;

	(void)state;
	memset(&t, 0, sizeof(t));
	t.rounds = 1000;
	for (int i = 0; i < NREGS; i++) {
		/* Distinct per register and side, never a valid address. */
		t.pa[i] = 0xa5a5000000000000ull ^ ((uint64_t)(i + 1) << 40) ^
			  (0x1111111111ull * (uint64_t)(i + 1));
		t.pb[i] = 0x5a5a000000000000ull ^ ((uint64_t)(i + 1) << 32) ^
			  (0x0707070707ull * (uint64_t)(i + 3));
	}
	weft__fiber_init_thread(&main_fiber);
	fesetround(FE_TONEAREST);
	main_ctl = fpctl_get();
	assert_int_equal(weft__stack_get(&t.sa, 64 * 1024, WEFT__STACK_GUARDED),
			 0);
	assert_int_equal(weft__stack_get(&t.sb, 64 * 1024, WEFT__STACK_PACKED),
			 0);
	weft__fiber_make(&t.a, t.sa.lo, t.sa.size, side_a, &t);
	weft__fiber_make(&t.b, t.sb.lo, t.sb.size, side_b, &t);
	/* A starts, B starts, then they alternate; A ends back here. */
	weft__fiber_switch(&main_fiber, &t.a);
	if (t.bad_a || t.bad_b)
		fail_msg("%d + %d mismatches; first: %s", t.bad_a, t.bad_b,
			 t.msg);
	/* The main context's rounding mode and control bits are its own. */
	assert_int_equal(fegetround(), FE_TONEAREST);
	assert_true(fpctl_get().a == main_ctl.a && fpctl_get().b == main_ctl.b);
	weft__fiber_destroy(&t.a);
	weft__fiber_destroy(&t.b); /* never finished: its stack is dropped */
	weft__stack_put(&t.sa);
	weft__stack_put(&t.sb);
}

/* ---- thousands of fibers, round robin ---- */

struct rr {
	struct weft__fiber f;
	struct weft__stack st;
	int index;
	long visits;
};

static struct rr *rr_all;
static int rr_n, rr_rounds, rr_turn, rr_errors;

static void rr_entry(void *arg)
{
	struct rr *me = arg;
	uint32_t local[64]; /* on this fiber's stack: must survive */

	weft__fiber_entered(&me->f);
	for (int i = 0; i < 64; i++)
		local[i] = (uint32_t)me->index * 2654435761u + (uint32_t)i;
	for (int r = 0; r < rr_rounds; r++) {
		if (rr_turn != me->index)
			rr_errors++;
		me->visits++;
		rr_turn = me->index + 1 == rr_n ? 0 : me->index + 1;
		for (int i = 0; i < 64; i++)
			if (local[i] !=
			    (uint32_t)me->index * 2654435761u + (uint32_t)i)
				rr_errors++;
		struct weft__fiber *next = me->index + 1 == rr_n
						   ? &main_fiber
						   : &rr_all[me->index + 1].f;
		if (r + 1 == rr_rounds)
			weft__fiber_switch_final(&me->f, next);
		weft__fiber_switch(&me->f, next);
	}
	abort(); /* not reached */
}

static void thousands_round_robin(void **state)
{
	(void)state;
	rr_n = STRESS(5000, 1000);
	rr_rounds = 20;
	rr_turn = 0;
	rr_errors = 0;
	rr_all = calloc((size_t)rr_n, sizeof(*rr_all));
	assert_non_null(rr_all);
	weft__fiber_init_thread(&main_fiber);
	for (int i = 0; i < rr_n; i++) {
		struct rr *f = &rr_all[i];

		f->index = i;
		/* Mixed kinds and sizes, PACKED ones not page multiples. */
		assert_int_equal(weft__stack_get(&f->st,
						 16 * 1024 + 16 * (i % 7),
						 i % 2),
				 0);
		weft__fiber_make(&f->f, f->st.lo, f->st.size, rr_entry, f);
	}
	for (int r = 0; r < rr_rounds; r++) {
		weft__fiber_switch(&main_fiber, &rr_all[0].f);
		assert_int_equal(rr_turn, 0);
	}
	assert_int_equal(rr_errors, 0);
	for (int i = 0; i < rr_n; i++) {
		assert_int_equal(rr_all[i].visits, rr_rounds);
		weft__fiber_destroy(&rr_all[i].f);
		weft__stack_put(&rr_all[i].st);
	}
	free(rr_all);
}

/* ---- the stack pool ---- */

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t) * (void *const *)a;
	uintptr_t y = (uintptr_t) * (void *const *)b;

	return x < y ? -1 : x > y;
}

/* Distinct addresses among n pointers (sorts them). */
static size_t distinct(void **v, size_t n)
{
	size_t d = n ? 1 : 0;

	qsort(v, n, sizeof(*v), cmp_ptr);
	for (size_t i = 1; i < n; i++)
		d += v[i] != v[i - 1];
	return d;
}

static void pool_reuse(int kind, size_t size)
{
	enum { BATCH = 10, CYCLES = 200 };
	struct weft__stack s[BATCH];
	void **seen = calloc(BATCH * CYCLES, sizeof(void *));
	size_t n = 0;

	assert_non_null(seen);
	for (int c = 0; c < CYCLES; c++) {
		for (int i = 0; i < BATCH; i++) {
			assert_int_equal(weft__stack_get(&s[i], size, kind), 0);
			assert_int_equal(s[i].kind, kind);
			assert_true(s[i].size >= size);
			assert_int_equal(s[i].size % 16, 0);
			assert_int_equal((uintptr_t)s[i].lo % 16, 0);
			/* Usable from the lowest to the highest byte. */
			((volatile char *)s[i].lo)[0] = 1;
			((volatile char *)s[i].lo)[s[i].size - 1] = 1;
			seen[n++] = s[i].lo;
		}
		for (int i = 0; i < BATCH; i++)
			weft__stack_put(&s[i]);
	}
	/* 2000 gets, and only the first BATCH took new memory. */
	assert_int_equal(distinct(seen, n), BATCH);
	free(seen);
}

static void stack_pool_reuses(void **state)
{
	(void)state;
	pool_reuse(WEFT__STACK_GUARDED, 64 * 1024);
	pool_reuse(WEFT__STACK_GUARDED, 5000); /* rounded to pages */
	pool_reuse(WEFT__STACK_PACKED, 8 * 1024);
	pool_reuse(WEFT__STACK_PACKED, WEFT__FIBER_MIN_STACK + 8); /* to 16 */
}

static void stack_pool_rejects(void **state)
{
	struct weft__stack s;

	(void)state;
	for (int kind = 0; kind < 2; kind++) {
		assert_int_equal(weft__stack_get(&s, 0, kind), -EINVAL);
		assert_int_equal(weft__stack_get(&s, WEFT__FIBER_MIN_STACK - 1,
						 kind),
				 -EINVAL);
		assert_int_equal(weft__stack_get(&s, SIZE_MAX, kind), -EINVAL);
		assert_int_equal(weft__stack_get(&s, SIZE_MAX - 4095, kind),
				 -EINVAL);
		assert_int_equal(weft__stack_get(&s, (size_t)1 << 40, kind),
				 -EINVAL);
	}
	assert_int_equal(weft__stack_get(&s, 64 * 1024, 2), -EINVAL);
	assert_int_equal(weft__stack_get(&s, 64 * 1024, -1), -EINVAL);
	/* The smallest legal size works in both kinds. */
	for (int kind = 0; kind < 2; kind++) {
		assert_int_equal(
			weft__stack_get(&s, WEFT__FIBER_MIN_STACK, kind), 0);
		assert_true(s.size >= WEFT__FIBER_MIN_STACK);
		weft__stack_put(&s);
	}
}

static void stack_pool_100k_packed(void **state)
{
	enum { N = 100000, SIZE = 4096 };
	struct weft__stack *s = calloc(N, sizeof(*s));
	void **lo = calloc(N, sizeof(void *));
	void **again = calloc(N, sizeof(void *));

	(void)state;
	assert_true(s && lo && again);
	for (int i = 0; i < N; i++) {
		assert_int_equal(
			weft__stack_get(&s[i], SIZE, WEFT__STACK_PACKED), 0);
		assert_int_equal(s[i].size, SIZE);
		lo[i] = s[i].lo;
	}
	/* All distinct and none overlapping its neighbour. */
	qsort(lo, N, sizeof(*lo), cmp_ptr);
	for (int i = 1; i < N; i++)
		if ((uintptr_t)lo[i] - (uintptr_t)lo[i - 1] < SIZE)
			fail_msg("stacks %p and %p overlap", lo[i - 1], lo[i]);
	/* Write a sample of them (every page would be 400 MB resident). */
	for (int i = 0; i < N; i += 97) {
		memset(s[i].lo, 0x5a, 64);
		memset((char *)s[i].lo + SIZE - 64, 0xa5, 64);
	}
	for (int i = 0; i < N; i++)
		weft__stack_put(&s[i]);
	/* Gotten again: all from what was put, no new region carved. */
	for (int i = 0; i < N; i++) {
		assert_int_equal(
			weft__stack_get(&s[i], SIZE, WEFT__STACK_PACKED), 0);
		again[i] = s[i].lo;
	}
	qsort(again, N, sizeof(*again), cmp_ptr);
	assert_memory_equal(lo, again, N * sizeof(void *));
	for (int i = 0; i < N; i++)
		weft__stack_put(&s[i]);
	free(s);
	free(lo);
	free(again);
}

/*
 * GUARDED stacks until the kernel refuses a mapping (vm.max_map_count:
 * two mappings each): the refusal is -ENOMEM, not a crash, and everything
 * goes back. In a child, so the exhaustion harms no one. Skipped in the
 * sanitizer builds, whose runtimes need mappings of their own to survive
 * the moment of exhaustion, and under qemu-user, whose emulated mmap slows
 * to a crawl with tens of thousands of mappings (FORCE_ENOMEM=1 runs it there too).
 */
static void stack_pool_enomem(void **state)
{
	enum { MAX = 200000 };
	pid_t pid;
	int st;

	(void)state;
	if ((UNDER_ASAN || UNDER_TSAN || UNDER_EMULATOR) && !getenv("FORCE_"
								    "ENOMEM"))
		skip();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct weft__stack *s = malloc(MAX * sizeof(*s));
		int n = 0, rc = 0;

		if (!s)
			_exit(3);
		while (n < MAX &&
		       (rc = weft__stack_get(&s[n], 16 * 1024,
					     WEFT__STACK_GUARDED)) == 0)
			n++;
		while (n > 0)
			weft__stack_put(&s[--n]);
		/* After the refusal, stacks come again. */
		if (rc == -ENOMEM &&
		    weft__stack_get(&s[0], 16 * 1024, WEFT__STACK_GUARDED) == 0)
			_exit(0);
		_exit(rc == -ENOMEM ? 4 : rc == 0 ? 2 : 1);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("child: status 0x%x (exit 2: no refusal in 200000 "
			 "stacks; 1: not -ENOMEM)",
			 st);
}

/* ---- overflow into the guard page ---- */

static struct weft__stack ovf_stack;
static struct weft__fiber ovf_fiber;

static volatile int ovf_forever = 1; /* volatile: no "infinite recursion" */

static int recurse_forever(volatile char *up)
{
	volatile char buf[512];

	buf[0] = up ? up[0] : 0;
	if (ovf_forever)
		return recurse_forever(buf) + buf[1];
	return buf[0];
}

static void ovf_entry(void *arg)
{
	(void)arg;
	weft__fiber_entered(&ovf_fiber);
	recurse_forever(NULL);
	_exit(5); /* not reached */
}

static void segv_handler(int sig, siginfo_t *si, void *uc)
{
	uintptr_t a = (uintptr_t)si->si_addr;
	uintptr_t guard_hi = (uintptr_t)ovf_stack.lo;
	uintptr_t guard_lo = guard_hi - (uintptr_t)sysconf(_SC_PAGESIZE);

	(void)sig;
	(void)uc;
	_exit(a >= guard_lo && a < guard_hi ? 42 : 43);
}

/* In a child: overflow a 64 KiB GUARDED stack; maybe with a handler. */
static pid_t overflow_child(bool handler)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	/* No core dump: qemu-user would write out every mapping, slowly. */
	setrlimit(RLIMIT_CORE, &(struct rlimit){ 0, 0 });
	if (handler) {
		static char alt[64 * 1024];
		stack_t ss = { .ss_sp = alt, .ss_size = sizeof(alt) };
		struct sigaction sa = { .sa_sigaction = segv_handler,
					.sa_flags = SA_SIGINFO | SA_ONSTACK };

		if (sigaltstack(&ss, NULL) != 0 ||
		    sigaction(SIGSEGV, &sa, NULL) != 0)
			_exit(6);
	}
	weft__fiber_init_thread(&main_fiber);
	if (weft__stack_get(&ovf_stack, 64 * 1024, WEFT__STACK_GUARDED) != 0)
		_exit(7);
	weft__fiber_make(&ovf_fiber, ovf_stack.lo, ovf_stack.size, ovf_entry,
			 NULL);
	weft__fiber_switch(&main_fiber, &ovf_fiber);
	_exit(8); /* not reached */
}

/*
 * Without a handler the child dies of SIGSEGV; under a sanitizer, whose
 * runtime catches SIGSEGV and reports a stack overflow, it must at least
 * not exit 0 nor reach any of our own exit codes (5..8: returned, set-up
 * failed). With a SIGSEGV handler on an alternate stack, the faulting
 * address must be inside the guard page: the overflow touched nothing
 * below the stack.
 */
static void guard_page_catches_overflow(void **state)
{
	pid_t pid;
	int st;

	(void)state;
	pid = overflow_child(false);
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (UNDER_ASAN || UNDER_TSAN) {
		print_message("sanitizer build: overflowing child %s %d\n",
			      WIFEXITED(st) ? "exited" : "killed by signal",
			      WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
		if (WIFEXITED(st) &&
		    (WEXITSTATUS(st) == 0 ||
		     (WEXITSTATUS(st) >= 5 && WEXITSTATUS(st) <= 8)))
			fail_msg("child exited %d", WEXITSTATUS(st));
	} else if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGSEGV) {
		fail_msg("child: status 0x%x, not killed by SIGSEGV", st);
	}

	pid = overflow_child(true);
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 42)
		fail_msg("child with handler: status 0x%x (exit 43: fault "
			 "outside the guard page)",
			 st);
}

/* ---- deep but legal recursion ---- */

static struct weft__fiber deep_fiber;
static struct weft__stack deep_stack;
static uintptr_t deep_limit; /* recurse until the stack pointer is below */
static long deep_depth;
static long deep_sum;

static long recurse_to(long depth)
{
	volatile char buf[256];

	buf[0] = (char)depth;
	/* The frame, not buf: ASan may put buf on its fake stack. */
	if ((uintptr_t)__builtin_frame_address(0) > deep_limit)
		return recurse_to(depth + 1) + buf[0] % 7;
	deep_depth = depth;
	return buf[0] % 7;
}

static void deep_entry(void *arg)
{
	(void)arg;
	weft__fiber_entered(&deep_fiber);
	deep_sum = recurse_to(0);
	weft__fiber_switch_final(&deep_fiber, &main_fiber);
}

/* Recurse in `s` down to `use` bytes of it; return the depth reached. */
static long run_deep(size_t use)
{
	long want = 0;

	deep_limit = (uintptr_t)deep_stack.lo + deep_stack.size - use;
	deep_depth = -1;
	weft__fiber_init_thread(&main_fiber);
	weft__fiber_make(&deep_fiber, deep_stack.lo, deep_stack.size,
			 deep_entry, NULL);
	weft__fiber_switch(&main_fiber, &deep_fiber);
	weft__fiber_destroy(&deep_fiber);
	for (long d = 0; d <= deep_depth; d++)
		want += (char)d % 7;
	assert_int_equal(deep_sum, want);
	return deep_depth;
}

static void deep_recursion_guarded(void **state)
{
	(void)state;
	assert_int_equal(weft__stack_get(&deep_stack, 1024 * 1024,
					 WEFT__STACK_GUARDED),
			 0);
	/* Down to 7/8 of a megabyte: a thousand frames and more. */
	assert_true(run_deep(deep_stack.size / 8 * 7) > 1000);
	weft__stack_put(&deep_stack);
}

static void deep_recursion_packed(void **state)
{
	struct weft__stack s[3];
	size_t size = 128 * 1024;

	(void)state;
	/* Three in a row: the middle one's neighbours must stay untouched. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(
			weft__stack_get(&s[i], size, WEFT__STACK_PACKED), 0);
	memset(s[0].lo, 0x11, s[0].size);
	memset(s[2].lo, 0x22, s[2].size);
	deep_stack = s[1];
	assert_true(run_deep(size / 4 * 3) > 100);
	for (size_t i = 0; i < size; i++) {
		if (((unsigned char *)s[0].lo)[i] != 0x11 ||
		    ((unsigned char *)s[2].lo)[i] != 0x22)
			fail_msg("neighbour byte %zu changed", i);
	}
	for (int i = 0; i < 3; i++)
		weft__stack_put(&s[i]);
}

/* ---- stacks and fibers on several threads; a thread's exit ---- */

enum { TX_KEEP = 10 };

struct thread_run {
	pthread_t tid;
	void *guarded[TX_KEEP], *packed[TX_KEEP];
	size_t guarded_size;
	int errors;
};

struct tx_fiber {
	struct weft__fiber self, *back;
	long n;
};

static void tx_entry(void *arg)
{
	struct tx_fiber *f = arg;

	weft__fiber_entered(&f->self);
	for (;;) {
		f->n++;
		weft__fiber_switch(&f->self, f->back);
	}
}

/*
 * Each thread runs its own fibers on its own stacks (per-thread caches,
 * PACKED regions shared), then leaves TX_KEEP stacks of each kind in its
 * cache and exits: the key destructor must hand them back.
 */
static void *thread_body(void *arg)
{
	struct thread_run *t = arg;
	struct weft__fiber me;
	struct weft__stack s[TX_KEEP * 2];

	weft__fiber_init_thread(&me);
	for (int round = 0; round < 50; round++) {
		struct tx_fiber f[8];
		struct weft__stack st[8];

		for (int i = 0; i < 8; i++) {
			if (weft__stack_get(&st[i], 8192 + 16 * (round % 3),
					    i % 2) != 0) {
				t->errors++;
				return NULL;
			}
			f[i] = (struct tx_fiber){ .back = &me };
			weft__fiber_make(&f[i].self, st[i].lo, st[i].size,
					 tx_entry, &f[i]);
		}
		for (int k = 0; k < 100; k++)
			for (int i = 0; i < 8; i++)
				weft__fiber_switch(&me, &f[i].self);
		for (int i = 0; i < 8; i++) {
			t->errors += f[i].n != 100;
			weft__fiber_destroy(&f[i].self);
			weft__stack_put(&st[i]);
		}
	}
	for (int i = 0; i < TX_KEEP * 2; i++)
		if (weft__stack_get(&s[i], 12345, i % 2) != 0)
			t->errors++;
	for (int i = 0; i < TX_KEEP; i++) {
		t->guarded[i] = s[2 * i].lo;
		t->packed[i] = s[2 * i + 1].lo;
	}
	t->guarded_size = s[0].size;
	for (int i = 0; i < TX_KEEP * 2; i++)
		weft__stack_put(&s[i]);
	return NULL;
}

static void threads_and_thread_exit(void **state)
{
	struct thread_run t[2];
	long pg = sysconf(_SC_PAGESIZE);

	(void)state;
	memset(t, 0, sizeof(t));
	for (int i = 0; i < 2; i++)
		assert_int_equal(
			pthread_create(&t[i].tid, NULL, thread_body, &t[i]), 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(pthread_join(t[i].tid, NULL), 0);
		assert_int_equal(t[i].errors, 0);
	}
	for (int i = 0; i < 2; i++) {
		for (int k = 0; k < TX_KEEP; k++) {
			/*
			 * GUARDED: unmapped. msync over a range with a hole
			 * fails with ENOMEM; the whole range mapped again by
			 * someone else in between is not a worry.
			 */
			char *lo = t[i].guarded[k];

			if (msync(lo - pg, (size_t)pg + t[i].guarded_size,
				  MS_ASYNC) == 0)
				fail_msg("thread %d's cached stack %p still "
					 "mapped",
					 i, (void *)lo);
		}
	}
	/* PACKED: on the free list, so this thread gets those very stacks. */
	struct weft__stack s[4 * TX_KEEP];
	int found = 0;

	for (int k = 0; k < 4 * TX_KEEP; k++) {
		assert_int_equal(
			weft__stack_get(&s[k], 12345, WEFT__STACK_PACKED), 0);
		for (int i = 0; i < 2; i++)
			for (int j = 0; j < TX_KEEP; j++)
				found += s[k].lo == t[i].packed[j];
	}
	for (int k = 0; k < 4 * TX_KEEP; k++)
		weft__stack_put(&s[k]);
	assert_int_equal(found, 2 * TX_KEEP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ping_pong),
		cmocka_unit_test(callee_saved_survive),
		cmocka_unit_test(thousands_round_robin),
		cmocka_unit_test(stack_pool_reuses),
		cmocka_unit_test(stack_pool_rejects),
		cmocka_unit_test(stack_pool_100k_packed),
		cmocka_unit_test(stack_pool_enomem),
		cmocka_unit_test(guard_page_catches_overflow),
		cmocka_unit_test(deep_recursion_guarded),
		cmocka_unit_test(deep_recursion_packed),
		cmocka_unit_test(threads_and_thread_exit),
	};

	/* TEST_FILTER=name runs one test (cmocka's pattern). */
	if (getenv("TEST_FILTER"))
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
