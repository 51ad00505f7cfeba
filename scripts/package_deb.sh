#!/usr/bin/env bash
# Builds the Debian package of the extension (README "Debian package"):
#   bash scripts/package_deb.sh [OUT_DIR]   (default: target/deb)
# from `cargo pgrx package` output (a release build; NSPG_DEV_BUILD=1 makes a debug one, for
# development only), as postgresql-15-nspg-guard_<version>-1_<arch>.deb with the library in
# /usr/lib/postgresql/15/lib and the control file, install and upgrade scripts in
# /usr/share/postgresql/15/extension. Prints the package's path last.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

OUT_DIR=${1:-$REPO_ROOT/target/deb}
NAME=postgresql-$PG_MAJOR-nspg-guard
VERSION=$(sed -nE 's/^version = "(.*)"/\1/p' "$REPO_ROOT/Cargo.toml" | head -n 1)
ARCH=$(dpkg --print-architecture)
DEB=$OUT_DIR/${NAME}_${VERSION}-1_${ARCH}.deb

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
build=release
[ -z "${NSPG_DEV_BUILD:-}" ] || build="debug, development only"
say "cargo pgrx package ($build)"
log=$(mktemp)
if ! (cd "$REPO_ROOT" && cargo pgrx package --pg-config "$PG_CONFIG" --out-dir "$stage/root" ${NSPG_DEV_BUILD:+--debug}) >"$log" 2>&1; then
    grep -Ev '^\s*$' "$log" | tail -n 40
    echo "cargo pgrx package failed (full log: $log)" >&2
    exit 1
fi
rm -f "$log"

root=$stage/root
ext=$root/usr/share/postgresql/$PG_MAJOR/extension
for f in "$root/usr/lib/postgresql/$PG_MAJOR/lib/nspg_guard.so" "$ext/nspg_guard.control" "$ext/nspg_guard--$VERSION.sql"; do
    [ -f "$f" ] || { echo "cargo pgrx package did not produce ${f#"$root"}" >&2; exit 1; }
done
doc=$root/usr/share/doc/$NAME
mkdir -p "$doc" "$root/DEBIAN"
install -m 644 "$REPO_ROOT/README.md" "$doc/README.md"
cat >"$doc/copyright" <<COPYRIGHT
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: nspg_guard
License: Apache-2.0
 On Debian systems the full text is in /usr/share/common-licenses/Apache-2.0.
COPYRIGHT
chmod 644 "$doc/copyright"
find "$root" -type d -exec chmod 755 {} +
find "$root/usr" -type f -name '*.so' -exec chmod 644 {} +
cat >"$root/DEBIAN/control" <<CONTROL
Package: $NAME
Version: $VERSION-1
Architecture: $ARCH
Maintainer: nspg_guard developers <nspg-guard@localhost>
Depends: postgresql-$PG_MAJOR, libc6
Section: database
Priority: optional
Installed-Size: $(du -sk "$root/usr" | cut -f1)
Description: NS-PG-007 security posture enforced inside PostgreSQL $PG_MAJOR
 nspg_guard is a PostgreSQL $PG_MAJOR extension (preloaded library and SQL objects): DDL and
 destructive-statement guards, a hash-chained append-only audit trail, break-glass access,
 incident lockdown and a posture lint. After installing, add nspg_guard to
 shared_preload_libraries, restart, and CREATE EXTENSION nspg_guard (README.md).
CONTROL

mkdir -p "$OUT_DIR"
dpkg-deb --root-owner-group -Zxz --build "$root" "$DEB" >/dev/null
echo "$DEB"
