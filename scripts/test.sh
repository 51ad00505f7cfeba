#!/usr/bin/env bash
# README command 2: runs every test and exits non-zero on any failure.
#   0. the layer check (check_layers.pl): src/ imports only point down its layers, no cycle;
#   1. plain Rust unit tests of the pure policy logic (cargo test, no database), and of the
#      protocol test client in tests/pgwire;
#   2. build and install the extension into the system PostgreSQL 15;
#   3. pg_regress suites (tests/regress) against a throwaway cluster with the library
#      preloaded next to pg_stat_statements, run through psql as real roles;
#   4. shell tests (tests/shell) for what a single psql session cannot show: servers started
#      without the library, connection options, concurrent sessions;
#   5. PostgreSQL's own core regression suite with and without the library
#      (pg_core_regress.sh): each run's tests count, those failing its gate as failed;
#   6. a scan of every log the run produced for the secret planted in the regress suite's
#      passwords (the main cluster logs every statement: log_min_duration_statement = 0).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TEST_ROOT=${NSPG_TEST_ROOT:-/tmp/nspg_guard_test}
# Part of every password the regress suite sets (tests/regress): no log may ever show it.
PLANTED_SECRET=PlantedZq4
export TEST_PORT=${NSPG_TEST_PORT:-55441}
export TEST_DIR=$TEST_ROOT/main
PG_REGRESS=/usr/lib/postgresql/$PG_MAJOR/lib/pgxs/src/test/regress/pg_regress
passed=0
failed=0
failures=()
record() { # record NAME STATUS
    if [ "$2" -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); failures+=("$1"); fi
}

ensure_toolchain

say "layer check (scripts/check_layers.pl)"
set +e
perl "$REPO_ROOT/scripts/check_layers.pl"
layers_status=$?
set -e
record "layer check" "$layers_status"

say "unit tests (pure Rust)"
unit_log=$(mktemp)
set +e
(cd "$REPO_ROOT" && cargo test --lib --quiet 2>&1) | tee "$unit_log" | tail -n 3
unit_status=${PIPESTATUS[0]}
set -e
unit_passed=$(grep -Eo '[0-9]+ passed' "$unit_log" | awk '{s += $1} END {print s + 0}')
passed=$((passed + unit_passed))
[ "$unit_status" -eq 0 ] || record "cargo test" 1

say "unit tests of the protocol test client (tests/pgwire)"
pgwire_log=$(mktemp)
set +e
(cd "$REPO_ROOT" && CARGO_TARGET_DIR="$REPO_ROOT/tests/pgwire/target" \
    cargo test --quiet --manifest-path tests/pgwire/Cargo.toml 2>&1) | tee "$pgwire_log" | awk '/test result/ && !n++'
pgwire_status=${PIPESTATUS[0]}
set -e
pgwire_passed=$(grep -Eo '[0-9]+ passed' "$pgwire_log" | awk '{s += $1} END {print s + 0}')
passed=$((passed + pgwire_passed))
[ "$pgwire_status" -eq 0 ] || record "pgwire cargo test" 1

build_and_install
# The fixture extension used to show that extension scripts are exempt.
install -m 644 "$REPO_ROOT"/tests/fixtures/nspg_guard_fixture* "$(pg_config_sharedir)/extension/"

say "pg_regress against a cluster with shared_preload_libraries='pg_stat_statements,nspg_guard'"
# every statement reaches the log (duration lines), so the scan below sees them all; not
# log_statement = 'all', which a lint test flags
start_cluster "$TEST_DIR" "$TEST_PORT" 'pg_stat_statements,nspg_guard' "log_min_duration_statement = 0
log_min_error_statement = debug5"
# The audit writer's database (nspg_guard.audit_database = postgres) needs the extension; a
# restart then starts the writer's counters with every event reaching the table.
psql_at "$TEST_DIR" "$TEST_PORT" -q -d postgres -c 'CREATE EXTENSION nspg_guard'
as_postgres "$PG_BIN/pg_ctl" -D "$TEST_DIR/data" -m fast -w restart -l "$TEST_DIR/server.log" >/dev/null
# pg_regress runs as postgres, who may not be able to read a checkout under /root: give it a copy.
mkdir -p "$TEST_DIR/regress"
rm -rf "$TEST_DIR/regress/in" && cp -r "$REPO_ROOT/tests/regress" "$TEST_DIR/regress/in"
chown -R postgres "$TEST_DIR/regress"
set +e
(cd "$TEST_DIR/regress/in" && as_postgres "$PG_REGRESS" --bindir="$PG_BIN" --host="$TEST_DIR" --port="$TEST_PORT" \
    --user=postgres --dbname=nspg_regress --inputdir=. --outputdir="$TEST_DIR/regress" \
    --schedule=schedule) | tee "$TEST_DIR/regress.out"
