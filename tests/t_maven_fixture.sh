#!/usr/bin/env bash
# Self-test of tests/maven.sh (a Maven repository written by real Maven, served by nginx)
# and a smoke run of tests/bench/maven_baseline.sh against it.
# shellcheck disable=SC2016  # bash -c '...' scripts get their values as "$1"...
set -euo pipefail
# shellcheck source=tests/lib.sh
. "${TESTS_DIR:-$(cd "$(dirname "$0")" && pwd)}/lib.sh"
# shellcheck source=tests/maven.sh
. "$TESTS_DIR/maven.sh"

tmp=$(t_tmpdir)
repo=$tmp/repo

# ---------------------------------------------------------------- building

t0=$SECONDS
if ! maven_build_repo "$repo"; then
    t_fail "fixture: maven_build_repo" "see the log"
    exit 1
fi
echo "maven_build_repo took $((SECONDS - t0)) s ($(cat "$(dirname "$MAVEN_FIXTURE_LIST")/ok"))" >&2
t_ok "fixture: maven_build_repo"

mapfile -t coords <"$MAVEN_FIXTURE_COORDS"
t_check "fixture: 20 + 2 artifacts listed" test "${#coords[@]}" -eq 22
t_check "fixture: Flink connector coordinates" grep -qx \
    'org.apache.flink:flink-sql-connector-kafka:3.3.0-1.19' "$MAVEN_FIXTURE_COORDS"
t_check "fixture: Flink jdbc coordinates" grep -qx \
    'org.apache.flink:flink-connector-jdbc:3.3.0-1.19' "$MAVEN_FIXTURE_COORDS"

