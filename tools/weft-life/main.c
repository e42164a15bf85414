/*
 * main.c — weft-life's options and its default run. See usage() below and
 * docs/weft-life.md.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "weft/base.h"
#include "weft/coro.h"

#include "cli.h"

#define USAGE_ERR 2

static const struct life_model *const models[] = {
	&life_model_serial, &life_model_threads, &life_model_queue,
	&life_model_pool,   &life_model_coro,
};
#define NMODELS 5

/* --watch: draw a frame after each generation, this long apart */
static bool watch;
static int64_t watch_delay;

static void usage(FILE *f)
{
	fputs("usage: weft-life [options]\n"
	      "\n"
	      "Conway's Game of Life from Effective Python, chapter 7 (items "
	      "56-60), on\n"
	      "weft. Each cell's next state comes from game_logic, which does "
	      "I/O (a sleep\n"
	      "or a round trip to a rules server); one generation fans out "
	      "over every\n"
	      "cell and fans in before the next. Five models run that "
	      "fan-out:\n"
	      "  serial   one cell after another (item 56)\n"
	      "  threads  a new thread per cell per generation (item 57)\n"
	      "  queue    worker threads fed by weft queues (items 55, 58)\n"
	      "  pool     a weft_pool, a future per cell (item 59)\n"
	      "  coro     a coroutine per cell per generation on weft_run "
	      "(item 60)\n"
	      "\n"
	      "With no options: the book's 5x9 grid and glider, printed in "
	      "columns as the\n"
	      "book prints it, then every model timed on a 100x100 grid with 1 "
	      "ms of I/O\n"
	      "per cell (a serial run that long is estimated from a sample of "
	      "cells).\n"
	      "\n"
	      "options (--opt VALUE or --opt=VALUE):\n"
	      "  --model NAME       serial, threads, queue, pool, coro or all "
	      "(default)\n"
	      "  --size RxC         rows x columns (default 5x9; at most "
	      "1000000 cells)\n"
	      "  --generations N    generations to run (default 5)\n"
	      "  --io SPEC          game_logic's I/O: none (default), "
	      "sleep:DURATION\n"
	      "                     (e.g. 1ms, 250us, 2s) or tcp (a rules "
	      "server)\n"
	      "  --server HOST:PORT the rules server for --io tcp (default: "
	      "weft-life\n"
	      "                     starts its own on 127.0.0.1)\n"
	      "  --workers N        worker threads of queue and pool (default "
	      "100)\n"
	      "  --loops N          coro: event-loop threads (default one per "
	      "core)\n"
	      "  --seed N           start from a random grid (about a third "
	      "alive)\n"
	      "  --load FILE        start from a pattern: plain text ('*'/'O' "
	      "alive,\n"
	      "                     '-'/'.' empty, '!' comments) or RLE "
	      "(.rle)\n"
	      "                     (its size, or placed top-left in --size)\n"
	      "  --serve HOST:PORT  run only the rules server, for other "
	      "programs to share\n"
	      "                     (port 0: any free port). Prints the "
	      "bound HOST:PORT\n"
	      "                     as one line on stdout, then serves until "
	      "end of file\n"
	      "                     on stdin, SIGTERM or SIGINT, and exits 0. "
	      "Takes no\n"
	      "                     other option. A bad or unusable address: "
	      "exit 2\n"
	      "  --check            every model must reach the same grids; "
	      "exit 1 if not\n"
	      "  --watch            animate one model in the terminal "
	      "(--model, or coro)\n"
	      "  --json             print the timing table as JSON only "
	      "(below)\n"
	      "  --help             this text\n"
	      "\n"
	      "Output: small grids (up to 40x40) are printed generation by "
	      "generation\n"
	      "in columns, as the book's ColumnPrinter does; then the timing "
	      "table:\n"
	      "seconds per generation and speed-up over serial for each model. "
	      "A model\n"
	      "that cannot run (threads: the system refuses a thread per cell) "
	      "says so\n"
	      "and the others still run. A progress line goes to stderr when a "
	      "run\n"
	      "takes over a second and stderr is a terminal. With I/O and\n"
	      "other models, a serial run that would take over 30 s is\n"
	      "estimated from 200 cells instead (\"estimated\").\n"
	      "\n"
	      "--json prints one object (stable; version 1):\n"
	      "  program \"weft-life\", version 1, rows, cols, io (the --io "
	      "spec),\n"
	      "  generations (asked), cores, workers (queue/pool), loops "
	      "(coro, 0 = one\n"
	      "  per core), results: [ per model run, in order:\n"
	      "    {model, ok: true, estimated (serial from a sample), "
	      "generations\n"
	      "     (timed), seconds_per_generation, speedup (over serial; "
	      "null without\n"
	      "     a serial time), final (SHA-256 hex of the last grid as\n"
	      "     the book's Grid.__str__ prints it; absent when "
	      "estimated),\n"
	      "     note}\n"
	      "    or {model, ok: false, error: \"why it did not run\"} ]\n"
	      "\n"
	      "Exit status: 0; 1 when a model failed or --check found a "
	      "difference;\n"
	      "2 for a bad option or pattern file (with a one-line message), "
	      "or an\n"
	      "address --serve cannot listen on.\n",
	      f);
}

