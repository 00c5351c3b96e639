# shellcheck shell=bash
# Real OCI registries for tests: Debian's docker-registry (the CNCF distribution registry,
# 2.8) on 127.0.0.1, optionally with TLS (a throw-away CA made with openssl), htpasswd basic
# auth or token auth (tests/tools/tokenserver.py). Source it after lib.sh:
#
#     . "$TESTS_DIR/lib.sh"
#     . "$TESTS_DIR/image.sh"
#     . "$TESTS_DIR/registry.sh"
#     registry_start reg --tls --auth       # not in $( ): it sets variables
#     image_build_base "$base"
#     registry_push_base reg "$base" 1.19.2 flink/base
#     curl --cacert "$REG_CA" -u "$REG_USER:$REG_PASSWORD" "$REG_URL/v2/_catalog"
#
# registry_start NAME [--tls] [--auth | --token]
#     Starts `docker-registry serve DIR/config.yml` as harness server NAME (DIR = harness_dir
#     NAME: config.yml, storage/ (filesystem driver, delete enabled), tls/, htpasswd) on a
#     free port, http.addr 127.0.0.1:PORT. Ready when GET /v2/ answers (any status).
#       --tls    HTTPS. A new CA (DIR/tls/ca.{key,crt}, EC P-256, CA:TRUE) signs a server
#                cert (DIR/tls/server.{key,crt}) with subjectAltName IP:127.0.0.1,
#                DNS:localhost and extendedKeyUsage serverAuth. Go serves HTTP/2 over TLS
#                (ALPN h2) as well as HTTP/1.1: curl/libcurl (with nghttp2) picks HTTP/2,
#                skopeo 1.9 HTTP/1.1; the access log shows which one was used.
#       --auth   htpasswd basic auth (realm "factory-test-registry"; bcrypt file written with
#                `htpasswd -B`), user $REGISTRY_FIXTURE_USER / $REGISTRY_FIXTURE_PASSWORD
#                (pusher / pushpass-123). Unauthenticated requests get 401 with
#                WWW-Authenticate: Basic realm="factory-test-registry". NOTE: registry 2.8.2
#                does NOT require TLS for htpasswd auth (older 2.x docs said it should only
#                be used with TLS; it is not enforced): --auth without --tls works, and
#                skopeo sends the credentials over plain HTTP with --tls-verify=false.
#       --token  token auth: first starts tokenserver.py as harness server NAME-token on its
#                own free port (HTTPS with the same server cert when --tls), then the
#                registry with auth.token {realm: <token url>/token, service: NAME-registry,
#                issuer: factory-test-issuer, rootcertbundle: DIR/tls/token-signing.crt}.
#                Users: pusher / pushpass-123 (pull, push, delete, *) and
#                $REGISTRY_FIXTURE_PULL_USER / $REGISTRY_FIXTURE_PULL_PASSWORD
#                (puller / pullpass-123, pull only: a push gets 401 insufficient_scope).
#                Unauthenticated requests get 401 with WWW-Authenticate: Bearer
#                realm="...",service="..."[,scope="..."].
#     Sets and exports (PFX = NAME upper-cased, characters other than A-Z 0-9 _ -> _;
#     e.g. NAME "reg-tls" -> REG_TLS_HOST):
#       PFX_HOST      127.0.0.1:PORT            PFX_PORT   PORT
#       PFX_URL       http(s)://127.0.0.1:PORT  (no trailing slash)
#       PFX_LOG       the server log (harness_log NAME; format below)
#       PFX_DIR       DIR                       PFX_STORAGE DIR/storage (the filesystem root)
#       PFX_TLS       yes|no                    PFX_AUTH   none|htpasswd|token
#     with --tls:
#       PFX_CA        the CA certificate (PEM): curl --cacert, CURLOPT_CAINFO
#       PFX_CERT_DIR  a directory holding only ca.crt: skopeo --cert-dir / --dest-cert-dir
#                     (do not put server.key there: skopeo takes *.key as a client key)
#     with --auth or --token:
#       PFX_USER, PFX_PASSWORD   pusher / pushpass-123
#     with --token also:
#       PFX_TOKEN_URL  the realm, http(s)://127.0.0.1:TPORT/token
#       PFX_TOKEN_LOG  tokenserver's log (one line per request, see tokenserver.py)
#       PFX_SERVICE    the service name (NAME-registry)
#       PFX_PULL_USER, PFX_PULL_PASSWORD   puller / pullpass-123
#
# registry_token_start NAME [--tls]
#     Same as registry_start NAME --token [--tls].
#
# registry_push_base NAME OCI_DIR TAG REPO
#     skopeo copy oci:OCI_DIR:TAG docker://PFX_HOST/REPO:TAG with the right --dest-tls-verify,
#     --dest-cert-dir and --dest-creds for registry NAME (no format conversion: the pushed
#     manifest is byte-identical to the layout's). Sets and exports
#       REGISTRY_PUSHED_DIGEST  sha256:... of the pushed manifest (skopeo --digestfile)
#       REGISTRY_PUSHED_REF     PFX_HOST/REPO:TAG
#
# registry_skopeo_flags NAME [dest|src]
#     Prints, one per line, the skopeo options for registry NAME: --tls-verify=false (plain
#     HTTP) or --cert-dir=PFX_CERT_DIR, plus --creds=USER:PASSWORD when it has auth; with
#     dest/src the copy variants (--dest-tls-verify=..., ...). Use:
#         mapfile -t f < <(registry_skopeo_flags reg); skopeo inspect "${f[@]}" docker://...
#
# Log format (PFX_LOG; stdout and stderr of the registry, both unbuffered):
#   * one Apache "combined" access-log line per request, ALWAYS, also for 401/404 (stdout):
#       127.0.0.1 - - [24/Nov/2026:05:31:21 +0000] "POST /v2/flink/base/blobs/uploads/ HTTP/1.1" 202 0 "" "skopeo/1.9.3"
#     The user field is always "-" (also with auth). Over TLS the protocol may be HTTP/2.0.
#     The line is written after the handler returns, before the response is flushed for
#     small responses (all upload/mount/manifest answers), so counts are exact once the
#     client has its answer; for big GET bodies the client may finish first.
#   * logrus text lines at info level (stderr), e.g.
#       time="..." level=info msg="response completed" ... http.request.method=PUT
#       http.request.uri="/v2/..." ... http.response.status=201 ...
#     but NOT for failed requests (those get level=warning/error "error authorizing
#     context: ..." etc. without a status), so count with the access-log lines.
#   * header lines "# DATE: COMMAND" written by harness_start.
#   A skopeo push of one blob is: HEAD /v2/R/blobs/D (404), POST /v2/R/blobs/uploads/ (202),
#   PATCH <location>?_state=... (202), PUT <location>?_state=...&digest=sha256%3A... (201).
#   A blob the repository already has: only HEAD (200). A blob another repository has:
#   POST /v2/R/blobs/uploads/?from=OTHER&mount=sha256%3A... (201). Manifest: PUT
#   /v2/R/manifests/TAG (201). The digest= in a PUT is URL-encoded (sha256%3A...).
#
# registry_pattern KIND [REPO]
#     Prints an ERE (grep -E) matching the access-log lines of KIND, for repository REPO
#     (literal; default any):
#       uploads        a blob upload completed: PUT .../blobs/uploads/<id>?...digest=... 201
#                      or a monolithic POST .../blobs/uploads/?digest=... 201
#       upload-starts  an upload session was opened: POST .../blobs/uploads/[?...] 202
#                      (a mount the registry could not do also ends up here)
#       mounts         a cross-repository mount succeeded: POST ...?...mount=... 201
#       manifests      a manifest was stored: PUT /v2/R/manifests/REF 201
#       blob-heads     HEAD /v2/R/blobs/D (any status)
#       unauthorized   any request answered 401
#       requests       any request
#     The ERE for uploads, REPO any (what registry_count greps):
#       ^[^ ]+ - [^ ]+ \[[^]]*\] "(PUT /v2/[^ ]+/blobs/uploads/[^ ?]+\?([^ ]*&)?digest=[^ ]*|POST /v2/[^ ]+/blobs/uploads/\?([^ ]*&)?digest=[^ ]*) HTTP/[0-9.]+" 201 
#     mounts:
#       ^[^ ]+ - [^ ]+ \[[^]]*\] "POST /v2/[^ ]+/blobs/uploads/\?([^ ]*&)?mount=[^ ]* HTTP/[0-9.]+" 201 
#
# registry_count NAME KIND [REPO [SINCE]]
#     Prints how many access-log lines of registry NAME match registry_pattern KIND REPO,
#     among the lines after line SINCE (a value printed earlier by registry_log_mark NAME;
#     default 0 = the whole log).
# registry_log_mark NAME
#     Prints the current number of lines of PFX_LOG.
#
# Needs docker-registry, apache2-utils (htpasswd -B), openssl, curl, skopeo, python3-jwt and
# python3-cryptography (tokenserver.py) (scripts/install-deps.sh). Debian's docker-registry
# package also installs a system service (docker-registry.service, :5000 on all interfaces);
# install-deps.sh disables it right after installing. Tests never use port 5000.
#
# The registry reads REGISTRY_<SECTION>_<KEY> environment variables as config overrides;
# every REGISTRY_* variable is removed from its environment (this file itself exports
# REGISTRY_PUSHED_DIGEST, and NAME "registry" would export REGISTRY_URL, ...).

