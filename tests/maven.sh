# shellcheck shell=bash
# shellcheck source=tests/nginx.sh
. "${TESTS_DIR:-$(dirname "${BASH_SOURCE[0]}")}/nginx.sh"
# A real Maven repository for tests: built by real Maven (deploy:deploy-file, offline from
# Debian's /usr/share/maven-repo) and served by nginx on 127.0.0.1. Source it after lib.sh:
#
#     . "$TESTS_DIR/lib.sh"
#     . "$TESTS_DIR/maven.sh"
#     repo=$(t_tmpdir)/repo
#     maven_build_repo "$repo"          # not in $( ): it sets variables
#     maven_serve "$repo"
#     curl -fsS "$MAVEN_URL_OPEN/org/apache/flink/..."
#
# maven_build_repo DIR [COUNT]
#     Fills DIR (created if missing; must be empty) with a Maven repository: COUNT (default
#     20) jars from Debian's lib*-java packages, deployed as org.example.fixture:<name>:1.0.0,
#     plus two "connector" artifacts org.apache.flink:flink-sql-connector-kafka:3.3.0-1.19
#     (guava.jar, 2.9 MB) and org.apache.flink:flink-connector-jdbc:3.3.0-1.19. Maven writes
#     the layout: <a>-<v>.jar, <a>-<v>.pom, .sha1 and .md5 of both, and maven-metadata.xml
#     (+ .sha1/.md5) per groupId:artifactId. Extra sidecars written with sha256sum/sha512sum
#     (column "sidecars" of the list below says which):
#       first fixture jar   .sha256 "hex"             .sha512 "hex"
#       second              .sha256 "hex  name.jar"   (sha256sum's format)
#       third               .sha512 "hex  name.jar"
#       fourth              .sha256 "hex *name.jar"   (sha256sum --binary)
#       kafka connector     .sha256 "hex"             .sha512 "hex  name.jar" (Apache dist style)
#       jdbc connector      .sha512 "hex"
#     The repository is built once per cache key (MAVEN_FIXTURE_VERSION, COUNT, the chosen
#     jars, the deploy plugin) under ${TEST_CACHE:-$REPO/build/test-cache}/maven-repo/ and
#     copied into DIR (a real copy: tests may damage files in DIR). Sets and exports:
#       MAVEN_REPO_DIR        DIR (absolute)
#       MAVEN_FIXTURE_LIST    TSV, one artifact a line, header first: groupId artifactId
#                             version path (jar, relative to DIR) source (original jar)
#                             sha1 sha256 sidecars
#       MAVEN_FIXTURE_COORDS  one groupId:artifactId:version a line (all COUNT+2 artifacts)
#     Both files live in the cache: read them, do not change them.
#
# maven_serve DIR [NAME]
#     Starts nginx (harness server NAME, default "maven") on a free 127.0.0.1 port with
#       /open/     DIR, no authentication
#       /private/  DIR, HTTP basic auth: user $MAVEN_FIXTURE_USER, password
#                  $MAVEN_FIXTURE_PASSWORD (fetcher / s3cret-p4ss)
#       /_ready    204, not logged (readiness check)
#     Static files, so Range requests (206), ETag and Last-Modified work; directory listings
#     (autoindex) are on. Sets and exports:
#       MAVEN_PORT, MAVEN_URL_OPEN=http://127.0.0.1:PORT/open,
#       MAVEN_URL_PRIVATE=http://127.0.0.1:PORT/private   (no trailing slash)
#       MAVEN_ACCESS_LOG      one line per request, written unbuffered:
#                             127.0.0.1 [time] "GET /open/x HTTP/1.1" 200 1234 auth=no range="-"
#                             (auth=yes|no: whether an Authorization header was sent; its
#                             value is never logged)
#       MAVEN_NGINX_DIR       config, htpasswd, pid and temp files
#
# maven_write_settings FILE LOCAL_REPO [REPO_URL [USER PASSWORD]]
#     Writes a settings.xml for running the Debian-packaged plugins without internet: plugins
#     resolve from file://$MAVEN_DEBIAN_REPO (checksums ignored: Debian ships none),
#     dependencies from REPO_URL (default: the Debian repository too), every other
#     (non-local, non-file) repository is a blocked mirror. USER/PASSWORD become the
#     credentials of REPO_URL. Also writes an empty global-settings.xml next to FILE: use
#     `mvn -s FILE -gs DIR/global-settings.xml` so /etc/maven/settings.xml is not read.
#
# Needs maven, libmaven-deploy-plugin-java, libmaven-dependency-plugin-java, nginx,
# openssl, curl (scripts/install-deps.sh). Sourcing this file needs nothing else, so
# tests/bench/*.sh use it without lib.sh; only maven_serve needs lib.sh's harness.

