#!/usr/bin/env bash
# factory publish against real Git servers on 127.0.0.1: git daemon (git://), nginx +
# fcgiwrap + git http-backend behind basic auth (http://) and sshd (ssh://). The git CLI
# checks what landed: content, history, authorship, that nothing else moved.
set -euo pipefail
. "${TESTS_DIR:-$(cd "$(dirname "$0")" && pwd)}/lib.sh"
t_need_factory

tmp=$(t_tmpdir)
cp -r recipes "$tmp/recipes"
cp -r templates "$tmp/templates"
export SOURCE_DATE_EPOCH=1700000000
export XDG_CACHE_HOME=$tmp/cache
export GIT_TEST_USER=deployer GIT_TEST_PASSWORD=s3cr3t-Pa55
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.com GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.com
cfg=$tmp/factory.yaml
catalog=$REPO/connectors

# ------------------------------------------------------------------ servers

gbase=$(harness_dir gitd)
gport=$(harness_free_port)
git init -q --bare -b main "$gbase/repo.git"
git init -q --bare -b main "$gbase/hooked.git"
git init -q --bare -b main "$gbase/race.git"
harness_start gitd "git ls-remote git://127.0.0.1:$gport/repo.git" -- \
    git daemon --reuseaddr --listen=127.0.0.1 --port="$gport" --base-path="$gbase" --export-all \
    --enable=receive-pack "$gbase"
gurl=git://127.0.0.1:$gport

# Someone else's files in the repository: a publish must leave them alone.
seed=$tmp/seed
git clone -q "$gurl/repo.git" "$seed" 2>/dev/null
mkdir -p "$seed/other"
echo "hello" >"$seed/README.md"
echo "kind: Namespace" >"$seed/other/ns.yaml"
(cd "$seed" && git add -A && git commit -qm seed && git push -q origin main)

hdir=$(harness_dir http)
hport=$(harness_free_port)
git init -q --bare -b main "$hdir/repo.git"
git -C "$hdir/repo.git" config http.receivepack true
printf '%s:%s\n' "$GIT_TEST_USER" "$(openssl passwd -apr1 "$GIT_TEST_PASSWORD")" >"$hdir/htpasswd"
harness_start fcgi "test -S $hdir/fcgi.sock" -- fcgiwrap -c 2 -s "unix:$hdir/fcgi.sock"
. "$TESTS_DIR/nginx.sh"
nginx_start nginx "$hport" "
    server {
        listen 127.0.0.1:$hport;
        location = /_ready { return 200 'ok'; }
        location / {
            auth_basic git;
            auth_basic_user_file $hdir/htpasswd;
            include /etc/nginx/fastcgi_params;
            fastcgi_pass unix:$hdir/fcgi.sock;
            fastcgi_param SCRIPT_FILENAME /usr/lib/git-core/git-http-backend;
            fastcgi_param GIT_PROJECT_ROOT $hdir;
            fastcgi_param GIT_HTTP_EXPORT_ALL 1;
            fastcgi_param PATH_INFO \$uri;
            fastcgi_param REMOTE_USER \$remote_user;
        }
    }"
hurl=http://127.0.0.1:$hport

sdir=$(harness_dir sshd)
sport=$(harness_free_port)
ssh-keygen -q -t ed25519 -N '' -f "$sdir/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$sdir/other_host_key"
ssh-keygen -q -t ed25519 -N '' -f "$sdir/id_test"
cp "$sdir/id_test.pub" "$sdir/authorized_keys"
git init -q --bare -b main "$sdir/repo.git"
cat >"$sdir/sshd_config" <<EOF
Port $sport
ListenAddress 127.0.0.1
HostKey $sdir/host_key
AuthorizedKeysFile $sdir/authorized_keys
PidFile $sdir/sshd.pid
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin yes
StrictModes no
UsePAM no
EOF
mkdir -p /run/sshd
harness_start sshd "$PYTHON -c 'import socket; socket.create_connection((\"127.0.0.1\", $sport), 1)'" -- \
    /usr/sbin/sshd -D -e -f "$sdir/sshd_config"
surl="ssh://$(id -un)@127.0.0.1:$sport$sdir/repo.git"
echo "[127.0.0.1]:$sport $(cut -d' ' -f1,2 "$sdir/host_key.pub")" >"$tmp/known_hosts"
cp "$tmp/known_hosts" "$tmp/known_hosts.hashed"
ssh-keygen -q -H -f "$tmp/known_hosts.hashed" 2>/dev/null
echo "[127.0.0.1]:$sport $(cut -d' ' -f1,2 "$sdir/other_host_key.pub")" >"$tmp/known_hosts.changed"
: >"$tmp/known_hosts.empty"
fingerprint=$(ssh-keygen -l -E sha256 -f "$sdir/host_key.pub" | cut -d' ' -f2)

