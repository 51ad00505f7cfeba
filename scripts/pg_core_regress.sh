#!/usr/bin/env bash
# PostgreSQL 15's own core regression suite as a gate: loaded with the guards off, PostgreSQL
# behaves exactly as without nspg_guard.
#
# The suite comes from Debian's source package postgresql-15 (apt-get source, cached in
# $NSPG_PG_SRC_CACHE; the download happens once). Its C helpers (regress.c, contrib/spi's
# refint.c and autoinc.c) are built with PGXS (scripts/core_regress/Makefile). The packaged
# source can be a minor version behind the installed server and psql, so results are compared
# run against run (with the library against without it), not against expected/.
#
# Runs, each on a fresh throwaway cluster, with the parallel schedule:
#   A   no library
#   B   library preloaded; ddl, destructive and risky guards off, admin caps 0     gate: 0 differing tests from A
#   B2  as B, with CREATE EXTENSION nspg_guard in template1, postgres and regression
#                                                     gate: only the differences listed in B2_EXPECTED
#   W   as B2, guards in warn mode and every audit class: the classifier, the object naming and
#       the audit rows run over every statement of the suite. Gate: no nspg_guard message but
#       policy warnings/notices; with those removed, the output is B2's (so the guards change
#       nothing but their messages when they do not refuse).
#   C   defaults (guards on), extension created as in B2. The suite runs as a superuser, which
#       our guards let through, but it also SET ROLEs to plain roles and deletes without WHERE.
#       Gate: every test that differs from B2 differs first at one of our messages (a refusal,
#       warning or notice); with W's gate, everything after it follows from that refusal.
# Every run: each test's output is complete (suite.pl complete: psql read every statement the
# suite's own expected output shows it reading), and no server log has a
# PANIC, a crash, an assertion failure, an internal error (XX000) that run A has not, or an
# nspg_guard message saying "internal".
#
# Usage: scripts/pg_core_regress.sh [--installed] [--gate-only] [--runs "A B B2 W C"]
#   --installed  the extension is already built and installed (scripts/test.sh does that)
#   --gate-only  judge the results of the last runs again (after editing the lists below)
#   --runs       a subset; B and B2 are judged against run A's results, W and C against B2's,
#                so those must be in the subset or left from an earlier run
# Environment: NSPG_PG_ROOT (lib.sh), NSPG_TEST_ROOT (results under $NSPG_TEST_ROOT/core),
# NSPG_TEST_PORT (the runs use $NSPG_TEST_PORT + 10), NSPG_CORE_CONNECTIONS (pg_regress
# --max-connections, default 4), NSPG_PG_SRC_CACHE.
# Prints one summary line per run and writes them to $CORE_ROOT/summary; exits non-zero when
# the gate fails.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CORE_ROOT=${NSPG_TEST_ROOT:-/tmp/nspg_guard_test}/core
CORE_PORT=$((${NSPG_TEST_PORT:-55441} + 10))
CONNECTIONS=${NSPG_CORE_CONNECTIONS:-4}
SRC_CACHE=${NSPG_PG_SRC_CACHE:-/var/cache/nspg_guard/pgsrc}
PG_REGRESS=/usr/lib/postgresql/$PG_MAJOR/lib/pgxs/src/test/regress/pg_regress
HELPERS=$REPO_ROOT/scripts/core_regress
RUNS="A B B2 W C"
INSTALLED=0
GATE_ONLY=0
while (($#)); do
    case $1 in
        --installed) INSTALLED=1 ;;
        --gate-only) GATE_ONLY=1; INSTALLED=1 ;;
        --runs) RUNS=$2; shift ;;
        *) echo "usage: $0 [--installed] [--gate-only] [--runs \"A B B2 W C\"]" >&2; exit 2 ;;
    esac
    shift
done

# ---------------------------------------------------------------------------------------------
# Differences that are expected, each with its reason. An entry is "test | pattern | reason": the
# test may differ only if every hunk of its diff (changed lines and their context) has a line
# matching the pattern (an extended regular expression). Anything else fails the gate.

