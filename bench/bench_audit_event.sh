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
#   bash bench/bench_audit_event.sh        N=2000 by default (env N); measures the library
#   installed in the system PostgreSQL 15 or in NSPG_PG_ROOT. Work directory: NSPG_BENCH_ROOT
#   (default /tmp/nspg_bench_event), port 55499 for the template's setup.
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

B=${NSPG_BENCH_ROOT:-/tmp/nspg_bench_event}
N=${N:-2000}
PORT=55499
command -v valgrind >/dev/null || { echo "valgrind is missing" >&2; exit 1; }
rm -rf "$B" && mkdir -p "$B" && chown postgres "$B"
as_postgres "$PG_BIN/initdb" -D "$B/template" -A trust -U postgres >/dev/null
cat >>"$B/template/postgresql.conf" <<CONF
shared_preload_libraries = 'nspg_guard'
nspg_guard.audit = 'all'
CONF
as_postgres "$PG_BIN/pg_ctl" -D "$B/template" -o "-p $PORT -k $B" -w start -l "$B/template.log" >/dev/null
"$PG_BIN/psql" -X -v ON_ERROR_STOP=1 -h "$B" -p "$PORT" -U postgres -d postgres -q \
    -c "CREATE EXTENSION nspg_guard" -c "CREATE TABLE public.t (v int)" \
    -c "SELECT nspg_guard.audit_relation('public.t', 'write')" -c "SELECT nspg_guard.audit_seal()" >/dev/null
as_postgres "$PG_BIN/pg_ctl" -D "$B/template" -w stop >/dev/null
{
    echo 'PREPARE p(int) AS INSERT INTO public.t VALUES ($1)'
    echo BEGIN
    for i in $(seq "$N"); do echo "EXECUTE p($i)"; done
    echo COMMIT
} >"$B/events.sql"
{ cat "$B/events.sql"; echo 'SELECT nspg_guard.audit_seal()'; } >"$B/events_seal.sql"
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
echo "profiles: $B/cachegrind.* (cg_annotate, cg_diff)"
