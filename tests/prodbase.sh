# shellcheck shell=bash
# Production-like "official Flink" base images for tests, assembled from REAL Debian 12
# packages (fetched with apt-get download, unpacked with dpkg-deb) and written by real tools
# (umoci, skopeo, GNU tar) — never by factory. tests/image.sh builds tiny synthetic bases;
# this file builds bases that look like flink:1.19.2-java17 on the inside: glibc, a JRE at its
# Debian path, the CA bundle with its UTF-8 file names, a dpkg database, and the layer quirks
# real registries serve (hardlinks, whiteouts, an opaque directory, long names, a setuid
# binary, a device node, a non-UTF-8 file name). Source it after lib.sh:
#
#     . "$TESTS_DIR/lib.sh"
#     . "$TESTS_DIR/prodbase.sh"
#     base=$(t_tmpdir)/base
#     prodbase_build "$base" python gzip     # not in $( ): it sets variables
#     skopeo inspect "$PRODBASE_REF"
#
# Everything needs root (umoci must keep owners 9999:9999 and 0:0, create dev/null, and
# update-ca-certificates and ldconfig run in a chroot of the image being built). Results are
# built once per cache key under ${TEST_CACHE:-$REPO/build/test-cache}/prodbase/ and copied
# into the destination (a real copy: tests may damage it). A key is: PRODBASE_FIXTURE_VERSION,
# the output kind and its arguments, a hash of this file, the umoci/skopeo/GNU tar/gzip/
# python versions, the name, version and architecture of every .deb used, the stand-in jars
# and PRODBASE_FULL. The .debs themselves are cached under $PRODBASE_DEB_CACHE (default
# ${TEST_CACHE:-$REPO/build/test-cache}/debs/) as NAME_VERSION_ARCH.deb (apt-get's file names:
# ':' in a version is "%3a"). Which version is used is apt's candidate at the time (apt-cache
# show, memoized per state of /var/lib/apt/lists); a package apt cannot resolve (no lists, no
# network) falls back to the newest cached .deb of that name, with a warning.
#
# Measured on a 2-CPU runner: the first build of the base (both variants, gzip) takes about
# 25 s with the .debs cached and about 29 s with the downloads (62 MB, one apt-get call);
# each derived output (zstd, uncompressed, mixed, index, docker archive, schema2) 0.2-2 s
# more, the Python runtime 4 s; a cached reuse 0.1-0.5 s (resolving and copying). Sizes: the
# python variant is 57 MB of gzip blobs (nopython 51 MB; zstd 48 MB, uncompressed 142 MB,
# mixed 94 MB), the runtime tarball 6 MB.
#
# The JRE: by default the JRE layer is openjdk-17-jre-headless as Debian ships it (real
# layout /usr/lib/jvm/java-17-openjdk-amd64, its relative and absolute symlinks, the
# /etc/alternatives links update-alternatives would make) WITHOUT lib/modules (the 129 MB
# runtime image, 43 MB of gzip): with it the python variant is 100 MB (over the 80 MB this
# fixture aims at) and the cold build ~7 s longer, and nothing in the tests runs java.
# PRODBASE_FULL=1 keeps lib/modules (a JRE that runs: `prodbase_chroot ROOTFS java
# -version`); it is part of every cache key.
# lib/security/cacerts -> /etc/ssl/certs/java/cacerts dangles in both (ca-certificates-java
# would create the keystore with keytool; it is not installed).
#
# ---------------------------------------------------------------- the images
#
# prodbase_build DIR [VARIANT] [COMPRESSION]
#     Writes an OCI image layout at DIR (created if missing; must be empty) with one tag,
#     $PRODBASE_TAG (1.19.2), pointing at a linux/amd64 image manifest.
#     VARIANT (default python):
#       nopython   like the official flink image: no Python at all (6 layers)
#       python     the same 6 layers (same blobs) plus a 7th "python" layer, as an image
#                  FROM flink that installs Debian's Python would have
#     COMPRESSION (default gzip) — the layer blobs and their media types:
#       gzip          application/vnd.oci.image.layer.v1.tar+gzip   (umoci's own output)
#       zstd          application/vnd.oci.image.layer.v1.tar+zstd   (skopeo copy
#                     --dest-compress-format zstd)
#       uncompressed  application/vnd.oci.image.layer.v1.tar        (skopeo copy
#                     --dest-decompress to dir:, then --dest-oci-accept-uncompressed-layers
#                     to oci:; skopeo 1.9 ignores --dest-decompress for an oci: destination)
#       mixed         layer i is gzip, zstd, uncompressed for i mod 3 = 0, 1, 2 — a manifest
#                     written by python3 from the three layouts above (the blobs are
#                     skopeo's and umoci's, the config is the same)
#     Every compression has the same config blob, so the same diff_ids.
#     Layers (history created_by "factory test fixture (prodbase): <name> layer"):
#       1 debian (umoci repack): merged /usr (bin, sbin, lib, lib64 -> usr/...), the packages
#         base-files libc6 libc-bin libgcc-s1 gcc-12-base libstdc++6 zlib1g libexpat1 libssl3
#         libtinfo6 dash bash debianutils coreutils libacl1 libattr1 libgmp10 libselinux1
#         libpcre2-8-0 sed findutils mount libmount1 libblkid1 libsmartcols1 gosu, a dpkg
#         database (var/lib/dpkg/status, info/<pkg>.list, .md5sums, .conffiles), etc/passwd
#         and etc/group with Debian's system users (root .. nobody), etc/ld.so.cache (the real
#         ldconfig, in a chroot; var/cache/ldconfig/aux-cache removed, as reproducible image
#         builds do: it records inodes and ctimes), tmp and var/tmp 1777, root 0700,
#         dev/null (character device 1,3, 0666, root) and usr/bin/mount (setuid root, 4755,
#         from the mount package)
#       2 ca-certificates (umoci repack): openssl, ca-certificates, etc/ca-certificates.conf
#         as its postinst writes it, and etc/ssl/certs filled by the package's own
#         update-ca-certificates run in a chroot: <name>.pem -> /usr/share/ca-certificates/
#         mozilla/<name>.crt (absolute, some UTF-8), <hash>.0 -> <name>.pem (openssl rehash)
#         and the bundle ca-certificates.crt
#       3 java (umoci repack): openjdk-17-jre-headless (see "The JRE" above), and
#         usr/bin/<tool> -> /etc/alternatives/<tool> -> $PRODBASE_JAVA_HOME/bin/<tool>
#       4 flink (umoci repack): etc/passwd and etc/group again with flink:x:9999:9999 (files
#         replaced by an upper layer), /docker-entrypoint.sh (0755 root), /opt/flink owned
#         9999:9999 with bin/ (flink, config.sh, jobmanager.sh, taskmanager.sh,
#         standalone-job.sh: shell stand-ins that print their name and user), conf/ (config.yaml, log4j-console.properties,
#         log4j.properties = a HARDLINK to it, masters, workers), lib/flink-dist-1.19.2.jar
#         (commons-cli.jar), lib/flink-removed-1.19.2.jar (javax.inject.jar; deleted by
#         layer 5), opt/flink-python-1.19.2.jar (aopalliance.jar), plugins/README.txt,
#         plugins/metrics-jmx/flink-metrics-jmx-1.19.2.jar (slf4j-api.jar; hidden by
#         layer 6), log/ (empty), examples/ (long paths, a long symlink target); no usrlib/;
#         and usr/local/share/legacy/caf\xe9.txt (a latin-1 file name, not UTF-8)
#       5 cleanup (umoci repack): deletes lib/flink-removed-1.19.2.jar (umoci writes the
#         whiteout opt/flink/lib/.wh.flink-removed-1.19.2.jar) and the directory
#         usr/share/man (one whiteout usr/share/.wh.man for the whole tree)
#       6 plugins (GNU tar --format=gnu + umoci raw add-layer): opt/flink/plugins/ is
#         replaced wholesale: entries opt/flink/plugins/, opt/flink/plugins/.wh..wh..opq,
#         a new README.txt and metrics-prometheus/ (with a path longer than 100 bytes, which
#         GNU tar writes as a ././@LongLink entry). umoci cannot write this: for a directory
#         whose old contents are gone it writes one .wh.<name> per file, never an opaque
#         marker, so the layer tar is made by GNU tar and added verbatim.
#       7 python (umoci repack, python variant only, after a fresh umoci unpack of 1-6):
#         libpython3.11-minimal python3.11-minimal python3-minimal libpython3.11-stdlib
#         (usr/bin/python3.11, usr/bin/python3 -> python3.11, usr/lib/python3.11/; no
#         usr/bin/python, as with Debian's packages) and the dpkg database again; its man
#         pages re-create usr/share/man, a directory layer 5 deleted
#     Every layer written by umoci is Go archive/tar output: UTF-8 and latin-1 names go in
#     PAX "path"/"linkpath" records, a long path with a short last component in the USTAR
#     prefix field, hardlinks as typeflag '1', the device as typeflag '3'.
#     Files from packages keep the packages' mtimes; everything else (files the fixture
#     writes, directories it changes) gets $PRODBASE_EPOCH (2024-01-01T00:00:00Z).
#     Config: architecture amd64, os linux, created $PRODBASE_CREATED, User unset,
#       Env PATH=/opt/flink/bin:$PRODBASE_JAVA_HOME/bin:/usr/local/sbin:/usr/local/bin:
#               /usr/sbin:/usr/bin:/sbin:/bin
#           JAVA_HOME=$PRODBASE_JAVA_HOME  LANG=C.UTF-8  FLINK_HOME=/opt/flink
#       WorkingDir /opt/flink, Entrypoint ["/docker-entrypoint.sh"], Cmd ["help"],
#       ExposedPorts 6123/tcp 8081/tcp, Labels org.opencontainers.image.title=flink-prodbase
#       and org.opencontainers.image.version=1.19.2; history: one entry per layer, then six
#       empty_layer entries (ENV JAVA_HOME, ENV FLINK_HOME, WORKDIR, EXPOSE, ENTRYPOINT, CMD)
#       and, in the python variant, the python layer's entry last.
#     The output is byte-for-byte reproducible for a given set of .debs and tools.
#     Sets and exports:
#       PRODBASE_DIR  DIR (absolute)   PRODBASE_REF  oci:DIR:1.19.2
#       PRODBASE_VARIANT, PRODBASE_COMPRESSION
#       PRODBASE_MANIFEST_DIGEST  PRODBASE_CONFIG_DIGEST
#       PRODBASE_LAYER_DIGESTS       layer blob digests in order, space-separated
#       PRODBASE_LAYER_MEDIA_TYPES   their media types in order, space-separated
#       PRODBASE_DIFF_IDS            the config's rootfs.diff_ids, space-separated
#       PRODBASE_PROVENANCE          a file (in the cache: read it, do not change it) listing
#                                    every package "name version arch sha256 layer"
#       and the quirk paths below (refreshed from the build).
#
# prodbase_docker_archive TAR [VARIANT]
#     skopeo copy of the gzip image to docker-archive:TAR:flink:1.19.2 (docker save layout:
#     manifest.json with RepoTags docker.io/library/flink:1.19.2, <hex>.json config (the OCI
#     config, same digest), uncompressed <diff_id>.tar layers, legacy <id>/{VERSION,json} and
#     <id>/layer.tar symlinks to ../<diff_id>.tar, repositories; every mtime 0). skopeo
#     inspect --raw of it reports a Docker schema2 manifest whose layers say
#     ...rootfs.diff.tar.gzip although the tars are not compressed. TAR must not exist.
#     Sets and exports PRODBASE_ARCHIVE (TAR, absolute) and PRODBASE_ARCHIVE_REF
#     (docker-archive:TAR).
#
# prodbase_docker_dir DIR [VARIANT]
#     skopeo copy --format v2s2 of the gzip image to dir:DIR (manifest.json, version, blobs
#     named by hex digest). Media types: manifest application/vnd.docker.distribution.
#     manifest.v2+json, config application/vnd.docker.container.image.v1+json, layers
#     application/vnd.docker.image.rootfs.diff.tar.gzip (the same blobs as the OCI image).
#     Sets and exports PRODBASE_V2S2_DIR, PRODBASE_V2S2_REF (dir:DIR),
#     PRODBASE_V2S2_MANIFEST_DIGEST.
#
# prodbase_docker_layout DIR [VARIANT]
#     An OCI image layout whose tag 1.19.2 points at that Docker schema2 manifest (index.json
#     descriptor mediaType application/vnd.docker.distribution.manifest.v2+json: what a tool
#     that stores manifests unchanged, such as crane pull --format=oci, leaves for an image
#     pushed with Docker media types). skopeo 1.9
#     cannot write it (`copy --format v2s2 ... oci:` writes index.json and the config but no
#     manifest or layer blobs), so python3 moves skopeo's dir: output into a layout.
#     Neither skopeo 1.9 nor umoci 0.4.7 can read it back ("no descriptor found for reference":
#     they look for OCI media types only); check it with python3 or factory.
#     Sets and exports PRODBASE_DOCKER_LAYOUT_DIR, PRODBASE_DOCKER_LAYOUT_REF (oci:DIR:1.19.2),
#     PRODBASE_DOCKER_LAYOUT_MANIFEST_DIGEST.
#
# prodbase_index DIR [VARIANT] [COMPRESSION]
#     An OCI layout whose tag points at an image index (application/vnd.oci.image.index.v1+json)
#     with linux/amd64 (the image of prodbase_build VARIANT COMPRESSION, unchanged) and
#     linux/arm64/v8 (the same layers, amd64 binaries and all, with a config saying
#     "architecture":"arm64","variant":"v8"; JAVA_HOME stays the amd64 path). Sets and exports
#     PRODBASE_INDEX_DIR, PRODBASE_INDEX_REF, PRODBASE_INDEX_DIGEST,
#     PRODBASE_AMD64_MANIFEST_DIGEST, PRODBASE_ARM64_MANIFEST_DIGEST,
#     PRODBASE_ARM64_CONFIG_DIGEST.
#
# prodbase_unpack DIR ROOTFS_OUT [ARCH]
#     umoci unpack of DIR's tag to ROOTFS_OUT (must not exist), owners kept. An index (followed
#     to ARCH, default amd64) or zstd layers (umoci 0.4.7 reads neither) are first copied by
#     skopeo to a temporary gzip single-image layout. Not for prodbase_docker_layout's output:
#     skopeo 1.9 and umoci 0.4.7 only look for OCI media types in index.json. Needs root.
#
# prodbase_chroot ROOTFS CMD [ARG...]
#     Runs CMD inside an unpacked rootfs with chroot(8), the environment reset to the image's
#     PATH, JAVA_HOME and FLINK_HOME, HOME=/root, LANG=C.UTF-8; with /proc mounted in a
#     private mount namespace (unshare; gone when CMD ends) where that is allowed, since the
#     JRE's $ORIGIN run path and gosu read /proc/self/exe. Needs root.
# prodbase_chroot_python ROOTFS [ARG...]
#     prodbase_chroot ROOTFS ${PRODBASE_CHROOT_PYTHON:-/usr/bin/python3} ARG...
#
# prodbase_provenance [VARIANT]
#     Prints the PROVENANCE file of the base build (packages and versions, one a line, with
#     a "# PROVENANCE" comment header naming the fixture version and tools).
#
# ---------------------------------------------------------------- the Python runtime
#
# prodbase_python_runtime OUT_TGZ
#     Writes a stand-in for a python-build-standalone "install_only" tarball (OUT_TGZ must not
#     exist), made from Debian's python3.11-minimal, libpython3.11-minimal and
#     libpython3.11-stdlib:
#       python/bin/python3.11            Debian's interpreter (libpython linked in; needs only
#                                        glibc, zlib, libexpat, and libssl3 for ssl)
#       python/bin/python3 -> python3.11, python/bin/python -> python3.11 (current
#                                        python-build-standalone releases have both)
#       python/lib/python3.11/           Debian's standard library, lib-dynload included
#       python/lib/python3.11/site-packages/README.txt
#     Debian patches site.py (site-packages is replaced by dist-packages under local/ and
#     lib/python3/) and sysconfig.py (default install scheme posix_local). The stand-in puts
#     back upstream CPython 3.11 behaviour, so that, like python-build-standalone,
#     PREFIX/lib/python3.11/site-packages is on sys.path, in site.getsitepackages() and is
#     sysconfig's purelib:
#       - sysconfig.py: the 'posix_prefix' default scheme, as upstream;
#       - site.py: the upstream getsitepackages(). But CPython 3.11 runs a FROZEN copy of
#         site (compiled into the binary, Debian's patched one) unless -X frozen_modules=off,
#         so editing site.py alone changes nothing at startup;
#       - hence also lib/python3.11/sitecustomize.py (replacing Debian's, a symlink to
#         /etc/python3.11/sitecustomize.py that would dangle): when site is the frozen
#         module, it puts the upstream getsitepackages() into it and runs addsitepackages()
#         again, which appends PREFIX/lib/python3.11/site-packages where upstream site.main()
#         would (after the user site directory). Its only visible trace: a sitecustomize
#         module exists (python-build-standalone has none), so a sitecustomize.py dropped
#         into site-packages is not the one imported.
#     The interpreter is relocatable as it is (CPython finds its prefix from the executable).
#     Bytes are reproducible: GNU tar --sort=name --format=gnu, owner 0:0, mtime
#     $PRODBASE_EPOCH, gzip -n -9. The build checks it: extracted to a new directory,
#     python/bin/python3 -c 'import sys, json, ssl' reports that directory as sys.prefix and
#     its site-packages on sys.path.
#     Sets and exports PRODBASE_RUNTIME (OUT_TGZ, absolute), PRODBASE_RUNTIME_SHA256 (hex),
#     PRODBASE_RUNTIME_VERSION (3.11.2, the upstream part of the Debian version, checked
#     against sys.version_info) and PRODBASE_RUNTIME_DEB_VERSION (e.g. 3.11.2-6+deb12u9).
#
# ---------------------------------------------------------------- quirk paths
#
# Exported when this file is sourced (and refreshed by prodbase_build), relative to the image
# root, no leading slash; every one is checked by tests/t_prodbase_fixture.sh:
#   PRODBASE_UTF8_FILE         usr/share/ca-certificates/mozilla/NetLock_Arany_=Class_Gold=_
#                              Főtanúsítvány.crt (UTF-8 name, layer 2)
#   PRODBASE_UTF8_LINK         etc/ssl/certs/NetLock_Arany_=Class_Gold=_Főtanúsítvány.pem, a
#                              symlink with a UTF-8 name and the UTF-8 target
#   PRODBASE_UTF8_LINK_TARGET  /$PRODBASE_UTF8_FILE
#   PRODBASE_UTF8_HASH_LINK    etc/ssl/certs/<subject hash>.0 -> the .pem name above (set by
#                              prodbase_build; it depends on the certificate)
#   PRODBASE_HARDLINK          opt/flink/conf/log4j.properties (a typeflag '1' entry in
#                              layer 4 whose linkname is PRODBASE_HARDLINK_TARGET)
#   PRODBASE_HARDLINK_TARGET   opt/flink/conf/log4j-console.properties
#   PRODBASE_WHITEOUT_JAR      opt/flink/lib/flink-removed-1.19.2.jar (layer 4; whiteout in 5)
#   PRODBASE_WHITEOUT_DIR      usr/share/man (from the packages; one whiteout in 5; the python
#                              layer re-creates it with Python's man pages only)
#   PRODBASE_OPAQUE_DIR        opt/flink/plugins (opaque in layer 6)
#   PRODBASE_OPAQUE_HIDDEN     opt/flink/plugins/metrics-jmx/flink-metrics-jmx-1.19.2.jar
#                              (layer 4; not in the merged image)
#   PRODBASE_OPAQUE_KEPT       opt/flink/plugins/metrics-prometheus/flink-metrics-prometheus-
#                              1.19.2.jar (layer 6)
#   PRODBASE_LONG_PATH         a 121-byte path under opt/flink/examples/ whose last component
#                              is short: Go stores it in the USTAR name+prefix fields (layer 4)
#   PRODBASE_PAX_LONG_PATH     a path under opt/flink/examples/ whose last component is 102
#                              bytes: a PAX "path" record (layer 4)
#   PRODBASE_GNU_LONG_PATH     a path > 100 bytes under opt/flink/plugins/metrics-prometheus/:
#                              a GNU ././@LongLink entry (layer 6)
#   PRODBASE_LONG_LINK         opt/flink/examples/latest, a symlink whose target
#                              (PRODBASE_LONG_LINK_TARGET, relative, 101 bytes) needs a PAX
#                              "linkpath" record
#   PRODBASE_SETUID            usr/bin/mount (mode 4755, root, from the mount package)
#   PRODBASE_DEVICE            dev/null (character device 1,3)
#   PRODBASE_LATIN1_FILE       usr/local/share/legacy/caf$'\xe9'.txt: the raw byte 0xe9, not
#                              UTF-8 (a bash $'...' string; python sees 'caf\udce9.txt')
#   PRODBASE_ABSOLUTE_LINK     usr/bin/java -> /etc/alternatives/java
#   PRODBASE_DANGLING_LINK     usr/lib/jvm/java-17-openjdk-amd64/lib/security/cacerts
#
# Needs umoci, skopeo, GNU tar, gzip, python3, dpkg-deb, apt-get, chroot, unshare (util-linux;
# optional), flock (scripts/install-deps.sh or Debian's essential set) and maven (for the
# stand-in jars). The images' own tools (ldconfig, update-ca-certificates, openssl rehash)
# run from the image being built, in a chroot, so the host's versions do not matter.