# With the extension created in template1, postgres and regression (B2, and W and C built on it).
B2_EXPECTED=(
    "create_index | Index Only Scan|Bitmap (Heap|Index) Scan|Sort Key|Seq Scan | a plan chose another scan over tenk1: test_setup's VACUUM of tenk1 ran while a sealer's transaction was open in the database (it seals the audit rows of the suite's DDL within a second of commit), so some pages were not yet all-visible — as with any concurrent transaction; not our guards"
    "alter_table | audit_log | the test lists the locks its transactions hold: ALTER TABLE is audited (class schema) and its row is inserted into nspg_guard.audit_log in the same transaction, so the listing shows audit_log with RowExclusiveLock"
)

# W only: the audit class "access" (not on by default) reads the list of audited relations
# (nspg_guard.audited_relations) in the statement's transaction whenever a relcache
# invalidation may have changed it.
W_EXPECTED=(
    "create_index | Index Only Scan|Bitmap (Heap|Index) Scan|Sort Key|Seq Scan | a plan chose another scan over tenk1: test_setup's VACUUM of tenk1 ran while a sealer's transaction was open in the database (it seals the audit rows of the suite's DDL within a second of commit), so some pages were not yet all-visible — as with any concurrent transaction; not our guards"
    "alter_table | audited_relations | the lock listing shows nspg_guard.audited_relations and its index with AccessShareLock: the access class read the list of audited relations in the transaction"
    "tidscan | SIReadLock | a SERIALIZABLE transaction's predicate-lock listing shows a relation lock: the access class read nspg_guard.audited_relations in it"
)

