#!/usr/bin/env bash
# The trail through a database's life (issue 14): pg_dump keeps the audit trail, its hash chain
# and the registries (extension configuration tables); pg_restore --single-transaction into a
# new cluster with the library preloaded restores them (each COPY admitted by guard/restore.rs
# and recorded as a `trail_restored` event), audit_verify() is ok with the same rows, and
# afterwards the trail is append-only again (COPY FROM refused, with the restore HINT). Then
# pg_upgrade between two clusters of the same PostgreSQL 15 binaries keeps the trail and chain.
# Clusters on ports $TEST_PORT + 30 (source, then pg_upgrade's old cluster), + 31 (restore
# target), + 32 (pg_upgrade's new cluster).
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/assert.bash"
: "${TEST_DIR:?run me from scripts/test.sh}" "${TEST_PORT:?run me from scripts/test.sh}"

ROOT=$(dirname "$TEST_DIR")/dump_restore
A=$ROOT/source B=$ROOT/restored C=$ROOT/upgraded
PA=$((TEST_PORT + 30)) PB=$((TEST_PORT + 31)) PC=$((TEST_PORT + 32))
trap 'stop_cluster "$A"; stop_cluster "$B"; stop_cluster "$C"' EXIT

# sql DIR PORT SQL [USER] — runs SQL (stdout and stderr together, never fails).
sql() {
    "$PG_BIN/psql" -X -h "$1" -p "$2" -U "${4:-postgres}" -d postgres -At -v VERBOSITY=default -c "$3" 2>&1 || true
}
# Every row of the trail sealed (the writer seals within seconds; bounded wait, not a timing).
wait_sealed() {
    local i
    for i in $(seq 300); do
        [ "$(sql "$1" "$2" "SELECT count(*) FROM nspg_guard.audit_log l WHERE NOT EXISTS (SELECT FROM nspg_guard.audit_chain c WHERE c.id = l.id)")" = 0 ] && return 0
        sleep 0.1
    done
    return 1
}
# What the registries and the trail hold, one line per table.
COUNTS="SELECT 'audited_relations ' || (SELECT count(*) FROM nspg_guard.audited_relations)
  UNION ALL SELECT 'breakglass_requests ' || (SELECT count(*) FROM nspg_guard.breakglass_requests)
  UNION ALL SELECT 'role_lockdowns ' || (SELECT count(*) FROM nspg_guard.role_lockdowns)
  UNION ALL SELECT 'lint_suppressions ' || (SELECT count(*) FROM nspg_guard.lint_suppressions)
  UNION ALL SELECT 'snapshots ' || (SELECT count(*) FROM nspg_guard.snapshots)"
# kept_history LABEL DIR PORT MIN_ROWS — the history came through: every row sealed and the
# chain verifies over at least MIN_ROWS rows (the checking session's own login row may still be
# on its way), the registries and evidence hold what the source did, the audited table is the
# same table by name (new oids), and the trail is append-only.
kept_history() {
    wait_sealed "$2" "$3" || fail "$1: the trail was not sealed"
    expect_line "$1: audit_verify() ok over the old rows and the new ones" \
        "$(sql "$2" "$3" "SELECT ok, rows_checked >= $4 FROM nspg_guard.audit_verify()")" "t|t"
    local counts
    counts=$(sql "$2" "$3" "$COUNTS")
    if [ "$counts" = "$source_counts" ]; then pass "$1: the registries and evidence"; else fail "$1: registries differ:"; show "$counts"; fi
    expect_line "$1: the audited table is public.orders" \
        "$(sql "$2" "$3" "SELECT relid = 'public.orders'::regclass FROM nspg_guard.audited_relations")" "t"
    expect "$1: the trail is append-only" "$(sql "$2" "$3" "DELETE FROM nspg_guard.audit_log")" "refused"
}
# adopt_chain LABEL DIR PORT — a restored (or pg_upgraded) chain has no anchor in its new data
# directory: reported as broken (never adopted silently) until a superuser adopts it.
adopt_chain() {
    local i out=f
    for i in $(seq 300); do
        out=$(sql "$2" "$3" "SELECT count(*) > 0 FROM nspg_guard.audit_log WHERE outcome = 'chain_broken'")
        [ "$out" = t ] && break
        sleep 0.1
    done
    expect_line "$1: a chain without its anchor is reported (chain_broken)" "$out" "t"
    expect_line "$1: audit_verify() is not ok before adoption" \
        "$(sql "$2" "$3" "SELECT ok FROM nspg_guard.audit_verify()")" "f"
    out=$(sql "$2" "$3" "SELECT nspg_guard.audit_anchor_adopt('$1 from the source cluster, checked') > 0")
    expect_line "$1: the superuser adopts the chain" "$out" "t"
}
PRELOAD='pg_stat_statements,nspg_guard'
# a cluster with the extension in the audit database, restarted so the writer uses it
guarded_cluster() {
    start_cluster "$1" "$2" "$PRELOAD"
    sql "$1" "$2" "CREATE EXTENSION nspg_guard" >/dev/null
    as_postgres "$PG_BIN/pg_ctl" -D "$1/data" -m fast -w restart -l "$1/server.log" >/dev/null
}

