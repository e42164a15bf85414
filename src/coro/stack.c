/*
 * stack.c — the coroutine stack pool (stack.h).
 *
 * GUARDED: one mapping of size + a page, MAP_NORESERVE|MAP_STACK, with the
 * lowest page made PROT_NONE (so two kernel VMAs). Sizes are rounded up to
 * whole pages.
 *
 * PACKED: carved side by side, at a bump pointer, from process-wide
 * regions of WEFT__STACK_REGION bytes (one MAP_NORESERVE mapping each; a
 * stack bigger than that gets a region of its own). Sizes are rounded up
 * to 64 bytes, so every stack's top is cache-line aligned. Regions are
 * never unmapped: a PACKED stack that leaves a thread's cache goes to a
 * process-wide free list of its size (alone, or in a whole chain when a
 * full bucket overflows), which any thread's get() draws from before
 * carving; its pages are handed back with madvise(MADV_DONTNEED) when
 * the cache is drained (thread exit, bucket eviction), not when it merely
 * overflows the cache's cap.
 *
 * The per-thread cache: up to WEFT__STACK_BUCKETS (kind, size) buckets,
 * each a LIFO list of at most a cap of stacks; a new (kind, size) takes
 * over the least recently used bucket, releasing its stacks. The list
 * node lives in the top bytes of the cached stack itself (its hottest
 * page, already resident), so caching allocates nothing and touches no
 * new page; get() and put() of a cached size are a few loads and stores,
 * no syscall. A pthread key's destructor empties the cache when the
 * thread exits: GUARDED stacks are unmapped, PACKED ones go to the free
 * list. (The main thread's cache is left to process exit, as the kernel
 * frees it anyway.)
 *
 * mmap or mprotect failing (no memory, or vm.max_map_count reached) is
 * -ENOMEM; nothing here aborts.
 */
#include "coro/stack.h"
#include "coro/fiber.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include <sys/mman.h>

#include "base/sanitizer.h"
#ifdef WEFT_ASAN
void __asan_unpoison_memory_region(void const volatile *addr, size_t size);
#endif

#define WEFT__STACK_MAX ((size_t)1 << 30) /* "absurd" above this */
#define WEFT__STACK_REGION ((size_t)64 << 20)
#define WEFT__STACK_BUCKETS 8
#define WEFT__STACK_CAP_GUARDED 64
#define WEFT__STACK_CAP_PACKED 1024

/* A cached stack's list node, in its own top bytes. */
struct node {
	struct node *next;
	void *lo;
	struct node *chain; /* a chain's first node: the next chain */
};

struct bucket {
	size_t size; /* 0: bucket unused */
	int kind;
	unsigned n;
	struct node *head;
	uint64_t used; /* the cache's clock when last got or put */
};

struct cache {
	struct bucket b[WEFT__STACK_BUCKETS];
	uint64_t clock;
	bool registered; /* the thread-exit destructor will run */
};

static _Thread_local struct cache cache;

static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t key;
static bool key_ok;

/*
 * PACKED: the region being carved, and free stacks per size: loose ones
 * (lo), and whole chains of WEFT__STACK_CAP_PACKED that a thread's full
 * bucket handed over at once and an empty one takes back at once, so a
 * loop that frees what another spawns moves its stacks a thousand at a
 * time, not one lock hold each.
 */
struct freelist {
	size_t size;
	size_t n, cap;
	void **lo;
	struct node *chains;
};

static pthread_mutex_t packed_lock = PTHREAD_MUTEX_INITIALIZER;
static char *region_next, *region_end;
static struct freelist *freelists;
static size_t nfreelists;

static size_t page_size(void)
{
	static _Atomic size_t pg;
	size_t v = atomic_load_explicit(&pg, memory_order_relaxed);

	if (!v) {
		v = (size_t)sysconf(_SC_PAGESIZE);
		atomic_store_explicit(&pg, v, memory_order_relaxed);
	}
	return v;
}

static void cache_drain(void *arg);

static void make_key(void)
{
	key_ok = pthread_key_create(&key, cache_drain) == 0;
}

/* ---- GUARDED ---- */

static int guarded_map(struct weft__stack *s, size_t size)
{
	size_t pg = page_size();
	char *p = mmap(NULL, size + pg, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK,
		       -1, 0);

	if (p == MAP_FAILED)
		return -ENOMEM;
	if (mprotect(p, pg, PROT_NONE) != 0) {
		munmap(p, size + pg);
		return -ENOMEM;
	}
	s->lo = p + pg;
	s->size = size;
	return 0;
}

