/* libFuzzer entry point for the tar reader behind image layers and base facts (any
 * compression libarchive reads): reading must end or fail, never crash, leak or hang. */
#include "fuzz_unarchive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_unarchive(data, size, "layer.tar", UNARCHIVE_TAR);
}
