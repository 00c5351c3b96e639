/* fuzz_pypi_page.h - the check both simple-index page harnesses make: any page must end in a
 * file list or an error, never in a crash, a leak or undefined behaviour; every file listed
 * has a name and an absolute http(s) URL. Included by fuzz_pypi_html.c and
 * fuzz_pypi_json.c; not a library header. */
#ifndef FACTORY_FUZZ_PYPI_PAGE_H
#define FACTORY_FUZZ_PYPI_PAGE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "error.h"
#include "pypi.h"

typedef int (*fuzz_pypi_parser)(const char *page, size_t size, const char *page_url, struct pypi_file_list *out,
				struct error *err);

static int fuzz_pypi_page(fuzz_pypi_parser parse, const uint8_t *data, size_t size)
{
	struct pypi_file_list list = {0};
	struct error err = {0};

	if (parse((const char *)data, size, "https://pypi.org/simple/example-project/", &list, &err) == 0) {
		for (size_t i = 0; i < list.count; i++) {
			const char *url = list.items[i].url;
			if (!list.items[i].filename || !url ||
			    (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0))
				__builtin_trap();
		}
	}
	pypi_file_list_clear(&list);
	return 0;
}

#endif
