#!/usr/bin/env bash
# Sealing and anchoring the audit trail in every database (issue 18):
#   load      three databases with the extension, 8 clients making committed (access) and
#             refused events: every row sealed within nspg_guard.audit_seal_max_delay,
#             audit_verify() ok in each; the sealing rate is reported (no timed assertion);
#   prepared  rows of prepared transactions, committed by another session after later rows were
#             sealed (and one across a restart), are sealed within seconds, not left for a sweep;
#   isolation a database whose default_transaction_isolation is REPEATABLE READ is sealed too;
#   dropped   a database dropped with a mark pending gets no sealer every second;
#   closed    no sealer connects to a template, to a database that takes no connections or to an
#             invalid one (not one a second); opened however (a prepared ALTER, an UPDATE of
#             pg_database, IS_TEMPLATE DEFAULT), its rows from meanwhile are sealed (the same
#             ALTER on an open one starts nothing); a copy of a sealed database is reported (no
#             anchor), not taken for its own, also when re-created with the oid of the database
#             it copied; 130 broken copies and 130 closed databases made by a migration role
#             don't keep a new database from being sealed;
#   copies    140 copies of a template (more than the 128 databases tracked at once) have every
#             row sealed, the template's copied ones too; 140 marked at once while the writer is
#             stopped are all sealed; dropped, their anchor files go;
#   hash      the chain's hash recomputed in plain SQL from the README's definition matches;
#   tamper    with the library not loaded, a superuser moves the trail out of its schema, edits a
#             row, deletes rows, truncates the chain and rebuilds it consistently by hand: at the
#             next start the sealer reports it (a config event chain_broken), the lint says
#             audit_anchor_broken, audit_verify() is false, a head taken before no longer verifies,
#             nothing is sealed onto the rebuilt chain until a superuser adopts it, and commits
#             there do not start a sealer each;
#   anchor    a missing anchor file for a chain with rows is reported, not adopted; put back, the
#             chain is sealed onto again without a restart.
# Own cluster on $TEST_PORT + 30.
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/assert.bash"
: "${TEST_DIR:?run me from scripts/test.sh}" "${TEST_PORT:?run me from scripts/test.sh}"

DIR=$(dirname "$TEST_DIR")/audit_sealing
PORT=$((TEST_PORT + 30))
trap 'stop_cluster "$DIR"' EXIT

# sql SQL [DB] [USER] — output and errors, never fails.
sql() {
    "$PG_BIN/psql" -X -h "$DIR" -p "$PORT" -U "${3:-postgres}" -d "${2:-postgres}" -At -c "$1" 2>&1 || true
}
restart() { # restart [PRELOAD]
    as_postgres "$PG_BIN/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null
    sed -i "s/^shared_preload_libraries = .*/shared_preload_libraries = '${1-nspg_guard}'/" "$DIR/data/postgresql.conf"
    as_postgres "$PG_BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w start >/dev/null
}
# wait_for SQL DB VALUE TRIES — polls every 0.5 s until SQL returns VALUE; false if it never did.
wait_for() {
    for _ in $(seq "$4"); do [ "$(sql "$1" "$2")" = "$3" ] && return 0; sleep 0.5; done
    return 1
}
UNSEALED="SELECT count(*) FROM nspg_guard.audit_log l WHERE NOT EXISTS (SELECT FROM nspg_guard.audit_chain c WHERE c.id = l.id)"
DBS="postgres seal_a seal_b"

say "three databases with the extension, access auditing on"
start_cluster "$DIR" "$PORT" nspg_guard "nspg_guard.audit = 'all'
max_connections = 40
max_prepared_transactions = 10"
sql "CREATE DATABASE seal_a" >/dev/null; sql "CREATE DATABASE seal_b" >/dev/null
sql "CREATE ROLE ns_app_rw_orders LOGIN" >/dev/null
for db in $DBS; do
    sql "CREATE EXTENSION nspg_guard; CREATE TABLE public.orders (id bigserial, v int);
         GRANT INSERT ON public.orders TO ns_app_rw_orders; GRANT USAGE ON SEQUENCE public.orders_id_seq TO ns_app_rw_orders;
         SELECT nspg_guard.audit_relation('public.orders', 'write')" "$db" >/dev/null
done
expect_line "the extension is in three databases" "$(for db in $DBS; do sql "SELECT count(*) FROM pg_extension WHERE extname = 'nspg_guard'" "$db"; done | paste -sd+ | bc)" "3"

