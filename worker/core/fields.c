#include "core/fields.h"

#include <string.h>

#define CUST    FIELD_CUSTOMER
#define CONTACT FIELD_CONTACT
#define ADDRESS FIELD_ADDRESS
#define STR     FIELD_STRING
#define ENUM    FIELD_ENUM
#define LIST    FIELD_LIST

/* path, group, kind, multi, values */
const struct field field_table[] = {
    {"name", CUST, STR, false, {NULL, NULL}},
    {"number", CUST, STR, false, {NULL, NULL}},
    {"external_id", CUST, STR, false, {NULL, NULL}},
    {"fax", CUST, STR, false, {NULL, NULL}},
    {"company", CUST, STR, false, {NULL, NULL}},
    {"language", CUST, STR, false, {NULL, NULL}},
    {"time_zone", CUST, STR, false, {NULL, NULL}},
    {"notes", CUST, STR, false, {NULL, NULL}},
    {"type", CUST, ENUM, false, {"customer", "broker"}},
    {"status", CUST, ENUM, false, {"active", "inactive"}},
    {"email", CUST, LIST, true, {NULL, NULL}},
    {"phone", CUST, LIST, true, {NULL, NULL}},
    {"mobile", CUST, LIST, false, {NULL, NULL}},
    {"contact.first_name", CONTACT, STR, false, {NULL, NULL}},
    {"contact.last_name", CONTACT, STR, false, {NULL, NULL}},
    {"contact.name", CONTACT, STR, false, {NULL, NULL}},
    {"billing_address.street", ADDRESS, LIST, true, {NULL, NULL}},
    {"billing_address.city", ADDRESS, STR, false, {NULL, NULL}},
    {"billing_address.state", ADDRESS, STR, false, {NULL, NULL}},
    {"billing_address.state_code", ADDRESS, STR, false, {NULL, NULL}},
    {"billing_address.postal_code", ADDRESS, STR, false, {NULL, NULL}},
    {"billing_address.country", ADDRESS, STR, false, {NULL, NULL}},
    {"billing_address.country_code", ADDRESS, STR, false, {NULL, NULL}},
};

const size_t field_count = sizeof(field_table) / sizeof(field_table[0]);

const struct field *field_find(const char *path, size_t len)
{
	for (size_t i = 0; i < field_count; i++)
		if (strlen(field_table[i].path) == len &&
		    memcmp(field_table[i].path, path, len) == 0)
			return &field_table[i];
	return NULL;
}

const char *field_member(const struct field *f)
{
	const char *dot = strrchr(f->path, '.');

	return dot ? dot + 1 : f->path;
}

const char *field_group_member(enum field_group g)
{
	static const char *const members[FIELD_GROUP_MAX] = {
	    [FIELD_CUSTOMER] = NULL,
	    [FIELD_CONTACT] = "contact",
	    [FIELD_ADDRESS] = "billing_address",
	};

	return (unsigned)g < FIELD_GROUP_MAX ? members[g] : NULL;
}
