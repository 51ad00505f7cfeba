#!/usr/bin/env bash
# Versioned upgrades (issue 14): release 0.1.0 (tag v0.1.0; built here from its commit, since a
# clean checkout need not carry tags) is installed into a cluster whose trail is then filled;
# the server is restarted in place with this checkout's library, which must keep guarding and
# writing the trail with the 0.1.0 SQL objects (and say the versions differ); then
# ALTER EXTENSION nspg_guard UPDATE: rows, chain (audit_verify) and settings survive, and the
# upgraded schema is the same as a fresh install of the new version, object by object (\df+,
# \d+, types, ACLs, comments, function settings, extension members and configuration tables):
# any difference fails with the diff. Every change to the extension's SQL must come with its
# upgrade script (sql/nspg_guard--A--B.sql) for this test to pass.
# Cluster on port $TEST_PORT + 33. Building 0.1.0 reuses the main build's dependencies (a copy
# of its target profile directory): about half a minute for a debug build.
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/assert.bash"
: "${TEST_DIR:?run me from scripts/test.sh}" "${TEST_PORT:?run me from scripts/test.sh}"

OLD_VERSION=0.1.0
OLD_COMMIT=54a807545715580bff9eb10dc480a536336afb1a # tag v0.1.0
NEW_VERSION=$(sed -nE 's/^version = "(.*)"/\1/p' "$REPO_ROOT/Cargo.toml" | head -n 1)
ROOT=$(dirname "$TEST_DIR")/upgrade
DIR=$ROOT/cluster PORT=$((TEST_PORT + 33))
OLD_ROOT=$ROOT/pg-$OLD_VERSION # a private PostgreSQL with release 0.1.0 installed
OLD_BIN=$OLD_ROOT/usr/lib/postgresql/$PG_MAJOR/bin
PROFILE=$([ -n "${NSPG_DEV_BUILD:-}" ] && echo debug || echo release)
trap 'stop_cluster "$DIR"; PG_BIN=$OLD_BIN stop_cluster "$DIR"' EXIT

# sql SQL [DB [USER]] — runs SQL (stdout and stderr together, never fails).
sql() {
    "$PG_BIN/psql" -X -h "$DIR" -p "$PORT" -U "${3:-postgres}" -d "${2:-postgres}" -At -v VERBOSITY=default -c "$1" 2>&1 || true
}
wait_sealed() {
    local i
    for i in $(seq 300); do
        [ "$(sql "SELECT count(*) FROM nspg_guard.audit_log l WHERE NOT EXISTS (SELECT FROM nspg_guard.audit_chain c WHERE c.id = l.id)")" = 0 ] && return 0
        sleep 0.1
    done
    return 1
}

say "release $OLD_VERSION built from commit $OLD_COMMIT ($PROFILE)"
if [ ! -f "$OLD_ROOT/.built-$OLD_COMMIT" ]; then
    rm -rf "$ROOT/src" "$OLD_ROOT" && mkdir -p "$ROOT/src"
    # a shallow clone (CI) may lack it: fetch that one commit
    git -C "$REPO_ROOT" cat-file -e "$OLD_COMMIT^{commit}" 2>/dev/null ||
        git -C "$REPO_ROOT" fetch --quiet --depth=1 origin "$OLD_COMMIT" || true
    git -C "$REPO_ROOT" archive "$OLD_COMMIT" | tar -x -C "$ROOT/src" ||
        { fail "commit $OLD_COMMIT is not in this clone (a shallow clone? git fetch --unshallow)"; finish; }
    target=${CARGO_TARGET_DIR:-$REPO_ROOT/target}
    # the dependencies are those of the main build: start from a copy of its profile directory
    if [ ! -d "$ROOT/target/$PROFILE" ] && [ -d "$target/$PROFILE" ]; then
        mkdir -p "$ROOT/target" && cp -a "$target/$PROFILE" "$ROOT/target/"
    fi
    (cd "$ROOT/src" && CARGO_TARGET_DIR=$ROOT/target cargo pgrx package --pg-config "$PG_CONFIG" \
        --out-dir "$ROOT/pkg" $([ "$PROFILE" = debug ] && echo --debug)) >"$ROOT/build.log" 2>&1 ||
        { tail -n 30 "$ROOT/build.log"; fail "building $OLD_VERSION failed"; finish; }
    mkdir -p "$OLD_ROOT/usr/lib/postgresql" "$OLD_ROOT/usr/share/postgresql"
    cp -a "/usr/lib/postgresql/$PG_MAJOR" "$OLD_ROOT/usr/lib/postgresql/"
    cp -a "/usr/share/postgresql/$PG_MAJOR" "$OLD_ROOT/usr/share/postgresql/"
    cp -r "$ROOT/pkg/usr/." "$OLD_ROOT/usr/"
    rm -rf "$ROOT/pkg" "$ROOT/src"
    touch "$OLD_ROOT/.built-$OLD_COMMIT"
