#!/usr/bin/env bash
# Benchmark of nspg_guard: what the guard costs the statements it watches.
#
#   bash pg_test/bench.sh [--quick] [--build] [--no-pgbench]
#
#   --quick   fewer statements and short pgbench rounds (under 2 minutes instead of about 5½)
#   --no-pgbench  only the instruction counts (the decisive part)
#   --build   build and install the extension first (build_and_install from lib.sh); by default
#             the library already installed in the system PostgreSQL 15 is measured
#
# Performance is decided on CPU instructions and reported as ratios with/without the library;
# wall-clock figures are context and always come as with/without pairs.
#
# 1. CPU instructions (decisive). One template data directory: initdb, then bench/setup.sql in
#    single-user mode (roles ns_app_rw_orders and ns_migrate_orders, table bench_orders; no
#    CREATE EXTENSION). Every measurement copies the template to the same fresh directory and runs
#        valgrind --tool=cachegrind --cache-sim=no postgres --single -D DIR \
#            -c shared_preload_libraries=LIB postgres < SCRIPT
#    as postgres, with the same minimal environment, working directory and paths every time, and
#    reads the program's total instructions (I refs). The scripts, generated from bench/*.sql,
#    start with SET ROLE ns_app_rw_orders:
#      empty    nothing else (the baseline: startup, SET ROLE, shutdown)
#      dml      bench/statements.sql: SELECT, UPDATE … WHERE id =, INSERT, SET
#      utility  bench/utility.sql: transaction control, SET/SHOW, cursors, PREPARE/EXECUTE,
#               EXPLAIN, ANALYZE — statements the DDL guard examines and lets through
#    cost = I refs(script) − I refs(empty), same library setting; ratio = cost with / cost without.
#    Each measurement runs twice and the two costs must agree to 0.01 %. Each run is checked: no
#    ERROR/WARNING in the server's output, every line read, one more row per INSERT and sum(v) one
#    higher per UPDATE, and nspg_guard's code in the profile exactly when it was preloaded.
# 2. pgbench (wall clock, context only). One cluster (port 55471), pgbench -i -s 10, then rounds of:
#    restart without the library and run each workload, restart with it and run each workload.
#    Workloads select-only and tpcb-like (its UPDATEs all have WHERE; BEGIN/END go through the
#    utility hook), -c 4 -j 2 -M prepared, as ns_app_rw_orders, which owns nothing and holds only
#    the table privileges pgbench needs. Each run follows a short unmeasured warm-up.
#
# The installed library is copied to /tmp/nspg_bench/lib first and preloaded by that path, so a
# reinstall during the run cannot mix two builds in one comparison.
# Output: bench/out/report.txt (also printed at the end); the generated scripts, server output,
# cachegrind profiles (read them with cg_annotate) and pgbench logs are kept under bench/out/.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BENCH_ROOT=/tmp/nspg_bench
TEMPLATE=$BENCH_ROOT/template
RUN_DIR=$BENCH_ROOT/run
VG_DIR=$BENCH_ROOT/valgrind
LIB_DIR=$BENCH_ROOT/lib
PGB_DIR=$BENCH_ROOT/pgb
PGB_PORT=55471
PGB_SCALE=10
OUT=$REPO_ROOT/bench/out
REPORT=$OUT/report.txt
APP_ROLE=ns_app_rw_orders
ROWS=10000
SCRIPTS=(dml utility)
WORKLOADS=(select-only tpcb-like)
SETTINGS=(without with)
MAX_REPEAT_DIFF_PCT=0.01
TARGET_RATIO=1.02
declare -A TEMPLATE_SQL=([dml]=statements.sql [utility]=utility.sql)
declare -A PRELOAD IR TPS

die() { printf 'bench.sh: %s\n' "$*" >&2; exit 1; }
report() { printf '%s\n' "$*" >>"$REPORT"; }
# Arithmetic on decimals: calc 'a / b' 3 → printf %.3f of the result.
calc() { awk "BEGIN { printf \"%.${2:-4}f\", ($1) }"; }
thousands() { sed ':a; s/\B[0-9]\{3\}\>/,&/; ta' <<<"$1"; }