# every artifact: Maven's layout and checksums, plus the extra sidecars as declared
check_layout() {
    local g a v rel src sha1 sha256 sc jar d base f
    while IFS=$'\t' read -r g a v rel src sha1 sha256 sc; do
        [[ $g == groupId ]] && continue
        jar=$repo/$rel d=$(dirname "$jar") base=$(basename "$jar")
        [[ $rel == "${g//.//}/$a/$v/$a-$v.jar" ]] || { echo "bad path $rel"; return 1; }
        for f in "$jar" "$jar.sha1" "$jar.md5" "${jar%.jar}.pom" "${jar%.jar}.pom.sha1" \
            "${jar%.jar}.pom.md5" "$repo/${g//.//}/$a/maven-metadata.xml" \
            "$repo/${g//.//}/$a/maven-metadata.xml.sha1"; do
            [[ -s $f ]] || { echo "missing $f"; return 1; }
        done
        cmp "$jar" "$src" || return 1
        [[ $(cat "$jar.sha1") == "$sha1" && $(sha1sum <"$jar" | cut -c1-40) == "$sha1" ]] ||
            { echo "sha1 $rel"; return 1; }
        [[ $(cat "$jar.md5") == "$(md5sum <"$jar" | cut -c1-32)" ]] || { echo "md5 $rel"; return 1; }
        [[ $(cat "${jar%.jar}.pom.sha1") == "$(sha1sum <"${jar%.jar}.pom" | cut -c1-40)" ]] ||
            { echo "pom sha1 $rel"; return 1; }
        grep -q "<artifactId>$a</artifactId>" "${jar%.jar}.pom" || { echo "pom of $rel"; return 1; }
        grep -q "<version>$v</version>" "$repo/${g//.//}/$a/maven-metadata.xml" ||
            { echo "metadata of $rel"; return 1; }
        case ,$sc, in
            *,sha256:hex,*) [[ $(cat "$jar.sha256") == "$sha256" ]] || { echo "sha256 $rel"; return 1; } ;;
        esac
        case ,$sc, in
            *,sha256:hex-name,*) [[ $(cat "$jar.sha256") == "$sha256  $base" ]] ||
                { echo "sha256 name $rel"; return 1; }
                (cd "$d" && sha256sum -c --quiet "$base.sha256") || return 1 ;;
        esac
        case ,$sc, in
            *,sha256:hex-star-name,*) [[ $(cat "$jar.sha256") == "$sha256 *$base" ]] ||
                { echo "sha256 star $rel"; return 1; } ;;
        esac
        case ,$sc, in
            *,sha512:hex,*) [[ $(cat "$jar.sha512") == "$(sha512sum <"$jar" | cut -c1-128)" ]] ||
                { echo "sha512 $rel"; return 1; } ;;
            *,sha512:hex-name,*) (cd "$d" && sha512sum -c --quiet "$base.sha512") || return 1 ;;
        esac
    done <"$MAVEN_FIXTURE_LIST"
}
t_check "fixture: layout, checksums and sidecars of every artifact" check_layout
t_check "fixture: sidecars in both formats exist" bash -c '
    cd "$1" && ls org/example/fixture/*/1.0.0/*.jar.sha256 org/example/fixture/*/1.0.0/*.jar.sha512 \
        org/apache/flink/*/*/*.jar.sha512 >/dev/null &&
    grep -lE "^[0-9a-f]{64}  [^ ]+\.jar$" org/example/fixture/*/1.0.0/*.sha256 &&
    grep -lE "^[0-9a-f]{128}  [^ ]+\.jar$" org/apache/flink/*/*/*.sha512' _ "$repo"

# second build: from the cache, a separate copy
repo2=$tmp/repo2
ok_before=$(stat -c %Y "$(dirname "$MAVEN_FIXTURE_LIST")/ok")
t0=$(date +%s%N)
maven_build_repo "$repo2" >/dev/null 2>&1
ms=$((($(date +%s%N) - t0) / 1000000))
echo "cached maven_build_repo took $ms ms" >&2
t_check "fixture: second build comes from the cache" \
    test "$(stat -c %Y "$(dirname "$MAVEN_FIXTURE_LIST")/ok")" = "$ok_before"
t_check "fixture: cached copy is identical" diff -r "$repo" "$repo2"
t_check "fixture: copies are independent" bash -c '
    f=$(ls "$1"/org/example/fixture/*/1.0.0/*.jar | head -n 1); echo x >>"$f"
    ! cmp -s "$f" "$2/${f#"$1"/}"' _ "$repo2" "$repo"
t_check "fixture: non-empty DIR is refused" bash -c '! (. "$1/lib.sh"; . "$1/maven.sh"; maven_build_repo "$2")' \
    _ "$TESTS_DIR" "$repo2"

# ---------------------------------------------------------------- serving

maven_serve "$repo"
echo "MAVEN_URL_OPEN=$MAVEN_URL_OPEN MAVEN_ACCESS_LOG=$MAVEN_ACCESS_LOG" >&2
t_check "serve: variables set" test -n "$MAVEN_PORT" -a \
    "$MAVEN_URL_OPEN" = "http://127.0.0.1:$MAVEN_PORT/open" -a \
    "$MAVEN_URL_PRIVATE" = "http://127.0.0.1:$MAVEN_PORT/private" -a -f "$MAVEN_ACCESS_LOG"

kafka=org/apache/flink/flink-sql-connector-kafka/3.3.0-1.19/flink-sql-connector-kafka-3.3.0-1.19.jar
small=$(awk -F'\t' '$1 == "org.example.fixture" { print $4; exit }' "$MAVEN_FIXTURE_LIST")
dl=$(t_tmpdir)

fetch_and_verify() { # URL-base REL [curl args]
    local base=$1 rel=$2
    shift 2
    curl -fsS "$@" -o "$dl/x.jar" "$base/$rel" &&
        curl -fsS "$@" -o "$dl/x.jar.sha1" "$base/$rel.sha1" &&
        [[ $(sha1sum <"$dl/x.jar" | cut -c1-40) == "$(cat "$dl/x.jar.sha1")" ]] &&
        cmp "$dl/x.jar" "$repo/$rel"
}
t_check "serve: /open/ jar and .sha1 match (kafka connector)" fetch_and_verify "$MAVEN_URL_OPEN" "$kafka"
t_check "serve: /open/ jar and .sha1 match (fixture jar)" fetch_and_verify "$MAVEN_URL_OPEN" "$small"
t_check "serve: /open/ maven-metadata.xml" bash -c \
    'curl -fsS "$1" | grep -q "<version>3.3.0-1.19</version>"' _ \
    "$MAVEN_URL_OPEN/org/apache/flink/flink-sql-connector-kafka/maven-metadata.xml"

status() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
t_check "serve: /private/ without credentials is 401" \
    test "$(status "$MAVEN_URL_PRIVATE/$kafka")" = 401
t_check "serve: /private/ with a wrong password is 401" \
    test "$(status --user "fetcher:wrong" "$MAVEN_URL_PRIVATE/$kafka")" = 401
t_check "serve: /private/ with credentials is 200" \
    test "$(status --user "$MAVEN_FIXTURE_USER:$MAVEN_FIXTURE_PASSWORD" "$MAVEN_URL_PRIVATE/$kafka")" = 200
t_check "serve: /private/ jar and .sha1 match" fetch_and_verify "$MAVEN_URL_PRIVATE" "$kafka" \
    --user "$MAVEN_FIXTURE_USER:$MAVEN_FIXTURE_PASSWORD"
t_check "serve: missing file is 404" test "$(status "$MAVEN_URL_OPEN/org/nope/x.jar")" = 404

range_ok() {
    local code
    code=$(curl -sS -r 1000-1999 -o "$dl/part" -w '%{http_code}' "$MAVEN_URL_OPEN/$kafka") || return 1
    [[ $code == 206 ]] || { echo "status $code"; return 1; }
    cmp "$dl/part" <(tail -c +1001 "$repo/$kafka" | head -c 1000) || return 1
    # resume: an open-ended range from the middle
    code=$(curl -sS -H 'Range: bytes=2000000-' -o "$dl/tail" -w '%{http_code}' "$MAVEN_URL_OPEN/$kafka")
    [[ $code == 206 ]] && cmp "$dl/tail" <(tail -c +2000001 "$repo/$kafka")
}
t_check "serve: Range requests get 206 and the right bytes" range_ok

log_ok() {
    local log=$MAVEN_ACCESS_LOG b64
    b64=$(printf '%s' "$MAVEN_FIXTURE_USER:$MAVEN_FIXTURE_PASSWORD" | base64)
    grep -E "\"GET /open/$kafka HTTP/1\.1\" 200 [0-9]+ auth=no" "$log" || return 1
    grep -E "\"GET /private/$kafka HTTP/1\.1\" 401 [0-9]+ auth=no" "$log" || return 1
    grep -E "\"GET /private/$kafka HTTP/1\.1\" 200 [0-9]+ auth=yes" "$log" || return 1
    grep -E "\"GET /open/$kafka HTTP/1\.1\" 206 1000 auth=no range=\"bytes=1000-1999\"" "$log" || return 1
    ! grep -v -- '_ready' "$log" | grep -vE '^127\.0\.0\.1 \[[^]]+\] "[^"]*" [0-9]{3} [0-9]+ auth=(yes|no) range="[^"]*"$' || return 1
    # no credential anywhere in what the server wrote
    ! grep -rF -e "$MAVEN_FIXTURE_PASSWORD" -e "$b64" -e wrong "$log" "$(harness_log maven)"
}
t_check "serve: access log records requests, auth=yes|no, no credentials" log_ok

# ---------------------------------------------------------------- baseline smoke run

bench=$(t_tmpdir)
head -n 5 "$MAVEN_FIXTURE_COORDS" >"$bench/list"
if secs=$(MAVEN_BASELINE_USER=$MAVEN_FIXTURE_USER MAVEN_BASELINE_PASSWORD=$MAVEN_FIXTURE_PASSWORD \
    "$TESTS_DIR/bench/maven_baseline.sh" "$MAVEN_URL_PRIVATE" "$bench/list" "$bench/out"); then
    echo "maven_baseline (5 artifacts, /private/): $secs s" >&2
    t_check "baseline: prints seconds" grep -qE '^[0-9]+\.[0-9]+$' <<<"$secs"
    t_check "baseline: 5 jars copied" test "$(find "$bench/out/jars" -name '*.jar' | wc -l)" -eq 5
else
    t_fail "baseline: maven_baseline.sh on 5 artifacts over /private/" "see the log"
fi