static void guarded_unmap(void *lo, size_t size)
{
	size_t pg = page_size();

	munmap((char *)lo - pg, size + pg);
}

/* ---- PACKED ---- */

static struct freelist *freelist_find(size_t size, bool create)
{
	struct freelist *fl;

	for (size_t i = 0; i < nfreelists; i++)
		if (freelists[i].size == size)
			return &freelists[i];
	if (!create)
		return NULL;
	fl = realloc(freelists, (nfreelists + 1) * sizeof(*fl));
	if (!fl)
		return NULL;
	freelists = fl;
	fl = &freelists[nfreelists++];
	*fl = (struct freelist){ .size = size };
	return fl;
}

static int packed_carve(struct weft__stack *s, size_t size)
{
	struct freelist *fl;
	char *p;
	int rc = 0;

	pthread_mutex_lock(&packed_lock);
	fl = freelist_find(size, false);
	if (fl && fl->n) {
		s->lo = fl->lo[--fl->n];
	} else if (size > WEFT__STACK_REGION) {
		/* A region of its own, never shared. */
		p = mmap(NULL, size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
				 MAP_STACK,
			 -1, 0);
		if (p == MAP_FAILED)
			rc = -ENOMEM;
		else
			s->lo = p;
	} else {
		if ((size_t)(region_end - region_next) < size) {
			/* The old region's tail is abandoned. */
			p = mmap(NULL, WEFT__STACK_REGION,
				 PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
					 MAP_STACK,
				 -1, 0);
			if (p == MAP_FAILED) {
				rc = -ENOMEM;
				goto out;
			}
			region_next = p;
			region_end = p + WEFT__STACK_REGION;
		}
		s->lo = region_next;
		region_next += size;
	}
out:
	pthread_mutex_unlock(&packed_lock);
	s->size = size;
	return rc;
}

/*
 * Give a PACKED stack to the process-wide free list; with `drop`, its
 * pages handed back to the kernel too.
 */
static void packed_release(void *lo, size_t size, bool drop)
{
	size_t pg = page_size();
	uintptr_t a = ((uintptr_t)lo + pg - 1) & ~(uintptr_t)(pg - 1);
	uintptr_t e = ((uintptr_t)lo + size) & ~(uintptr_t)(pg - 1);
	struct freelist *fl;
	void **v;

	/* Only the whole pages inside: the neighbours own the rest. */
	if (drop && e > a)
		madvise((void *)a, e - a, MADV_DONTNEED);
	pthread_mutex_lock(&packed_lock);
	fl = freelist_find(size, true);
	if (fl && fl->n == fl->cap) {
		size_t cap = fl->cap ? 2 * fl->cap : 64;

		v = realloc(fl->lo, cap * sizeof(*v));
		if (v) {
			fl->lo = v;
			fl->cap = cap;
		}
	}
	/* Out of memory for the list itself: the stack is lost, not freed. */
	if (fl && fl->n < fl->cap)
		fl->lo[fl->n++] = lo;
	pthread_mutex_unlock(&packed_lock);
}

static _Atomic uint64_t chain_moves; /* a test hook */

uint64_t weft__stack_chain_moves(void)
{
	return atomic_load_explicit(&chain_moves, memory_order_relaxed);
}

/* A full bucket's chain to the shared list (lost if no memory for it). */
static void packed_give_chain(size_t size, struct node *chain)
{
	struct freelist *fl;

	pthread_mutex_lock(&packed_lock);
	fl = freelist_find(size, true);
	if (fl) {
		chain->chain = fl->chains;
		fl->chains = chain;
		atomic_fetch_add_explicit(&chain_moves, 1,
					  memory_order_relaxed);
	}
	pthread_mutex_unlock(&packed_lock);
}

/* A whole chain of WEFT__STACK_CAP_PACKED stacks of size, or NULL. */
static struct node *packed_take_chain(size_t size)
{
	struct freelist *fl;
	struct node *chain = NULL;

	pthread_mutex_lock(&packed_lock);
	fl = freelist_find(size, false);
	if (fl && fl->chains) {
		chain = fl->chains;
		fl->chains = chain->chain;
		atomic_fetch_add_explicit(&chain_moves, 1,
					  memory_order_relaxed);
	}
	pthread_mutex_unlock(&packed_lock);
	return chain;
}

/* ---- the per-thread cache ---- */

/* Make sure the cache is drained when the thread exits: false if not. */
static bool cache_register(void)
{
	if (!cache.registered) {
		pthread_once(&key_once, make_key);
		cache.registered = key_ok &&
				   pthread_setspecific(key, &cache) == 0;
	}
	return cache.registered;
}