# The unpacked source tree of postgresql-15 in the cache, downloaded on first use: a deb-src
# entry derived from the machine's own apt sources, then apt-get source of the newest version
# the archive still serves (the security archive may have dropped the sources of its newest).
ensure_pg_source() {
    local tree
    mkdir -p "$SRC_CACHE"
    tree=$(find "$SRC_CACHE" -maxdepth 1 -type d -name "postgresql-$PG_MAJOR-*" | sort -V | tail -n 1)
    if [ -n "$tree" ] && [ -f "$tree/src/test/regress/parallel_schedule" ]; then
        echo "$tree"
        return 0
    fi
    say "apt-get source postgresql-$PG_MAJOR (once, into $SRC_CACHE)" >&2
    local list=/etc/apt/sources.list.d/nspg-guard-deb-src.sources
    if [ ! -f "$list" ]; then
        local src
        for src in /etc/apt/sources.list.d/*.sources; do
            [ -f "$src" ] && [ "$src" != "$list" ] || continue
            sed 's/^Types: deb$/Types: deb-src/' "$src"
            echo
        done >"$list.tmp"
        mv "$list.tmp" "$list"
    fi
    command -v dpkg-source >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dpkg-dev >/dev/null
    apt-get update -qq
    local version
    for version in $(apt-cache showsrc "postgresql-$PG_MAJOR" | awk '/^Version:/ {print $2}' | sort -rV | uniq); do
        if (cd "$SRC_CACHE" && apt-get source -qq "postgresql-$PG_MAJOR=$version" >/dev/null 2>&1); then
            break
        fi
        echo "apt-get source postgresql-$PG_MAJOR=$version failed; trying an older version" >&2
    done
    tree=$(find "$SRC_CACHE" -maxdepth 1 -type d -name "postgresql-$PG_MAJOR-*" | sort -V | tail -n 1)
    [ -n "$tree" ] && [ -f "$tree/src/test/regress/parallel_schedule" ] || { echo "no postgresql-$PG_MAJOR source" >&2; return 1; }
    echo "$tree"
}

# regress.so, refint.so and autoinc.so for the suite, built once per source tree.
build_helpers() {
    local tree=$1 out=$SRC_CACHE/build-$(basename "$1")
    if [ ! -f "$out/regress.so" ] || [ ! -f "$out/refint.so" ] || [ ! -f "$out/autoinc.so" ]; then
        mkdir -p "$out"
        make -s -C "$out" -f "$HELPERS/Makefile" PG_SRC="$tree" PG_CONFIG="$PG_CONFIG" with_llvm=no >&2
    fi
    echo "$out"
}

# A copy of the suite postgres can read, with a `\.` after each COPY … FROM STDIN that fails
# before the copy starts (see core_regress/suite.pl).
prepare_suite() {
    local tree=$1 suite=$CORE_ROOT/suite
    rm -rf "$suite"
    mkdir -p "$suite"
    cp -r "$tree/src/test/regress/"{sql,expected,data,parallel_schedule,resultmap} "$suite/"
    perl "$HELPERS/suite.pl" patch "$suite" | tail -n 1 >&2
    chown -R postgres "$suite"
}

# The tests of the schedule, in order.
schedule_tests() {
    awk '/^test:/ { for (i = 2; i <= NF; i++) print $i }' "$CORE_ROOT/suite/parallel_schedule"
}

# setup_run NAME DIR PORT — a fresh cluster configured for run NAME.
setup_run() {
    local run=$1 dir=$2 port=$3 preload=nspg_guard
    [ "$run" = A ] && preload=''
    start_cluster "$dir" "$port" "$preload"
    {
        echo "# pg_core_regress.sh run $run"
        # the SQLSTATE in each line, for the internal-error check
        echo "log_line_prefix = '%m [%p] %e %q%u@%d '"
        # as pg_regress's own temporary instance: the prepared_xacts test runs for real
        echo "max_prepared_transactions = 2"
        case $run in
            B | B2 | W)
                local setting
                for setting in admin_statement_timeout admin_idle_in_transaction_timeout admin_idle_session_timeout admin_session_max_duration; do
                    echo "nspg_guard.$setting = 0"
                done
                ;;
        esac
        case $run in
            B | B2) printf 'nspg_guard.%s = off\n' ddl_guard destructive_guard risky_guard ;;
            W)
                printf 'nspg_guard.%s = warn\n' ddl_guard destructive_guard risky_guard
                echo "nspg_guard.audit = 'all'"
                ;;
        esac
    } >>"$dir/data/postgresql.conf"
    as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -m fast -w restart >/dev/null
    case $run in
        B2 | W | C)
            local db
            for db in template1 postgres; do
                psql_at "$dir" "$port" -q -d "$db" -c 'CREATE EXTENSION nspg_guard'
            done
            ;;
    esac
}

# run_suite NAME — runs the suite in run NAME; results in $CORE_ROOT/runs/NAME.
run_suite() {
    local run=$1 index=$2
    local dir=$CORE_ROOT/cluster_$run port=$((CORE_PORT + index)) out=$CORE_ROOT/runs/$run
    local start=$SECONDS
    setup_run "$run" "$dir" "$port"
    rm -rf "$out"
    mkdir -p "$out"
    chown postgres "$out"
    local extension=()
    [ "$run" = A ] || [ "$run" = B ] || extension=(--load-extension=nspg_guard)
    # pg_regress's exit status says whether the outputs match the (older) expected files: not
    # the gate; the gate is the comparison below.
    (cd "$CORE_ROOT/suite" && as_postgres "$PG_REGRESS" --bindir="$PG_BIN" --host="$dir" --port="$port" \
        --inputdir="$CORE_ROOT/suite" --outputdir="$out" --dlpath="$DLPATH" \
        --schedule="$CORE_ROOT/suite/parallel_schedule" --max-connections="$CONNECTIONS" \
        --max-concurrent-tests=20 "${extension[@]}") >"$out/pg_regress.log" 2>&1 || true
    stop_cluster "$dir"
    cp "$dir/server.log" "$out/server.log"
    echo $((SECONDS - start)) >"$out/seconds"
}

# problems NAME — prints one line per problem of run NAME that is not about differences
# between runs: missing or truncated output, crashes and internal errors in the server log.
problems() {
    local run=$1 out=$CORE_ROOT/runs/$1 test
    while read -r test; do
        if [ ! -f "$out/results/$test.out" ]; then
            echo "$test: no output"
        elif ! perl "$HELPERS/suite.pl" complete "$CORE_ROOT/suite/sql/$test.sql" "$out/results/$test.out" \
            "$CORE_ROOT/suite/expected/$test.out" $(ls "$CORE_ROOT/suite/expected/${test}"_[0-9].out 2>/dev/null) >"$out/complete.tmp"; then
            echo "$test: output incomplete: $(cat "$out/complete.tmp")"
        fi
    done < <(schedule_tests)
    rm -f "$out/complete.tmp"
    local log=$out/server.log
    grep -E 'PANIC|terminated by signal|was terminated by exception|TRAP:|panicked at' "$log" | head -n 5 | sed 's/^/server log: /'
    grep -iE 'nspg_guard.*internal|internal.*nspg_guard' "$log" | head -n 5 | sed 's/^/server log: /'
    # XX000 errors run A has too are the suite's own (it tests some "cache lookup failed")
    if [ "$run" != A ]; then
        comm -13 <(internal_errors "$CORE_ROOT/runs/A/server.log") <(internal_errors "$log") | head -n 5 | sed 's/^/server log: new internal error: /'
    fi
}

internal_errors() {
    grep -E '\] XX000 ' "$1" 2>/dev/null | sed -E 's/^.*\] XX000 [^ ]* *//' | sort -u || true
}

