#!/usr/bin/env bash
# Benchmark of nspg_guard: what the guard and its audit trail cost the statements they watch.
#
#   bash bench/bench.sh [--quick] [--build] [--no-pgbench] [--audit-only]
#
#   --quick       fewer statements, fewer and shorter rounds (about 2½ minutes instead of about 10)
#   --no-pgbench  only the instruction counts (the decisive part; about 5 minutes, 3 with --quick)
#   --audit-only  only the audit comparisons, parts 3 and 4 (about 4½ minutes; 1½ with --quick)
#   NSPG_AUDIT_ROUNDS, NSPG_AUDIT_SECONDS  part 4's rounds and seconds per run (default 3 and 12)
#   --build       build and install the extension first (build_and_install from lib.sh); by default
#                 the library already installed in the system PostgreSQL 15 is measured, or the one
#                 in the private copy NSPG_PG_ROOT when that is set (as the tests install it)
#
# Performance is decided on CPU instructions and reported as ratios with/without the library;
# wall-clock figures are context and always come as alternating pairs (or quadruples).
#
# 1. CPU instructions (decisive). One template data directory: initdb, then bench/setup.sql in
#    single-user mode (roles ns_app_rw_orders and ns_migrate_orders, table bench_orders and the
#    tpcb-like tables bench_accounts, bench_tellers, bench_branches, bench_history, the empty
#    table bench_copy; no CREATE EXTENSION). Every measurement copies the template to the same
#    fresh directory and runs
#        valgrind --tool=cachegrind --cache-sim=no postgres --single -D DIR \
#            -c shared_preload_libraries=LIB postgres < SCRIPT
#    as postgres, with the same minimal environment, working directory and paths every time, and
#    reads the program's total instructions (I refs). The scripts, generated from bench/*.sql,
#    start with SET ROLE ns_app_rw_orders (copy: SET ROLE NONE, see below):
#      empty    nothing else (the baseline: startup, SET ROLE, shutdown)
#      dml      bench/statements.sql: SELECT, UPDATE … WHERE id =, INSERT, SET
#      utility  bench/utility.sql: transaction control, SET/SHOW, cursors, PREPARE/EXECUTE,
#               EXPLAIN, ANALYZE — statements the DDL guard examines and lets through
#      tpcb     bench/tpcb.sql: pgbench's tpcb-like transaction (BEGIN, UPDATE accounts, SELECT,
#               UPDATE tellers, UPDATE branches, INSERT history, COMMIT)
#      copy     bench/copy.sql: one server-side COPY bench_copy FROM a CSV file of COPY_SCRIPT_ROWS
#               rows (100,000; 25,000 with --quick; id,v,note like part 3's), reported per row.
#               It runs as the bootstrap superuser postgres, not as the app role: reading a server
#               file needs superuser or pg_read_server_files, and nspg_guard's risky-capability
#               guard refuses it to non-admin roles. Its SET ROLE NONE stands for the baseline's
#               SET ROLE, so the baseline subtracts the same kind of statement. Without CREATE
#               EXTENSION the audit trail has no table: the figure is the guard's hooks on COPY.
#               Issue 15's target, COPY throughput with/without ≥ 0.97, is the cost ratio
#               ≤ 1/0.97 ≈ 1.031; this figure decides it, part 3's wall clock is context.
#    cost = I refs(script) − I refs(empty), same library setting; ratio = cost with / cost without.
#    Heap layouts: a per-statement figure moves by some tenths of a % with where glibc's malloc
#    happens to place PostgreSQL's long-lived blocks (caches built by the first statements),
#    which anything done once before the statements shifts: one catalog read before the utility
#    script moved the baseline alone by 68 to 80 instructions per statement (either way), and
#    nspg_guard's first catalog read (is the extension installed?) shifts it the same way. So
#    each script runs in several layouts: run 1 as it is, runs 2–4 after 1–3 catalog reads run
#    first as postgres (LAYOUT_CATALOGS, in the empty script too, so the subtraction removes
#    them), and the ratio that decides a target is the mean over the four (summed costs with /
#    without); each run's ratio is reported too. Run 5 repeats run 1: the two costs must agree
#    to 0.01 % (on a quiet machine: work PostgreSQL does by the clock, such as flushing its
#    statistics at most once a second, comes more often in a run that other load slows down).
#    Each run is checked: no ERROR/WARNING in the server's output, every line read, one more row
#    per INSERT and the sum of bench_orders.v and the balances one higher per UPDATE, bench_copy
#    holding exactly the rows of the COPYs, and nspg_guard's code in the profile exactly when it
#    was preloaded.
#
# Parts 2–4 share one cluster (port 55471, database bench, pgbench -i -s 10) with
# nspg_guard.audit_database = 'bench' and CREATE EXTENSION nspg_guard in bench, so the audit
# writer has its table. Every setting is a restart (pg_ctl restart -m fast) after ALTER SYSTEM of
# shared_preload_libraries, nspg_guard.audit and pgaudit.*; each restart is checked: the settings
# took, no ERROR/WARNING/FATAL/PANIC in the server log since the restart began and, with
# nspg_guard, its audit writer is up and has recorded the start (a new SERVER START row).
# ERROR/WARNING lines logged while the workloads run are collected and listed in the report.
# pgbench runs -c 4 -j 2 -M prepared as ns_app_rw_orders, which owns nothing and holds only the
# table privileges pgbench needs; each run follows a short unmeasured warm-up.
# 2. pgbench (wall clock, context only): rounds of: restart without the library and run each
#    workload, restart with it (extension created, default audit classes 'all, -access') and run
#    each workload; every other round runs with the library first (setting_order, as part 3).
#    Workloads select-only and tpcb-like (its UPDATEs all have WHERE; BEGIN/END go through the
#    utility hook).
# 3. COPY (wall clock, context only: part 1's copy figure decides issue 15's COPY target):
#    server-side COPY bench_copy_… FROM a CSV file of 1,000,000 rows (generated once) into a fresh
#    table (CREATE TABLE, CHECKPOINT, then the timed COPY), as postgres, with the library
#    (extension created, default classes) and without; three COPYs per restart, of which the
#    fastest counts (other work on the machine only adds time), and the order alternates every
#    round. Reported as throughput with / without = time without / time with, per round, as the
#    mean (ratio of total times) and as the median of the rounds' ratios (less moved by one
#    disturbed round).
# 4. Audit trail vs pgaudit (wall clock): the tpcb-like run of part 2 under five settings, order
#    rotated every round:
#      nspg_guard   library preloaded, nspg_guard.audit = 'all' (access class on) and
#                   nspg_guard.audit_relation('pgbench_accounts', 'write'): one row in
#                   nspg_guard.audit_log per UPDATE of pgbench_accounts (one per transaction),
#                   inserted in the acting transaction and sealed into the hash chain by the
#                   writer; the pgbench log's transactions must equal the new 'access' rows
#      nspg_guard-log  the same with nspg_guard.audit_destination = 'log': one NSPG_AUDIT line in
#                   the server log per UPDATE of pgbench_accounts instead of the row — tells what
#                   the table costs apart from the hooks
#      pgaudit      pgaudit preloaded (no nspg_guard), CREATE EXTENSION pgaudit, pgaudit.log =
#                   'write', pgaudit.log_relation = on: one "AUDIT: SESSION" server-log line per
#                   write statement and relation — four per tpcb-like transaction (3 UPDATEs, 1
#                   INSERT), as pgaudit session logging cannot be restricted to one table
#      pgaudit-obj  pgaudit object logging, the closest pgaudit comes to ours: pgaudit.log = 'none',
#                   pgaudit.role = bench_auditor holding UPDATE on pgbench_accounts: one
#                   "AUDIT: OBJECT" line per UPDATE of pgbench_accounts, the same events as ours
#      none         neither library (baseline)
#    Part 4 runs at pgbench scale 10 and again at scale 1 (one branch row, which every transaction
#    updates: whatever a transaction does after that UPDATE holds the row's lock longer). Besides
#    TPS, each run reports the server's CPU time per transaction: every process of the cluster is
#    in a cgroup (v1 cpuacct), read from the run's start until its rows are sealed — steadier than
#    TPS when the machine is shared.
#    Every run's new access rows, NSPG_AUDIT access lines and pgaudit AUDIT lines are counted and
#    must be what the setting promises (a side that did nothing would make the comparison
#    worthless); after a nspg_guard run the script waits until the writer has sealed every row
#    (how long it took, and the writer's CPU time during the run, are reported) and at the end
#    audit_verify() must accept the chain. Builds that read nspg_guard.audited_relations with the
#    caller's privileges fail the app role's statements once the access class is on: access_probe
#    notices, grants the app role SELECT on that table and the report says so.
#
# The installed library is copied to /tmp/nspg_bench/lib first and preloaded by that path, so a
# reinstall during the run cannot mix two builds in one comparison. The cluster of parts 2–4 puts
# that directory first in dynamic_library_path, so the writer and the extension's functions, which
# load "nspg_guard", find the same file instead of loading the installed one a second time.
# Output: bench/out/report.txt (also printed at the end); the generated scripts, server output,
# cachegrind profiles (read them with cg_annotate), pgbench logs and the cluster's server log
# (without the per-statement audit lines; the full log stays in /tmp/nspg_bench/pgb) are kept under bench/out/.
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