static void bucket_drain(struct bucket *b);

/*
 * The bucket of (size, kind). With `create`, a missing one takes an empty
 * bucket, or else the least recently used one, whose stacks are released:
 * a thread that cycles through more sizes than there are buckets still
 * reuses the sizes it is using now.
 */
static struct bucket *bucket_find(size_t size, int kind, bool create)
{
	struct bucket *victim = NULL;

	for (int i = 0; i < WEFT__STACK_BUCKETS; i++) {
		struct bucket *b = &cache.b[i];

		if (b->size == size && b->kind == kind) {
			b->used = ++cache.clock;
			return b;
		}
		if (!victim || (victim->n && (!b->n || b->used < victim->used)))
			victim = b;
	}
	if (!create)
		return NULL;
	bucket_drain(victim);
	victim->size = size;
	victim->kind = kind;
	victim->used = ++cache.clock;
	return victim;
}

static struct node *node_of(void *lo, size_t size)
{
	return (struct node *)((char *)lo + size - sizeof(struct node));
}

static void release(void *lo, size_t size, int kind, bool drop)
{
	if (kind == WEFT__STACK_GUARDED)
		guarded_unmap(lo, size);
	else
		packed_release(lo, size, drop);
}

static void bucket_drain(struct bucket *b)
{
	while (b->head) {
		struct node *nd = b->head;

		b->head = nd->next;
		release(nd->lo, b->size, b->kind, true);
	}
	b->n = 0;
	b->size = 0;
}

static void cache_drain(void *arg)
{
	struct cache *c = arg;

	for (int i = 0; i < WEFT__STACK_BUCKETS; i++)
		bucket_drain(&c->b[i]);
}

int weft__stack_get(struct weft__stack *s, size_t size, int kind)
{
	struct bucket *b;
	int rc;

	if (size < WEFT__FIBER_MIN_STACK || size > WEFT__STACK_MAX)
		return -EINVAL;
	if (kind == WEFT__STACK_GUARDED) {
		size_t pg = page_size();

		size = (size + pg - 1) & ~(pg - 1);
	} else if (kind == WEFT__STACK_PACKED) {
		size = (size + 63) & ~(size_t)63;
	} else {
		return -EINVAL;
	}
	s->kind = kind;
	s->link = NULL;
	b = bucket_find(size, kind, false);
	if ((!b || !b->head) && kind == WEFT__STACK_PACKED &&
	    cache_register()) {
		/* Empty: refill the bucket with a whole chain, if there is one. */
		struct node *chain = packed_take_chain(size);

		if (chain) {
			b = bucket_find(size, kind, true);
			b->head = chain;
			b->n = WEFT__STACK_CAP_PACKED;
		}
	}
	if (b && b->head) {
		struct node *nd = b->head;

		b->head = nd->next;
		b->n--;
		s->lo = nd->lo;
		s->size = size;
		return 0;
	}
	if (kind == WEFT__STACK_GUARDED)
		rc = guarded_map(s, size);
	else
		rc = packed_carve(s, size);
	return rc;
}

void weft__stack_put(struct weft__stack *s)
{
	struct bucket *b;
	struct node *nd;
	unsigned cap = s->kind == WEFT__STACK_GUARDED ? WEFT__STACK_CAP_GUARDED
						      : WEFT__STACK_CAP_PACKED;

	if (!s->lo)
		return;
#ifdef WEFT_ASAN
	/* A dead fiber's frames may have left poison; the node goes there. */
	__asan_unpoison_memory_region(s->lo, s->size);
#endif
	b = cache_register() ? bucket_find(s->size, s->kind, true) : NULL;
	if (b && b->n >= cap && s->kind == WEFT__STACK_PACKED) {
		/*
		 * Full: the bucket's stacks go to the shared list as one
		 * chain, pages kept: many coroutines ending at once (a
		 * generation of 10,000 cells) would otherwise pay madvise and
		 * a page fault per stack, every round. Pages go back to the
		 * kernel when a thread's cache is drained (thread exit,
		 * bucket eviction).
		 */
		packed_give_chain(s->size, b->head);
		b->head = NULL;
		b->n = 0;
	}
	if (!b || b->n >= cap) {
		release(s->lo, s->size, s->kind, false);
	} else {
		nd = node_of(s->lo, s->size);
		nd->lo = s->lo;
		nd->next = b->head;
		b->head = nd;
		b->n++;
	}
	s->lo = NULL;
}