# The tests whose output differs between runs $1 and $2.
differing() {
    local test
    while read -r test; do
        cmp -s "$CORE_ROOT/runs/$1/results/$test.out" "$CORE_ROOT/runs/$2/results/$test.out" || echo "$test"
    done < <(schedule_tests)
}

# unified diff of one test between two runs
test_diff() {
    diff -U3 "$CORE_ROOT/runs/$2/results/$1.out" "$CORE_ROOT/runs/$3/results/$1.out" || true
}

# explained TEST DIFF ENTRIES… — whether an entry for TEST has a pattern matched in every hunk
# of DIFF; prints its reason.
explained() {
    local test=$1 diff=$2 entry
    shift 2
    for entry in "$@"; do
        local name=${entry%% | *} rest=${entry#* | }
        local pattern=${rest%% | *} reason=${rest#* | }
        [ "$name" = "$test" ] || continue
        if awk -v pattern="$pattern" '
            NR <= 2 { next }                         # the file names
            /^@@/ { if (hunks && !hit) bad = 1; hunks++; hit = 0; next }
            $0 ~ pattern { hit = 1 }
            END { if (!hunks || !hit) bad = 1; exit bad }' <<<"$diff"; then
            echo "$reason"
            return 0
        fi
    done
    return 1
}

# Our messages: the policy ones (refusals, DROP warnings, caps), never "could not …" or "failed".
POLICY_MESSAGE='^(ERROR|WARNING|NOTICE):  nspg_guard: .*(denied for role|that restricts rows|removed |capped at|refused|more than the limit)'

# W's output with nspg_guard's WARNING and NOTICE lines removed, with their DETAIL, HINT and
# CONTEXT (whose later lines name the function or statement the message came from).
without_our_messages() {
    awk '
        /^(WARNING|NOTICE):  nspg_guard: / { skipping = 1; next }
        skipping && /^(DETAIL|HINT|CONTEXT):  / { next }
        skipping && /^(PL\/pgSQL function|SQL function|SQL statement|extension script) / { next }
        { skipping = 0; print }' "$1"
}

# first_difference_is_ours TEST OLD NEW — whether TEST's output in run NEW departs from run OLD
# first at one of our messages: the first line NEW adds is ours, and before it NEW only lacks
# lines of the same place (the output of the statement we refused).
first_difference_is_ours() {
    test_diff "$1" "$2" "$3" | awk '
        NR <= 2 { next }                             # the file names
        /^-/ { removed = 1; next }
        /^\+/ { first = substr($0, 2); exit }
        removed { exit }                              # a change that adds nothing comes first
        END { exit !(first ~ /^(ERROR|WARNING|NOTICE):  nspg_guard: /) }'
}

# gate NAME — prints the run's findings, one per line; returns the number of failures.
declare -A TESTS DIFFERING FAILURES
gate() {
    local run=$1 report=$CORE_ROOT/runs/$1/gate.txt failures=0 count=0 test reason diff
    : >"$report"
    while read -r line; do
        echo "problem: $line" >>"$report"
        failures=$((failures + 1))
    done < <(problems "$run")
    TESTS[$run]=$(schedule_tests | wc -l)
    case $run in
        A) DIFFERING[$run]=0 ;;
        B | B2)
            while read -r test; do
                count=$((count + 1))
                diff=$(test_diff "$test" A "$run")
                if [ "$run" = B2 ] && reason=$(explained "$test" "$diff" "${B2_EXPECTED[@]}"); then
                    echo "explained: $test: $reason" >>"$report"
                else
                    echo "DIFFERS: $test" >>"$report"
                    failures=$((failures + 1))
                fi
            done < <(differing A "$run")
            DIFFERING[$run]=$count
            ;;
        W)
            # policy messages only; none of them ERRORs but those B2 has too (the trail's protection)
            local out=$CORE_ROOT/runs/W/results
            while read -r line; do
                echo "not a policy message: $line" >>"$report"
                failures=$((failures + 1))
            done < <(cat "$out"/*.out | grep -E '^(ERROR|WARNING|NOTICE):  nspg_guard' | grep -vE "$POLICY_MESSAGE" | sort | uniq -c | head -n 20)
            while read -r line; do
                echo "server log: not a policy message: $line" >>"$report"
                failures=$((failures + 1))
            done < <(grep -E '(ERROR|WARNING|NOTICE|LOG|FATAL): +nspg_guard' "$CORE_ROOT/runs/W/server.log" | grep -vE 'nspg_guard: .*(denied for role|that restricts rows|removed |capped at|refused|more than the limit)' | sed -E 's/^[^]]*\] //' | sort | uniq -c | head -n 20)
            while read -r test; do
                count=$((count + 1))
                diff=$(diff -U3 "$CORE_ROOT/runs/B2/results/$test.out" <(without_our_messages "$out/$test.out") || true)
                if [ -z "$diff" ]; then
                    continue
                elif reason=$(explained "$test" "$diff" "${W_EXPECTED[@]}"); then
                    echo "explained: $test: $reason" >>"$report"
                else
                    echo "DIFFERS beyond our messages: $test" >>"$report"
                    failures=$((failures + 1))
                fi
            done < <(differing B2 W)
            DIFFERING[$run]=$count
            ;;
        C)
            while read -r test; do
                count=$((count + 1))
                if first_difference_is_ours "$test" B2 C; then
                    echo "ours: $test: $(test_diff "$test" B2 C | grep -m1 -E '^\+(ERROR|WARNING|NOTICE):  nspg_guard: ' | cut -c2-)" >>"$report"
                else
                    echo "DIFFERS before any message of ours: $test" >>"$report"
                    failures=$((failures + 1))
                fi
            done < <(differing B2 C)
            DIFFERING[$run]=$count
            ;;
    esac
    FAILURES[$run]=$failures
}

# ---------------------------------------------------------------------------------------------

if [ "$INSTALLED" = 0 ]; then
    ensure_toolchain
    build_and_install
fi
TREE=$(ensure_pg_source)
DLPATH=$(build_helpers "$TREE")
mkdir -p "$CORE_ROOT"
[ "$GATE_ONLY" = 1 ] || prepare_suite "$TREE"
say "PostgreSQL's core regression suite ($(basename "$TREE"), $(schedule_tests | wc -l) tests, --max-connections=$CONNECTIONS): runs $RUNS"

index=0
[ "$GATE_ONLY" = 1 ] || for run in $RUNS; do
    index=$((index + 1))
    say "core run $run"
    run_suite "$run" "$index"
    # pg_regress's own verdict against the 15.18 expected files, for information
    grep -E '^ *(All [0-9]+ tests passed|[0-9]+ of [0-9]+ tests failed)' "$CORE_ROOT/runs/$run/pg_regress.log" | sed 's/^ */against the expected files of the packaged source: /' || true
done

status=0
: >"$CORE_ROOT/summary"
for run in $RUNS; do
    gate "$run"
    verdict=ok
    [ "${FAILURES[$run]}" -eq 0 ] || { verdict=FAILED; status=1; }
    line="core run $run: ${TESTS[$run]} tests, ${DIFFERING[$run]} differing, ${FAILURES[$run]} failing the gate, $(cat "$CORE_ROOT/runs/$run/seconds") s: $verdict"
    echo "$line" | tee -a "$CORE_ROOT/summary"
    { grep -v '^explained\|^ours' "$CORE_ROOT/runs/$run/gate.txt" || true; } | head -n 30 | sed 's/^/  /'
done
echo "details: $CORE_ROOT/runs/*/gate.txt"
exit $status