PRODBASE_FIXTURE_VERSION=1
PRODBASE_TAG=1.19.2
PRODBASE_FLINK_VERSION=1.19.2
PRODBASE_EPOCH=1704067200
PRODBASE_CREATED=2024-01-01T00:00:00Z
PRODBASE_FLINK_UID=9999
PRODBASE_FLINK_GID=9999
PRODBASE_ARCH=amd64
PRODBASE_JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64
PRODBASE_PATH=/opt/flink/bin:$PRODBASE_JAVA_HOME/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PRODBASE_TAG PRODBASE_FLINK_VERSION PRODBASE_EPOCH PRODBASE_CREATED PRODBASE_FLINK_UID \
    PRODBASE_FLINK_GID PRODBASE_ARCH PRODBASE_JAVA_HOME PRODBASE_PATH

_PRODBASE_SH=$(readlink -f "${BASH_SOURCE[0]}")

# package sets, in installation order
_PRODBASE_OS_DEBS=(base-files libc6 libc-bin libgcc-s1 gcc-12-base libstdc++6 zlib1g libexpat1 libssl3
    libtinfo6 dash bash debianutils coreutils libacl1 libattr1 libgmp10 libselinux1 libpcre2-8-0
    sed findutils mount libmount1 libblkid1 libsmartcols1 gosu)
_PRODBASE_CA_DEBS=(openssl ca-certificates)
_PRODBASE_JAVA_DEBS=(openjdk-17-jre-headless)
_PRODBASE_PY_DEBS=(libpython3.11-minimal python3.11-minimal python3-minimal libpython3.11-stdlib)
_PRODBASE_RUNTIME_DEBS=(python3.11-minimal libpython3.11-minimal libpython3.11-stdlib)

