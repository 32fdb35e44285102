/* The README's configuration table, printed from the rows (table.h) the
 * way librdkafka prints CONFIGURATION.md from its property table. A test
 * compares it with README.md. */
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

/* The "type, default" column. */
static void print_default(FILE *out, const struct config_row *r)
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

static void print_row(FILE *out, const struct config_row *r)
{
	const char *name = strrchr(r->path, '.');

	if (r->type == CONFIG_SECTION || !r->doc)
		return;
	fprintf(out, "| `%s`", r->path);
	if (r->flags & CONFIG_FILE)
		fprintf(out, " / `%s_file`", name ? name + 1 : r->path);
	fputs(" | ", out);
	print_default(out, r);
	fprintf(out, " | %s", r->doc);
	if (r->type == CONFIG_ENUM || r->type == CONFIG_CHOICE) {
		fputs("; one of ", out);
		for (size_t i = 0; i < r->n_names; i++)
			fprintf(out, "%s`%s`", i ? ", " : "", r->names[i]);
	}
	if ((r->flags & CONFIG_FILE) && (r->flags & CONFIG_REQUIRED))
		fputs(" (exactly one of them)", out);
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

/* The core rows in order; each profile's settings follow the last core
 * row of their section. */
void config_reference(FILE *out)
{
	const struct profile_ops *ops;

	fputs("| key | type, default | meaning |\n|---|---|---|\n", out);
	for (size_t i = 0; i < config_n_rows; i++) {
		const struct config_row *r = &config_rows[i];
		bool last = i + 1 == config_n_rows ||
		            !same_section(r->path, config_rows[i + 1].path);

		print_row(out, r);
		if (!last || r->type == CONFIG_SECTION)
			continue;
		for (size_t k = 0; (ops = profile_at(k)) != NULL; k++)
			for (size_t j = 0; j < ops->n_settings; j++)
				if (same_section(ops->settings[j].path,
				                 r->path))
					print_row(out, &ops->settings[j]);
	}
}