BENCH_ROOT=${NSPG_BENCH_ROOT:-/tmp/nspg_bench}
TEMPLATE=$BENCH_ROOT/template
RUN_DIR=$BENCH_ROOT/run
VG_DIR=$BENCH_ROOT/valgrind
LIB_DIR=$BENCH_ROOT/lib
PGB_DIR=$BENCH_ROOT/pgb
PGB_PORT=${NSPG_BENCH_PORT:-55471}
PGB_DB=bench
PGB_SCALE=10
SERVER_LOG=$PGB_DIR/server.log
COPY_FILE=$BENCH_ROOT/copy.csv
COPY_ROWS=1000000
# the CSV file of part 1's copy script (its rows: COPY_SCRIPT_ROWS, set by parse_args)
COPY_SCRIPT_FILE=$BENCH_ROOT/copy-script.csv
OUT=$REPO_ROOT/bench/out
REPORT=$OUT/report.txt
APP_ROLE=ns_app_rw_orders
AUDITOR_ROLE=bench_auditor
ROWS=10000
SCRIPTS=(dml utility tpcb copy)
WORKLOADS=(select-only tpcb-like)
SETTINGS=(without with)
AUDIT_SETTINGS=(nspg_guard nspg_guard-log pgaudit pgaudit-obj none)
AUDIT_RATIOS=(nspg_guard/pgaudit nspg_guard/pgaudit-obj nspg_guard-log/pgaudit-obj nspg_guard/none nspg_guard-log/none pgaudit/none pgaudit-obj/none)
MAX_REPEAT_DIFF_PCT=0.01
# Part 1's heap layouts (see the comment at the top): layout k first reads the first k of these
# catalogs. Runs 1..LAYOUT_RUNS are layouts 0..LAYOUT_RUNS-1 once each; run REPEAT_RUN is layout 0
# again, to check repeatability.
LAYOUT_CATALOGS=(pg_class pg_extension pg_proc)
LAYOUT_RUNS=$((${#LAYOUT_CATALOGS[@]} + 1))
REPEAT_RUN=$((LAYOUT_RUNS + 1))
# Issue 15's targets: instructions per statement with/without the library, per script (copy:
# per row, 1 / TARGET_COPY_RATIO, set below calc).
declare -A TARGET_RATIO=([dml]=1.010 [utility]=1.010 [tpcb]=1.015)
TARGET_TPS_RATIO=0.98
# COPY throughput with/without
TARGET_COPY_RATIO=0.97
# access auditing of one table (nspg_guard) vs pgaudit object auditing of it (pgaudit-obj), TPS
declare -A TARGET_VS_PGAUDIT_OBJ=([10]=0.95 [1]=0.90)
# part 4 runs at each of these pgbench scales (scale 1: every transaction updates the one branch row)
AUDIT_SCALES=(10 1)
# every process of the part 2–4 cluster is accounted in this cgroup (v1 cpuacct), for the server's
# CPU time per transaction; unset when the machine has none
CPU_CGROUP=/sys/fs/cgroup/cpuacct/nspg_bench
NSPG_AUDIT_DEFAULT='all, -access'
declare -A TEMPLATE_SQL=([dml]=statements.sql [utility]=utility.sql [tpcb]=tpcb.sql [copy]=copy.sql)
# the role a part-1 script runs as (SET ROLE …); unset: the app role. copy stays the bootstrap
# superuser postgres: COPY from a server file is for superusers and admins only.
declare -A SCRIPT_ROLE=([copy]=NONE)
declare -A PRELOAD IR TPS TXNS SERVER_CPU_US ACCESS_ROWS AUDIT_LINES SEAL_SECONDS WRITER_CPU NSPG_LINES COPY_MS COPY_DDL_ROWS
# What each cluster setting sets besides shared_preload_libraries (unset: the default).
declare -A NSPG_AUDIT=([nspg_guard]=all [nspg_guard-log]=all)
declare -A NSPG_DESTINATION=([nspg_guard-log]=log)
declare -A PGAUDIT_LOG=([pgaudit]=write [pgaudit-obj]=none)
declare -A PGAUDIT_LOG_RELATION=([pgaudit]=on)
declare -A PGAUDIT_ROLE=([pgaudit-obj]=$AUDITOR_ROLE)
FINDINGS=()
# Server-log lines of one audited statement: pgaudit's, and nspg_guard's with destination 'log'.
PGAUDIT_LINE='AUDIT: (SESSION|OBJECT),'
NSPG_ACCESS_LINE='NSPG_AUDIT \{"event_time":"[^"]*","class":"access"'

die() { printf 'bench.sh: %s\n' "$*" >&2; exit 1; }
report() { printf '%s\n' "$*" >>"$REPORT"; }
# Arithmetic on decimals: calc 'a / b' 3 → printf %.3f of the result.
calc() { awk "BEGIN { printf \"%.${2:-4}f\", ($1) }"; }
thousands() { sed ':a; s/\B[0-9]\{3\}\>/,&/; ta' <<<"$1"; }
# COPY throughput with/without ≥ TARGET_COPY_RATIO is cost with/without ≤ its inverse.
TARGET_RATIO[copy]=$(calc "1 / $TARGET_COPY_RATIO" 3)

parse_args() {
    QUICK=0
    BUILD=0
    INSTRUCTIONS=1 PGBENCH=1 AUDIT=1
    for arg in "$@"; do
        case $arg in
            --quick) QUICK=1 ;;
            --build) BUILD=1 ;;
            --no-pgbench) ((INSTRUCTIONS)) || die "--no-pgbench and --audit-only exclude each other"; PGBENCH=0 AUDIT=0 ;;
            --audit-only) ((AUDIT)) || die "--no-pgbench and --audit-only exclude each other"; INSTRUCTIONS=0 PGBENCH=0 ;;
            -h | --help) sed -n '1d; /^#/!q; s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
            *) die "unknown argument $arg (usage: bash bench/bench.sh [--quick] [--build] [--no-pgbench] [--audit-only])" ;;
        esac
    done
    # BLOCKS: how many times each script's "-- @repeat" part is repeated; COPY_SCRIPT_ROWS: the
    # rows of the copy script's one COPY (short enough under valgrind).
    if ((QUICK)); then
        MODE=quick
        declare -gA BLOCKS=([dml]=400 [utility]=100 [tpcb]=250 [copy]=1)
        COPY_SCRIPT_ROWS=25000
        ROUNDS=2 ROUND_SECONDS=5 WARMUP_SECONDS=1
        AUDIT_ROUNDS=2 AUDIT_SECONDS=5 COPY_ROUNDS=2 COPY_REPS=3
    else
        MODE=default
        declare -gA BLOCKS=([dml]=1600 [utility]=400 [tpcb]=1000 [copy]=1)
        COPY_SCRIPT_ROWS=100000
        ROUNDS=3 ROUND_SECONDS=20 WARMUP_SECONDS=3
        AUDIT_ROUNDS=3 AUDIT_SECONDS=12 COPY_ROUNDS=4 COPY_REPS=3
    fi
    # part 4 is noise-bound on a small machine: more rounds (5 puts every setting once in every
    # position of the rotation) and longer runs narrow it
    AUDIT_ROUNDS=${NSPG_AUDIT_ROUNDS:-$AUDIT_ROUNDS} AUDIT_SECONDS=${NSPG_AUDIT_SECONDS:-$AUDIT_SECONDS}
    ((INSTRUCTIONS && !PGBENCH && !AUDIT)) && MODE+=", instructions only"
    ((!INSTRUCTIONS)) && MODE+=", audit comparisons only"
    return 0
}