parse_args() {
    QUICK=0
    BUILD=0
    PGBENCH=1
    for arg in "$@"; do
        case $arg in
            --quick) QUICK=1 ;;
            --build) BUILD=1 ;;
            --no-pgbench) PGBENCH=0 ;;
            -h | --help) sed -n '1d; /^#/!q; s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
            *) die "unknown argument $arg (usage: bash pg_test/bench.sh [--quick] [--build] [--no-pgbench])" ;;
        esac
    done
    # BLOCKS: how many times each script's "-- @repeat" part is repeated.
    if ((QUICK)); then
        MODE=quick
        declare -gA BLOCKS=([dml]=400 [utility]=100)
        ROUNDS=2 ROUND_SECONDS=5 WARMUP_SECONDS=1
    else
        MODE=default
        declare -gA BLOCKS=([dml]=1600 [utility]=400)
        ROUNDS=3 ROUND_SECONDS=20 WARMUP_SECONDS=3
    fi
}

prepare() {
    for tool in valgrind "$PG_BIN/postgres" "$PG_BIN/pgbench"; do
        command -v "$tool" >/dev/null || die "$tool is missing"
    done
    if ((BUILD)); then
        ensure_toolchain
        build_and_install
    fi
    stop_cluster "$PGB_DIR" # left over by an interrupted run
    rm -rf "$BENCH_ROOT" "$OUT"
    mkdir -p "$BENCH_ROOT" "$VG_DIR" "$LIB_DIR" "$OUT"/{sql,logs,cachegrind,pgbench}
    chown postgres:postgres "$BENCH_ROOT" "$VG_DIR"
}

# Copies the installed library so that the whole run measures one build.
snapshot_library() {
    INSTALLED_LIB=$("$PG_CONFIG" --pkglibdir)/nspg_guard.so
    [ -f "$INSTALLED_LIB" ] || die "$INSTALLED_LIB is not installed; run with --build"
    cp "$INSTALLED_LIB" "$LIB_DIR/nspg_guard.so"
    LIB_SHA=$(sha256sum "$LIB_DIR/nspg_guard.so" | cut -c1-16)
    LIB_MTIME=$(date -u -r "$INSTALLED_LIB" '+%Y-%m-%d %H:%M UTC')
    PRELOAD=([without]='' [with]="$LIB_DIR/nspg_guard.so")
}

# ---------------------------------------------------------------- part 1: instructions

# Runs a command as postgres with the same environment and working directory every time:
# instruction counts shift a little with the size of the environment and of the paths.
pg_clean() { (cd "$BENCH_ROOT" && as_postgres env -i PATH=/usr/bin:/bin LC_ALL=C HOME="$BENCH_ROOT" "$@"); }

# single_user DIR PRELOAD [WRAPPER…] < statements — postgres --single, one statement per line.
single_user() {
    local dir=$1 preload=$2
    shift 2
    pg_clean "$@" "$PG_BIN/postgres" --single -D "$dir" -c shared_preload_libraries="$preload" postgres
}

# table_state DIR — "rows sum(v)" of bench_orders, read in single-user mode without the library.
table_state() {
    echo "SELECT count(*), sum(v) FROM bench_orders" | single_user "$1" '' 2>/dev/null |
        sed -n 's/^[[:space:]]*[0-9]*: [a-z]* = "\([0-9]*\)".*/\1/p' | paste -sd' '
}

# no_errors NAME — fails when the server output bench/out/logs/NAME.err reports a problem.
no_errors() {
    local pattern='(ERROR|WARNING|FATAL|PANIC):'
    if grep -qE "$pattern" "$OUT/logs/$1.err"; then
        grep -E "$pattern" "$OUT/logs/$1.err" | head -n 5 >&2
        die "$1: the server reported errors (bench/out/logs/$1.err)"
    fi
}

