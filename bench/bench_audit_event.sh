#!/usr/bin/env bash
# What one access audit event costs, in CPU instructions (deterministic, unlike TPS on a shared
# machine): N executions of a prepared INSERT into an access-audited table, in one transaction,
# through `postgres --single` under `valgrind --tool=cachegrind --cache-sim=no`, on fresh copies
# of one template data directory (extension created, public.t audited for writes):
#   noaccess    nspg_guard.audit = 'all, -access' (the statements alone)
#   table       access rows in nspg_guard.audit_log, in the transaction (the default destination)
#   table_seal  the same, then SELECT nspg_guard.audit_seal(): every row sealed into the chain
#   log         nspg_guard.audit_destination = 'log': one NSPG_AUDIT line per event instead
# Per event: (table − noaccess) / N is writing the row, (table_seal − table) / N sealing it,
# (log − noaccess) / N the log line. Valgrind runs SHA-256 in software (no SHA extensions): about
# 17,000 of a row's sealing instructions, of which a CPU with them runs a small part.
#
# Then the same comparison as bench.sh's part 4, in instructions: T pgbench tpcb-like
# transactions (BEGIN, UPDATE pgbench_accounts, SELECT, UPDATE tellers, UPDATE branches, INSERT
# history, END; pgbench -i -s 1 tables, fixed account ids), prepared as pgbench -M prepared
# prepares them, run as the app role bench_app in one single-user session:
#   none          no library
#   pgaudit-obj   pgaudit object auditing of pgbench_accounts (pgaudit.role holds UPDATE on it;
#                 pgaudit.log = none): one AUDIT: OBJECT line per transaction
#   guard         nspg_guard, access class off (nspg_guard.audit = 'all, -access')
#   access        nspg_guard auditing writes of pgbench_accounts, then audit_seal(): one row per
#                 transaction, sealed
# Each run's instructions minus its library's empty run (startup, SET ROLE, shutdown), per
# transaction; access / pgaudit-obj is the figure issue 15 and 18 compare by TPS.
#   bash bench/bench_audit_event.sh        N=2000 by default (env N); measures the library
#   installed in the system PostgreSQL 15 or in NSPG_PG_ROOT. Work directory: NSPG_BENCH_ROOT
#   (default /tmp/nspg_bench_event), port 55499 for the template's setup.
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

B=${NSPG_BENCH_ROOT:-/tmp/nspg_bench_event}
N=${N:-2000}
T=${T:-1000}
PORT=55499
command -v valgrind >/dev/null || { echo "valgrind is missing" >&2; exit 1; }
rm -rf "$B" && mkdir -p "$B" && chown postgres "$B"
as_postgres "$PG_BIN/initdb" -D "$B/template" -A trust -U postgres >/dev/null
cat >>"$B/template/postgresql.conf" <<CONF
shared_preload_libraries = 'nspg_guard, pgaudit'
nspg_guard.audit = 'all'
CONF
as_postgres "$PG_BIN/pg_ctl" -D "$B/template" -o "-p $PORT -k $B" -w start -l "$B/template.log" >/dev/null
"$PG_BIN/psql" -X -v ON_ERROR_STOP=1 -h "$B" -p "$PORT" -U postgres -d postgres -q \
    -c "CREATE EXTENSION nspg_guard" -c "CREATE TABLE public.t (v int)" \
    -c "SELECT nspg_guard.audit_relation('public.t', 'write')" -c "SELECT nspg_guard.audit_seal()" >/dev/null
"$PG_BIN/pgbench" -i -s 1 -q -h "$B" -p "$PORT" -U postgres postgres >/dev/null 2>&1
"$PG_BIN/psql" -X -v ON_ERROR_STOP=1 -h "$B" -p "$PORT" -U postgres -d postgres -q \
    -c "CREATE EXTENSION pgaudit" -c "CREATE ROLE bench_auditor NOLOGIN" -c "CREATE ROLE bench_app LOGIN" \
    -c "GRANT UPDATE ON pgbench_accounts TO bench_auditor" \
    -c "GRANT SELECT, UPDATE ON pgbench_accounts, pgbench_tellers, pgbench_branches TO bench_app" \
    -c "GRANT INSERT ON pgbench_history TO bench_app" \
    -c "SELECT nspg_guard.audit_relation('pgbench_accounts', 'write')" -c "SELECT nspg_guard.audit_seal()" \
    -c "VACUUM (FREEZE, ANALYZE)" >/dev/null