static int bad(const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, "weft-life: ");
	fprintf(stderr, fmt, a, b);
	fprintf(stderr, " (see weft-life --help)\n");
	return USAGE_ERR;
}

static bool parse_int(const char *s, long lo, long hi, long *v)
{
	char *end;

	if (!s || !*s || *s == ' ' || *s == '+')
		return false;
	errno = 0;
	*v = strtol(s, &end, 10);
	return !errno && !*end && *v >= lo && *v <= hi;
}

/* ---- one model's run: record every generation, time it ---- */

struct run {
	const struct life_model *model;
	int gens;
	uint64_t *hash; /* hash[gen], 0..gens */
	char **strs;	/* strs[gen] when keeping the column view */
	int64_t start;
	atomic_int gen;	  /* generations done, for the progress line */
	atomic_bool done; /* stops the progress thread */
	bool progressed;  /* a progress line is on the screen */
	bool watch;
	int64_t watch_delay;
};

static uint64_t grid_hash(const struct life_grid *g)
{
	uint64_t h = 1469598103934665603u;
	size_t n = (size_t)g->rows * (size_t)g->cols;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)g->cells[i]) * 1099511628211u;
	return h;
}

static int record(struct run *r, int gen, const struct life_grid *g)
{
	r->hash[gen] = grid_hash(g);
	if (r->strs) {
		r->strs[gen] = life_grid_str(g);
		if (!r->strs[gen])
			return -ENOMEM;
	}
	return 0;
}

static int after_gen(void *arg, int gen, const struct life_grid *g)
{
	struct run *r = arg;
	int rc = record(r, gen, g);

	if (r->watch) {
		life_watch_frame(stdout, r->model->name, gen, g);
		if (r->watch_delay)
			weft_sleep(r->watch_delay);
	}
	atomic_store(&r->gen, gen);
	return rc;
}

/* The progress line: on stderr (a terminal), after a run's first second,
 * four times a second until the run ends. */
static void *progress(void *arg)
{
	struct run *r = arg;

	while (!atomic_load(&r->done)) {
		weft_sleep(WEFT_SEC / 4);
		if (atomic_load(&r->done) || weft_now() - r->start < WEFT_SEC)
			continue;
		fprintf(stderr, "\r%s: generation %d/%d done, %.1f s ",
			r->model->name, atomic_load(&r->gen), r->gens,
			(double)(weft_now() - r->start) / 1e9);
		r->progressed = true;
	}
	return NULL;
}

static void run_free(struct run *r)
{
	if (r->strs)
		for (int i = 0; i <= r->gens; i++)
			free(r->strs[i]);
	free(r->strs);
	free(r->hash);
}

/*
 * Run one model on a copy of start: fills res, keeps r's record. Returns
 * the model's code.
 */
static int run_model(struct run *r, const struct life_model *m,
		     const struct life_model_opts *o,
		     const struct life_grid *start, int gens, bool keep,
		     struct life_result *res)
{
	struct life_grid g;
	pthread_t ticker;
	bool ticking = false;
	int rc;