# strip_sql FILE — the statements of a bench/*.sql file, without comments and blank lines.
strip_sql() { grep -Ev '^[[:space:]]*(--|$)' "$1" || true; }

# expand TEMPLATE BLOCKS — SET ROLE, the lines above "-- @repeat" once, then the lines below it
# BLOCKS times with the placeholders filled in (see bench/statements.sql).
expand() {
    awk -v blocks="$2" -v rows="$ROWS" -v role="$APP_ROLE" '
        function put(s, key, val,    at) {
            while ((at = index(s, key)) > 0) s = substr(s, 1, at - 1) val substr(s, at + length(key))
            return s
        }
        function fill(s, i) {
            s = put(s, "{i}", i)
            s = put(s, "{id}", (i * 7919) % rows + 1)
            s = put(s, "{id2}", (i * 104729 + int(rows / 2)) % rows + 1)
            s = put(s, "{new_id}", rows + i)
            s = put(s, "{mb}", 4 + i % 4)
            return put(s, "{s}", 1 + i % 9)
        }
        /^-- @repeat/ { repeating = 1; next }
        /^[ \t]*(--|$)/ { next }
        { if (repeating) body[nbody++] = $0; else once[nonce++] = $0 }
        END {
            print "SET ROLE " role
            for (j = 0; j < nonce; j++) print once[j]
            for (i = 1; i <= blocks; i++) for (j = 0; j < nbody; j++) print fill(body[j], i)
        }' "$1"
}

make_template() {
    say "template data directory ($ROWS rows)"
    pg_clean "$PG_BIN/initdb" -D "$TEMPLATE" -U postgres --auth=trust --no-sync --locale=C --encoding=UTF8 >/dev/null
    cat >>"$TEMPLATE/postgresql.conf" <<CONF
fsync = off
log_checkpoints = off
lc_messages = 'C'
jit = off
CONF
    strip_sql "$REPO_ROOT/bench/setup.sql" | sed "s/{rows}/$ROWS/g" >"$OUT/sql/setup.sql"
    single_user "$TEMPLATE" '' <"$OUT/sql/setup.sql" >"$OUT/logs/setup.out" 2>"$OUT/logs/setup.err"
    no_errors setup
    read -r BASE_ROWS BASE_SUM <<<"$(table_state "$TEMPLATE")"
    [ "$BASE_ROWS" = "$ROWS" ] || die "template: bench_orders has '$BASE_ROWS' rows, expected $ROWS"
}

generate_scripts() {
    expand /dev/null 0 >"$OUT/sql/empty.sql"
    for script in "${SCRIPTS[@]}"; do
        expand "$REPO_ROOT/bench/${TEMPLATE_SQL[$script]}" "${BLOCKS[$script]}" >"$OUT/sql/$script.sql"
    done
}

# statements SCRIPT — statements a script runs beyond the baseline's SET ROLE.
statements() { echo $(($(wc -l <"$OUT/sql/$1.sql") - 1)); }

# check_run SCRIPT SETTING NAME — did every statement of the run really run, under the right library?
check_run() {
    local script=$1 setting=$2 name=$3 lines prompts rows sum inserts updates
    no_errors "$name"
    lines=$(wc -l <"$OUT/sql/$script.sql")
    prompts=$(grep -o 'backend>' "$OUT/logs/$name.out" | wc -l)
    ((prompts == lines + 1)) || die "$name: the backend read $((prompts - 1)) of $lines lines"
    inserts=$(grep -c '^INSERT' "$OUT/sql/$script.sql" || true)
    updates=$(grep -c '^UPDATE' "$OUT/sql/$script.sql" || true)
    read -r rows sum <<<"$(table_state "$RUN_DIR")"
    [ "$rows" = $((BASE_ROWS + inserts)) ] || die "$name: $rows rows after $inserts INSERTs into $BASE_ROWS"
    [ "$sum" = $((BASE_SUM + updates)) ] || die "$name: sum(v) $sum after $updates UPDATEs of $BASE_SUM"
    if grep -q 'nspg_guard::' "$OUT/cachegrind/$name.out"; then
        [ "$setting" = with ] || die "$name: nspg_guard ran although it was not preloaded"
    else
        [ "$setting" = without ] || die "$name: nspg_guard was preloaded but none of its code ran"
    fi
}

