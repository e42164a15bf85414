/*
 * Item 57: avoid creating new thread instances for on-demand fan-out.
 *
 * The book's first try at a concurrent Game of Life starts a thread per
 * cell per generation. This program measures what that costs here, in C,
 * where threads are as cheap as they get:
 *
 *   1. start-up and memory: N threads (default 10,000), one per unit of
 *      work, all alive at once (as a generation's cells are): time to
 *      create and to join each, and the virtual and resident memory they
 *      hold (each has its own stack: 8 MiB reserved by default);
 *   2. the same N units on a weft pool of a few reused threads, for scale;
 *   3. past the thread limit: in a child process whose address space is
 *      capped (RLIMIT_AS) to a few hundred MiB, threads are started until
 *      pthread_create fails. It fails with a clear error code (EAGAIN),
 *      never a crash — and weft_pool_new reports the same code rather than
 *      running with fewer workers than asked. (RLIMIT_NPROC would be the
 *      natural cap but does not apply to root; the address-space cap works
 *      for every user. Skipped under ASan/TSan, which reserve terabytes of
 *      address space for their shadow memory.)
 *
 *   item57_thread_per_task [-n threads] [-w pool workers] [--no-limit]
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "weft/pool.h"
#include "weft/sync.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

static atomic_long units_done;
static weft_event go = WEFT_EVENT_INIT;

/* A unit of work: a cell's neighbour count, more or less. */
static long unit(long i)
{
	unsigned long x = (unsigned long)i;

	for (unsigned k = 0; k < 100; k++)
		x = x * 31 + k;
	return (long)(x & 7);
}

/* Thread per unit: do the unit, then stay alive until the generation ends. */
static void *unit_thread(void *arg)
{
	unit((long)(intptr_t)arg);
	atomic_fetch_add(&units_done, 1);
	weft_event_wait(&go, WEFT_FOREVER);
	return NULL;
}

static int unit_task(void *arg, void **result)
{
	*result = (void *)(intptr_t)unit((long)(intptr_t)arg);
	atomic_fetch_add(&units_done, 1);
	return 0;
}

/* VmSize and VmRSS of this process, in KiB. */
static void mem_kib(long *vsz, long *rss)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");

	*vsz = *rss = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "VmSize: %ld", vsz);
		sscanf(line, "VmRSS: %ld", rss);
	}
	fclose(f);
}

/*
 * Start up to n threads that stay alive until `go` is set. Returns how
 * many started; *err gets pthread_create's error if one failed.
 */
static long start_threads(pthread_t *t, long n, int *err)
{
	*err = 0;
	for (long i = 0; i < n; i++) {
		int rc = pthread_create(&t[i], NULL, unit_thread,
					(void *)(intptr_t)i);

		if (rc) {
			*err = rc;
			return i;
		}
	}
	return n;
}

