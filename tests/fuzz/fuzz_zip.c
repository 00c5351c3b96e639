/* libFuzzer entry point for the zip reader behind wheels: reading must end or fail, never
 * crash, leak or hang. */
#include "fuzz_unarchive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_unarchive(data, size, "fuzz-1.0-py3-none-any.whl", UNARCHIVE_ZIP);
}
