#include "core/request.h"

#include <stdlib.h>
#include <string.h>

void api_request_done(struct api_request *r)
{
	free(r->path);
	free(r->body);
	free(r->if_match);
	memset(r, 0, sizeof(*r));
}

const char *http_method_str(enum http_method m)
{
	static const char *const names[] = {"GET", "POST", "PUT", "PATCH",
	                                    "DELETE"};

	return m < HTTP_METHOD_MAX ? names[m] : "?";
}
