#!/usr/bin/env bash
# Installs the Debian 12 packages factory builds and tests with. Fast and silent when all are
# present (dpkg check only); otherwise apt-get as root or through sudo.
set -euo pipefail
packages=(
    # build
    build-essential pkg-config
    libyaml-dev libarchive-dev libcurl4-openssl-dev libssl-dev libgit2-dev libjansson-dev zlib1g-dev libzstd-dev libxml2-dev libisal-dev
    # tests: schema validation, fuzzing (libFuzzer), servers and checkers
    clang python3 python3-yaml python3-jsonschema curl git ca-certificates time zstd
    # tests: a real Maven repository (tests/maven.sh) built by Maven offline from Debian's
    # /usr/share/maven-repo, served by nginx (basic-auth file made with openssl), and the
    # Maven baseline (tests/bench/maven_baseline.sh). junit4: Debian's
    # plexus-container-default pom (a dependency of the dependency plugin) needs junit 4.x.
    maven libmaven-deploy-plugin-java libmaven-dependency-plugin-java junit4 nginx openssl
    # tests: OCI base-image fixtures (tests/image.sh): umoci writes and unpacks OCI layouts,
    # skopeo converts them to docker-archive tars and resolves multi-arch indexes
    umoci skopeo
    # tests: real OCI registries (tests/registry.sh): the CNCF distribution registry 2.8,
    # htpasswd -B (bcrypt, the only hash its htpasswd auth takes), and python3-jwt +
    # python3-cryptography for the RS256 token server (tests/tools/tokenserver.py)
    docker-registry apache2-utils python3-jwt python3-cryptography
    # tests: real Git servers (tests/t_gitops.sh): git http-backend behind nginx through
    # fcgiwrap, and sshd for ssh:// remotes (git daemon comes with git)
    fcgiwrap
    openssh-server
    # tests: what a build with nothing to do reads and writes (tests/t_noop.sh)
    strace
    # tests: the installed manual pages render without warnings (tests/t_install.sh)
    man-db groff-base
)
is_installed() { [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]; }
missing=()
for p in "${packages[@]}"; do is_installed "$p" || missing+=("$p"); done
[[ ${#missing[@]} -eq 0 ]] && exit 0
echo "installing: ${missing[*]}" >&2
if [[ $(id -u) -eq 0 ]]; then as_root=(); elif command -v sudo >/dev/null; then as_root=(sudo); else
    echo "install-deps: missing ${missing[*]} and neither root nor sudo is available" >&2
    exit 1
fi
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
# docker-registry's postinst enables and (where services can start) starts a system registry
# on :5000, all interfaces. Tests run their own on free 127.0.0.1 ports; keep that one off.
if [[ " ${missing[*]} " == *" docker-registry "* ]]; then
    if [[ -d /run/systemd/system ]]; then
        "${as_root[@]}" systemctl disable --now docker-registry.service || true
    elif [[ -x /etc/init.d/docker-registry ]]; then
        "${as_root[@]}" /etc/init.d/docker-registry stop || true
    fi
fi