prepare() {
    for tool in valgrind "$PG_BIN/postgres" "$PG_BIN/pgbench"; do
        command -v "$tool" >/dev/null || die "$tool is missing"
    done
    if ((AUDIT)); then
        [ -f "$(pg_config_pkglibdir)/pgaudit.so" ] || die "pgaudit is missing (apt-get install postgresql-$PG_MAJOR-pgaudit)"
    fi
    # Two runs at once would share the directories and the port.
    exec 9>"$BENCH_ROOT.lock"
    flock -n 9 || die "another bench.sh is running ($BENCH_ROOT.lock)"
    if ((BUILD)); then
        ensure_toolchain
        build_and_install
    fi
    stop_cluster "$PGB_DIR" # left over by an interrupted run
    rm -rf "$BENCH_ROOT" "$OUT"
    mkdir -p "$BENCH_ROOT" "$VG_DIR" "$LIB_DIR" "$OUT"/{sql,logs,cachegrind,pgbench}
    chown postgres:postgres "$BENCH_ROOT" "$VG_DIR"
}

# The extension's SQL scripts cannot be preloaded from a copy: CREATE EXTENSION reads the installed
# ones, so the cluster is set up right after the snapshot and must find them unchanged.
extension_files_sha() { cat "$(pg_config_sharedir)"/extension/nspg_guard[.-]* | sha256sum | cut -c1-16; }

