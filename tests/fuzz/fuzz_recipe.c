/* libFuzzer entry point for the recipe parser and validator: any input must end in a recipe
 * or in diagnostics, never in a crash, a leak, undefined behaviour or a hang. `make fuzz`. */
#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "recipe.h"
#include "render.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diag_list diags;
	struct error err = {0};
	struct recipe *recipe = NULL;

	diag_list_init(&diags);
	if (recipe_load_buffer(&recipe, "fuzz.yaml", (const char *)data, size, NULL, &render_rules, &diags, &err) == 0) {
		/* A recipe that validates must also render. */
		struct render_output *out = NULL;
		if (render_recipe(&out, recipe, NULL, &diags, &err) != 0)
			__builtin_trap();
		render_output_free(out);
	}
	diag_list_sort(&diags);
	recipe_free(recipe);
	diag_list_free(&diags);
	return 0;
}
