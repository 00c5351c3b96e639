#!/usr/bin/env bash
# Every example recipe renders; every object validates against the operator's strict JSON
# Schemas (1.15.0 and 1.9.0) and Kubernetes' required fields; the bundle has what the
# recipe asks for.
set -euo pipefail
. "${TESTS_DIR:-$(cd "$(dirname "$0")" && pwd)}/lib.sh"
t_need_factory

tmp=$(t_tmpdir)
V=$TESTS_DIR/tools/validate_k8s.py

for recipe in recipes/*.yaml; do
    name=$(basename "$recipe" .yaml)
    if ! "$FACTORY" render -q -o "$tmp/out" "$recipe" 2>"$tmp/$name.err"; then
        t_fail "render $name" "$(head -n 5 "$tmp/$name.err")"
        continue
    fi
    t_ok "render $name"
done

mapfile -t objects < <(find "$tmp/out" -name '*.yaml' ! -name 'kustomization.yaml' \
    ! -name 'kustomizeconfig.yaml' ! -path '*/operator/*' | sort)
for v in operator-1.15.0 operator-1.9.0; do
    t_check "examples validate against $v strict schemas" \
        "$PYTHON" "$V" --strict --schema-dir "$TESTS_DIR/schemas/$v" "${objects[@]}"
done

m=$tmp/out
# pyflink-kafka: PythonDriver, the flink-python jar of the exact release, args in order.
fd=$m/pyflink-kafka-sink-kafka/manifests/flinkdeployment.yaml
t_check "pyflink: PythonDriver and flink-python jar" "$PYTHON" - "$fd" <<'PY'
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
job = d["spec"]["job"]
assert job["entryClass"] == "org.apache.flink.client.python.PythonDriver", job
assert job["jarURI"] == "local:///opt/flink/opt/flink-python-1.19.2.jar", job
assert job["args"][:4] == ["-pyclientexec", "python3", "-py", "/opt/flink/pyflink/kafka_length.py"], job["args"]
assert job["args"][4] == "--bootstrap-servers", job["args"]
pod = d["spec"]["podTemplate"]
main = [c for c in pod["spec"]["containers"] if c["name"] == "flink-main-container"][0]
mount = main["volumeMounts"][0]
assert mount["readOnly"] is True and not mount["mountPath"].startswith("/opt/flink/conf"), mount
cm = pod["spec"]["volumes"][0]["configMap"]["name"]
assert cm.startswith("pyflink-kafka-sink-kafka-scripts-"), cm
assert pod["metadata"]["annotations"]["factory.dev/scripts-hash"] == cm.rsplit("-", 1)[1]
assert d["spec"]["flinkConfiguration"]["python.executable"] == "python3"
PY

t_check "pyflink: ConfigMap carries the script under its file name" "$PYTHON" - \
    "$m/pyflink-kafka-sink-kafka/manifests/configmap-scripts.yaml" recipes/pyflink-kafka/kafka_length.py <<'PY'
import sys, yaml
cm = yaml.safe_load(open(sys.argv[1]))
assert cm["data"]["kafka_length.py"] == open(sys.argv[2]).read()
PY

t_check "ingress: backend <app>-rest:8081" "$PYTHON" - "$m/pyflink-kafka-sink-kafka/manifests/ingress.yaml" <<'PY'
import sys, yaml
i = yaml.safe_load(open(sys.argv[1]))
b = i["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
assert b == {"name": "pyflink-kafka-sink-kafka-rest", "port": {"number": 8081}}, b
PY

# word-count: two scripts (-pyfs), PodMonitor, template overlay merged into the container.
t_check "word-count: -pyfs, PodMonitor and template overlay" "$PYTHON" - "$m/word-count/manifests" <<'PY'
import sys, yaml, os
d = os.path.join(sys.argv[1])
fd = yaml.safe_load(open(os.path.join(d, "flinkdeployment.yaml")))
args = fd["spec"]["job"]["args"]
assert args[args.index("-pyfs") + 1] == "/opt/flink/pyflink", args
pod = fd["spec"]["podTemplate"]["spec"]
assert pod["securityContext"]["runAsUser"] == 9999
c = pod["containers"][0]
assert c["name"] == "flink-main-container" and len(pod["containers"]) == 1
assert c["securityContext"]["allowPrivilegeEscalation"] is False
assert c["ports"][0] == {"name": "metrics", "containerPort": 9249, "protocol": "TCP"}
conf = fd["spec"]["flinkConfiguration"]
assert conf["metrics.reporter.prom.port"] == "9249"
pm = yaml.safe_load(open(os.path.join(d, "podmonitor.yaml")))
assert pm["apiVersion"] == "monitoring.coreos.com/v1" and pm["kind"] == "PodMonitor"
assert pm["spec"]["selector"]["matchLabels"] == {"app": "word-count"}
assert pm["metadata"]["labels"]["release"] == "prometheus"
PY

# state-machine: RocksDB, S3 via Secret env, HA, RBAC, PVC, ServiceMonitor, operator ingress.
t_check "state-machine: state presets, secrets by reference only" "$PYTHON" - "$m/state-machine/manifests" <<'PY'
import sys, yaml, os
d = sys.argv[1]
fd = yaml.safe_load(open(os.path.join(d, "flinkdeployment.yaml")))
conf = fd["spec"]["flinkConfiguration"]
assert conf["state.backend.type"] == "rocksdb"
assert conf["state.checkpoints.dir"] == "s3://my-bucket/flink/checkpoints"
assert conf["state.savepoints.dir"] == "s3://my-bucket/flink/savepoints"
assert conf["high-availability.type"] == "kubernetes"
assert all(isinstance(v, str) for v in conf.values()), conf
assert fd["spec"]["job"]["upgradeMode"] == "savepoint"
env = fd["spec"]["podTemplate"]["spec"]["containers"][0]["env"]
assert env[0]["valueFrom"]["secretKeyRef"] == {"name": "s3-credentials", "key": "access-key"}
assert fd["spec"]["ingress"]["template"] == "state-machine.flink.example.com"
files = sorted(os.listdir(d))
for f in ["serviceaccount.yaml", "role.yaml", "rolebinding.yaml", "pvc.yaml",
          "service-metrics.yaml", "servicemonitor.yaml"]:
    assert f in files, (f, files)
assert "ingress.yaml" not in files
k = yaml.safe_load(open(os.path.join(d, "kustomization.yaml")))
assert sorted(k["resources"]) == sorted(f for f in files if f.endswith(".yaml") and
    f not in ("kustomization.yaml", "kustomizeconfig.yaml")), k
PY

# session-cluster: FlinkDeployment without job, FlinkSessionJob pointing at it.
t_check "session-cluster: no job, FlinkSessionJob by https jarURI" "$PYTHON" - "$m/flink-session-cluster/manifests" <<'PY'
import sys, yaml, os
d = sys.argv[1]
fd = yaml.safe_load(open(os.path.join(d, "flinkdeployment.yaml")))
assert "job" not in fd["spec"]
sj = yaml.safe_load(open(os.path.join(d, "flinksessionjob-car-top-speed-job.yaml")))
assert sj["spec"]["deploymentName"] == "flink-session-cluster"
assert sj["spec"]["job"]["jarURI"].startswith("https://")
v = yaml.safe_load(open(os.path.join(d, "operator", "values.yaml")))
assert v == {"watchNamespaces": ["flink"], "imagePullSecrets": [{"name": "regcred"}],
             "webhook": {"create": True}}, v
PY

t_check "kustomization: nameReference lets kustomize rename the ConfigMap" "$PYTHON" - \
    "$m/pyflink-kafka-sink-kafka/manifests/kustomizeconfig.yaml" <<'PY'
import sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
cm = [r for r in c["nameReference"] if r["kind"] == "ConfigMap"][0]
paths = {f["path"] for f in cm["fieldSpecs"] if f["kind"] == "FlinkDeployment"}
assert "spec/podTemplate/spec/volumes/configMap/name" in paths
assert "spec/jobManager/podTemplate/spec/volumes/configMap/name" in paths
assert "spec/taskManager/podTemplate/spec/volumes/configMap/name" in paths
PY
exit 0
