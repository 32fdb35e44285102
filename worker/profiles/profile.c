#include "profiles/profile.h"

#include <stdio.h>
#include <string.h>

extern const struct profile_ops alvys_profile;
/* Weak while the profiles land one by one: a missing one is simply not
 * offered. */
extern const struct profile_ops wms_profile __attribute__((weak));
extern const struct profile_ops portal_profile __attribute__((weak));
extern const struct profile_ops engage_profile __attribute__((weak));

static const struct profile_ops *const profiles[] = {
    &alvys_profile,
    &wms_profile,
    &portal_profile,
    &engage_profile,
};

#define N_PROFILES (sizeof(profiles) / sizeof(profiles[0]))

const struct profile_ops *profile_find(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < N_PROFILES; i++)
		if (profiles[i] && strcmp(profiles[i]->name, name) == 0)
			return profiles[i];
	return NULL;
}

const struct profile_ops *profile_at(size_t i)
{
	for (size_t k = 0; k < N_PROFILES; k++) {
		if (!profiles[k])
			continue;
		if (i == 0)
			return profiles[k];
		i--;
	}
	return NULL;
}

const char *profile_names(void)
{
	static char names[128];

	if (names[0])
		return names;
	for (size_t i = 0; i < N_PROFILES; i++) {
		size_t used = strlen(names);

		if (profiles[i])
			snprintf(names + used, sizeof(names) - used, "%s%s",
			         used ? ", " : "", profiles[i]->name);
	}
	return names;
}
