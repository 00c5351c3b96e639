#!/usr/bin/env bash
# Benchmark: the whole job, the same job both ways, side by side in one run.
#
#   pipeline  what users run today: `mvn dependency:copy-dependencies` of a pom listing the
#             JARs, `buildah bud` of a Dockerfile of COPY lines (FROM the base in the
#             registry, COPY the JARs to /opt/flink/lib, COPY the PyFlink script directory),
#             `buildah push`, then sed over template YAML for the manifests (a ConfigMap with
#             the script, a FlinkDeployment naming the pushed image);
#   factory   `factory build --push` of the equivalent recipe (the JARs as Maven artifacts,
#             the base from the same registry, the script as python.scripts).
#
# Workload: 13 connector JARs, about 91 MB: one 80 MB incompressible JAR (a STORED entry of
# bytes from random.Random(SEED)) and 12 of Debian's /usr/share/java JARs, deployed with Maven
# itself (deploy:deploy-file, offline, Debian's /usr/share/maven-repo plugins) into a
# repository served by nginx (tests/maven.sh). Base: tests/prodbase.sh `prodbase_build DIR
# python gzip` with PRODBASE_FULL=1 (real Debian packages, a JRE that keeps lib/modules and
# Python; about 100 MB of gzip layers), pushed untimed into a local docker-registry
# (tests/registry.sh) as flink/flink:1.19.2; both sides pull it from there. The Maven
# repository is cached under ${TEST_CACHE:-build/test-cache}/pipeline-bench/, the base
# under .../prodbase/.
#
# Modes, each timed for both sides, RUNS times (medians):
#   cold         empty caches: Maven's local repository and the copied JARs removed, buildah's
#                storage (and its blob-location cache) reset; factory's cache, out/ and
#                factory.lock removed. The registry keeps the base; each side pushes to a
#                repository of its own that is new in this run (both may mount the base's
#                blobs from flink/flink);
#   warm         the same again, nothing changed (buildah bud --layers reuses its layers);
#   script edit  one line of the PyFlink script changed, then rebuild, push and render;
#   cold Java    cold again with a `java:` job and no script: factory need not read the base
#                layers; the pipeline is the same without the script's COPY and ConfigMap.
# Each run is preceded by `sync`. Wall-clock seconds of the whole job; ratio = pipeline time /
# factory time (above 1: factory is faster); peak RSS from GNU time (%M): for the pipeline the
# largest of its processes (mvn's JVM, buildah bud, buildah push, sed), for factory its own.
# Servers (nginx, docker-registry) count for neither. Afterwards: the pipeline's time per step,
# the blobs each side uploaded (from the registry's log and storage) and mounted, and, for
# factory's script edit, what it pushed (--json counts, bytes sent from -v) and whether the
# image digest stayed the same.
#
# buildah is installed with apt-get when missing. Its storage driver is overlay when the
# kernel lets buildah use it, else vfs (printed). If buildah cannot run here the script says
# why and reports factory's times alone.
#
# usage: tests/bench/pipeline_vs_factory.sh [RUNS]     (as root; RUNS default 3)
#   FACTORY      the binary to measure (default $REPO/bin/factory)
#   PROFILE_DIR  if set, afterwards (not part of the table): DIR/strace-warm.txt, `strace -f -c`
#                of a warm `factory build --push`; DIR/strace-warm-calls.PID, the same traced
#                call by call (summed up: bytes read per file, the files fsynced); and
#                DIR/cold-verbose.txt, a cold PyFlink `factory build --push -v` on a
#                pseudo-terminal with each line's time since the start, the time from each
#                stage's line to the next and when each kind of request was seen
# Every registry reference, and so the image digest, names the registry's port, which is new
# in every invocation: digests compare within one invocation only.
set -euo pipefail
TESTS_DIR=$(cd "$(dirname "$0")/.." && pwd)
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/maven.sh"
. "$TESTS_DIR/registry.sh"
. "$TESTS_DIR/prodbase.sh"
FACTORY=${FACTORY:-$REPO/bin/factory}
RUNS=${1:-${RUNS:-3}}
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [RUNS]" >&2; exit 2; }
[[ -x $FACTORY ]] || { echo "pipeline_vs_factory: $FACTORY is not built (run make)" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || { echo "pipeline_vs_factory: run as root (the base is built with umoci, buildah needs it)" >&2; exit 1; }
FACTORY=$(cd "$(dirname "$FACTORY")" && pwd)/$(basename "$FACTORY")

BIG_SIZE=80000000 # bytes of the incompressible entry
BIG_SEED=20240101
BENCH_FIXTURE_VERSION=1

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR) print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN {print b - a}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "-"}'; }
mib() { awk -v k="$1" 'BEGIN {printf "%.0f", k / 1024}'; } # KiB -> MiB
mb() { awk -v b="$1" 'BEGIN {printf "%.1f", b / 1e6}'; }