# stand-in jars (real jar files, small)
_PRODBASE_JAR_DIST=${PRODBASE_JAR_DIST:-/usr/share/maven/lib/commons-cli.jar}
_PRODBASE_JAR_PYTHON=${PRODBASE_JAR_PYTHON:-/usr/share/maven/lib/aopalliance.jar}
_PRODBASE_JAR_REMOVED=${PRODBASE_JAR_REMOVED:-/usr/share/maven/lib/javax.inject.jar}
_PRODBASE_JAR_JMX=${PRODBASE_JAR_JMX:-/usr/share/maven/lib/slf4j-api.jar}
_PRODBASE_JAR_PROM=${PRODBASE_JAR_PROM:-/usr/share/maven/lib/plexus-cipher.jar}

# quirk paths (see the header)
_prodbase_quirk_defaults() {
    local ex=opt/flink/examples/python
    PRODBASE_UTF8_FILE='usr/share/ca-certificates/mozilla/NetLock_Arany_=Class_Gold=_Főtanúsítvány.crt'
    PRODBASE_UTF8_LINK='etc/ssl/certs/NetLock_Arany_=Class_Gold=_Főtanúsítvány.pem'
    PRODBASE_UTF8_LINK_TARGET=/$PRODBASE_UTF8_FILE
    PRODBASE_UTF8_HASH_LINK=${PRODBASE_UTF8_HASH_LINK:-}
    PRODBASE_HARDLINK=opt/flink/conf/log4j.properties
    PRODBASE_HARDLINK_TARGET=opt/flink/conf/log4j-console.properties
    PRODBASE_WHITEOUT_JAR=opt/flink/lib/flink-removed-$PRODBASE_FLINK_VERSION.jar
    PRODBASE_WHITEOUT_DIR=usr/share/man
    PRODBASE_OPAQUE_DIR=opt/flink/plugins
    PRODBASE_OPAQUE_HIDDEN=opt/flink/plugins/metrics-jmx/flink-metrics-jmx-$PRODBASE_FLINK_VERSION.jar
    PRODBASE_OPAQUE_KEPT=opt/flink/plugins/metrics-prometheus/flink-metrics-prometheus-$PRODBASE_FLINK_VERSION.jar
    # 121 bytes, last component 67: USTAR prefix + name
    PRODBASE_LONG_PATH=$ex/datastream/connectors/kafka/kafka_json_format_with_event_time_watermarks_and_schema_registry.py
    # last component 102 bytes: PAX path
    PRODBASE_PAX_LONG_PATH=$ex/table/streaming_word_count_with_tumbling_event_time_windows_and_a_custom_watermark_strategy_for_late_data.py
    PRODBASE_GNU_LONG_PATH=opt/flink/plugins/metrics-prometheus/META-INF/maven/org.apache.flink/flink-metrics-prometheus/pom.properties
    PRODBASE_LONG_LINK=opt/flink/examples/latest
    PRODBASE_LONG_LINK_TARGET=python/table/streaming_word_count_with_tumbling_event_time_windows_and_a_custom_watermark_strategy.py
    PRODBASE_SETUID=usr/bin/mount
    PRODBASE_DEVICE=dev/null
    PRODBASE_LATIN1_FILE=usr/local/share/legacy/caf$'\xe9'.txt
    PRODBASE_ABSOLUTE_LINK=usr/bin/java
    PRODBASE_DANGLING_LINK=${PRODBASE_JAVA_HOME#/}/lib/security/cacerts
    export PRODBASE_UTF8_FILE PRODBASE_UTF8_LINK PRODBASE_UTF8_LINK_TARGET PRODBASE_UTF8_HASH_LINK \
        PRODBASE_HARDLINK PRODBASE_HARDLINK_TARGET PRODBASE_WHITEOUT_JAR PRODBASE_WHITEOUT_DIR \
        PRODBASE_OPAQUE_DIR PRODBASE_OPAQUE_HIDDEN PRODBASE_OPAQUE_KEPT PRODBASE_LONG_PATH \
        PRODBASE_PAX_LONG_PATH PRODBASE_GNU_LONG_PATH PRODBASE_LONG_LINK PRODBASE_LONG_LINK_TARGET \
        PRODBASE_SETUID PRODBASE_DEVICE PRODBASE_LATIN1_FILE PRODBASE_ABSOLUTE_LINK \
        PRODBASE_DANGLING_LINK
}
_prodbase_quirk_defaults

_prodbase_py() { "${PYTHON:-/usr/bin/python3}" "$@"; }

_prodbase_test_cache() { printf '%s' "${TEST_CACHE:-${REPO:?REPO is not set}/build/test-cache}"; }

_prodbase_cache_root() {
    local root
    root=$(_prodbase_test_cache)/prodbase || return 1
    mkdir -p "$root" && printf '%s' "$root"
}

_prodbase_deb_dir() {
    local d
    d=${PRODBASE_DEB_CACHE:-$(_prodbase_test_cache)/debs} || return 1
    mkdir -p "$d" && printf '%s' "$d"
}

_prodbase_need() {
    local t
    for t in "$@"; do
        if ! command -v "$t" >/dev/null; then
            echo "prodbase.sh: $t is not installed (scripts/install-deps.sh)" >&2
            return 1
        fi
    done
}

_prodbase_need_root() {
    if [[ $(id -u) -ne 0 ]]; then
        echo "prodbase.sh: $1 must run as root (owners 9999:9999, dev/null, chroot)" >&2
        return 1
    fi
}

_prodbase_empty_dest() { # DIR: create, must be empty; prints the absolute path
    if [[ -e $1 && -n $(ls -A "$1" 2>/dev/null) ]]; then
        echo "prodbase.sh: $1 is not empty" >&2
        return 2
    fi
    mkdir -p "$1" && (cd "$1" && pwd)
}

_prodbase_new_file() { # PATH: must not exist; prints the absolute path (parent created)
    if [[ -e $1 || -L $1 ]]; then
        echo "prodbase.sh: $1 exists" >&2
        return 2
    fi
    mkdir -p "$(dirname "$1")" || return 1
    printf '%s/%s' "$(cd "$(dirname "$1")" && pwd)" "$(basename "$1")"
}

_prodbase_variant_ok() {
    case $1 in
        python | nopython) return 0 ;;
    esac
    echo "prodbase.sh: unknown variant '$1' (python, nopython)" >&2
    return 2
}

_prodbase_compression_ok() {
    case $1 in
        gzip | zstd | uncompressed | mixed) return 0 ;;
    esac
    echo "prodbase.sh: unknown compression '$1' (gzip, zstd, uncompressed, mixed)" >&2
    return 2
}

# _prodbase_cached NAME KEYTEXT BUILDER [ARG...]: ENTRY=$root/NAME-<hash of KEYTEXT>; runs
# BUILDER WORKDIR ARG... under the cache lock unless ENTRY/ok exists; the builder fills
# WORKDIR, which becomes ENTRY. Sets _PRODBASE_ENTRY. Builders never call this (one lock).
_prodbase_cached() {
    local name=$1 keytext=$2 builder=$3
    shift 3
    local root key entry
    root=$(_prodbase_cache_root) || return 1
    key=$(printf '%s\n' "$keytext" | sha256sum | cut -c1-16)
    entry=$root/$name-$key
    if [[ ! -f $entry/ok ]]; then
        local lockfd rc=0
        exec {lockfd}>"$root/.lock"
        flock "$lockfd"
        if [[ ! -f $entry/ok ]]; then
            local work start
            work=$(mktemp -d "$root/.build.XXXXXX") && chmod 0755 "$work" || rc=1
            if [[ $rc -eq 0 ]]; then
                start=$(date +%s.%N)
                printf '%s\n' "$keytext" >"$work/key.txt"
                "$builder" "$work" "$@" || rc=$?
                if [[ $rc -eq 0 ]]; then
                    awk -v a="$start" -v b="$(date +%s.%N)" \
                        'BEGIN { printf "built in %.2f s\n", b - a }' >"$work/ok"
                    rm -rf -- "$entry"
                    mv -- "$work" "$entry" || rc=1
                    [[ $rc -ne 0 ]] || echo "prodbase.sh: built $entry ($(cat "$entry/ok"))" >&2
                else
                    echo "prodbase.sh: building $name failed (work dir kept: $work)" >&2
                fi
            fi
        fi
        exec {lockfd}>&-
        [[ $rc -eq 0 ]] || return "$rc"
    fi
    _PRODBASE_ENTRY=$entry
}

_prodbase_tool_versions() {
    umoci --version 2>&1
    skopeo --version 2>&1
    tar --version 2>&1 | head -n 1
    gzip --version 2>&1 | head -n 1
    "${PYTHON:-/usr/bin/python3}" --version 2>&1
}

# ---------------------------------------------------------------- Debian packages

# _prodbase_resolve PKG...: prints "PKG VERSION ARCH" per package, in order: apt's candidate
# (memoized per state of the apt lists: apt-cache takes ~1 s), else the newest cached .deb.
_prodbase_resolve() {
    local dir state memo tmp p
    dir=$(_prodbase_deb_dir) || return 1
    # A fresh machine (or a container image) may have no package lists at all: fetch them
    # once, as root, so that apt can name the candidates.
    if ! compgen -G "/var/lib/apt/lists/*_Packages*" > /dev/null && [[ $(id -u) -eq 0 ]]; then
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || true
    fi
    state=$(
        stat -c '%n %s %Y' /var/lib/apt/lists/*_Packages* /var/cache/apt/pkgcache.bin \
            /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null
        printf '%s\n' "$@"
    )
    memo=$dir/.resolved-$(printf '%s' "$state" | sha256sum | cut -c1-16)
    if [[ -s $memo ]]; then
        cat "$memo"
        return 0
    fi
    tmp=$(mktemp "$dir/.resolve.XXXXXX") || return 1
    local -A ver=() arch=()
    local n v a fallback=0
    while read -r n v a; do
        [[ -n ${ver[$n]:-} ]] || { ver[$n]=$v; arch[$n]=$a; }
    done < <(apt-cache show --no-all-versions "$@" 2>/dev/null | awk '
        /^Package: / { p = $2 } /^Version: / { v = $2 } /^Architecture: / { a = $2 }
        /^$/ { if (p != "") print p, v, a; p = v = a = "" }
        END { if (p != "") print p, v, a }')
    for p in "$@"; do
        if [[ -z ${ver[$p]:-} ]]; then
            local f
            f=$(find "$dir" -maxdepth 1 -name "${p}_*.deb" -printf '%f\n' 2>/dev/null |
                sort -V | tail -n 1)
            if [[ -z $f ]]; then
                echo "prodbase.sh: apt cannot resolve $p and no $p .deb is cached in $dir" >&2
                rm -f -- "$tmp"
                return 1
            fi
            ver[$p]=$(dpkg-deb -f "$dir/$f" Version)
            arch[$p]=$(dpkg-deb -f "$dir/$f" Architecture)
            echo "prodbase.sh: warning: apt cannot resolve $p; using cached $f" >&2
            fallback=1
        fi
        printf '%s %s %s\n' "$p" "${ver[$p]}" "${arch[$p]}" >>"$tmp"
    done
    cat "$tmp"
    if [[ $fallback -eq 0 ]]; then mv -f -- "$tmp" "$memo"; else rm -f -- "$tmp"; fi
}

_prodbase_deb_name() { printf '%s_%s_%s.deb' "$1" "${2//:/%3a}" "$3"; }

# _prodbase_fetch PKG...: makes sure the resolved .debs are cached; prints their paths in order
_prodbase_fetch() {
    local dir res n v a f tmp want=()
    dir=$(_prodbase_deb_dir) || return 1
    res=$(_prodbase_resolve "$@") || return 1
    while read -r n v a; do
        [[ -s $dir/$(_prodbase_deb_name "$n" "$v" "$a") ]] || want+=("$n=$v")
    done <<<"$res"
    if [[ ${#want[@]} -gt 0 ]]; then
        # one apt-get for all (each run costs about a second); the sandbox user _apt cannot
        # write to a cache under a root-owned tree
        tmp=$(mktemp -d "$dir/.download.XXXXXX") || return 1
        if ! (cd "$tmp" && apt-get -q -o APT::Sandbox::User=root download "${want[@]}" >&2); then
            echo "prodbase.sh: apt-get download ${want[*]} failed" >&2
            rm -rf -- "$tmp"
            return 1
        fi
        while read -r n v a; do
            f=$dir/$(_prodbase_deb_name "$n" "$v" "$a")
            [[ ! -s $f ]] || continue
            local got=$tmp/${f##*/}
            if [[ ! -s $got || $(dpkg-deb -f "$got" Package) != "$n" ||
                $(dpkg-deb -f "$got" Version) != "$v" ]]; then
                echo "prodbase.sh: apt-get download $n=$v did not give ${got##*/}" >&2
                rm -rf -- "$tmp"
                return 1
            fi
            if ! { chmod 0644 "$got" && mv -f -- "$got" "$f"; }; then
                rm -rf -- "$tmp"
                return 1
            fi
        done <<<"$res"
        rm -rf -- "$tmp"
    fi
    while read -r n v a; do
        printf '%s\n' "$dir/$(_prodbase_deb_name "$n" "$v" "$a")"
    done <<<"$res"
}

