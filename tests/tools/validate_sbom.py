#!/usr/bin/python3
"""Validate an SBOM or provenance document produced by factory.

usage: validate_sbom.py spdx FILE
       validate_sbom.py cyclonedx FILE
       validate_sbom.py provenance FILE

  spdx        SPDX 2.3 JSON against tests/schemas/sbom/spdx/spdx-2.3.schema.json
              (draft 2019-09); also: SPDXIDs are unique and every relationship and
              documentDescribes entry names an element of the document (or NONE,
              NOASSERTION, or a declared DocumentRef-).
  cyclonedx   CycloneDX 1.6 JSON against tests/schemas/sbom/cyclonedx/bom-1.6.schema.json
              (draft-07; its references to spdx.schema.json and jsf-0.82.schema.json are
              the copies beside it, never fetched); also: serialNumber is an RFC 4122
              urn:uuid, bom-refs are unique and every dependency names one.
  provenance  an in-toto Statement v1 with a SLSA provenance v1 predicate: the fields
              both specifications require, sha256 digests of 64 lowercase hex digits,
              RFC 3339 timestamps (no schema is published for these).

Output: one line per error, "FILE: where: message". Exit status 0 = valid (nothing
printed), 1 = errors found, 2 = usage error or missing dependency.

Needs python3-jsonschema (Debian's 4.10 uses RefResolver; a newer jsonschema with
the referencing package uses a Registry).
"""
import json
import os
import re
import sys

try:
    import jsonschema
except ImportError:
    sys.stderr.write('validate_sbom.py: python3-jsonschema is required '
                     '(Debian: apt-get install python3-jsonschema)\n')
    sys.exit(2)

SCHEMAS = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'schemas', 'sbom')
UUID_URN = re.compile(r'^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$')
SHA256 = re.compile(r'^[0-9a-f]{64}$')
RFC3339 = re.compile(r'^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$')


def load_schema(*parts):
    with open(os.path.join(SCHEMAS, *parts), encoding='utf-8') as f:
        return json.load(f)


def where(path):
    return '/'.join(str(p) for p in path) or '(document)'


def schema_errors(validator_class, schema, doc, extra):
    """The schema's errors; `extra` are schemas the main one refers to, by their $id."""
    kwargs = {'format_checker': validator_class.FORMAT_CHECKER}
    try:
        from referencing import Registry, Resource
        registry = Registry().with_resources(
            (s['$id'], Resource.from_contents(s)) for s in extra)
        kwargs['registry'] = registry
    except ImportError:
        kwargs['resolver'] = jsonschema.RefResolver.from_schema(
            schema, store={s['$id']: s for s in extra})
    validator = validator_class(schema, **kwargs)
    return ['%s: %s' % (where(e.absolute_path), e.message)
            for e in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))]


def check_spdx(doc):
    errors = schema_errors(jsonschema.Draft201909Validator, load_schema('spdx', 'spdx-2.3.schema.json'),
                           doc, [])
    if not isinstance(doc, dict):
        return errors
    ids = [doc.get('SPDXID')]
    for key in ('packages', 'files', 'snippets'):
        ids += [e.get('SPDXID') for e in doc.get(key) or [] if isinstance(e, dict)]
    seen = set()
    for i in ids:
        if i in seen:
            errors.append('SPDXID %s: used twice' % i)
        seen.add(i)
    refs = {r.get('externalDocumentId') for r in doc.get('externalDocumentRefs') or [] if isinstance(r, dict)}

    def known(element):
        if element in seen or element in ('NONE', 'NOASSERTION'):
            return True
        return isinstance(element, str) and ':' in element and element.split(':', 1)[0] in refs

    for n, r in enumerate(doc.get('relationships') or []):
        if not isinstance(r, dict):
            continue
        for key in ('spdxElementId', 'relatedSpdxElement'):
            if key in r and not known(r[key]):
                errors.append('relationships/%d/%s: no element %s in the document' % (n, key, r[key]))
    for n, d in enumerate(doc.get('documentDescribes') or []):
        if not known(d):
            errors.append('documentDescribes/%d: no element %s in the document' % (n, d))
    return errors


