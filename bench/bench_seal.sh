#!/usr/bin/env bash
# Sealing throughput: how many audit rows per second the sealers hash and chain (issue 18's
# target: at least 20,000 rows/s). Not run in CI.
#
#   bash bench/bench_seal.sh [--build] [ROWS] [DATABASES]
#
#   ROWS       audit rows committed at once per database (default 100000)
#   DATABASES  databases sealed at the same time, each by its own sealer (default 1; up to 4)
#   --build    build and install the extension first (build_and_install from lib.sh); by default
#              the library installed in NSPG_PG_ROOT (or the system PostgreSQL 15) is measured:
#              a release build is what counts (NSPG_DEV_BUILD=1 installs a debug build)
#
# Each database has the extension and an access-audited table; one transaction inserts ROWS
# rows one statement at a time (one `access` row each). The clock starts when every transaction
# has committed and stops when no row is left unsealed in any database (polled every 0.1 s, so
# the figure includes up to half a second for the writer to start the sealers). Own cluster on
# port 55481 under $NSPG_TEST_ROOT/bench_seal (default /tmp/nspg_bench_seal).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

BUILD=0
if [ "${1:-}" = "--build" ]; then BUILD=1; shift; fi
ROWS=${1:-100000}
DATABASES=${2:-1}
DIR=${NSPG_TEST_ROOT:-/tmp/nspg_bench_seal}/bench_seal
PORT=55481
[ "$BUILD" -eq 1 ] && build_and_install
trap 'stop_cluster "$DIR"' EXIT

sql() { "$PG_BIN/psql" -X -h "$DIR" -p "$PORT" -U postgres -d "$2" -At -v ON_ERROR_STOP=1 -c "$1"; }
UNSEALED="SELECT count(*) FROM nspg_guard.audit_log l WHERE NOT EXISTS (SELECT FROM nspg_guard.audit_chain c WHERE c.id = l.id)"

say "cluster with nspg_guard, access auditing, $DATABASES database(s)"
start_cluster "$DIR" "$PORT" nspg_guard "nspg_guard.audit = 'all'"
sql "CREATE EXTENSION nspg_guard" postgres >/dev/null
dbs=()
for i in $(seq "$DATABASES"); do
    db=seal_bench_$i
    sql "CREATE DATABASE $db" postgres >/dev/null
    sql "CREATE EXTENSION nspg_guard; CREATE TABLE public.t (v int); SELECT nspg_guard.audit_relation('public.t', 'write')" "$db" >/dev/null
    dbs+=("$db")
done

say "$ROWS audit rows per database, committed at once"
for db in "${dbs[@]}"; do
    sql "BEGIN; DO \$\$ BEGIN FOR i IN 1..$ROWS LOOP INSERT INTO public.t VALUES (i); END LOOP; END \$\$; COMMIT;" "$db" >/dev/null &
done
wait
t0=$(date +%s.%N)
while :; do
    left=0
    for db in "${dbs[@]}"; do left=$((left + $(sql "$UNSEALED" "$db"))); done
    [ "$left" -eq 0 ] && break
    sleep 0.1
done
t1=$(date +%s.%N)
total=$((ROWS * DATABASES))
elapsed=$(echo "$t1 - $t0" | bc)
echo "sealed $total rows in $elapsed s: $(echo "$total / $elapsed" | bc) rows/s ($DATABASES database(s), $(grep -c 'NSPG_AUDIT_SEAL' "$DIR/server.log") seal lines)"
for db in "${dbs[@]}"; do
    echo "$db: audit_verify() $(sql "SELECT ok || ' (' || rows_checked || ' rows checked)' FROM nspg_guard.audit_verify()" "$db")"
done