MAVEN_FIXTURE_VERSION=1
MAVEN_DEBIAN_REPO=${MAVEN_DEBIAN_REPO:-/usr/share/maven-repo}
MAVEN_FIXTURE_USER=fetcher
MAVEN_FIXTURE_PASSWORD=s3cret-p4ss
export MAVEN_FIXTURE_USER MAVEN_FIXTURE_PASSWORD

# maven_plugin_version ARTIFACT_ID: the highest version of org.apache.maven.plugins:ID that
# Debian's repository has a jar for (e.g. maven-deploy-plugin -> 3.0.0; 2.7 is pom-only)
maven_plugin_version() {
    local d=$MAVEN_DEBIAN_REPO/org/apache/maven/plugins/$1 v best=
    for v in "$d"/*/; do
        v=$(basename "$v")
        [[ -f $d/$v/$1-$v.jar ]] || continue
        if [[ -z $best ]] || [[ $(printf '%s\n%s\n' "$best" "$v" | sort -V | tail -n 1) == "$v" ]]; then
            best=$v
        fi
    done
    if [[ -z $best ]]; then
        echo "maven.sh: no $1 jar in $MAVEN_DEBIAN_REPO (is lib$1-java... installed?)" >&2
        return 1
    fi
    echo "$best"
}

_maven_xml_escape() {
    local s=$1
    s=${s//&/&amp;}
    s=${s//</&lt;}
    s=${s//>/&gt;}
    s=${s//\"/&quot;}
    printf '%s' "$s"
}

maven_write_settings() {
    local file=$1 local_repo=$2 url=${3:-} user=${4:-} pass=${5:-}
    local debian="file://$MAVEN_DEBIAN_REPO"
    [[ -n $url ]] || url=$debian
    local policy=fail
    [[ $url == file://* ]] && policy=ignore
    printf '<settings/>\n' >"$(dirname "$file")/global-settings.xml"
    {
        cat <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- generated by tests/maven.sh -->
<settings xmlns="http://maven.apache.org/SETTINGS/1.2.0">
  <localRepository>$(_maven_xml_escape "$local_repo")</localRepository>
  <interactiveMode>false</interactiveMode>
  <mirrors>
    <!-- anything that is neither on this machine nor a file: URL must not be contacted -->
    <mirror>
      <id>no-network</id>
      <mirrorOf>external:*</mirrorOf>
      <url>http://0.0.0.0/</url>
      <blocked>true</blocked>
    </mirror>
  </mirrors>
EOF
        if [[ -n $user ]]; then
            cat <<EOF
  <servers>
    <server>
      <id>central</id>
      <username>$(_maven_xml_escape "$user")</username>
      <password>$(_maven_xml_escape "$pass")</password>
    </server>
  </servers>
EOF
        fi
        cat <<EOF
  <profiles>
    <profile>
      <id>factory-tests</id>
      <!-- "central" replaces the super POM's repository of the same id -->
      <repositories>
        <repository>
          <id>central</id>
          <url>$(_maven_xml_escape "$url")</url>
          <releases><enabled>true</enabled><checksumPolicy>$policy</checksumPolicy></releases>
          <snapshots><enabled>false</enabled></snapshots>
        </repository>
      </repositories>
      <pluginRepositories>
        <pluginRepository>
          <id>central</id>
          <url>$debian</url>
          <releases><enabled>true</enabled><checksumPolicy>ignore</checksumPolicy></releases>
          <snapshots><enabled>false</enabled></snapshots>
        </pluginRepository>
      </pluginRepositories>
    </profile>
  </profiles>
  <activeProfiles>
    <activeProfile>factory-tests</activeProfile>
  </activeProfiles>
</settings>
EOF
    } >"$file"
}

# jars to deploy, one absolute path a line: Maven's own libraries first (always installed with
# the maven package), then /usr/share/java; symlinks resolved, duplicates and empty files
# dropped, each group sorted (C locale)
_maven_fixture_jars() {
    local f
    {
        readlink -f -- /usr/share/maven/lib/*.jar | LC_ALL=C sort -u
        readlink -f -- /usr/share/java/*.jar | LC_ALL=C sort -u
    } | awk '!seen[$0]++' | while IFS= read -r f; do
        [[ -f $f && -s $f ]] && printf '%s\n' "$f"
    done
    return 0
}

# artifactId for a jar file name: the name without .jar, characters outside [A-Za-z0-9_.-]
# replaced by '-'
_maven_artifact_id() {
    local n
    n=$(basename "$1" .jar)
    n=$(printf '%s' "$n" | tr -c 'A-Za-z0-9_.-' '-')
    printf '%s' "$n"
}

maven_build_repo() {
    if [[ $# -lt 1 || $# -gt 2 ]]; then
        echo "usage: maven_build_repo DIR [COUNT]" >&2
        return 2
    fi
    local dir=$1 count=${2:-20}
    if ! [[ $count =~ ^[1-9][0-9]*$ ]]; then
        echo "maven_build_repo: COUNT must be a positive integer (got '$count')" >&2
        return 2
    fi
    if [[ -e $dir && -n $(ls -A "$dir" 2>/dev/null) ]]; then
        echo "maven_build_repo: $dir is not empty" >&2
        return 2
    fi
    local root=${TEST_CACHE:-${REPO:?REPO is not set}/build/test-cache}/maven-repo
    mkdir -p "$root" "$dir" || return 1
    dir=$(cd "$dir" && pwd) || return 1

    local deploy_v jars=() all
    deploy_v=$(maven_plugin_version maven-deploy-plugin) || return 1
    mapfile -t all < <(_maven_fixture_jars)
    # the two connector jars are fixed (both come with the maven package); the fixture jars
    # are the first COUNT of the others
    local kafka_src jdbc_src j
    kafka_src=$(readlink -f /usr/share/maven/lib/guava.jar)
    jdbc_src=$(readlink -f /usr/share/maven/lib/commons-lang3.jar)
    for j in "${all[@]}"; do
        [[ ${#jars[@]} -lt $count ]] || break
        [[ $j == "$kafka_src" || $j == "$jdbc_src" ]] && continue
        jars+=("$j")
    done
    if [[ ${#jars[@]} -lt $count || ! -s $kafka_src || ! -s $jdbc_src ]]; then
        echo "maven_build_repo: only ${#jars[@]} usable jars found (want $count + guava, commons-lang3)" >&2
        return 1
    fi

    local key
    key=$(
        echo "fixture v$MAVEN_FIXTURE_VERSION deploy $deploy_v"
        stat -L -c '%n %s %Y' -- "$kafka_src" "$jdbc_src" "${jars[@]}"
    )
    key=v$MAVEN_FIXTURE_VERSION-n$count-$(printf '%s\n' "$key" | sha256sum | cut -c1-16)
    local entry=$root/$key

    if [[ ! -f $entry/ok ]]; then
        local lockfd rc=0
        exec {lockfd}>"$root/.lock"
        flock "$lockfd"
        if [[ ! -f $entry/ok ]]; then
            _maven_build_entry "$entry" "$deploy_v" "$kafka_src" "$jdbc_src" "${jars[@]}" || rc=$?
        fi
        exec {lockfd}>&-
        [[ $rc -eq 0 ]] || return "$rc"
    fi

    cp -a -- "$entry/repo/." "$dir/" || return 1
    MAVEN_REPO_DIR=$dir
    MAVEN_FIXTURE_LIST=$entry/artifacts.tsv
    MAVEN_FIXTURE_COORDS=$entry/coords.txt
    export MAVEN_REPO_DIR MAVEN_FIXTURE_LIST MAVEN_FIXTURE_COORDS
}

# _maven_build_entry ENTRY DEPLOY_VERSION KAFKA_JAR JDBC_JAR JAR...: builds the cache entry
# with ONE mvn run: a generated pom (packaging pom) binds one deploy-file execution per
# artifact to the validate phase. Each artifact gets a generated minimal pom (pomFile):
# without it deploy-file 3.x would publish the pom embedded in the jar (Debian's, with
# other coordinates and unresolvable parents).
_maven_build_entry() {
    local entry=$1 deploy_v=$2 kafka_src=$3 jdbc_src=$4
    shift 4
    local root work start
    root=$(dirname "$entry")
    work=$(mktemp -d "$root/.build.XXXXXX") || return 1
    start=$(date +%s.%N)
    mkdir -p "$work/poms" "$work/lr" "$work/entry/repo"
    local out=$work/entry/repo

    # rows: groupId artifactId version source sidecars
    local rows=() j a used=" " n=0 sc
    rows+=("org.apache.flink	flink-sql-connector-kafka	3.3.0-1.19	$kafka_src	sha256:hex,sha512:hex-name")
    rows+=("org.apache.flink	flink-connector-jdbc	3.3.0-1.19	$jdbc_src	sha512:hex")
    for j in "$@"; do
        a=$(_maven_artifact_id "$j")
        while [[ $used == *" $a "* ]]; do a=$a-x; done
        used+="$a "
        n=$((n + 1))
        case $n in
            1) sc=sha256:hex,sha512:hex ;;
            2) sc=sha256:hex-name ;;
            3) sc=sha512:hex-name ;;
            4) sc=sha256:hex-star-name ;;
            *) sc=- ;;
        esac
        rows+=("org.example.fixture	$a	1.0.0	$j	$sc")
    done

    local g v src pom execs='' i=0
    for j in "${rows[@]}"; do
        IFS=$'\t' read -r g a v src sc <<<"$j"
        i=$((i + 1))
        pom=$work/poms/$g-$a-$v.pom
        cat >"$pom" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 http://maven.apache.org/xsd/maven-4.0.0.xsd">
  <modelVersion>4.0.0</modelVersion>
  <groupId>$g</groupId>
  <artifactId>$a</artifactId>
  <version>$v</version>
  <packaging>jar</packaging>
  <description>factory test fixture: $(_maven_xml_escape "$(basename "$src")") from Debian</description>
</project>
EOF
        execs+="
          <execution>
            <id>a$i</id>
            <phase>validate</phase>
            <goals><goal>deploy-file</goal></goals>
            <configuration>
              <file>$(_maven_xml_escape "$src")</file>
              <pomFile>$(_maven_xml_escape "$pom")</pomFile>
              <groupId>$g</groupId>
              <artifactId>$a</artifactId>
              <version>$v</version>
              <packaging>jar</packaging>
            </configuration>
          </execution>"
    done

    cat >"$work/pom.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- generated by tests/maven.sh: deploys the test fixture jars with deploy:deploy-file -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>org.example.fixture</groupId>
  <artifactId>fixture-builder</artifactId>
  <version>1.0.0</version>
  <packaging>pom</packaging>
  <build>
    <plugins>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-deploy-plugin</artifactId>
        <version>$deploy_v</version>
        <configuration>
          <repositoryId>fixture</repositoryId>
          <url>$(_maven_xml_escape "file://$out")</url>
          <retryFailedDeploymentCount>1</retryFailedDeploymentCount>
        </configuration>
        <executions>$execs
        </executions>
      </plugin>
    </plugins>
  </build>
</project>
EOF
    maven_write_settings "$work/settings.xml" "$work/lr"

    # Not -o: deploy refuses to run offline. No network is used all the same: every
    # repository is file:// or a blocked mirror (see maven_write_settings).
    if ! (cd "$work" && MAVEN_OPTS="${MAVEN_OPTS:-} -XX:+UseSerialGC -XX:TieredStopAtLevel=1" \
        mvn -B -ntp -Dstyle.color=never -s "$work/settings.xml" -gs "$work/global-settings.xml" \
            -f "$work/pom.xml" validate) >"$work/mvn.log" 2>&1; then
        {
            echo "maven_build_repo: mvn failed; last 40 lines of $work/mvn.log:"
            tail -n 40 "$work/mvn.log" | sed 's/^/  | /'
        } >&2
        return 1
    fi

    # check Maven's output, add the extra sidecars, write the lists
    local tsv=$work/entry/artifacts.tsv coords=$work/entry/coords.txt rel base jar sha1 sha256 f
    printf 'groupId\tartifactId\tversion\tpath\tsource\tsha1\tsha256\tsidecars\n' >"$tsv"
    : >"$coords"
    for j in "${rows[@]}"; do
        IFS=$'\t' read -r g a v src sc <<<"$j"
        rel=${g//.//}/$a/$v/$a-$v.jar
        jar=$out/$rel
        base=$(basename "$jar")
        for f in "$jar" "$jar.sha1" "$jar.md5" "${jar%.jar}.pom" "${jar%.jar}.pom.sha1" \
            "$out/${g//.//}/$a/maven-metadata.xml" "$out/${g//.//}/$a/maven-metadata.xml.sha1"; do
            if [[ ! -s $f ]]; then
                echo "maven_build_repo: mvn did not write ${f#"$out"/}" >&2
                return 1
            fi
        done
        if ! cmp -s "$jar" "$src"; then
            echo "maven_build_repo: $rel differs from $src" >&2
            return 1
        fi
        sha1=$(sha1sum <"$jar" | cut -d' ' -f1)
        if [[ $(tr -d ' \n\r' <"$jar.sha1") != "$sha1" ]]; then
            echo "maven_build_repo: $rel.sha1 does not match the jar" >&2
            return 1
        fi
        sha256=$(sha256sum <"$jar" | cut -d' ' -f1)
        local s
        IFS=, read -r -a s <<<"$sc"
        for f in "${s[@]}"; do
            case $f in
                sha256:hex) printf '%s' "$sha256" >"$jar.sha256" ;;
                sha256:hex-name) (cd "$(dirname "$jar")" && sha256sum "$base" >"$base.sha256") ;;
                sha256:hex-star-name) (cd "$(dirname "$jar")" && sha256sum -b "$base" >"$base.sha256") ;;
                sha512:hex) printf '%s' "$(sha512sum <"$jar" | cut -d' ' -f1)" >"$jar.sha512" ;;
                sha512:hex-name) (cd "$(dirname "$jar")" && sha512sum "$base" >"$base.sha512") ;;
                -) ;;
                *) echo "maven_build_repo: bad sidecar spec $f" >&2; return 1 ;;
            esac
        done
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$g" "$a" "$v" "$rel" "$src" "$sha1" "$sha256" "$sc" >>"$tsv"
        printf '%s:%s:%s\n' "$g" "$a" "$v" >>"$coords"
    done
    cp "$work/mvn.log" "$work/pom.xml" "$work/entry/"
    awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "built in %.1f s\n", b - a }' >"$work/entry/ok"
    rm -rf -- "$entry"
    mv -- "$work/entry" "$entry" || return 1
    rm -rf -- "$work"
    echo "maven_build_repo: built $entry ($(cat "$entry/ok"))" >&2
}

maven_serve() {
    if [[ $# -lt 1 || $# -gt 2 ]]; then
        echo "usage: maven_serve DIR [NAME]" >&2
        return 2
    fi
    local name=${2:-maven} root port ndir
    root=$(cd "$1" && pwd) || return 1
    if [[ $root == *[\"\\\;\$\{\}]* ]]; then
        echo "maven_serve: unsupported characters in path $root" >&2
        return 2
    fi
    port=$(harness_free_port) || return 1
    ndir=$(harness_dir "$name") || return 1
    local hash
    hash=$(printf '%s\n' "$MAVEN_FIXTURE_PASSWORD" | openssl passwd -apr1 -stdin) || return 1
    printf '%s:%s\n' "$MAVEN_FIXTURE_USER" "$hash" >"$ndir/htpasswd"
    : >"$ndir/access.log"
    nginx_start "$name" "$port" "$(cat <<CONF
    types {
        application/java-archive jar;
        application/xml xml pom;
        text/plain sha1 md5 sha256 sha512 asc;
    }
    map \$http_authorization \$fixture_auth {
        ""      no;
        default yes;
    }
    log_format fixture '\$remote_addr [\$time_local] "\$request" \$status \$body_bytes_sent auth=\$fixture_auth range="\$http_range"';
    access_log "$ndir/access.log" fixture;
    server {
        listen 127.0.0.1:$port;
        server_name localhost;
        location = /_ready { access_log off; return 204; }
        location /open/ {
            alias "$root/";
            autoindex on;
        }
        location /private/ {
            alias "$root/";
            autoindex on;
            auth_basic "factory test repository";
            auth_basic_user_file "$ndir/htpasswd";
        }
    }
CONF
)" || return 1
    MAVEN_PORT=$port
    MAVEN_URL_OPEN=http://127.0.0.1:$port/open
    MAVEN_URL_PRIVATE=http://127.0.0.1:$port/private
    MAVEN_ACCESS_LOG=$ndir/access.log
    MAVEN_NGINX_DIR=$ndir
    export MAVEN_PORT MAVEN_URL_OPEN MAVEN_URL_PRIVATE MAVEN_ACCESS_LOG MAVEN_NGINX_DIR
}
