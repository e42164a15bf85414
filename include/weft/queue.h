/*
 * weft/queue.h — a bounded multi-producer multi-consumer queue of pointers.
 *
 * What queue.Queue is to Python and a buffered channel is to Go: threads
 * (and, once they exist, coroutines) hand each other `void *` items through
 * a ring of fixed capacity. put() waits while the queue is full, get() while
 * it is empty, both until an absolute deadline (weft/base.h).
 *
 *   weft_queue *q;
 *   weft_queue_new(&q, 1024);
 *   producer:  weft_queue_put(q, item, WEFT_FOREVER); ... weft_queue_close(q);
 *   consumer:  while (weft_queue_get(q, &item, WEFT_FOREVER) == 0) use(item);
 *              // -EPIPE: closed and drained, the stage is done
 *
 * Stopping. close() (= shutdown(q, false, ...)) refuses further puts with
 * -EPIPE; gets go on returning the items already accepted and then fail
 * with -EPIPE. Every blocked put and get wakes. No sentinel items, no
 * polling. shutdown(q, true, drop, arg) also drops what is left: each item
 * still queued is passed to drop(item, arg) exactly once (the caller frees
 * it there), so nothing leaks silently; a get racing with it may still
 * receive an item that was queued, never both. Both are idempotent.
 *
 * Tasks. As queue.Queue: every successful put adds an unfinished task;
 * task_done() retires one (-EINVAL if there are none); join() waits until
 * none is left. Items dropped by shutdown(immediate) count as done.
 *
 * Errors: -EINVAL (NULL queue or out pointer, capacity 0 or above
 * WEFT_QUEUE_MAX), -ENOMEM, -EAGAIN from try_put/try_get (full/empty),
 * -ETIMEDOUT (deadline passed), -EPIPE (closed).
 *
 * Ownership: the queue never owns items: it stores and returns pointers.
 * weft_queue_free() frees the queue only. It must be called when no thread
 * uses the queue any more (no call in progress or to come); weft does not
 * try to detect or survive a free under a waiting thread. Items still
 * queued are not freed: call shutdown(q, true, drop, arg) first if they
 * own memory.
 *
 * Thread-safety: all functions except new/free are thread-safe, and may be
 * called from any number of threads at once. The fast path is lock-free
 * in the sense of Vyukov's bounded MPMC ring (one CAS per put or get, no
 * lock, no syscall); a thread that finds the queue full or empty spins
 * briefly, then parks (park/wake) until a get or put wakes it.
 *
 * Ordering: items from one producer are received in the order it put them
 * (FIFO per producer; the queue is FIFO in the order puts claimed slots).
 * Waiting threads are not served in FIFO order: a thread arriving at the
 * right moment may take an item before a woken waiter does.
 */
#ifndef WEFT_QUEUE_H
#define WEFT_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "weft/base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_queue weft_queue;

/* The largest capacity weft_queue_new accepts. */
#define WEFT_QUEUE_MAX ((size_t)1 << 31)

/* A queue holding at most `capacity` items (1 .. WEFT_QUEUE_MAX). */
WEFT_API int weft_queue_new(weft_queue **qp, size_t capacity);
/* Free an unused queue (see Ownership). NULL is fine. */
WEFT_API void weft_queue_free(weft_queue *q);

/* Put, waiting for room until `deadline`: 0, -ETIMEDOUT, -EPIPE. */
WEFT_API int weft_queue_put(weft_queue *q, void *item, int64_t deadline);
/* Get into *item, waiting until `deadline`: 0, -ETIMEDOUT, -EPIPE. */
WEFT_API int weft_queue_get(weft_queue *q, void **item, int64_t deadline);
/* Never wait: 0, -EAGAIN (full / empty) or -EPIPE. */
WEFT_API int weft_queue_try_put(weft_queue *q, void *item);
WEFT_API int weft_queue_try_get(weft_queue *q, void **item);

/*
 * Snapshots: exact only when nobody else uses the queue meanwhile. A NULL
 * queue reads as empty, not full, not closed, size and capacity 0.
 */
WEFT_API size_t weft_queue_size(weft_queue *q);
WEFT_API size_t weft_queue_capacity(weft_queue *q);
WEFT_API bool weft_queue_empty(weft_queue *q);
WEFT_API bool weft_queue_full(weft_queue *q);
WEFT_API bool weft_queue_is_closed(weft_queue *q);

/* No more puts; gets drain, then -EPIPE. 0 (also when already closed). */
WEFT_API int weft_queue_close(weft_queue *q);

typedef void weft_queue_drop_fn(void *item, void *arg);
/*
 * Python 3.13's Queue.shutdown(immediate). immediate == false is close().
 * immediate == true also removes every queued item and passes it to
 * drop(item, arg) (drop may be NULL if items own nothing). Returns the
 * number of items dropped (>= 0) or -EINVAL.
 */
WEFT_API int weft_queue_shutdown(weft_queue *q, bool immediate,
				 weft_queue_drop_fn *drop, void *arg);

/* One task got earlier is finished: 0, or -EINVAL if none is unfinished. */
WEFT_API int weft_queue_task_done(weft_queue *q);
/* Wait until every item put has been task_done: 0, -ETIMEDOUT. */
WEFT_API int weft_queue_join(weft_queue *q, int64_t deadline);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_QUEUE_H */