# Copies the installed library so that the whole run measures one build. A build being installed
# at that moment could be caught half-written, so the copy must still equal the file a second later.
snapshot_library() {
    INSTALLED_LIB=$(pg_config_pkglibdir)/nspg_guard.so
    [ -f "$INSTALLED_LIB" ] || die "$INSTALLED_LIB is not installed; run with --build"
    local try
    for try in 1 2 3 4 5 6 7 8 9 10; do
        cp "$INSTALLED_LIB" "$LIB_DIR/nspg_guard.so"
        sleep 1
        cmp -s "$INSTALLED_LIB" "$LIB_DIR/nspg_guard.so" && break
        ((try < 10)) || die "$INSTALLED_LIB keeps changing (an install is running?)"
    done
    LIB_SHA=$(sha256sum "$LIB_DIR/nspg_guard.so" | cut -c1-16)
    EXT_SHA=$(extension_files_sha)
    LIB_MTIME=$(date -u -r "$INSTALLED_LIB" '+%Y-%m-%d %H:%M UTC')
    PRELOAD=([without]='' [with]="$LIB_DIR/nspg_guard.so" [nspg_guard]="$LIB_DIR/nspg_guard.so"
        [nspg_guard-log]="$LIB_DIR/nspg_guard.so" [pgaudit]=pgaudit [pgaudit-obj]=pgaudit [none]='')
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

# table_state DIR — "rows sum copied" read in single-user mode without the library: rows of
# bench_orders and bench_history, sum of bench_orders.v and of the tpcb-like balances, rows of
# bench_copy.
table_state() {
    echo "SELECT (SELECT count(*) FROM bench_orders) + (SELECT count(*) FROM bench_history) AS n, (SELECT sum(v) FROM bench_orders) + (SELECT sum(abalance) FROM bench_accounts) + (SELECT sum(tbalance) FROM bench_tellers) + (SELECT sum(bbalance) FROM bench_branches) AS s, (SELECT count(*) FROM bench_copy) AS c" |
        single_user "$1" '' 2>/dev/null |
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

# expand TEMPLATE BLOCKS ROLE — SET ROLE ROLE, the lines above "-- @repeat" once, then the lines
# below it BLOCKS times with the placeholders filled in (see bench/statements.sql, bench/copy.sql).
expand() {
    awk -v blocks="$2" -v rows="$ROWS" -v role="$3" -v copy_file="$COPY_SCRIPT_FILE" '
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
            s = put(s, "{copy_file}", copy_file)
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
    read -r BASE_ROWS BASE_SUM BASE_COPIED <<<"$(table_state "$TEMPLATE")"
    [ "$BASE_ROWS" = "$ROWS" ] || die "template: bench_orders has '$BASE_ROWS' rows, expected $ROWS"
    [ "$BASE_COPIED" = 0 ] || die "template: bench_copy has '$BASE_COPIED' rows, expected none"
}

# generate_scripts — the part-1 scripts, and the copy script's CSV file. Each script starts with
# SET ROLE to its SCRIPT_ROLE: the app role, except copy, which stays the bootstrap superuser
# postgres (SET ROLE NONE) because the risky-capability guard refuses COPY from a server file to
# non-admin roles (and PostgreSQL needs superuser or pg_read_server_files for it).
generate_scripts() {
    expand /dev/null 0 "$APP_ROLE" >"$OUT/sql/empty.sql"
    for script in "${SCRIPTS[@]}"; do
        expand "$REPO_ROOT/bench/${TEMPLATE_SQL[$script]}" "${BLOCKS[$script]}" "${SCRIPT_ROLE[$script]:-$APP_ROLE}" >"$OUT/sql/$script.sql"
    done
    local layout
    for layout in $(seq "${#LAYOUT_CATALOGS[@]}"); do
        for script in empty "${SCRIPTS[@]}"; do
            { printf 'SELECT count(*) FROM %s\n' "${LAYOUT_CATALOGS[@]:0:layout}"; cat "$OUT/sql/$script.sql"; } >"$OUT/sql/$script-layout$layout.sql"
        done
    done
    make_copy_file "$COPY_SCRIPT_FILE" "$COPY_SCRIPT_ROWS"
}

# layout_of RUN — the heap layout part 1's run RUN runs in.
layout_of() { if (($1 == REPEAT_RUN)); then echo 0; else echo $(($1 - 1)); fi; }

# script_file SCRIPT RUN — the statements of SCRIPT for part 1's run RUN (its heap layout).
script_file() {
    local layout
    layout=$(layout_of "$2")
    if ((layout == 0)); then echo "$OUT/sql/$1.sql"; else echo "$OUT/sql/$1-layout$layout.sql"; fi
}

# statements SCRIPT — statements a script runs beyond the baseline's SET ROLE.
statements() { echo $(($(wc -l <"$OUT/sql/$1.sql") - 1)); }
# units SCRIPT — what the script's cost is reported per: its statements, or copy's rows.
units() { if [ "$1" = copy ]; then echo "$COPY_SCRIPT_ROWS"; else statements "$1"; fi; }

# make_copy_file FILE ROWS — a CSV file of ROWS rows id,v,note, readable by the server.
make_copy_file() {
    awk -v n="$2" 'BEGIN { for (i = 1; i <= n; i++) printf "%d,%d,row %d of the COPY benchmark\n", i, i % 1000, i }' >"$1"
    chown postgres:postgres "$1"
}

# check_run SCRIPT SETTING NAME FILE — did every statement of the run (FILE) really run, under the
# right library?
check_run() {
    local script=$1 setting=$2 name=$3 file=$4 lines prompts rows sum copied inserts updates copies
    no_errors "$name"
    lines=$(wc -l <"$file")
    prompts=$(grep -o 'backend>' "$OUT/logs/$name.out" | wc -l)
    ((prompts == lines + 1)) || die "$name: the backend read $((prompts - 1)) of $lines lines"
    inserts=$(grep -c '^INSERT' "$file" || true)
    updates=$(grep -c '^UPDATE' "$file" || true)
    copies=$(grep -c '^COPY' "$file" || true)
    read -r rows sum copied <<<"$(table_state "$RUN_DIR")"
    [ "$rows" = $((BASE_ROWS + inserts)) ] || die "$name: $rows rows after $inserts INSERTs into $BASE_ROWS"
    [ "$sum" = $((BASE_SUM + updates)) ] || die "$name: sum(v) $sum after $updates UPDATEs of $BASE_SUM"
    [ "$copied" = $((copies * COPY_SCRIPT_ROWS)) ] || die "$name: bench_copy has $copied rows after $copies COPYs of $COPY_SCRIPT_ROWS"
    if grep -q 'nspg_guard::' "$OUT/cachegrind/$name.out"; then
        [ "$setting" = with ] || die "$name: nspg_guard ran although it was not preloaded"
    else
        [ "$setting" = without ] || die "$name: nspg_guard was preloaded but none of its code ran"
    fi
}

# measure SCRIPT SETTING RUN — one cachegrind run on a fresh copy of the template.
measure() {
    local script=$1 setting=$2 rep=$3 name=$1-$2-$3 file
    file=$(script_file "$script" "$rep")
    rm -rf "$RUN_DIR" "${VG_DIR:?}"/*
    cp -a "$TEMPLATE" "$RUN_DIR"
    single_user "$RUN_DIR" "${PRELOAD[$setting]}" \
        valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file="$VG_DIR/cachegrind.out" \
        --log-file="$VG_DIR/valgrind.log" <"$file" >"$OUT/logs/$name.out" 2>"$OUT/logs/$name.err" ||
        die "$name: postgres --single failed (bench/out/logs/$name.err, $VG_DIR/valgrind.log)"
    mv "$VG_DIR/cachegrind.out" "$OUT/cachegrind/$name.out"
    IR[$script/$setting/$rep]=$(awk '/^summary:/ { print $2 }' "$OUT/cachegrind/$name.out")
    check_run "$script" "$setting" "$name" "$file"
    printf '  %-8s %-8s run %s (layout %s): %15s instructions\n' "$script" "$setting" "$rep" "$(layout_of "$rep")" "$(thousands "${IR[$script/$setting/$rep]}")"
}

# cost SCRIPT SETTING REP — instructions the script's statements took.
cost() { echo $((IR[$1/$2/$3] - IR[empty/$2/$3])); }

instructions_part() {
    make_template
    generate_scripts
    say "cachegrind runs (each script × without/with × $REPEAT_RUN runs: $LAYOUT_RUNS heap layouts, then the first again)"
    for rep in $(seq "$REPEAT_RUN"); do
        for setting in "${SETTINGS[@]}"; do
            for script in empty "${SCRIPTS[@]}"; do
                measure "$script" "$setting" "$rep"
            done
        done
    done
}

# ---------------------------------------------------------------- the cluster of parts 2–4

pgb_psql() { psql_at "$PGB_DIR" "$PGB_PORT" -q -d "$PGB_DB" "$@"; }
pgb_value() { pgb_psql -Atc "$1"; }

log_size() { stat -c %s "$SERVER_LOG"; }
# log_since OFFSET — what the server logged after byte OFFSET.
log_since() { tail -c +$(($1 + 1)) "$SERVER_LOG"; }
# A fast shutdown stops a running autovacuum worker with a FATAL; that one is part of a clean restart.
log_problems_since() {
    log_since "$1" | grep -E '(ERROR|WARNING|FATAL|PANIC):' |
        grep -v 'FATAL:  terminating autovacuum process due to administrator command' || true
}

# collect_problems WHAT — ERROR/WARNING… lines logged since the last look, kept for the report.
collect_problems() {
    local problems
    problems=$(log_problems_since "$LOG_MARK")
    if [ -n "$problems" ]; then
        printf '%s\n' "$problems" | sed "s/^/[$1] /" >>"$OUT/logs/server-problems.txt"
    fi
    LOG_MARK=$(log_size)
}

nspg_loaded() { [ "${PRELOAD[$1]}" = "$LIB_DIR/nspg_guard.so" ]; }
pgaudit_loaded() { [ "${PRELOAD[$1]}" = pgaudit ]; }

# alter_system NAME VALUE — ALTER SYSTEM SET, or RESET for an empty value: ALTER SYSTEM SET of a
# list such as shared_preload_libraries to '' would write '""', a library with an empty name.
alter_system() {
    if [ -n "$2" ]; then echo "ALTER SYSTEM SET $1 = '$2';"; else echo "ALTER SYSTEM RESET $1;"; fi
}

# expect_setting NAME VALUE — dies unless SHOW NAME gives VALUE (a path comes back double-quoted).
expect_setting() {
    local got
    got=$(pgb_value "SHOW $1" | tr -d '"')
    [ "$got" = "$2" ] || die "cluster: $1 is '$got', expected '$2' (setting $SETTING)"
}

server_starts() { pgb_value "SELECT count(*) FROM nspg_guard.audit_log WHERE command_tag = 'SERVER START'"; }

# restart_with SETTING — restarts the cluster with SETTING (see SETTINGS, AUDIT_SETTINGS) and
# checks that it restarted cleanly and as configured.
restart_with() {
    SETTING=$1
    local preload=${PRELOAD[$1]} starts=0 mark i
    collect_problems "runs before restart $1"
    if ((EXTENSION)); then starts=$(server_starts); fi
    {
        alter_system shared_preload_libraries "$preload"
        echo "ALTER SYSTEM SET nspg_guard.audit = '${NSPG_AUDIT[$1]:-$NSPG_AUDIT_DEFAULT}';"
        echo "ALTER SYSTEM SET nspg_guard.audit_destination = '${NSPG_DESTINATION[$1]:-table}';"
        echo "ALTER SYSTEM SET pgaudit.log = '${PGAUDIT_LOG[$1]:-none}';"
        echo "ALTER SYSTEM SET pgaudit.log_relation = '${PGAUDIT_LOG_RELATION[$1]:-off}';"
        echo "ALTER SYSTEM SET pgaudit.role = '${PGAUDIT_ROLE[$1]:-}';"
    } | pgb_psql
    mark=$(log_size)
    as_postgres "$PG_BIN/pg_ctl" -D "$PGB_DIR/data" -l "$SERVER_LOG" -m fast -w restart >/dev/null ||
        die "cluster: restart with '$1' failed (bench/out/logs/server.log)"
    cpu_group_join
    expect_setting shared_preload_libraries "$preload"
    if nspg_loaded "$1"; then
        expect_setting nspg_guard.ddl_guard enforce
        expect_setting nspg_guard.audit "${NSPG_AUDIT[$1]:-$NSPG_AUDIT_DEFAULT}"
        expect_setting nspg_guard.audit_destination "${NSPG_DESTINATION[$1]:-table}"
        expect_setting nspg_guard.audit_database "$PGB_DB"
        # the writer connects to the audit database and, where the extension is, records the start
        for i in $(seq 50); do
            if [ "$(pgb_value "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'nspg_guard audit writer'")" = 1 ] &&
                { ((!EXTENSION)) || (($(server_starts) > starts)); }; then
                break
            fi
            ((i < 50)) || die "cluster: no audit writer, or no SERVER START row, 10 s after the restart with '$1'"
            sleep 0.2
        done
    fi
    if pgaudit_loaded "$1"; then
        expect_setting pgaudit.log "${PGAUDIT_LOG[$1]}"
        expect_setting pgaudit.log_relation "${PGAUDIT_LOG_RELATION[$1]:-off}"
        expect_setting pgaudit.role "${PGAUDIT_ROLE[$1]:-}"
    fi
    if [ -n "$(log_problems_since "$mark")" ]; then
        log_problems_since "$mark" | head -n 5 >&2
        die "cluster: the restart with '$1' was not clean (bench/out/logs/server.log)"
    fi
    RESTARTS=$((RESTARTS + 1))
    LOG_MARK=$(log_size)
}

# setup_cluster — the cluster of parts 2–4, with the extension created in the pgbench database.
setup_cluster() {
    say "cluster (pgbench scale $PGB_SCALE, database $PGB_DB, port $PGB_PORT)"
    RESTARTS=0 EXTENSION=0
    start_cluster "$PGB_DIR" "$PGB_PORT" ''
    # The audit settings in the file too: ALTER SYSTEM (PostgreSQL 15) refuses a setting whose
    # library is not loaded unless the server knows it as a placeholder from the file.
    cat >>"$PGB_DIR/data/postgresql.conf" <<CONF
dynamic_library_path = '$LIB_DIR:\$libdir'
nspg_guard.audit_database = '$PGB_DB'
nspg_guard.audit = '$NSPG_AUDIT_DEFAULT'
nspg_guard.audit_destination = 'table'
pgaudit.log = 'none'
pgaudit.log_relation = off
pgaudit.role = ''
CONF
    as_postgres "$PG_BIN/pg_ctl" -D "$PGB_DIR/data" -l "$SERVER_LOG" -m fast -w restart >/dev/null
    LOG_MARK=0
    psql_at "$PGB_DIR" "$PGB_PORT" -q -d postgres -c "CREATE DATABASE $PGB_DB"
    "$PG_BIN/pgbench" -i -s "$PGB_SCALE" -q -h "$PGB_DIR" -p "$PGB_PORT" -U postgres "$PGB_DB" >"$OUT/pgbench/init.log" 2>&1 ||
        die "pgbench -i failed (bench/out/pgbench/init.log)"
    pgb_psql <<SQL
CREATE ROLE $APP_ROLE LOGIN;
GRANT SELECT, UPDATE ON pgbench_accounts, pgbench_branches, pgbench_tellers TO $APP_ROLE;
GRANT INSERT ON pgbench_history TO $APP_ROLE;
SQL
    restart_with with
    pgb_psql -c 'CREATE EXTENSION nspg_guard'
    [ "$(extension_files_sha)" = "$EXT_SHA" ] || die "the installed extension changed since the library was copied; run again"
    EXTENSION=1
    # restarts cleanly without the library and with it, and the writer finds its table
    restart_with without
    restart_with with
}

# ---------------------------------------------------------------- part 2: pgbench

pgbench_as_app() {
    local workload=$1
    shift
    "$PG_BIN/pgbench" -n -b "$workload" -c 4 -j 2 -M prepared -h "$PGB_DIR" -p "$PGB_PORT" -U "$APP_ROLE" "$@" "$PGB_DB"
}

# writer_ticks — CPU time (clock ticks) the audit writer has used so far; 0 without a writer.
writer_ticks() {
    local pid
    pid=$(pgb_value "SELECT pid FROM pg_stat_activity WHERE backend_type = 'nspg_guard audit writer'")
    if [ -n "$pid" ] && [ -r "/proc/$pid/stat" ]; then
        sed 's/^.*) //' "/proc/$pid/stat" | awk '{ print $12 + $13 }'
    else
        echo 0
    fi
}

# cpu_group_join — puts the cluster's processes (postmaster and children; later children follow
# the postmaster) into CPU_CGROUP, created on first use.
cpu_group_join() {
    [ -n "$CPU_CGROUP" ] || return 0
    if ! mkdir -p "$CPU_CGROUP" 2>/dev/null || [ ! -w "$CPU_CGROUP/cgroup.procs" ]; then
        CPU_CGROUP=
        return 0
    fi
    local pid
    pid=$(head -n 1 "$PGB_DIR/data/postmaster.pid")
    for p in $pid $(ps --ppid "$pid" -o pid=); do echo "$p" >"$CPU_CGROUP/cgroup.procs" 2>/dev/null || true; done
}

# cpu_used_ns — CPU time the cluster's processes have used (cgroup), 0 without a cgroup.
cpu_used_ns() { if [ -n "$CPU_CGROUP" ]; then cat "$CPU_CGROUP/cpuacct.usage"; else echo 0; fi; }

access_rows() { pgb_value "SELECT count(*) FROM nspg_guard.audit_log WHERE class = 'access'"; }
unsealed_rows() { pgb_value "SELECT count(*) FROM nspg_guard.audit_log l WHERE NOT EXISTS (SELECT FROM nspg_guard.audit_chain c WHERE c.id = l.id)"; }

# wait_sealed KEY — waits until the writer has sealed every audit row; stores how long it took.
wait_sealed() {
    local start=$SECONDS started_at
    started_at=$(date +%s.%N)
    while (($(unsealed_rows) > 0)); do
        ((SECONDS - start < 300)) || die "$1: the writer left audit rows unsealed for 5 minutes"
        sleep 0.1
    done
    SEAL_SECONDS[$1]=$(calc "$(date +%s.%N) - $started_at" 1)
}

# run_pgbench WORKLOAD SETTING ROUND SECONDS — one measured run; stores its TPS, transactions and
# the audit records it left: new 'access' rows in nspg_guard.audit_log, new AUDIT lines in the log.
# A fifth argument tags the key (tpcb-like@s1/…), for runs at another scale.
run_pgbench() {
    local workload=$1 setting=$2 round=$3 seconds=$4 key=$1${5:-}/$2/$3 log=$OUT/pgbench/$1${5:-}-$2-$3.log rows_before log_before ticks_before cpu_before
    pgbench_as_app "$workload" -T "$WARMUP_SECONDS" >/dev/null 2>&1 || die "pgbench warm-up failed ($workload)"
    # What pgbench does before a run unless -n; the app role may not, so postgres does it.
    pgb_psql -c 'VACUUM pgbench_branches' -c 'VACUUM pgbench_tellers' -c 'TRUNCATE pgbench_history'
    rows_before=$(access_rows)
    log_before=$(log_size)
    ticks_before=$(writer_ticks)
    cpu_before=$(cpu_used_ns)
    pgbench_as_app "$workload" -T "$seconds" >"$log" 2>&1 || die "pgbench failed (bench/out/pgbench/${log##*/})"
    WRITER_CPU[$key]=$(calc "($(writer_ticks) - $ticks_before) / $(getconf CLK_TCK)" 1)
    ACCESS_ROWS[$key]=$(($(access_rows) - rows_before))
    AUDIT_LINES[$key]=$(log_since "$log_before" | grep -cE "$PGAUDIT_LINE" || true)
    NSPG_LINES[$key]=$(log_since "$log_before" | grep -cE "$NSPG_ACCESS_LINE" || true)
    if grep -q '^number of failed transactions' "$log" && ! grep -q '^number of failed transactions: 0 ' "$log"; then
        die "pgbench: failed transactions (bench/out/pgbench/${log##*/})"
    fi
    TPS[$key]=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$log")
    TXNS[$key]=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$log")
    [ -n "${TPS[$key]}" ] && [ -n "${TXNS[$key]}" ] || die "no TPS in bench/out/pgbench/${log##*/}"
    if nspg_loaded "$setting"; then wait_sealed "$key"; fi
    # the server's CPU per transaction, sealing included (the client, pgbench, is not counted)
    SERVER_CPU_US[$key]=$(calc "($(cpu_used_ns) - $cpu_before) / 1000 / ${TXNS[$key]}" 1)
    printf '  round %s %-14s %-15s %10.1f TPS' "$round" "$setting" "$workload${5:-}" "${TPS[$key]}"
    if [ "${ACCESS_ROWS[$key]}${NSPG_LINES[$key]}${AUDIT_LINES[$key]}" != 000 ]; then
        printf '  (%s transactions: %s access rows, %s NSPG_AUDIT lines, %s AUDIT lines)' "${TXNS[$key]}" \
            "${ACCESS_ROWS[$key]}" "${NSPG_LINES[$key]}" "${AUDIT_LINES[$key]}"
    fi
    printf '\n'
}

