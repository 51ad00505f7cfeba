#!/usr/bin/env bash
# The Debian package (issue 14, README "Debian package"): scripts/package_deb.sh builds it; its
# metadata (dpkg-deb --info) and files (--contents) are checked, and it is installed and used on
# a clean cluster. Not with dpkg -i into the system PostgreSQL, which other checkouts' tests may
# be using at the same time: the package is extracted (dpkg-deb -x, what dpkg -i unpacks) into
# a private copy of PostgreSQL from which every nspg_guard file was removed first.
# Cluster on port $TEST_PORT + 34.
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/assert.bash"
: "${TEST_DIR:?run me from scripts/test.sh}" "${TEST_PORT:?run me from scripts/test.sh}"

ROOT=$(dirname "$TEST_DIR")/package_deb
DIR=$ROOT/cluster PORT=$((TEST_PORT + 34))
CLEAN_ROOT=$ROOT/pg # PostgreSQL without nspg_guard, then with the package unpacked into it
VERSION=$(sed -nE 's/^version = "(.*)"/\1/p' "$REPO_ROOT/Cargo.toml" | head -n 1)
trap 'PG_BIN=$CLEAN_ROOT/usr/lib/postgresql/$PG_MAJOR/bin stop_cluster "$DIR"' EXIT

say "scripts/package_deb.sh"
rm -rf "$ROOT" && mkdir -p "$ROOT"
deb=$(bash "$REPO_ROOT/scripts/package_deb.sh" "$ROOT/out" | tail -n 1)
[ -f "$deb" ] && pass "a package: $(basename "$deb")" || { fail "no package built"; finish; }
expect_line "its name says the version" "$(basename "$deb")" "postgresql-$PG_MAJOR-nspg-guard_${VERSION}-1_$(dpkg --print-architecture).deb"

info=$(dpkg-deb --info "$deb")
expect_line "Package" "$info" " Package: postgresql-$PG_MAJOR-nspg-guard"
expect_line "Version" "$info" " Version: $VERSION-1"
expect_line "Depends on PostgreSQL $PG_MAJOR" "$info" " Depends: postgresql-$PG_MAJOR, libc6"
expect_line "Architecture" "$info" " Architecture: $(dpkg --print-architecture)"
expect "Description" "$info" " Description: NS-PG-007 security posture enforced inside PostgreSQL $PG_MAJOR"
contents=$(dpkg-deb --contents "$deb")
for f in "usr/lib/postgresql/$PG_MAJOR/lib/nspg_guard.so" "usr/share/postgresql/$PG_MAJOR/extension/nspg_guard.control" \
         "usr/share/postgresql/$PG_MAJOR/extension/nspg_guard--$VERSION.sql" \
         "usr/share/doc/postgresql-$PG_MAJOR-nspg-guard/copyright"; do
    expect "contains /$f" "$contents" "./$f"
done
# every upgrade script of the checkout is shipped
for f in "$REPO_ROOT"/sql/nspg_guard--*--*.sql; do
    expect "ships $(basename "$f")" "$contents" "/extension/$(basename "$f")"
done
reject "nothing but root owns its files" "$contents" "$(awk '$2 != "root/root" {print; exit}' <<<"$contents" | grep . || echo '@none@')"
reject "nothing outside /usr" "$contents" "$(awk '$6 !~ /^\.\/(usr\/.*)?$/ {print $6; exit}' <<<"$contents" | grep . || echo '@none@')"

say "installed on a clean cluster (port $PORT)"
mkdir -p "$CLEAN_ROOT/usr/lib/postgresql" "$CLEAN_ROOT/usr/share/postgresql"
cp -a "/usr/lib/postgresql/$PG_MAJOR" "$CLEAN_ROOT/usr/lib/postgresql/"
cp -a "/usr/share/postgresql/$PG_MAJOR" "$CLEAN_ROOT/usr/share/postgresql/"
rm -f "$CLEAN_ROOT/usr/lib/postgresql/$PG_MAJOR/lib/nspg_guard.so" "$CLEAN_ROOT/usr/share/postgresql/$PG_MAJOR/extension/nspg_guard"*
dpkg-deb -x "$deb" "$CLEAN_ROOT"
PG_BIN=$CLEAN_ROOT/usr/lib/postgresql/$PG_MAJOR/bin
start_cluster "$DIR" "$PORT" 'nspg_guard'
sql() { "$PG_BIN/psql" -X -h "$DIR" -p "$PORT" -U "${2:-postgres}" -d postgres -At -v VERBOSITY=default -c "$1" 2>&1 || true; }
expect_line "CREATE EXTENSION from the package" "$(sql "CREATE EXTENSION nspg_guard")" "CREATE EXTENSION"
as_postgres "$PG_BIN/pg_ctl" -D "$DIR/data" -m fast -w restart -l "$DIR/server.log" >/dev/null
expect_line "the packaged version is installed" "$(sql "SELECT extversion FROM pg_extension WHERE extname = 'nspg_guard'")" "$VERSION"
expect_line "the server loads from the copy the package was unpacked into" \
    "$(sql "SELECT setting FROM pg_config WHERE name = 'PKGLIBDIR'")" "$CLEAN_ROOT/usr/lib/postgresql/$PG_MAJOR/lib"
expect_line "the guards are active" "$(sql "SELECT nspg_guard.hooks_active()")" "t"
sql "CREATE ROLE app_user LOGIN" >/dev/null
expect "the DDL guard refuses an application role" "$(sql "CREATE TABLE public.t (id int)" app_user)" "CREATE TABLE denied"
expect "the trail is append-only" "$(sql "DELETE FROM nspg_guard.audit_log")" "refused"
for i in $(seq 300); do
    [ "$(sql "SELECT count(*) FROM nspg_guard.audit_log l WHERE NOT EXISTS (SELECT FROM nspg_guard.audit_chain c WHERE c.id = l.id)")" = 0 ] && break
    sleep 0.1
done
expect_line "the trail is written and sealed: audit_verify() ok" "$(sql "SELECT ok, rows_checked > 0 FROM nspg_guard.audit_verify()")" "t|t"

finish
