#!/usr/bin/python3
"""Validate Kubernetes manifests produced by factory.

usage: validate_k8s.py --schema-dir DIR [--strict] FILE.yaml...

Every file may hold several YAML documents. Each non-empty document must be
a mapping with apiVersion, kind and metadata.name and be of a known kind:

  FlinkDeployment, FlinkSessionJob   JSON Schema (Draft 7) from DIR:
                                     flinkdeployment-v1beta1[-strict].json,
                                     flinksessionjob-v1beta1[-strict].json
  ConfigMap, Service, ServiceAccount, PersistentVolumeClaim (v1),
  Ingress (networking.k8s.io/v1), Role, RoleBinding
  (rbac.authorization.k8s.io/v1), PodMonitor, ServiceMonitor
  (monitoring.coreos.com/v1)         the fields Kubernetes / the Prometheus
                                     operator require, checked below

FlinkDeployment names (and FlinkSessionJob spec.deploymentName) must also
pass the operator webhook's rule [a-z]([-a-z0-9]{0,43}[a-z0-9])?.

--strict selects the strict schemas (unknown fields are errors, like
`kubectl apply --validate=strict`) and also rejects unknown top-level fields
of the core kinds. Duplicate mapping keys and duplicate objects (same kind,
namespace and name) within one file are errors in both modes.

Output: one line per error, "FILE: doc N (Kind/name): message" (N counts the
documents of the file from 1). Exit status 0 = valid (nothing printed),
1 = errors found, 2 = usage error or missing dependency.

The schema handling follows validate_manifest.py, which was written together
with the schemas in tests/schemas/ (see tests/schemas/README.md); unlike that
tool this one requires python3-jsonschema and has no fallback validator.
"""
import json
import os
import re
import sys

try:
    import yaml
except ImportError:
    sys.stderr.write('validate_k8s.py: python3-yaml is required '
                     '(Debian: apt-get install python3-yaml)\n')
    sys.exit(2)
try:
    import jsonschema
except ImportError:
    sys.stderr.write('validate_k8s.py: python3-jsonschema is required '
                     '(Debian: apt-get install python3-jsonschema)\n')
    sys.exit(2)

SCHEMA_KINDS = {
    'FlinkDeployment': 'flinkdeployment',
    'FlinkSessionJob': 'flinksessionjob',
}

DNS1123_LABEL = re.compile(r'^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')
DNS1123_SUBDOMAIN = re.compile(
    r'^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')
DNS1035_LABEL = re.compile(r'^[a-z]([-a-z0-9]*[a-z0-9])?$')
WILDCARD_DNS1123_SUBDOMAIN = re.compile(
    r'^\*\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')
QUALIFIED_NAME = re.compile(r'^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$')
LABEL_VALUE = re.compile(r'^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$')
CONFIG_KEY = re.compile(r'^[-._a-zA-Z0-9]+$')
IANA_SVC_NAME = re.compile(r'^[a-z0-9]([a-z0-9-]*[a-z0-9])?$')
QUANTITY = re.compile(
    r'^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+|[KMGTPE]i|[numkMGTPE])?$')
PROM_DURATION = re.compile(
    r'^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?'
    r'(([0-9]+)s)?(([0-9]+)ms)?)$')
FLINK_DEPLOYMENT_NAME = re.compile(r'^[a-z]([-a-z0-9]{0,43}[a-z0-9])?$')
BASE64 = re.compile(r'^[A-Za-z0-9+/]*={0,2}$')

MAX_CONFIGMAP_SIZE = 1024 * 1024
MAX_ANNOTATIONS_SIZE = 256 * 1024


class DuplicateKeyError(yaml.YAMLError):
    pass


class StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate mapping keys (kubectl does too)."""


def _construct_mapping(loader, node, deep=False):
    loader.flatten_mapping(node)
    seen = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            hash(key)
        except TypeError:
            continue
        if key in seen:
            raise DuplicateKeyError(
                'duplicate key %r (line %d and line %d)'
                % (key, seen[key] + 1, key_node.start_mark.line + 1))
        seen[key] = key_node.start_mark.line
    return yaml.SafeLoader.construct_mapping(loader, node, deep)


StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def is_str_list(v):
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


def short(v, limit=80):
    s = repr(v)
    return s if len(s) <= limit else s[:limit - 3] + '...'


class Checker:
    """Collects error messages for one document."""

    def __init__(self):
        self.errors = []

    def err(self, path, msg):
        self.errors.append('%s: %s' % (path, msg) if path else msg)

    # -------------------------------------------------------------- helpers

    def mapping(self, obj, key, path, required=True):
        """Returns obj[key] if it is a mapping, else reports and returns None."""
        p = '%s.%s' % (path, key) if path else key
        if key not in obj or obj[key] is None:
            if required:
                self.err(p, 'required field is missing')
            return None
        v = obj[key]
        if not isinstance(v, dict):
            self.err(p, 'must be a mapping, got %s' % short(v))
            return None
        return v

    def lst(self, obj, key, path, required=True, nonempty=False):
        p = '%s.%s' % (path, key) if path else key
        if key not in obj or obj[key] is None:
            if required:
                self.err(p, 'required field is missing')
            return None
        v = obj[key]
        if not isinstance(v, list):
            self.err(p, 'must be a list, got %s' % short(v))
            return None
        if nonempty and not v:
            self.err(p, 'must not be empty')
        return v

    def string(self, obj, key, path, required=True, pattern=None,
               maxlen=None, enum=None, what=None):
        p = '%s.%s' % (path, key) if path else key
        if key not in obj or obj[key] is None:
            if required:
                self.err(p, 'required field is missing')
            return None
        v = obj[key]
        if not isinstance(v, str):
            self.err(p, 'must be a string, got %s' % short(v))
            return None
        if required and v == '':
            self.err(p, 'must not be empty')
            return v
        if enum is not None and v not in enum:
            self.err(p, '%s is not one of %s' % (short(v), ', '.join(enum)))
        if maxlen is not None and len(v) > maxlen:
            self.err(p, 'must be at most %d characters (has %d)' % (maxlen, len(v)))
        if pattern is not None and v != '' and not pattern.match(v):
            self.err(p, '%s is not a valid %s' % (short(v), what or 'value'))
        return v

    def port_number(self, obj, key, path, required=True):
        p = '%s.%s' % (path, key)
        if key not in obj or obj[key] is None:
            if required:
                self.err(p, 'required field is missing')
            return
        v = obj[key]
        if not is_int(v):
            self.err(p, 'must be an integer, got %s' % short(v))
        elif not 1 <= v <= 65535:
            self.err(p, 'must be between 1 and 65535, got %d' % v)

    def dns_subdomain(self, obj, key, path, required=True):
        return self.string(obj, key, path, required, DNS1123_SUBDOMAIN, 253,
                           what='DNS-1123 subdomain (lower case alphanumerics, '
                                "'-' and '.')")

    def dns_label(self, obj, key, path, required=True):
        return self.string(obj, key, path, required, DNS1123_LABEL, 63,
                           what="DNS-1123 label (lower case alphanumerics and '-')")

    def dns1035_label(self, obj, key, path, required=True):
        return self.string(obj, key, path, required, DNS1035_LABEL, 63,
                           what="DNS-1035 label (lower case alphanumerics and '-', "
                                'starting with a letter)')

    def qualified_name(self, key, path):
        if not isinstance(key, str):
            self.err(path, 'key %s must be a string' % short(key))
            return
        prefix, slash, name = key.rpartition('/')
        if slash:
            if not prefix or len(prefix) > 253 or not DNS1123_SUBDOMAIN.match(prefix):
                self.err(path, 'key %s: prefix must be a DNS-1123 subdomain' % short(key))
        if not name or len(name) > 63 or not QUALIFIED_NAME.match(name):
            self.err(path, 'key %s is not a valid qualified name' % short(key))

    def label_map(self, obj, key, path, required=False):
        m = self.mapping(obj, key, path, required)
        if m is None:
            return None
        p = '%s.%s' % (path, key) if path else key
        for k, v in m.items():
            self.qualified_name(k, p)
            if not isinstance(v, str):
                self.err('%s.%s' % (p, k), 'label value must be a string, got %s' % short(v))
            elif len(v) > 63 or not LABEL_VALUE.match(v):
                self.err('%s.%s' % (p, k), '%s is not a valid label value' % short(v))
        return m

    def label_selector(self, obj, key, path, required=True):
        sel = self.mapping(obj, key, path, required)
        if sel is None:
            return
        p = '%s.%s' % (path, key)
        self.label_map(sel, 'matchLabels', p)
        exprs = self.lst(sel, 'matchExpressions', p, required=False)
        for i, e in enumerate(exprs or []):
            ep = '%s.matchExpressions[%d]' % (p, i)
            if not isinstance(e, dict):
                self.err(ep, 'must be a mapping')
                continue
            self.string(e, 'key', ep)
            op = self.string(e, 'operator', ep,
                             enum=('In', 'NotIn', 'Exists', 'DoesNotExist'))
            vals = e.get('values')
            if vals is not None and not is_str_list(vals):
                self.err(ep + '.values', 'must be a list of strings')
            if op in ('In', 'NotIn') and not vals:
                self.err(ep + '.values', 'must not be empty for operator %s' % op)
            if op in ('Exists', 'DoesNotExist') and vals:
                self.err(ep + '.values', 'must be empty for operator %s' % op)

    def top_level(self, doc, allowed):
        for k in doc:
            if k not in allowed and k not in ('apiVersion', 'kind', 'metadata', 'status'):
                self.err('', 'unknown field %s' % short(k))


# ------------------------------------------------------------------ metadata

def check_metadata(c, doc, name_check):
    md = doc.get('metadata')
    if not isinstance(md, dict):
        return
    if name_check == 'subdomain':
        c.dns_subdomain(md, 'name', 'metadata')
    elif name_check == 'dns1035':
        c.dns1035_label(md, 'name', 'metadata')
    elif name_check == 'path-segment':
        n = c.string(md, 'name', 'metadata')
        if n is not None and (n in ('.', '..') or '/' in n or '%' in n):
            c.err('metadata.name', '%s may not be "." or ".." or contain "/" or "%%"' % short(n))
    c.dns_label(md, 'namespace', 'metadata', required=False)
    c.label_map(md, 'labels', 'metadata')
    ann = c.mapping(md, 'annotations', 'metadata', required=False)
    if ann is not None:
        size = 0
        for k, v in ann.items():
            c.qualified_name(k, 'metadata.annotations')
            if not isinstance(v, str):
                c.err('metadata.annotations.%s' % k,
                      'annotation value must be a string, got %s' % short(v))
            else:
                size += len(str(k).encode()) + len(v.encode())
        if size > MAX_ANNOTATIONS_SIZE:
            c.err('metadata.annotations', 'total size %d exceeds %d bytes'
                  % (size, MAX_ANNOTATIONS_SIZE))


# ------------------------------------------------------------------ core kinds

def check_configmap(c, doc, strict):
    if strict:
        c.top_level(doc, ('data', 'binaryData', 'immutable'))
    total = 0
    keys = set()
    for field in ('data', 'binaryData'):
        m = c.mapping(doc, field, '', required=False)
        if m is None:
            continue
        for k, v in m.items():
            p = '%s.%s' % (field, k)
            if not isinstance(k, str):
                c.err(field, 'key %s must be a string' % short(k))
                continue
            if len(k) > 253 or not CONFIG_KEY.match(k) or k in ('.', '..'):
                c.err(p, "key must consist of alphanumerics, '-', '_' or '.' "
                         '(at most 253 characters, not "." or "..")')
            if k in keys:
                c.err(p, 'key is present in both data and binaryData')
            keys.add(k)
            if not isinstance(v, str):
                c.err(p, 'value must be a string, got %s' % short(v))
                continue
            if field == 'data':
                total += len(v.encode('utf-8'))
            else:
                b64 = re.sub(r'\s', '', v)
                if len(b64) % 4 or not BASE64.match(b64):
                    c.err(p, 'value must be base64')
                total += len(b64) * 3 // 4 - b64.count('=')
    if total > MAX_CONFIGMAP_SIZE:
        c.err('data', 'total size %d exceeds %d bytes (1 MiB)' % (total, MAX_CONFIGMAP_SIZE))
    if 'immutable' in doc and not isinstance(doc['immutable'], bool):
        c.err('immutable', 'must be a boolean')


def check_ingress_backend(c, be, p):
    if not isinstance(be, dict):
        c.err(p, 'must be a mapping')
        return
    svc = be.get('service')
    if svc is None:
        if 'resource' in be:
            res = c.mapping(be, 'resource', p)
            if res is not None:
                c.string(res, 'kind', p + '.resource')
                c.string(res, 'name', p + '.resource')
        else:
            c.err(p + '.service', 'required field is missing')
        return
    if 'resource' in be:
        c.err(p, 'service and resource are mutually exclusive')
    svc = c.mapping(be, 'service', p)
    if svc is None:
        return
    sp = p + '.service'
    c.dns1035_label(svc, 'name', sp)
    port = c.mapping(svc, 'port', sp)
    if port is None:
        return
    pp = sp + '.port'
    has_num = port.get('number') is not None
    has_name = port.get('name') is not None
    if has_num and has_name:
        c.err(pp, 'number and name are mutually exclusive')
    elif not has_num and not has_name:
        c.err(pp, 'one of number or name is required')
    if has_num:
        c.port_number(port, 'number', pp)
    if has_name:
        c.string(port, 'name', pp, pattern=IANA_SVC_NAME, maxlen=15,
                 what='port name (IANA service name)')


def check_ingress(c, doc, strict):
    if strict:
        c.top_level(doc, ('spec',))
    spec = c.mapping(doc, 'spec', '')
    if spec is None:
        return
    c.string(spec, 'ingressClassName', 'spec', required=False)
    if spec.get('defaultBackend') is not None:
        check_ingress_backend(c, spec['defaultBackend'], 'spec.defaultBackend')
    rules = c.lst(spec, 'rules', 'spec', required=spec.get('defaultBackend') is None,
                  nonempty=spec.get('defaultBackend') is None)
    for i, rule in enumerate(rules or []):
        rp = 'spec.rules[%d]' % i
        if not isinstance(rule, dict):
            c.err(rp, 'must be a mapping')
            continue
        host = rule.get('host')
        if host is not None:
            if not isinstance(host, str) or not (
                    DNS1123_SUBDOMAIN.match(host) or WILDCARD_DNS1123_SUBDOMAIN.match(host)):
                c.err(rp + '.host', '%s is not a valid host name' % short(host))
        http = c.mapping(rule, 'http', rp)
        if http is None:
            continue
        paths = c.lst(http, 'paths', rp + '.http', nonempty=True)
        for j, path in enumerate(paths or []):
            pp = '%s.http.paths[%d]' % (rp, j)
            if not isinstance(path, dict):
                c.err(pp, 'must be a mapping')
                continue
            pt = c.string(path, 'pathType', pp,
                          enum=('Exact', 'Prefix', 'ImplementationSpecific'))
            pv = c.string(path, 'path', pp)
            if pv and not pv.startswith('/'):
                c.err(pp + '.path', 'must be an absolute path (start with "/")')
            if pv and pt in ('Exact', 'Prefix') and (
                    '//' in pv or any(seg in ('.', '..') for seg in pv.split('/'))):
                c.err(pp + '.path', 'must not contain "//" or "." / ".." segments')
            if 'backend' not in path:
                c.err(pp + '.backend', 'required field is missing')
            else:
                check_ingress_backend(c, path['backend'], pp + '.backend')
    tls = c.lst(spec, 'tls', 'spec', required=False)
    for i, t in enumerate(tls or []):
        tp = 'spec.tls[%d]' % i
        if not isinstance(t, dict):
            c.err(tp, 'must be a mapping')
            continue
        hosts = t.get('hosts')
        if hosts is not None and not is_str_list(hosts):
            c.err(tp + '.hosts', 'must be a list of strings')
        c.string(t, 'secretName', tp, required=False)


def check_service(c, doc, strict):
    if strict:
        c.top_level(doc, ('spec',))
    spec = c.mapping(doc, 'spec', '')
    if spec is None:
        return
    stype = c.string(spec, 'type', 'spec', required=False,
                     enum=('ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'))
    headless = spec.get('clusterIP') == 'None'
    ports = c.lst(spec, 'ports', 'spec',
                  required=stype != 'ExternalName' and not headless,
                  nonempty=stype != 'ExternalName' and not headless)
    names = set()
    for i, port in enumerate(ports or []):
        pp = 'spec.ports[%d]' % i
        if not isinstance(port, dict):
            c.err(pp, 'must be a mapping')
            continue
        c.port_number(port, 'port', pp)
        c.string(port, 'protocol', pp, required=False, enum=('TCP', 'UDP', 'SCTP'))
        name = c.dns_label(port, 'name', pp, required=len(ports) > 1)
        if name is not None:
            if name in names:
                c.err(pp + '.name', 'duplicate port name %s' % short(name))
            names.add(name)
        if 'targetPort' in port:
            tp = port['targetPort']
            if is_int(tp):
                c.port_number(port, 'targetPort', pp)
            elif isinstance(tp, str):
                if len(tp) > 15 or not IANA_SVC_NAME.match(tp) or not re.search('[a-z]', tp):
                    c.err(pp + '.targetPort', '%s is not a valid port name' % short(tp))
            else:
                c.err(pp + '.targetPort', 'must be an integer or a port name')
        if 'nodePort' in port and stype not in ('NodePort', 'LoadBalancer'):
            c.err(pp + '.nodePort', 'only allowed for type NodePort or LoadBalancer')
    if spec.get('selector') is not None:
        c.label_map(spec, 'selector', 'spec')


def check_serviceaccount(c, doc, strict):
    if strict:
        c.top_level(doc, ('automountServiceAccountToken', 'secrets', 'imagePullSecrets'))
    if 'automountServiceAccountToken' in doc and \
            not isinstance(doc['automountServiceAccountToken'], bool):
        c.err('automountServiceAccountToken', 'must be a boolean')
    for field in ('secrets', 'imagePullSecrets'):
        items = c.lst(doc, field, '', required=False)
        for i, s in enumerate(items or []):
            if not isinstance(s, dict) or not isinstance(s.get('name'), str):
                c.err('%s[%d]' % (field, i), 'must be a mapping with a string name')


def check_role(c, doc, strict):
    if strict:
        c.top_level(doc, ('rules',))
    rules = c.lst(doc, 'rules', '', required=False)
    for i, r in enumerate(rules or []):
        rp = 'rules[%d]' % i
        if not isinstance(r, dict):
            c.err(rp, 'must be a mapping')
            continue
        if r.get('nonResourceURLs'):
            c.err(rp + '.nonResourceURLs', 'not allowed in a namespaced Role')
        for field in ('apiGroups', 'resources', 'verbs'):
            v = c.lst(r, field, rp, nonempty=True)
            if v is not None and not is_str_list(v):
                c.err('%s.%s' % (rp, field), 'must be a list of strings')
        rn = r.get('resourceNames')
        if rn is not None and not is_str_list(rn):
            c.err(rp + '.resourceNames', 'must be a list of strings')


def check_rolebinding(c, doc, strict):
    if strict:
        c.top_level(doc, ('roleRef', 'subjects'))
    ref = c.mapping(doc, 'roleRef', '')
    if ref is not None:
        c.string(ref, 'apiGroup', 'roleRef', enum=('rbac.authorization.k8s.io',))
        c.string(ref, 'kind', 'roleRef', enum=('Role', 'ClusterRole'))
        c.string(ref, 'name', 'roleRef')
    subjects = c.lst(doc, 'subjects', '', required=False)
    for i, s in enumerate(subjects or []):
        sp = 'subjects[%d]' % i
        if not isinstance(s, dict):
            c.err(sp, 'must be a mapping')
            continue
        kind = c.string(s, 'kind', sp, enum=('ServiceAccount', 'User', 'Group'))
        c.string(s, 'name', sp)
        if kind == 'ServiceAccount':
            c.string(s, 'apiGroup', sp, required=False, enum=('',))
            c.dns_label(s, 'namespace', sp, required=False)
        elif kind in ('User', 'Group'):
            c.string(s, 'apiGroup', sp, required=False, enum=('rbac.authorization.k8s.io',))


def check_pvc(c, doc, strict):
    if strict:
        c.top_level(doc, ('spec',))
    spec = c.mapping(doc, 'spec', '')
    if spec is None:
        return
    modes = c.lst(spec, 'accessModes', 'spec', nonempty=True)
    allowed = ('ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod')
    for i, m in enumerate(modes or []):
        if m not in allowed:
            c.err('spec.accessModes[%d]' % i, '%s is not one of %s' % (short(m), ', '.join(allowed)))
    res = c.mapping(spec, 'resources', 'spec')
    if res is not None:
        req = c.mapping(res, 'requests', 'spec.resources')
        if req is not None:
            if 'storage' not in req or req['storage'] is None:
                c.err('spec.resources.requests.storage', 'required field is missing')
            else:
                q = req['storage']
                if isinstance(q, bool) or not (
                        is_int(q) or isinstance(q, float) or
                        (isinstance(q, str) and QUANTITY.match(q))):
                    c.err('spec.resources.requests.storage', '%s is not a valid quantity' % short(q))
    c.string(spec, 'volumeMode', 'spec', required=False, enum=('Filesystem', 'Block'))
    c.string(spec, 'storageClassName', 'spec', required=False)


def check_monitor(c, doc, strict, endpoints_field):
    if strict:
        c.top_level(doc, ('spec',))
    spec = c.mapping(doc, 'spec', '')
    if spec is None:
        return
    c.label_selector(spec, 'selector', 'spec')
    ns = c.mapping(spec, 'namespaceSelector', 'spec', required=False)
    if ns is not None:
        if 'any' in ns and not isinstance(ns['any'], bool):
            c.err('spec.namespaceSelector.any', 'must be a boolean')
        if ns.get('matchNames') is not None and not is_str_list(ns['matchNames']):
            c.err('spec.namespaceSelector.matchNames', 'must be a list of strings')
    eps = c.lst(spec, endpoints_field, 'spec')
    for i, ep in enumerate(eps or []):
        p = 'spec.%s[%d]' % (endpoints_field, i)
        if not isinstance(ep, dict):
            c.err(p, 'must be a mapping')
            continue
        c.string(ep, 'port', p, required=False)
        c.string(ep, 'path', p, required=False)
        c.string(ep, 'scheme', p, required=False, enum=('http', 'https', 'HTTP', 'HTTPS'))
        for d in ('interval', 'scrapeTimeout'):
            c.string(ep, d, p, required=False, pattern=PROM_DURATION,
                     what='duration (e.g. 30s, 1m)')


CORE_KINDS = {
    # kind: (apiVersion, metadata.name rule, checker)
    'ConfigMap': ('v1', 'subdomain', check_configmap),
    'Service': ('v1', 'dns1035', check_service),
    'ServiceAccount': ('v1', 'subdomain', check_serviceaccount),
    'PersistentVolumeClaim': ('v1', 'subdomain', check_pvc),
    'Ingress': ('networking.k8s.io/v1', 'subdomain', check_ingress),
    'Role': ('rbac.authorization.k8s.io/v1', 'path-segment', check_role),
    'RoleBinding': ('rbac.authorization.k8s.io/v1', 'path-segment', check_rolebinding),
    'PodMonitor': ('monitoring.coreos.com/v1', 'subdomain',
                   lambda c, d, s: check_monitor(c, d, s, 'podMetricsEndpoints')),
    'ServiceMonitor': ('monitoring.coreos.com/v1', 'subdomain',
                       lambda c, d, s: check_monitor(c, d, s, 'endpoints')),
}


# ------------------------------------------------------------------ schemas

class Schemas:
    def __init__(self, schema_dir, strict):
        self.dir = schema_dir
        self.strict = strict
        self.validators = {}

    def validator(self, kind):
        if kind not in self.validators:
            fn = os.path.join(self.dir, '%s-v1beta1%s.json'
                              % (SCHEMA_KINDS[kind], '-strict' if self.strict else ''))
            try:
                with open(fn, encoding='utf-8') as f:
                    schema = json.load(f)
            except (OSError, ValueError) as e:
                sys.stderr.write('validate_k8s.py: cannot load schema %s: %s\n' % (fn, e))
                sys.exit(2)
            self.validators[kind] = jsonschema.Draft7Validator(schema)
        return self.validators[kind]


def json_path(parts):
    out = ''
    for p in parts:
        if isinstance(p, int):
            out += '[%d]' % p
        else:
            out += ('.' if out else '') + str(p)
    return out


def check_schema(c, doc, schemas):
    v = schemas.validator(doc['kind'])
    errs = sorted(v.iter_errors(doc), key=lambda e: [str(x) for x in e.absolute_path])
    for e in errs:
        msg = e.message
        if len(msg) > 300:
            msg = msg[:297] + '...'
        c.err(json_path(e.absolute_path), msg)


def check_flink_names(c, doc):
    """The operator's validating webhook limits FlinkDeployment names (they
    become Kubernetes Service names and Flink cluster ids)."""
    if doc['kind'] == 'FlinkDeployment':
        n = doc['metadata']['name']
        if not FLINK_DEPLOYMENT_NAME.match(n):
            c.err('metadata.name', '%s is rejected by the operator webhook: must match '
                  '[a-z]([-a-z0-9]{0,43}[a-z0-9])? (at most 45 characters)' % short(n))
    else:
        spec = doc.get('spec')
        n = spec.get('deploymentName') if isinstance(spec, dict) else None
        if isinstance(n, str) and not FLINK_DEPLOYMENT_NAME.match(n):
            c.err('spec.deploymentName', '%s is rejected by the operator webhook: must match '
                  '[a-z]([-a-z0-9]{0,43}[a-z0-9])? (at most 45 characters)' % short(n))


# ------------------------------------------------------------------ driver

def check_document(doc, schemas, strict):
    c = Checker()
    if not isinstance(doc, dict):
        c.err('', 'document must be a mapping, got %s' % type(doc).__name__)
        return c.errors
    api, kind, md = doc.get('apiVersion'), doc.get('kind'), doc.get('metadata')
    if not isinstance(api, str) or not api:
        c.err('apiVersion', 'required field is missing' if api is None else 'must be a non-empty string')
    if not isinstance(kind, str) or not kind:
        c.err('kind', 'required field is missing' if kind is None else 'must be a non-empty string')
    if not isinstance(md, dict):
        c.err('metadata', 'required field is missing' if md is None else 'must be a mapping')
    elif not isinstance(md.get('name'), str) or not md.get('name'):
        c.err('metadata.name', 'required field is missing' if md.get('name') is None
              else 'must be a non-empty string')
    if c.errors:
        return c.errors
    if kind in SCHEMA_KINDS:
        check_schema(c, doc, schemas)
        check_metadata(c, doc, None)
        check_flink_names(c, doc)
    elif kind in CORE_KINDS:
        want_api, name_rule, fn = CORE_KINDS[kind]
        if api != want_api:
            c.err('apiVersion', '%s is not supported for %s (expected %s)'
                  % (short(api), kind, want_api))
            return c.errors
        check_metadata(c, doc, name_rule)
        fn(c, doc, strict)
    else:
        c.err('', 'unknown kind %s' % short(kind))
    return c.errors


def validate_file(path, schemas, strict, out):
    nerr = 0
    try:
        f = open(path, encoding='utf-8')
    except OSError as e:
        out.write('%s: cannot read: %s\n' % (path, e.strerror or e))
        return 1
    seen = {}
    n = 0
    try:
        for n, doc in enumerate(yaml.load_all(f, Loader=StrictLoader), 1):
            if doc is None:
                continue
            errors = check_document(doc, schemas, strict)
            kind = doc.get('kind') if isinstance(doc, dict) else None
            md = doc.get('metadata') if isinstance(doc, dict) else None
            name = md.get('name') if isinstance(md, dict) else None
            label = '%s/%s' % (kind if isinstance(kind, str) and kind else '?',
                               name if isinstance(name, str) and name else '?')
            if isinstance(kind, str) and isinstance(name, str):
                ns = md.get('namespace') if isinstance(md.get('namespace'), str) else ''
                key = (kind, ns, name)
                if key in seen:
                    errors.append('duplicate object (also doc %d)' % seen[key])
                else:
                    seen[key] = n
            for e in errors:
                out.write('%s: doc %d (%s): %s\n' % (path, n, label, e))
            nerr += len(errors)
    except yaml.YAMLError as e:
        msg = ' '.join(str(e).split())
        out.write('%s: doc %d: YAML error: %s\n' % (path, n + 1, msg))
        nerr += 1
    except UnicodeDecodeError as e:
        out.write('%s: not UTF-8: %s\n' % (path, e))
        nerr += 1
    finally:
        f.close()
    return nerr


def main(argv):
    args = argv[1:]
    strict = False
    schema_dir = None
    files = []
    i = 0
    while i < len(args):
        a = args[i]
        if a == '--strict':
            strict = True
        elif a == '--schema-dir' and i + 1 < len(args):
            i += 1
            schema_dir = args[i]
        elif a.startswith('--schema-dir='):
            schema_dir = a.split('=', 1)[1]
        elif a in ('-h', '--help'):
            sys.stdout.write(__doc__)
            return 0
        elif a == '--':
            files.extend(args[i + 1:])
            break
        elif a.startswith('-'):
            sys.stderr.write('validate_k8s.py: unknown option %s\n' % a)
            return 2
        else:
            files.append(a)
        i += 1
    if schema_dir is None or not files:
        sys.stderr.write('usage: validate_k8s.py --schema-dir DIR [--strict] FILE.yaml...\n')
        return 2
    if not os.path.isdir(schema_dir):
        sys.stderr.write('validate_k8s.py: schema directory %s not found\n' % schema_dir)
        return 2
    schemas = Schemas(schema_dir, strict)
    nerr = 0
    for f in files:
        nerr += validate_file(f, schemas, strict, sys.stdout)
    return 1 if nerr else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
