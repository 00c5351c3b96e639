#include "bom.h"

#include <stdlib.h>
#include <string.h>

void bom_clear(struct bom *bom)
{
	for (size_t i = 0; i < bom->component_count; i++) {
		struct bom_component *c = &bom->components[i];
		free(c->name);
		free(c->group);
		free(c->version);
		free(c->classifier);
		free(c->extension);
		free(c->purl);
		free(c->file_name);
		free(c->path);
		free(c->download_url);
		free(c->repository_url);
	}
	for (size_t i = 0; i < bom->layer_count; i++) {
		free(bom->layers[i].media_type);
		free(bom->layers[i].content);
	}
	for (size_t i = 0; i < bom->file_count; i++)
		free(bom->files[i].path);
	for (size_t i = 0; i < bom->tag_count; i++)
		free(bom->tags[i]);
	free(bom->components);
	free(bom->layers);
	free(bom->files);
	free(bom->tags);
	free(bom->app);
	free(bom->namespace);
	free(bom->recipe_path);
	free(bom->lock_path);
	free(bom->base_reference);
	free(bom->base_name);
	free(bom->platform);
	free(bom->image_name);
	free(bom->factory_version);
	memset(bom, 0, sizeof(*bom));
}