# setting_order ROUND — the order of the settings in a wall-clock round: without first in odd
# rounds, with first in even ones (a machine that slows down as the run goes on would otherwise
# count against whichever always runs second).
setting_order() { if (($1 % 2)); then echo without with; else echo with without; fi; }

pgbench_part() {
    say "pgbench rounds ($ROUNDS × ${ROUND_SECONDS}s per workload and setting)"
    PGB_LOAD_BEFORE=$(cut -d' ' -f1 /proc/loadavg)
    PGBENCH_SCALE=$PGB_SCALE
    local order
    for round in $(seq "$ROUNDS"); do
        read -ra order <<<"$(setting_order "$round")"
        for setting in "${order[@]}"; do
            restart_with "$setting"
            for workload in "${WORKLOADS[@]}"; do
                run_pgbench "$workload" "$setting" "$round" "$ROUND_SECONDS"
            done
        done
    done
    PGB_LOAD_AFTER=$(cut -d' ' -f1 /proc/loadavg)
}

# ---------------------------------------------------------------- part 3: COPY

schema_rows() { pgb_value "SELECT count(*) FROM nspg_guard.audit_log WHERE class = 'schema' AND command_tag = 'CREATE TABLE'"; }

# run_copy SETTING ROUND — COPY_REPS times: COPY of the file into a fresh table; stores the best
# time in ms. One COPY takes well under a second, so a single one is at the mercy of whatever else
# the machine does, and that only ever adds time.
run_copy() {
    local setting=$1 round=$2 rep table out ddl_before count times=()
    ddl_before=$(schema_rows)
    for rep in $(seq "$COPY_REPS"); do
        table=bench_copy_${setting}_${round}_$rep
        # a new table each time: DROP TABLE would draw the destructive guard's warning
        pgb_psql -c "CREATE TABLE $table (id int, v int, note text)" -c CHECKPOINT
        out=$(pgb_psql -c '\timing on' -c "COPY $table FROM '$COPY_FILE' (FORMAT csv)")
        times+=("$(sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' <<<"$out")")
        [ -n "${times[-1]}" ] || die "COPY ($setting, round $round): no time in psql's output: $out"
        count=$(pgb_value "SELECT count(*) FROM $table")
        [ "$count" = "$COPY_ROWS" ] || die "COPY ($setting, round $round): $count rows, expected $COPY_ROWS"
    done
    COPY_DDL_ROWS[$setting/$round]=$(($(schema_rows) - ddl_before))
    COPY_MS[$setting/$round]=$(printf '%s\n' "${times[@]}" | sort -g | head -n 1)
    printf '  round %s %-8s COPY %s rows: %s ms, best %s ms\n' "$round" "$setting" "$COPY_ROWS" "${times[*]}" "${COPY_MS[$setting/$round]}"
}

