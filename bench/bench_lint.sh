#!/usr/bin/env bash
# Benchmark of the posture lint (issue 6, "Speed"): times nspg_guard.lint() and
# nspg_guard.privilege_snapshot() on a throwaway cluster holding 1,000 roles and first 1,000,
# then 5,000 tables with row level security and two policies each (10,000 policies at 5,000),
# and reports how the times grow. The rules are set-based, so the growth should be close to
# the growth of the catalogs (5x).
#   NSPG_BENCH_DIR (default /tmp/nsg_lint_bench), NSPG_BENCH_PORT (default 55481),
#   NSPG_BENCH_RUNS (timed runs per measurement, best kept; default 3).
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

BENCH_DIR=${NSPG_BENCH_DIR:-/tmp/nsg_lint_bench}
BENCH_PORT=${NSPG_BENCH_PORT:-55481}
RUNS=${NSPG_BENCH_RUNS:-3}
SERVICES=20
psql_bench() { psql_at "$BENCH_DIR" "$BENCH_PORT" -d postgres -qAtX "$@"; }

ensure_toolchain
build_and_install
say "throwaway cluster in $BENCH_DIR, port $BENCH_PORT"
start_cluster "$BENCH_DIR" "$BENCH_PORT" 'nspg_guard'
trap 'stop_cluster "$BENCH_DIR"' EXIT
# Creating thousands of tables takes one lock each until commit: batches stay under this.
psql_bench -c "ALTER SYSTEM SET max_locks_per_transaction = 1024" >/dev/null
as_postgres "$PG_BIN/pg_ctl" -D "$BENCH_DIR/data" -l "$BENCH_DIR/server.log" -w restart >/dev/null

say "1,000 roles: per service an owner, a migration, an app rw and an app ro role; people in groups"
psql_bench <<SQL
CREATE EXTENSION nspg_guard;
SELECT format('CREATE ROLE ns_owner_svc%1\$s NOLOGIN;
               CREATE ROLE ns_migrate_svc%1\$s LOGIN IN ROLE ns_owner_svc%1\$s;
               CREATE ROLE ns_app_rw_svc%1\$s LOGIN;
               CREATE ROLE ns_app_ro_svc%1\$s LOGIN;
               CREATE SCHEMA svc%1\$s AUTHORIZATION ns_owner_svc%1\$s;
               GRANT USAGE ON SCHEMA svc%1\$s TO ns_app_rw_svc%1\$s, ns_app_ro_svc%1\$s;', s)
FROM generate_series(1, $SERVICES) s \gexec
SELECT format('CREATE ROLE bench_group_%s NOLOGIN IN ROLE ns_app_ro_svc%s', g, g % $SERVICES + 1)
FROM generate_series(1, 40) g \gexec
SELECT format('CREATE ROLE bench_person_%s LOGIN IN ROLE bench_group_%s', p, p % 40 + 1)
FROM generate_series(1, 1000 - 4 * $SERVICES - 40) p \gexec
SQL
psql_bench -c "SELECT 'roles: ' || count(*) FROM pg_roles WHERE rolname !~ '^pg_' AND rolname <> 'postgres'"

# add_tables FROM TO: tables FROM..TO, spread over the services, each with row level security,
# a tenant column, a SELECT policy for the ro role and an ALL policy for the rw role.
add_tables() {
    local from=$1 to=$2 batch=250 lo hi
    for ((lo = from; lo <= to; lo += batch)); do
        hi=$((lo + batch - 1 < to ? lo + batch - 1 : to))
        psql_bench <<SQL
BEGIN;
SELECT format('CREATE TABLE svc%1\$s.t%2\$s (id bigint PRIMARY KEY, tenant_id int NOT NULL, payload text);
               ALTER TABLE svc%1\$s.t%2\$s OWNER TO ns_owner_svc%1\$s;
               ALTER TABLE svc%1\$s.t%2\$s ENABLE ROW LEVEL SECURITY;
               GRANT SELECT ON svc%1\$s.t%2\$s TO ns_app_ro_svc%1\$s;
               GRANT SELECT, INSERT, UPDATE, DELETE ON svc%1\$s.t%2\$s TO ns_app_rw_svc%1\$s;
               CREATE POLICY read_own ON svc%1\$s.t%2\$s FOR SELECT TO ns_app_ro_svc%1\$s
                   USING (tenant_id = (SELECT current_setting(''app.tenant'')::int));
               CREATE POLICY write_own ON svc%1\$s.t%2\$s FOR ALL TO ns_app_rw_svc%1\$s
                   USING (tenant_id = current_setting(''app.tenant'')::int)
                   WITH CHECK (tenant_id = current_setting(''app.tenant'')::int);',
              t % $SERVICES + 1, t)
FROM generate_series($lo, $hi) t \gexec
COMMIT;
SQL
    done
}

# measure LABEL: best of $RUNS runs of lint() and privilege_snapshot(), in ms, as "lint snapshot"
measure() {
    psql_bench -c "ANALYZE" >/dev/null
    psql_bench <<SQL
CREATE FUNCTION pg_temp.best_ms(q text, runs int) RETURNS numeric LANGUAGE plpgsql AS \$\$
DECLARE
    t0 timestamptz;
    best numeric;
BEGIN
    FOR i IN 1..runs LOOP
        t0 := clock_timestamp();
        EXECUTE q;
        best := least(best, extract(epoch FROM clock_timestamp() - t0) * 1000);
    END LOOP;
    RETURN round(best);
END
\$\$;
SELECT pg_temp.best_ms('SELECT count(*) FROM nspg_guard.lint()', $RUNS) || ' '
    || pg_temp.best_ms('SELECT length(nspg_guard.privilege_snapshot()::text)', $RUNS);
SQL
}

report_size() {
    psql_bench -c "SELECT format('tables: %s, policies: %s, findings: %s, snapshot: %s kB',
        (SELECT count(*) FROM pg_class WHERE relkind = 'r' AND relnamespace::regnamespace::text LIKE 'svc%'),
        (SELECT count(*) FROM pg_policy),
        (SELECT count(*) FROM nspg_guard.lint()),
        length(nspg_guard.privilege_snapshot()::text) / 1024)"
}

say "1,000 tables"
add_tables 1 1000
report_size
read -r lint_1k snap_1k < <(measure)
echo "lint() ${lint_1k} ms, privilege_snapshot() ${snap_1k} ms"

say "5,000 tables"
add_tables 1001 5000
report_size
read -r lint_5k snap_5k < <(measure)
echo "lint() ${lint_5k} ms, privilege_snapshot() ${snap_5k} ms"

say "summary (best of $RUNS runs each)"
awk -v l1="$lint_1k" -v l5="$lint_5k" -v s1="$snap_1k" -v s5="$snap_5k" 'BEGIN {
    printf "%-22s %10s %10s %8s\n", "", "1,000 tbl", "5,000 tbl", "ratio"
    printf "%-22s %8d ms %8d ms %7.2fx\n", "lint()", l1, l5, l5 / l1
    printf "%-22s %8d ms %8d ms %7.2fx\n", "privilege_snapshot()", s1, s5, s5 / s1
    print "(5x the tables, 5x the policies; linear growth is 5.00x)"
}'
