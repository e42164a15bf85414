/*
 * pattern.c — --load FILE: plain text (the book's '*' and '-', or the
 * .cells format's 'O' and '.', with '!' comment lines) and RLE ('#'
 * comments, a "x = W, y = H" header, runs of b/o ended by $ and !).
 * Bad files give a one-line reason naming the file and line.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define MAX_FILE (16 << 20)

struct pat {
	int rows, cols;
	/* the live cells, as (y, x) pairs */
	int *yx;
	size_t n, cap;
};

static int fail(char *err, size_t errlen, const char *path, int line,
		const char *fmt, ...)
{
	va_list ap;
	int k = line > 0 ? snprintf(err, errlen, "%s:%d: ", path, line)
			 : snprintf(err, errlen, "%s: ", path);

	if (k < 0 || (size_t)k >= errlen)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(err + k, errlen - (size_t)k, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int add(struct pat *p, int y, int x)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		int *yx = realloc(p->yx, cap * 2 * sizeof(int));

		if (!yx)
			return -ENOMEM;
		p->yx = yx;
		p->cap = cap;
	}
	p->yx[2 * p->n] = y;
	p->yx[2 * p->n + 1] = x;
	p->n++;
	return 0;
}

static char *next_line(char **s)
{
	char *l = *s, *e;

	if (!l || !*l)
		return NULL;
	e = strchr(l, '\n');
	if (e) {
		*e = '\0';
		*s = e + 1;
	} else {
		*s = l + strlen(l);
	}
	e = l + strlen(l);
	if (e > l && e[-1] == '\r')
		e[-1] = '\0';
	return l;
}

static int parse_plain(struct pat *p, char *text, const char *path, char *err,
		       size_t errlen)
{
	char *l;
	int line = 0, y = 0;

	while ((l = next_line(&text))) {
		int x = 0;

		line++;
		if (l[0] == '!')
			continue; /* .cells comment */
		for (; l[x]; x++) {
			char c = l[x];

			if (c == '*' || c == 'O') {
				if (add(p, y, x))
					return -ENOMEM;
			} else if (c != '-' && c != '.') {
				return fail(err, errlen, path, line,
					    isprint((unsigned char)c)
						    ? "unexpected '%c' (cells "
						      "are '*' or 'O', '-' or "
						      "'.')"
						    : "unexpected byte 0x%02x",
					    (unsigned char)c);
			}
			if (x >= LIFE_MAX_DIM)
				return fail(err, errlen, path, line,
					    "line longer than %d cells",
					    LIFE_MAX_DIM);
		}
		if (x > p->cols)
			p->cols = x;
		if (++y > LIFE_MAX_DIM)
			return fail(err, errlen, path, line,
				    "more than %d rows", LIFE_MAX_DIM);
	}
	p->rows = y;
	if (p->rows == 0 || p->cols == 0)
		return fail(err, errlen, path, 0, "no cells in the pattern");
	return 0;
}

