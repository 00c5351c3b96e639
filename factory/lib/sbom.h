/* sbom.h - the bill of materials of one build (bom.h) as the documents other tools read:
 *
 *   sbom_spdx        SPDX 2.3 JSON. The image is the package the document describes; it is a
 *                    DESCENDANT_OF the base (the base's layers are in it unchanged) and
 *                    CONTAINS one package per layer factory made (SPDXRef-Layer-<index in
 *                    bom.layers>), each of which CONTAINS its components. JARs, wheels, the
 *                    runtime and recipe files are packages with filesAnalyzed false (an SPDX
 *                    file entry would need a SHA-1 the bom does not have for every file).
 *   sbom_cyclonedx   CycloneDX 1.6 JSON. The image is metadata.component; the base and every
 *                    component are components, each naming its layer in the properties
 *                    factory:layer (digest) and factory:layer.content ("connectors") and its
 *                    place in the image in evidence.occurrences; the image dependsOn all of
 *                    them.
 *   sbom_provenance  an in-toto Statement v1 with a SLSA provenance v1 predicate: the image and
 *                    the rendered manifests as subjects, the recipe and lock as external
 *                    parameters, the base and every component as resolved dependencies.
 *
 * Each render is a pure function of the bom, so the same build gives the same bytes: keys
 * sorted, two-space indentation, a final newline; every timestamp is bom->epoch in RFC 3339
 * UTC ("2023-11-14T22:13:20Z"); the SPDX namespace and the CycloneDX serial number are derived
 * from sha256("<image manifest digest>\n<recipe sha256>") rather than drawn at random (the
 * serial number is those bytes shaped as an RFC 4122 version 5 UUID). Nothing names the
 * machine the build ran on: the recipe and lock appear by file name, a local base layout or
 * archive by its last path element, and file:// download URLs (a local Maven repository) are
 * left out.
 *
 * Package URLs follow the purl specification (ECMA-427): pkg:maven/<group>/<artifact>@<version>
 * with classifier and type qualifiers when the coordinate has them, pkg:pypi/<PEP 503 name>,
 * pkg:oci/<repository's last element>@sha256:<hex>?repository_url=<registry/repository>;
 * everything but letters, digits, ".-_~" and ":" is percent-encoded, qualifiers are sorted.
 *
 * The renders cannot fail (memory exhaustion aborts): they return a malloc'd NUL-terminated
 * string and store its length in *size.
 */
#ifndef FACTORY_SBOM_H
#define FACTORY_SBOM_H

#include <stddef.h>

#include "bom.h"

char *sbom_spdx(const struct bom *bom, size_t *size);
char *sbom_cyclonedx(const struct bom *bom, size_t *size);
char *sbom_provenance(const struct bom *bom, size_t *size);

/* The package URL of a Maven or wheel component, computed from its coordinate (what
 * bom_component.purl should hold); NULL for the runtime and files, which have no package
 * type. The caller frees it. */
char *sbom_component_purl(const struct bom_component *c);

#endif
