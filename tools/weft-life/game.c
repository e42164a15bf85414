/*
 * game.c — the game: the grid (wrap-around), count_neighbors, the rules,
 * step_cell (the book's item 56 pieces).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "life.h"

int life_grid_init(struct life_grid *g, int rows, int cols)
{
	g->rows = rows;
	g->cols = cols;
	g->cells = malloc((size_t)rows * (size_t)cols);
	if (!g->cells)
		return -ENOMEM;
	memset(g->cells, LIFE_EMPTY, (size_t)rows * (size_t)cols);
	return 0;
}

void life_grid_free(struct life_grid *g)
{
	free(g->cells);
	g->cells = NULL;
}

static int wrap(int i, int n)
{
	i %= n;
	return i < 0 ? i + n : i;
}

char life_get(const struct life_grid *g, int y, int x)
{
	return g->cells[(size_t)wrap(y, g->rows) * (size_t)g->cols +
			(size_t)wrap(x, g->cols)];
}

void life_set(struct life_grid *g, int y, int x, char state)
{
	g->cells[(size_t)wrap(y, g->rows) * (size_t)g->cols +
		 (size_t)wrap(x, g->cols)] = state;
}

bool life_grid_equal(const struct life_grid *a, const struct life_grid *b)
{
	return a->rows == b->rows && a->cols == b->cols &&
	       !memcmp(a->cells, b->cells, (size_t)a->rows * (size_t)a->cols);
}

char *life_grid_str(const struct life_grid *g)
{
	size_t w = (size_t)g->cols + 1;
	char *s = malloc(w * (size_t)g->rows + 1), *p = s;

	if (!s)
		return NULL;
	for (int y = 0; y < g->rows; y++) {
		memcpy(p, g->cells + (size_t)y * (size_t)g->cols,
		       (size_t)g->cols);
		p[g->cols] = '\n';
		p += w;
	}
	*p = '\0';
	return s;
}

/* The book's count_neighbors: N, NE, E, SE, S, SW, W, NW. */
static int count_neighbors(const struct life_grid *g, int y, int x)
{
	const char states[8] = {
		life_get(g, y - 1, x + 0), life_get(g, y - 1, x + 1),
		life_get(g, y + 0, x + 1), life_get(g, y + 1, x + 1),
		life_get(g, y + 1, x + 0), life_get(g, y + 1, x - 1),
		life_get(g, y + 0, x - 1), life_get(g, y - 1, x - 1),
	};
	int count = 0;

	for (int i = 0; i < 8; i++)
		if (states[i] == LIFE_ALIVE)
			count++;
	return count;
}

char life_rule(char state, int neighbors)
{
	if (state == LIFE_ALIVE) {
		if (neighbors < 2)
			return LIFE_EMPTY; /* too few: dies */
		if (neighbors > 3)
			return LIFE_EMPTY; /* too many: dies */
	} else if (neighbors == 3) {
		return LIFE_ALIVE; /* regenerates */
	}
	return state;
}

int life_step_cell(const struct life_io *io, struct life_conn *conn,
		   const struct life_grid *cur, struct life_grid *next, int y,
		   int x)
{
	char state = life_get(cur, y, x), next_state;
	int neighbors = count_neighbors(cur, y, x);
	int rc = life_game_logic(io, conn, state, neighbors, &next_state);

	if (rc == 0)
		life_set(next, y, x, next_state);
	return rc;
}

int life_advance(struct life_grid *grid, struct life_grid *next, int gen,
		 life_gen_fn *after, void *arg)
{
	struct life_grid t = *grid;

	*grid = *next;
	*next = t;
	return after ? after(arg, gen, grid) : 0;
}