static int parse_rle(struct pat *p, char *text, const char *path, char *err,
		     size_t errlen)
{
	char *l, rule[64] = "";
	int line = 0, w = -1, h = -1, y = 0, x = 0;
	bool header = false, done = false;

	while (!done && (l = next_line(&text))) {
		line++;
		if (l[0] == '#')
			continue;
		if (!header) {
			char tail;

			if (sscanf(l, " x = %d , y = %d , rule = %63[^ \t] %c",
				   &w, &h, rule, &tail) == 3 ||
			    sscanf(l, " x = %d , y = %d %c", &w, &h, &tail) ==
				    2) {
				header = true;
			} else {
				return fail(err, errlen, path, line,
					    "expected the RLE header "
					    "\"x = W, y = H\"");
			}
			if (w < 1 || h < 1 || w > LIFE_MAX_DIM ||
			    h > LIFE_MAX_DIM)
				return fail(err, errlen, path, line,
					    "size %dx%d out of range (1..%d)",
					    w, h, LIFE_MAX_DIM);
			if (rule[0] && strcasecmp(rule, "B3/S23") &&
			    strcasecmp(rule, "23/3"))
				return fail(err, errlen, path, line,
					    "rule %s is not Conway's B3/S23",
					    rule);
			continue;
		}
		for (char *c = l; *c && !done;) {
			long run = 1;

			if (isspace((unsigned char)*c)) {
				c++;
				continue;
			}
			if (isdigit((unsigned char)*c)) {
				char *end;

				run = strtol(c, &end, 10);
				c = end;
				if (run < 1 || run > LIFE_MAX_DIM)
					return fail(err, errlen, path, line,
						    "bad run count %ld", run);
			}
			switch (*c) {
			case 'b':
			case '.':
				x += (int)run;
				break;
			case 'o':
			case 'A':
				for (long i = 0; i < run; i++, x++) {
					if (x >= w || y >= h)
						return fail(err, errlen, path,
							    line,
							    "cell outside "
							    "x = %d, y = %d",
							    w, h);
					if (add(p, y, x))
						return -ENOMEM;
				}
				break;
			case '$':
				y += (int)run;
				x = 0;
				break;
			case '!':
				done = true;
				break;
			default:
				return fail(err, errlen, path, line,
					    *c ? "unexpected '%c' in RLE data"
					       : "a run count with no tag%c",
					    *c ? *c : ' ');
			}
			if (*c)
				c++;
			if (x > w || y > h)
				return fail(err, errlen, path, line,
					    "pattern runs outside x = %d, "
					    "y = %d",
					    w, h);
		}
	}
	if (!header)
		return fail(err, errlen, path, 0, "no RLE header");
	if (!done)
		return fail(err, errlen, path, 0,
			    "RLE data does not end in '!'");
	p->rows = h;
	p->cols = w;
	return 0;
}

static bool is_rle(const char *path, const char *text)
{
	const char *dot = strrchr(path, '.');

	if (dot && strcasecmp(dot, ".rle") == 0)
		return true;
	while (*text == '#') { /* skip RLE comments */
		text = strchr(text, '\n');
		if (!text)
			return false;
		text++;
	}
	while (*text == ' ' || *text == '\t')
		text++;
	return *text == 'x';
}

int life_pattern_load(struct life_grid *g, const char *path, int rows, int cols,
		      char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	struct pat p = { 0 };
	char *text;
	size_t len;
	int rc;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -EINVAL;
	}
	text = malloc(MAX_FILE + 1);
	if (!text) {
		fclose(f);
		return -ENOMEM;
	}
	len = fread(text, 1, MAX_FILE + 1, f);
	rc = ferror(f) ? fail(err, errlen, path, 0, "read error") : 0;
	fclose(f);
	if (rc == 0 && len > MAX_FILE)
		rc = fail(err, errlen, path, 0, "larger than %d bytes",
			  MAX_FILE);
	if (rc == 0 && memchr(text, '\0', len))
		rc = fail(err, errlen, path, 0, "not a text file (NUL byte)");
	if (rc == 0) {
		text[len] = '\0';
		rc = is_rle(path, text)
			     ? parse_rle(&p, text, path, err, errlen)
			     : parse_plain(&p, text, path, err, errlen);
	}
	free(text);
	if (rc == 0 && rows > 0 && (p.rows > rows || p.cols > cols))
		rc = fail(err, errlen, path, 0,
			  "the %dx%d pattern does not fit in --size %dx%d",
			  p.rows, p.cols, rows, cols);
	if (rc == 0 && rows <= 0) {
		rows = p.rows;
		cols = p.cols;
	}
	if (rc == 0 && (size_t)rows * (size_t)cols > LIFE_MAX_CELLS)
		rc = fail(err, errlen, path, 0, "%dx%d is more than %d cells",
			  rows, cols, LIFE_MAX_CELLS);
	if (rc == 0)
		rc = life_grid_init(g, rows, cols);
	for (size_t i = 0; rc == 0 && i < p.n; i++)
		life_set(g, p.yx[2 * i], p.yx[2 * i + 1], LIFE_ALIVE);
	if (rc == -ENOMEM)
		snprintf(err, errlen, "%s: out of memory", path);
	free(p.yx);
	return rc;
}
