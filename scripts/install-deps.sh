#!/usr/bin/env bash
# Installs the Debian 12 packages factory builds and tests with; does nothing when all are present.
set -euo pipefail
packages=(
  build-essential pkg-config clang
  libyaml-dev libarchive-dev libcurl4-openssl-dev libssl-dev libgit2-dev libjansson-dev
  python3 python3-yaml python3-jsonschema curl git ca-certificates
)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