static void thread_per_unit(long n)
{
	pthread_t *t = calloc((size_t)n, sizeof(*t));
	long vsz0, rss0, vsz1, rss1, started;
	int64_t t0, t1, t2;
	int err;

	if (!t) {
		fprintf(stderr, "item57: out of memory\n");
		exit(1);
	}
	atomic_store(&units_done, 0);
	weft_event_clear(&go);
	mem_kib(&vsz0, &rss0);
	t0 = weft_now();
	started = start_threads(t, n, &err);
	while (atomic_load(&units_done) < started)
		sched_yield();
	t1 = weft_now();
	mem_kib(&vsz1, &rss1);
	weft_event_set(&go);
	for (long i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	t2 = weft_now();
	printf("1. a thread per unit: %ld threads alive at once\n", started);
	if (err)
		printf("   pthread_create failed after %ld threads: %s "
		       "(error %d) -- reported, not a crash\n",
		       started, strerror(err), err);
	if (started) {
		printf("   start: %.1f ms in all, %.1f us per thread "
		       "(including its unit of work)\n",
		       (double)(t1 - t0) / 1e6,
		       (double)(t1 - t0) / 1e3 / (double)started);
		printf("   join:  %.1f ms in all, %.1f us per thread\n",
		       (double)(t2 - t1) / 1e6,
		       (double)(t2 - t1) / 1e3 / (double)started);
		printf("   memory: +%.1f GiB virtual (%.0f KiB per thread: "
		       "its stack reservation), +%.1f MiB resident "
		       "(%.1f KiB per thread)\n",
		       (double)(vsz1 - vsz0) / 1048576.0,
		       (double)(vsz1 - vsz0) / (double)started,
		       (double)(rss1 - rss0) / 1024.0,
		       (double)(rss1 - rss0) / (double)started);
	}
	free(t);
}

static void pool_of_units(long n, int workers)
{
	struct weft_pool_options o = { .max_workers = workers };
	weft_future **fs = calloc((size_t)n, sizeof(*fs));
	weft_pool *p;
	int64_t t0, t1;
	int rc;

	if (!fs)
		exit(1);
	rc = weft_pool_new(&p, &o);
	if (rc) {
		printf("2. weft_pool_new: %s\n", weft_strerror(rc));
		free(fs);
		return;
	}
	atomic_store(&units_done, 0);
	t0 = weft_now();
	for (long i = 0; i < n; i++)
		if (weft_pool_submit(p, unit_task, (void *)(intptr_t)i, &fs[i]))
			exit(1);
	for (long i = 0; i < n; i++) {
		if (weft_future_result(fs[i], NULL, WEFT_FOREVER))
			exit(1);
		weft_future_release(fs[i]);
	}
	t1 = weft_now();
	printf("2. the same %ld units on a pool of %d reused threads: "
	       "%.1f ms in all, %.2f us per unit\n",
	       n, workers, (double)(t1 - t0) / 1e6,
	       (double)(t1 - t0) / 1e3 / (double)n);
	weft_pool_free(p);
	free(fs);
}

/* In a child: cap the address space, start threads until it fails. */
static int past_the_limit_child(void)
{
	const long cap_threads = 100000;
	pthread_t *t = calloc((size_t)cap_threads, sizeof(*t));
	struct weft_pool_options o = { .max_workers = 1000 };
	struct rlimit rl;
	long vsz, rss, started;
	weft_pool *p;
	int err, rc;

	if (!t)
		return 1;
	mem_kib(&vsz, &rss);
	rl.rlim_cur = rl.rlim_max = (rlim_t)(vsz + 256 * 1024) * 1024;
	if (setrlimit(RLIMIT_AS, &rl)) {
		perror("setrlimit");
		return 1;
	}
	printf("3. past the limit: address space capped at %ld MiB (now "
	       "%ld MiB used)\n",
	       (vsz + 256 * 1024) / 1024, vsz / 1024);
	weft_event_clear(&go);
	started = start_threads(t, cap_threads, &err);
	printf("   pthread_create failed after %ld threads: %s (error %d)\n",
	       started, err ? strerror(err) : "(did not fail)", err);
	weft_event_set(&go);
	for (long i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	free(t);
	rc = weft_pool_new(&p, &o);
	if (rc == 0) {
		printf("   weft_pool_new(1000 workers) succeeded?\n");
		weft_pool_free(p);
		return 1;
	}
	printf("   weft_pool_new(1000 workers) returned %d: %s (started "
	       "threads joined, nothing leaked)\n",
	       rc, weft_strerror(rc));
	return err == EAGAIN && rc == -EAGAIN ? 0 : 1;
}

static int past_the_limit(void)
{
	int status;
	pid_t pid;

	if (SANITIZED) {
		printf("3. past the limit: skipped under a sanitizer (it "
		       "needs terabytes of address space)\n");
		return 0;
	}
	fflush(stdout);
	pid = fork(); /* single-threaded here: every thread was joined */
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		int rc = past_the_limit_child();

		fflush(stdout);
		_exit(rc);
	}
	if (waitpid(pid, &status, 0) < 0)
		return 1;
	if (!WIFEXITED(status)) {
		printf("   the child died of signal %d\n", WTERMSIG(status));
		return 1;
	}
	return WEXITSTATUS(status);
}

int main(int argc, char **argv)
{
	long n = 10000;
	int workers = 4;
	bool limit = true;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-n") && i + 1 < argc)
			n = atol(argv[++i]);
		else if (!strcmp(argv[i], "-w") && i + 1 < argc)
			workers = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--no-limit"))
			limit = false;
		else {
			fprintf(stderr,
				"usage: %s [-n threads] [-w pool workers] "
				"[--no-limit]\n",
				argv[0]);
			return 2;
		}
	}
	if (n < 1 || n > 100000 || workers < 1) {
		fprintf(stderr, "item57: 1 <= n <= 100000, workers >= 1\n");
		return 2;
	}
	thread_per_unit(n);
	pool_of_units(n, workers);
	return limit ? past_the_limit() : 0;
}