copy_part() {
    say "COPY rounds ($COPY_ROUNDS × $COPY_REPS COPYs of $COPY_ROWS rows per setting, order alternating)"
    make_copy_file "$COPY_FILE" "$COPY_ROWS"
    COPY_LOAD_BEFORE=$(cut -d' ' -f1 /proc/loadavg)
    local round order setting
    for round in $(seq "$COPY_ROUNDS"); do
        read -ra order <<<"$(setting_order "$round")"
        for setting in "${order[@]}"; do
            restart_with "$setting"
            run_copy "$setting" "$round"
        done
    done
    COPY_LOAD_AFTER=$(cut -d' ' -f1 /proc/loadavg)
}

# ---------------------------------------------------------------- part 4: audit trail vs pgaudit

# access_probe — with the access class on, can the app role still run a query? (It needs to read
# nspg_guard.audited_relations, which is not granted to it; see the report.) Grants that if not.
access_probe() {
    local out
    if ! out=$("$PG_BIN/psql" -X -v ON_ERROR_STOP=1 -h "$PGB_DIR" -p "$PGB_PORT" -U "$APP_ROLE" -d "$PGB_DB" -Atq \
        -c 'SELECT count(*) FROM pgbench_branches' -c 'UPDATE pgbench_accounts SET abalance = abalance WHERE aid = 1' 2>&1); then
        FINDINGS+=("With the access class on and one relation audited, the first statement of every session of $APP_ROLE (a role without rights on nspg_guard.audited_relations) fails: \"$(grep -m1 ERROR <<<"$out" | sed 's/^psql:[^E]*//' || true)\". access::audited() reads the list with the caller's privileges; after the error LOADING stays set, so the session's later statements run but are never audited. Worked around here with GRANT USAGE ON SCHEMA nspg_guard, SELECT ON nspg_guard.audited_relations TO $APP_ROLE.")
        pgb_psql -c "GRANT USAGE ON SCHEMA nspg_guard TO $APP_ROLE" -c "GRANT SELECT ON nspg_guard.audited_relations TO $APP_ROLE"
    fi
}

# audit_scale SCALE — pgbench's tables at SCALE (initialised anew unless they are at it), the app
# role's grants, pgbench_accounts audited (nspg_guard) and the pgaudit auditor's grant on it.
audit_scale() {
    local scale=$1
    if [ "$scale" != "$PGB_SCALE" ]; then
        say "pgbench tables at scale $scale"
        # pgbench -i drops its tables, which the destructive guard would judge; pgaudit's event
        # triggers need pgaudit loaded
        restart_with pgaudit-obj
        "$PG_BIN/pgbench" -i -s "$scale" -q -h "$PGB_DIR" -p "$PGB_PORT" -U postgres "$PGB_DB" >"$OUT/pgbench/init-s$scale.log" 2>&1 ||
            die "pgbench -i -s $scale failed (bench/out/pgbench/init-s$scale.log)"
        PGB_SCALE=$scale
        pgb_psql <<SQL
GRANT SELECT, UPDATE ON pgbench_accounts, pgbench_branches, pgbench_tellers TO $APP_ROLE;
GRANT INSERT ON pgbench_history TO $APP_ROLE;
GRANT UPDATE ON pgbench_accounts TO $AUDITOR_ROLE;
SQL
        restart_with nspg_guard
        pgb_psql -c "SELECT nspg_guard.audit_relation('pgbench_accounts'::regclass, 'write')" >/dev/null
    fi
}

setup_audit() {
    say "audit settings: nspg_guard access auditing of pgbench_accounts, pgaudit"
    restart_with nspg_guard
    # audit_relation takes an oid: the table's name alone is not accepted
    if ! pgb_psql -c "SELECT nspg_guard.audit_relation('pgbench_accounts', 'write')" >/dev/null 2>&1; then
        FINDINGS+=("nspg_guard.audit_relation('pgbench_accounts', 'write') fails with \"invalid input syntax for type oid\": its parameter is oid, not regclass (its own hint suggests audit_relation('public.orders', 'write')); 'pgbench_accounts'::regclass works.")
    fi
    pgb_psql -c "SELECT nspg_guard.audit_relation('pgbench_accounts'::regclass, 'write')" >/dev/null
    access_probe
    pgb_psql -c "CREATE ROLE $AUDITOR_ROLE NOLOGIN" -c "GRANT UPDATE ON pgbench_accounts TO $AUDITOR_ROLE"
    LOG_MARK=$(log_size) # the probes' errors are findings, not problems of the runs
    restart_with pgaudit
    pgb_psql -c 'CREATE EXTENSION pgaudit'
}

