/*
 * print.c — output: the book's ColumnPrinter (item 56), --watch frames,
 * the timing table and its --json form.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* The line j of a grid string (without its '\n'), its length in *len. */
static const char *line_of(const char *s, int j, size_t *len)
{
	for (; j > 0 && s; j--) {
		s = strchr(s, '\n');
		if (s)
			s++;
	}
	if (!s) {
		*len = 0;
		return "";
	}
	*len = strcspn(s, "\n");
	return s;
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		if (*s == '\n')
			n++;
	return n;
}

/*
 * As the book's ColumnPrinter.__str__: a header row with each column's
 * index centred over it (padding of len(line) // 2 on both sides), then
 * the grids' rows side by side, columns separated by " | ", rows joined
 * by '\n'.
 */
char *life_columns(char *const *cols, int n)
{
	int row_count = 1;
	size_t cap = 1, used = 0;
	char *out, num[16];

	for (int i = 0; i < n; i++) {
		int lines = count_lines(cols[i]) + 1;

		if (lines > row_count)
			row_count = lines;
		cap += strlen(cols[i]) * 2 + 64;
	}
	cap += (size_t)row_count * (size_t)n * 3 + (size_t)row_count;
	out = malloc(cap);
	if (!out)
		return NULL;
	for (int j = 0; j < row_count; j++) {
		for (int i = 0; i < n; i++) {
			size_t len;
			const char *line =
				line_of(cols[i], j ? j - 1 : 0, &len);

			if (j == 0) {
				int k = snprintf(num, sizeof(num), "%d", i);

				memset(out + used, ' ', len / 2);
				used += len / 2;
				memcpy(out + used, num, (size_t)k);
				used += (size_t)k;
				memset(out + used, ' ', len / 2);
				used += len / 2;
			} else {
				memcpy(out + used, line, len);
				used += len;
			}
			if (i + 1 < n) {
				memcpy(out + used, " | ", 3);
				used += 3;
			}
		}
		if (j + 1 < row_count)
			out[used++] = '\n';
	}
	out[used] = '\0';
	return out;
}

void life_watch_frame(FILE *f, const char *model, int gen,
		      const struct life_grid *g)
{
	char *s = life_grid_str(g);

	fprintf(f,
		"\033[H\033[2J"
		"weft-life: generation %d (%s model, %dx%d)\n%s",
		gen, model, g->rows, g->cols, s ? s : "");
	fflush(f);
	free(s);
}

void life_table_print(FILE *f, const struct life_table *t)
{
	double serial = 0;

	for (int i = 0; i < t->n; i++)
		if (!strcmp(t->r[i].model, "serial") && t->r[i].rc == 0)
			serial = t->r[i].sec_per_gen;
	fprintf(f, "%dx%d grid, --io %s, %d generation%s per model, %d cores\n",
		t->rows, t->cols, t->io, t->gens, t->gens == 1 ? "" : "s",
		t->cores);
	fprintf(f, "%-8s %12s %9s  %s\n", "model", "s/generation", "speed-up",
		"notes");
	for (int i = 0; i < t->n; i++) {
		const struct life_result *r = &t->r[i];

		if (r->rc) {
			fprintf(f, "%-8s %12s %9s  %s\n", r->model, "-", "-",
				r->note);
			continue;
		}
		fprintf(f, "%-8s %12.4f", r->model, r->sec_per_gen);
		if (serial > 0 && r->sec_per_gen > 0)
			fprintf(f, " %8.1fx", serial / r->sec_per_gen);
		else
			fprintf(f, " %9s", "-");
		fprintf(f, "  %s%s%s\n", r->estimated ? "estimated: " : "",
			r->note, "");
	}
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", (unsigned char)*s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

void life_table_json(FILE *f, const struct life_table *t)
{
	double serial = 0;

	for (int i = 0; i < t->n; i++)
		if (!strcmp(t->r[i].model, "serial") && t->r[i].rc == 0)
			serial = t->r[i].sec_per_gen;
	fprintf(f,
		"{\"program\": \"weft-life\", \"version\": 1, \"rows\": %d, "
		"\"cols\": %d, \"io\": ",
		t->rows, t->cols);
	json_str(f, t->io);
	fprintf(f,
		", \"generations\": %d, \"cores\": %d, \"workers\": %d, "
		"\"loops\": %d, \"results\": [",
		t->gens, t->cores, t->workers, t->loops);
	for (int i = 0; i < t->n; i++) {
		const struct life_result *r = &t->r[i];

		fprintf(f, "%s\n  {\"model\": ", i ? "," : "");
		json_str(f, r->model);
		if (r->rc) {
			fprintf(f, ", \"ok\": false, \"error\": ");
			json_str(f, r->note);
			fprintf(f, "}");
			continue;
		}
		fprintf(f,
			", \"ok\": true, \"estimated\": %s, "
			"\"generations\": %d, \"seconds_per_generation\": "
			"%.6f, \"speedup\": ",
			r->estimated ? "true" : "false", r->gens,
			r->sec_per_gen);
		if (serial > 0 && r->sec_per_gen > 0)
			fprintf(f, "%.3f", serial / r->sec_per_gen);
		else
			fprintf(f, "null");
		fprintf(f, ", \"note\": ");
		json_str(f, r->note);
		fprintf(f, "}");
	}
	fprintf(f, "\n]}\n");
}
