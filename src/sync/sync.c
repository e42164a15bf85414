/*
 * sync.c — mutex, condition, event and semaphore on park/wake.
 *
 * The mutex is a two-bit word (LOCKED, PARKED) plus a wait list, the shape
 * of WebKit's WTF::Lock: lock and unlock are one CAS each when nobody
 * waits; a contender spins briefly, then sets PARKED and parks, validating
 * under the wait list's lock that the word still says LOCKED|PARKED, so an
 * unlock cannot slip between its check and its sleep. The slow unlock
 * (PARKED set) hands the word back under the same lock: PARKED stays set
 * while waiters remain. Barging is allowed (see sync.h on fairness).
 *
 * Event and semaphore use the Dekker pattern the queue uses: the waiter's
 * registration is a seq_cst RMW on the list's waiter count followed by a
 * seq_cst re-check of the condition; the signaller changes the condition
 * with a seq_cst operation and then reads the waiter count. One of them is
 * bound to see the other, so no wake-up is lost and the signaller pays no
 * lock when nobody waits.
 */
#include "weft/sync.h"

#include <errno.h>
#include <limits.h>

#include "park/park.h"

#define M_LOCKED 1u
#define M_PARKED 2u

/*
 * Spins before parking (park's backoff, no yields: a lock holder runs on
 * another CPU or is descheduled, and a yield would not bring it back
 * sooner than the futex does): a wait shorter than ~2 µs never sleeps.
 */
#define MUTEX_SPINS 100
#define SEM_SPINS 100

/*
 * The layouts behind the opaque public storage (weft/sync.h): all zero is
 * each one's initial state, and a semaphore's count is the first word, so
 * WEFT_SEM_INIT(n) = {{n}} sets it.
 */
struct mutex {
	_Atomic uint32_t state;
	struct weft__waitlist wl;
};
struct cond {
	struct weft__waitlist wl;
};
struct event {
	_Atomic uint32_t flag;
	struct weft__waitlist wl;
};
struct sem {
	_Atomic uint64_t count;
	struct weft__waitlist wl;
};