REGISTRY_FIXTURE_USER=pusher
REGISTRY_FIXTURE_PASSWORD=pushpass-123
REGISTRY_FIXTURE_PULL_USER=puller
REGISTRY_FIXTURE_PULL_PASSWORD=pullpass-123
REGISTRY_FIXTURE_REALM=factory-test-registry
REGISTRY_FIXTURE_ISSUER=factory-test-issuer
export REGISTRY_FIXTURE_USER REGISTRY_FIXTURE_PASSWORD REGISTRY_FIXTURE_PULL_USER \
    REGISTRY_FIXTURE_PULL_PASSWORD

_registry_need() {
    local c
    for c in "$@"; do
        if ! command -v "$c" >/dev/null; then
            echo "registry.sh: $c is not installed (run scripts/install-deps.sh)" >&2
            return 1
        fi
    done
}

# _registry_pfx NAME: the variable prefix
_registry_pfx() {
    local p=${1^^}
    p=${p//[^A-Z0-9_]/_}
    [[ $p == [0-9]* ]] && p=_$p
    printf '%s' "$p"
}

# _registry_get NAME SUFFIX: value of ${PFX_SUFFIX} (empty if unset)
_registry_get() {
    local v
    v=$(_registry_pfx "$1")_$2
    printf '%s' "${!v:-}"
}

_registry_set() {
    local v
    v=$(_registry_pfx "$1")_$2
    printf -v "$v" '%s' "$3"
    export "${v?}"
}

# YAML single-quoted scalar
_registry_yq() {
    local s=$1
    printf "'%s'" "${s//\'/\'\'}"
}

# _registry_tls DIR: CA + server cert for 127.0.0.1/localhost in DIR
_registry_tls() {
    local d=$1
    mkdir -p "$d/client" || return 1
    (
        set -e
        cd "$d"
        openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
            -keyout ca.key -out ca.crt -days 30 -subj "/CN=factory test registry CA" \
            -addext "basicConstraints=critical,CA:TRUE" \
            -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
        openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
            -keyout server.key -out server.csr -subj "/CN=127.0.0.1" 2>/dev/null
        cat >server.ext <<'EOF'
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost
EOF
        openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
            -out server.crt -days 30 -sha256 -extfile server.ext 2>/dev/null
        cp ca.crt client/ca.crt
        chmod 0644 ca.crt server.crt client/ca.crt
    ) || { echo "registry.sh: openssl failed to make certificates in $d" >&2; return 1; }
}

# _registry_token_key DIR: RSA key + self-signed cert for signing tokens
_registry_token_key() {
    local d=$1
    mkdir -p "$d" || return 1
    openssl req -x509 -new -nodes -newkey rsa:2048 -keyout "$d/token-signing.key" \
        -out "$d/token-signing.crt" -days 30 -subj "/CN=factory test token signer" \
        2>/dev/null || { echo "registry.sh: openssl failed (token key)" >&2; return 1; }
}

# the registry, without any REGISTRY_* variable in its environment
_registry_exec_args() {
    local v
    _REGISTRY_EXEC=(env)
    for v in ${!REGISTRY_@}; do
        _REGISTRY_EXEC+=(-u "$v")
    done
}

registry_token_start() {
    if [[ $# -lt 1 ]]; then
        echo "usage: registry_token_start NAME [--tls]" >&2
        return 2
    fi
    registry_start "$1" --token "${@:2}"
}

registry_start() {
    if [[ $# -lt 1 || $1 == -* ]]; then
        echo "usage: registry_start NAME [--tls] [--auth | --token]" >&2
        return 2
    fi
    local name=$1 tls=no auth=none
    shift
    while [[ $# -gt 0 ]]; do
        case $1 in
            --tls) tls=yes ;;
            --auth) auth=htpasswd ;;
            --token) auth=token ;;
            *)
                echo "registry_start: unknown option $1" >&2
                return 2
                ;;
        esac
        shift
    done
    _registry_need docker-registry curl || return 1
    [[ $tls == no ]] || _registry_need openssl || return 1
    [[ $auth != htpasswd ]] || _registry_need htpasswd || return 1
    [[ $auth != token ]] || _registry_need openssl || return 1

    local dir port scheme=http url host
    dir=$(harness_dir "$name") || return 1
    port=$(harness_free_port) || return 1
    host=127.0.0.1:$port
    mkdir -p "$dir/storage" || return 1
    local curl_ready=(curl -s -o /dev/null --max-time 2)
    if [[ $tls == yes ]]; then
        _registry_tls "$dir/tls" || return 1
        scheme=https
        curl_ready+=(--cacert "$dir/tls/ca.crt")
    fi
    url=$scheme://$host

    # token server first: the registry's config needs its URL
    local token_url='' service=$name-registry
    if [[ $auth == token ]]; then
        local tname=$name-token tdir tport targs
        tdir=$(harness_dir "$tname") || return 1
        tport=$(harness_free_port) || return 1
        _registry_token_key "$dir/tls" || return 1
        printf '%s:%s:%s\n' \
            "$REGISTRY_FIXTURE_USER" "$REGISTRY_FIXTURE_PASSWORD" 'pull,push,delete,*' \
            "$REGISTRY_FIXTURE_PULL_USER" "$REGISTRY_FIXTURE_PULL_PASSWORD" 'pull' \
            >"$tdir/users" || return 1
        targs=("$PYTHON" "$TESTS_DIR/tools/tokenserver.py" --port "$tport" --users "$tdir/users"
            --key "$dir/tls/token-signing.key" --cert "$dir/tls/token-signing.crt"
            --issuer "$REGISTRY_FIXTURE_ISSUER" --service "$service")
        token_url=http://127.0.0.1:$tport/token
        if [[ $tls == yes ]]; then
            targs+=(--tls-cert "$dir/tls/server.crt" --tls-key "$dir/tls/server.key")
            token_url=https://127.0.0.1:$tport/token
        fi
        # shellcheck disable=SC2016  # evaluated by harness_start
        harness_start "$tname" '"${curl_ready[@]}" -f "${token_url%/token}/healthz"' -- \
            "${targs[@]}" || return 1
    fi

    {
        echo "# written by tests/registry.sh (registry_start $name)"
        echo "version: 0.1"
        echo "log:"
        echo "  level: info"
        echo "  formatter: text"
        echo "  accesslog:"
        echo "    disabled: false"
        echo "storage:"
        echo "  filesystem:"
        echo "    rootdirectory: $(_registry_yq "$dir/storage")"
        echo "  delete:"
        echo "    enabled: true"
        echo "  maintenance:"
        echo "    uploadpurging:"
        echo "      enabled: false"
        echo "http:"
        echo "  addr: 127.0.0.1:$port"
        echo "  secret: $(_registry_yq "factory-test-$RANDOM$RANDOM$RANDOM")"
        echo "  headers:"
        echo "    X-Content-Type-Options: [nosniff]"
        if [[ $tls == yes ]]; then
            echo "  tls:"
            echo "    certificate: $(_registry_yq "$dir/tls/server.crt")"
            echo "    key: $(_registry_yq "$dir/tls/server.key")"
        fi
        case $auth in
            htpasswd)
                echo "auth:"
                echo "  htpasswd:"
                echo "    realm: $(_registry_yq "$REGISTRY_FIXTURE_REALM")"
                echo "    path: $(_registry_yq "$dir/htpasswd")"
                ;;
            token)
                echo "auth:"
                echo "  token:"
                echo "    realm: $(_registry_yq "$token_url")"
                echo "    service: $(_registry_yq "$service")"
                echo "    issuer: $(_registry_yq "$REGISTRY_FIXTURE_ISSUER")"
                echo "    rootcertbundle: $(_registry_yq "$dir/tls/token-signing.crt")"
                ;;
        esac
    } >"$dir/config.yml" || return 1
    if [[ $auth == htpasswd ]]; then
        # bcrypt ($2y$): the only hash the registry's htpasswd auth accepts. If the file were
        # missing the registry would create one with a random password for user "docker".
        htpasswd -B -b -c "$dir/htpasswd" "$REGISTRY_FIXTURE_USER" "$REGISTRY_FIXTURE_PASSWORD" \
            2>/dev/null || { echo "registry.sh: htpasswd failed" >&2; return 1; }
    fi

    local _REGISTRY_EXEC
    _registry_exec_args
    # shellcheck disable=SC2016  # evaluated by harness_start
    harness_start "$name" '"${curl_ready[@]}" "$url/v2/"' -- \
        "${_REGISTRY_EXEC[@]}" docker-registry serve "$dir/config.yml" || return 1

    _registry_set "$name" HOST "$host"
    _registry_set "$name" PORT "$port"
    _registry_set "$name" URL "$url"
    _registry_set "$name" LOG "$(harness_log "$name")"
    _registry_set "$name" DIR "$dir"
    _registry_set "$name" STORAGE "$dir/storage"
    _registry_set "$name" TLS "$tls"
    _registry_set "$name" AUTH "$auth"
    if [[ $tls == yes ]]; then
        _registry_set "$name" CA "$dir/tls/ca.crt"
        _registry_set "$name" CERT_DIR "$dir/tls/client"
    fi
    if [[ $auth != none ]]; then
        _registry_set "$name" USER "$REGISTRY_FIXTURE_USER"
        _registry_set "$name" PASSWORD "$REGISTRY_FIXTURE_PASSWORD"
    fi
    if [[ $auth == token ]]; then
        _registry_set "$name" TOKEN_URL "$token_url"
        _registry_set "$name" TOKEN_LOG "$(harness_log "$name-token")"
        _registry_set "$name" SERVICE "$service"
        _registry_set "$name" PULL_USER "$REGISTRY_FIXTURE_PULL_USER"
        _registry_set "$name" PULL_PASSWORD "$REGISTRY_FIXTURE_PULL_PASSWORD"
    fi
    echo "registry.sh: $name at $url (tls=$tls auth=$auth${token_url:+ realm=$token_url})" >&2
}

registry_skopeo_flags() {
    if [[ $# -lt 1 || $# -gt 2 ]]; then
        echo "usage: registry_skopeo_flags NAME [dest|src]" >&2
        return 2
    fi
    local name=$1 pre=''
    case ${2:-} in
        '') ;;
        dest | src) pre=$2- ;;
        *)
            echo "registry_skopeo_flags: dest or src, not '$2'" >&2
            return 2
            ;;
    esac
    if [[ -z $(_registry_get "$name" HOST) ]]; then
        echo "registry_skopeo_flags: no registry '$name' (registry_start it first)" >&2
        return 1
    fi
    if [[ $(_registry_get "$name" TLS) == yes ]]; then
        printf -- '--%scert-dir=%s\n' "$pre" "$(_registry_get "$name" CERT_DIR)"
    else
        printf -- '--%stls-verify=false\n' "$pre"
    fi
    if [[ $(_registry_get "$name" AUTH) != none ]]; then
        printf -- '--%screds=%s:%s\n' "$pre" "$(_registry_get "$name" USER)" \
            "$(_registry_get "$name" PASSWORD)"
    fi
}

