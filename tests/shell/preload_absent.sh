#!/usr/bin/env bash
# A server started WITHOUT nspg_guard in shared_preload_libraries: CREATE EXTENSION still
# works but warns that the guards are inactive (with a HINT), nspg_guard.status() says
# hooks_active = false, and nothing is refused. After ALTER SYSTEM SET shared_preload_libraries
# (as the HINT says, here with nspg_guard *before* pg_stat_statements, the reverse of the main
# test cluster) and a restart, the guard works and pg_stat_statements still records statements.
# Uses its own throwaway cluster next to the main one, on port $TEST_PORT + 1.
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/assert.bash"
: "${TEST_DIR:?run me from scripts/test.sh}" "${TEST_PORT:?run me from scripts/test.sh}"

DIR=$(dirname "$TEST_DIR")/preload_absent
PORT=$((TEST_PORT + 1))
trap 'stop_cluster "$DIR"' EXIT

# sql USER SQL — runs SQL as USER (stdout and stderr together, never fails).
sql() {
    "$PG_BIN/psql" -X -h "$DIR" -p "$PORT" -U "$1" -d postgres -At -v VERBOSITY=default -c "$2" 2>&1 || true
}

say "cluster without the library preloaded (port $PORT)"
start_cluster "$DIR" "$PORT" ''
out=$(sql postgres "SHOW shared_preload_libraries")
expect_line "shared_preload_libraries is empty" "$out" ""

out=$(sql postgres "CREATE EXTENSION nspg_guard")
expect_line "CREATE EXTENSION succeeds" "$out" "CREATE EXTENSION"
expect "CREATE EXTENSION warns that the guards are inactive" "$out" \
    "WARNING:  nspg_guard is installed but its guards are inactive: the library is not in shared_preload_libraries"
expect "the warning has a HINT" "$out" "HINT:  Add nspg_guard to shared_preload_libraries"
out=$(sql postgres "SELECT value FROM nspg_guard.status() WHERE setting = 'hooks_active'")
expect_line "status(): hooks_active = false" "$out" "false"
out=$(sql postgres "SELECT nspg_guard.hooks_active()")
expect_line "hooks_active() = f" "$out" "f"

sql postgres "CREATE ROLE ns_app_rw_orders LOGIN; GRANT CREATE ON SCHEMA public TO ns_app_rw_orders" >/dev/null
out=$(sql ns_app_rw_orders "CREATE TABLE public.unguarded (id int)")
expect_line "the app role's CREATE TABLE is NOT refused" "$out" "CREATE TABLE"
reject "no nspg_guard message for the app role" "$out" "nspg_guard"
# Not even when the library is loaded into the session: without preloading there are no hooks.
out=$(sql postgres "LOAD 'nspg_guard'; SET ROLE ns_app_rw_orders; SHOW nspg_guard.ddl_guard; CREATE TABLE public.unguarded_after_load (id int)")
expect_line "after LOAD, ddl_guard says enforce" "$out" "enforce"
expect_line "after LOAD, the app role's CREATE TABLE is still not refused" "$out" "CREATE TABLE"

say "restart with shared_preload_libraries = 'nspg_guard,pg_stat_statements'"
# (a list, so two names: a single quoted 'nspg_guard,pg_stat_statements' would be one file name)
out=$(sql postgres "ALTER SYSTEM SET shared_preload_libraries = nspg_guard, pg_stat_statements")
expect "ALTER SYSTEM SET shared_preload_libraries" "$out" "ALTER SYSTEM"
if ! as_postgres "$PG_BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w restart >/dev/null; then
    fail "restart with the library preloaded"
    tail -n 5 "$DIR/server.log"
    finish
fi
out=$(sql postgres "SHOW shared_preload_libraries")
expect_line "nspg_guard is preloaded first" "$out" "nspg_guard, pg_stat_statements"
out=$(sql postgres "SELECT value FROM nspg_guard.status() WHERE setting = 'hooks_active'")
expect_line "status(): hooks_active = true" "$out" "true"

out=$(sql ns_app_rw_orders "CREATE TABLE public.guarded (id int)")
expect "the app role's CREATE TABLE is refused now" "$out" 'ERROR:  nspg_guard: CREATE TABLE denied for role "ns_app_rw_orders"'
out=$(sql ns_app_rw_orders "ALTER TABLE public.unguarded ADD COLUMN note text")
expect "the app role's ALTER TABLE (own table) is refused now" "$out" 'ERROR:  nspg_guard: ALTER TABLE denied for role "ns_app_rw_orders"'

# pg_stat_statements' hook now runs first and hands statements on to nspg_guard's; both work.
sql postgres "CREATE EXTENSION pg_stat_statements" >/dev/null
sql postgres "SELECT pg_stat_statements_reset()" >/dev/null
sql postgres "CREATE TABLE public.preload_probe (id int)" >/dev/null
sql postgres "DROP TABLE public.preload_probe" >/dev/null
sql postgres "SELECT count(*) FROM public.unguarded" >/dev/null
out=$(sql postgres "SELECT query || ' | ' || calls FROM pg_stat_statements WHERE query LIKE '%preload_probe%' OR query LIKE '%unguarded%' ORDER BY query")
expect_line "pg_stat_statements records CREATE TABLE" "$out" "CREATE TABLE public.preload_probe (id int) | 1"
expect_line "pg_stat_statements records DROP TABLE" "$out" "DROP TABLE public.preload_probe | 1"
expect_line "pg_stat_statements records SELECT" "$out" "SELECT count(*) FROM public.unguarded | 1"

# The trail's tables are written through the table API only in the shape nspg_guard made them: a
# column added while the library was absent stops the sealer, which says why and seals nothing.
restart_with() {
    as_postgres "$PG_BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -o "$1" -w restart >/dev/null ||
        { fail "restart ($1)"; tail -n 5 "$DIR/server.log"; finish; }
}
sql postgres "SELECT nspg_guard.audit_seal()" >/dev/null
restart_with "-c shared_preload_libraries=pg_stat_statements"
out=$(sql postgres "ALTER TABLE nspg_guard.audit_chain ADD COLUMN note text")
expect_line "without the library, a column is added to the chain" "$out" "ALTER TABLE"
restart_with ""
sql postgres "CREATE TABLE public.shape_probe (id int)" >/dev/null
chain_rows=$(sql postgres "SELECT count(*) FROM nspg_guard.audit_chain")
out=$(sql postgres "SELECT nspg_guard.audit_seal()")
expect "the sealer refuses a chain of another shape" "$out" \
    "cannot write to nspg_guard.audit_chain: it has other columns than nspg_guard's"
expect "with a HINT" "$out" "HINT:  The audit table was changed around nspg_guard"
expect_line "nothing was sealed" "$(sql postgres "SELECT count(*) FROM nspg_guard.audit_chain")" "$chain_rows"

finish
