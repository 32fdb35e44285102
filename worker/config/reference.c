/* The README's configuration table, printed from the rows (table.h) the
 * way librdkafka prints CONFIGURATION.md from its property table. A test
 * compares it with README.md; custsync.yaml(5) is made from the same
 * cells (packaging/mkman.c). */
#include "config/table.h"

#include "profiles/profile.h"

#include <string.h>

static const char *type_name(enum config_type t)
{
	switch (t) {
	case CONFIG_INT:
		return "integer";
	case CONFIG_BOOL:
		return "boolean";
	case CONFIG_LIST:
		return "list";
	case CONFIG_PROPERTIES:
	case CONFIG_HEADERS:
	case CONFIG_MAPPING:
		return "map";
	default:
		return "string";
	}
}

void config_reference_default(FILE *out, const struct config_row *r)
{
	if ((r->flags & CONFIG_REQUIRED) && !(r->flags & CONFIG_FILE)) {
		fprintf(out, "%s, required", type_name(r->type));
		return;
	}
	if (r->doc_default) {
		fputs(r->doc_default, out);
		return;
	}
	switch (r->type) {
	case CONFIG_INT:
		fprintf(out, "%ld", r->def);
		return;
	case CONFIG_BOOL:
		fputs(r->def ? "true" : "false", out);
		return;
	case CONFIG_ENUM:
		if (r->def >= 0 && (size_t)r->def < r->n_names)
			fprintf(out, "`%s`", r->names[r->def]);
		return;
	case CONFIG_LIST:
		fputs("list, `[]`", out);
		return;
	case CONFIG_PROPERTIES:
	case CONFIG_HEADERS:
		fputs("map, `{}`", out);
		return;
	case CONFIG_MAPPING:
		fputs("map, none", out);
		return;
	default:
		break;
	}
	if (r->def_str)
		fprintf(out, "`%s`", r->def_str);
	else if (r->def_from)
		fprintf(out, "`%s`", r->def_from);
	else
		fputs(type_name(r->type), out);
}

void config_reference_key(FILE *out, const struct config_row *r)
{
	const char *name = strrchr(r->path, '.');

	fprintf(out, "`%s`", r->path);
	if (r->flags & CONFIG_FILE)
		fprintf(out, " / `%s_file`", name ? name + 1 : r->path);
}

void config_reference_meaning(FILE *out, const struct config_row *r)
{
	fputs(r->doc, out);
	if (r->type == CONFIG_ENUM || r->type == CONFIG_CHOICE) {
		fputs("; one of ", out);
		for (size_t i = 0; i < r->n_names; i++)
			fprintf(out, "%s`%s`", i ? ", " : "", r->names[i]);
	}
	if ((r->flags & CONFIG_FILE) && (r->flags & CONFIG_REQUIRED))
		fputs(" (exactly one of them)", out);
}

static void print_row(void *arg, const struct config_row *r)
{
	FILE *out = arg;

	fputs("| ", out);
	config_reference_key(out, r);
	fputs(" | ", out);
	config_reference_default(out, r);
	fputs(" | ", out);
	config_reference_meaning(out, r);
	fputs(" |\n", out);
}

/* Does path's section ("target" of "target.language") equal sec's? */
static bool same_section(const char *path, const char *other)
{
	const char *a = strrchr(path, '.'), *b = strrchr(other, '.');
	size_t na = a ? (size_t)(a - path) : 0,
	       nb = b ? (size_t)(b - other) : 0;

	return na == nb && strncmp(path, other, na) == 0;
}

static void each_row(const struct config_row *r,
                     void (*fn)(void *arg, const struct config_row *r),
                     void *arg)
{
	if (r->type != CONFIG_SECTION && r->doc)
		fn(arg, r);
}

/* The core rows in order; each profile's settings follow the last core
 * row of their section. */
void config_reference_each(void (*fn)(void *arg, const struct config_row *r),
                           void *arg)
{
	const struct profile_ops *ops;

	for (size_t i = 0; i < config_n_rows; i++) {
		const struct config_row *r = &config_rows[i];
		bool last = i + 1 == config_n_rows ||
		            !same_section(r->path, config_rows[i + 1].path);

		each_row(r, fn, arg);
		if (!last || r->type == CONFIG_SECTION)
			continue;
		for (size_t k = 0; (ops = profile_at(k)) != NULL; k++)
			for (size_t j = 0; j < ops->n_settings; j++)
				if (same_section(ops->settings[j].path,
				                 r->path))
					each_row(&ops->settings[j], fn, arg);
	}
}

void config_reference(FILE *out)
{
	fputs("| key | type, default | meaning |\n|---|---|---|\n", out);
	config_reference_each(print_row, out);
}
