/* config.h: a file or buffer -> struct config. The YAML tree
 * (yamltree.c), the values (values.c) and the keys (table.c walking the
 * rows of schema.c and of each profile) each do their part; this file
 * puts them in order and hands back the problems. */
#include "config/config.h"

#include "config/diag.h"
#include "config/table.h"
#include "config/values.h"
#include "config/yamltree.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONFIG_MAX_FILE (1024 * 1024)

int config_load_buffer(const char *name, const char *buf, size_t len,
                       struct config *cfg, struct config_errors *errs)
{
	struct config c;
	struct diag d;
	struct ytree t;
	size_t root;
	int rc;

	memset(&c, 0, sizeof(c));
	memset(&d, 0, sizeof(d));
	memset(&t, 0, sizeof(t));
	memset(cfg, 0, sizeof(*cfg));
	if (errs)
		memset(errs, 0, sizeof(*errs));
	config_table_defaults(&c);
	if (!buf)
		buf = ""; /* libyaml asserts on NULL even for len 0 */
	if (len > CONFIG_MAX_FILE) {
		diag_at(&d, 0, 0, "cannot read '%s': %s",
		        name ? name : "(buffer)", strerror(EFBIG));
		rc = -EFBIG;
	} else {
		if (ytree_build(&t, &d, buf, len, &root) == 0)
			config_table_load(&t, root, &c);
		if (d.errs.n == 0 && !d.oom && config_table_finish(&c))
			d.oom = true;
		rc = d.oom ? -ENOMEM : d.errs.n ? -EINVAL : 0;
	}
	diag_finish(&d);
	ytree_free(&t);
	if (rc == 0)
		*cfg = c;
	else
		config_done(&c);
	if (errs)
		*errs = d.errs;
	else
		config_errors_done(&d.errs);
	return rc;
}

int config_load(const char *path, struct config *cfg,
                struct config_errors *errs)
{
	struct diag d;
	char *buf;
	size_t len;
	int rc;

	rc = value_read_file(path, CONFIG_MAX_FILE, &buf, &len);
	if (rc == 0) {
		rc = config_load_buffer(path, buf, len, cfg, errs);
		free(buf);
		return rc;
	}
	/* The same shape of result as a parse: one error, no place. */
	memset(&d, 0, sizeof(d));
	memset(cfg, 0, sizeof(*cfg));
	diag_at(&d, 0, 0, "cannot read '%s': %s", path, strerror(-rc));
	if (errs)
		*errs = d.errs;
	else
		config_errors_done(&d.errs);
	return rc;
}

void config_done(struct config *cfg)
{
	if (!cfg)
		return;
	config_table_free(cfg);
	memset(cfg, 0, sizeof(*cfg));
}

int config_load_report(const char *path, struct config *cfg)
{
	struct config_errors errs = {0};
	int rc = config_load(path, cfg, &errs);

	for (size_t i = 0; i < errs.n; i++) {
		if (errs.v[i].line > 0)
			fprintf(stderr, "%s:%d:%d: %s\n", path, errs.v[i].line,
			        errs.v[i].col, errs.v[i].msg);
		else
			fprintf(stderr, "%s: %s\n", path, errs.v[i].msg);
	}
	config_errors_done(&errs);
	return rc;
}
