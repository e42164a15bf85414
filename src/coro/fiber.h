/*
 * fiber.h — an execution context on its own stack, and the switch between
 * two of them (private to the coroutine module).
 *
 * The switch is a few instructions of assembly per architecture
 * (switch_x86_64.S, switch_aarch64.S) that save exactly what the ABI says
 * a callee must preserve, on the stack being left, and restore it from
 * the stack being entered:
 *   x86-64 SysV  rbx rbp r12-r15, the x87 control word and MXCSR's
 *                control bits;
 *   aarch64      x19-x28, fp (x29), lr (x30), d8-d15 (the low halves of
 *                v8-v15), and FPCR.
 * Everything else is caller-saved, so the C caller of the switch already
 * keeps what it needs.
 *
 * The sanitizers are told about every switch: ASan
 * (__sanitizer_start_switch_fiber / __sanitizer_finish_switch_fiber, with
 * the fake stack of a dying fiber passed as NULL) and TSan
 * (__tsan_create_fiber / __tsan_switch_to_fiber / __tsan_destroy_fiber).
 * Outside sanitizer builds those calls compile to nothing.
 *
 * A fiber is owned by one thread: it is made, switched to and from, and
 * destroyed on that thread (weft never migrates a started coroutine).
 */
#ifndef WEFT_CORO_FIBER_H
#define WEFT_CORO_FIBER_H

#include <stdbool.h>
#include <stddef.h>

struct weft__fiber {
	void *sp;	   /* saved stack pointer while switched out */
	void *stack_lo;	   /* lowest usable address (NULL: a thread's own) */
	size_t stack_size; /* usable bytes above stack_lo */
	void *tsan;	   /* TSan's fiber handle (TSan builds only) */
	void *asan_fake;   /* ASan's fake stack while switched out */
};

/*
 * Make `f` stand for the calling thread's own context (its scheduler), so
 * fibers can switch back to it. Call once per thread before the first
 * switch; nothing to destroy.
 */
void weft__fiber_init_thread(struct weft__fiber *f);

/*
 * Prepare `f` to run entry(arg) on [stack_lo, stack_lo + size) at its first
 * switch-in. size must be at least WEFT__FIBER_MIN_STACK; the stack is
 * aligned down as the ABI requires. entry must never return: a fiber ends
 * by weft__fiber_switch_final() away from itself. entry starts by calling
 * weft__fiber_entered(f).
 */
#define WEFT__FIBER_MIN_STACK 1024
void weft__fiber_make(struct weft__fiber *f, void *stack_lo, size_t size,
		      void (*entry)(void *), void *arg);

/* Call first thing in a fiber's entry function (ASan bookkeeping). */
void weft__fiber_entered(struct weft__fiber *from);

/* Save the running context into `from` and resume `to`. */
void weft__fiber_switch(struct weft__fiber *from, struct weft__fiber *to);

/*
 * Leave `from` for good and resume `to`: `from` is never resumed, and its
 * stack may be reused once `to` runs. Does not return.
 */
_Noreturn void weft__fiber_switch_final(struct weft__fiber *from,
					struct weft__fiber *to);

/* Release what make() took (the TSan fiber); the stack is the caller's. */
void weft__fiber_destroy(struct weft__fiber *f);

#endif /* WEFT_CORO_FIBER_H */