say "load: 8 clients, committed (access) and refused events in three databases"
cat >"$DIR/committed.sql" <<'SQL'
INSERT INTO public.orders (v) VALUES (:client_id);
SQL
cat >"$DIR/refused.sql" <<'SQL'
DO $$ BEGIN CREATE TABLE public.not_for_apps (id int); EXCEPTION WHEN insufficient_privilege THEN NULL; END $$;
SQL
chmod 644 "$DIR"/*.sql
declare -A before
for db in $DBS; do before[$db]=$(sql "SELECT count(*) FROM nspg_guard.audit_log" "$db"); done
start=$(date +%s.%N)
pgb() { as_postgres "$PG_BIN/pgbench" -h "$DIR" -p "$PORT" -U ns_app_rw_orders -n "$@"; }
pgb -c 3 -j 1 -t 6000 -f "$DIR/committed.sql" seal_a >"$DIR/pgbench_a.log" 2>&1 &
pgb -c 2 -j 1 -t 6000 -f "$DIR/committed.sql" seal_b >"$DIR/pgbench_b.log" 2>&1 &
pgb -c 1 -j 1 -t 6000 -f "$DIR/committed.sql" postgres >"$DIR/pgbench_p.log" 2>&1 &
pgb -c 2 -j 1 -t 7000 -f "$DIR/refused.sql" seal_a >"$DIR/pgbench_r.log" 2>&1 &
wait
loaded=$(date +%s.%N)
expect "seal_a: 18000 committed inserts" "$(cat "$DIR/pgbench_a.log")" "number of transactions actually processed: 18000/18000"
expect "seal_b: 12000 committed inserts" "$(cat "$DIR/pgbench_b.log")" "number of transactions actually processed: 12000/12000"
expect "postgres: 6000 committed inserts" "$(cat "$DIR/pgbench_p.log")" "number of transactions actually processed: 6000/6000"
expect "14000 refused attempts" "$(cat "$DIR/pgbench_r.log")" "number of transactions actually processed: 14000/14000"
expect_line "the writer drained the queue" "$(sql "SELECT nspg_guard.audit_flush(60000)" seal_a)" "0"
total=0
for db in $DBS; do
    wait_for "$UNSEALED" "$db" 0 240 && pass "$db: every row is sealed" || fail "$db: $(sql "$UNSEALED" "$db") rows unsealed"
    n=$(( $(sql "SELECT count(*) FROM nspg_guard.audit_log" "$db") - ${before[$db]} ))
    total=$((total + n))
done
sealed_all=$(date +%s.%N)
[ "$total" -ge 50000 ] && pass "$total audit events across the three databases" || fail "only $total audit events"
VERIFIED="SELECT ok, rows_unsealed, anchored FROM nspg_guard.audit_verify()"
for db in $DBS; do
    # each connection of this test adds a login row to the audit database (postgres), sealed
    # within a sealer's round: asked again until no row of an earlier connection is left
    if wait_for "$VERIFIED" "$db" "t|0|t" 20; then
        pass "$db: audit_verify() ok, nothing unsealed, anchored"
    else
        fail "$db: audit_verify() ok, nothing unsealed, anchored: $(sql "$VERIFIED" "$db")"
    fi
    expect_line "$db: every row was sealed within audit_seal_max_delay" \
        "$(sql "SELECT max(c.sealed_at - l.event_time) < current_setting('nspg_guard.audit_seal_max_delay')::interval FROM nspg_guard.audit_chain c JOIN nspg_guard.audit_log l USING (id)" "$db")" "t"
done
echo "    load: $total events in $(echo "$loaded - $start" | bc) s; all sealed $(echo "$sealed_all - $loaded" | bc) s after the load ended"
expect "each database's head is in the server log" "$(grep -F 'NSPG_AUDIT_SEAL database=' "$DIR/server.log" | tail -n 50)" "seal_seq="
reject "no sealing failed" "$(cat "$DIR/server.log")" "sealing the audit trail failed"

say "sealing rate: 50,000 rows committed at once"
sql "DO \$\$ BEGIN FOR i IN 1..50000 LOOP INSERT INTO public.orders (v) VALUES (i); END LOOP; END \$\$" seal_b >/dev/null
t0=$(date +%s.%N)
wait_for "$UNSEALED" seal_b 0 600 && pass "the 50,000 rows are sealed" || fail "seal_b: $(sql "$UNSEALED" seal_b) rows unsealed"
t1=$(date +%s.%N)
echo "    sealing rate: $(echo "50000 / ($t1 - $t0)" | bc) rows/s (50,000 rows in $(echo "$t1 - $t0" | bc) s, from commit to the last seal)"
expect_line "seal_b verifies after it" "$(sql "SELECT ok FROM nspg_guard.audit_verify()" seal_b)" "t"

say "prepared: rows of prepared transactions are sealed within seconds of COMMIT PREPARED"
prepare() { # prepare GID — a prepared transaction of the app role that wrote one access row; prints its xid
    sql "BEGIN; INSERT INTO public.orders (v) VALUES (-1); PREPARE TRANSACTION '$1'" seal_b ns_app_rw_orders >/dev/null
    sql "SELECT transaction FROM pg_prepared_xacts WHERE gid = '$1'" seal_b
}
# sealed_within XID TRIES — waits until the access row written by transaction XID is sealed
sealed_within() {
    wait_for "SELECT count(*) FROM nspg_guard.audit_log l JOIN nspg_guard.audit_chain c USING (id) WHERE l.xid = $1 AND l.class = 'access'" seal_b 1 "$2"
}
xid1=$(prepare nspg_p1)
xid2=$(prepare nspg_p2)
xid3=$(prepare nspg_p3)
[ -n "$xid1" ] && [ -n "$xid2" ] && [ -n "$xid3" ] && pass "three transactions prepared ($xid1, $xid2, $xid3)" || fail "PREPARE TRANSACTION: $xid1 $xid2 $xid3"
# later rows, committed and sealed while the prepared ones wait: the chain's head moves past them
sql "INSERT INTO public.orders (v) SELECT g FROM generate_series(1, 20) g" seal_b >/dev/null
wait_for "$UNSEALED" seal_b 0 20 && pass "rows committed after the PREPAREs are sealed" || fail "seal_b: $(sql "$UNSEALED" seal_b) rows unsealed"
expect_line "COMMIT PREPARED in another session" "$(sql "COMMIT PREPARED 'nspg_p1'" seal_b)" "COMMIT PREPARED"
sealed_within "$xid1" 10 && pass "its row is sealed within 5 s" || fail "the row of prepared transaction $xid1 is not sealed 5 s after COMMIT PREPARED"
expect_line "... after rows with later ids (sealed from the id it wrote, not from the chain's head)" \
    "$(sql "SELECT EXISTS (SELECT FROM nspg_guard.audit_chain c2 WHERE c2.id > c.id AND c2.seal_seq < c.seal_seq)
            FROM nspg_guard.audit_log l JOIN nspg_guard.audit_chain c USING (id) WHERE l.xid = $xid1 AND l.class = 'access'" seal_b)" "t"
expect_line "ROLLBACK PREPARED leaves nothing to seal" "$(sql "ROLLBACK PREPARED 'nspg_p3'" seal_b)" "ROLLBACK PREPARED"
restart nspg_guard
expect_line "a transaction prepared across a restart is still prepared" "$(sql "SELECT count(*) FROM pg_prepared_xacts WHERE gid = 'nspg_p2'" seal_b)" "1"
wait_for "$UNSEALED" seal_b 0 20 && pass "rows after the restart are sealed, the prepared row is not visible yet" || fail "seal_b: $(sql "$UNSEALED" seal_b) rows unsealed"
expect_line "COMMIT PREPARED after the restart" "$(sql "COMMIT PREPARED 'nspg_p2'" seal_b)" "COMMIT PREPARED"
sealed_within "$xid2" 10 && pass "its row is sealed within 5 s" || fail "the row of prepared transaction $xid2 is not sealed 5 s after COMMIT PREPARED"
expect_line "seal_b verifies, nothing unsealed" "$(sql "SELECT ok, rows_unsealed FROM nspg_guard.audit_verify()" seal_b)" "t|0"
reject "no sealing failed" "$(cat "$DIR/server.log")" "failed, tried again next round"

say "isolation: a database whose default isolation is REPEATABLE READ is sealed all the same"
sql "ALTER DATABASE seal_b SET default_transaction_isolation = 'repeatable read'" >/dev/null
# the running sealer (connected before the ALTER) idles out; the next one connects with the setting
wait_for "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'nspg_guard sealer' AND datname = 'seal_b'" postgres 0 20 \
    || fail "a sealer of seal_b still runs"
sql "INSERT INTO public.orders (v) VALUES (7)" seal_b >/dev/null
wait_for "$UNSEALED" seal_b 0 10 && pass "the row is sealed within 5 s" || fail "seal_b: $(sql "$UNSEALED" seal_b) rows unsealed 5 s after commit under REPEATABLE READ by default"
sql "ALTER DATABASE seal_b RESET default_transaction_isolation" >/dev/null

say "hash: the README's definition, recomputed in plain SQL, gives the sealer's hashes"
ENCODE="CREATE FUNCTION pg_temp.f(v text) RETURNS bytea LANGUAGE sql IMMUTABLE AS
  \$\$ SELECT CASE WHEN v IS NULL THEN '\\x00'::bytea ELSE '\\x01'::bytea || int4send(octet_length(convert_to(v, 'UTF8'))) || convert_to(v, 'UTF8') END \$\$;
CREATE FUNCTION pg_temp.enc(l nspg_guard.audit_log) RETURNS bytea LANGUAGE sql STABLE AS \$\$ SELECT
  pg_temp.f(l.id::text) || pg_temp.f(((extract(epoch FROM l.event_time) * 1000000)::bigint)::text) || pg_temp.f(l.class) || pg_temp.f(l.outcome)
  || pg_temp.f(l.command_tag) || pg_temp.f(l.object_type) || pg_temp.f(l.object_identity) || pg_temp.f(l.statement) || pg_temp.f(l.rows::text)
  || pg_temp.f(l.sqlstate) || pg_temp.f(l.reason) || pg_temp.f(l.\"session_user\") || pg_temp.f(l.\"current_user\") || pg_temp.f(l.client_addr::text)
  || pg_temp.f(l.client_port::text) || pg_temp.f(l.application_name) || pg_temp.f(l.database) || pg_temp.f(l.backend_pid::text)
  || pg_temp.f(l.session_id) || pg_temp.f(l.xid::text) || pg_temp.f(l.details::text) \$\$;"
expect_line "every row_hash of seal_a recomputes from prev_hash, seal_seq and the row" \
    "$(sql "$ENCODE SELECT count(*) FILTER (WHERE c.row_hash <> sha256(c.prev_hash || int8send(c.seal_seq) || pg_temp.enc(l))) || '/' || (count(*) > 0)
            FROM nspg_guard.audit_chain c JOIN nspg_guard.audit_log l USING (id)" seal_a | tail -n 1)" "0/true"

say "outside witness: a head taken now verifies while the chain is intact"
head=$(sql "SELECT seal_seq || ' ' || encode(row_hash, 'hex') FROM nspg_guard.audit_head()" seal_a)
read -r head_seq head_hash <<<"$head"
[ -n "$head_hash" ] && pass "audit_head() gave seal_seq $head_seq" || fail "audit_head(): $head"
expect_line "audit_verify(head) is true on the intact chain" "$(sql "SELECT ok FROM nspg_guard.audit_verify($head_seq, '\\x$head_hash')" seal_a)" "t"
expect_line "a made-up head is not in the chain" "$(sql "SELECT ok FROM nspg_guard.audit_verify($head_seq, '\\x00')" seal_a)" "f"
expect "audit_head() is not for PUBLIC" "$(sql "SELECT * FROM nspg_guard.audit_head()" seal_a ns_app_rw_orders)" "permission denied for function audit_head"

say "dropped: a database dropped right after a commit gets no sealer every second"
for i in 1 2 3 4 5 6; do
    sql "CREATE DATABASE seal_drop$i" >/dev/null
    sql "CREATE EXTENSION nspg_guard; CREATE TABLE public.orders (v int); SELECT nspg_guard.audit_relation('public.orders', 'write')" "seal_drop$i" >/dev/null
    # the commit marks the database; the DROP races the writer's start of its sealer
    sql "INSERT INTO public.orders VALUES (1)" "seal_drop$i" >/dev/null
    sql "DROP DATABASE seal_drop$i WITH (FORCE)" >/dev/null
done
sleep 2
log_mark=$(stat -c %s "$DIR/server.log")
sleep 4
expect_line "no sealer tried to connect to a dropped database in the 4 s after" \
    "$(tail -c +$((log_mark + 1)) "$DIR/server.log" | grep -cE 'FATAL: +database [0-9]+ does not exist' || true)" "0"

say "templates and closed databases: no sealer connects there; reopened, they are sealed whole"
# a template with the extension and an audited row: never sealed (a sealer there would hold up
# CREATE DATABASE from it); its copies seal the rows they get
sql "CREATE DATABASE seal_tmpl IS_TEMPLATE true" >/dev/null
sql "CREATE EXTENSION nspg_guard; CREATE TABLE public.orders (v int); SELECT nspg_guard.audit_relation('public.orders', 'write');
     INSERT INTO public.orders VALUES (1)" seal_tmpl >/dev/null
sleep 3
expect_line "the template's rows are not sealed" "$(sql "SELECT count(*) > 0 FROM nspg_guard.audit_log" seal_tmpl)|$(sql "SELECT count(*) FROM nspg_guard.audit_chain" seal_tmpl)" "t|0"
sql "CREATE DATABASE seal_closed" >/dev/null
sql "CREATE EXTENSION nspg_guard; CREATE TABLE public.orders (v int); SELECT nspg_guard.audit_relation('public.orders', 'write');
     INSERT INTO public.orders VALUES (1)" seal_closed >/dev/null
wait_for "$UNSEALED" seal_closed 0 20 || fail "seal_closed: $(sql "$UNSEALED" seal_closed) rows unsealed"
no_session_in() { wait_for "SELECT count(*) FROM pg_stat_activity WHERE datname = '$1'" postgres 0 20 || fail "a session in $1 stays"; }
# after_closing DB SQL_ELSEWHERE SQL — in a session of DB, SQL_ELSEWHERE runs in another session
# (in postgres), then SQL: how rows get committed in a database as it is closed to sealers (a
# session can't close its own database to connections)
after_closing() {
    "$PG_BIN/psql" -X -h "$DIR" -p "$PORT" -U postgres -d "$1" -qAt >/dev/null 2>&1 <<SQL
\\! "$PG_BIN/psql" -X -h "$DIR" -p "$PORT" -U postgres -d postgres -qAt -c "$2"
$3
SQL
}
no_session_in seal_closed
log_mark=$(stat -c %s "$DIR/server.log")
# committed as the database stops taking connections
after_closing seal_closed "ALTER DATABASE seal_closed ALLOW_CONNECTIONS false" "INSERT INTO public.orders VALUES (2);"
expect_line "seal_closed takes no connections" "$(sql "SELECT datallowconn FROM pg_database WHERE datname = 'seal_closed'")" "f"
sleep 4
expect_line "no sealer tried to connect to the closed database, in 4 s" \
    "$(tail -c +$((log_mark + 1)) "$DIR/server.log" | grep -c 'is not currently accepting connections' || true)" "0"
# opened by a prepared transaction: no callback sees its commit, the writer looks for it
sql "BEGIN; ALTER DATABASE seal_closed ALLOW_CONNECTIONS true; PREPARE TRANSACTION 'reopen'" >/dev/null
sql "COMMIT PREPARED 'reopen'" >/dev/null
wait_for "$UNSEALED" seal_closed 0 20 && pass "the row committed while it was closed is sealed once it takes connections again (a prepared ALTER)" \
    || fail "seal_closed: $(sql "$UNSEALED" seal_closed) rows unsealed 10 s after it takes connections again"
sql "CREATE DATABASE seal_inval" >/dev/null
sql "CREATE EXTENSION nspg_guard; CREATE TABLE public.orders (v int); SELECT nspg_guard.audit_relation('public.orders', 'write')" seal_inval >/dev/null
no_session_in seal_inval
log_mark=$(stat -c %s "$DIR/server.log")
# invalid (as an interrupted DROP DATABASE leaves it, PostgreSQL 15.4 on), with a row committed since
after_closing seal_inval "UPDATE pg_database SET datconnlimit = -2 WHERE datname = 'seal_inval'" "INSERT INTO public.orders VALUES (2);"
sleep 4
expect_line "no sealer tried to connect to an invalid database, in 4 s" \
    "$(tail -c +$((log_mark + 1)) "$DIR/server.log" | grep -c 'cannot connect to invalid database' || true)" "0"
sql "UPDATE pg_database SET datconnlimit = -1 WHERE datname = 'seal_inval'" >/dev/null
wait_for "$UNSEALED" seal_inval 0 20 && pass "made valid by an UPDATE of pg_database, its rows are sealed" \
    || fail "seal_inval: $(sql "$UNSEALED" seal_inval) rows unsealed 10 s after it was made valid again"
sql "DROP DATABASE seal_inval WITH (FORCE)" >/dev/null

no_session_in seal_b
sql "ALTER DATABASE seal_b ALLOW_CONNECTIONS true" >/dev/null
seen=0
for _ in $(seq 8); do [ "$(sql "SELECT count(*) FROM pg_stat_activity WHERE datname = 'seal_b'")" != 0 ] && seen=1; sleep 0.25; done
expect_line "the same ALTER on a database already open starts no sealer (its whole trail is not read again)" "$seen" "0"

say "a copy of a sealed database is not taken for its own chain (no silent roll-back by copy)"
no_session_in seal_closed
sql "CREATE DATABASE seal_snap TEMPLATE seal_closed" >/dev/null
sql "INSERT INTO public.orders VALUES (3)" seal_snap >/dev/null
wait_for "SELECT ok, anchored FROM nspg_guard.audit_verify()" seal_snap "f|f" 10 && pass "the copy's chain has no anchor: audit_verify() is false" \
    || fail "seal_snap: audit_verify() $(sql "SELECT ok, anchored FROM nspg_guard.audit_verify()" seal_snap)"
expect_line "a chain_broken event in the copy" "$(sql "SELECT count(*) > 0 FROM nspg_guard.audit_log WHERE outcome = 'chain_broken'" seal_snap)" "t"
sql "DROP DATABASE seal_snap WITH (FORCE)" >/dev/null

say "a database dropped and re-created with its oid from an older copy of itself is reported"
sql "CREATE DATABASE seal_prod" >/dev/null
sql "CREATE EXTENSION nspg_guard; CREATE TABLE public.orders (v int); SELECT nspg_guard.audit_relation('public.orders', 'write');
     INSERT INTO public.orders VALUES (1)" seal_prod >/dev/null
wait_for "$UNSEALED" seal_prod 0 20 || fail "seal_prod: $(sql "$UNSEALED" seal_prod) rows unsealed"
no_session_in seal_prod
sql "CREATE DATABASE seal_old TEMPLATE seal_prod IS_TEMPLATE true" >/dev/null
prod_oid=$(sql "SELECT oid FROM pg_database WHERE datname = 'seal_prod'")
# history the old copy lacks, left unsealed (the database closed): its anchor is the old copy's head
after_closing seal_prod "ALTER DATABASE seal_prod ALLOW_CONNECTIONS false" "INSERT INTO public.orders VALUES (666);"
sql "DROP DATABASE seal_prod" >/dev/null
expect_line "re-created with its oid from the old copy" "$(sql "CREATE DATABASE seal_prod OID = $prod_oid TEMPLATE seal_old")" "CREATE DATABASE"
sql "INSERT INTO public.orders VALUES (3)" seal_prod >/dev/null
wait_for "SELECT ok, anchored FROM nspg_guard.audit_verify()" seal_prod "f|f" 10 && pass "its chain has no anchor: audit_verify() is false" \
    || fail "seal_prod re-created from an old copy: audit_verify() $(sql "SELECT ok, anchored FROM nspg_guard.audit_verify()" seal_prod)"

say "broken chains don't hold the sealing table: 130 copies of a sealed one, made by a migration role"
sql "CREATE ROLE ns_migrate_many LOGIN CREATEDB" >/dev/null
log_mark=$(stat -c %s "$DIR/server.log")
expect_line "130 copies created" \
    "$(for i in $(seq 130); do sql "CREATE DATABASE seal_y$i TEMPLATE seal_old" postgres ns_migrate_many; done | sort | uniq -c | sed 's/^ *//')" "130 CREATE DATABASE"