# factory.yaml: KNOWN selects the known_hosts file of the SSH remote.
write_config() {
    cat >"$cfg" <<EOF
apiVersion: factory.dev/v1alpha1
kind: Config
gitops:
  author:
    name: Release Bot
    email: release-bot@example.com
  remotes:
    - url: $hurl/
      username: \${GIT_TEST_USER}
      password: \${GIT_TEST_PASSWORD}
    - url: ssh://$(id -un)@127.0.0.1:$sport/
      sshKey: $sdir/id_test
      $1
EOF
}
write_config "knownHosts: $tmp/known_hosts"

# render APP URL [OUT]: the recipe with a gitops block, rendered into OUT (default out).
render() {
    local app=$1 url=$2 out=${3:-out}
    local r=$tmp/recipes/$app-gitops.yaml
    cp "$tmp/recipes/$app.yaml" "$r"
    printf '\ngitops:\n  url: %s\n  path: apps/%s\n' "$url" "$app" >>"$r"
    (cd "$tmp" && "$FACTORY" render -q --config "$cfg" --catalog "$catalog" -o "$out" "$r")
}
publish() { (cd "$tmp" && "$FACTORY" publish --config "$cfg" "$@"); }
commits() { git --git-dir="$1" rev-list --count "${2:-main}" 2>/dev/null || echo 0; }

# ------------------------------------------------------------------ git://

render word-count "$gurl/repo.git"
before=$(git --git-dir="$gbase/repo.git" rev-parse main)
t_check "git: first publish" publish out/word-count
repo=$gbase/repo.git
if [[ $(commits "$repo") == 2 && $(git --git-dir="$repo" log -1 --format='%an <%ae>|%cn <%ce>|%at' main) == \
    "Release Bot <release-bot@example.com>|Release Bot <release-bot@example.com>|1700000000" ]]; then
    t_ok "git: one commit, author and committer from factory.yaml, dated SOURCE_DATE_EPOCH"
else
    t_fail "git: one commit, author and committer from factory.yaml, dated SOURCE_DATE_EPOCH" \
        "$(git --git-dir="$repo" log --format='%H %an <%ae> %at' main)"
fi
listed=$(git --git-dir="$repo" ls-tree -r --name-only main apps/word-count | sed 's#^apps/word-count/##' | sort)
ondisk=$(cd "$tmp/out/word-count/manifests" && find . -type f | sed 's#^\./##' | sort)
t_check "git: the path holds exactly the bundle's manifests" test "$listed" == "$ondisk"
t_check "git: other paths untouched" test -z "$(git --git-dir="$repo" diff --name-only "$before" main -- . ':!apps/word-count')"
t_check "git: content equals the bundle" bash -c "git --git-dir='$repo' show main:apps/word-count/flinkdeployment.yaml |
    cmp - '$tmp/out/word-count/manifests/flinkdeployment.yaml'"
t_check "git: fsck" git --git-dir="$repo" fsck --strict --no-progress
git --git-dir="$repo" log -1 --format=%B main >"$tmp/msg"
t_check "git: message names app, image, scripts hash and files" bash -c "grep -q '^word-count: deploy registry.example.com/' '$tmp/msg' &&
    grep -q '^scripts: [a-z0-9]\{10\}' '$tmp/msg' && grep -q '^A apps/word-count/flinkdeployment.yaml' '$tmp/msg'"

out=$(publish out/word-count)
if [[ $(commits "$repo") == 2 && $out == *"already holds"* ]]; then
    t_ok "git: the same bundle twice is one commit"
else
    t_fail "git: the same bundle twice is one commit" "$out"
fi

# The same tip and the same bundle give the same commit id (another cache, another copy).
cp -r "$gbase/race.git" "$gbase/copy.git"
git --git-dir="$gbase/copy.git" fetch -q "$repo" "$before:refs/heads/main"
render word-count "$gurl/copy.git" out-copy
XDG_CACHE_HOME=$tmp/cache-copy publish -q out-copy/word-count
t_check "git: reproducible commit id" test "$(git --git-dir="$gbase/copy.git" rev-parse main)" == \
    "$(git --git-dir="$repo" rev-parse main)"