	memset(r, 0, sizeof(*r));
	r->model = m;
	r->gens = gens;
	r->watch = watch;
	r->watch_delay = watch_delay;
	r->hash = calloc((size_t)gens + 1, sizeof(*r->hash));
	r->strs = keep ? calloc((size_t)gens + 1, sizeof(*r->strs)) : NULL;
	memset(res, 0, sizeof(*res));
	res->model = m->name;
	if (!r->hash || (keep && !r->strs) ||
	    life_grid_init(&g, start->rows, start->cols)) {
		res->rc = -ENOMEM;
		snprintf(res->note, sizeof(res->note), "out of memory");
		return -ENOMEM;
	}
	memcpy(g.cells, start->cells, (size_t)g.rows * (size_t)g.cols);
	rc = record(r, 0, &g);
	r->start = weft_now();
	if (isatty(2))
		ticking = !pthread_create(&ticker, NULL, progress, r);
	if (rc == 0)
		rc = m->run(o, &g, gens, after_gen, r);
	res->sec_per_gen = (double)(weft_now() - r->start) / 1e9 / gens;
	atomic_store(&r->done, true);
	if (ticking)
		pthread_join(ticker, NULL);
	if (rc == 0) { /* the last grid's digest, as the bench peers print */
		char *str = life_grid_str(&g);

		if (str)
			life_sha256_hex(str, strlen(str), res->final);
		free(str);
	}
	if (r->progressed)
		fprintf(stderr, "\r\033[K");
	life_grid_free(&g);
	res->rc = rc;
	res->gens = gens;
	if (rc == -EAGAIN && m == &life_model_threads)
		snprintf(res->note, sizeof(res->note),
			 "did not run: the system refused a thread per cell "
			 "(%d per generation): %s",
			 start->rows * start->cols, weft_strerror(rc));
	else if (rc)
		snprintf(res->note, sizeof(res->note), "failed: %s",
			 weft_strerror(rc));
	return rc;
}

/* Time `sample` cells one after another: the serial estimate. */
static double serial_estimate(const struct life_io *io,
			      const struct life_grid *g, int sample, int *rc)
{
	struct life_conn conn = LIFE_CONN_INIT;
	struct life_grid next;
	size_t n = (size_t)g->rows * (size_t)g->cols;
	int64_t t0;

	*rc = life_grid_init(&next, g->rows, g->cols);
	if (*rc)
		return 0;
	t0 = weft_now();
	for (int i = 0; *rc == 0 && i < sample; i++) {
		size_t c = (size_t)i * n / (size_t)sample; /* spread out */

		*rc = life_step_cell(io, &conn, g, &next,
				     (int)(c / (size_t)g->cols),
				     (int)(c % (size_t)g->cols));
	}
	life_conn_close(&conn);
	life_grid_free(&next);
	return (double)(weft_now() - t0) / 1e9 / sample * (double)n;
}

static void book_glider(struct life_grid *g)
{
	life_set(g, 0, 3, LIFE_ALIVE);
	life_set(g, 1, 4, LIFE_ALIVE);
	life_set(g, 2, 2, LIFE_ALIVE);
	life_set(g, 2, 3, LIFE_ALIVE);
	life_set(g, 2, 4, LIFE_ALIVE);
}

static void random_grid(struct life_grid *g, uint64_t seed)
{
	uint64_t s = seed * 0x9e3779b97f4a7c15u + 1;

	for (size_t i = 0; i < (size_t)g->rows * (size_t)g->cols; i++) {
		s ^= s << 13, s ^= s >> 7, s ^= s << 17; /* xorshift64 */
		g->cells[i] = (s >> 33) % 3 == 0 ? LIFE_ALIVE : LIFE_EMPTY;
	}
}

static int print_columns(char **strs, int n)
{
	char *c = life_columns(strs, n);

	if (!c)
		return -ENOMEM;
	printf("%s\n", c);
	free(c);
	return 0;
}

struct opts {
	const char *model, *size, *io, *server, *load, *serve;
	long gens, workers, loops;
	long long seed;
	int given; /* options given, for --serve's "no other option" */
	bool have_seed, check, watch, json, have_gens;
};

