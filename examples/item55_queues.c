/*
 * Item 55: use Queue to coordinate work between threads.
 *
 * The book's three-stage photo pipeline — download, resize, upload — with
 * a thread (or several) per stage and a queue between stages. Its final
 * form is what weft's queue does natively:
 *   - bounded queues give back-pressure (a fast stage blocks on put);
 *   - close() stops a stage cleanly: no sentinel object, no busy-waiting
 *     (the book's first version polled an empty deque in a loop);
 *   - task_done()/join() lets main wait until a stage has really finished
 *     every item it received.
 *
 *   item55_queues [-n items] [-w workers per stage] [-c capacity]
 *                 (default 1000 items, 2 workers per stage, capacity 10)
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft/queue.h"

/* A stand-in for a photo: its id and what each stage did to it. */
struct item {
	long id;
	long pixels;
	unsigned long checksum;
	int stages;
};

/* Stand-ins for the work: a little CPU each, different per stage. */
static void download(struct item *it)
{
	it->pixels = 1000 + it->id % 97;
	it->stages++;
}

static void resize(struct item *it)
{
	unsigned long x = (unsigned long)it->id;

	for (long i = 0; i < it->pixels * 10; i++)
		x = x * 31 + (unsigned long)i;
	it->checksum = x;
	it->pixels /= 2;
	it->stages++;
}

static void upload(struct item *it)
{
	it->stages++;
}

struct stage {
	const char *name;
	void (*func)(struct item *);
	weft_queue *in, *out;
	atomic_long processed;
};

/*
 * The book's StoppableWorker.run(): for item in in_queue: out_queue.put(
 * func(item)), with task_done after each. The loop ends when the input is
 * closed and drained (-EPIPE).
 */
static void *stage_worker(void *arg)
{
	struct stage *s = arg;
	void *p;
	int rc;

	while ((rc = weft_queue_get(s->in, &p, WEFT_FOREVER)) == 0) {
		s->func(p);
		if (weft_queue_put(s->out, p, WEFT_FOREVER)) {
			fprintf(stderr, "%s: put failed\n", s->name);
			exit(1);
		}
		atomic_fetch_add(&s->processed, 1);
		weft_queue_task_done(s->in);
	}
	if (rc != -EPIPE)
		fprintf(stderr, "%s: get: %s\n", s->name, weft_strerror(rc));
	return NULL;
}

int main(int argc, char **argv)
{
	long n = 1000;
	int workers = 2, cap = 10, rc;
	weft_queue *download_q, *resize_q, *upload_q, *done_q;
	struct stage stages[3];
	pthread_t *tids;
	long done = 0, bad = 0;
	void *p;
	int64_t t0;

	for (int i = 1; i < argc; i++) {
		if (i + 1 < argc && !strcmp(argv[i], "-n"))
			n = atol(argv[++i]);
		else if (i + 1 < argc && !strcmp(argv[i], "-w"))
			workers = atoi(argv[++i]);
		else if (i + 1 < argc && !strcmp(argv[i], "-c"))
			cap = atoi(argv[++i]);
		else
			goto usage;
	}
	if (n < 0 || workers < 1 || workers > 64 || cap < 1)
		goto usage;

	if (weft_queue_new(&download_q, (size_t)cap) ||
	    weft_queue_new(&resize_q, (size_t)cap) ||
	    weft_queue_new(&upload_q, (size_t)cap) ||
	    /* done_q holds everything: nobody consumes it until the end. */
	    weft_queue_new(&done_q, n ? (size_t)n : 1)) {
		fprintf(stderr, "out of memory\n");
		return 1;
	}
	stages[0] =
		(struct stage){ "download", download, download_q, resize_q, 0 };
	stages[1] = (struct stage){ "resize", resize, resize_q, upload_q, 0 };
	stages[2] = (struct stage){ "upload", upload, upload_q, done_q, 0 };
	tids = calloc((size_t)(3 * workers), sizeof(*tids));
	if (!tids)
		return 1;

	t0 = weft_now();
	for (int s = 0; s < 3; s++)
		for (int w = 0; w < workers; w++)
			pthread_create(&tids[s * workers + w], NULL,
				       stage_worker, &stages[s]);

	for (long i = 0; i < n; i++) {
		struct item *it = calloc(1, sizeof(*it));

		if (!it)
			return 1;
		it->id = i;
		rc = weft_queue_put(download_q, it, WEFT_FOREVER);
		if (rc) {
			fprintf(stderr, "put: %s\n", weft_strerror(rc));
			return 1;
		}
	}
	/* The book's shutdown, stage by stage: close, then join. */
	weft_queue_close(download_q);
	weft_queue_join(download_q, WEFT_FOREVER);
	weft_queue_close(resize_q);
	weft_queue_join(resize_q, WEFT_FOREVER);
	weft_queue_close(upload_q);
	weft_queue_join(upload_q, WEFT_FOREVER);
	for (int i = 0; i < 3 * workers; i++)
		pthread_join(tids[i], NULL);
	weft_queue_close(done_q);
	while (weft_queue_get(done_q, &p, WEFT_FOREVER) == 0) {
		struct item *it = p;

		bad += it->stages != 3;
		done++;
		free(it);
	}

	for (int s = 0; s < 3; s++)
		printf("%-8s processed %ld items (%d workers)\n",
		       stages[s].name, atomic_load(&stages[s].processed),
		       workers);
	printf("%ld items finished in %.1f ms%s\n", done,
	       (double)(weft_now() - t0) / WEFT_MSEC,
	       bad ? ", SOME INCOMPLETE" : ", every one through all 3 stages");

	free(tids);
	weft_queue_free(download_q);
	weft_queue_free(resize_q);
	weft_queue_free(upload_q);
	weft_queue_free(done_q);
	return done == n && !bad ? 0 : 1;
usage:
	fprintf(stderr, "usage: %s [-n items] [-w workers] [-c capacity]\n",
		argv[0]);
	return 2;
}