apt_install() { # PACKAGE: apt-get install when its command is missing
    echo "pipeline_vs_factory: installing $1 with apt-get" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$1" >&2 ||
        { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$1" >&2; }
}
[[ -x /usr/bin/time ]] || apt_install time
[[ -x /usr/bin/time ]] || { echo "pipeline_vs_factory: GNU time (/usr/bin/time) is missing" >&2; exit 1; }
command -v buildah >/dev/null || apt_install buildah || true

tmp=$(t_tmpdir)
RES=$tmp/res
mkdir -p "$RES"

# ---------------------------------------------------------------- the Maven repository

# "groupId artifactId version source": the JARs as connectors. The first twelve are Debian's
# (their real file, not the symlink); the last is the incompressible one.
BENCH_ARTIFACTS=(
    "org.apache.flink flink-sql-connector-kafka 3.3.0-1.19 /usr/share/java/guava.jar"
    "org.apache.flink flink-connector-jdbc 3.3.0-1.19 /usr/share/java/commons-lang3.jar"
    "org.postgresql postgresql 42.7.3 /usr/share/java/xercesImpl.jar"
    "org.apache.flink flink-sql-avro-confluent-registry 1.19.2 /usr/share/java/fontbox2.jar"
    "org.apache.flink flink-sql-connector-opensearch 1.2.0-1.19 /usr/share/java/httpclient.jar"
    "org.apache.flink flink-sql-parquet 1.19.2 /usr/share/java/commons-compress.jar"
    "org.apache.flink flink-sql-orc 1.19.2 /usr/share/java/commons-collections4.jar"
    "org.apache.flink flink-sql-connector-mongodb 1.2.0-1.19 /usr/share/java/guice.jar"
    "org.apache.flink flink-sql-connector-kinesis 4.3.0-1.19 /usr/share/java/xmlgraphics-commons.jar"
    "org.apache.flink flink-sql-connector-hbase-2.2 4.0.0-1.19 /usr/share/java/velocity.jar"
    "org.apache.flink flink-sql-csv 1.19.2 /usr/share/java/commons-codec.jar"
    "com.example.udf company-udfs 2.4.1 /usr/share/java/commons-io.jar"
    "org.apache.flink flink-sql-connector-hive-3.1.3_2.12 1.19.2 BIG"
)

# bench_repo: sets BENCH_REPO (a Maven repository in the cache; read it, do not change it)
# and BENCH_COORDS (a file, one groupId:artifactId:version a line)
bench_repo() {
    local deploy_v key root entry row g a v src srcs=()
    deploy_v=$(maven_plugin_version maven-deploy-plugin)
    for row in "${BENCH_ARTIFACTS[@]}"; do
        read -r g a v src <<<"$row"
        [[ $src == BIG ]] && continue
        src=$(readlink -f "$src") && [[ -s $src ]] ||
            { echo "pipeline_vs_factory: ${row##* } is missing (install the Debian package)" >&2; return 1; }
        srcs+=("$src")
    done
    key=$(
        echo "pipeline bench v$BENCH_FIXTURE_VERSION deploy $deploy_v big $BIG_SIZE $BIG_SEED"
        "$PYTHON" -c 'import sys; print(sys.version)'
        printf '%s\n' "${BENCH_ARTIFACTS[@]}"
        stat -L -c '%n %s %Y' -- "${srcs[@]}"
    )
    root=${TEST_CACHE:-$REPO/build/test-cache}/pipeline-bench
    entry=$root/repo-$(printf '%s\n' "$key" | sha256sum | cut -c1-16)
    mkdir -p "$root"
    if [[ ! -f $entry/ok ]]; then
        local lockfd rc=0
        exec {lockfd}>"$root/.lock"
        flock "$lockfd"
        [[ -f $entry/ok ]] || _bench_build_repo "$entry" "$deploy_v" || rc=$?
        exec {lockfd}>&-
        [[ $rc -eq 0 ]] || return "$rc"
    fi
    BENCH_REPO=$entry/repo
    BENCH_COORDS=$entry/coords.txt
}

# _bench_build_repo ENTRY DEPLOY_VERSION: one mvn run, one deploy-file execution per artifact
# (each with a minimal pom of its own, as tests/maven.sh does)
_bench_build_repo() {
    local entry=$1 deploy_v=$2 work row g a v src pom execs='' i=0
    work=$(mktemp -d "$(dirname "$entry")/.build.XXXXXX")
    mkdir -p "$work/poms" "$work/lr" "$work/out/repo"
    "$PYTHON" - "$work/big.jar" "$BIG_SIZE" "$BIG_SEED" <<'PY' || return 1
import random, sys, zipfile
out, size, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
with zipfile.ZipFile(out, "w") as z:
    for name, data in (("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\r\n\r\n"),
                       ("org/apache/flink/connectors/hive/shaded/payload.bin", rng.randbytes(size))):
        info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_STORED
        info.external_attr = 0o644 << 16
        z.writestr(info, data)
PY
    : >"$work/out/coords.txt"
    for row in "${BENCH_ARTIFACTS[@]}"; do
        read -r g a v src <<<"$row"
        if [[ $src == BIG ]]; then src=$work/big.jar; else src=$(readlink -f "$src"); fi
        i=$((i + 1))
        pom=$work/poms/$a.pom
        cat >"$pom" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>$g</groupId>
  <artifactId>$a</artifactId>
  <version>$v</version>
  <packaging>jar</packaging>
</project>
EOF
        execs+="
          <execution>
            <id>a$i</id>
            <phase>validate</phase>
            <goals><goal>deploy-file</goal></goals>
            <configuration>
              <file>$src</file>
              <pomFile>$pom</pomFile>
              <groupId>$g</groupId>
              <artifactId>$a</artifactId>
              <version>$v</version>
              <packaging>jar</packaging>
            </configuration>
          </execution>"
        printf '%s:%s:%s\n' "$g" "$a" "$v" >>"$work/out/coords.txt"
    done
    cat >"$work/pom.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>org.example.bench</groupId>
  <artifactId>connector-repository</artifactId>
  <version>1.0.0</version>
  <packaging>pom</packaging>
  <build>
    <plugins>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-deploy-plugin</artifactId>
        <version>$deploy_v</version>
        <configuration>
          <repositoryId>bench</repositoryId>
          <url>file://$work/out/repo</url>
        </configuration>
        <executions>$execs
        </executions>
      </plugin>
    </plugins>
  </build>
</project>
EOF
    maven_write_settings "$work/settings.xml" "$work/lr"
    if ! (cd "$work" && mvn -B -ntp -Dstyle.color=never -s "$work/settings.xml" \
        -gs "$work/global-settings.xml" -f "$work/pom.xml" validate) >"$work/mvn.log" 2>&1; then
        echo "pipeline_vs_factory: mvn deploy-file failed; last 30 lines of $work/mvn.log:" >&2
        tail -n 30 "$work/mvn.log" | sed 's/^/  | /' >&2
        return 1
    fi
    while IFS=: read -r g a v; do
        [[ -s $work/out/repo/${g//.//}/$a/$v/$a-$v.jar && -s $work/out/repo/${g//.//}/$a/$v/$a-$v.jar.sha1 ]] ||
            { echo "pipeline_vs_factory: mvn did not deploy $g:$a:$v" >&2; return 1; }
    done <"$work/out/coords.txt"
    touch "$work/out/ok"
    rm -rf -- "$entry"
    mv -- "$work/out" "$entry"
    rm -rf -- "$work"
}

echo "== fixtures: Maven repository (Maven, nginx), production-like base (registry)" >&2
bench_repo
maven_serve "$BENCH_REPO" >/dev/null
jar_bytes=0
while IFS=: read -r g a v; do
    jar_bytes=$((jar_bytes + $(stat -c %s "$BENCH_REPO/${g//.//}/$a/$v/$a-$v.jar")))
done <"$BENCH_COORDS"
jar_count=$(wc -l <"$BENCH_COORDS")

PRODBASE_FULL=1 prodbase_build "$tmp/base" python gzip >/dev/null
base_bytes=$("$PYTHON" -c 'import json,sys
d = sys.argv[1]
m = json.load(open(d + "/blobs/" + sys.argv[2].replace(":", "/")))
print(sum(l["size"] for l in m["layers"]))' "$tmp/base" "$PRODBASE_MANIFEST_DIGEST")
registry_start reg >/dev/null 2>&1
registry_push_base reg "$tmp/base" 1.19.2 flink/flink >/dev/null
BASE_REF=$REG_HOST/flink/flink:1.19.2

# reg_uploads REPO SINCE: "COUNT BYTES MOUNTS" of blobs uploaded to / mounted into REPO after
# log line SINCE (sizes from the registry's storage)
reg_uploads() {
    local repo=$1 since=$2 n=0 bytes=0 hex mounts
    while read -r hex; do
        [[ -n $hex ]] || continue
        n=$((n + 1))
        bytes=$((bytes + $(stat -c %s "$REG_STORAGE/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data")))
    done < <(tail -n "+$((since + 1))" "$REG_LOG" | grep -E -- "$(registry_pattern uploads "$repo")" |
        grep -oE 'digest=sha256(%3A|:)[0-9a-f]{64}' | grep -oE '[0-9a-f]{64}$')
    mounts=$(registry_count reg mounts "$repo" "$since")
    echo "$n $bytes $mounts"
}

# ---------------------------------------------------------------- the job, both ways

SCRIPT_SRC=$REPO/recipes/pyflink-kafka/kafka_length.py
ARGS='"--bootstrap-servers", "kafka:9092", "--source-topic", "events", "--sink-topic", "events-length"'

# rss FILE CMD...: runs CMD under GNU time and appends its peak RSS (KiB) to FILE
rss() {
    local f=$1 o rc=0
    shift
    o=$(mktemp "$tmp/time.XXXXXX")
    /usr/bin/time -f %M -o "$o" "$@" || rc=$?
    tail -n 1 "$o" >>"$f"
    rm -f -- "$o"
    return "$rc"
}
# step OUT LOG CMD...: runs CMD (stdout to OUT, stderr to LOG) under rss for the current run;
# the log's tail on failure
step() {
    local out=$1 log=$2
    shift 2
    if ! rss "$RUN_RSS" "$@" >"$out" 2>"$log"; then
        echo "pipeline_vs_factory: failed: $*; last 20 lines of $log:" >&2
        tail -n 20 "$log" | sed 's/^/  | /' >&2
        exit 1
    fi
}

# -- the pipeline: pipe-KIND/{pom.xml, settings.xml, Containerfile, templates/, ctx/{jars,jobs}}
pipeline_setup() { # KIND (py|java)
    local kind=$1 p=$tmp/pipe-$1 deps='' g a v
    mkdir -p "$p/ctx" "$p/templates"
    while IFS=: read -r g a v; do
        deps+="
    <dependency><groupId>$g</groupId><artifactId>$a</artifactId><version>$v</version></dependency>"
    done <"$BENCH_COORDS"
    cat >"$p/pom.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>org.example.jobs</groupId>
  <artifactId>bench-connectors</artifactId>
  <version>1.0.0</version>
  <packaging>pom</packaging>
  <dependencies>$deps
  </dependencies>
</project>
EOF
    maven_write_settings "$p/settings.xml" "$p/local-repo" "$MAVEN_URL_OPEN"
    {
        echo "FROM $BASE_REF"
        echo "COPY --chown=9999:9999 jars/ /opt/flink/lib/"
        [[ $kind == java ]] || echo "COPY --chown=9999:9999 jobs/ /opt/flink/pyflink/"
    } >"$p/Containerfile"
    cat >"$p/templates/flinkdeployment.yaml" <<'EOF'
apiVersion: flink.apache.org/v1beta1
kind: FlinkDeployment
metadata:
  name: @NAME@
  namespace: flink
spec:
  image: @IMAGE@
  flinkVersion: v1_19
  serviceAccount: flink
  flinkConfiguration:
    taskmanager.numberOfTaskSlots: "2"
  jobManager:
    resource: {memory: 2048m, cpu: 1}
  taskManager:
    resource: {memory: 2048m, cpu: 1}
  job:
@JOB@
    parallelism: 1
    upgradeMode: stateless
EOF
    if [[ $kind == java ]]; then
        printf '    jarURI: local:///opt/flink/usrlib/app.jar\n    entryClass: org.example.StreamingJob\n' >"$p/templates/job"
    else
        cat >"$p/templates/job" <<'EOF'
    jarURI: local:///opt/flink/opt/flink-python-1.19.2.jar
    entryClass: org.apache.flink.client.python.PythonDriver
    args: ["-pyclientexec", "python3", "-py", "/opt/flink/pyflink/kafka_length.py",
           "--bootstrap-servers", "kafka:9092", "--source-topic", "events", "--sink-topic", "events-length"]
EOF
        cat >"$p/templates/configmap.yaml" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata:
  name: @NAME@-scripts
  namespace: flink
data:
  kafka_length.py: |
@SCRIPT@
EOF
    fi
}

BH_OPTS=()
bh() { buildah "${BH_OPTS[@]}" "$@"; }
BLOB_CACHE=/var/lib/containers/cache/blob-info-cache-v1.boltdb
bh_reset() {
    bh rmi -a -f >/dev/null 2>&1 || true
    rm -rf -- "$tmp/bh-root" "$tmp/bh-run"
    # where buildah remembers which registry repositories hold which blobs; the pull of the
    # base fills it again
    rm -f -- "$BLOB_CACHE"
}

# pipeline_run KIND MODE REPO: one timed run; appends to $RES/MODE.pipeline.*
pipeline_run() {
    local kind=$1 mode=$2 repo=$3 p=$tmp/pipe-$1 s t1 t2 t3 e mark ref
    if [[ $mode == cold* ]]; then
        rm -rf -- "$p/local-repo" "$p/ctx/jars" "$p/manifests"
        bh_reset
    fi
    RUN_RSS=$tmp/rss.run
    : >"$RUN_RSS"
    mark=$(registry_log_mark reg)
    ref=$REG_HOST/$repo:1.0
    sync
    s=$(now)
    step "$p/mvn.log" "$p/mvn.log" mvn -B -ntp -Dstyle.color=never -s "$p/settings.xml" \
        -gs "$p/global-settings.xml" -f "$p/pom.xml" \
        "org.apache.maven.plugins:maven-dependency-plugin:$DEP_V:copy-dependencies" -DoutputDirectory="$p/ctx/jars"
    t1=$(now)
    step "$p/bud.out" "$p/bud.log" buildah "${BH_OPTS[@]}" bud --layers --isolation chroot --tls-verify=false -q \
        -t "$ref" -f "$p/Containerfile" "$p/ctx"
    t2=$(now)
    step "$p/push.out" "$p/push.log" buildah "${BH_OPTS[@]}" push -q --tls-verify=false --digestfile "$p/digest" \
        "$ref" "docker://$ref"
    t3=$(now)
    mkdir -p "$p/manifests"
    step "$p/manifests/flinkdeployment.yaml" "$p/sed.log" sed -e "s|@NAME@|bench-$kind|" \
        -e "s|@IMAGE@|$REG_HOST/$repo@$(cat "$p/digest")|" -e "/@JOB@/{r $p/templates/job" -e 'd}' \
        "$p/templates/flinkdeployment.yaml"
    if [[ $kind == py ]]; then
        step "$p/script.indented" "$p/sed.log" sed -e 's/^/    /' "$p/ctx/jobs/kafka_length.py"
        step "$p/manifests/configmap.yaml" "$p/sed.log" sed -e "s|@NAME@|bench-$kind|" \
            -e "/@SCRIPT@/{r $p/script.indented" -e 'd}' "$p/templates/configmap.yaml"
    fi
    e=$(now)
    elapsed "$s" "$e" >>"$RES/$mode.pipeline.time"
    elapsed "$s" "$t1" >>"$RES/$mode.pipeline.mvn"
    elapsed "$t1" "$t2" >>"$RES/$mode.pipeline.bud"
    elapsed "$t2" "$t3" >>"$RES/$mode.pipeline.push"
    elapsed "$t3" "$e" >>"$RES/$mode.pipeline.sed"
    sort -n "$RUN_RSS" | tail -n 1 >>"$RES/$mode.pipeline.rss"
    reg_uploads "$repo" "$mark" >>"$RES/$mode.pipeline.reg"
    cat "$p/digest" >>"$RES/$mode.pipeline.digest"
    echo >>"$RES/$mode.pipeline.digest"
}

# -- factory: fac-KIND/{factory.yaml, recipe.yaml, jobs/}
factory_setup() { # KIND
    local kind=$1 f=$tmp/fac-$1
    mkdir -p "$f"
    cat >"$f/factory.yaml" <<YAML
apiVersion: factory.dev/v1alpha1
kind: Config
maven:
  repositories: [{name: bench, url: "$MAVEN_URL_OPEN"}]
registries: [{host: "$REG_HOST", insecure: true, credentials: none}]
cache: {dir: $f/cache}
YAML
}
factory_recipe() { # KIND REPO
    local kind=$1 repo=$2 f=$tmp/fac-$1 c
    {
        printf 'apiVersion: factory.dev/v1alpha1\nkind: Recipe\nmetadata: {name: bench-%s, namespace: flink}\n' "$kind"
        printf 'flink: {version: 1.19.2, image: "%s"}\n' "$BASE_REF"
        printf 'image: {registry: "%s", repository: "%s", tags: ["1.0"]}\n' "$REG_HOST" "$repo"
        printf 'connectors:\n'
        while IFS= read -r c; do printf '  - {maven: "%s", destination: lib}\n' "$c"; done <"$BENCH_COORDS"
        if [[ $kind == java ]]; then
            printf 'java: {jarURI: "local:///opt/flink/usrlib/app.jar", entryClass: org.example.StreamingJob}\n'
        else
            printf 'python:\n  scripts: [jobs/kafka_length.py]\n  args: [%s]\n' "$ARGS"
        fi
        printf 'job: {parallelism: 1, upgradeMode: stateless}\n'
        printf 'jobManager: {memory: 2048m, cpu: 1}\ntaskManager: {memory: 2048m, cpu: 1, slots: 2}\n'
    } >"$f/recipe.yaml"
}
json_field() { # FILE EXPR: a value of factory's --json document
    "$PYTHON" -c 'import json,sys
d = json.load(open(sys.argv[1]))
v = eval(sys.argv[2], {"d": d})
print("null" if v is None else v)' "$1" "$2"
}

# factory_run KIND MODE REPO: one timed run; appends to $RES/MODE.factory.*
factory_run() {
    local kind=$1 mode=$2 repo=$3 f=$tmp/fac-$1 s e mark
    if [[ $mode == cold* ]]; then
        rm -rf -- "$f/cache" "$f/out" "$f/factory.lock"
        factory_recipe "$kind" "$repo"
    fi
    RUN_RSS=$tmp/rss.run
    : >"$RUN_RSS"
    mark=$(registry_log_mark reg)
    sync
    s=$(now)
    if ! rss "$RUN_RSS" "$FACTORY" build --push --json -v --config "$f/factory.yaml" -o "$f/out" \
        "$f/recipe.yaml" >"$f/run.json" 2>"$f/run.err"; then
        echo "pipeline_vs_factory: factory build --push failed ($mode, $kind):" >&2
        tail -n 20 "$f/run.err" | sed 's/^/  | /' >&2
        json_field "$f/run.json" 'd["error"]' >&2 || true
        exit 1
    fi
    e=$(now)
    elapsed "$s" "$e" >>"$RES/$mode.factory.time"
    tail -n 1 "$RUN_RSS" >>"$RES/$mode.factory.rss"
    reg_uploads "$repo" "$mark" >>"$RES/$mode.factory.reg"
    json_field "$f/run.json" 'd["image"]["digest"]' >>"$RES/$mode.factory.digest"
    json_field "$f/run.json" '"%d %d %d" % (d["pushed"]["uploaded"], d["pushed"]["mounted"], d["pushed"]["existing"])' \
        >>"$RES/$mode.factory.pushed"
    # a push with nothing to send makes no PUT, POST or PATCH at all
    { grep -E '^http: (PUT|POST|PATCH) ' "$f/run.err" || true; } | { grep -oE 'sent [0-9]+ bytes' || true; } |
        awk '{s += $2} END {print s + 0}' >>"$RES/$mode.factory.sent"
}

edit_script() { # FILE RUN: changes one line (the default consumer group)
    sed -i "s/default=\"pyflink-kafka-length[^\"]*\"/default=\"pyflink-kafka-length-edit-$2\"/" "$1"
    grep -q "pyflink-kafka-length-edit-$2" "$1" || { echo "pipeline_vs_factory: the script edit did not apply" >&2; exit 1; }
}

# ---------------------------------------------------------------- buildah: can it run here?

DRIVER=
BUILDAH_WHY=
DEP_V=$(maven_plugin_version maven-dependency-plugin)
if ! command -v buildah >/dev/null; then
    BUILDAH_WHY="buildah is not installed and apt-get could not install it"
else
    probe_why=
    mkdir -p "$tmp/probe"
    echo probe >"$tmp/probe/f"
    for DRIVER in overlay vfs; do
        BH_OPTS=(--root "$tmp/bh-root" --runroot "$tmp/bh-run" --storage-driver "$DRIVER")
        if c=$(bh from scratch 2>"$tmp/probe.log") && bh copy "$c" "$tmp/probe/f" /f >/dev/null 2>>"$tmp/probe.log" &&
            bh commit -q "$c" localhost/probe:1 >/dev/null 2>>"$tmp/probe.log" && bh rm "$c" >/dev/null 2>&1; then
            probe_why=
            break
        fi
        probe_why+="$DRIVER: $(tail -n 1 "$tmp/probe.log"); "
        bh_reset
    done
    bh_reset
    if [[ -n $probe_why ]]; then
        BUILDAH_WHY="buildah cannot build here: ${probe_why%; }"
        DRIVER=
    fi
fi
if [[ -n $DRIVER ]]; then
    BUILDAH_DESC="$(buildah --version | awk '{print $1, $3}'), storage driver $DRIVER"
    [[ $DRIVER == overlay ]] || BUILDAH_DESC+=" (the overlay driver does not work here)"
    echo "== $BUILDAH_DESC" >&2
else
    echo "pipeline_vs_factory: $BUILDAH_WHY; only factory is measured" >&2
fi

# ---------------------------------------------------------------- the runs

for kind in py java; do
    [[ -z $DRIVER ]] || pipeline_setup "$kind"
    factory_setup "$kind"
done
mkdir -p "$tmp/pipe-py/ctx/jobs" "$tmp/fac-py/jobs"

for i in $(seq "$RUNS"); do
    echo "== run $i/$RUNS" >&2
    cp "$SCRIPT_SRC" "$tmp/pipe-py/ctx/jobs/kafka_length.py"
    cp "$SCRIPT_SRC" "$tmp/fac-py/jobs/kafka_length.py"
    if [[ -n $DRIVER ]]; then
        pipeline_run py cold "bench/pipeline-py-$i"
        pipeline_run py warm "bench/pipeline-py-$i"
        edit_script "$tmp/pipe-py/ctx/jobs/kafka_length.py" "$i"
        pipeline_run py edit "bench/pipeline-py-$i"
    fi
    factory_run py cold "bench/factory-py-$i"
    factory_run py warm "bench/factory-py-$i"
    edit_script "$tmp/fac-py/jobs/kafka_length.py" "$i"
    factory_run py edit "bench/factory-py-$i"
    if [[ -n $DRIVER ]]; then
        pipeline_run java coldjava "bench/pipeline-java-$i"
    fi
    factory_run java coldjava "bench/factory-java-$i"
done
[[ -z $DRIVER ]] || bh_reset

# both images hold the same JARs under /opt/flink/lib (last run; file names and sizes)
lib_list() { # LAYOUT -> "name size" of each opt/flink/lib/*.jar in the layers the base does not have
    "$PYTHON" - "$1" "$PRODBASE_LAYER_DIGESTS" <<'PY'
import json, sys, tarfile, os
layout, base = sys.argv[1], set(sys.argv[2].split())
idx = json.load(open(os.path.join(layout, "index.json")))
def blob(d):
    return os.path.join(layout, "blobs", *d.split(":", 1))
man = json.load(open(blob(idx["manifests"][0]["digest"])))
seen = {}
for l in man["layers"]:
    if l["digest"] in base:
        continue
    p = blob(l["digest"])
    with tarfile.open(p, "r:*") as t:
        for m in t:
            n = m.name.lstrip("./")
            if n.startswith("opt/flink/lib/") and n.endswith(".jar") and m.isfile():
                seen[n] = m.size
for n in sorted(seen):
    print(os.path.basename(n), seen[n])
PY
}
check=''
if [[ -n $DRIVER ]]; then
    skopeo --insecure-policy copy -q --src-tls-verify=false "docker://$REG_HOST/bench/pipeline-py-$RUNS:1.0" \
        "oci:$tmp/check-pipeline:1.0" >/dev/null
    skopeo --insecure-policy copy -q --src-tls-verify=false "docker://$REG_HOST/bench/factory-py-$RUNS:1.0" \
        "oci:$tmp/check-factory:1.0" >/dev/null
    lib_list "$tmp/check-pipeline" >"$tmp/lib.pipeline"
    lib_list "$tmp/check-factory" >"$tmp/lib.factory"
    if cmp -s "$tmp/lib.pipeline" "$tmp/lib.factory"; then
        check="both images hold the same $(wc -l <"$tmp/lib.factory") JARs in /opt/flink/lib (names and sizes)"
    else
        check="WARNING: /opt/flink/lib differs between the images: $(diff "$tmp/lib.pipeline" "$tmp/lib.factory" | tr '\n' ' ')"
    fi
fi

# ---------------------------------------------------------------- the report

med() { [[ -s $RES/$1 ]] && median <"$RES/$1" || echo ""; }
col() { # FILE N: median of column N
    [[ -s $RES/$1 ]] && awk -v n="$2" '{print $n}' "$RES/$1" | median || echo ""
}
printf '\nworkload: %d connector JARs, %s MB (one of %s MB incompressible), from Maven via nginx\n' \
    "$jar_count" "$(mb "$jar_bytes")" "$(mb "$BIG_SIZE")"
printf 'base: tests/prodbase.sh python gzip, PRODBASE_FULL=1, %s MB of layers, in docker-registry %s\n' \
    "$(mb "$base_bytes")" "$REG_HOST"
printf 'factory: %s (%s)\n' "$FACTORY" "$("$FACTORY" --version 2>/dev/null | head -n 1)"
if [[ -n $DRIVER ]]; then
    printf 'pipeline: mvn dependency:copy-dependencies (maven-dependency-plugin %s), buildah bud --layers,\n' "$DEP_V"
    printf '          buildah push, sed (%s)\n' "$BUILDAH_DESC"
else
    printf 'pipeline: not measured: %s\n' "$BUILDAH_WHY"
fi
printf '%d runs, medians, %d cores\n\n' "$RUNS" "$(nproc)"
printf '%-22s %12s %11s %9s %14s %13s\n' mode 'pipeline s' 'factory s' ratio 'pipeline RSS' 'factory RSS'
for m in cold warm edit coldjava; do
    case $m in
        cold) label='cold (PyFlink)' ;;
        warm) label='warm (PyFlink)' ;;
        edit) label='script edit (PyFlink)' ;;
        coldjava) label='cold (Java job)' ;;
    esac
    ft=$(med "$m.factory.time")
    fr=$(med "$m.factory.rss")
    if [[ -n $DRIVER ]]; then
        pt=$(med "$m.pipeline.time")
        pr=$(med "$m.pipeline.rss")
        printf '%-22s %12.3f %11.3f %8sx %10s MiB %9s MiB\n' "$label" "$pt" "$ft" "$(ratio "$pt" "$ft")" \
            "$(mib "$pr")" "$(mib "$fr")"
    else
        printf '%-22s %12s %11.3f %9s %14s %9s MiB\n' "$label" - "$ft" - - "$(mib "$fr")"
    fi
done

if [[ -n $DRIVER ]]; then
    printf '\npipeline steps (medians, s):   %8s %8s %8s %8s\n' mvn bud push sed
    for m in cold warm edit coldjava; do
        printf '  %-28s %8.3f %8.3f %8.3f %8.3f\n' "$m" "$(med "$m.pipeline.mvn")" "$(med "$m.pipeline.bud")" \
            "$(med "$m.pipeline.push")" "$(med "$m.pipeline.sed")"
    done
fi
printf '\nregistry, per run (medians): blobs uploaded / MB uploaded / blobs mounted\n'
for m in cold warm edit coldjava; do
    line=$(printf '  %-10s factory %3s / %7s / %2s' "$m" "$(col "$m.factory.reg" 1)" \
        "$(mb "$(col "$m.factory.reg" 2)")" "$(col "$m.factory.reg" 3)")
    if [[ -n $DRIVER ]]; then
        line+=$(printf '    pipeline %3s / %7s / %2s' "$(col "$m.pipeline.reg" 1)" \
            "$(mb "$(col "$m.pipeline.reg" 2)")" "$(col "$m.pipeline.reg" 3)")
    fi
    echo "$line"
done

# factory's script edit: what it pushed, and whether the image stayed the same
same=0 total=0
paste -d' ' "$RES/warm.factory.digest" "$RES/edit.factory.digest" >"$tmp/digests"
while read -r a b; do
    total=$((total + 1))
    [[ $a == "$b" ]] && same=$((same + 1))
done <"$tmp/digests"
printf '\nfactory, script edit: --json pushed (uploaded/mounted/existing) %s; bytes sent in PUT/POST/PATCH (-v) %s\n' \
    "$(sort -u "$RES/edit.factory.pushed" | tr '\n' ',' | sed 's/,$//; s/ /\//g')" \
    "$(sort -u "$RES/edit.factory.sent" | tr '\n' ',' | sed 's/,$//')"
printf 'factory, script edit: image digest unchanged in %d of %d runs (%s)\n' "$same" "$total" \
    "$(head -n 1 "$RES/edit.factory.digest")"
if [[ -n $DRIVER ]]; then
    same=0 total=0
    paste -d' ' "$RES/warm.pipeline.digest" "$RES/edit.pipeline.digest" >"$tmp/digests"
    while read -r a b; do
        total=$((total + 1))
        [[ $a == "$b" ]] && same=$((same + 1))
    done <"$tmp/digests"
    printf 'pipeline, script edit: image digest unchanged in %d of %d runs (the script is COPYed into the image)\n' \
        "$same" "$total"
    same=0 total=0
    paste -d' ' "$RES/cold.pipeline.digest" "$RES/warm.pipeline.digest" >"$tmp/digests"
    while read -r a b; do
        total=$((total + 1))
        [[ $a == "$b" ]] && same=$((same + 1))
    done <"$tmp/digests"
    printf 'pipeline, warm: image digest unchanged in %d of %d runs\n' "$same" "$total"
    printf '%s\n' "$check"
fi

# ---------------------------------------------------------------- profile hints

if [[ -n ${PROFILE_DIR:-} ]]; then
    mkdir -p "$PROFILE_DIR"
    f=$tmp/fac-py
    # warm: the last run's bundle, nothing changed since
    strace -f -c -o "$PROFILE_DIR/strace-warm.txt" "$FACTORY" build --push -q --config "$f/factory.yaml" \
        -o "$f/out" "$f/recipe.yaml" >/dev/null
    printf '\nstrace -f -c of a warm factory build --push (%s):\n' "$PROFILE_DIR/strace-warm.txt"
    cat "$PROFILE_DIR/strace-warm.txt"
    # the same once more, call by call: bytes read per file, the files fsynced
    rm -f -- "$PROFILE_DIR"/strace-warm-calls.*
    strace -ff -y -e trace=read,pread64,write,fsync,fdatasync -o "$PROFILE_DIR/strace-warm-calls" \
        "$FACTORY" build --push -q --config "$f/factory.yaml" -o "$f/out" "$f/recipe.yaml" >/dev/null
    "$PYTHON" - "$tmp/" "$PROFILE_DIR"/strace-warm-calls.* <<'PY'
import collections, re, sys
tmp = sys.argv[1]
rd, wr, syncs = collections.Counter(), collections.Counter(), collections.Counter()
n = collections.Counter()
pat = re.compile(r"^(read|pread64|write|fsync|fdatasync)\(\d+<([^>]*)>.*\)\s+=\s+(-?\d+)")
lines = (l for f in sys.argv[2:] for l in open(f, errors="replace"))
for line in lines:
    m = pat.match(line)
    if not m:
        continue
    call, path, ret = m.group(1), m.group(2).replace(tmp, ""), int(m.group(3))
    path = re.sub(r"[0-9a-f]{64}", "<hex>", path)
    path = re.sub(r"\.[A-Za-z0-9]{6}(?=/|$)", ".XXXXXX", path)
    n[call] += 1
    if call in ("read", "pread64") and ret > 0:
        rd[path] += ret
    elif call == "write" and ret > 0:
        wr[path] += ret
    elif call in ("fsync", "fdatasync"):
        syncs[path] += 1
print("warm build, call by call (strace -ff -y; paths relative to the benchmark's temporary directory):")
print("  bytes read: %d in %d calls; largest:" % (sum(rd.values()), n["read"] + n["pread64"]))
for p, b in rd.most_common(6):
    print("    %12d  %s" % (b, p))
print("  bytes written: %d in %d calls" % (sum(wr.values()), n["write"]))
print("  fsync/fdatasync: %d calls on:" % (n["fsync"] + n["fdatasync"]))
for p, c in syncs.most_common(12):
    print("    %4d  %s" % (c, p))
PY
    # cold, on a pseudo-terminal so the stage lines are printed, each line stamped
    rm -rf -- "$f/cache" "$f/out" "$f/factory.lock"
    factory_recipe py bench/factory-py-profile
    cmd=$(printf '%q ' "$FACTORY" build --push -v --config "$f/factory.yaml" -o "$f/out" "$f/recipe.yaml")
    sync
    script -qefc "$cmd" /dev/null | "$PYTHON" -c '
import re, sys, time
t0 = time.monotonic()
ansi = re.compile(rb"\x1b\[[0-9;]*[A-Za-z]")
stages = ["fetching the inputs", "assembling the image", "rendering the manifests", "pushing the image"]
marks, buf, progress = [], b"", None
spans = {}  # kind of request -> [first, last] time of its -v lines (printed when each ends)
def emit(seg):
    global progress
    s = ansi.sub(b"", seg).decode("utf-8", "replace").strip()
    if not s:
        return
    t = time.monotonic() - t0
    st = next((x for x in stages if s.startswith(x)), None)
    if st:
        if not marks or marks[-1][1] != st:
            marks.append((t, st))
            print("%8.3f  [stage] %s" % (t, s), flush=True)
        return
    m = re.match(r"fetching (\d+/\d+) artifacts", s)
    if m:  # a redrawn progress line: once per count
        if m.group(1) != progress:
            progress = m.group(1)
            print("%8.3f  %s" % (t, s), flush=True)
        return
    m = re.match(r"http: (\S+) (\S+)", s)
    if m:
        meth, url = m.groups()
        kind = ("registry blob GET (base)" if "/blobs/" in url and meth == "GET" else
                "registry push requests" if "/v2/" in url and meth != "GET" else
                "registry other GET" if "/v2/" in url else "Maven repository GET")
        spans.setdefault(kind, [t, t])[1] = t
    print("%8.3f  %s" % (t, s), flush=True)
while True:
    b = sys.stdin.buffer.read1(65536)
    if not b:
        break
    buf += b
    parts = re.split(rb"[\r\n]", buf)
    buf = parts.pop()
    for p in parts:
        emit(p)
emit(buf)
end = time.monotonic() - t0
print("%8.3f  [end]" % end)
print("stage split (s, from each stage line to the next; the stage lines come from the progress display):")
for k, (t, name) in enumerate(marks):
    nxt = marks[k + 1][0] if k + 1 < len(marks) else end
    print("  %-26s %7.3f   (%.3f .. %.3f)" % (name, nxt - t, t, nxt))
print("requests (-v prints a line when each one ends: first .. last line):")
for kind, (a, b) in sorted(spans.items(), key=lambda kv: kv[1][0]):
    print("  %-26s %.3f .. %.3f" % (kind, a, b))
' >"$PROFILE_DIR/cold-verbose.txt"
    printf '\ncold PyFlink factory build --push -v, time split (%s):\n' "$PROFILE_DIR/cold-verbose.txt"
    sed -n '/^stage split/,$p' "$PROFILE_DIR/cold-verbose.txt"
fi
