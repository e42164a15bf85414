/*
 * fiber.c — fibers on top of the assembly switch (switch_<arch>.S), and
 * what the sanitizers must be told about every switch.
 *
 * The switch itself is weft__fiber_swap(from, to): it pushes the
 * callee-saved registers and the FP control state on the stack being
 * left, stores the stack pointer in from->sp, loads to->sp and pops the
 * same frame from there. weft__fiber_make() forges such a frame on a new
 * stack whose return address is weft__fiber_start, which calls
 * entry(arg).
 *
 * ASan keeps a shadow of every stack and a "fake stack" per context for
 * use-after-return detection: before each switch we announce the stack we
 * are going to (__sanitizer_start_switch_fiber, saving our fake stack in
 * from->asan_fake, or NULL when `from` is dying so ASan frees it), and the
 * first thing after a switch lands is __sanitizer_finish_switch_fiber with
 * the fake stack we saved. A thread's own context has no stack_lo of its
 * own: its bounds are read once per thread with pthread_getattr_np.
 *
 * TSan wants a fiber handle per context and to be told which one runs:
 * __tsan_create_fiber for a made fiber, __tsan_get_current_fiber for a
 * thread's own, __tsan_switch_to_fiber just before each switch. Outside
 * sanitizer builds all of that compiles away and weft__fiber_switch is a
 * tail call into the assembly.
 */
#include "coro/fiber.h"

#include <stdint.h>
#include <string.h>

#include <pthread.h>

#include "base/sanitizer.h"

#ifdef WEFT_ASAN
void __sanitizer_start_switch_fiber(void **fake_stack_save, const void *bottom,
				    size_t size);
void __sanitizer_finish_switch_fiber(void *fake_stack_save,
				     const void **bottom_old, size_t *size_old);
void __asan_unpoison_memory_region(void const volatile *addr, size_t size);
#endif
#ifdef WEFT_TSAN
void *__tsan_get_current_fiber(void);
void *__tsan_create_fiber(unsigned flags);
void __tsan_destroy_fiber(void *fiber);
void __tsan_switch_to_fiber(void *fiber, unsigned flags);
#endif

/* switch_<arch>.S */
void weft__fiber_swap(struct weft__fiber *from, struct weft__fiber *to);
void weft__fiber_start(void);

#ifdef WEFT_ASAN
/* The bounds ASan is told for a thread's own context (stack_lo NULL). */
static _Thread_local void *thread_stack_lo;
static _Thread_local size_t thread_stack_size;

static void thread_stack_bounds(void)
{
	pthread_attr_t attr;
	void *lo;
	size_t size;

	if (thread_stack_lo || pthread_getattr_np(pthread_self(), &attr) != 0)
		return;
	if (pthread_attr_getstack(&attr, &lo, &size) == 0) {
		thread_stack_lo = lo;
		thread_stack_size = size;
	}
	pthread_attr_destroy(&attr);
}

static void asan_start(void **fake_save, const struct weft__fiber *to)
{
	if (to->stack_lo)
		__sanitizer_start_switch_fiber(fake_save, to->stack_lo,
					       to->stack_size);
	else
		__sanitizer_start_switch_fiber(fake_save, thread_stack_lo,
					       thread_stack_size);
}
#endif

void weft__fiber_init_thread(struct weft__fiber *f)
{
	memset(f, 0, sizeof(*f));
#ifdef WEFT_ASAN
	thread_stack_bounds();
#endif
#ifdef WEFT_TSAN
	f->tsan = __tsan_get_current_fiber();
#endif
}

/* The FP control state a new fiber starts with: its maker's. */
#if defined(__x86_64__)
struct frame {
	uint16_t fpcw, pad0[3];
	uint32_t mxcsr, pad1;
	uint64_t r15, r14, r13, r12, rbx, rbp;
	void (*ret)(void);
	/* After ret, rsp = top - 16: weft__fiber_start's call then enters
	 * entry with rsp + 8 16-byte aligned, as the ABI wants. */
	uint64_t above[2];
};
_Static_assert(sizeof(struct frame) == 88, "frame layout of the .S");

static void forge(struct frame *fr, void (*entry)(void *), void *arg)
{
	memset(fr, 0, sizeof(*fr));
	__asm__ __volatile__("fnstcw %0" : "=m"(fr->fpcw));
	__asm__ __volatile__("stmxcsr %0" : "=m"(fr->mxcsr));
	fr->r12 = (uint64_t)(uintptr_t)entry;
	fr->r13 = (uint64_t)(uintptr_t)arg;
	fr->ret = weft__fiber_start;
}
#elif defined(__aarch64__)
struct frame {
	uint64_t x[12]; /* x19 .. x30 */
	uint64_t d[8];	/* d8 .. d15 */
	uint64_t fpcr, pad;
};
_Static_assert(sizeof(struct frame) == 176, "frame layout of the .S");

static void forge(struct frame *fr, void (*entry)(void *), void *arg)
{
	uint64_t fpcr;

	memset(fr, 0, sizeof(*fr));
	__asm__ __volatile__("mrs %0, fpcr" : "=r"(fpcr));
	fr->fpcr = fpcr;
	fr->x[0] = (uint64_t)(uintptr_t)entry;		    /* x19 */
	fr->x[1] = (uint64_t)(uintptr_t)arg;		    /* x20 */
	fr->x[11] = (uint64_t)(uintptr_t)weft__fiber_start; /* x30 */
}
#else
#error "weft: no context switch for this architecture"
#endif

void weft__fiber_make(struct weft__fiber *f, void *stack_lo, size_t size,
		      void (*entry)(void *), void *arg)
{
	uintptr_t top = ((uintptr_t)stack_lo + size) & ~(uintptr_t)15;
	struct frame *fr = (struct frame *)(top - sizeof(struct frame));

	memset(f, 0, sizeof(*f));
	f->stack_lo = stack_lo;
	f->stack_size = size;
#ifdef WEFT_ASAN
	/* A reused stack may still carry the poison of a dead fiber's frames. */
	__asan_unpoison_memory_region(stack_lo, size);
#endif
	forge(fr, entry, arg);
	f->sp = fr;
#ifdef WEFT_TSAN
	f->tsan = __tsan_create_fiber(0);
#endif
}

void weft__fiber_entered(struct weft__fiber *from)
{
	(void)from;
#ifdef WEFT_ASAN
	/* A fresh fiber has no fake stack yet. */
	__sanitizer_finish_switch_fiber(NULL, NULL, NULL);
#endif
}

void weft__fiber_switch(struct weft__fiber *from, struct weft__fiber *to)
{
#ifdef WEFT_ASAN
	asan_start(&from->asan_fake, to);
#endif
#ifdef WEFT_TSAN
	__tsan_switch_to_fiber(to->tsan, 0);
#endif
	weft__fiber_swap(from, to);
#ifdef WEFT_ASAN
	__sanitizer_finish_switch_fiber(from->asan_fake, NULL, NULL);
#endif
}

_Noreturn void weft__fiber_switch_final(struct weft__fiber *from,
					struct weft__fiber *to)
{
#ifdef WEFT_ASAN
	/* NULL: this context is dying, ASan may free its fake stack. */
	asan_start(NULL, to);
#endif
#ifdef WEFT_TSAN
	__tsan_switch_to_fiber(to->tsan, 0);
#endif
	weft__fiber_swap(from, to);
	__builtin_unreachable();
}

void weft__fiber_destroy(struct weft__fiber *f)
{
#ifdef WEFT_TSAN
	if (f->tsan && f->stack_lo)
		__tsan_destroy_fiber(f->tsan);
#endif
	f->tsan = NULL;
}