seq 130 | xargs -P 10 -I{} "$PG_BIN/psql" -X -h "$DIR" -p "$PORT" -U postgres -d seal_y{} -qAt -c "INSERT INTO public.orders VALUES (4)"
broken_seen() { tail -c +$((log_mark + 1)) "$DIR/server.log" | grep -c 'WARNING: .*no longer continues from its anchor' || true; }
for _ in $(seq 60); do [ "$(broken_seen)" -ge 130 ] && break; sleep 0.5; done
seen=$(broken_seen)
[ "$seen" -ge 130 ] && pass "each copy's chain was reported broken" || fail "$seen of the 130 copies' chains reported broken"
# a database new since, with no slot yet
new_victim() {
    sql "CREATE DATABASE $1" >/dev/null
    sql "CREATE EXTENSION nspg_guard; CREATE TABLE public.orders (v int); SELECT nspg_guard.audit_relation('public.orders', 'write');
         INSERT INTO public.orders VALUES (1)" "$1" >/dev/null
    wait_for "$UNSEALED" "$1" 0 10 && pass "a new database's rows are sealed within 5 s" || fail "$1: $(sql "$UNSEALED" "$1") rows unsealed 5 s after commit"
    sql "DROP DATABASE $1 WITH (FORCE)" >/dev/null
}
new_victim seal_v1
for i in $(seq 130); do sql "DROP DATABASE seal_y$i WITH (FORCE)"; done >/dev/null
sql "DROP DATABASE seal_prod WITH (FORCE)" >/dev/null
sql "ALTER DATABASE seal_old IS_TEMPLATE false" >/dev/null
sql "DROP DATABASE seal_old WITH (FORCE)" >/dev/null