/* The run with no arguments: the book's glider, then the timing table. */
static int default_run(void)
{
	struct life_io none = { .kind = LIFE_IO_NONE }, sleep1;
	struct life_model_opts o = { .io = &none };
	struct life_grid book, big;
	struct life_table t = { 0 };
	struct run r[NMODELS];
	struct life_result res;
	int rc = 0, agree = 1, cores = (int)sysconf(_SC_NPROCESSORS_ONLN);

	if (life_grid_init(&book, 5, 9) || life_grid_init(&big, 100, 100))
		return 1;
	book_glider(&book);
	printf("The book's 5x9 grid with its glider, generations 0-4, as "
	       "item 60's program prints them:\n\n");
	for (int m = 0; m < NMODELS; m++) {
		rc = run_model(&r[m], models[m], &o, &book, 4, true, &res);
		if (rc) {
			printf("%s model failed: %s\n", models[m]->name,
			       weft_strerror(rc));
			agree = 0;
		} else if (m > 0 && r[0].hash[4] != r[m].hash[4]) {
			agree = 0;
		}
	}
	if (r[0].strs && r[0].strs[4])
		print_columns(r[0].strs, 5);
	printf("\n%s\n\n", agree ? "(all five models computed the same grids)"
				 : "THE MODELS DISAGREE");
	for (int m = 0; m < NMODELS; m++)
		run_free(&r[m]);

	life_io_parse(&sleep1, "sleep:1ms");
	o.io = &sleep1;
	book_glider(&big);
	t = (struct life_table){ .rows = 100,
				 .cols = 100,
				 .gens = 2,
				 .cores = cores,
				 .workers = 100,
				 .io = "sleep:1ms" };
	printf("Every model on a 100x100 grid with 1 ms of I/O per cell "
	       "(--io sleep:1ms):\n\n");
	fflush(stdout);
	for (int m = 0; m < NMODELS; m++) {
		struct life_result *x = &t.r[t.n++];
		struct run rr;

		if (models[m] == &life_model_serial) {
			int erc;

			*x = (struct life_result){ .model = "serial" };
			x->sec_per_gen =
				serial_estimate(&sleep1, &big, 200, &erc);
			x->rc = erc;
			x->estimated = true;
			x->gens = 0;
			if (erc)
				snprintf(x->note, sizeof(x->note), "failed: %s",
					 weft_strerror(erc));
			else
				snprintf(x->note, sizeof(x->note),
					 "from 200 of 10000 cells (a whole "
					 "generation "
					 "would take ~%.0f s)",
					 x->sec_per_gen);
			continue;
		}
		run_model(&rr, models[m], &o, &big, t.gens, false, x);
		if (x->rc == 0) {
			if (models[m] == &life_model_threads)
				snprintf(x->note, sizeof(x->note),
					 "10000 threads per generation");
			else if (models[m] == &life_model_coro)
				snprintf(x->note, sizeof(x->note),
					 "10000 coroutines per generation "
					 "on %d loops (the first generation "
					 "faults in their stacks)",
					 cores);
			else
				snprintf(x->note, sizeof(x->note),
					 "100 worker threads");
		}
		run_free(&rr);
	}
	life_table_print(stdout, &t);
	life_grid_free(&book);
	life_grid_free(&big);
	return agree ? 0 : 1;
}

/* --serve HOST:PORT: the rules server alone (life_serve, server.c). */
static int serve(const struct opts *op)
{
	char host[256];
	int port, rc;

	if (op->given > 1)
		return bad("--serve takes no other option%s%s", "", "");
	if (life_addr_parse(op->serve, 0, host, sizeof(host), &port))
		return bad("bad --serve '%s': expected HOST:PORT, PORT "
			   "0..65535%s",
			   op->serve, "");
	rc = life_serve(host, port, stdout);
	if (rc == 0)
		return 0;
	if (rc == -EBADF)
		fprintf(stderr, "weft-life: --serve needs an open stdin (it "
				"serves until end of file on it)\n");
	else
		fprintf(stderr, "weft-life: cannot serve on '%s': %s\n",
			op->serve, weft_strerror(rc));
	/* the address (or stdin) is the user's to fix; running out of
	 * memory or threads is not */
	return rc == -ENOMEM || rc == -EAGAIN || rc == -EMFILE ||
			       rc == -ENFILE || rc == -EIO
		       ? 1
		       : USAGE_ERR;
}