def check_cyclonedx(doc):
    errors = schema_errors(jsonschema.Draft7Validator, load_schema('cyclonedx', 'bom-1.6.schema.json'), doc,
                           [load_schema('cyclonedx', 'spdx.schema.json'),
                            load_schema('cyclonedx', 'jsf-0.82.schema.json')])
    if not isinstance(doc, dict):
        return errors
    serial = doc.get('serialNumber')
    if not isinstance(serial, str) or not UUID_URN.match(serial):
        errors.append('serialNumber: %r is not urn:uuid:<RFC 4122 UUID>' % (serial,))
    refs = []

    def collect(component):
        if isinstance(component, dict):
            if 'bom-ref' in component:
                refs.append(component['bom-ref'])
            for c in component.get('components') or []:
                collect(c)

    collect((doc.get('metadata') or {}).get('component'))
    for c in doc.get('components') or []:
        collect(c)
    for r in set(r for r in refs if refs.count(r) > 1):
        errors.append('bom-ref %s: used twice' % r)
    for n, d in enumerate(doc.get('dependencies') or []):
        if not isinstance(d, dict):
            continue
        for m, ref in enumerate([d.get('ref')] + list(d.get('dependsOn') or [])):
            if ref not in refs:
                errors.append('dependencies/%d%s: no component with bom-ref %s' %
                              (n, '/dependsOn/%d' % (m - 1) if m else '/ref', ref))
    return errors


def check_digests(path, digest, errors):
    if not isinstance(digest, dict) or not digest:
        errors.append('%s: a digest needs at least one algorithm' % path)
        return
    for alg, value in digest.items():
        if not isinstance(value, str) or not re.match(r'^[0-9a-f]+$', value):
            errors.append('%s/%s: not lowercase hex' % (path, alg))
    if 'sha256' in digest and not SHA256.match(str(digest['sha256'])):
        errors.append('%s/sha256: not 64 hex digits' % path)


def check_provenance(doc):
    errors = []
    if not isinstance(doc, dict):
        return ['(document): not an object']
    if doc.get('_type') != 'https://in-toto.io/Statement/v1':
        errors.append('_type: not https://in-toto.io/Statement/v1')
    if doc.get('predicateType') != 'https://slsa.dev/provenance/v1':
        errors.append('predicateType: not https://slsa.dev/provenance/v1')
    subjects = doc.get('subject')
    if not isinstance(subjects, list) or not subjects:
        errors.append('subject: a non-empty list is required')
        subjects = []
    for n, s in enumerate(subjects):
        if not isinstance(s, dict) or not isinstance(s.get('name'), str):
            errors.append('subject/%d: needs a name' % n)
            continue
        check_digests('subject/%d/digest' % n, s.get('digest'), errors)
    predicate = doc.get('predicate') if isinstance(doc.get('predicate'), dict) else {}
    build = predicate.get('buildDefinition') if isinstance(predicate.get('buildDefinition'), dict) else {}
    run = predicate.get('runDetails') if isinstance(predicate.get('runDetails'), dict) else {}
    if not isinstance(build.get('buildType'), str):
        errors.append('predicate/buildDefinition/buildType: required')
    if not isinstance(build.get('externalParameters'), dict):
        errors.append('predicate/buildDefinition/externalParameters: an object is required')
    for n, d in enumerate(build.get('resolvedDependencies') or []):
        path = 'predicate/buildDefinition/resolvedDependencies/%d' % n
        if not isinstance(d, dict) or not (d.get('uri') or d.get('digest') or d.get('content')):
            errors.append('%s: needs a uri, digest or content' % path)
        elif 'digest' in d:
            check_digests(path + '/digest', d['digest'], errors)
    builder = run.get('builder') if isinstance(run.get('builder'), dict) else {}
    if not isinstance(builder.get('id'), str):
        errors.append('predicate/runDetails/builder/id: required')
    for key, value in (run.get('metadata') or {}).items():
        if key in ('startedOn', 'finishedOn') and not (isinstance(value, str) and RFC3339.match(value)):
            errors.append('predicate/runDetails/metadata/%s: not an RFC 3339 timestamp' % key)
    return errors


CHECKS = {'spdx': check_spdx, 'cyclonedx': check_cyclonedx, 'provenance': check_provenance}


def main(argv):
    if len(argv) != 3 or argv[1] not in CHECKS:
        sys.stderr.write(__doc__.split('\n\n')[1] + '\n')
        return 2
    name = argv[2]
    try:
        with open(name, encoding='utf-8') as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        print('%s: %s' % (name, e))
        return 1
    errors = CHECKS[argv[1]](doc)
    for e in errors:
        print('%s: %s' % (name, e))
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
