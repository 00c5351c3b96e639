/* libFuzzer entry point for the simple-index project page parser (PEP 691 JSON); the check is
 * fuzz_pypi_page.h's. */
#include "fuzz_pypi_page.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_pypi_page(pypi_parse_simple_json, data, size);
}