fi
expect "the old package is release $OLD_VERSION" "$(cat "$OLD_ROOT"/usr/share/postgresql/$PG_MAJOR/extension/nspg_guard.control)" "default_version = '$OLD_VERSION'"

say "a $OLD_VERSION cluster (port $PORT) with a trail, registries and settings"
NEW_BIN=$PG_BIN
PG_BIN=$OLD_BIN start_cluster "$DIR" "$PORT" 'pg_stat_statements,nspg_guard'
PG_BIN=$OLD_BIN
sql "CREATE EXTENSION nspg_guard" >/dev/null
sql "ALTER SYSTEM SET nspg_guard.audit_retention = '400 days'" >/dev/null
as_postgres "$PG_BIN/pg_ctl" -D "$DIR/data" -m fast -w restart -l "$DIR/server.log" >/dev/null
sql "$SESSION_ROLES_SQL" >/dev/null
sql "CREATE ROLE leaky LOGIN; CREATE TABLE public.orders (id int); GRANT SELECT ON public.orders TO app_user;
    SELECT nspg_guard.audit_relation('public.orders', 'all');
    SELECT nspg_guard.lockdown_role('leaky', 'password in CI logs, INC-7');
    SELECT nspg_guard.lint_suppress('roles_password_never_expires:leaky', 'rotated by vault', now() + interval '30 days');
    SELECT nspg_guard.snapshot_save('before the upgrade')" >/dev/null
sql "SELECT nspg_guard.breakglass_request('restore orders after the bad deploy', '30 minutes', 'INC-7')" postgres bob_oncall >/dev/null
expect_line "installed version $OLD_VERSION" "$(sql "SELECT extversion FROM pg_extension WHERE extname = 'nspg_guard'")" "$OLD_VERSION"
wait_sealed || fail "the $OLD_VERSION trail was not sealed"
REGISTRIES="SELECT (SELECT count(*) FROM nspg_guard.audited_relations) || ' ' || (SELECT count(*) FROM nspg_guard.breakglass_requests)
    || ' ' || (SELECT count(*) FROM nspg_guard.role_lockdowns) || ' ' || (SELECT count(*) FROM nspg_guard.lint_suppressions)
    || ' ' || (SELECT count(*) FROM nspg_guard.snapshots)"
SETTINGS="SELECT name || '=' || setting FROM pg_settings WHERE name LIKE 'nspg\_guard.%' ORDER BY name"
old_rows=$(sql "SELECT count(*) FROM nspg_guard.audit_log")
old_registries=$(sql "$REGISTRIES")
old_settings=$(sql "$SETTINGS")
expect_line "the registries hold a row each" "$old_registries" "1 1 1 1 1"
expect_line "$OLD_VERSION: audit_verify() ok" "$(sql "SELECT ok FROM nspg_guard.audit_verify()")" "t"