# measure SCRIPT SETTING REP — one cachegrind run on a fresh copy of the template.
measure() {
    local script=$1 setting=$2 rep=$3 name=$1-$2-$3
    rm -rf "$RUN_DIR" "${VG_DIR:?}"/*
    cp -a "$TEMPLATE" "$RUN_DIR"
    single_user "$RUN_DIR" "${PRELOAD[$setting]}" \
        valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file="$VG_DIR/cachegrind.out" \
        --log-file="$VG_DIR/valgrind.log" <"$OUT/sql/$script.sql" >"$OUT/logs/$name.out" 2>"$OUT/logs/$name.err" ||
        die "$name: postgres --single failed (bench/out/logs/$name.err, $VG_DIR/valgrind.log)"
    mv "$VG_DIR/cachegrind.out" "$OUT/cachegrind/$name.out"
    IR[$script/$setting/$rep]=$(awk '/^summary:/ { print $2 }' "$OUT/cachegrind/$name.out")
    check_run "$script" "$setting" "$name"
    printf '  %-8s %-8s run %s: %15s instructions\n' "$script" "$setting" "$rep" "$(thousands "${IR[$script/$setting/$rep]}")"
}

# cost SCRIPT SETTING REP — instructions the script's statements took.
cost() { echo $((IR[$1/$2/$3] - IR[empty/$2/$3])); }

instructions_part() {
    make_template
    generate_scripts
    say "cachegrind runs (each script × without/with × 2)"
    for rep in 1 2; do
        for setting in "${SETTINGS[@]}"; do
            for script in empty "${SCRIPTS[@]}"; do
                measure "$script" "$setting" "$rep"
            done
        done
    done
}

# ---------------------------------------------------------------- part 2: pgbench

pgb_psql() { psql_at "$PGB_DIR" "$PGB_PORT" -q -d postgres "$@"; }

# restart_with SETTING — restarts the pgbench cluster with or without the library, and checks it.
restart_with() {
    local setting=$1 preload=${PRELOAD[$1]}
    if [ -n "$preload" ]; then
        pgb_psql -c "ALTER SYSTEM SET shared_preload_libraries = '$preload'"
    else # ALTER SYSTEM SET … = '' would write '""', a library with an empty name
        pgb_psql -c "ALTER SYSTEM RESET shared_preload_libraries"
    fi
    as_postgres "$PG_BIN/pg_ctl" -D "$PGB_DIR/data" -l "$PGB_DIR/server.log" -m fast -w restart >/dev/null
    # A path comes back double-quoted, as ALTER SYSTEM wrote it.
    [ "$(pgb_psql -Atc 'SHOW shared_preload_libraries' | tr -d '"')" = "$preload" ] ||
        die "pgbench cluster: shared_preload_libraries is not '$preload' after the restart"
    if [ "$setting" = with ]; then
        [ "$(pgb_psql -Atc 'SHOW nspg_guard.ddl_guard')" = enforce ] || die "pgbench cluster: the DDL guard is not enforcing"
    fi
}

pgbench_as_app() {
    local workload=$1
    shift
    "$PG_BIN/pgbench" -n -b "$workload" -c 4 -j 2 -M prepared -h "$PGB_DIR" -p "$PGB_PORT" -U "$APP_ROLE" "$@" postgres
}

# run_pgbench WORKLOAD SETTING ROUND — one measured run; stores its TPS.
run_pgbench() {
    local workload=$1 setting=$2 round=$3 log=$OUT/pgbench/$1-$2-$3.log
    pgbench_as_app "$workload" -T "$WARMUP_SECONDS" >/dev/null 2>&1 || die "pgbench warm-up failed ($workload)"
    # What pgbench does before a run unless -n; the app role may not, so postgres does it.
    pgb_psql -c 'VACUUM pgbench_branches' -c 'VACUUM pgbench_tellers' -c 'TRUNCATE pgbench_history'
    pgbench_as_app "$workload" -T "$ROUND_SECONDS" >"$log" 2>&1 || die "pgbench failed (bench/out/pgbench/${log##*/})"
    if grep -q '^number of failed transactions' "$log" && ! grep -q '^number of failed transactions: 0 ' "$log"; then
        die "pgbench: failed transactions (bench/out/pgbench/${log##*/})"
    fi
    TPS[$workload/$setting/$round]=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$log")
    [ -n "${TPS[$workload/$setting/$round]}" ] || die "no TPS in bench/out/pgbench/${log##*/}"
    printf '  round %s %-8s %-12s %10.1f TPS\n' "$round" "$setting" "$workload" "${TPS[$workload/$setting/$round]}"
}

