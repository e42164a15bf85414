/*
 * cli.h — weft-life's program-side pieces beyond life.h: pattern loading
 * (pattern.c) and output (print.c). Used by main.c and nothing else.
 */
#ifndef WEFT_LIFE_CLI_H
#define WEFT_LIFE_CLI_H

#include <stdio.h>

#include "life.h"

#define LIFE_MAX_DIM 10000
#define LIFE_MAX_CELLS 1000000

/*
 * Load a pattern file (plain text: '*' or 'O' alive, '-' or '.' empty,
 * '!' comment lines; or RLE: '#' comments, "x = W, y = H[, rule = B3/S23]",
 * b/o/$/! runs). With rows, cols > 0 the pattern is placed at the top-left
 * of a grid that size (it must fit); with 0 the grid is the pattern's size.
 * 0, or -EINVAL with a one-line reason in err, or -ENOMEM.
 */
int life_pattern_load(struct life_grid *g, const char *path, int rows, int cols,
		      char *err, size_t errlen);

/* The book's ColumnPrinter over n grids' strings; malloc'd, no final '\n'. */
char *life_columns(char *const *cols, int n);

/* --watch: one frame (ANSI clear + home, a title line, the grid). */
void life_watch_frame(FILE *f, const char *model, int gen,
		      const struct life_grid *g);

/* One row of the timing table. */
struct life_result {
	const char *model;
	int rc;		/* 0, or the error that stopped it */
	bool estimated; /* serial: from a sample of cells */
	int gens;	/* generations timed */
	double sec_per_gen;
	char note[160];
	char final[65]; /* SHA-256 hex of the last grid's string, or "" */
};

struct life_table {
	int rows, cols, gens, cores, workers, loops;
	const char *io;
	struct life_result r[5];
	int n;
};

/* SHA-256 of data as 64 hex digits and a NUL (--json's "final"). */
void life_sha256_hex(const char *data, size_t len, char hex[65]);

void life_table_print(FILE *f, const struct life_table *t);
void life_table_json(FILE *f, const struct life_table *t);

#endif /* WEFT_LIFE_CLI_H */