int main(int argc, char **argv)
{
	struct opts op = { .model = "all", .gens = 5 };
	struct life_io io;
	struct life_model_opts mo = { .io = &io };
	struct life_server *srv = NULL;
	struct life_grid start = { 0 };
	const struct life_model *sel[NMODELS];
	struct life_table t = { 0 };
	struct run runs[NMODELS];
	long rows = 5, cols = 9;
	int nsel = 0, rc = 0, status = 0;
	bool keep;
	char err[512];

	if (argc == 1)
		return default_run();
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = NULL, *eq;
		char name[32];
		long n;

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 0;
		}
		if (strncmp(a, "--", 2) != 0)
			return bad("unexpected argument '%s'%s", a, "");
		eq = strchr(a, '=');
		snprintf(name, sizeof(name), "%.*s",
			 (int)(eq ? (size_t)(eq - a) : strlen(a)), a);
		op.given++;
		if (!strcmp(name, "--check") || !strcmp(name, "--watch") ||
		    !strcmp(name, "--json")) {
			if (eq)
				return bad("%s takes no value%s", name, "");
			if (!strcmp(name, "--check"))
				op.check = true;
			else if (!strcmp(name, "--watch"))
				op.watch = true;
			else
				op.json = true;
			continue;
		}
		if (strcmp(name, "--model") && strcmp(name, "--size") &&
		    strcmp(name, "--generations") && strcmp(name, "--io") &&
		    strcmp(name, "--server") && strcmp(name, "--workers") &&
		    strcmp(name, "--loops") && strcmp(name, "--seed") &&
		    strcmp(name, "--load") && strcmp(name, "--serve"))
			return bad("unknown option '%s'%s", a, "");
		if (eq)
			v = eq + 1;
		else if (i + 1 < argc)
			v = argv[++i];
		else
			return bad("%s needs a value%s", name, "");
		if (!strcmp(name, "--model")) {
			op.model = v;
		} else if (!strcmp(name, "--size")) {
			char x;
			int k = 0;

			op.size = v;
			if (sscanf(v, "%ld%c%ld%n", &rows, &x, &cols, &k) !=
				    3 ||
			    (x != 'x' && x != 'X') || v[k] || rows < 1 ||
			    cols < 1 || rows > LIFE_MAX_DIM ||
			    cols > LIFE_MAX_DIM ||
			    !(v[0] >= '0' && v[0] <= '9'))
				return bad("bad --size '%s': expected "
					   "ROWSxCOLS, "
					   "each 1..10000%s",
					   v, "");
			if (rows * cols > LIFE_MAX_CELLS)
				return bad("--size %s is more than 1000000 "
					   "cells%s",
					   v, "");
		} else if (!strcmp(name, "--generations")) {
			if (!parse_int(v, 1, 1000000, &op.gens))
				return bad("bad --generations '%s': expected "
					   "1..1000000%s",
					   v, "");
		} else if (!strcmp(name, "--io")) {
			op.io = v;
		} else if (!strcmp(name, "--server")) {
			op.server = v;
		} else if (!strcmp(name, "--workers")) {
			if (!parse_int(v, 1, 1024, &op.workers))
				return bad("bad --workers '%s': expected "
					   "1..1024%s",
					   v, "");
		} else if (!strcmp(name, "--loops")) {
			if (!parse_int(v, 1, 256, &op.loops))
				return bad("bad --loops '%s': expected "
					   "1..256%s",
					   v, "");
		} else if (!strcmp(name, "--seed")) {
			if (!parse_int(v, 0, LONG_MAX, &n))
				return bad("bad --seed '%s': expected a number "
					   ">= 0%s",
					   v, "");
			op.seed = n;
			op.have_seed = true;
		} else if (!strcmp(name, "--load")) {
			op.load = v;
		} else if (!strcmp(name, "--serve")) {
			op.serve = v;
		}
	}
	if (op.serve)
		return serve(&op);

	/* the models asked for */
	for (int m = 0; m < NMODELS; m++)
		if (!strcmp(op.model, "all") ||
		    !strcmp(op.model, models[m]->name))
			sel[nsel++] = models[m];
	if (!nsel)
		return bad("unknown --model '%s': expected serial, threads, "
			   "queue, pool, coro or all%s",
			   op.model, "");
	if (op.watch) {
		if (nsel > 1)
			sel[0] = &life_model_coro;
		nsel = 1;
		if (op.json)
			return bad("--watch and --json do not go together%s",
				   "", "");
	}
	if (op.load && op.have_seed)
		return bad("--load and --seed do not go together%s", "", "");

	/* the I/O */
	if (life_io_parse(&io, op.io ? op.io : op.server ? "tcp" : "none"))
		return bad("bad --io '%s': expected none, sleep:DURATION "
			   "(e.g. sleep:1ms) or tcp%s",
			   op.io, "");
	if (op.server) {
		if (io.kind != LIFE_IO_TCP)
			return bad("--server needs --io tcp (not '%s')%s",
				   op.io, "");
		if (life_addr_parse(op.server, 1, io.host, sizeof(io.host),
				    &io.port))
			return bad("bad --server '%s': expected HOST:PORT%s",
				   op.server, "");
	}
	mo.workers = (int)op.workers;
	mo.loops = (unsigned)op.loops;

	/* the starting grid */
	if (op.load) {
		rc = life_pattern_load(&start, op.load, op.size ? (int)rows : 0,
				       op.size ? (int)cols : 0, err,
				       sizeof(err));
		if (rc == -EINVAL) {
			fprintf(stderr, "weft-life: %s\n", err);
			return USAGE_ERR;
		}
	} else {
		rc = life_grid_init(&start, (int)rows, (int)cols);
		if (rc == 0 && op.have_seed)
			random_grid(&start, (uint64_t)op.seed);
		else if (rc == 0)
			book_glider(&start);
	}
	if (rc) {
		fprintf(stderr, "weft-life: %s\n", weft_strerror(rc));
		return 1;
	}

	if (io.kind == LIFE_IO_TCP && !op.server) {
		rc = life_server_start(&srv, "127.0.0.1", 0);
		if (rc) {
			fprintf(stderr,
				"weft-life: cannot start the rules server: "
				"%s\n",
				weft_strerror(rc));
			life_grid_free(&start);
			return 1;
		}
		io.port = life_server_port(srv);
	}

	/* run */
	keep = !op.json && !op.watch && start.rows <= 40 && start.cols <= 40 &&
	       op.gens <= 40;
	t = (struct life_table){ .rows = start.rows,
				 .cols = start.cols,
				 .gens = (int)op.gens,
				 .cores = (int)sysconf(_SC_NPROCESSORS_ONLN),
				 .workers = op.workers ? (int)op.workers : 100,
				 .loops = (int)op.loops,
				 .io = op.io			? op.io
				       : io.kind == LIFE_IO_TCP ? "tcp"
								: "none" };
	if (op.watch) {
		watch = true;
		watch_delay = isatty(1) ? 100 * WEFT_MSEC : 0;
		life_watch_frame(stdout, sel[0]->name, 0, &start);
	}
	for (int m = 0; m < nsel; m++) {
		struct life_result *x = &t.r[t.n++];

		if (sel[m] == &life_model_serial && nsel > 1 && !op.check &&
		    io.kind != LIFE_IO_NONE) {
			/* a serial run over 30 s is estimated instead */
			int n = start.rows * start.cols, k = n < 200 ? n : 200;
			double est = serial_estimate(&io, &start, k, &x->rc);

			if (x->rc == 0 && est * (double)op.gens > 30) {
				x->model = "serial";
				x->estimated = true;
				x->sec_per_gen = est;
				snprintf(x->note, sizeof(x->note),
					 "from %d of %d cells", k, n);
				runs[m] = (struct run){ 0 };
				continue;
			}
		}
		run_model(&runs[m], sel[m], &mo, &start, (int)op.gens, keep, x);
		if (x->rc) {
			/* the threads model refused by the system's limit is
			 * shown in the table; with other models it is no
			 * failure of the run */
			if (!(sel[m] == &life_model_threads &&
			      x->rc == -EAGAIN && nsel > 1))
				status = 1;
			if (!op.json)
				fprintf(stderr, "weft-life: %s model %s\n",
					sel[m]->name, x->note);
		}
	}
	/* --watch: the frames were drawn during the run (see after_gen) */
	if (!op.watch && keep) {
		for (int m = 0; m < nsel; m++) {
			if (t.r[m].rc || !runs[m].strs)
				continue;
			print_columns(runs[m].strs, (int)op.gens + 1);
			printf("\n");
			break;
		}
	}
	if (op.check) {
		int ref = -1, diff = 0;

		for (int m = 0; m < nsel && ref < 0; m++)
			if (t.r[m].rc == 0)
				ref = m;
		for (int m = ref + 1; ref >= 0 && m < nsel; m++) {
			if (t.r[m].rc)
				continue;
			for (int g = 0; g <= op.gens; g++)
				if (runs[m].hash[g] != runs[ref].hash[g]) {
					fprintf(stderr,
						"weft-life: check: %s differs "
						"from %s at generation %d\n",
						sel[m]->name, sel[ref]->name,
						g);
					diff = 1;
					break;
				}
		}
		if (ref < 0) {
			fprintf(stderr, "weft-life: check: no model ran\n");
			status = 1;
		} else if (diff) {
			status = 1;
		} else if (!op.json) {
			printf("check: %d model%s agree on %ld generations\n",
			       nsel, nsel == 1 ? "" : "s", op.gens);
		}
	}
	if (op.json)
		life_table_json(stdout, &t);
	else if (!op.watch)
		life_table_print(stdout, &t);
	for (int m = 0; m < nsel; m++)
		run_free(&runs[m]);
	if (srv)
		life_server_stop(srv);
	life_grid_free(&start);
	return status;
}