pgbench_part() {
    say "pgbench cluster (scale $PGB_SCALE, port $PGB_PORT)"
    start_cluster "$PGB_DIR" "$PGB_PORT" ''
    "$PG_BIN/pgbench" -i -s "$PGB_SCALE" -q -h "$PGB_DIR" -p "$PGB_PORT" -U postgres postgres >"$OUT/pgbench/init.log" 2>&1 ||
        die "pgbench -i failed (bench/out/pgbench/init.log)"
    pgb_psql <<SQL
CREATE ROLE $APP_ROLE LOGIN;
GRANT SELECT, UPDATE ON pgbench_accounts, pgbench_branches, pgbench_tellers TO $APP_ROLE;
GRANT INSERT ON pgbench_history TO $APP_ROLE;
SQL
    say "pgbench rounds ($ROUNDS × ${ROUND_SECONDS}s per workload and setting)"
    LOAD_BEFORE=$(cut -d' ' -f1 /proc/loadavg)
    for round in $(seq "$ROUNDS"); do
        for setting in "${SETTINGS[@]}"; do
            restart_with "$setting"
            for workload in "${WORKLOADS[@]}"; do
                run_pgbench "$workload" "$setting" "$round"
            done
        done
    done
    LOAD_AFTER=$(cut -d' ' -f1 /proc/loadavg)
    stop_cluster "$PGB_DIR"
}

# ---------------------------------------------------------------- report

# repeat_diff_pct A B — how far two runs of one measurement differ, in % of the first.
repeat_diff_pct() { calc "($1 > $2 ? $1 - $2 : $2 - $1) * 100 / $1" 5; }

report_instructions() {
    local script rep stmts without with worst=0 diff verdicts=()
    report "1. CPU instructions — cachegrind, postgres --single, statements run as $APP_ROLE (decisive)"
    report "   cost = instructions(script) − instructions(SET ROLE only), same shared_preload_libraries"
    report "$(printf '   %-8s %6s %4s %15s %15s %8s   %s' script stmts run 'cost without' 'cost with' ratio 'per statement without → with')"
    for script in "${SCRIPTS[@]}"; do
        stmts=$(statements "$script")
        for rep in 1 2; do
            without=$(cost "$script" without "$rep")
            with=$(cost "$script" with "$rep")
            report "$(printf '   %-8s %6s %4s %15s %15s %8s   %s → %s (+%s)' "$script" "$stmts" "$rep" \
                "$(thousands "$without")" "$(thousands "$with")" "$(calc "$with / $without" 5)" \
                "$(thousands "$(calc "$without / $stmts" 0)")" "$(thousands "$(calc "$with / $stmts" 0)")" \
                "$(thousands "$(calc "($with - $without) / $stmts" 0)")")"
        done
        verdicts+=("$script $(calc "$(cost "$script" with 1) / $(cost "$script" without 1)" 4)")
    done
    for script in empty "${SCRIPTS[@]}"; do
        for setting in "${SETTINGS[@]}"; do
            if [ "$script" = empty ]; then
                diff=$(repeat_diff_pct "${IR[empty/$setting/1]}" "${IR[empty/$setting/2]}")
            else
                diff=$(repeat_diff_pct "$(cost "$script" "$setting" 1)" "$(cost "$script" "$setting" 2)")
            fi
            worst=$(calc "$diff > $worst ? $diff : $worst" 5)
        done
    done
    report "   baseline (startup, SET ROLE, shutdown): $(thousands "${IR[empty/without/1]}") without, $(thousands "${IR[empty/with/1]}") with the library"
    report "   run 1 vs run 2: largest difference $worst % (limit $MAX_REPEAT_DIFF_PCT %): $(
        [ "$(calc "$worst <= $MAX_REPEAT_DIFF_PCT" 0)" = 1 ] && echo repeatable || echo 'NOT REPEATABLE')"
    local line="   target ratio ≤ $TARGET_RATIO:"
    for v in "${verdicts[@]}"; do
        line+=" ${v% *} ${v#* } $([ "$(calc "${v#* } <= $TARGET_RATIO" 0)" = 1 ] && echo met || echo MISSED);"
    done
    report "${line%;}"
}

