/* scaffold.h - the files `factory init` writes: a commented starter recipe, or a recipe
 * imported from a hand-written FlinkDeployment (and the ConfigMap holding its scripts).
 *
 * Everything is computed first and written afterwards, so a refusal (a file that exists)
 * leaves the directory as it was. */
#ifndef FACTORY_SCAFFOLD_H
#define FACTORY_SCAFFOLD_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"
#include "error.h"

enum scaffold_kind { SCAFFOLD_PYFLINK, SCAFFOLD_JAVA };

struct scaffold_file {
	char *path; /* relative to the directory: "recipe.yaml", "jobs/main.py" */
	char *content;
	size_t size;
	bool optional; /* factory.yaml: kept when one exists, never an error */
	bool written;  /* set by scaffold_write */
};

/* Something of the FlinkDeployment that has no recipe key. */
struct scaffold_dropped {
	char *path; /* "spec.podTemplate.spec.tolerations" */
	int line;
};

struct scaffold {
	struct scaffold_file *files;
	size_t file_count;
	struct scaffold_dropped *dropped; /* scaffold_import: what the recipe cannot say */
	size_t dropped_count;
	char **notes; /* scaffold_import: what the user should know about the recipe */
	size_t note_count;
	char *name;   /* the application's name */
};

/* A starter recipe (and for SCAFFOLD_PYFLINK jobs/main.py) and a factory.yaml; `name` is the
 * application's name, or NULL to derive it from `dir`. */
int scaffold_starter(struct scaffold *s, const char *dir, const char *name, enum scaffold_kind kind,
		     struct error *err);

/* A recipe equivalent to the FlinkDeployment at `deployment`; `scripts` (may be NULL) is the
 * ConfigMap whose data holds the PyFlink scripts the job runs. Problems with the inputs go
 * to `diags`. */
int scaffold_import(struct scaffold *s, const char *deployment, const char *scripts, struct diag_list *diags,
		    struct error *err);

/* Writes the files under `dir` (created if needed). Without `force` a file that exists is an
 * error naming it and nothing is written; an optional file that exists is kept either way. */
int scaffold_write(struct scaffold *s, const char *dir, bool force, struct error *err);

void scaffold_free(struct scaffold *s);

#endif
