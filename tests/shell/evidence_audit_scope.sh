#!/usr/bin/env bash
# What evidence() says about the audit trail (issue 16): never "verified" when no row of the
# database was ever sealed, and per database: the trail of the database it runs in is verified
# there, other databases whose trail was sealed are named as not verified from here. pg_regress
# cannot stop the sealers: here a server without a free worker slot for them
# (max_worker_processes = 1, the audit writer's) leaves every row unsealed, then a restart with
# slots seals them.
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/assert.bash"
: "${TEST_DIR:?run me from scripts/test.sh}" "${TEST_PORT:?run me from scripts/test.sh}"
dir=$(dirname "$TEST_DIR")/evidence_audit_scope
port=$((TEST_PORT + 41))
start_cluster "$dir" "$port" 'nspg_guard' "max_worker_processes = 1
max_logical_replication_workers = 0
max_parallel_workers = 0"
trap 'stop_cluster "$dir"' EXIT
q() { psql_at "$dir" "$port" -d "${2:-postgres}" -AtX -c "$1" 2>&1 || true; }
audit() { q "SELECT concat_ws(' | ', a ->> 'verified', a -> 'this_database' ->> 'rows_present',
                              a -> 'this_database' ->> 'rows_checked', a -> 'this_database' ->> 'anchored', a ->> 'status')
             FROM (SELECT nspg_guard.evidence() -> 'audit_retention' AS a) e" "${1:-postgres}"; }

q 'CREATE EXTENSION nspg_guard' >/dev/null
q 'CREATE TABLE public.evidence_probe (id int)' >/dev/null
sleep 2
got=$(audit)
echo "no sealer could start: $got"
expect "rows exist, none sealed" "$(q "SELECT count(*) > 0, count(*) FILTER (WHERE id IN (SELECT id FROM nspg_guard.audit_chain)) FROM nspg_guard.audit_log")" "t|0"
expect "never verified while no row was ever sealed" "$got" "false | "
expect "says why" "$got" "not verified: none of the"
expect "says how many rows are present" "$got" " | 0 | false | "

say "restart with worker slots: the sealers seal, evidence verifies"
sed -i 's/^max_worker_processes = 1$/max_worker_processes = 8/' "$dir/data/postgresql.conf"
as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w restart -l "$dir/server.log" >/dev/null
q 'CREATE DATABASE evidence_other' >/dev/null
q 'CREATE EXTENSION nspg_guard' evidence_other >/dev/null
q 'CREATE TABLE public.evidence_probe (id int)' evidence_other >/dev/null
for db in postgres evidence_other; do
    for i in $(seq 100); do
        [ "$(q "SELECT count(*) FROM nspg_guard.audit_log l WHERE NOT EXISTS (SELECT FROM nspg_guard.audit_chain c WHERE c.id = l.id)" "$db")" = 0 ] && break
        sleep 0.1
    done
done
# each connection of this test adds a login row to the audit database, sealed within a sealer's
# round: asked again until no row of an earlier connection is left unsealed
for i in $(seq 20); do
    got=$(audit)
    [[ $got == *" | true | verified: "* ]] && break
    sleep 0.5
done
echo "sealed: $got"
expect "verified once sealed" "$got" "true | "
expect "anchored once sealed" "$got" " | true | verified: "
got=$(q "SELECT jsonb_agg(d) FROM nspg_guard.evidence() e, jsonb_array_elements(e -> 'audit_retention' -> 'other_databases') d")
echo "other databases, from postgres: $got"
expect "another database with a sealed trail is named" "$got" '"database": "evidence_other"'
expect "and not counted as verified" "$got" '"verified_here": false'
got=$(audit evidence_other)
echo "in evidence_other: $got"
expect "that database's own evidence verifies it" "$got" "true | "
got=$(q "SELECT e -> 'audit_retention' -> 'other_databases' FROM nspg_guard.evidence() e" evidence_other)
expect "and names postgres as not verified from there" "$got" '"database": "postgres"'
finish