#define FITS(impl, pub)                                                \
	_Static_assert(sizeof(struct impl) <= sizeof(pub) &&           \
			       _Alignof(struct impl) <= _Alignof(pub), \
		       #impl " outgrew its public storage")
FITS(mutex, weft_mutex);
FITS(cond, weft_cond);
FITS(event, weft_event);
FITS(sem, weft_sem);
/* WEFT_SEM_INIT stores the count as a plain uint64_t. */
_Static_assert(sizeof(_Atomic uint64_t) == sizeof(uint64_t), "sem count");

static inline struct mutex *M(weft_mutex *m)
{
	return (struct mutex *)(void *)m;
}
static inline struct cond *C(weft_cond *c)
{
	return (struct cond *)(void *)c;
}
static inline struct event *E(weft_event *e)
{
	return (struct event *)(void *)e;
}
static inline struct sem *S(weft_sem *s)
{
	return (struct sem *)(void *)s;
}

/* ---- mutex ---- */

int weft_mutex_init(weft_mutex *m)
{
	if (!m)
		return -EINVAL;
	atomic_init(&M(m)->state, 0);
	weft__waitlist_init(&M(m)->wl);
	return 0;
}

int weft_mutex_destroy(weft_mutex *m)
{
	if (!m)
		return -EINVAL;
	if (atomic_load(&M(m)->state) & M_LOCKED ||
	    weft__waitlist_count(&M(m)->wl))
		return -EBUSY;
	return 0;
}

static bool mutex_try(weft_mutex *m)
{
	uint32_t s = atomic_load_explicit(&M(m)->state, memory_order_relaxed);

	while (!(s & M_LOCKED))
		if (atomic_compare_exchange_weak_explicit(
			    &M(m)->state, &s, s | M_LOCKED,
			    memory_order_acquire, memory_order_relaxed))
			return true;
	return false;
}

/*
 * Out of line: the fast paths stay a CAS with no register spills. With
 * `shield`, a cancelled coroutine still waits for the lock (a condition
 * wait re-locking its mutex: the caller's unlock must stay valid).
 */
__attribute__((noinline)) static int
mutex_lock_slow(weft_mutex *m, int64_t deadline, bool shield)
{
	struct weft__backoff b = WEFT__BACKOFF(MUTEX_SPINS, 0);
	struct weft__waiter w;
	uint32_t s;
	int rc;

	do {
		s = atomic_load_explicit(&M(m)->state, memory_order_relaxed);
		if (!(s & M_LOCKED)) {
			if (mutex_try(m))
				return 0;
			continue;
		}
		if (s & M_PARKED)
			break; /* others already sleep: join them */
	} while (weft__backoff(&b));
	for (;;) {
		if (mutex_try(m))
			return 0;
		s = atomic_load_explicit(&M(m)->state, memory_order_relaxed);
		if (!(s & M_LOCKED))
			continue;
		if (!(s & M_PARKED) &&
		    !atomic_compare_exchange_weak_explicit(
			    &M(m)->state, &s, s | M_PARKED,
			    memory_order_relaxed, memory_order_relaxed))
			continue;
		if (weft__expired(deadline))
			return -ETIMEDOUT;
		weft__waiter_init(&w);
		w.shielded = shield;
		weft__waitlist_lock(&M(m)->wl);
		if (atomic_load_explicit(&M(m)->state, memory_order_relaxed) !=
		    (M_LOCKED | M_PARKED)) {
			weft__waitlist_unlock(&M(m)->wl);
			continue;
		}
		weft__waitlist_push_locked(&M(m)->wl, &w);
		weft__waitlist_unlock(&M(m)->wl);
		rc = weft__park(&w, deadline);
		if (rc < 0)
			return mutex_try(m) ? 0 : rc;
	}
}

int weft_mutex_lock_until(weft_mutex *m, int64_t deadline)
{
	uint32_t s = 0;

	if (!m)
		return -EINVAL;
	if (atomic_compare_exchange_strong_explicit(&M(m)->state, &s, M_LOCKED,
						    memory_order_acquire,
						    memory_order_relaxed))
		return 0;
	return mutex_lock_slow(m, deadline, false);
}

int weft_mutex_lock(weft_mutex *m)
{
	return weft_mutex_lock_until(m, WEFT_FOREVER);
}

int weft_mutex_trylock(weft_mutex *m)
{
	if (!m)
		return -EINVAL;
	return mutex_try(m) ? 0 : -EAGAIN;
}

__attribute__((noinline)) static int mutex_unlock_slow(weft_mutex *m)
{
	struct weft__kick k;
	bool woke;

	weft__waitlist_lock(&M(m)->wl);
	if (!(atomic_load_explicit(&M(m)->state, memory_order_relaxed) &
	      M_LOCKED)) {
		weft__waitlist_unlock(&M(m)->wl);
		return -EPERM;
	}
	woke = weft__wake_one_locked(&M(m)->wl, &k);
	/*
	 * Lockers cannot change the word now: it is LOCKED|PARKED and they
	 * only ever add bits. PARKED stays while anyone is still listed.
	 */
	atomic_store_explicit(&M(m)->state, M(m)->wl.head ? M_PARKED : 0,
			      memory_order_release);
	weft__waitlist_unlock(&M(m)->wl);
	if (woke)
		weft__kick(&k);
	return 0;
}

int weft_mutex_unlock(weft_mutex *m)
{
	uint32_t s = M_LOCKED;

	if (!m)
		return -EINVAL;
	if (atomic_compare_exchange_strong_explicit(&M(m)->state, &s, 0,
						    memory_order_release,
						    memory_order_relaxed))
		return 0;
	return mutex_unlock_slow(m);
}

bool weft_mutex_is_locked(weft_mutex *m)
{
	return m && (atomic_load(&M(m)->state) & M_LOCKED);
}

/* ---- condition ---- */

int weft_cond_init(weft_cond *c)
{
	if (!c)
		return -EINVAL;
	weft__waitlist_init(&C(c)->wl);
	return 0;
}

int weft_cond_destroy(weft_cond *c)
{
	if (!c)
		return -EINVAL;
	return weft__waitlist_count(&C(c)->wl) ? -EBUSY : 0;
}

int weft_cond_wait(weft_cond *c, weft_mutex *m, int64_t deadline)
{
	struct weft__waiter w;
	int rc;

	if (!c || !m)
		return -EINVAL;
	/* Listed before the mutex is released: a signal cannot slip by. */
	weft__waiter_init(&w);
	weft__waitlist_push(&C(c)->wl, &w);
	rc = weft_mutex_unlock(m);
	if (rc < 0) {
		weft__waitlist_remove(&C(c)->wl, &w);
		return rc;
	}
	rc = weft__park(&w, deadline);
	/* Re-locked in every case, also when cancelled (Python's too). */
	if (!mutex_try(m))
		mutex_lock_slow(m, WEFT_FOREVER, true);
	return rc;
}

int weft_cond_signal(weft_cond *c)
{
	if (!c)
		return -EINVAL;
	weft__wake_one(&C(c)->wl);
	return 0;
}

int weft_cond_broadcast(weft_cond *c)
{
	if (!c)
		return -EINVAL;
	weft__wake_all(&C(c)->wl);
	return 0;
}

/* ---- event ---- */

int weft_event_init(weft_event *e)
{
	if (!e)
		return -EINVAL;
	atomic_init(&E(e)->flag, 0);
	weft__waitlist_init(&E(e)->wl);
	return 0;
}

int weft_event_destroy(weft_event *e)
{
	if (!e)
		return -EINVAL;
	return weft__waitlist_count(&E(e)->wl) ? -EBUSY : 0;
}

int weft_event_set(weft_event *e)
{
	if (!e)
		return -EINVAL;
	atomic_store(&E(e)->flag, 1); /* seq_cst, then the count: Dekker */
	weft__wake_all(&E(e)->wl);
	return 0;
}

int weft_event_clear(weft_event *e)
{
	if (!e)
		return -EINVAL;
	atomic_store(&E(e)->flag, 0);
	return 0;
}

bool weft_event_is_set(weft_event *e)
{
	return e && atomic_load(&E(e)->flag);
}

int weft_event_wait(weft_event *e, int64_t deadline)
{
	struct weft__waiter w;
	int rc;

	if (!e)
		return -EINVAL;
	for (;;) {
		if (atomic_load(&E(e)->flag))
			return 0;
		if (weft__expired(deadline))
			return -ETIMEDOUT;
		weft__waiter_init(&w);
		weft__waitlist_push(&E(e)->wl, &w);
		if (atomic_load(&E(e)->flag)) {
			weft__waitlist_remove(&E(e)->wl, &w);
			return 0;
		}
		rc = weft__park(&w, deadline);
		/* Woken means set() ran, even if clear() followed (Python). */
		if (rc == 0 || atomic_load(&E(e)->flag))
			return 0;
		if (rc < 0)
			return rc;
	}
}

/* ---- semaphore ---- */

int weft_sem_init(weft_sem *s, unsigned value)
{
	if (!s || value > INT32_MAX)
		return -EINVAL;
	atomic_init(&S(s)->count, value);
	weft__waitlist_init(&S(s)->wl);
	return 0;
}

int weft_sem_destroy(weft_sem *s)
{
	if (!s)
		return -EINVAL;
	return weft__waitlist_count(&S(s)->wl) ? -EBUSY : 0;
}

static bool sem_try(weft_sem *s)
{
	uint64_t c = atomic_load_explicit(&S(s)->count, memory_order_relaxed);

	while (c > 0)
		if (atomic_compare_exchange_weak_explicit(
			    &S(s)->count, &c, c - 1, memory_order_acquire,
			    memory_order_relaxed))
			return true;
	return false;
}

int weft_sem_try_acquire(weft_sem *s)
{
	if (!s)
		return -EINVAL;
	return sem_try(s) ? 0 : -EAGAIN;
}

int weft_sem_acquire(weft_sem *s, int64_t deadline)
{
	struct weft__backoff b = WEFT__BACKOFF(SEM_SPINS, 0);
	struct weft__waiter w;
	int rc;

	if (!s)
		return -EINVAL;
	do {
		if (sem_try(s))
			return 0;
	} while (weft__backoff(&b));
	for (;;) {
		if (sem_try(s))
			return 0;
		if (weft__expired(deadline))
			return -ETIMEDOUT;
		weft__waiter_init(&w);
		weft__waitlist_push(&S(s)->wl, &w);
		if (atomic_load(&S(s)->count)) { /* seq_cst re-check: Dekker */
			weft__waitlist_remove(&S(s)->wl, &w);
			continue;
		}
		rc = weft__park(&w, deadline);
		if (rc < 0)
			return sem_try(s) ? 0 : rc;
	}
}

int weft_sem_release(weft_sem *s, unsigned n)
{
	uint64_t c;

	if (!s || n == 0)
		return -EINVAL;
	c = atomic_load_explicit(&S(s)->count, memory_order_relaxed);
	do {
		if (n > INT32_MAX || c > INT32_MAX - n)
			return -EOVERFLOW;
	} while (!atomic_compare_exchange_weak(&S(s)->count, &c, c + n));
	/* seq_cst CAS, then the waiter count (Dekker with sem_acquire). */
	for (unsigned i = 0; i < n; i++)
		if (!weft__wake_one(&S(s)->wl))
			break;
	return 0;
}

int weft_sem_value(weft_sem *s)
{
	if (!s)
		return -EINVAL;
	return (int)atomic_load(&S(s)->count);
}