say "the same data directory restarted with the $NEW_VERSION library, SQL objects still $OLD_VERSION"
as_postgres "$PG_BIN/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null
PG_BIN=$NEW_BIN
as_postgres "$PG_BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w start >/dev/null
expect_line "the SQL objects are still $OLD_VERSION" "$(sql "SELECT extversion FROM pg_extension WHERE extname = 'nspg_guard'")" "$OLD_VERSION"
out=$(sql "DELETE FROM nspg_guard.audit_log")
expect "the trail stays append-only" "$out" "refused"
out=$(sql "CREATE TABLE public.sneaky (id int)" postgres app_user)
expect "the DDL guard still refuses an application role" "$out" "CREATE TABLE denied"
# until UPDATE the new library writes rows but neither seals nor judges the old chain (its
# encoding and anchor are the new version's): no false chain_broken, the old chain still verifies
sleep 2
expect_line "the $NEW_VERSION library reports no broken chain in the $OLD_VERSION trail" \
    "$(sql "SELECT count(*) FROM nspg_guard.audit_log WHERE outcome = 'chain_broken'")" "0"
expect_line "the $OLD_VERSION chain still verifies with the $OLD_VERSION objects" \
    "$(sql "SELECT ok, rows_checked >= $old_rows FROM nspg_guard.audit_verify()")" "t|t"
out=$(sql "SELECT details->>'library_version', details->>'extension_version' FROM nspg_guard.audit_log WHERE command_tag = 'SERVER START' ORDER BY id DESC LIMIT 1")
expect_line "the start row says which versions run" "$out" "$NEW_VERSION|$OLD_VERSION"
expect "the server log warns that UPDATE is due" "$(cat "$DIR/server.log")" \
    "nspg_guard: library $NEW_VERSION runs with the SQL objects of version $OLD_VERSION in this database; run ALTER EXTENSION nspg_guard UPDATE"

say "ALTER EXTENSION nspg_guard UPDATE"
out=$(sql "ALTER EXTENSION nspg_guard UPDATE")
expect_line "UPDATE succeeds" "$out" "ALTER EXTENSION"
expect_line "the installed version is $NEW_VERSION" "$(sql "SELECT extversion FROM pg_extension WHERE extname = 'nspg_guard'")" "$NEW_VERSION"
out=$(sql "SELECT count(*) >= $old_rows FROM nspg_guard.audit_log")
expect_line "every audit row survives" "$out" "t"
wait_sealed || fail "the upgraded trail was not sealed"
expect_line "the $OLD_VERSION chain, verified by the UPDATE, was sealed anew from its first row" \
    "$(sql "SELECT c.id = (SELECT min(id) FROM nspg_guard.audit_log) FROM nspg_guard.audit_chain c WHERE c.seal_seq = 1")" "t"
expect_line "the chain survives: audit_verify() ok over the old and the new rows" \
    "$(sql "SELECT ok, rows_checked > $old_rows FROM nspg_guard.audit_verify()")" "t|t"
expect_line "the registries survive" "$(sql "$REGISTRIES")" "$old_registries"
expect_line "the audited table is still public.orders (audited_relations.relid is regclass now)" \
    "$(sql "SELECT relid = 'public.orders'::regclass, pg_typeof(relid) FROM nspg_guard.audited_relations")" "t|regclass"
out=$(sql "$SETTINGS")
# every setting of the old version keeps its value (the new version adds settings of its own)
missing=$(comm -23 <(echo "$old_settings" | sort) <(echo "$out" | sort))
if [ -z "$missing" ]; then pass "the settings survive"; else fail "settings changed:"; show "$missing"; fi
expect "an UPDATE is audited" "$(sql "SELECT command_tag || ' ' || object_identity FROM nspg_guard.audit_log WHERE command_tag = 'ALTER EXTENSION'")" "ALTER EXTENSION nspg_guard"