say "source cluster (port $PA): a trail, registries and evidence"
guarded_cluster "$A" "$PA"
chown postgres "$ROOT"
sql "$A" "$PA" "$SESSION_ROLES_SQL" >/dev/null
sql "$A" "$PA" "CREATE ROLE leaky LOGIN; CREATE TABLE public.orders (id int); GRANT SELECT ON public.orders TO app_user;
    SELECT nspg_guard.audit_relation('public.orders', 'all'); INSERT INTO public.orders VALUES (1), (2);
    SELECT nspg_guard.lockdown_role('leaky', 'password in CI logs, INC-7');
    SELECT nspg_guard.lint_suppress('roles_password_never_expires:leaky', 'rotated by vault', now() + interval '30 days');
    SELECT nspg_guard.snapshot_save('before the move')" >/dev/null
out=$(sql "$A" "$PA" "SELECT nspg_guard.breakglass_request('restore orders after the bad deploy', '30 minutes', 'INC-7')" bob_oncall)
expect "a break-glass request is registered" "$out" "1"
out=$(sql "$A" "$PA" "DELETE FROM nspg_guard.audit_log")
expect "the source trail is append-only" "$out" "refused"
wait_sealed "$A" "$PA" || fail "the source trail was not sealed"
source_counts=$(sql "$A" "$PA" "$COUNTS")
expect_line "source: one lockdown" "$source_counts" "role_lockdowns 1"
out=$(sql "$A" "$PA" "SELECT ok FROM nspg_guard.audit_verify()")
expect_line "source: audit_verify() ok" "$out" "t"

say "pg_dump keeps the trail, the chain and the registries"
as_postgres "$PG_BIN/pg_dumpall" -h "$A" -p "$PA" -U postgres --globals-only -f "$ROOT/globals.sql"
as_postgres "$PG_BIN/pg_dump" -h "$A" -p "$PA" -U postgres -Fc -d postgres -f "$ROOT/postgres.dump"
# the rows the dump holds per table, read back from the dump itself
dumped_rows() {
    as_postgres "$PG_BIN/pg_restore" -a -t "$1" -f - "$ROOT/postgres.dump" | awk '/^COPY /{on=1; next} /^\\\.$/{on=0} on{n++} END{print n+0}'
}
log_rows=$(dumped_rows audit_log) chain_rows=$(dumped_rows audit_chain)
[ "$log_rows" -gt 10 ] && pass "the dump holds $log_rows audit rows" || fail "the dump holds $log_rows audit rows"
[ "$chain_rows" -gt 10 ] && pass "the dump holds $chain_rows chain rows" || fail "the dump holds $chain_rows chain rows"
for t in breakglass_requests role_lockdowns audited_relations; do
    [ "$(dumped_rows "$t")" = 1 ] && pass "the dump holds the $t row" || fail "the dump lacks the $t row"
done

say "restore into a fresh cluster (port $PB) with the library preloaded"
start_cluster "$B" "$PB" "$PRELOAD"
# roles first, as for any restore (pg_dumpall --globals-only); "role postgres already exists" is expected
"$PG_BIN/psql" -X -q -h "$B" -p "$PB" -U postgres -d postgres -f "$ROOT/globals.sql" >/dev/null 2>&1
out=$(as_postgres "$PG_BIN/pg_restore" -h "$B" -p "$PB" -U postgres -d postgres --single-transaction --exit-on-error "$ROOT/postgres.dump" 2>&1) \
    && pass "pg_restore --single-transaction succeeds" || { fail "pg_restore failed:"; show "$out"; }
max_id=$(as_postgres "$PG_BIN/pg_restore" -a -t audit_log -f - "$ROOT/postgres.dump" | awk -F'\t' '/^COPY /{on=1; next} /^\\\.$/{on=0} on && $1 > m {m = $1} END{print m}')
out=$(sql "$B" "$PB" "SELECT count(*) FROM nspg_guard.audit_log WHERE id <= $max_id")
expect_line "restored: the same $log_rows audit rows" "$out" "$log_rows"
# (the writer goes on to seal restored rows the source had not sealed yet: after these)
out=$(sql "$B" "$PB" "SELECT count(*) FROM nspg_guard.audit_chain WHERE seal_seq <= $chain_rows")
expect_line "restored: the same $chain_rows chain rows" "$out" "$chain_rows"
out=$(sql "$B" "$PB" "SELECT object_identity || ' ' || rows FROM nspg_guard.audit_log WHERE outcome = 'trail_restored' ORDER BY 1")
expect_line "trail_restored event for audit_log with its rows" "$out" "nspg_guard.audit_log $log_rows"
expect_line "trail_restored event for audit_chain with its rows" "$out" "nspg_guard.audit_chain $chain_rows"
expect_line "trail_restored event for the break-glass registry" "$out" "nspg_guard.breakglass_requests 1"
expect_line "trail_restored event for audited_relations" "$out" "nspg_guard.audited_relations 1"
expect_line "trail_restored event for lint_suppressions" "$out" "nspg_guard.lint_suppressions 1"
expect_line "trail_restored event for snapshots" "$out" "nspg_guard.snapshots 1"
adopt_chain restored "$B" "$PB"
kept_history restored "$B" "$PB" $((log_rows + 4))
out=$(sql "$B" "$PB" "SELECT state FROM nspg_guard.breakglass_usages")
expect_line "restored: the break-glass request" "$out" "requested"

