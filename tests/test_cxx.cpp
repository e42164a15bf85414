/*
 * test_cxx — <weft.h> and every public header compile as C++17 and work
 * from a C++ translation unit: the sync objects callers embed are opaque
 * storage (no _Atomic in a public header), every declaration is extern
 * "C", the _INIT macros are valid C++ initialisers.
 */
#include <weft.h>
#include <weft/base.h>
#include <weft/future.h>
#include <weft/pool.h>
#include <weft/proc.h>
#include <weft/queue.h>
#include <weft/sync.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <string_view>
#include <type_traits>

static int failures;

#define CHECK(cond)                                                   \
	do {                                                          \
		if (!(cond)) {                                        \
			std::fprintf(stderr, "%s:%d: %s\n", __FILE__, \
				     __LINE__, #cond);                \
			failures++;                                   \
		}                                                     \
	} while (0)

struct embeds {
	weft_mutex lock = WEFT_MUTEX_INIT;
	weft_cond cond = WEFT_COND_INIT;
	weft_event ev = WEFT_EVENT_INIT;
	weft_sem sem = WEFT_SEM_INIT(2);
};

static weft_mutex global_lock = WEFT_MUTEX_INIT;

static int square(void *arg, void **result)
{
	*result = (void *)((uintptr_t)arg * (uintptr_t)arg);
	return 0;
}

int main()
{
	static_assert(std::is_trivially_copyable<weft_mutex>::value, "plain "
								     "storage");
	embeds e;

	CHECK(weft_mutex_lock(&global_lock) == 0);
	CHECK(weft_mutex_trylock(&global_lock) == -EAGAIN);
	CHECK(weft_mutex_unlock(&global_lock) == 0);
	CHECK(weft_mutex_lock(&e.lock) == 0);
	CHECK(weft_cond_wait(&e.cond, &e.lock, 0) == -ETIMEDOUT);
	CHECK(weft_mutex_unlock(&e.lock) == 0);
	CHECK(weft_event_set(&e.ev) == 0);
	CHECK(weft_event_wait(&e.ev, WEFT_FOREVER) == 0);
	CHECK(weft_sem_value(&e.sem) == 2);
	CHECK(weft_sem_try_acquire(&e.sem) == 0);
	CHECK(weft_sem_try_acquire(&e.sem) == 0);
	CHECK(weft_sem_try_acquire(&e.sem) == -EAGAIN);

	weft_queue *q = nullptr;
	void *item = nullptr;
	CHECK(weft_queue_new(&q, 4) == 0);
	CHECK(weft_queue_put(q, &e, WEFT_FOREVER) == 0);
	CHECK(weft_queue_get(q, &item, 0) == 0 && item == &e);
	weft_queue_free(q);

	weft_pool *pool = nullptr;
	weft_pool_options opt = {};
	opt.max_workers = 2;
	CHECK(weft_pool_new(&pool, &opt) == 0);
	weft_future *f = nullptr;
	void *res = nullptr;
	CHECK(weft_pool_submit(pool, square, (void *)7, &f) == 0);
	CHECK(weft_future_result(f, &res, weft_deadline_in(10 * WEFT_SEC)) ==
	      0);
	CHECK((uintptr_t)res == 49);
	weft_future_release(f);
	weft_pool_free(pool);

	CHECK(std::string_view(weft_strerror(-ETIMEDOUT)).size() > 0);
	return failures ? 1 : 0;
}