audit_part() {
    setup_audit
    AUDIT_LOAD_BEFORE=$(cut -d' ' -f1 /proc/loadavg)
    local round i n=${#AUDIT_SETTINGS[@]} setting scale
    for scale in "${AUDIT_SCALES[@]}"; do
        audit_scale "$scale"
        say "audit rounds at scale $scale ($AUDIT_ROUNDS × ${AUDIT_SECONDS}s tpcb-like per setting, order rotated)"
        for round in $(seq "$AUDIT_ROUNDS"); do
            for i in $(seq 0 $((n - 1))); do
                setting=${AUDIT_SETTINGS[$(((i + round - 1) % n))]}
                restart_with "$setting"
                run_pgbench tpcb-like "$setting" "$round" "$AUDIT_SECONDS" "@s$scale"
            done
        done
    done
    AUDIT_LOAD_AFTER=$(cut -d' ' -f1 /proc/loadavg)
    restart_with nspg_guard
    VERIFY=$(pgb_value "SELECT ok || ' (' || rows_checked || ' rows checked' || coalesce(', first broken id ' || first_broken_id || ': ' || problem, '') || ')' FROM nspg_guard.audit_verify()")
    say "audit_verify(): $VERIFY"
}

# ---------------------------------------------------------------- report

# repeat_diff_pct A B — how far two runs of one measurement differ, in % of the first.
repeat_diff_pct() { calc "($1 > $2 ? $1 - $2 : $2 - $1) * 100 / $1" 5; }

# mean_cost SCRIPT SETTING — the script's cost, mean over the heap layouts' runs.
mean_cost() {
    local run sum=0
    for run in $(seq "$LAYOUT_RUNS"); do sum=$((sum + $(cost "$1" "$2" "$run"))); done
    echo $((sum / LAYOUT_RUNS))
}

report_instructions() {
    local script rep stmts without with worst=0 diff verdicts=()
    report "1. CPU instructions — cachegrind, postgres --single, statements run as $APP_ROLE (copy: as postgres) (decisive)"
    report "   cost = instructions(script) − instructions(SET ROLE only), same shared_preload_libraries; n = statements (copy: rows copied)"
    report "   runs 1–$LAYOUT_RUNS: heap layouts 0–$((LAYOUT_RUNS - 1)) (layout k: k catalog reads first, in the baseline too); the mean over them decides; run $REPEAT_RUN repeats run 1"
    report "$(printf '   %-8s %6s %4s %15s %15s %8s   %s' script n run 'cost without' 'cost with' ratio 'per statement (copy: per row) without → with')"
    for script in "${SCRIPTS[@]}"; do
        stmts=$(units "$script")
        for rep in $(seq "$LAYOUT_RUNS") mean; do
            if [ "$rep" = mean ]; then
                without=$(mean_cost "$script" without) with=$(mean_cost "$script" with)
            else
                without=$(cost "$script" without "$rep") with=$(cost "$script" with "$rep")
            fi
            report "$(printf '   %-8s %6s %4s %15s %15s %8s   %s → %s (+%s)' "$script" "$stmts" "$rep" \
                "$(thousands "$without")" "$(thousands "$with")" "$(calc "$with / $without" 5)" \
                "$(thousands "$(calc "$without / $stmts" 0)")" "$(thousands "$(calc "$with / $stmts" 0)")" \
                "$(thousands "$(calc "($with - $without) / $stmts" 0)")")"
        done
        verdicts+=("$script $(calc "$(mean_cost "$script" with) / $(mean_cost "$script" without)" 4)")
    done
    for script in empty "${SCRIPTS[@]}"; do
        for setting in "${SETTINGS[@]}"; do
            if [ "$script" = empty ]; then
                diff=$(repeat_diff_pct "${IR[empty/$setting/1]}" "${IR[empty/$setting/$REPEAT_RUN]}")
            else
                diff=$(repeat_diff_pct "$(cost "$script" "$setting" 1)" "$(cost "$script" "$setting" "$REPEAT_RUN")")
            fi
            worst=$(calc "$diff > $worst ? $diff : $worst" 5)
        done
    done
    report "   baseline (startup, SET ROLE, shutdown): $(thousands "${IR[empty/without/1]}") without, $(thousands "${IR[empty/with/1]}") with the library"
    report "   run 1 vs run $REPEAT_RUN: largest difference $worst % (limit $MAX_REPEAT_DIFF_PCT %): $(
        [ "$(calc "$worst <= $MAX_REPEAT_DIFF_PCT" 0)" = 1 ] && echo repeatable || echo 'NOT REPEATABLE')"
    local line="   targets (mean over the layouts):"
    for v in "${verdicts[@]}"; do
        # copy's target has a line of its own, the last
        [ "${v% *}" = copy ] || line+=" ${v% *} ${v#* } ≤ ${TARGET_RATIO[${v% *}]} $(verdict "${v#* } <= ${TARGET_RATIO[${v% *}]}");"
    done
    report "${line%;}"
    report_copy_instructions
}

# report_copy_instructions — the copy script's figure, the one that decides issue 15's COPY target.
report_copy_instructions() {
    local without with ratio
    without=$(mean_cost copy without) with=$(mean_cost copy with)
    ratio=$(calc "$with / $without" 4)
    report "   copy: one server-side COPY bench_copy FROM a CSV file of $(thousands "$COPY_SCRIPT_ROWS") rows (id,v,note), run as the bootstrap superuser postgres, not $APP_ROLE"
    report "     (COPY from a server file needs superuser or pg_read_server_files, and the risky-capability guard refuses it to non-admins); no CREATE EXTENSION"
    report "     in single-user mode, so this is the guard's hooks on COPY without the audit trail's table. Decides issue 15's COPY target; part 3's wall clock is context."
    report "   copy target (COPY throughput with/without ≥ $TARGET_COPY_RATIO, i.e. instructions with/without ≤ 1/$TARGET_COPY_RATIO ≈ ${TARGET_RATIO[copy]}): $(thousands "$(calc "$without / $COPY_SCRIPT_ROWS" 0)") → $(thousands "$(calc "$with / $COPY_SCRIPT_ROWS" 0)") instructions per row, ratio $ratio ≤ ${TARGET_RATIO[copy]} $(verdict "$ratio <= ${TARGET_RATIO[copy]}")"
}

report_pgbench() {
    local workload round without with sum_without sum_with mean
    report "2. pgbench TPS — wall clock, context only: scale $PGBENCH_SCALE, -c 4 -j 2 -M prepared, $ROUNDS × ${ROUND_SECONDS}s, as $APP_ROLE"
    report "   with = library preloaded, CREATE EXTENSION nspg_guard done, default audit classes ('$NSPG_AUDIT_DEFAULT'); without = not preloaded"
    report "$(printf '   %-12s %-6s %12s %12s %12s' workload round without with with/without)"
    for workload in "${WORKLOADS[@]}"; do
        sum_without=0 sum_with=0
        for round in $(seq "$ROUNDS"); do
            without=${TPS[$workload/without/$round]}
            with=${TPS[$workload/with/$round]}
            sum_without=$(calc "$sum_without + $without" 3)
            sum_with=$(calc "$sum_with + $with" 3)
            report "$(printf '   %-12s %-6s %12.1f %12.1f %12s' "$workload" "$round" "$without" "$with" "$(calc "$with / $without" 3)")"
        done
        mean=$(calc "$sum_with / $sum_without" 3)
        report "$(printf '   %-12s %-6s %12.1f %12.1f %12s   target ≥ %s: %s' "$workload" mean "$(calc "$sum_without / $ROUNDS" 1)" \
            "$(calc "$sum_with / $ROUNDS" 1)" "$mean" "$TARGET_TPS_RATIO" "$(verdict "$mean >= $TARGET_TPS_RATIO")")"
    done
    report "   (mean = ratio of mean TPS; 1-minute load average $PGB_LOAD_BEFORE before the rounds, $PGB_LOAD_AFTER after — other work on the machine shows up here, not in part 1)"
}

verdict() { [ "$(calc "$1" 0)" = 1 ] && echo met || echo MISSED; }

# median — the median of the numbers on stdin, one a line.
median() { sort -g | awk '{ v[NR] = $1 } END { printf "%.3f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

report_copy() {
    local round without with sum_without=0 sum_with=0 mean ddl=0 ratios=()
    report "3. COPY of $(thousands "$COPY_ROWS") rows — wall clock, context only (part 1's copy figure, in instructions, is the decisive one): server-side COPY FROM a CSV file into a fresh table, as postgres, $COPY_ROUNDS rounds, order alternating"
    report "   each figure the best of $COPY_REPS COPYs after one restart; with = library preloaded, extension created, default audit classes"
    report "   throughput with/without = time without / time with"
    report "$(printf '   %-6s %14s %14s %24s' round 'without (ms)' 'with (ms)' 'throughput with/without')"
    for round in $(seq "$COPY_ROUNDS"); do
        without=${COPY_MS[without/$round]}
        with=${COPY_MS[with/$round]}
        sum_without=$(calc "$sum_without + $without" 3)
        sum_with=$(calc "$sum_with + $with" 3)
        ddl=$((ddl + ${COPY_DDL_ROWS[with/$round]}))
        ratios+=("$(calc "$without / $with" 3)")
        report "$(printf '   %-6s %14.1f %14.1f %24s' "$round" "$without" "$with" "${ratios[-1]}")"
    done
    mean=$(calc "$sum_without / $sum_with" 3)
    report "$(printf '   %-6s %14.1f %14.1f %24s   target ≥ %s: %s' mean "$(calc "$sum_without / $COPY_ROUNDS" 1)" \
        "$(calc "$sum_with / $COPY_ROUNDS" 1)" "$mean" "$TARGET_COPY_RATIO" "$(verdict "$mean >= $TARGET_COPY_RATIO")")"
    report "$(printf '   %-6s %14s %14s %24s' median '' '' "$(printf '%s\n' "${ratios[@]}" | median)")"
    report "   (mean = ratio of total times, median = median of the rounds' ratios; the audit trail recorded $ddl of the $((COPY_ROUNDS * COPY_REPS)) CREATE TABLEs of the with-rounds (class schema); 1-minute load average $COPY_LOAD_BEFORE before, $COPY_LOAD_AFTER after)"
}

report_audit() {
    local scale
    report "4. Audit trail vs pgaudit — wall clock: pgbench tpcb-like as in part 2, $AUDIT_ROUNDS × ${AUDIT_SECONDS}s per setting, order rotated every round, at scales ${AUDIT_SCALES[*]}"
    report "   nspg_guard      nspg_guard.audit = 'all', audit_relation(pgbench_accounts, 'write'): 1 audit_log row per transaction (its UPDATE of pgbench_accounts), in the transaction, hash-chained by the writer"
    report "   nspg_guard-log  the same with nspg_guard.audit_destination = 'log': 1 NSPG_AUDIT server-log line per transaction instead of the row (to tell the table's cost from the hooks')"
    report "   pgaudit         pgaudit.log = 'write', log_relation = on: 1 server-log line per write statement and relation, 4 per transaction (3 UPDATEs, 1 INSERT)"
    report "   pgaudit-obj     pgaudit.log = 'none', pgaudit.role = $AUDITOR_ROLE (UPDATE on pgbench_accounts): 1 server-log line per UPDATE of pgbench_accounts — the same events as ours"
    report "   none            neither library"
    report "   server CPU/txn: CPU time of every process of the cluster (backends, audit writer, sealers, WAL writer, checkpointer; cgroup cpuacct) from the run's start until its rows were sealed, per transaction; pgbench itself is not counted"
    for scale in "${AUDIT_SCALES[@]}"; do
        report_audit_scale "$scale"
    done
    report "   (1-minute load average $AUDIT_LOAD_BEFORE before the rounds, $AUDIT_LOAD_AFTER after)"
}

# audit_table TITLE FORMAT ARRAY W — one row per round and the mean, a column per setting, of
# ARRAY[W/setting/round]; sets MEAN[setting].
audit_table() {
    local title=$1 format=$2 w=$4 round setting line
    local -n values=$3
    line=$(printf '   %-14s' "$title")
    for setting in "${AUDIT_SETTINGS[@]}"; do line+=$(printf ' %14s' "$setting"); MEAN[$setting]=0; done
    report "$line"
    for round in $(seq "$AUDIT_ROUNDS"); do
        line=$(printf '   %-14s' "$round")
        for setting in "${AUDIT_SETTINGS[@]}"; do
            MEAN[$setting]=$(calc "${MEAN[$setting]} + ${values[$w/$setting/$round]} / $AUDIT_ROUNDS" 3)
            line+=$(printf " %14.${format}f" "${values[$w/$setting/$round]}")
        done
        report "$line"
    done
    line=$(printf '   %-14s' mean)
    for setting in "${AUDIT_SETTINGS[@]}"; do line+=$(printf " %14.${format}f" "${MEAN[$setting]}"); done
    report "$line"
}

report_audit_scale() {
    local scale=$1 w=tpcb-like@s$1 round setting key line ratio pair target
    local -A MEAN tps_mean
    report ""
    report "   scale $scale"
    audit_table TPS 1 TPS "$w"
    for setting in "${AUDIT_SETTINGS[@]}"; do tps_mean[$setting]=${MEAN[$setting]}; done
    line=$(printf '   %-14s' ratio)
    for pair in "${AUDIT_RATIOS[@]}"; do line+=$(printf ' %*s' $((${#pair} > 9 ? ${#pair} : 9)) "$pair"); done
    report "$line"
    for round in $(seq "$AUDIT_ROUNDS") mean; do
        line=$(printf '   %-14s' "$round")
        for pair in "${AUDIT_RATIOS[@]}"; do
            if [ "$round" = mean ]; then
                ratio=$(calc "${tps_mean[${pair%/*}]} / ${tps_mean[${pair#*/}]}" 3)
            else
                ratio=$(calc "${TPS[$w/${pair%/*}/$round]} / ${TPS[$w/${pair#*/}/$round]}" 3)
            fi
            line+=$(printf ' %*s' $((${#pair} > 9 ? ${#pair} : 9)) "$ratio")
        done
        report "$line"
    done
    target=${TARGET_VS_PGAUDIT_OBJ[$scale]}
    ratio=$(calc "${tps_mean[nspg_guard]} / ${tps_mean[pgaudit-obj]}" 3)
    report "   target nspg_guard/pgaudit-obj ≥ $target: $ratio $(verdict "$ratio >= $target") (mean = ratio of mean TPS)"
    if [ -n "$CPU_CGROUP" ]; then
        audit_table "server CPU/txn" 1 SERVER_CPU_US "$w"
        report "   (µs) server CPU per transaction, nspg_guard / pgaudit-obj: $(calc "${MEAN[nspg_guard]} / ${MEAN[pgaudit-obj]}" 3), nspg_guard-log / pgaudit-obj: $(calc "${MEAN[nspg_guard-log]} / ${MEAN[pgaudit-obj]}" 3), pgaudit-obj / none: $(calc "${MEAN[pgaudit-obj]} / ${MEAN[none]}" 3)"
    fi
    report "   audit records of the measured runs — transactions: new access rows in nspg_guard.audit_log / new NSPG_AUDIT access lines / new pgaudit AUDIT lines:"
    for round in $(seq "$AUDIT_ROUNDS"); do
        line="     round $round:"
        for setting in "${AUDIT_SETTINGS[@]}"; do
            key=$w/$setting/$round
            line+=" $setting $(thousands "${TXNS[$key]}"): $(thousands "${ACCESS_ROWS[$key]}")/$(thousands "${NSPG_LINES[$key]}")/$(thousands "${AUDIT_LINES[$key]}");"
        done
        report "${line%;}"
    done
    report "   per transaction: $(audit_per_txn "$w")"
    line="   nspg_guard's audit writer (writes queued events, starts the sealers) used"
    for round in $(seq "$AUDIT_ROUNDS"); do line+=" ${WRITER_CPU[$w/nspg_guard/$round]}"; done
    report "$line s of CPU in the ${AUDIT_SECONDS}-s nspg_guard runs ($(nproc) cores);"
    line="   every row was sealed"
    for round in $(seq "$AUDIT_ROUNDS"); do line+=" ${SEAL_SECONDS[$w/nspg_guard/$round]}"; done
    report "$line s after those runs ended; audit_verify() afterwards: $VERIFY"
}

# audit_per_txn W — audit records per transaction, summed over the rounds, with a verdict: each
# setting must have written what it promises (rows, NSPG_AUDIT lines, AUDIT lines), the others nothing.
audit_per_txn() {
    local w=$1 setting round key txns rows nspg lines expect out= ok=1
    for setting in "${AUDIT_SETTINGS[@]}"; do
        txns=0 rows=0 nspg=0 lines=0
        for round in $(seq "$AUDIT_ROUNDS"); do
            key=$w/$setting/$round
            txns=$((txns + ${TXNS[$key]})) rows=$((rows + ${ACCESS_ROWS[$key]}))
            nspg=$((nspg + ${NSPG_LINES[$key]})) lines=$((lines + ${AUDIT_LINES[$key]}))
        done
        case $setting in
            nspg_guard) expect="$txns 0 0" ;;
            nspg_guard-log) expect="0 $txns 0" ;;
            pgaudit) expect="0 0 $((4 * txns))" ;;
            pgaudit-obj) expect="0 0 $txns" ;;
            none) expect="0 0 0" ;;
        esac
        [ "$rows $nspg $lines" = "$expect" ] || ok=0
        out+="$setting $(calc "$rows / $txns" 3)/$(calc "$nspg / $txns" 3)/$(calc "$lines / $txns" 3); "
    done
    echo "${out%; } — $( ((ok)) && echo 'each setting wrote exactly what it should' || echo 'MISMATCH: some setting did not write what it should')"
}

report_findings() {
    local problems=$OUT/logs/server-problems.txt n=0
    [ -f "$problems" ] && n=$(wc -l <"$problems")
    report "Cluster of parts 2–4: $RESTARTS restarts, each clean (settings took, no ERROR/WARNING/FATAL/PANIC, audit writer up and SERVER START recorded when preloaded)"
    report "   ERROR/WARNING lines logged during the runs: $n$( ((n)) && echo " (bench/out/logs/server-problems.txt), first ones:")"
    if ((n)); then
        while IFS= read -r line; do report "     $line"; done < <(head -n 5 "$problems" | cut -c1-300)
    fi
    local finding
    for finding in "${FINDINGS[@]}"; do report "   nspg_guard finding: $finding"; done
}

write_report() {
    local installed_now durations=
    installed_now=$(sha256sum "$INSTALLED_LIB" 2>/dev/null | cut -c1-16)
    : >"$REPORT"
    report "nspg_guard benchmark ($MODE) — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores"
    report "library: $INSTALLED_LIB (installed $LIB_MTIME, sha256 $LIB_SHA…), measured as a copy"
    [ "$installed_now" = "$LIB_SHA" ] || report "  note: the installed library changed during the run; every figure is of the copy taken at the start"
    for part in cluster instructions pgbench copy audit; do
        [ -n "${SECONDS_OF[$part]:-}" ] && durations+=" $part ${SECONDS_OF[$part]}s,"
    done
    report "source: $(git -C "$REPO_ROOT" rev-parse --short HEAD) ($(git -C "$REPO_ROOT" rev-parse --abbrev-ref HEAD)); duration:${durations%,} (total $SECONDS s)"
    if ((INSTRUCTIONS)); then
        report ""
        report_instructions
    fi
    if ((PGBENCH)); then
        report ""
        report_pgbench
    fi
    if ((AUDIT)); then
        report ""
        report_copy
        report ""
        report_audit
    fi
    if ((PGBENCH || AUDIT)); then
        report ""
        report_findings
    fi
    say "report (bench/out/report.txt)"
    cat "$REPORT"
}

# timed PART COMMAND… — runs a part and notes how long it took.
declare -A SECONDS_OF
timed() {
    local start=$SECONDS
    "${@:2}"
    SECONDS_OF[$1]=$((SECONDS - start))
}

finish() {
    if [ -f "$PGB_DIR/data/postmaster.pid" ]; then
        stop_cluster "$PGB_DIR"
        # without the per-statement audit lines, which run to hundreds of megabytes
        grep -vE "$PGAUDIT_LINE|$NSPG_ACCESS_LINE" "$SERVER_LOG" >"$OUT/logs/server.log" 2>/dev/null || true
    fi
}

main() {
    parse_args "$@"
    # other work on a shared machine disturbs the wall-clock parts less: the servers and clients
    # started from here inherit the priority (root only; elsewhere it stays as it is)
    renice -n -10 -p $$ >/dev/null 2>&1 || true
    trap finish EXIT
    trap 'exit 130' INT TERM
    prepare
    snapshot_library
    if ((PGBENCH || AUDIT)); then timed cluster setup_cluster; fi
    if ((INSTRUCTIONS)); then timed instructions instructions_part; fi
    if ((PGBENCH)); then timed pgbench pgbench_part; fi
    # COPY before pgaudit's extension exists: its event triggers would fail the CREATE TABLEs
    # of a server without pgaudit preloaded
    if ((AUDIT)); then
        timed copy copy_part
        timed audit audit_part
    fi
    if ((PGBENCH || AUDIT)); then
        collect_problems "last runs"
        finish
    fi
    write_report
}

main "$@"