# A script edit: exactly one commit, touching only what the re-render changed.
cp -r "$tmp/out/word-count" "$tmp/before-edit"
echo "# a comment added by the edit" >>"$tmp/recipes/word-count/tokenize_words.py"
render word-count "$gurl/repo.git"
expected=$( (cd "$tmp" && diff -rq before-edit/manifests out/word-count/manifests || true) | awk '{print $2}' |
    sed 's#^before-edit/manifests/#M apps/word-count/#' | sort)
publish -q out/word-count
got=$(git --git-dir="$repo" diff --name-status main~1 main | tr '\t' ' ' | sort)
if [[ $(commits "$repo") == 3 && -n $expected && $got == "$expected" &&
    $got == *configmap-scripts.yaml* && $got == *flinkdeployment.yaml* ]]; then
    t_ok "git: a script edit is one commit touching only the ConfigMap and the references to it"
else
    t_fail "git: a script edit is one commit touching only the ConfigMap and the references to it" \
        "expected [$expected] got [$got]"
fi

# Dry run: per file, nothing pushed.
rm "$tmp/out/word-count/manifests/podmonitor.yaml"
out=$(publish --dry-run out/word-count)
if [[ $out == *"would D apps/word-count/podmonitor.yaml"* && $(commits "$repo") == 3 ]]; then
    t_ok "git: --dry-run lists the change and pushes nothing"
else
    t_fail "git: --dry-run lists the change and pushes nothing" "$out"
fi
publish -q out/word-count
got=$(git --git-dir="$repo" diff --name-status main~1 main | tr '\t' ' ')
t_check "git: a file gone from the bundle is deleted, nothing else" test "$got" == "D apps/word-count/podmonitor.yaml"
t_check "git: README and other/ still there" git --git-dir="$repo" cat-file -e main:other/ns.yaml

# --branch-per-change: a new branch from the target branch, the branch itself untouched.
echo "# review me" >>"$tmp/out/word-count/manifests/kustomization.yaml"
tip=$(git --git-dir="$repo" rev-parse main)
publish -q --branch-per-change out/word-count
branch=$(git --git-dir="$repo" for-each-ref --format='%(refname:short)' 'refs/heads/factory/')
if [[ $branch == factory/word-count-* && $(git --git-dir="$repo" rev-parse main) == "$tip" &&
    $(git --git-dir="$repo" rev-parse "$branch~1") == "$tip" ]]; then
    t_ok "git: --branch-per-change pushes factory/<app>-<hash> from the branch"
else
    t_fail "git: --branch-per-change pushes factory/<app>-<hash> from the branch" "branch '$branch'"
fi

# A pre-receive hook that refuses: a clear error, nothing left behind to push later.
printf '#!/bin/sh\necho "policy: deploys are frozen" >&2\nexit 1\n' >"$gbase/hooked.git/hooks/pre-receive"
chmod +x "$gbase/hooked.git/hooks/pre-receive"
render word-count "$gurl/hooked.git" out-hooked
rc=0
out=$(publish out-hooked/word-count 2>&1) || rc=$?
if [[ $rc == 1 && $out == *"$gurl/hooked.git"*"refused"*"main"* && $out == *"deploys are frozen"* &&
    $(commits "$gbase/hooked.git") == 0 ]]; then
    t_ok "git: a hook's rejection is a clear error naming the remote and branch"
else
    t_fail "git: a hook's rejection is a clear error naming the remote and branch" "rc $rc: $out"
fi
t_check "git: the rejected commit stays in no ref of the cached clones" \
    test -z "$(for d in "$XDG_CACHE_HOME"/factory/git/*/; do git --git-dir="$d" for-each-ref refs/factory refs/heads; done)"
rm "$gbase/hooked.git/hooks/pre-receive"
publish -q out-hooked/word-count
t_check "git: once the hook allows it, exactly one commit lands" test "$(commits "$gbase/hooked.git")" == 1

# Unreachable: a clear error naming the remote.
dead=$(harness_free_port)
render word-count "git://127.0.0.1:$dead/none.git" out-dead
rc=0
out=$(publish out-dead/word-count 2>&1) || rc=$?
t_check "git: an unreachable server is an error naming it" test "$rc" == 1 -a -n "$(grep -F "127.0.0.1:$dead" <<<"$out")"