say "databases closed to connections don't hold the sealing table: 130 made by a migration role"
expect_line "130 closed databases created" \
    "$(for i in $(seq 130); do sql "CREATE DATABASE seal_x$i ALLOW_CONNECTIONS false TEMPLATE template0" postgres ns_migrate_many; done | sort | uniq -c | sed 's/^ *//')" "130 CREATE DATABASE"
new_victim seal_v2
for i in $(seq 130); do sql "DROP DATABASE seal_x$i"; done >/dev/null

say "copies: 140 databases created from the template each seal their copied rows"
log_mark=$(stat -c %s "$DIR/server.log")
expect_line "140 copies created" "$(for i in $(seq 140); do sql "CREATE DATABASE seal_m$i TEMPLATE seal_tmpl"; done | sort | uniq -c | sed 's/^ *//')" "140 CREATE DATABASE"
copies=$(sql "SELECT string_agg(oid::text, ' ') FROM pg_database WHERE datname LIKE 'seal\\_m%'")
# one access row committed in each copy, 20 connections at a time
seq 140 | xargs -P 20 -I{} "$PG_BIN/psql" -X -h "$DIR" -p "$PORT" -U postgres -d seal_m{} -qAt -c "INSERT INTO public.orders VALUES (3)"
unsealed_copies() {
    for i in $(seq 140); do sql "$UNSEALED" "seal_m$i"; done | grep -vc '^0$' || true
}
for _ in $(seq 30); do [ "$(unsealed_copies)" = 0 ] && break; sleep 1; done
expect_line "every row of the 140 copies is sealed (the template's and the new one)" "$(unsealed_copies)" "0"
expect_line "each copy verifies from its own anchor: ok, anchored, 4 rows checked" \
    "$(for i in $(seq 140); do sql "SELECT ok, anchored, rows_checked >= 4 FROM nspg_guard.audit_verify()" "seal_m$i"; done | sort | uniq -c | sed 's/^ *//')" "140 t|t|t"
