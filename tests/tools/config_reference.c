/* The README's configuration table from the config rows.
 *
 *   config_reference               print the table
 *   config_reference --check FILE  exit 1 when FILE's table (between the
 *                                  config-table markers) differs
 *   config_reference --update FILE rewrite FILE's table in place */
#include "config/table.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BEGIN "<!-- config-table:begin -->\n"
#define END   "<!-- config-table:end -->"

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		if (buf) {
			buf[n] = '\0';
			*len = (size_t)n;
		}
	}
	fclose(f);
	return buf;
}

int main(int argc, char **argv)
{
	char *table = NULL, *doc, *begin, *end;
	size_t table_len = 0, doc_len;
	FILE *mem;
	int rc = 0;

	if (argc == 1) {
		config_reference(stdout);
		return 0;
	}
	if (argc != 3 || (strcmp(argv[1], "--check") != 0 &&
	                  strcmp(argv[1], "--update") != 0)) {
		fprintf(stderr, "usage: %s [--check|--update README.md]\n",
		        argv[0]);
		return 2;
	}
	doc = slurp(argv[2], &doc_len);
	begin = doc ? strstr(doc, BEGIN) : NULL;
	end = begin ? strstr(begin, END) : NULL;
	if (!end) {
		fprintf(stderr, "%s: no %s...%s block\n", argv[2],
		        "<!-- config-table:begin -->", END);
		free(doc);
		return 2;
	}
	begin += strlen(BEGIN);
	mem = open_memstream(&table, &table_len);
	if (!mem)
		return 2;
	config_reference(mem);
	fclose(mem);
	if (strcmp(argv[1], "--check") == 0) {
		if ((size_t)(end - begin) != table_len ||
		    memcmp(begin, table, table_len) != 0) {
			fprintf(stderr,
			        "%s: the configuration table differs from the "
			        "config rows; run config_reference --update "
			        "%s. It should read:\n%s",
			        argv[2], argv[2], table);
			rc = 1;
		}
	} else {
		size_t head = (size_t)(begin - doc);
		FILE *f = fopen(argv[2], "wb");
		bool ok = f && fwrite(doc, 1, head, f) == head &&
		          fwrite(table, 1, table_len, f) == table_len &&
		          fputs(end, f) >= 0;

		if (f && fclose(f) != 0)
			ok = false;
		if (!ok) {
			perror(argv[2]);
			rc = 2;
		}
	}
	free(table);
	free(doc);
	return rc;
}