registry_push_base() {
    if [[ $# -ne 4 ]]; then
        echo "usage: registry_push_base NAME OCI_DIR TAG REPO" >&2
        return 2
    fi
    local name=$1 oci=$2 tag=$3 repo=$4 host flags dfile
    _registry_need skopeo || return 1
    host=$(_registry_get "$name" HOST)
    if [[ -z $host ]]; then
        echo "registry_push_base: no registry '$name' (registry_start it first)" >&2
        return 1
    fi
    mapfile -t flags < <(registry_skopeo_flags "$name" dest) || return 1
    dfile=$(mktemp "$T_TMP/digest.XXXXXX") || return 1
    # --insecure-policy: no dependence on /etc/containers/policy.json
    if ! skopeo --insecure-policy copy -q --retry-times 0 "${flags[@]}" --digestfile "$dfile" \
        "oci:$oci:$tag" "docker://$host/$repo:$tag" >&2; then
        echo "registry_push_base: skopeo copy oci:$oci:$tag docker://$host/$repo:$tag failed" >&2
        rm -f -- "$dfile"
        return 1
    fi
    REGISTRY_PUSHED_DIGEST=$(cat "$dfile")
    rm -f -- "$dfile"
    if [[ $REGISTRY_PUSHED_DIGEST != sha256:* ]]; then
        echo "registry_push_base: no digest from skopeo ('$REGISTRY_PUSHED_DIGEST')" >&2
        return 1
    fi
    REGISTRY_PUSHED_REF=$host/$repo:$tag
    export REGISTRY_PUSHED_DIGEST REGISTRY_PUSHED_REF
}

# ---------------------------------------------------------------- log counting

# ERE-escape a literal
_registry_re_quote() {
    # shellcheck disable=SC2001
    sed 's/[][\.*^$+?(){}|]/\\&/g' <<<"$1"
}

registry_pattern() {
    if [[ $# -lt 1 || $# -gt 2 ]]; then
        echo "usage: registry_pattern KIND [REPO]" >&2
        return 2
    fi
    local kind=$1 r='[^ ]+' head='^[^ ]+ - [^ ]+ \[[^]]*\] "' tail_=' HTTP/[0-9.]+" '
    [[ -z ${2:-} ]] || r=$(_registry_re_quote "$2")
    case $kind in
        uploads)
            printf '%s\n' "$head(PUT /v2/$r/blobs/uploads/[^ ?]+\\?([^ ]*&)?digest=[^ ]*|POST /v2/$r/blobs/uploads/\\?([^ ]*&)?digest=[^ ]*)${tail_}201 "
            ;;
        upload-starts)
            printf '%s\n' "${head}POST /v2/$r/blobs/uploads/(\\?[^ ]*)?${tail_}202 "
            ;;
        mounts)
            printf '%s\n' "${head}POST /v2/$r/blobs/uploads/\\?([^ ]*&)?mount=[^ ]*${tail_}201 "
            ;;
        manifests)
            printf '%s\n' "${head}PUT /v2/$r/manifests/[^ ]+${tail_}201 "
            ;;
        blob-heads)
            printf '%s\n' "${head}HEAD /v2/$r/blobs/[^ ]+${tail_}"
            ;;
        unauthorized)
            printf '%s\n' "${head}[A-Z]+ [^ ]+${tail_}401 "
            ;;
        requests)
            printf '%s\n' "${head}[A-Z]+ [^ ]+${tail_}"
            ;;
        *)
            echo "registry_pattern: unknown kind '$kind'" >&2
            return 2
            ;;
    esac
}

registry_log_mark() {
    local log
    log=$(_registry_get "$1" LOG)
    [[ -n $log ]] || { echo "registry_log_mark: no registry '$1'" >&2; return 1; }
    wc -l <"$log"
}

registry_count() {
    if [[ $# -lt 2 || $# -gt 4 ]]; then
        echo "usage: registry_count NAME KIND [REPO [SINCE]]" >&2
        return 2
    fi
    local log re since=${4:-0}
    log=$(_registry_get "$1" LOG)
    [[ -n $log ]] || { echo "registry_count: no registry '$1'" >&2; return 1; }
    re=$(registry_pattern "$2" "${3:-}") || return
    # grep -c prints 0 (and exits 1) when nothing matches
    tail -n "+$((since + 1))" "$log" | grep -cE -- "$re" || true
}
