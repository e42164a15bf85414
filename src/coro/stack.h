/*
 * stack.h — coroutine stacks from a per-thread pool (private).
 *
 * Two kinds, chosen per coroutine:
 *   GUARDED  (default) each stack is its own mapping with a PROT_NONE
 *            guard page below it, so an overflow is a clean SIGSEGV, not
 *            memory corruption. Two kernel mappings per stack: with
 *            vm.max_map_count = 65530 that stops near 32,000 stacks alive.
 *   PACKED   stacks carved side by side from large regions (one mapping
 *            per region), any size down to WEFT__FIBER_MIN_STACK: 10^6
 *            coroutines fit; an overflow runs into the neighbour. For
 *            many small coroutines whose stack depth is known.
 * Both are MAP_NORESERVE and touched lazily: a stack costs resident memory
 * only for the pages its coroutine has used.
 *
 * A stack is got and put on the same thread (a coroutine never migrates);
 * each thread keeps freed stacks of each (kind, size) for reuse, so a
 * steady state calls no mmap. Cached stacks are returned to the system
 * when the thread exits (and past a per-thread cap).
 */
#ifndef WEFT_CORO_STACK_H
#define WEFT_CORO_STACK_H

#include <stddef.h>
#include <stdint.h>

enum { WEFT__STACK_GUARDED = 0, WEFT__STACK_PACKED = 1 };

struct weft__stack {
	void *lo;    /* lowest usable byte */
	size_t size; /* usable bytes, >= what was asked, 64-byte multiple */
	int kind;
	void *link; /* the pool's own use while cached */
};

/*
 * A stack of at least `size` usable bytes of `kind`: 0, -EINVAL (size
 * below WEFT__FIBER_MIN_STACK or absurd, unknown kind), -ENOMEM (no
 * memory or no mappings left: vm.max_map_count).
 */
int weft__stack_get(struct weft__stack *s, size_t size, int kind);

/* Give a stack back to this thread's pool. */
void weft__stack_put(struct weft__stack *s);

/* Test hook: whole chains of PACKED stacks moved between threads. */
uint64_t weft__stack_chain_moves(void);

#endif /* WEFT_CORO_STACK_H */