set -e
regress_ok=$(grep -cE '^(ok|test) .* ok( |$)|^ok ' "$TEST_DIR/regress.out" || true)
regress_failed=$(grep -cE 'FAILED|failed \(ignored\)' "$TEST_DIR/regress.out" || true)
passed=$((passed + regress_ok))
if [ "$regress_failed" -gt 0 ] || ! grep -q "All [0-9]* tests passed" "$TEST_DIR/regress.out"; then
    failed=$((failed + (regress_failed > 0 ? regress_failed : 1)))
    failures+=("pg_regress (diffs below)")
    cat "$TEST_DIR/regress/regression.diffs" 2>/dev/null | head -n 300 || true
fi

say "shell tests"
for t in "$REPO_ROOT"/tests/shell/*.sh; do
    [ -e "$t" ] || continue
    name=$(basename "$t" .sh)
    set +e
    bash "$t" >"$TEST_ROOT/$name.log" 2>&1
    status=$?
    set -e
    if [ $status -eq 0 ]; then echo "ok - $name"; else echo "not ok - $name"; tail -n 40 "$TEST_ROOT/$name.log"; fi
    record "$name" $status
done

stop_cluster "$TEST_DIR"

set +e
bash "$REPO_ROOT/scripts/pg_core_regress.sh" --installed 2>&1 | tee "$TEST_ROOT/core_regress.log"
core_status=${PIPESTATUS[0]}
set -e
# one line per run: "core run B: 217 tests, 0 differing, 0 failing the gate, 41 s: ok"
core_failed=0
while read -r run tests gate_failures; do
    passed=$((passed + (tests > gate_failures ? tests - gate_failures : 0)))
    failed=$((failed + gate_failures))
    core_failed=$((core_failed + gate_failures))
    [ "$gate_failures" -eq 0 ] || failures+=("core regression suite, run $run (see $TEST_ROOT/core/runs/$run/gate.txt)")
done < <(sed -nE 's/^core run ([A-Z0-9]+): ([0-9]+) tests, [0-9]+ differing, ([0-9]+) failing the gate.*/\1 \2 \3/p' "$TEST_ROOT/core_regress.log")
if [ "$core_status" -ne 0 ] && [ "$core_failed" -eq 0 ]; then
    record "core regression suite (did not run to its summary)" 1
fi

say "server logs: no planted secret"
# every server log of the run (the clusters' server.log and logs of the core suite's runs); the
# regress suite's own SQL and psql output under regress/ hold the secret by design
leaks=$(find "$TEST_ROOT" -type f \( -name '*.log' -o -name 'postmaster.log' \) -not -path '*/regress/*' -print0 |
    xargs -0 -r grep -lF "$PLANTED_SECRET" 2>/dev/null || true)
logged=$(grep -cF "ALTER ROLE" "$TEST_DIR/server.log" || true)
if [ -z "$leaks" ] && [ "$logged" -gt 0 ]; then
    echo "ok - no log holds the planted secret ($logged ALTER ROLE lines in the main cluster's log)"
    passed=$((passed + 1))
else
    echo "not ok - the planted secret is in: ${leaks:-(nothing logged: the scan saw no statement)}"
    grep -hF "$PLANTED_SECRET" $leaks 2>/dev/null | head -n 20
    record "server log scan for the planted secret" 1
fi

say "summary"
((${#failures[@]})) && printf 'failed: %s\n' "${failures[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