# Two publishers, different apps, one branch, separate caches: every commit lands, linearly.
render word-count "$gurl/race.git" out-race
render state-machine "$gurl/race.git" out-race
race() {
    local app=$1 i
    for i in $(seq 1 10); do
        echo "# round $i" >>"$tmp/out-race/$app/manifests/kustomization.yaml"
        XDG_CACHE_HOME=$tmp/cache-$app publish -q out-race/"$app" || return 1
    done
}
rc1=0 rc2=0
race word-count >"$tmp/race1.log" 2>&1 &
p1=$!
race state-machine >"$tmp/race2.log" 2>&1 &
p2=$!
wait "$p1" || rc1=$?
wait "$p2" || rc2=$?
merges=$(git --git-dir="$gbase/race.git" rev-list --merges --count main)
if [[ $rc1 == 0 && $rc2 == 0 && $(commits "$gbase/race.git") == 20 && $merges == 0 ]] &&
    git --git-dir="$gbase/race.git" show main:apps/word-count/kustomization.yaml | grep -q '# round 10' &&
    git --git-dir="$gbase/race.git" show main:apps/state-machine/kustomization.yaml | grep -q '# round 10'; then
    t_ok "git: racing publishers: all 20 commits land, linear history"
else
    t_fail "git: racing publishers: all 20 commits land, linear history" \
        "rc $rc1/$rc2, $(commits "$gbase/race.git") commits, $merges merges: $(cat "$tmp/race1.log" "$tmp/race2.log")"
fi

# ------------------------------------------------------------------ http:// with basic auth

render word-count "$hurl/repo.git" out-http
t_check "http: publish with basic auth from \${ENV}" publish -q out-http/word-count
t_check "http: the commit is there" git --git-dir="$hdir/repo.git" cat-file -e main:apps/word-count/flinkdeployment.yaml
rc=0
out=$(GIT_TEST_PASSWORD=wrong-password publish out-http/word-count 2>&1) || rc=$?
if [[ $rc == 1 && $out == *"$hurl/repo.git"* && $out == *"refused the credentials"* && $out != *wrong-password* ]]; then
    t_ok "http: a wrong password is a clear error naming the remote, without the secret"
else
    t_fail "http: a wrong password is a clear error naming the remote, without the secret" "rc $rc: $out"
fi
find "$XDG_CACHE_HOME" -type f -print0 | xargs -0 grep -l -e "$GIT_TEST_PASSWORD" -e wrong-password >"$tmp/leaks" || true
t_check "http: no secret in the cached clones" test ! -s "$tmp/leaks"

# ------------------------------------------------------------------ ssh://

render word-count "$surl" out-ssh
# libgit2 1.5's SSH transport leaks a few bytes per connection inside git_remote_connect_ext
# (and libssh2_knownhost_init): not ours to free. Without frame pointers in libgit2 the stacks
# end in the library, so LeakSanitizer skips libgit2 and libssh2 for the SSH cases only; the
# git:// and http:// cases above run without suppressions and cover factory's own objects.
printf 'leak:libgit2.so\nleak:libssh2.so\n' >"$tmp/lsan.supp"
export LSAN_OPTIONS=suppressions=$tmp/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}
t_check "ssh: publish with a key, host key in known_hosts" publish -q out-ssh/word-count
t_check "ssh: the commit is there" git --git-dir="$sdir/repo.git" cat-file -e main:apps/word-count/flinkdeployment.yaml
write_config "knownHosts: $tmp/known_hosts.hashed"
echo "# hashed" >>"$tmp/out-ssh/word-count/manifests/kustomization.yaml"
t_check "ssh: hashed known_hosts entries" publish -q out-ssh/word-count
write_config "hostKeyFingerprint: $fingerprint"
echo "# pinned" >>"$tmp/out-ssh/word-count/manifests/kustomization.yaml"
t_check "ssh: a pinned SHA256 fingerprint" publish -q out-ssh/word-count
write_config "knownHosts: $tmp/known_hosts.empty"
echo "# unknown" >>"$tmp/out-ssh/word-count/manifests/kustomization.yaml"
rc=0
out=$(publish out-ssh/word-count 2>&1) || rc=$?
if [[ $rc == 1 && $out == *"$surl"* && $out == *"unknown"* ]]; then
    t_ok "ssh: an unknown host key is refused"
else
    t_fail "ssh: an unknown host key is refused" "rc $rc: $out"
fi
write_config "knownHosts: $tmp/known_hosts.changed"
rc=0
out=$(publish out-ssh/word-count 2>&1) || rc=$?
if [[ $rc == 1 && $out == *"CHANGED"* ]]; then
    t_ok "ssh: a changed host key is refused"
else
    t_fail "ssh: a changed host key is refused" "rc $rc: $out"
fi
t_check "ssh: nothing landed with a refused host key" test "$(commits "$sdir/repo.git")" == 3
exit 0