reject "no copy's chain was taken for broken" "$(tail -c +$((log_mark + 1)) "$DIR/server.log")" "chain_broken"

say "copies: 140 databases marked at once while the writer is stopped (more than the 128 tracked)"
# (the audit database's sealer may stay: each login here is an event there)
wait_for "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'nspg_guard sealer' AND datname LIKE 'seal\_m%'" postgres 0 20 \
    || fail "sealers of the copies still run"
writer=$(sql "SELECT pid FROM pg_stat_activity WHERE backend_type = 'nspg_guard audit writer'")
kill -STOP "$writer"
seq 140 | xargs -P 20 -I{} "$PG_BIN/psql" -X -h "$DIR" -p "$PORT" -U postgres -d seal_m{} -qAt -c "INSERT INTO public.orders VALUES (4)"
# bystanders: seal_a and seal_b have nothing new to seal; a lost mark is given again to its own
# database only, so no sealer goes there (one that did would re-read their trails from the
# lowest id lost, as every database did when lost marks were kept as one id for all)
touch "$DIR/bystanders.watch"
( while [ -e "$DIR/bystanders.watch" ]; do
      sql "SELECT datname FROM pg_stat_activity WHERE backend_type = 'nspg_guard sealer' AND datname IN ('seal_a', 'seal_b')" postgres
      sleep 0.2
  done >"$DIR/bystanders.seen" ) &