# _prodbase_install ROOT LAYER DEB...: unpacks the packages into ROOT (merged /usr kept:
# GNU tar --keep-directory-symlink) and records them in ROOT's dpkg database as dpkg would
# (status stanza with "Status: install ok installed", info/<pkg>.list, .md5sums, .conffiles);
# appends "name version arch sha256 LAYER" to ROOT/../provenance
_prodbase_install() {
    local root=$1 layer=$2 deb
    shift 2
    local db=$root/var/lib/dpkg
    mkdir -p "$db/info" "$db/updates" "$db/alternatives" || return 1
    touch "$db/status" "$db/available" || return 1
    for deb in "$@"; do
        dpkg-deb --fsys-tarfile "$deb" |
            tar -x -p --same-owner --numeric-owner --keep-directory-symlink -C "$root" ||
            { echo "prodbase.sh: cannot unpack $deb" >&2; return 1; }
        local pkg arch ma info ctl
        pkg=$(dpkg-deb -f "$deb" Package)
        arch=$(dpkg-deb -f "$deb" Architecture)
        ma=$(dpkg-deb -f "$deb" Multi-Arch)
        info=$pkg
        [[ $ma != same ]] || info=$pkg:$arch
        dpkg-deb --fsys-tarfile "$deb" | tar -t --quoting-style=literal |
            sed -e 's,^\./,/,' -e 's,/$,,' -e 's,^$,/.,' >"$db/info/$info.list" || return 1
        ctl=$(mktemp -d) || return 1
        dpkg-deb -e "$deb" "$ctl" || { rm -rf -- "$ctl"; return 1; }
        [[ ! -f $ctl/md5sums ]] || cp -- "$ctl/md5sums" "$db/info/$info.md5sums"
        [[ ! -f $ctl/conffiles ]] || cp -- "$ctl/conffiles" "$db/info/$info.conffiles"
        {
            awk '{ print } /^Package: / { print "Status: install ok installed" }' "$ctl/control"
            if [[ -s $ctl/conffiles ]]; then
                echo "Conffiles:"
                local cf
                while read -r cf _; do
                    [[ -f $root$cf ]] || continue
                    printf ' %s %s\n' "$cf" "$(md5sum <"$root$cf" | cut -c1-32)"
                done <"$ctl/conffiles"
            fi
            echo
        } >>"$db/status"
        rm -rf -- "$ctl"
        printf '%s %s %s %s %s\n' "$pkg" "$(dpkg-deb -f "$deb" Version)" "$arch" \
            "$(sha256sum <"$deb" | cut -c1-64)" "$layer" >>"$root/../provenance"
    done
    chmod 0644 "$db"/info/* "$db/status" "$db/available"
}

# ---------------------------------------------------------------- JSON helpers (python3)

# _prodbase_info DIR [ARCH]: shell assignments for the image of DIR's tag (an index is
# followed to ARCH): _top _kind _m _c _l _mt _d
_prodbase_info() {
    _prodbase_py - "$1" "$PRODBASE_TAG" "${2:-amd64}" <<'EOF'
import json, os, shlex, sys
layout, tag, arch = sys.argv[1:4]
def blob(d):
    alg, hexd = d.split(":", 1)
    with open(os.path.join(layout, "blobs", alg, hexd), "rb") as f:
        return json.load(f)
with open(os.path.join(layout, "index.json")) as f:
    idx = json.load(f)
tops = [m for m in idx.get("manifests", [])
        if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag]
if len(tops) != 1:
    sys.exit("prodbase.sh: %d entries for tag %s in %s/index.json" % (len(tops), tag, layout))
top = tops[0]
desc, kind = top, "manifest"
if top["mediaType"] in ("application/vnd.oci.image.index.v1+json",
                        "application/vnd.docker.distribution.manifest.list.v2+json"):
    kind = "index"
    ms = [m for m in blob(top["digest"])["manifests"]
          if m.get("platform", {}).get("architecture") == arch
          and m.get("platform", {}).get("os") == "linux"]
    if len(ms) != 1:
        sys.exit("prodbase.sh: %d linux/%s manifests in the index" % (len(ms), arch))
    desc = ms[0]
man = blob(desc["digest"])
cfg = blob(man["config"]["digest"])
out = {"_top": top["digest"], "_kind": kind, "_m": desc["digest"],
       "_c": man["config"]["digest"],
       "_l": " ".join(l["digest"] for l in man["layers"]),
       "_mt": " ".join(l["mediaType"] for l in man["layers"]),
       "_d": " ".join(cfg["rootfs"]["diff_ids"])}
for k, v in out.items():
    print("%s=%s" % (k, shlex.quote(v)))
EOF
}

# ---------------------------------------------------------------- building the base

# write FILE MODE [OWNER] < content
_prodbase_put() {
    mkdir -p "$(dirname "$1")" || return 1
    cat >"$1" || return 1
    chmod "$2" "$1" || return 1
    [[ -z ${3:-} ]] || chown -h "$3" "$1"
}

# _prodbase_settle ROOT SINCE: everything changed since SINCE (files the fixture wrote,
# directories it or tar touched) gets the fixture mtime; package files keep theirs
_prodbase_settle() {
    local now=$(($(date +%s) + 60))
    find "$1" -newermt "@$2" ! -newermt "@$now" -exec touch -h -d "@$PRODBASE_EPOCH" {} +
}

_prodbase_base_files() {
    local r=$1 work=$2
    local os_debs
    mkdir -p "$r/usr/bin" "$r/usr/sbin" "$r/usr/lib" "$r/usr/lib64" || return 1
    ln -s usr/bin "$r/bin" && ln -s usr/sbin "$r/sbin" && ln -s usr/lib "$r/lib" &&
        ln -s usr/lib64 "$r/lib64" || return 1
    mapfile -t os_debs <"$work/debs-os" || return 1
    _prodbase_install "$r" debian "${os_debs[@]}" || return 1
    # what the maintainer scripts would have done (dash itself ships bin/sh -> dash)
    cp -p "$r/usr/share/base-files/profile" "$r/etc/profile" || return 1
    cp -p "$r/usr/share/base-files/dot.profile" "$r/root/.profile" || return 1
    cp -p "$r/usr/share/base-files/dot.bashrc" "$r/root/.bashrc" || return 1
    cp -p "$r/usr/share/base-files/motd" "$r/etc/motd" || return 1
    printf '/bin/sh\n/usr/bin/sh\n/bin/dash\n/usr/bin/dash\n/bin/bash\n/usr/bin/bash\n' |
        _prodbase_put "$r/etc/shells" 0644 || return 1
    _prodbase_put "$r/etc/passwd" 0644 <<'EOF' || return 1
root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
bin:x:2:2:bin:/bin:/usr/sbin/nologin
sys:x:3:3:sys:/dev:/usr/sbin/nologin
sync:x:4:65534:sync:/bin:/bin/sync
games:x:5:60:games:/usr/games:/usr/sbin/nologin
man:x:6:12:man:/var/cache/man:/usr/sbin/nologin
lp:x:7:7:lp:/var/spool/lpd:/usr/sbin/nologin
mail:x:8:8:mail:/var/mail:/usr/sbin/nologin
news:x:9:9:news:/var/spool/news:/usr/sbin/nologin
uucp:x:10:10:uucp:/var/spool/uucp:/usr/sbin/nologin
proxy:x:13:13:proxy:/bin:/usr/sbin/nologin
www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin
backup:x:34:34:backup:/var/backups:/usr/sbin/nologin
list:x:38:38:Mailing List Manager:/var/list:/usr/sbin/nologin
irc:x:39:39:ircd:/run/ircd:/usr/sbin/nologin
_apt:x:42:65534::/nonexistent:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOF
    _prodbase_put "$r/etc/group" 0644 <<'EOF' || return 1
root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
lp:x:7:
mail:x:8:
news:x:9:
uucp:x:10:
man:x:12:
proxy:x:13:
kmem:x:15:
dialout:x:20:
cdrom:x:24:
sudo:x:27:
audio:x:29:
www-data:x:33:
backup:x:34:
operator:x:37:
list:x:38:
irc:x:39:
src:x:40:
shadow:x:42:
utmp:x:43:
video:x:44:
plugdev:x:46:
staff:x:50:
games:x:60:
users:x:100:
nogroup:x:65534:
EOF
    mkdir -p "$r/dev" "$r/tmp" "$r/var/tmp" "$r/root" || return 1
    chmod 1777 "$r/tmp" "$r/var/tmp" && chmod 0700 "$r/root" || return 1
    mknod -m 0666 "$r/dev/null" c 1 3 || return 1
    local d
    for d in /usr/local /usr/local/share /usr/local/share/man /usr/local/bin /usr/local/games \
        /usr/local/lib /usr/local/include /usr/local/sbin /usr/local/src /usr/local/etc; do
        mkdir -p "$r$d" && chmod 2775 "$r$d" && chown 0:50 "$r$d" || return 1
    done
    chroot "$r" /sbin/ldconfig || { echo "prodbase.sh: ldconfig in the chroot failed" >&2; return 1; }
    # holds inode numbers and ctimes: never reproducible (reproducible image builds drop it)
    rm -f "$r/var/cache/ldconfig/aux-cache" || return 1
    [[ $(stat -c %a "$r/$PRODBASE_SETUID") == 4755 ]] ||
        { echo "prodbase.sh: $PRODBASE_SETUID is not setuid" >&2; return 1; }
}

_prodbase_ca_files() {
    local r=$1 work=$2 debs
    mapfile -t debs <"$work/debs-ca" || return 1
    _prodbase_install "$r" ca-certificates "${debs[@]}" || return 1
    # etc/ca-certificates.conf as the postinst writes it for a new installation
    {
        cat <<'EOF'
# This file lists certificates that you wish to use or to ignore to be
# installed in /etc/ssl/certs.
# update-ca-certificates(8) will update /etc/ssl/certs by reading this file.
#
# This is autogenerated by dpkg-reconfigure ca-certificates.
# Certificates should be installed under /usr/share/ca-certificates
# and files with extension '.crt' is recognized as available certs.
#
# line begins with # is comment.
# line begins with ! is certificate filename to be deselected.
#
EOF
        (cd "$r/usr/share/ca-certificates" && find . -type f -name '*.crt' | sed 's,^\./,,' |
            LC_ALL=C sort)
    } | _prodbase_put "$r/etc/ca-certificates.conf" 0644 || return 1
    # the package's own script, in the image (dash, sed, find, openssl rehash)
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
        chroot "$r" /usr/sbin/update-ca-certificates >&2 ||
        { echo "prodbase.sh: update-ca-certificates in the chroot failed" >&2; return 1; }
    if [[ ! -f $r/$PRODBASE_UTF8_FILE ||
        $(readlink "$r/$PRODBASE_UTF8_LINK") != "$PRODBASE_UTF8_LINK_TARGET" ]]; then
        echo "prodbase.sh: ca-certificates has no $PRODBASE_UTF8_FILE (or no link to it);" \
            "choose another UTF-8 certificate name in prodbase.sh" >&2
        return 1
    fi
}

_prodbase_java_files() {
    local r=$1 work=$2 full=$3 debs jh=$1$PRODBASE_JAVA_HOME t
    mapfile -t debs <"$work/debs-java" || return 1
    _prodbase_install "$r" java "${debs[@]}" || return 1
    if [[ $full != 1 ]]; then
        rm -f -- "$jh/lib/modules" || return 1
    fi
    mkdir -p "$r/etc/alternatives" || return 1
    for t in "$jh"/bin/*; do
        t=$(basename "$t")
        ln -s "$PRODBASE_JAVA_HOME/bin/$t" "$r/etc/alternatives/$t" || return 1
        ln -s "/etc/alternatives/$t" "$r/usr/bin/$t" || return 1
        printf 'auto\n/usr/bin/%s\n\n%s\n1711\n\n' "$t" "$PRODBASE_JAVA_HOME/bin/$t" |
            _prodbase_put "$r/var/lib/dpkg/alternatives/$t" 0644 || return 1
    done
    # (resolved inside the root, not on the host)
    [[ -L $r/$PRODBASE_DANGLING_LINK && ! -e $r$(readlink "$r/$PRODBASE_DANGLING_LINK") ]] ||
        { echo "prodbase.sh: $PRODBASE_DANGLING_LINK is not a dangling symlink" >&2; return 1; }
}

_prodbase_flink_files() {
    local r=$1 f=$1/opt/flink
    local v=$PRODBASE_FLINK_VERSION
    # useradd --system --uid 9999 (the official image's Dockerfile): both files change
    echo "flink:x:$PRODBASE_FLINK_UID:$PRODBASE_FLINK_GID::/opt/flink:/bin/sh" >>"$r/etc/passwd" &&
        echo "flink:x:$PRODBASE_FLINK_GID:" >>"$r/etc/group" || return 1
    _prodbase_put "$r/docker-entrypoint.sh" 0755 <<'EOF' || return 1
#!/usr/bin/env bash
# factory test fixture (prodbase): the official image's entrypoint commands, no Flink behind them
COMMAND_STANDALONE="standalone-job"
COMMAND_HISTORY_SERVER="history-server"

drop_privs_cmd() {
    if [ "$(id -u)" != 0 ]; then
        echo # not root: run as is
    else
        echo gosu flink
    fi
}

args=("$@")
if [ "$1" = "help" ]; then
    printf "Usage: %s (jobmanager|%s|taskmanager|%s)|help\n" "$(basename "$0")" \
        "$COMMAND_STANDALONE" "$COMMAND_HISTORY_SERVER"
    exit 0
elif [ "$1" = "jobmanager" ]; then
    shift
    exec $(drop_privs_cmd) "$FLINK_HOME/bin/jobmanager.sh" start-foreground "$@"
elif [ "$1" = "$COMMAND_STANDALONE" ]; then
    shift
    exec $(drop_privs_cmd) "$FLINK_HOME/bin/standalone-job.sh" start-foreground "$@"
elif [ "$1" = "taskmanager" ]; then
    shift
    exec $(drop_privs_cmd) "$FLINK_HOME/bin/taskmanager.sh" start-foreground "$@"
fi
exec "${args[@]}"
EOF
    mkdir -p "$f/bin" "$f/conf" "$f/lib" "$f/opt" "$f/plugins/metrics-jmx" "$f/log" \
        "$f/examples" || return 1
    chmod 0755 "$r/opt" "$f" "$f/bin" "$f/conf" "$f/lib" "$f/opt" "$f/plugins" "$f/log" || return 1
    _prodbase_put "$f/bin/flink" 0755 <<EOF || return 1
#!/bin/sh
# factory test fixture (prodbase): not the real Flink CLI
echo "Version: $v, Commit ID: 0000000"
EOF
    local s
    for s in config.sh jobmanager.sh taskmanager.sh standalone-job.sh; do
        _prodbase_put "$f/bin/$s" 0755 <<EOF || return 1
#!/usr/bin/env bash
# factory test fixture (prodbase): stands for Flink $v's bin/$s
echo "$s \$* (user \$(id -un))"
EOF
    done
    _prodbase_put "$f/conf/config.yaml" 0644 <<'EOF' || return 1
# factory test fixture (prodbase; Flink 1.19 config.yaml layout)
jobmanager:
  bind-host: 0.0.0.0
  rpc:
    address: localhost
    port: 6123
  memory:
    process:
      size: 1600m
taskmanager:
  bind-host: 0.0.0.0
  host: localhost
  numberOfTaskSlots: 1
  memory:
    process:
      size: 1728m
rest:
  address: localhost
  bind-address: 0.0.0.0
  port: 8081
parallelism:
  default: 1
EOF
    _prodbase_put "$f/conf/log4j-console.properties" 0644 <<'EOF' || return 1
# factory test fixture (prodbase): also linked as log4j.properties (one inode)
monitorInterval=30
rootLogger.level = INFO
rootLogger.appenderRef.console.ref = ConsoleAppender
appender.console.name = ConsoleAppender
appender.console.type = CONSOLE
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yyyy-MM-dd HH:mm:ss,SSS} %-5p %-60c %x - %m%n
EOF
    ln "$f/conf/log4j-console.properties" "$r/$PRODBASE_HARDLINK" || return 1
    echo "localhost:8081" | _prodbase_put "$f/conf/masters" 0644 || return 1
    echo "localhost" | _prodbase_put "$f/conf/workers" 0644 || return 1
    _prodbase_put "$f/lib/flink-dist-$v.jar" 0644 <"$_PRODBASE_JAR_DIST" || return 1
    _prodbase_put "$r/$PRODBASE_WHITEOUT_JAR" 0644 <"$_PRODBASE_JAR_REMOVED" || return 1
    _prodbase_put "$f/opt/flink-python-$v.jar" 0644 <"$_PRODBASE_JAR_PYTHON" || return 1
    _prodbase_put "$f/plugins/README.txt" 0644 <<'EOF' || return 1
This folder contains plugins (factory test fixture, prodbase: hidden by an opaque layer).
EOF
    _prodbase_put "$r/$PRODBASE_OPAQUE_HIDDEN" 0644 <"$_PRODBASE_JAR_JMX" || return 1
    printf '# factory test fixture (prodbase)\nprint("kafka json")\n' |
        _prodbase_put "$r/$PRODBASE_LONG_PATH" 0644 || return 1
    printf '# factory test fixture (prodbase)\nprint("word count")\n' |
        _prodbase_put "$r/$PRODBASE_PAX_LONG_PATH" 0644 || return 1
    ln -s "$PRODBASE_LONG_LINK_TARGET" "$r/$PRODBASE_LONG_LINK" || return 1
    find "$f/examples" -type d -exec chmod 0755 {} + || return 1
    chown -R -h "$PRODBASE_FLINK_UID:$PRODBASE_FLINK_GID" "$f" || return 1
    printf 'caf\xe9 au lait (latin-1 file name)\n' |
        _prodbase_put "$r/$PRODBASE_LATIN1_FILE" 0644 || return 1
}

_prodbase_cleanup_files() {
    local r=$1
    rm -f -- "$r/$PRODBASE_WHITEOUT_JAR" && rm -rf -- "${r:?}/$PRODBASE_WHITEOUT_DIR"
}

# the opaque layer: a tar written by GNU tar (format gnu), added with umoci raw add-layer
_prodbase_plugins_tar() {
    local work=$1 out=$2 s=$1/plugins-stage v=$PRODBASE_FLINK_VERSION
    local p=$s/$PRODBASE_OPAQUE_DIR
    mkdir -p "$p/metrics-prometheus" "$(dirname "$s/$PRODBASE_GNU_LONG_PATH")" || return 1
    : >"$p/.wh..wh..opq" && chmod 0644 "$p/.wh..wh..opq" || return 1
    _prodbase_put "$p/README.txt" 0644 <<'EOF' || return 1
This folder contains plugins: one sub-directory per plugin (factory test fixture, prodbase).
EOF
    _prodbase_put "$s/$PRODBASE_OPAQUE_KEPT" 0644 <"$_PRODBASE_JAR_PROM" || return 1
    printf 'groupId=org.apache.flink\nartifactId=flink-metrics-prometheus\nversion=%s\n' "$v" |
        _prodbase_put "$s/$PRODBASE_GNU_LONG_PATH" 0644 || return 1
    find "$p" -type d -exec chmod 0755 {} + || return 1
    chown -R -h "$PRODBASE_FLINK_UID:$PRODBASE_FLINK_GID" "$p" || return 1
    chown 0:0 "$p/.wh..wh..opq" || return 1
    find "$s" -exec touch -h -d "@$PRODBASE_EPOCH" {} + || return 1
    # the directory, its opaque marker first (as Docker writes them), then the new contents
    (
        cd "$s" || exit 1
        printf '%s/\n%s/.wh..wh..opq\n' "$PRODBASE_OPAQUE_DIR" "$PRODBASE_OPAQUE_DIR"
        find "$PRODBASE_OPAQUE_DIR" -mindepth 1 ! -name .wh..wh..opq | LC_ALL=C sort
    ) >"$work/plugins.list" || return 1
    tar -c --format=gnu --numeric-owner --no-recursion -C "$s" -f "$out" \
        -T "$work/plugins.list" || return 1
    rm -rf -- "$s" "$work/plugins.list"
}

_prodbase_python_files() {
    local r=$1 work=$2 debs
    mapfile -t debs <"$work/debs-python" || return 1
    _prodbase_install "$r" python "${debs[@]}" || return 1
    [[ $(readlink "$r/usr/bin/python3") == python3.11 ]] ||
        { echo "prodbase.sh: python3-minimal gave no usr/bin/python3 -> python3.11" >&2; return 1; }
}

# _prodbase_repack LAYOUT TAG BUNDLE NAME FUNC [ARG...]: FUNC ROOTFS ARG... changes the
# bundle, the changes are settled and repacked as one layer; the bundle stays in step
_prodbase_repack() {
    local layout=$1 tag=$2 bundle=$3 name=$4 fn=$5 since
    shift 5
    since=$(($(date +%s) - 1))
    "$fn" "$bundle/rootfs" "$@" || { echo "prodbase.sh: $name layer: $fn failed" >&2; return 1; }
    _prodbase_settle "$bundle/rootfs" "$since" || return 1
    umoci repack --refresh-bundle --image "$layout:$tag" \
        --history.created "$PRODBASE_CREATED" \
        --history.created_by "factory test fixture (prodbase): $name layer" "$bundle" || return 1
}

_prodbase_base_keytext() { # FULL
    echo "prodbase fixture v$PRODBASE_FIXTURE_VERSION base full=$1"
    sha256sum "$_PRODBASE_SH"
    _prodbase_tool_versions
    stat -L -c '%n %s %Y' -- "$_PRODBASE_JAR_DIST" "$_PRODBASE_JAR_PYTHON" \
        "$_PRODBASE_JAR_REMOVED" "$_PRODBASE_JAR_JMX" "$_PRODBASE_JAR_PROM"
    _prodbase_resolve "${_PRODBASE_OS_DEBS[@]}" "${_PRODBASE_CA_DEBS[@]}" \
        "${_PRODBASE_JAVA_DEBS[@]}" "${_PRODBASE_PY_DEBS[@]}"
}

# _prodbase_base_entry: sets _PRODBASE_ENTRY (cache entry with oci-python/ and oci-nopython/,
# gzip) and _PRODBASE_BASE_KEY (its name, for the keys of derived outputs)
_prodbase_base_entry() {
    local full=${PRODBASE_FULL:-0} keytext src
    [[ $full == 1 ]] || full=0
    for src in "$_PRODBASE_JAR_DIST" "$_PRODBASE_JAR_PYTHON" "$_PRODBASE_JAR_REMOVED" \
        "$_PRODBASE_JAR_JMX" "$_PRODBASE_JAR_PROM"; do
        [[ -s $src ]] || { echo "prodbase.sh: $src is missing (maven installs it)" >&2; return 1; }
    done
    keytext=$(_prodbase_base_keytext "$full") || return 1
    _prodbase_cached "base" "$keytext" _prodbase_build_base_into "$full" || return 1
    _PRODBASE_BASE_KEY=$(basename "$_PRODBASE_ENTRY")
}

_prodbase_build_base_into() {
    local work=$1 full=$2
    _prodbase_need_root "prodbase_build" || return 1
    _prodbase_need umoci skopeo dpkg-deb apt-get chroot || return 1
    # every step checks its status: the builder runs in an `||` list, where set -e is off
    (
        set -o pipefail
        umask 022
        _prodbase_fetch "${_PRODBASE_OS_DEBS[@]}" >"$work/debs-os" || exit 1
        _prodbase_fetch "${_PRODBASE_CA_DEBS[@]}" >"$work/debs-ca" || exit 1
        _prodbase_fetch "${_PRODBASE_JAVA_DEBS[@]}" >"$work/debs-java" || exit 1
        _prodbase_fetch "${_PRODBASE_PY_DEBS[@]}" >"$work/debs-python" || exit 1
        local layout=$work/oci-nopython tag=$PRODBASE_TAG b=$work/bundle
        umoci init --layout "$layout" || exit 1
        umoci new --image "$layout:$tag" || exit 1
        umoci unpack --image "$layout:$tag" "$b" >/dev/null || exit 1
        : >"$b/provenance" || exit 1
        _prodbase_repack "$layout" "$tag" "$b" debian _prodbase_base_files "$work" || exit 1
        _prodbase_repack "$layout" "$tag" "$b" ca-certificates _prodbase_ca_files "$work" || exit 1
        _prodbase_repack "$layout" "$tag" "$b" java _prodbase_java_files "$work" "$full" || exit 1
        _prodbase_repack "$layout" "$tag" "$b" flink _prodbase_flink_files || exit 1
        _prodbase_repack "$layout" "$tag" "$b" cleanup _prodbase_cleanup_files || exit 1
        _prodbase_plugins_tar "$work" "$work/plugins.tar" || exit 1
        umoci raw add-layer --image "$layout:$tag" \
            --history.created "$PRODBASE_CREATED" \
            --history.created_by "factory test fixture (prodbase): plugins layer (GNU tar, opaque $PRODBASE_OPAQUE_DIR)" \
            "$work/plugins.tar" || exit 1
        rm -f "$work/plugins.tar" || exit 1
        local hc=(--history.created "$PRODBASE_CREATED")
        local pre="factory test fixture (prodbase):"
        umoci config --image "$layout:$tag" --created "$PRODBASE_CREATED" \
            --architecture "$PRODBASE_ARCH" --os linux \
            --config.env "PATH=$PRODBASE_JAVA_HOME/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
            --config.env "JAVA_HOME=$PRODBASE_JAVA_HOME" --config.env LANG=C.UTF-8 \
            "${hc[@]}" --history.created_by "$pre ENV JAVA_HOME=$PRODBASE_JAVA_HOME LANG=C.UTF-8" || exit 1
        umoci config --image "$layout:$tag" --config.env "PATH=$PRODBASE_PATH" \
            --config.env FLINK_HOME=/opt/flink \
            "${hc[@]}" --history.created_by "$pre ENV FLINK_HOME=/opt/flink PATH=/opt/flink/bin:\$PATH" || exit 1
        umoci config --image "$layout:$tag" --config.workingdir /opt/flink \
            "${hc[@]}" --history.created_by "$pre WORKDIR /opt/flink" || exit 1
        umoci config --image "$layout:$tag" \
            --config.exposedports 6123/tcp --config.exposedports 8081/tcp \
            --config.label org.opencontainers.image.title=flink-prodbase \
            --config.label "org.opencontainers.image.version=$PRODBASE_FLINK_VERSION" \
            "${hc[@]}" --history.created_by "$pre EXPOSE 6123 8081" || exit 1
        umoci config --image "$layout:$tag" --config.entrypoint /docker-entrypoint.sh \
            "${hc[@]}" --history.created_by "$pre ENTRYPOINT [\"/docker-entrypoint.sh\"]" || exit 1
        umoci config --image "$layout:$tag" --config.cmd help \
            "${hc[@]}" --history.created_by "$pre CMD [\"help\"]" || exit 1
        umoci gc --layout "$layout" || exit 1
        rm -rf "$b/rootfs" "$b/config.json" || exit 1

        # python: FROM the image above, a fresh unpack (the bundle does not know layer 6)
        local py=$work/oci-python pb=$work/bundle-python
        cp -a "$layout" "$py" || exit 1
        umoci unpack --image "$py:$tag" "$pb" >/dev/null || exit 1
        cp "$b/provenance" "$pb/provenance" || exit 1
        _prodbase_repack "$py" "$tag" "$pb" python _prodbase_python_files "$work" || exit 1
        umoci gc --layout "$py" || exit 1
        _prodbase_quirks_env "$pb/rootfs" >"$work/quirks.env" || exit 1
        {
            echo "# PROVENANCE factory test fixture (prodbase) v$PRODBASE_FIXTURE_VERSION," \
                "full JRE: $([[ $full == 1 ]] && echo yes || echo "no (lib/modules left out)")"
            echo "# tools: $(_prodbase_tool_versions | tr '\n' ';' | sed 's/;$//')"
            echo "# name version arch sha256(.deb) layer"
            cat "$pb/provenance"
        } >"$work/PROVENANCE" || exit 1
        rm -rf "$b" "$pb" "$work"/debs-* || exit 1
        # umoci writes blobs 0600; make the layouts readable like skopeo's
        find "$layout" "$py" -type f -exec chmod 0644 {} + || exit 1
        chmod 0644 "$work/PROVENANCE" "$work/quirks.env" || exit 1
        sed 's/^/prodbase.sh: /' "$work/PROVENANCE" >&2
    )
}

# prints assignments for the quirk paths that depend on the packages (from an unpacked rootfs)
_prodbase_quirks_env() {
    local r=$1 h pem
    pem=$(basename "$PRODBASE_UTF8_LINK")
    for h in "$r"/etc/ssl/certs/*.[0-9]; do
        if [[ $(readlink "$h") == "$pem" ]]; then
            printf 'PRODBASE_UTF8_HASH_LINK=%q\n' "etc/ssl/certs/$(basename "$h")"
            return 0
        fi
    done
    echo "prodbase.sh: no hash link to $pem in etc/ssl/certs" >&2
    return 1
}

# ---------------------------------------------------------------- derived compressions

_prodbase_skopeo() { skopeo --insecure-policy "$@"; }

_prodbase_derived_entry() { # VARIANT COMPRESSION: sets _PRODBASE_ENTRY (with oci/)
    local variant=$1 comp=$2 base keytext
    _prodbase_base_entry || return 1
    base=$_PRODBASE_ENTRY
    if [[ $comp == gzip ]]; then
        _PRODBASE_LAYOUT=$base/oci-$variant
        return 0
    fi
    local deps=()
    if [[ $comp == mixed ]]; then
        _prodbase_derived_entry "$variant" zstd || return 1
        deps+=("$_PRODBASE_LAYOUT")
        _prodbase_derived_entry "$variant" uncompressed || return 1
        deps+=("$_PRODBASE_LAYOUT")
    fi
    keytext=$(
        echo "prodbase fixture v$PRODBASE_FIXTURE_VERSION $comp $variant"
        echo "base $(basename "$base")"
        sha256sum "$_PRODBASE_SH"
        _prodbase_tool_versions
    )
    _prodbase_cached "$comp-$variant" "$keytext" _prodbase_build_comp_into "$comp" \
        "$base/oci-$variant" "${deps[@]}" || return 1
    _PRODBASE_LAYOUT=$_PRODBASE_ENTRY/oci
}

_prodbase_build_comp_into() {
    local work=$1 comp=$2 src=$3 tag=$PRODBASE_TAG
    case $comp in
        zstd)
            _prodbase_skopeo copy -q --dest-compress-format zstd \
                "oci:$src:$tag" "oci:$work/oci:$tag" || return 1
            ;;
        uncompressed)
            _prodbase_skopeo copy -q --dest-decompress "oci:$src:$tag" "dir:$work/plain" || return 1
            _prodbase_skopeo copy -q --dest-oci-accept-uncompressed-layers \
                "dir:$work/plain" "oci:$work/oci:$tag" || return 1
            rm -rf -- "$work/plain"
            ;;
        mixed)
            mkdir -p "$work/oci/blobs/sha256" || return 1
            _prodbase_py - "$work/oci" "$tag" "$src" "$4" "$5" <<'EOF' || return 1
import hashlib, json, os, shutil, sys
out, tag = sys.argv[1], sys.argv[2]
srcs = sys.argv[3:6]  # gzip, zstd, uncompressed: same config, same diff_ids
def path(layout, d):
    return os.path.join(layout, "blobs", *d.split(":", 1))
def load(layout, d):
    with open(path(layout, d), "rb") as f:
        return json.loads(f.read())
def top(layout):
    with open(os.path.join(layout, "index.json")) as f:
        (m,) = json.load(f)["manifests"]
    return m
mans = [load(s, top(s)["digest"]) for s in srcs]
assert len({m["config"]["digest"] for m in mans}) == 1, "configs differ"
def copy(layout, d):
    shutil.copyfile(path(layout, d), path(out, d))
    os.chmod(path(out, d), 0o644)
man = dict(mans[0])
layers = []
for i in range(len(man["layers"])):
    k = i % 3
    layers.append(mans[k]["layers"][i])
    copy(srcs[k], mans[k]["layers"][i]["digest"])
man["layers"] = layers
copy(srcs[0], man["config"]["digest"])
data = json.dumps(man, separators=(",", ":")).encode()
d = "sha256:" + hashlib.sha256(data).hexdigest()
with open(path(out, d), "wb") as f:
    f.write(data)
os.chmod(path(out, d), 0o644)
desc = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": d,
        "size": len(data), "annotations": {"org.opencontainers.image.ref.name": tag}}
with open(os.path.join(out, "index.json"), "w") as f:
    json.dump({"schemaVersion": 2, "manifests": [desc]}, f, separators=(",", ":"))
with open(os.path.join(out, "oci-layout"), "w") as f:
    f.write('{"imageLayoutVersion":"1.0.0"}')
EOF
            ;;
    esac
    find "$work/oci" -type f -exec chmod 0644 {} +
}

# ---------------------------------------------------------------- public: images

_prodbase_export_quirks() { # ENTRY
    _prodbase_quirk_defaults
    if [[ -f $1/quirks.env ]]; then
        # shellcheck disable=SC1091
        . "$1/quirks.env"
    fi
    export PRODBASE_UTF8_HASH_LINK
}

prodbase_build() {
    if [[ $# -lt 1 || $# -gt 3 ]]; then
        echo "usage: prodbase_build DIR [VARIANT] [COMPRESSION]" >&2
        return 2
    fi
    local variant=${2:-python} comp=${3:-gzip} dir
    _prodbase_variant_ok "$variant" || return
    _prodbase_compression_ok "$comp" || return
    _prodbase_need umoci skopeo flock || return 1
    dir=$(_prodbase_empty_dest "$1") || return
    _prodbase_derived_entry "$variant" "$comp" || return 1
    local base
    base=$(_prodbase_cache_root)/$_PRODBASE_BASE_KEY || return 1
    cp -a -- "$_PRODBASE_LAYOUT/." "$dir/" || return 1
    local info _top _kind _m _c _l _mt _d
    info=$(_prodbase_info "$dir") || return 1
    eval "$info"
    PRODBASE_DIR=$dir
    PRODBASE_REF=oci:$dir:$PRODBASE_TAG
    PRODBASE_VARIANT=$variant
    PRODBASE_COMPRESSION=$comp
    PRODBASE_MANIFEST_DIGEST=$_m
    PRODBASE_CONFIG_DIGEST=$_c
    PRODBASE_LAYER_DIGESTS=$_l
    PRODBASE_LAYER_MEDIA_TYPES=$_mt
    PRODBASE_DIFF_IDS=$_d
    PRODBASE_PROVENANCE=$base/PROVENANCE
    export PRODBASE_DIR PRODBASE_REF PRODBASE_VARIANT PRODBASE_COMPRESSION \
        PRODBASE_MANIFEST_DIGEST PRODBASE_CONFIG_DIGEST PRODBASE_LAYER_DIGESTS \
        PRODBASE_LAYER_MEDIA_TYPES PRODBASE_DIFF_IDS PRODBASE_PROVENANCE
    _prodbase_export_quirks "$base"
}

prodbase_provenance() {
    local variant=${1:-python}
    _prodbase_variant_ok "$variant" || return
    _prodbase_base_entry || return 1
    if [[ $variant == nopython ]]; then
        grep -v ' python$' "$_PRODBASE_ENTRY/PROVENANCE"
    else
        cat "$_PRODBASE_ENTRY/PROVENANCE"
    fi
}

# ---------------------------------------------------------------- docker formats

_prodbase_docker_entry() { # KIND VARIANT: sets _PRODBASE_ENTRY
    local kind=$1 variant=$2 keytext src
    _prodbase_base_entry || return 1
    src=$_PRODBASE_ENTRY/oci-$variant
    keytext=$(
        echo "prodbase fixture v$PRODBASE_FIXTURE_VERSION $kind $variant"
        echo "base $(basename "$_PRODBASE_ENTRY")"
        sha256sum "$_PRODBASE_SH"
        _prodbase_tool_versions
    )
    _prodbase_cached "$kind-$variant" "$keytext" _prodbase_build_docker_into "$kind" "$src"
}

_prodbase_build_docker_into() {
    local work=$1 kind=$2 src=$3 tag=$PRODBASE_TAG
    case $kind in
        docker-archive)
            _prodbase_skopeo copy -q "oci:$src:$tag" \
                "docker-archive:$work/image.tar:flink:$tag" || return 1
            chmod 0644 "$work/image.tar"
            ;;
        v2s2)
            _prodbase_skopeo copy -q --format v2s2 "oci:$src:$tag" "dir:$work/dir" || return 1
            mkdir -p "$work/oci/blobs/sha256" || return 1
            _prodbase_py - "$work/dir" "$work/oci" "$tag" <<'EOF' || return 1
import hashlib, json, os, shutil, sys
src, out, tag = sys.argv[1:4]
with open(os.path.join(src, "manifest.json"), "rb") as f:
    raw = f.read()
man = json.loads(raw)
assert man["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json", man
def put(d, from_path):
    alg, hexd = d.split(":", 1)
    dst = os.path.join(out, "blobs", alg, hexd)
    shutil.copyfile(from_path, dst)
    os.chmod(dst, 0o644)
for desc in [man["config"]] + man["layers"]:
    put(desc["digest"], os.path.join(src, desc["digest"].split(":", 1)[1]))
md = "sha256:" + hashlib.sha256(raw).hexdigest()
with open(os.path.join(out, "blobs", "sha256", md.split(":")[1]), "wb") as f:
    f.write(raw)
desc = {"mediaType": man["mediaType"], "digest": md, "size": len(raw),
        "annotations": {"org.opencontainers.image.ref.name": tag}}
with open(os.path.join(out, "index.json"), "w") as f:
    json.dump({"schemaVersion": 2, "manifests": [desc]}, f, separators=(",", ":"))
with open(os.path.join(out, "oci-layout"), "w") as f:
    f.write('{"imageLayoutVersion":"1.0.0"}')
EOF
            find "$work/dir" "$work/oci" -type f -exec chmod 0644 {} +
            ;;
    esac
}

prodbase_docker_archive() {
    if [[ $# -lt 1 || $# -gt 2 ]]; then
        echo "usage: prodbase_docker_archive TAR [VARIANT]" >&2
        return 2
    fi
    local tar variant=${2:-python}
    _prodbase_variant_ok "$variant" || return
    _prodbase_need skopeo flock || return 1
    tar=$(_prodbase_new_file "$1") || return
    _prodbase_docker_entry docker-archive "$variant" || return 1
    cp -- "$_PRODBASE_ENTRY/image.tar" "$tar" || return 1
    PRODBASE_ARCHIVE=$tar
    PRODBASE_ARCHIVE_REF=docker-archive:$tar
    export PRODBASE_ARCHIVE PRODBASE_ARCHIVE_REF
}

prodbase_docker_dir() {
    if [[ $# -lt 1 || $# -gt 2 ]]; then
        echo "usage: prodbase_docker_dir DIR [VARIANT]" >&2
        return 2
    fi
    local dir variant=${2:-python}
    _prodbase_variant_ok "$variant" || return
    _prodbase_need skopeo flock || return 1
    dir=$(_prodbase_empty_dest "$1") || return
    _prodbase_docker_entry v2s2 "$variant" || return 1
    cp -a -- "$_PRODBASE_ENTRY/dir/." "$dir/" || return 1
    PRODBASE_V2S2_DIR=$dir
    PRODBASE_V2S2_REF=dir:$dir
    PRODBASE_V2S2_MANIFEST_DIGEST=sha256:$(sha256sum <"$dir/manifest.json" | cut -c1-64)
    export PRODBASE_V2S2_DIR PRODBASE_V2S2_REF PRODBASE_V2S2_MANIFEST_DIGEST
}

prodbase_docker_layout() {
    if [[ $# -lt 1 || $# -gt 2 ]]; then
        echo "usage: prodbase_docker_layout DIR [VARIANT]" >&2
        return 2
    fi
    local dir variant=${2:-python}
    _prodbase_variant_ok "$variant" || return
    _prodbase_need skopeo flock || return 1
    dir=$(_prodbase_empty_dest "$1") || return
    _prodbase_docker_entry v2s2 "$variant" || return 1
    cp -a -- "$_PRODBASE_ENTRY/oci/." "$dir/" || return 1
    local info _top _kind _m _c _l _mt _d
    info=$(_prodbase_info "$dir") || return 1
    eval "$info"
    PRODBASE_DOCKER_LAYOUT_DIR=$dir
    PRODBASE_DOCKER_LAYOUT_REF=oci:$dir:$PRODBASE_TAG
    PRODBASE_DOCKER_LAYOUT_MANIFEST_DIGEST=$_m
    export PRODBASE_DOCKER_LAYOUT_DIR PRODBASE_DOCKER_LAYOUT_REF PRODBASE_DOCKER_LAYOUT_MANIFEST_DIGEST
}

# ---------------------------------------------------------------- multi-arch index

prodbase_index() {
    if [[ $# -lt 1 || $# -gt 3 ]]; then
        echo "usage: prodbase_index DIR [VARIANT] [COMPRESSION]" >&2
        return 2
    fi
    local variant=${2:-python} comp=${3:-gzip} dir keytext src
    _prodbase_variant_ok "$variant" || return
    _prodbase_compression_ok "$comp" || return
    _prodbase_need skopeo flock || return 1
    dir=$(_prodbase_empty_dest "$1") || return
    _prodbase_derived_entry "$variant" "$comp" || return 1
    src=$_PRODBASE_LAYOUT
    keytext=$(
        echo "prodbase fixture v$PRODBASE_FIXTURE_VERSION index $variant $comp"
        echo "source ${src#"$(_prodbase_cache_root)"/}"
        sha256sum "$_PRODBASE_SH"
        _prodbase_tool_versions
    )
    _prodbase_cached "index-$variant-$comp" "$keytext" _prodbase_build_index_into "$src" || return 1
    cp -a -- "$_PRODBASE_ENTRY/oci/." "$dir/" || return 1
    local a m _top _kind _m _c _l _mt _d
    a=$(_prodbase_info "$dir" amd64) || return 1
    m=$(_prodbase_info "$dir" arm64) || return 1
    eval "$a"
    PRODBASE_AMD64_MANIFEST_DIGEST=$_m
    eval "$m"
    PRODBASE_ARM64_MANIFEST_DIGEST=$_m
    PRODBASE_ARM64_CONFIG_DIGEST=$_c
    PRODBASE_INDEX_DIGEST=$_top
    PRODBASE_INDEX_DIR=$dir
    PRODBASE_INDEX_REF=oci:$dir:$PRODBASE_TAG
    export PRODBASE_INDEX_DIR PRODBASE_INDEX_REF PRODBASE_INDEX_DIGEST \
        PRODBASE_AMD64_MANIFEST_DIGEST PRODBASE_ARM64_MANIFEST_DIGEST PRODBASE_ARM64_CONFIG_DIGEST
}

_prodbase_build_index_into() {
    local work=$1 src=$2
    mkdir -p "$work/oci" && cp -a -- "$src/." "$work/oci/" || return 1
    _prodbase_py - "$work/oci" "$PRODBASE_TAG" <<'EOF' || return 1
import hashlib, json, os, sys
layout, tag = sys.argv[1], sys.argv[2]
IDX = "application/vnd.oci.image.index.v1+json"
def path(d):
    return os.path.join(layout, "blobs", *d.split(":", 1))
def load(d):
    with open(path(d), "rb") as f:
        data = f.read()
    assert "sha256:" + hashlib.sha256(data).hexdigest() == d, "bad blob " + d
    return json.loads(data)
def put(obj):
    data = json.dumps(obj, separators=(",", ":")).encode()
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    with open(path(d), "wb") as f:
        f.write(data)
    os.chmod(path(d), 0o644)
    return d, len(data)
with open(os.path.join(layout, "index.json")) as f:
    top = json.load(f)
(amd,) = [m for m in top["manifests"]
          if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag]
man = load(amd["digest"])
cfg = load(man["config"]["digest"])
cfg["architecture"] = "arm64"
cfg["variant"] = "v8"
cd, cs = put(cfg)
man["config"] = dict(man["config"], digest=cd, size=cs)
md, ms = put(man)
index = {
    "schemaVersion": 2,
    "mediaType": IDX,
    "manifests": [
        {"mediaType": amd["mediaType"], "digest": amd["digest"], "size": amd["size"],
         "platform": {"architecture": "amd64", "os": "linux"}},
        {"mediaType": amd["mediaType"], "digest": md, "size": ms,
         "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}},
    ],
}
xd, xs = put(index)
top["manifests"] = [{"mediaType": IDX, "digest": xd, "size": xs,
                     "annotations": {"org.opencontainers.image.ref.name": tag}}]
with open(os.path.join(layout, "index.json"), "w") as f:
    json.dump(top, f, separators=(",", ":"))
EOF
    local arch
    for arch in amd64 arm64; do
        _prodbase_skopeo --override-os linux --override-arch "$arch" inspect \
            "oci:$work/oci:$PRODBASE_TAG" >/dev/null ||
            { echo "prodbase_index: skopeo cannot resolve $arch" >&2; return 1; }
    done
}

# ---------------------------------------------------------------- unpack and chroot

prodbase_unpack() {
    if [[ $# -lt 2 || $# -gt 3 ]]; then
        echo "usage: prodbase_unpack DIR ROOTFS_OUT [ARCH]" >&2
        return 2
    fi
    local dir=$1 out=$2 arch=${3:-}
    _prodbase_need umoci || return 1
    _prodbase_need_root prodbase_unpack || return 1
    if [[ -e $out ]]; then
        echo "prodbase_unpack: $out exists" >&2
        return 2
    fi
    local info _top _kind _m _c _l _mt _d
    info=$(_prodbase_info "$dir" "${arch:-amd64}") || return 1
    eval "$info"
    local parent tmp src=$dir rc=0 tag=$PRODBASE_TAG
    parent=$(cd "$(dirname "$out")" && pwd) || return 1
    tmp=$(mktemp -d "$parent/.unpack.XXXXXX") || return 1
    if [[ $_kind == index || -n $arch || $_mt == *zstd* ]]; then
        # umoci 0.4.7 reads neither an index nor zstd layers
        src=$tmp/single
        _prodbase_skopeo --override-os linux --override-arch "${arch:-amd64}" copy -q \
            --dest-compress-format gzip "oci:$dir:$tag" "oci:$src:$tag" || rc=1
    fi
    [[ $rc -ne 0 ]] || umoci unpack --image "$src:$tag" "$tmp/bundle" >&2 || rc=1
    [[ $rc -ne 0 ]] || mv -- "$tmp/bundle/rootfs" "$out" || rc=1
    rm -rf -- "$tmp"
    return "$rc"
}

prodbase_chroot() {
    if [[ $# -lt 2 ]]; then
        echo "usage: prodbase_chroot ROOTFS CMD [ARG...]" >&2
        return 2
    fi
    local root=$1
    shift
    _prodbase_need_root prodbase_chroot || return 1
    local chroot_bin unshare_bin mount_bin
    chroot_bin=$(command -v chroot) || { echo "prodbase.sh: chroot is not installed" >&2; return 1; }
    local env=(PATH="$PRODBASE_PATH" HOME=/root LANG=C.UTF-8 JAVA_HOME="$PRODBASE_JAVA_HOME"
        FLINK_HOME=/opt/flink)
    # /proc in the chroot (the JRE's $ORIGIN runpath and gosu read /proc/self/exe), mounted in
    # a private mount namespace so that it goes away with the command; plain chroot otherwise
    unshare_bin=$(command -v unshare) && mount_bin=$(command -v mount) || unshare_bin=
    if [[ -n $unshare_bin && -d $root/proc ]] &&
        "$unshare_bin" --mount --propagation private true 2>/dev/null; then
        # shellcheck disable=SC2016  # the script's own positional parameters
        env -i "${env[@]}" "$unshare_bin" --mount --propagation private /bin/sh -c '
            "$1" -t proc proc "$3/proc" || exit 125
            c=$2 r=$3
            shift 3
            exec "$c" "$r" "$@"' sh "$mount_bin" "$chroot_bin" "$root" "$@"
    else
        env -i "${env[@]}" "$chroot_bin" "$root" "$@"
    fi
}

prodbase_chroot_python() {
    if [[ $# -lt 1 ]]; then
        echo "usage: prodbase_chroot_python ROOTFS [ARG...]" >&2
        return 2
    fi
    local root=$1
    shift
    prodbase_chroot "$root" "${PRODBASE_CHROOT_PYTHON:-/usr/bin/python3}" "$@"
}

# ---------------------------------------------------------------- the Python runtime

prodbase_python_runtime() {
    if [[ $# -ne 1 ]]; then
        echo "usage: prodbase_python_runtime OUT_TGZ" >&2
        return 2
    fi
    local out keytext
    _prodbase_need dpkg-deb tar gzip flock || return 1
    out=$(_prodbase_new_file "$1") || return
    keytext=$(
        echo "prodbase fixture v$PRODBASE_FIXTURE_VERSION python runtime"
        sha256sum "$_PRODBASE_SH"
        _prodbase_tool_versions
        _prodbase_resolve "${_PRODBASE_RUNTIME_DEBS[@]}"
    ) || return 1
    _prodbase_cached runtime "$keytext" _prodbase_build_runtime_into || return 1
    cp -- "$_PRODBASE_ENTRY/runtime.tar.gz" "$out" || return 1
    PRODBASE_RUNTIME=$out
    PRODBASE_RUNTIME_SHA256=$(cat "$_PRODBASE_ENTRY/sha256")
    PRODBASE_RUNTIME_VERSION=$(cat "$_PRODBASE_ENTRY/version")
    PRODBASE_RUNTIME_DEB_VERSION=$(cat "$_PRODBASE_ENTRY/deb-version")
    export PRODBASE_RUNTIME PRODBASE_RUNTIME_SHA256 PRODBASE_RUNTIME_VERSION \
        PRODBASE_RUNTIME_DEB_VERSION
}

_prodbase_build_runtime_into() {
    local work=$1
    # every step checks its status: the builder runs in an `||` list, where set -e is off
    (
        set -o pipefail
        umask 022
        local debs deb x=$work/x p=$work/stage/python
        mapfile -t debs < <(_prodbase_fetch "${_PRODBASE_RUNTIME_DEBS[@]}")
        [[ ${#debs[@]} -eq ${#_PRODBASE_RUNTIME_DEBS[@]} ]] || exit 1
        mkdir -p "$x" "$p/bin" "$p/lib" || exit 1
        for deb in "${debs[@]}"; do
            dpkg-deb --fsys-tarfile "$deb" | tar -x --no-same-owner -C "$x" || exit 1
        done
        cp -p "$x/usr/bin/python3.11" "$p/bin/python3.11" || exit 1
        ln -s python3.11 "$p/bin/python3" && ln -s python3.11 "$p/bin/python" || exit 1
        cp -a "$x/usr/lib/python3.11" "$p/lib/python3.11" || exit 1
        # a symlink to /etc/python3.11/sitecustomize.py; replaced below
        rm -f "$p/lib/python3.11/sitecustomize.py" || exit 1
        find "$p" -name __pycache__ -prune -exec rm -rf {} + || exit 1
        mkdir -p "$p/lib/python3.11/site-packages" || exit 1
        cat >"$p/lib/python3.11/site-packages/README.txt" <<'EOF' || exit 1
This directory exists so that 3rd party packages can be installed
here.  Read the source for site.py for more details.
EOF
        _prodbase_py - "$p/lib/python3.11" <<'EOF' || exit 1
# Put back upstream CPython 3.11 behaviour where Debian patches it (see prodbase.sh).
import re, sys
lib = sys.argv[1]
def patch(name, pattern, repl):
    path = lib + "/" + name
    with open(path) as f:
        src = f.read()
    new, n = re.subn(pattern, repl, src, count=1, flags=re.S)
    if n != 1:
        sys.exit("prodbase.sh: cannot patch %s: the Debian code it replaces is not there" % name)
    with open(path, "w") as f:
        f.write(new)
patch("site.py", r"def getsitepackages\(prefixes=None\):.*?(?=\ndef addsitepackages)", '''def getsitepackages(prefixes=None):
    """Returns a list containing all global site-packages directories.

    For each directory present in ``prefixes`` (or the global ``PREFIXES``),
    this function will find its `site-packages` subdirectory depending on the
    system environment, and will return a list of full paths.
    """
    sitepackages = []
    seen = set()

    if prefixes is None:
        prefixes = PREFIXES

    for prefix in prefixes:
        if not prefix or prefix in seen:
            continue
        seen.add(prefix)

        libdirs = [sys.platlibdir]
        if sys.platlibdir != "lib":
            libdirs.append("lib")

        if os.sep == '/':
            for libdir in libdirs:
                path = os.path.join(prefix, libdir,
                                    "python%d.%d" % sys.version_info[:2],
                                    "site-packages")
                sitepackages.append(path)
        else:
            sitepackages.append(prefix)

            for libdir in libdirs:
                path = os.path.join(prefix, libdir, "site-packages")
                sitepackages.append(path)
    return sitepackages
''')
patch("sysconfig.py",
      r"    if sys\.base_prefix != sys\.prefix or hasattr\(sys, \"real_prefix\"\):\n"
      r"        # virtual environments\n.*?prefix_scheme = 'posix_local'\n",
      "    prefix_scheme = 'posix_prefix'\n")
EOF
        cat >"$p/lib/python3.11/sitecustomize.py" <<'EOF' || exit 1
# CPython 3.11 starts with a frozen copy of the site module (Debian's: site-packages is
# replaced by dist-packages). When that copy is the one running, give it the upstream
# getsitepackages() (the same as in site.py next to this file) and add the directories it
# finds, as upstream site.main() would have. Nothing to do with -X frozen_modules=off.
import os as _os
import site as _site
import sys as _sys


def _getsitepackages(prefixes=None):
    """Returns a list containing all global site-packages directories (upstream 3.11)."""
    sitepackages = []
    seen = set()
    if prefixes is None:
        prefixes = _site.PREFIXES
    for prefix in prefixes:
        if not prefix or prefix in seen:
            continue
        seen.add(prefix)
        libdirs = [_sys.platlibdir]
        if _sys.platlibdir != "lib":
            libdirs.append("lib")
        if _os.sep == '/':
            for libdir in libdirs:
                path = _os.path.join(prefix, libdir,
                                     "python%d.%d" % _sys.version_info[:2],
                                     "site-packages")
                sitepackages.append(path)
        else:
            sitepackages.append(prefix)
            for libdir in libdirs:
                path = _os.path.join(prefix, libdir, "site-packages")
                sitepackages.append(path)
    return sitepackages


if getattr(getattr(_site, "__spec__", None), "origin", None) == "frozen":
    _getsitepackages.__module__ = "site"
    _site.getsitepackages = _getsitepackages
    _site.addsitepackages(_site._init_pathinfo())
EOF
        # the stage's mtimes do not matter: tar writes one mtime for all
        tar -c --sort=name --format=gnu --numeric-owner --owner=0 --group=0 \
            --mtime="@$PRODBASE_EPOCH" -C "$work/stage" python |
            gzip -n -9 >"$work/runtime.tar.gz" || exit 1
        chmod 0644 "$work/runtime.tar.gz" || exit 1
        # check: relocatable, site-packages on sys.path, ssl and json load
        local t=$work/check
        mkdir -p "$t" && tar -xzf "$work/runtime.tar.gz" -C "$t" || exit 1
        env -i PATH=/usr/bin:/bin "$t/python/bin/python3" -c '
import json, ssl, sys, sysconfig, os
prefix = sys.argv[1]
sp = os.path.join(prefix, "lib", "python3.11", "site-packages")
assert sys.prefix == prefix, (sys.prefix, prefix)
assert sp in sys.path, sys.path
import site
assert sp in site.getsitepackages(), site.getsitepackages()
assert sysconfig.get_paths()["purelib"] == sp, sysconfig.get_paths()
print("%d.%d.%d" % sys.version_info[:3])
' "$t/python" >"$work/version" || exit 1
        rm -rf "$x" "$work/stage" "$t" || exit 1
        local dv
        dv=$(dpkg-deb -f "${debs[0]}" Version) && printf '%s\n' "$dv" >"$work/deb-version" || exit 1
        [[ ${dv%%-*} == "$(cat "$work/version")" ]] ||
            { echo "prodbase.sh: runtime says $(cat "$work/version"), the package $dv" >&2; exit 1; }
        sha256sum <"$work/runtime.tar.gz" | cut -c1-64 >"$work/sha256" || exit 1
    )
}