say "after the restore the trail is append-only again"
out=$(printf '1\t2000-01-01\tschema\tcommitted\n\\.\n' | "$PG_BIN/psql" -X -h "$B" -p "$PB" -U postgres -d postgres -v VERBOSITY=default \
    -c "COPY nspg_guard.audit_log (id, event_time, class, outcome) FROM stdin" 2>&1 || true)
expect "COPY FROM into a trail with history is refused" "$out" "COPY FROM on nspg_guard.audit_log refused"
expect "the refusal says how a restore is done" "$out" "HINT:  A dump is restored by a superuser into a new database in one transaction"
out=$(printf '\\.\n' | "$PG_BIN/psql" -X -h "$B" -p "$PB" -U postgres -d postgres -c "COPY nspg_guard.role_lockdowns FROM stdin" 2>&1 || true)
expect "COPY FROM into a registry with rows is refused" "$out" "COPY FROM on nspg_guard.role_lockdowns refused"
out=$(printf '\\.\n' | "$PG_BIN/psql" -X -h "$B" -p "$PB" -U postgres -d postgres -c "COPY nspg_guard.audited_relations FROM stdin" 2>&1 || true)
expect "COPY FROM into audited_relations with rows is refused" "$out" "COPY FROM on nspg_guard.audited_relations refused"
sql "$B" "$PB" "SELECT nspg_guard.audit_flush(20000)" >/dev/null
out=$(sql "$B" "$PB" "SELECT count(*) FROM nspg_guard.audit_log WHERE class = 'denied' AND command_tag = 'COPY FROM'")
expect_line "the three refusals are audited" "$out" "3"
out=$(printf '\\.\n' | "$PG_BIN/psql" -X -h "$B" -p "$PB" -U app_user -d postgres -c "COPY nspg_guard.audit_log FROM stdin" 2>&1 || true)
expect "not by another role" "$out" "refused"
stop_cluster "$B"

say "pg_upgrade from the source cluster to a new one of the same binaries (port $PC)"
pre_upgrade=$(sql "$A" "$PA" "SELECT count(*) FROM nspg_guard.audit_log")
as_postgres "$PG_BIN/pg_ctl" -D "$A/data" -m fast -w stop >/dev/null
start_cluster "$C" "$PC" "$PRELOAD"
as_postgres "$PG_BIN/pg_ctl" -D "$C/data" -m fast -w stop >/dev/null
out=$(cd "$C" && as_postgres "$PG_BIN/pg_upgrade" -b "$PG_BIN" -B "$PG_BIN" -d "$A/data" -D "$C/data" -p "$PA" -P "$PC" \
    -o "-c unix_socket_directories=$A" -O "-c unix_socket_directories=$C" 2>&1) \
    && pass "pg_upgrade succeeds with the library preloaded in both clusters" || { fail "pg_upgrade failed:"; show "$out"; tail -n 30 "$C"/data/pg_upgrade_output.d/*/log/*.log 2>/dev/null; }
as_postgres "$PG_BIN/pg_ctl" -D "$C/data" -l "$C/server.log" -w start >/dev/null
out=$(sql "$C" "$PC" "SELECT count(*) >= $pre_upgrade FROM nspg_guard.audit_log")
expect_line "upgraded: every audit row is there" "$out" "t"
adopt_chain upgraded "$C" "$PC"
kept_history upgraded "$C" "$PC" "$pre_upgrade"
# the new data directory has no record of the old one's last stop: flagged until acknowledged
out=$(sql "$C" "$PC" "SELECT details->>'previous_run' FROM nspg_guard.audit_log WHERE command_tag = 'SERVER START' AND outcome = 'started' ORDER BY id DESC LIMIT 1")
expect_line "upgraded: the first start is flagged as a run not seen" "$out" "ran_without_nspg_guard"
out=$(sql "$C" "$PC" "SELECT nspg_guard.acknowledge_unguarded_runs('pg_upgrade from the source cluster') > 0")
expect_line "upgraded: the superuser acknowledges it" "$out" "t"

finish
