#!/usr/bin/env bash
# The guard caches each role's standing per session, yet follows changes made by OTHER sessions
# at once: while the app role stays logged in (one session, A), a superuser in another session
# (B, run from A's script with \!) grants and revokes the migration role, and changes
# nspg_guard.migration_roles with ALTER SYSTEM + pg_reload_conf(). A's next statement sees each
# change. (Changes within one session are in tests/regress/sql/ddl_roles.sql.)
# Runs against the main test cluster ($TEST_DIR, $TEST_PORT, exported by scripts/test.sh).
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/assert.bash"
: "${TEST_DIR:?run me from scripts/test.sh}" "${TEST_PORT:?run me from scripts/test.sh}"
DB=nspg_regress

# session B: one superuser statement in a new connection.
B="$PG_BIN/psql -X -q -h $TEST_DIR -p $TEST_PORT -U postgres -d $DB -v ON_ERROR_STOP=1 -c"
su_sql() { $B "$@"; }

# $WORK/migration_roles VALUE — session B: ALTER SYSTEM SET nspg_guard.migration_roles (RESET for
# VALUE "DEFAULT") and reload, then wait until a new session sees the new value: by then the
# postmaster has re-read the file and signalled every backend, so session A applies the value
# before its next statement.
WORK=$(mktemp -d)
export B
cat >"$WORK/migration_roles" <<'HELPER'
#!/bin/sh
if [ "$1" = DEFAULT ]; then set_it="ALTER SYSTEM RESET nspg_guard.migration_roles"; want='ns_migrate_*, ns_owner_*'
else set_it="ALTER SYSTEM SET nspg_guard.migration_roles = '$1'"; want=$1; fi
$B "$set_it" && $B "SELECT pg_reload_conf()" >/dev/null || exit 1
i=0
while [ $i -lt 100 ]; do
    [ "$($B "SHOW nspg_guard.migration_roles" -At)" = "$want" ] && exit 0
    sleep 0.1
    i=$((i + 1))
done
echo "migration_roles never became $want" >&2
exit 1
HELPER
chmod +x "$WORK/migration_roles"

cleanup() {
    su_sql "REVOKE ns_migrate_orders FROM ns_app_rw_orders" 2>/dev/null || true
    su_sql "ALTER SYSTEM RESET nspg_guard.migration_roles" || true
    su_sql "SELECT pg_reload_conf()" >/dev/null || true
    su_sql "SET client_min_messages = warning; DROP SCHEMA IF EXISTS othersess CASCADE" || true
    rm -rf "$WORK"
}
trap cleanup EXIT

su_sql "SELECT 1 FROM pg_roles WHERE rolname = 'ns_app_rw_orders'" -At | grep -qx 1 \
    || { echo "FAIL: role ns_app_rw_orders missing (tests/regress/sql/setup.sql must have run)"; exit 1; }
su_sql "CREATE SCHEMA othersess; GRANT USAGE, CREATE ON SCHEMA othersess TO ns_app_rw_orders"

say "session A (ns_app_rw_orders) with a superuser changing things in session B"
out=$("$PG_BIN/psql" -X -h "$TEST_DIR" -p "$TEST_PORT" -U ns_app_rw_orders -d "$DB" -v VERBOSITY=terse 2>&1 <<SQL
\pset format unaligned
\pset tuples_only on
SELECT pg_backend_pid() AS pid \gset
-- 1: not a migration role (and the standing is now cached)
CREATE TABLE othersess.step1 (id int);
\echo RESULT step1 refused=:ERROR
\! $B "GRANT ns_migrate_orders TO ns_app_rw_orders"
CREATE TABLE othersess.step2 (id int);
\echo RESULT step2 refused=:ERROR
\! $B "REVOKE ns_migrate_orders FROM ns_app_rw_orders"
CREATE TABLE othersess.step3 (id int);
\echo RESULT step3 refused=:ERROR
\! $WORK/migration_roles 'ns_app_rw_*'
SHOW nspg_guard.migration_roles;
CREATE TABLE othersess.step4 (id int);
\echo RESULT step4 refused=:ERROR
\! $WORK/migration_roles DEFAULT
SHOW nspg_guard.migration_roles;
CREATE TABLE othersess.step5 (id int);
\echo RESULT step5 refused=:ERROR
SELECT 'same session: ' || (pg_backend_pid() = :pid);
SQL
)
echo "$out" | sed 's/^/    | /'
expect_line "same session A throughout" "$out" "same session: true"
expect_line "1. before the GRANT: refused" "$out" "RESULT step1 refused=true"
expect 'refusal is the guard'"'"'s' "$out" 'ERROR:  nspg_guard: CREATE TABLE denied for role "ns_app_rw_orders"'
expect_line "2. after GRANT ns_migrate_orders in session B: allowed" "$out" "RESULT step2 refused=false"
expect_line "3. after REVOKE in session B: refused again" "$out" "RESULT step3 refused=true"
expect_line "4a. A sees migration_roles from ALTER SYSTEM + reload in B" "$out" "ns_app_rw_*"
expect_line "4b. then the app role matches migration_roles: allowed" "$out" "RESULT step4 refused=false"
expect_line "5a. A sees migration_roles reset" "$out" "ns_migrate_*, ns_owner_*"
expect_line "5b. then refused again" "$out" "RESULT step5 refused=true"

out=$(su_sql "SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class WHERE relnamespace = 'othersess'::regnamespace" -At)
expect_line "exactly the allowed tables exist" "$out" "step2,step4"

finish