watcher=$!
kill -CONT "$writer"
resumed=$(date +%s.%N)
for _ in $(seq 60); do [ "$(unsealed_copies)" = 0 ] && break; sleep 1; done
sealed_in=$(echo "$(date +%s.%N) - $resumed" | bc)
left=$(unsealed_copies)
expect_line "every copy's new row is sealed, the marks that found no slot too" "$left" "0"
[ "$left" = 0 ] && echo "    (all sealed within $(printf '%.1f' "$sealed_in") s of the writer's resumption; the 140 are polled one by one)"
sleep 3
rm -f "$DIR/bystanders.watch"
wait "$watcher"
expect_line "no sealer went to the bystanders seal_a and seal_b" "$(sort -u "$DIR/bystanders.seen" | tr '\n' ' ')" ""
for i in $(seq 140); do sql "DROP DATABASE seal_m$i"; done >/dev/null
sql "DROP DATABASE seal_closed WITH (FORCE)" >/dev/null
sql "ALTER DATABASE seal_tmpl IS_TEMPLATE DEFAULT" >/dev/null
wait_for "$UNSEALED" seal_tmpl 0 20 && pass "no longer a template (IS_TEMPLATE DEFAULT), its rows are sealed" \
    || fail "seal_tmpl: $(sql "$UNSEALED" seal_tmpl) rows unsealed 10 s after it stopped being a template"
