/* libFuzzer entry point for the simple-index project page parser (PEP 691 JSON):
 * any page must end in a file list or an error, never in a crash, a leak or undefined
 * behaviour; every file listed has an absolute http(s) URL. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "error.h"
#include "pypi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pypi_file_list list = {0};
	struct error err = {0};

	if (pypi_parse_simple_json((const char *)data, size, "https://pypi.org/simple/example-project/", &list,
				    &err) == 0) {
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
