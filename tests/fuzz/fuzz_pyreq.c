/* libFuzzer entry point for the Python lock readers (pyreq_load): the first byte picks the
 * format (even: requirements.txt, odd: pylock.toml), the rest is the file. Any input must end
 * in a set or in diagnostics, never in a crash, a leak, undefined behaviour or a hang. */
#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "error.h"
#include "pyreq.h"

#include "fuzz_tempfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct pyreq_env env = {
	.python_version = "3.11",
	.python_full_version = "3.11.9",
	.platform_machine = "x86_64",
	.sys_platform = "linux",
	.platform_system = "Linux",
	.os_name = "posix",
	.implementation_name = "cpython",
	.platform_python_implementation = "CPython",
	.implementation_version = "3.11.9",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pyreq_set set = {0};
	struct diag_list diags;
	struct error err = {0};
	const char *path;

	if (size == 0)
		return 0;
	path = fuzz_write_input(data[0] & 1 ? "pylock.toml" : "requirements.txt", data + 1, size - 1);
	diag_list_init(&diags);
	if (pyreq_load(path, &env, &set, &diags, &err) == 0) {
		/* Success must come without errors and with every pin filled in. */
		if (diag_list_has_errors(&diags))
			__builtin_trap();
		for (size_t i = 0; i < set.count; i++)
			if (!set.items[i].name || !set.items[i].version)
				__builtin_trap();
	}
	diag_list_sort(&diags);
	pyreq_set_clear(&set);
	diag_list_free(&diags);
	return 0;
}