sql "DROP DATABASE seal_tmpl WITH (FORCE)" >/dev/null
restart
left=0
for oid in $copies; do
    for _ in $(seq 10); do [ -e "$DIR/data/nspg_guard/anchor.$oid" ] || break; sleep 0.5; done
    [ -e "$DIR/data/nspg_guard/anchor.$oid" ] && left=$((left + 1))
done
expect_line "the dropped copies' anchor files are gone after the restart" "$left" "0"

say "tamper: move the trail out, edit, delete, truncate the chain and rebuild it by hand, without the library"
restart ''
expect_line "the library is not loaded" "$(sql "SHOW shared_preload_libraries" seal_a)" ""
expect_line "audit_verify() works without the library preloaded (anchor read from its file)" "$(sql "SELECT ok, anchored FROM nspg_guard.audit_verify()" seal_b)" "t|t"
victim=$(sql "SELECT min(id) FROM nspg_guard.audit_log WHERE class = 'access'" seal_a)
out=$(sql "ALTER TABLE nspg_guard.audit_log SET SCHEMA public; ALTER TABLE nspg_guard.audit_chain SET SCHEMA public;
           UPDATE public.audit_log SET \"session_user\" = 'somebody_else' WHERE id = $victim;
           DELETE FROM public.audit_log WHERE id IN (SELECT id FROM public.audit_log WHERE class = 'access' ORDER BY id DESC LIMIT 100);
           TRUNCATE public.audit_chain;
           ALTER TABLE public.audit_log SET SCHEMA nspg_guard; ALTER TABLE public.audit_chain SET SCHEMA nspg_guard" seal_a)
expect "the superuser edited, deleted and truncated" "$out" "TRUNCATE TABLE"
# the rebuilt chain follows the README's definition exactly, so it verifies against itself
sql "$ENCODE
DO \$\$ DECLARE r record; prev bytea := ''; seq bigint := 0; h bytea; BEGIN
  FOR r IN SELECT l.id, pg_temp.enc(l) AS e FROM nspg_guard.audit_log l ORDER BY l.id LOOP
    seq := seq + 1; h := sha256(prev || int8send(seq) || r.e);
    INSERT INTO nspg_guard.audit_chain VALUES (r.id, seq, prev, h, now()); prev := h;
  END LOOP; END \$\$" seal_a >/dev/null
restart nspg_guard
wait_for "SELECT count(*) FROM nspg_guard.audit_log WHERE class = 'config' AND outcome = 'chain_broken'" seal_a 1 60 \
    && pass "the sealer recorded a chain_broken config event" || fail "no chain_broken event in seal_a"
# (the anchor is the head at the last seal: the witness's head or a later one)
expect_line "its reason and details name the anchor, at or after the witness's head" \
    "$(sql "SELECT reason LIKE 'the chain ends at seal_seq %, before its anchor (seal_seq %', (details->'expected'->>'seal_seq')::bigint >= $head_seq FROM nspg_guard.audit_log WHERE outcome = 'chain_broken'" seal_a)" "t|t"
expect "the server log has the WARNING" "$(cat "$DIR/server.log")" "the audit chain no longer continues from its anchor"
out=$(sql "SELECT ok, first_broken_id IS NULL, anchored, problem FROM nspg_guard.audit_verify()" seal_a)
expect "audit_verify() is false: the rebuilt chain verifies against itself but not against its anchor" "$out" "f|t|f|the chain does not continue from its anchor"
expect_line "lint: audit_anchor_broken, an error" "$(sql "SELECT severity FROM nspg_guard.lint('{audit}') WHERE rule = 'audit_anchor_broken'" seal_a)" "error"
expect_line "the head taken before no longer verifies" "$(sql "SELECT ok FROM nspg_guard.audit_verify($head_seq, '\\x$head_hash')" seal_a)" "f"
for db in postgres seal_b; do
    expect_line "$db, untouched, still verifies" "$(sql "SELECT ok, anchored FROM nspg_guard.audit_verify()" "$db")" "t|t"
done
sql "INSERT INTO public.orders (v) VALUES (1)" seal_a >/dev/null
sleep 3
[ "$(sql "$UNSEALED" seal_a)" -gt 0 ] && pass "nothing is sealed onto the rebuilt chain" || fail "rows were sealed onto the rebuilt chain"
# each commit marks seal_a for sealing; a sealer that finds the chain broken exits at once, and the
# writer must not start the next one for every commit (one process per commit, before). The
# postmaster names each worker it starts at DEBUG1.
sql "ALTER SYSTEM SET log_min_messages = 'debug1'" >/dev/null; sql "SELECT pg_reload_conf()" >/dev/null
sleep 1
log_mark=$(stat -c %s "$DIR/server.log")
pgb -c 1 -j 1 -T 3 -R 200 -f "$DIR/committed.sql" seal_a >"$DIR/pgbench_broken.log" 2>&1
sealers=$(tail -c +$((log_mark + 1)) "$DIR/server.log" | grep -c 'starting background worker process "nspg_guard sealer"' || true)
sql "ALTER SYSTEM RESET log_min_messages" >/dev/null; sql "SELECT pg_reload_conf()" >/dev/null
commits=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$DIR/pgbench_broken.log")
[ "${commits:-0}" -ge 300 ] && [ "$sealers" -le 1 ] && pass "$commits commits on the broken chain in 3 s started $sealers sealers (at most one per 10 s, not one per commit)" \
    || fail "$commits commits on the broken chain in 3 s started $sealers sealers"
expect_line "one event only, however often the sealer looks" "$(sql "SELECT count(*) FROM nspg_guard.audit_log WHERE outcome = 'chain_broken'" seal_a)" "1"
sql "ALTER SYSTEM SET nspg_guard.audit_seal_max_delay = '1s'" >/dev/null; sql "SELECT pg_reload_conf()" >/dev/null
sleep 1
expect_line "lint: audit_unsealed_too_long once a row waits longer than audit_seal_max_delay" \
    "$(sql "SELECT severity, (details->>'rows_unsealed')::int > 0 FROM nspg_guard.lint('{audit}') WHERE rule = 'audit_unsealed_too_long'" seal_a)" "warn|t"
expect_line "... and not where rows are sealed" "$(sql "SELECT count(*) FROM nspg_guard.lint('{audit}') WHERE rule = 'audit_unsealed_too_long'" seal_b)" "0"
sql "ALTER SYSTEM RESET nspg_guard.audit_seal_max_delay" >/dev/null; sql "SELECT pg_reload_conf()" >/dev/null
expect "audit_verify() needs READ COMMITTED (its snapshot must not be older than the anchor)" \
    "$(sql "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT * FROM nspg_guard.audit_verify(); ROLLBACK" seal_b)" "needs a READ COMMITTED transaction"

say "adoption after a repair: superusers only, audited, and sealing resumes"
expect "a role that is not superuser may not adopt" "$(sql "SELECT nspg_guard.audit_anchor_adopt('fixed')" seal_a ns_app_rw_orders)" "ERROR"
expect "a reason is required" "$(sql "SELECT nspg_guard.audit_anchor_adopt('')" seal_a)" "needs a reason"
adopted=$(sql "SELECT nspg_guard.audit_anchor_adopt('chain rebuilt in the tamper test')" seal_a)
[ "${adopted:-0}" -gt 0 ] 2>/dev/null && pass "adopted the chain at seal_seq $adopted" || fail "audit_anchor_adopt: $adopted"
expect_line "an anchor_adopted config event with the reason, the previous anchor and the adopted head" \
    "$(sql "SELECT reason, (details->'previous'->>'seal_seq')::bigint >= $head_seq, details->'adopted'->>'seal_seq' FROM nspg_guard.audit_log WHERE outcome = 'anchor_adopted'" seal_a)" "chain rebuilt in the tamper test|t|$adopted"
wait_for "$UNSEALED" seal_a 0 60 && pass "sealing resumed" || fail "$(sql "$UNSEALED" seal_a) rows still unsealed"
expect_line "audit_verify() accepts the adopted chain" "$(sql "SELECT ok, anchored FROM nspg_guard.audit_verify()" seal_a)" "t|t"

say "anchor: a missing anchor file for a chain with rows is reported, not adopted"
oid_b=$(sql "SELECT oid FROM pg_database WHERE datname = 'seal_b'")
as_postgres "$PG_BIN/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null
mv "$DIR/data/nspg_guard/anchor.$oid_b" "$DIR/anchor.$oid_b.saved"
as_postgres "$PG_BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w start >/dev/null
db_missing=$(sql "SELECT datname FROM pg_database WHERE oid = $oid_b")
wait_for "SELECT count(*) FROM nspg_guard.audit_log WHERE outcome = 'chain_broken'" "$db_missing" 1 60 \
    && pass "$db_missing: a chain_broken event" || fail "$db_missing: no event for the missing anchor"
expect "$db_missing: audit_verify() names the missing anchor" "$(sql "SELECT ok, problem FROM nspg_guard.audit_verify()" "$db_missing")" "f|the chain does not continue from its anchor: the chain has rows up to seal_seq"
sql "INSERT INTO public.orders (v) VALUES (1)" "$db_missing" >/dev/null
# longer than the writer's pause between two sealers of a broken chain: one has looked since
sleep 11
[ "$(sql "$UNSEALED" "$db_missing")" -gt 0 ] && pass "$db_missing: nothing is sealed without the anchor" || fail "$db_missing: rows were sealed without the anchor"
mv "$DIR/anchor.$oid_b.saved" "$DIR/data/nspg_guard/anchor.$oid_b"
wait_for "$UNSEALED" "$db_missing" 0 40 && pass "$db_missing: the anchor file put back, sealing resumes within seconds, no restart" \
    || fail "$db_missing: $(sql "$UNSEALED" "$db_missing") rows unsealed 20 s after the anchor was put back"
expect_line "$db_missing: audit_verify() ok again" "$(sql "SELECT ok, anchored FROM nspg_guard.audit_verify()" "$db_missing")" "t|t"

finish
