/* The canonical customer's known fields, once: event.c checks their
 * types from this table and the config's mapping: section takes its keys
 * from it. */
#ifndef CUSTSYNC_FIELDS_H
#define CUSTSYNC_FIELDS_H

#include <stdbool.h>
#include <stddef.h>

/* The object a field is a member of. An address's fields are also the
 * fields of each delivery address. */
enum field_group {
	FIELD_CUSTOMER, /* customer.NAME */
	FIELD_CONTACT,  /* customer.contact.NAME */
	FIELD_ADDRESS,  /* customer.billing_address.NAME */
	FIELD_GROUP_MAX
};

enum field_kind {
	FIELD_STRING, /* a string or null */
	FIELD_ENUM,   /* one of values[], or null */
	FIELD_LIST,   /* a list of strings (one string: a list of one) */
	FIELD_KIND_MAX
};

struct field {
	const char *path; /* canonical path, e.g. "contact.first_name" */
	enum field_group group;
	enum field_kind kind;
	/* mapping: several pointers may feed it (a YAML list); mobile is
	 * a list fed by one, as an ERP keeps one mobile column. */
	bool multi;
	const char *values[2]; /* FIELD_ENUM */
};

/* Every field, in the order event.c checks a group's members (an
 * event's first problem is the one reported). */
extern const struct field field_table[];
extern const size_t field_count;

/* The field at path ("billing_address.city"), or NULL. len: path's
 * length (path need not be NUL-terminated). */
const struct field *field_find(const char *path, size_t len);

/* The member of its group's object that holds f ("first_name"). */
const char *field_member(const struct field *f);

/* The object member that holds a group ("contact"), NULL for the
 * customer itself. */
const char *field_group_member(enum field_group g);

#endif