as_postgres "$PG_BIN/pg_ctl" -D "$B/template" -w stop >/dev/null
# pgaudit was preloaded for its CREATE EXTENSION only; the runs choose their libraries
sed -i "s/^shared_preload_libraries = .*/shared_preload_libraries = 'nspg_guard'/" "$B/template/postgresql.conf"
{
    echo 'PREPARE p(int) AS INSERT INTO public.t VALUES ($1)'
    echo BEGIN
    for i in $(seq "$N"); do echo "EXECUTE p($i)"; done
    echo COMMIT
} >"$B/events.sql"
{ cat "$B/events.sql"; echo 'SELECT nspg_guard.audit_seal()'; } >"$B/events_seal.sql"
{
    echo 'SET ROLE bench_app'
    echo 'PREPARE u1(int, int) AS UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2'
    echo 'PREPARE s1(int) AS SELECT abalance FROM pgbench_accounts WHERE aid = $1'
    echo 'PREPARE u2(int, int) AS UPDATE pgbench_tellers SET tbalance = tbalance + $1 WHERE tid = $2'
    echo 'PREPARE u3(int, int) AS UPDATE pgbench_branches SET bbalance = bbalance + $1 WHERE bid = $2'
    echo 'PREPARE i1(int, int, int, int) AS INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES ($1, $2, $3, $4, CURRENT_TIMESTAMP)'
    for i in $(seq "$T"); do
        aid=$((i * 7919 % 100000 + 1)) tid=$((i % 10 + 1)) delta=$((i % 100 - 50))
        echo BEGIN
        echo "EXECUTE u1($delta, $aid)"
        echo "EXECUTE s1($aid)"
        echo "EXECUTE u2($delta, $tid)"
        echo "EXECUTE u3($delta, 1)"
        echo "EXECUTE i1($tid, 1, $aid, $delta)"
        echo END
    done
} >"$B/tpcb.sql"
head -n 6 "$B/tpcb.sql" >"$B/tpcb_empty.sql"
{ cat "$B/tpcb.sql"; echo 'RESET ROLE'; echo 'SELECT nspg_guard.audit_seal()'; } >"$B/tpcb_seal.sql"
{ cat "$B/tpcb_empty.sql"; echo 'RESET ROLE'; echo 'SELECT nspg_guard.audit_seal()'; } >"$B/tpcb_empty_seal.sql"
chown -R postgres "$B"

declare -A IR
# run NAME SCRIPT [OPTION…] — instructions of one single-user run on a fresh copy
run() {
    local name=$1 script=$2
    shift 2
    rm -rf "$B/run" && cp -a "$B/template" "$B/run"
    (cd "$B" && as_postgres env -i PATH=/usr/bin:/bin LC_ALL=C valgrind --tool=cachegrind --cache-sim=no \
        --cachegrind-out-file="$B/cachegrind.$name" "$PG_BIN/postgres" --single -D "$B/run" "$@" postgres \
        <"$script" >"$B/out.$name" 2>&1)
    if grep -qE '(ERROR|WARNING|FATAL):' "$B/out.$name"; then
        grep -E '(ERROR|WARNING|FATAL):' "$B/out.$name" | head -n 3 >&2
        echo "run $name failed ($B/out.$name)" >&2
        exit 1
    fi
    IR[$name]=$(sed -nE 's/.*I[[:space:]]+refs:[[:space:]]+([0-9,]+).*/\1/p' "$B/out.$name" | tr -d ,)
}
say "$N access audit events, single-user, cachegrind"
run noaccess "$B/events.sql" -c "nspg_guard.audit=all, -access"
run table "$B/events.sql"
run table_seal "$B/events_seal.sql"
run log "$B/events.sql" -c nspg_guard.audit_destination=log
per() { echo $((($1 - $2) / N)); }
echo "instructions per event (library $(sha256sum "$(pg_config_pkglibdir)/nspg_guard.so" | cut -c1-16)…):"
echo "  writing its row (table)             $(per "${IR[table]}" "${IR[noaccess]}")"
echo "  sealing the row                     $(per "${IR[table_seal]}" "${IR[table]}")"
echo "  row and seal                        $(per "${IR[table_seal]}" "${IR[noaccess]}")"
echo "  an NSPG_AUDIT line instead (log)    $(per "${IR[log]}" "${IR[noaccess]}")"

say "$T tpcb-like transactions as bench_app, single-user, cachegrind"
PGAUDIT_OBJ=(-c shared_preload_libraries=pgaudit -c pgaudit.log=none -c pgaudit.role=bench_auditor)
NONE=(-c shared_preload_libraries=)
NOACCESS=(-c "nspg_guard.audit=all, -access")
run none_empty "$B/tpcb_empty.sql" "${NONE[@]}"
run none "$B/tpcb.sql" "${NONE[@]}"
run pgaudit_obj_empty "$B/tpcb_empty.sql" "${PGAUDIT_OBJ[@]}"
run pgaudit_obj "$B/tpcb.sql" "${PGAUDIT_OBJ[@]}"
lines=$(grep -c 'AUDIT: OBJECT' "$B/out.pgaudit_obj" || true)
[ "$lines" -eq "$T" ] || { echo "pgaudit-obj logged $lines AUDIT: OBJECT lines, not $T" >&2; exit 1; }
run guard_empty "$B/tpcb_empty.sql" "${NOACCESS[@]}"
run guard "$B/tpcb.sql" "${NOACCESS[@]}"
run access_empty "$B/tpcb_empty_seal.sql"
run access "$B/tpcb_seal.sql"
declare -A TX
for name in none pgaudit_obj guard access; do TX[$name]=$(((IR[$name] - IR[${name}_empty]) / T)); done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", a / b }'; }
echo "instructions per tpcb-like transaction:"
echo "  no library                          ${TX[none]}"
echo "  pgaudit object auditing             ${TX[pgaudit_obj]}   $(ratio "${TX[pgaudit_obj]}" "${TX[none]}")× of none"
echo "  nspg_guard, access class off        ${TX[guard]}   $(ratio "${TX[guard]}" "${TX[none]}")× of none"
echo "  nspg_guard auditing, rows sealed    ${TX[access]}   $(ratio "${TX[access]}" "${TX[none]}")× of none"
echo "  access / pgaudit-obj (cost)         $(ratio "${TX[access]}" "${TX[pgaudit_obj]}")"
echo "profiles: $B/cachegrind.* (cg_annotate, cg_diff)"