say "a snapshot saved by $OLD_VERSION (format 1) compared with one of $NEW_VERSION"
sql "SELECT nspg_guard.snapshot_save('after the upgrade')" >/dev/null
# format 1 listed no languages, types, parameters, tablespaces, foreign servers, role settings
# or user mappings: they are unknown on its side, not added
out=$(sql "SELECT count(*) FROM nspg_guard.snapshot_diff((SELECT id FROM nspg_guard.snapshots WHERE label = 'before the upgrade'),
                                                         (SELECT id FROM nspg_guard.snapshots WHERE label = 'after the upgrade')) d
            WHERE d.section IN ('row_security', 'role_settings', 'user_mappings')
               OR coalesce(d.before, d.after) ->> 'object_type' NOT IN ('database', 'schema', 'table', 'view', 'sequence', 'function')")
expect_line "only what both snapshots cover is compared" "$out" "0"

say "the upgraded schema is a fresh $NEW_VERSION install's"
sql "CREATE DATABASE fresh" >/dev/null
sql "CREATE EXTENSION nspg_guard" fresh >/dev/null
# everything of the extension a client can see, in a form that does not depend on row data
describe() {
    "$PG_BIN/psql" -X -h "$DIR" -p "$PORT" -U postgres -d "$1" -v ON_ERROR_STOP=1 2>&1 <<'SQL'
\pset pager off
\dx nspg_guard
\dx+ nspg_guard
\df+ nspg_guard.*
\d+ nspg_guard.*
\dT+ nspg_guard.*
\dp nspg_guard.*
\ddp
\dd nspg_guard.*
\dn+ nspg_guard
SELECT p.oid::regprocedure AS routine, p.proconfig, p.prosecdef, p.proleakproof, p.procost, p.prorows
  FROM pg_proc p WHERE p.pronamespace = 'nspg_guard'::regnamespace ORDER BY 1::text;
SELECT c.relname, c.relkind, c.relpersistence, c.relrowsecurity, c.relforcerowsecurity, c.reloptions
  FROM pg_class c WHERE c.relnamespace = 'nspg_guard'::regnamespace ORDER BY 1;
SELECT ARRAY(SELECT c::regclass::text FROM unnest(x.extconfig) c ORDER BY 1) AS configuration_tables,
       ARRAY(SELECT c FROM unnest(x.extcondition) c ORDER BY 1) AS conditions, x.extrelocatable, x.extnamespace::regnamespace
  FROM pg_extension x WHERE x.extname = 'nspg_guard';
SELECT rule, category, reads, description FROM nspg_guard.lint_rules ORDER BY rule;
-- every comment on the extension's objects and their columns (\d+ and \dd leave tables' out)
SELECT pg_describe_object(d.classoid, d.objoid, d.objsubid) AS object, d.description
  FROM pg_description d
 WHERE (d.classoid, d.objoid) IN (SELECT classid, objid FROM pg_depend
                                   WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
                                     AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'nspg_guard'))
    OR (d.classoid = 'pg_class'::regclass AND d.objoid IN (SELECT oid FROM pg_class WHERE relnamespace = 'nspg_guard'::regnamespace))
    OR (d.classoid = 'pg_extension'::regclass AND d.objoid = (SELECT oid FROM pg_extension WHERE extname = 'nspg_guard'))
 ORDER BY 1;
SQL
}
diff -u <(describe fresh) <(describe postgres) >"$ROOT/schema.diff" && pass "no difference (\df+, \d+, \dT+, \dp, \dd, settings, members, configuration tables)" \
    || { fail "the upgraded schema differs from a fresh install (- fresh, + upgraded):"; show "$(head -n 200 "$ROOT/schema.diff")"; }
[ "$(describe fresh | wc -l)" -gt 500 ] && pass "the comparison covers the schema ($(describe fresh | wc -l) lines)" || fail "the schema description is short"

finish
