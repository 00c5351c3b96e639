#!/usr/bin/env bash
# Session job jars: the operator fetches them over https, plain http (a warning: anyone on the
# way can change the jar) or from a Flink file system (s3://, gs://, ... — a warning that the
# operator's image needs the matching filesystem plugin); anything else is an error at its line.
set -euo pipefail
. "${TESTS_DIR:-$(cd "$(dirname "$0")" && pwd)}/lib.sh"
t_need_factory

tmp=$(t_tmpdir)
session() { # FILE JAR_URI
    cat > "$1" <<YAML
apiVersion: factory.dev/v1alpha1
kind: Recipe
metadata: {name: session-jars}
flink: {version: "1.19"}
mode: session
sessionJobs:
  - name: job
    jarURI: $2
jobManager: {memory: 2048m}
taskManager: {memory: 2048m}
YAML
}
render() { # NAME JAR_URI: sets RC and LOG
    session "$tmp/$1.yaml" "$2"
    RC=0
    "$FACTORY" render -q --catalog "$REPO/connectors" -o "$tmp/out-$1" "$tmp/$1.yaml" 2> "$tmp/$1.log" || RC=$?
    LOG=$tmp/$1.log
}
render https https://repo.example.com/jobs/app.jar
t_check "https: rendered, no warning" sh -c '[ "$1" -eq 0 ] && [ ! -s "$2" ]' _ "$RC" "$LOG"
render http http://repo.example.com/jobs/app.jar
t_check "plain http: rendered with a warning at its line" sh -c \
    '[ "$1" -eq 0 ] && grep -q "http.yaml:8:13: warning: sessionJobs\[0\].jarURI: .* plain http" "$2"' _ "$RC" "$LOG"
render s3 s3://jobs/app.jar
t_check "s3://: rendered, warning that the operator needs the filesystem plugin" sh -c \
    '[ "$1" -eq 0 ] && grep -q "warning: sessionJobs\[0\].jarURI: the operator reads s3:// through a Flink filesystem plugin" "$2" &&
     grep -q "jarURI: s3://jobs/app.jar" "$3"/session-jars/manifests/*sessionjob*.yaml' _ "$RC" "$LOG" "$tmp/out-s3"
render local local:///opt/flink/usrlib/app.jar
t_check "local://: refused at its line, nothing written" sh -c \
    '[ "$1" -eq 1 ] && grep -q "local.yaml:8:13: error: sessionJobs\[0\].jarURI" "$2" && [ ! -e "$3" ]' _ "$RC" "$LOG" "$tmp/out-local"
exit 0
