/*
 * life.h — weft-life's pieces, shared by its files (the program's own
 * header, not part of libweft).
 *
 * The chapter's running example (Effective Python items 56-60): Conway's
 * Game of Life whose cell logic does I/O, run five ways. One generation
 * is a fan-out (every cell's step_cell) and a fan-in (all done before the
 * next generation). A model is the fan-out/fan-in; game.c is the game;
 * io.c is what game_logic's I/O does.
 *
 *   game.c     the grid (wrap-around), count_neighbors, the rules, step_cell
 *   pattern.c  --load: plain text (.cells / the book's '*' and '-') and RLE
 *   io.c       the I/O game_logic does: none, sleep:DURATION, tcp
 *   server.c   the rules server the tcp mode asks (weft coroutines)
 *   model_serial.c, model_threads.c, model_queue.c, model_pool.c,
 *   model_coro.c   the five models, one small file each
 *   print.c    the book's ColumnPrinter, --watch, the timing table, --json
 *   main.c     options, the default run
 */
#ifndef WEFT_LIFE_H
#define WEFT_LIFE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define LIFE_ALIVE '*'
#define LIFE_EMPTY '-'

/* A grid of LIFE_ALIVE/LIFE_EMPTY cells; coordinates wrap around. */
struct life_grid {
	int rows, cols;
	char *cells; /* rows * cols, row-major */
};

int life_grid_init(struct life_grid *g, int rows, int cols); /* 0, -ENOMEM */
void life_grid_free(struct life_grid *g);
char life_get(const struct life_grid *g, int y, int x); /* wraps */
void life_set(struct life_grid *g, int y, int x, char state);
bool life_grid_equal(const struct life_grid *a, const struct life_grid *b);
/* The book's Grid.__str__: rows of '*'/'-', each ending in '\n'. */
char *life_grid_str(const struct life_grid *g); /* malloc'd, or NULL */

/* ---- the I/O game_logic does ---- */

enum life_io_kind { LIFE_IO_NONE, LIFE_IO_SLEEP, LIFE_IO_TCP };

struct life_io {
	enum life_io_kind kind;
	int64_t sleep_ns; /* LIFE_IO_SLEEP */
	char host[256];	  /* LIFE_IO_TCP: the rules server */
	int port;
};

/*
 * Parse --io: "none", "sleep:DURATION" (e.g. 1ms, 250us, 0.5ms, 2s) or
 * "tcp" (the server weft-life starts itself, or --server HOST:PORT).
 * 0 or -EINVAL.
 */
int life_io_parse(struct life_io *io, const char *spec);

/*
 * A caller's connection state for the tcp mode: one per thread or
 * coroutine that runs step_cell (a worker, a coroutine); fd -1 until first
 * used. Closed by life_conn_close.
 */
struct life_conn {
	int fd;
	char buf[64];
	size_t len;
};
#define LIFE_CONN_INIT       \
	{                    \
		-1, { 0 }, 0 \
	}
void life_conn_close(struct life_conn *c);

/*
 * game_logic: the next state of a cell from its state and its live
 * neighbours, after the I/O `io` says (a sleep, or a round trip to the
 * rules server, which answers the same rules). Works the same from a
 * thread (blocks) and from a coroutine (suspends): weft's one call.
 * Returns 0 and sets *next, or a negative errno (-EPROTO for a malformed
 * or truncated reply, -ECONNREFUSED, -ETIMEDOUT, ...).
 */
int life_game_logic(const struct life_io *io, struct life_conn *conn,
		    char state, int neighbors, char *next);

/* ---- tcp mode (tcp.c, server.c) ---- */

/* game_logic's tcp branch: one round trip to the rules server on conn. */
int life_tcp_logic(const struct life_io *io, struct life_conn *conn, char state,
		   int neighbors, char *next);

/*
 * The rules server (weft coroutines, one per connection, on a thread of
 * its own): listens on host:port (port 0: any free port). 0 or -errno.
 */
struct life_server;
int life_server_start(struct life_server **sp, const char *host, int port);
int life_server_port(const struct life_server *s);
void life_server_stop(struct life_server *s); /* closes it, joins its thread */

/*
 * weft-life --serve: the rules server alone, for other programs to share.
 * Listens on host:port, writes the bound address ("HOST:PORT", numeric)
 * as one line to out and flushes it, then serves until end of file on
 * stdin (or stdin closed or failing), SIGTERM or SIGINT; then stops the
 * server (every connection closed) and returns 0. Before serving: the
 * listen error (-EADDRNOTAVAIL, -EADDRINUSE, -EACCES, -EINVAL ...), or
 * -EBADF when stdin is not open.
 */
int life_serve(const char *host, int port, FILE *out);

/*
 * Parse "HOST:PORT" (split at the last ':'; "[::1]:PORT" too) into host
 * and port, port in min_port..65535. 0 or -EINVAL.
 */
int life_addr_parse(const char *s, int min_port, char *host, size_t hostlen,
		    int *port);

/* The rules without I/O (what the server and the none mode answer). */
char life_rule(char state, int neighbors);

/* count_neighbors + game_logic + set: one cell of one generation. */
int life_step_cell(const struct life_io *io, struct life_conn *conn,
		   const struct life_grid *cur, struct life_grid *next, int y,
		   int x);

/* ---- models ---- */

struct life_model_opts {
	const struct life_io *io;
	int workers;	/* queue and pool models: worker threads; 0 default */
	unsigned loops; /* coro model: loops; 0 one per core */
};

/* Called after each generation (1..gens) with the new grid; a nonzero
 * return stops the run with that value. */
typedef int life_gen_fn(void *arg, int gen, const struct life_grid *g);

/*
 * End generation gen of every model: *next (just filled) becomes *grid,
 * the old grid becomes *next for the one after, then after(arg, gen,
 * grid) if after is not NULL. Its return value, or 0.
 */
int life_advance(struct life_grid *grid, struct life_grid *next, int gen,
		 life_gen_fn *after, void *arg);

/*
 * A model runs `gens` generations of *grid, each a fan-out over every cell
 * (life_step_cell) and a fan-in before the next, and owns whatever it runs
 * on for the whole run (the queue model's workers, the pool, the coroutine
 * runtime). On return *grid is the last generation reached. 0, the first
 * error a cell's I/O gave, or -EAGAIN from the threads model when the
 * system cannot start a thread per cell (its limit: shown, not hidden).
 */
struct life_model {
	const char *name; /* serial, threads, queue, pool, coro */
	int (*run)(const struct life_model_opts *o, struct life_grid *grid,
		   int gens, life_gen_fn *after, void *arg);
};

extern const struct life_model life_model_serial, life_model_threads,
	life_model_queue, life_model_pool, life_model_coro;

#endif /* WEFT_LIFE_H */
