/*
 * print.c — output: the book's ColumnPrinter (item 56), --watch frames,
 * the timing table and its --json form.
 */
#include <stdint.h>
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
		if (r->final[0])
			fprintf(f, ", \"final\": \"%s\"", r->final);
		fprintf(f, ", \"note\": ");
		json_str(f, r->note);
		fprintf(f, "}");
	}
	fprintf(f, "\n]}\n");
}

/* ---- SHA-256 (FIPS 180-4) of the final grid, for --json's "final" ---- */

static const uint32_t sha_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
	0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
	0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
	0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t ror(uint32_t x, int n)
{
	return (x >> n) | (x << (32 - n));
}

static void sha_block(uint32_t h[8], const unsigned char *p)
{
	uint32_t w[64], v[8];

	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^
			      (w[i - 15] >> 3);
		uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^
			      (w[i - 2] >> 10);

		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	memcpy(v, h, sizeof(v));
	for (int i = 0; i < 64; i++) {
		uint32_t s1 = ror(v[4], 6) ^ ror(v[4], 11) ^ ror(v[4], 25);
		uint32_t ch = (v[4] & v[5]) ^ (~v[4] & v[6]);
		uint32_t t1 = v[7] + s1 + ch + sha_k[i] + w[i];
		uint32_t s0 = ror(v[0], 2) ^ ror(v[0], 13) ^ ror(v[0], 22);
		uint32_t maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);

		memmove(v + 1, v, 7 * sizeof(uint32_t));
		v[4] += t1;
		v[0] = t1 + s0 + maj;
	}
	for (int i = 0; i < 8; i++)
		h[i] += v[i];
}

void life_sha256_hex(const char *data, size_t len, char hex[65])
{
	uint32_t h[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
			  0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
	unsigned char tail[128] = { 0 };
	size_t full = len / 64 * 64, rest = len - full, tlen;
	uint64_t bits = (uint64_t)len * 8;

	for (size_t i = 0; i < full; i += 64)
		sha_block(h, (const unsigned char *)data + i);
	memcpy(tail, data + full, rest);
	tail[rest] = 0x80;
	tlen = rest + 1 + 8 <= 64 ? 64 : 128;
	for (int i = 0; i < 8; i++)
		tail[tlen - 1 - i] = (unsigned char)(bits >> (8 * i));
	for (size_t i = 0; i < tlen; i += 64)
		sha_block(h, tail + i);
	for (int i = 0; i < 8; i++)
		snprintf(hex + 8 * i, 9, "%08x", h[i]);
}