report_pgbench() {
    local workload round without with sum_without sum_with ratios
    report "2. pgbench TPS — wall clock, context only: scale $PGB_SCALE, -c 4 -j 2 -M prepared, $ROUNDS × ${ROUND_SECONDS}s, as $APP_ROLE"
    report "$(printf '   %-12s %-6s %12s %12s %12s' workload round without with with/without)"
    for workload in "${WORKLOADS[@]}"; do
        sum_without=0 sum_with=0 ratios=
        for round in $(seq "$ROUNDS"); do
            without=${TPS[$workload/without/$round]}
            with=${TPS[$workload/with/$round]}
            sum_without=$(calc "$sum_without + $without" 3)
            sum_with=$(calc "$sum_with + $with" 3)
            report "$(printf '   %-12s %-6s %12.1f %12.1f %12s' "$workload" "$round" "$without" "$with" "$(calc "$with / $without" 3)")"
        done
        report "$(printf '   %-12s %-6s %12.1f %12.1f %12s' "$workload" mean "$(calc "$sum_without / $ROUNDS" 1)" \
            "$(calc "$sum_with / $ROUNDS" 1)" "$(calc "$sum_with / $sum_without" 3)")"
    done
    report "   (mean = ratio of mean TPS; 1-minute load average $LOAD_BEFORE before the rounds, $LOAD_AFTER after — other work on the machine shows up here, not in part 1)"
}

write_report() {
    local installed_now
    installed_now=$(sha256sum "$INSTALLED_LIB" 2>/dev/null | cut -c1-16)
    : >"$REPORT"
    report "nspg_guard benchmark ($MODE) — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores"
    report "library: $INSTALLED_LIB (installed $LIB_MTIME, sha256 $LIB_SHA…), measured as a copy"
    [ "$installed_now" = "$LIB_SHA" ] || report "  note: the installed library changed during the run; every figure is of the copy taken at the start"
    report "source: $(git -C "$REPO_ROOT" rev-parse --short HEAD) ($(git -C "$REPO_ROOT" rev-parse --abbrev-ref HEAD)); duration: instructions ${PART1_SECONDS}s, pgbench ${PART2_SECONDS}s"
    report ""
    report_instructions
    if ((PGBENCH)); then
        report ""
        report_pgbench
    fi
    say "report (bench/out/report.txt)"
    cat "$REPORT"
}

main() {
    parse_args "$@"
    trap 'stop_cluster "$PGB_DIR"' EXIT
    trap 'exit 130' INT TERM
    prepare
    snapshot_library
    local start=$SECONDS
    instructions_part
    PART1_SECONDS=$((SECONDS - start))
    start=$SECONDS
    if ((PGBENCH)); then pgbench_part; fi
    PART2_SECONDS=$((SECONDS - start))
    write_report
}

main "$@"
