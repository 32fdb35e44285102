#include "config/kprops.h"

#include "config/diag.h"
#include "config/yamltree.h"

#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <string.h>
#include <unistd.h>

const char *kprops_file_base(const char *key, char *base, size_t size)
{
	size_t n = strlen(key);

	if (n <= 5 || strcmp(key + n - 5, "_file") != 0 || n - 5 >= size)
		return NULL;
	memcpy(base, key, n - 5);
	base[n - 5] = '\0';
	return base;
}

/* librdkafka opens these only when a client is created (ssl.ca.location
 * only with SSL on), i.e. at run, with no place to point at. Checking
 * them here makes no connection, unlike creating a client would risk. */
static const char *const file_props[] = {
    "ssl.ca.location",     "ssl.certificate.location",
    "ssl.key.location",    "ssl.keystore.location",
    "ssl.crl.location",    "sasl.kerberos.keytab",
    "ssl.engine.location",
};

static bool is_file_prop(const char *key)
{
	for (size_t i = 0; i < sizeof(file_props) / sizeof(file_props[0]); i++)
		if (strcmp(key, file_props[i]) == 0)
			return true;
	return false;
}

int kprops_check(struct ytree *t, size_t node, const char *path,
                 struct rd_kafka_conf_s *probe, const char *key,
                 const char *value, bool secret)
{
	char err[512], b[512];

	if (rd_kafka_conf_set(probe, key, value, err, sizeof(err)) !=
	    RD_KAFKA_CONF_OK) {
		/* librdkafka's message may quote the value. */
		if (secret)
			ytree_err(t, node,
			          "%s: librdkafka refuses the file's content "
			          "for %s",
			          path, key);
		else
			ytree_err(t, node, "%s: %s", path,
			          diag_shown(err, b, sizeof(b)));
		return -1;
	}
	/* "probe" asks librdkafka to look in the usual CA places. */
	if (is_file_prop(key) &&
	    !(strcmp(key, "ssl.ca.location") == 0 &&
	      strcmp(value, "probe") == 0) &&
	    access(value, R_OK) != 0) {
		ytree_err(t, node, "%s: cannot read '%s': %s", path,
		          diag_shown(value, b, sizeof(b)), strerror(errno));
		return -1;
	}
	return 0;
}
