#!/usr/bin/env python3
"""Compares a hand-written FlinkDeployment with the one factory renders from the recipe
`factory init --from` made of it, field by field.

usage: fd_diff.py INPUT.yaml RENDERED.yaml [DROPPED]

Prints one line per difference and exits 1 when there is any:
  ~ PATH: input 'X', rendered 'Y'
  - PATH: 'X' (input only)
  + PATH: 'Y' (rendered only)
Input-only fields under a path listed in DROPPED (the `not carried over` paths, one a line,
as init prints them) are accounted for and not printed. So are the differences factory makes
by design (README.md, "Starting from existing YAML"):
  - its recommended labels (app.kubernetes.io/name, instance, version, component, part-of,
    managed-by, on the object and its pod template), the object's labels repeated on its pod
    template, and
    metadata.namespace "default" when the input names none;
  - the pod template's apiVersion/kind, the flink-main-container entry, and the scripts
    ConfigMap (its volume, mount and the factory.dev/scripts-hash annotation), which factory
    names itself, as it names the volume of state.volume (compared by claim name);
  - flinkConfiguration python.executable in a PyFlink recipe, and job upgradeMode stateless /
    state running, the operator's defaults, when the input leaves them out;
  - values compared as strings (flinkConfiguration values are written as strings), nested
    flinkConfiguration maps as the dotted keys Flink reads them as.
"""
import re
import sys

import yaml


def scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def normalise_pod(pod):
    """Volumes keyed by what they are rather than by their names."""
    spec = (pod or {}).get("spec") or {}
    names = {}
    for v in spec.get("volumes") or []:
        if "configMap" in v:
            names[v.get("name")] = None  # the scripts ConfigMap: factory's own
        elif "persistentVolumeClaim" in v:
            names[v.get("name")] = "pvc:" + str(v["persistentVolumeClaim"].get("claimName"))
    if "volumes" in spec:
        vols = []
        for v in spec["volumes"]:
            n = v.get("name")
            if n in names and names[n] is None:
                continue
            if n in names:
                v = dict(v, name=names[n])
            vols.append(v)
        spec["volumes"] = vols
    for c in spec.get("containers") or []:
        if "volumeMounts" in c:
            mounts = []
            for m in c["volumeMounts"]:
                n = m.get("name")
                if n in names and names[n] is None:
                    continue
                mounts.append(dict(m, name=names.get(n, n)))
            c["volumeMounts"] = mounts


def flatten(v, path, out):
    if isinstance(v, dict):
        for k, x in v.items():
            flatten(x, f"{path}.{k}" if path else str(k), out)
    elif isinstance(v, list):
        named = all(isinstance(x, dict) and "name" in x for x in v)
        for i, x in enumerate(v):
            if named:
                key = dict(x)
                flatten({k: y for k, y in key.items() if k != "name"}, f"{path}[{x['name']}]", out)
                out[f"{path}[{x['name']}]"] = ""  # the entry itself
            else:
                flatten(x, f"{path}[{i}]", out)
    elif v is not None:
        out[path] = scalar(v)


def resolve(doc, path):
    """A dropped path as init prints it ("spec.x.containers[0].volumeMounts[1] (logs)") in
    flatten's terms: list indices become the entries' names where the entries have names."""
    path = re.sub(r" \(.*\)$", "", path)
    out, node = [], doc
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        if part.startswith("[") and isinstance(node, list):
            x = node[int(part[1:-1])]
            out[-1] += f"[{x['name']}]" if isinstance(x, dict) and "name" in x and all(
                isinstance(y, dict) and "name" in y for y in node) else part
            node = x
        else:
            out.append(part)
            node = node.get(part) if isinstance(node, dict) else None
    return ".".join(out)


def load(path):
    with open(path) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    return docs[0]


def main():
    inp, ren = load(sys.argv[1]), load(sys.argv[2])
    dropped = []
    if len(sys.argv) > 3:
        with open(sys.argv[3]) as f:
            dropped = [resolve(inp, line.strip()) for line in f if line.strip()]
    python = (ren.get("spec", {}).get("job") or {}).get("entryClass") == \
        "org.apache.flink.client.python.PythonDriver" and any(
            "configMap" in v for v in (ren["spec"].get("podTemplate", {}).get("spec", {}).get("volumes") or []))
    for doc in (inp, ren):
        normalise_pod(doc.get("spec", {}).get("podTemplate"))
        for role in ("jobManager", "taskManager"):
            normalise_pod((doc.get("spec", {}).get(role) or {}).get("podTemplate"))
    a, b = {}, {}
    flatten(inp, "", a)
    flatten(ren, "", b)
    main_c = "spec.podTemplate.spec.containers[flink-main-container]"
    # the recommended labels factory puts on the object and its pod template
    recommended = ("name", "instance", "version", "component", "part-of", "managed-by")
    owned = {
        "metadata.labels.app.kubernetes.io/" + l for l in recommended
    } | {
        "spec.podTemplate.metadata.labels.app.kubernetes.io/" + l for l in recommended
    } | {
        "spec.podTemplate.apiVersion", "spec.podTemplate.kind",
        "spec.podTemplate.metadata.annotations.factory.dev/scripts-hash", main_c,
    }
    defaults = {"metadata.namespace": "default", "spec.job.upgradeMode": "stateless", "spec.job.state": "running"}
    if python:
        owned.add("spec.flinkConfiguration.python.executable")
    diffs = []
    for k in sorted(set(a) | set(b)):
        if k in a and k in b:
            if a[k] != b[k]:
                diffs.append(f"~ {k}: input {a[k]!r}, rendered {b[k]!r}")
        elif k in a:
            if any(k == d or k.startswith(d + ".") or k.startswith(d + "[") for d in dropped):
                continue
            if k == main_c:
                continue
            diffs.append(f"- {k}: {a[k]!r} (input only)")
        else:
            if k in owned or defaults.get(k) == b[k]:
                continue
            # the object's labels, which factory repeats on its pod template
            pod_label = "spec.podTemplate.metadata.labels."
            if k.startswith(pod_label) and b.get("metadata.labels." + k[len(pod_label):]) == b[k]:
                continue
            diffs.append(f"+ {k}: {b[k]!r} (rendered only)")
    for d in diffs:
        print(d)
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
