#!/usr/bin/env bash
# One behaviour on every path (issue 10): each per-statement rule gives the same outcome whether
# the statement arrives as
#   simple    a simple Query message
#   multi     one statement of a multi-statement query string (SELECT 1; <stmt>; SELECT 2)
#   unnamed   the extended protocol, unnamed statement (Parse/Bind/Execute/Sync)
#   named     a named prepared statement executed twice (two Bind/Execute)
#   portal    a named portal fetched with a row limit (Execute p 1, three times for a statement
#             that returns rows; once for a utility statement, whose portal runs to completion)
#   pipeline  several Bind/Execute (SELECT 1, <stmt>, SELECT 1) before one Sync
#   sqlfn     inside a SQL function        plpgsql   inside a PL/pgSQL function
#   do        inside a DO block            call      inside a procedure (CALL)
#   trigger   inside a BEFORE INSERT trigger
#   prepare   PREPARE/EXECUTE (of the statement itself if it is DML, else of SELECT f() running it)
# The rules, each over every path (client: tests/pgwire, a std-only wire-protocol client):
#   ddl        an app role's CREATE TABLE is refused (42501), nothing created, one `denied` row
#              per refusal whose statement is the refused statement's own text (nested: the
#              client's statement), never the whole query string;
#   unbounded  an app role's unbounded DELETE is refused (42501); the rows stay;
#   rowlimit   an UPDATE of 3 rows by a role with nspg_guard.max_rows_per_statement = 2 is
#              refused (42501) and changes nothing;
#   risky      COPY … TO a server file by an app role holding pg_write_server_files is refused
#              (42501); no file is written; so is LOAD (risky_load);
#   bg_events  an escalated break-glass session (approved request, the role inherited or SET ROLE)
#              leaves exactly one `statement` event per client statement, with that statement's
#              own text (a portal fetched in three Executes is one statement; statements nested in
#              functions are their caller's), and one `activated` event per session;
#   bg_fence   while escalated, set_config('row_security', …) and SET row_security (an
#              audit-relevant setting) and ALTER SYSTEM are refused (42501) and change nothing;
#   caps       an admin session's statement_timeout after set_config('statement_timeout', '0')
#              or SET statement_timeout = 0 is capped (5min) at the next statement; also
#              PL/pgSQL assignments (DO, procedures; statement_timeout,
#              idle_in_transaction_session_timeout, idle_session_timeout), a function's SET
#              clause, DISCARD ALL, RESET, SET LOCAL, per-role settings, connection options;
#   mig_text   committed DDL of a migration role leaves one `schema` row per statement with that
#              statement's own text; an overridden unbounded DELETE's `destructive` row has the
#              DELETE's own text;
#   scope      allow_destructive() called inside a migration-owned SECURITY DEFINER function
#              covers that function's own DELETE (it runs), not the calling app role's unbounded
#              DELETE later in the same transaction (refused, 42501).
# Own cluster next to the main one: $TEST_PORT + 8.
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/assert.bash"
: "${TEST_DIR:?run me from scripts/test.sh}" "${TEST_PORT:?run me from scripts/test.sh}"

DIR=$(dirname "$TEST_DIR")/protocol_paths
PORT=$((TEST_PORT + 8))
COPY_FILE=$DIR/protocol_copy.csv
trap 'stop_cluster "$DIR"' EXIT
source "$(dirname "${BASH_SOURCE[0]}")/wire.bash"

# events APP CLASS OUTCOME — the statement texts of APP's audit rows, in order ('-' for NULL).
events() {
    sql "SELECT coalesce(statement, '-') FROM nspg_guard.audit_log
          WHERE application_name = '$1' AND class = '$2' AND outcome = '$3' ORDER BY id"
}
last_row() { grep '^ROW ' <<<"$1" | tail -n 1; }
reset_rows() {
    sql "DELETE FROM orders.victims WHERE id > 0; INSERT INTO orders.victims VALUES (1, 'a'), (2, 'b'), (3, 'c');
         DELETE FROM orders.scratch WHERE id > 0; INSERT INTO orders.scratch VALUES (1), (2), (3);" >/dev/null
}

TOP_PATHS=(simple multi unnamed named portal pipeline)
NESTED_PATHS=(sqlfn plpgsql do call trigger prepare)
ALL_PATHS=("${TOP_PATHS[@]}" "${NESTED_PATHS[@]}")
cases=0

# plpgsql_of STMT — the statement as a PL/pgSQL statement (a SELECT becomes PERFORM).
plpgsql_of() { if [[ $1 == SELECT\ * ]]; then echo "PERFORM ${1#SELECT }"; else echo "$1"; fi; }
is_dml() { [[ $1 =~ ^(SELECT|INSERT|UPDATE|DELETE)\  ]]; }

# A second statement the nested paths of a rule run after the rule's statement.
declare -A SECOND=(
    [mig]="COMMENT ON TABLE orders.mig_@ IS 'made on path @'"
    [scope]="DELETE FROM orders.victims"
)

# wrappers RULE STMT — SQL for the nested paths of RULE, owned by the migration role:
# orders.RULE_sql(), RULE_plpgsql(), RULE_proc(), RULE_prep() (what the prepare path runs for a
# utility statement) and table orders.RULE_trig with a BEFORE INSERT trigger. Each runs STMT
# (then SECOND[RULE], if any); an @ in them is replaced by the path's name.
wrappers() {
    local rule=$1 s=$2 s2=${SECOND[$1]:-} f
    body() { # body PATH SEP — the statements for PATH, joined by SEP, in SQL or PL/pgSQL form
        local a=${s//@/$1} b=${s2//@/$1}
        if [ "$2" = sql ]; then echo "$a${b:+; $b}"; else echo "$(plpgsql_of "$a");${b:+ $(plpgsql_of "$b");}"; fi
    }
    f="orders.${rule}"
    cat <<SQL
CREATE FUNCTION ${f}_sql() RETURNS void LANGUAGE sql AS \$w\$ $(body sqlfn sql) \$w\$;
CREATE FUNCTION ${f}_prep() RETURNS void LANGUAGE sql AS \$w\$ $(body prepare sql) \$w\$;
CREATE FUNCTION ${f}_plpgsql() RETURNS void LANGUAGE plpgsql AS \$w\$ BEGIN $(body plpgsql pl) END \$w\$;
CREATE PROCEDURE ${f}_proc() LANGUAGE plpgsql AS \$w\$ BEGIN $(body call pl) END \$w\$;
CREATE FUNCTION ${f}_trigfn() RETURNS trigger LANGUAGE plpgsql AS \$w\$ BEGIN $(body trigger pl) RETURN NEW; END \$w\$;
CREATE TABLE ${f}_trig (id int);
CREATE TRIGGER ${rule}_trig BEFORE INSERT ON ${f}_trig FOR EACH ROW EXECUTE FUNCTION ${f}_trigfn();
GRANT INSERT ON ${f}_trig TO PUBLIC;
SQL
}

# client_statement RULE PATH STMT — what the client sends on a nested path (prepare: the EXECUTE).
client_statement() {
    local rule=$1 path=$2 s=${3//@/$2} s2=${SECOND[$1]:-}
    s2=${s2//@/$2}
    case $path in
        sqlfn) echo "SELECT orders.${rule}_sql()" ;;
        plpgsql) echo "SELECT orders.${rule}_plpgsql()" ;;
        do) echo "DO \$\$BEGIN $(plpgsql_of "$s");${s2:+ $(plpgsql_of "$s2");} END\$\$" ;;
        call) echo "CALL orders.${rule}_proc()" ;;
        trigger) echo "INSERT INTO orders.${rule}_trig VALUES (1)" ;;
        prepare) echo "EXECUTE ${rule}_q" ;;
    esac
}

# script RULE PATH STMT [PORTAL_STMT] — the client script running STMT on PATH (@ → the path's
# name). PORTAL_STMT: a variant returning rows for the portal path (fetched one row at a time).
script() {
    local rule=$1 path=$2 s=${3//@/$2} ps=${4:-}
    case $path in
        simple) echo "query $s" ;;
        multi) echo "query SELECT 1; $s; SELECT 2" ;;
        unnamed) printf '%s\n' "parse - $s" "bind - -" "execute - 0" "sync" ;;
        named) printf '%s\n' "parse s1 $s" "bind - s1" "execute - 0" "sync" "bind - s1" "execute - 0" "sync" ;;
        portal)
            if [ -n "$ps" ]; then printf '%s\n' "parse - ${ps//@/$path}" "bind p -" "execute p 1" "execute p 1" "execute p 1" "sync"
            else printf '%s\n' "parse - $s" "bind p -" "execute p 1" "sync"; fi ;;
        pipeline) printf '%s\n' "parse a SELECT 1" "parse b $s" "bind - a" "execute - 0" "bind - b" "execute - 0" \
            "bind - a" "execute - 0" "sync" ;;
        prepare)
            if is_dml "$s"; then echo "query PREPARE ${rule}_q AS $s"; else echo "query PREPARE ${rule}_q AS SELECT orders.${rule}_prep()"; fi
            echo "query EXECUTE ${rule}_q" ;;
        *) echo "query $(client_statement "$rule" "$path" "$s")" ;;
    esac
}
# runs PATH — how many times the statement runs on PATH.
runs() { if [ "$1" = named ]; then echo 2; else echo 1; fi; }
# refused_text RULE PATH STMT [PORTAL_STMT] — the statement text a refusal's audit row must have.
refused_text() {
    case $2 in
        portal) if [ -n "${4:-}" ]; then echo "${4//@/$2}"; else echo "${3//@/$2}"; fi ;;
        simple | multi | unnamed | named | pipeline) echo "${3//@/$2}" ;;
        *) client_statement "$1" "$2" "$3" ;;
    esac
}

say "cluster with the library preloaded (port $PORT)"
start_cluster "$DIR" "$PORT" nspg_guard
sql "CREATE EXTENSION nspg_guard" >/dev/null
out=$(sql "
CREATE ROLE ns_owner_orders NOLOGIN;
CREATE ROLE ns_migrate_orders LOGIN IN ROLE ns_owner_orders;
CREATE ROLE ns_app_rw_orders LOGIN;
CREATE ROLE ns_app_batch_orders LOGIN;
ALTER ROLE ns_app_batch_orders SET nspg_guard.max_rows_per_statement = 2;
$SESSION_ROLES_SQL;
GRANT pg_write_server_files TO ns_app_rw_orders;
GRANT ALTER SYSTEM ON PARAMETER work_mem TO ns_breakglass_admin;
CREATE SCHEMA orders AUTHORIZATION ns_owner_orders;
GRANT USAGE ON SCHEMA orders TO PUBLIC;
SET ROLE ns_migrate_orders;
CREATE TABLE orders.victims (id int PRIMARY KEY, note text);
CREATE TABLE orders.scratch (id int PRIMARY KEY);
GRANT SELECT, INSERT, UPDATE, DELETE ON orders.victims TO ns_app_rw_orders, ns_app_batch_orders, bob_oncall, alice_admin;
-- allow_destructive() for the caller of a migration-owned SECURITY DEFINER function: it covers the
-- function's own DELETE of orders.scratch, and must not cover what the caller does later.
CREATE FUNCTION orders.purge_scratch() RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS \$f\$
DECLARE n bigint;
BEGIN
    PERFORM nspg_guard.allow_destructive('purge the scratch rows of the protocol suite');
    DELETE FROM orders.scratch;
    GET DIAGNOSTICS n = ROW_COUNT;
    RAISE NOTICE 'purged % scratch rows', n;
    RETURN n;
END \$f\$;
-- a SQL function whose SET clause lifts statement_timeout while it runs
CREATE FUNCTION orders.timeout_in_set_clause() RETURNS text LANGUAGE sql SET statement_timeout = 0
    AS \$f\$ SELECT pg_catalog.current_setting('statement_timeout') \$f\$;
CREATE PROCEDURE orders.caps_assign_proc() LANGUAGE plpgsql AS \$f\$
DECLARE x text; BEGIN x := pg_catalog.set_config('statement_timeout', '0', false); END \$f\$;
-- break-glass: nested statements are their caller's
CREATE FUNCTION orders.bg_sql() RETURNS int LANGUAGE sql AS \$f\$ SELECT 1; SELECT 2 \$f\$;
CREATE FUNCTION orders.bg_plpgsql() RETURNS int LANGUAGE plpgsql AS \$f\$ BEGIN PERFORM 1; RETURN (SELECT 2); END \$f\$;
CREATE PROCEDURE orders.bg_proc() LANGUAGE plpgsql AS \$f\$ BEGIN PERFORM 1; PERFORM 2; END \$f\$;
CREATE FUNCTION orders.bg_trigfn() RETURNS trigger LANGUAGE plpgsql AS \$f\$ BEGIN PERFORM 1; PERFORM 2; RETURN NEW; END \$f\$;
CREATE TABLE orders.bg_trig (id int);
CREATE TRIGGER bg_trig BEFORE INSERT ON orders.bg_trig FOR EACH ROW EXECUTE FUNCTION orders.bg_trigfn();
GRANT INSERT ON orders.bg_trig TO PUBLIC;
-- the app side of the override-scope cases: SECURITY INVOKER, so their DELETE is the app's
$(wrappers scope "SELECT orders.purge_scratch()")
$(wrappers ddl "CREATE TABLE orders.app_ddl (id int)")
$(wrappers unbounded "DELETE FROM orders.victims")
$(wrappers rowlimit "UPDATE orders.victims SET note = note || '!' WHERE id > 0")
$(wrappers risky "COPY orders.victims TO '$COPY_FILE'")
$(wrappers risky_load "LOAD 'nspg_guard'")
$(wrappers bg_setconfig "SELECT pg_catalog.set_config('row_security', 'off', false)")
$(wrappers bg_set "SET row_security = off")
$(wrappers caps_setconfig "SELECT pg_catalog.set_config('statement_timeout', '0', false)")
$(wrappers caps_set "SET statement_timeout = 0")
$(wrappers mig "CREATE TABLE orders.mig_@ (id int)")
RESET ROLE;
GRANT INSERT ON orders.scope_trig TO ns_app_rw_orders;" 2>&1)
reject "setup ran without errors" "$out" "ERROR"
reset_rows

say "break-glass: bob_oncall's request, approved by carol_approver"
id=$(sql "SELECT nspg_guard.breakglass_request('protocol suite escalated session', '55 minutes', 'INC-10')" bob_oncall | tail -n 1)
[[ "$id" =~ ^[0-9]+$ ]] && pass "bob_oncall filed request $id" || fail "breakglass_request: $id"
expect_line "carol_approver approves it" "$(sql "SELECT nspg_guard.breakglass_approve($id) IS NOT NULL" carol_approver)" "t"
expect_line "bob_oncall has the break-glass role" "$(sql "SELECT pg_has_role('bob_oncall', 'ns_breakglass_admin', 'USAGE')")" "t"

# refusal RULE USER STMT MESSAGE CHECK_SQL WANT [PORTAL_STMT] — STMT on every path as USER:
# refused with exactly MESSAGE each time it runs and no other error, one `denied` row per refusal
# with the refused statement's text, and CHECK_SQL (run as postgres afterwards) gives WANT.
refusal() {
    local rule=$1 user=$2 s=$3 message=$4 check=$5 want=$6 ps=${7:-} path app out n
    say "$rule: refused on every path ($user)"
    for path in "${ALL_PATHS[@]}"; do
        app="pp_${rule}_$path"
        reset_rows
        out=$(script "$rule" "$path" "$s" "$ps" | wire "$user" "$app")
        n=$(runs "$path")
        expect_count "$rule/$path: refused $n time(s)" "$out" "ERROR 42501 $message" "$n"
        no_other_errors "$rule/$path: no other error" "$out" "$n"
        expect_line "$rule/$path: nothing changed" "$(sql "$check")" "$want"
        flush
        expect_same "$rule/$path: $n denied row(s), each with the refused statement's own text" \
            "$(events "$app" denied denied)" "$(for _ in $(seq "$n"); do refused_text "$rule" "$path" "$s" "$ps"; done)"
        cases=$((cases + 1))
    done
}

refusal ddl ns_app_rw_orders "CREATE TABLE orders.app_ddl (id int)" \
    'nspg_guard: CREATE TABLE denied for role "ns_app_rw_orders"' \
    "SELECT to_regclass('orders.app_ddl') IS NULL" t
refusal unbounded ns_app_rw_orders "DELETE FROM orders.victims" \
    'nspg_guard: DELETE on "orders.victims" has no WHERE clause that restricts rows' \
    "SELECT count(*) FROM orders.victims" 3 "DELETE FROM orders.victims RETURNING id"
refusal rowlimit ns_app_batch_orders "UPDATE orders.victims SET note = note || '!' WHERE id > 0" \
    'nspg_guard: UPDATE on "orders.victims" would change 3 rows, more than the limit of 2' \
    "SELECT string_agg(note, ',' ORDER BY id) FROM orders.victims" "a,b,c" \
    "UPDATE orders.victims SET note = note || '!' WHERE id > 0 RETURNING id"
refusal risky ns_app_rw_orders "COPY orders.victims TO '$COPY_FILE'" \
    'nspg_guard: COPY to or from a server file denied for role "ns_app_rw_orders"' \
    "SELECT count(*) FROM pg_ls_dir('$DIR') f WHERE f = 'protocol_copy.csv'" 0
refusal risky_load ns_app_rw_orders "LOAD 'nspg_guard'" \
    'nspg_guard: LOAD denied for role "ns_app_rw_orders"' "SELECT 'the server runs'" "the server runs"

say "bg_events: one statement event per client statement of an escalated session, with its own text"
# bg_case PATH EXPECTED [CONNINFO] < script — EXPECTED: the statement texts, one per line.
bg_case() {
    local path=$1 want=$2 app="pp_bg_$1" out
    out=$(wire bob_oncall "$app")
    no_other_errors "bg_events/$path: the statements ran" "$out" 0
    flush
    expect_same "bg_events/$path: one statement event per client statement, each with its own text" \
        "$(events "$app" breakglass statement)" "$want"
    expect_line "bg_events/$path: one activated event" "$(events "$app" breakglass activated | wc -l)" 1
    expect_line "bg_events/$path: each names request $id" \
        "$(sql "SELECT count(*) FILTER (WHERE details->>'request_id' = '$id') = count(*) FROM nspg_guard.audit_log
                 WHERE application_name = '$app' AND class = 'breakglass'")" t
    cases=$((cases + 1))
}
bg_case simple "SELECT 'bg simple 1'
SELECT 'bg simple 2'
SELECT 'bg simple 3'" <<'S'
query SELECT 'bg simple 1'
query SELECT 'bg simple 2'
query SELECT 'bg simple 3'
S
bg_case multi "SELECT 'bg multi 1'
SELECT 'bg multi 2'
SELECT 'bg multi 3'" <<'S'
query SELECT 'bg multi 1'; SELECT 'bg multi 2'; SELECT 'bg multi 3'
S
bg_case unnamed "SELECT 'bg unnamed 1'
SELECT 'bg unnamed 2'
SELECT 'bg unnamed 3'" <<'S'
parse - SELECT 'bg unnamed 1'
bind - -
execute - 0
sync
parse - SELECT 'bg unnamed 2'
bind - -
execute - 0
sync
parse - SELECT 'bg unnamed 3'
bind - -
execute - 0
sync
S
bg_case named "SELECT 'bg named'
SELECT 'bg named'
SELECT 'bg named'" <<'S'
parse s1 SELECT 'bg named'
bind - s1
execute - 0
sync
bind - s1
execute - 0
bind - s1
execute - 0
sync
S
bg_case portal "SELECT 'bg portal ' || g FROM generate_series(1, 3) g" <<'S'
parse - SELECT 'bg portal ' || g FROM generate_series(1, 3) g
bind p -
execute p 1
execute p 1
execute p 1
sync
S
bg_case pipeline "SELECT 'bg pipeline a'
SELECT 'bg pipeline b'
SELECT 'bg pipeline a'" <<'S'
parse a SELECT 'bg pipeline a'
parse b SELECT 'bg pipeline b'
bind - a
execute - 0
bind - b
execute - 0
bind - a
execute - 0
sync
S
bg_case set_role "SET ROLE ns_breakglass_admin
SELECT current_user
RESET ROLE" <<'S'
query SET ROLE ns_breakglass_admin
parse - SELECT current_user
bind - -
execute - 0
sync
query RESET ROLE
S
bg_case ext_nested "SELECT orders.bg_plpgsql()
SELECT orders.bg_sql()" <<'S'
parse - SELECT orders.bg_plpgsql()
bind - -
execute - 0
parse - SELECT orders.bg_sql()
bind - -
execute - 0
sync
S
bg_case sqlfn "SELECT orders.bg_sql()" <<<"query SELECT orders.bg_sql()"
bg_case plpgsql "SELECT orders.bg_plpgsql()" <<<"query SELECT orders.bg_plpgsql()"
bg_case do 'DO $$BEGIN PERFORM 1; PERFORM 2; END$$' <<<'query DO $$BEGIN PERFORM 1; PERFORM 2; END$$'
bg_case call "CALL orders.bg_proc()" <<<"query CALL orders.bg_proc()"
bg_case trigger "INSERT INTO orders.bg_trig VALUES (1)" <<<"query INSERT INTO orders.bg_trig VALUES (1)"
bg_case prepare "PREPARE bgq AS SELECT 'bg prepared'
EXECUTE bgq
EXECUTE bgq" <<'S'
query PREPARE bgq AS SELECT 'bg prepared'
query EXECUTE bgq
query EXECUTE bgq
S

# fence RULE STMT MESSAGE CHECK WANT PORTAL_STMT PATHS… — as bob_oncall (escalated): refused with
# MESSAGE each time it runs, one `denied` row per refusal with the refused statement's own text;
# the session's CHECK statement afterwards shows WANT.
fence() {
    local rule=$1 s=$2 message=$3 check=$4 want=$5 ps=$6 path app out n
    shift 6
    say "$rule: refused while escalated, on every path"
    for path in "$@"; do
        app="pp_${rule}_$path"
        out=$( (script "$rule" "$path" "$s" "$ps"; echo "query $check") | wire bob_oncall "$app")
        n=$(runs "$path")
        expect_count "$rule/$path: refused $n time(s)" "$out" "ERROR 42501 $message" "$n"
        no_other_errors "$rule/$path: no other error" "$out" "$n"
        expect_line "$rule/$path: the session's next statement sees $want" "$(last_row "$out")" "ROW $want"
        flush
        expect_same "$rule/$path: $n denied row(s), each with the refused statement's own text" \
            "$(events "$app" denied denied)" "$(for _ in $(seq "$n"); do refused_text "$rule" "$path" "$s" "$ps"; done)"
        cases=$((cases + 1))
    done
}
fence bg_setconfig "SELECT pg_catalog.set_config('row_security', 'off', false)" \
    "nspg_guard: changing row_security is refused while escalated through break-glass" "SHOW row_security" on \
    "SELECT pg_catalog.set_config('row_security', 'off', false) FROM generate_series(1, 3)" "${ALL_PATHS[@]}"
fence bg_set "SET row_security = off" \
    "nspg_guard: changing row_security is refused while escalated through break-glass" "SHOW row_security" on "" "${ALL_PATHS[@]}"
fence bg_altersystem "ALTER SYSTEM SET work_mem = '8MB'" \
    "nspg_guard: ALTER SYSTEM is refused while escalated through break-glass" "SHOW work_mem" 4MB "" "${TOP_PATHS[@]}"
expect_line "bg_altersystem: postgresql.auto.conf has no work_mem" \
    "$(sql "SELECT count(*) FROM pg_file_settings WHERE name = 'work_mem'")" 0
expect_line "bg_altersystem: work_mem is still the default" "$(sql "SHOW work_mem")" 4MB

# caps RULE STMT [PORTAL_STMT] — as alice_admin: STMT lifts statement_timeout on every path; the
# session's next statement sees the cap.
caps() {
    local rule=$1 s=$2 ps=${3:-} path app out
    say "$rule: an admin session's statement_timeout is capped at the next statement, on every path"
    for path in "${ALL_PATHS[@]}"; do
        app="pp_${rule}_$path"
        out=$( (script "$rule" "$path" "$s" "$ps"; echo "query SHOW statement_timeout") | wire alice_admin "$app")
        no_other_errors "$rule/$path: no error" "$out" 0
        expect_line "$rule/$path: the next statement sees statement_timeout = 5min" "$(last_row "$out")" "ROW 5min"
        cases=$((cases + 1))
    done
}
caps caps_setconfig "SELECT pg_catalog.set_config('statement_timeout', '0', false)" \
    "SELECT pg_catalog.set_config('statement_timeout', '0', false) FROM generate_series(1, 3)"
caps caps_set "SET statement_timeout = 0"

say "caps: the other ways to lift a timeout"
# cap_case NAME SETTING WANT [CONNINFO] < script — the session's last row is WANT.
cap_case() {
    local name=$1 want=$2 out
    out=$(wire alice_admin "pp_caps_$name" "${3:-}")
    no_other_errors "caps/$name: no error" "$out" 0
    expect_line "caps/$name: $want" "$(last_row "$out")" "ROW $want"
    cases=$((cases + 1))
}
for setting in statement_timeout:5min idle_in_transaction_session_timeout:1min idle_session_timeout:15min; do
    name=${setting%%:*} cap=${setting#*:}
    cap_case "do_assign_$name" "$cap" <<S
query DO \$\$DECLARE x text; BEGIN x := pg_catalog.set_config('$name', '0', false); END\$\$
query SHOW $name
S
    sql "ALTER ROLE alice_admin SET $name = 0" >/dev/null
    cap_case "role_setting_$name" "$cap" <<<"query SHOW $name"
    sql "ALTER ROLE alice_admin RESET $name" >/dev/null
    cap_case "conn_option_$name" "$cap" "options='-c $name=0'" <<<"query SHOW $name"
done
cap_case do_assign_same_string 5min <<'S'
query DO $$DECLARE x text; BEGIN x := pg_catalog.set_config('statement_timeout', '0', false); END$$; SELECT pg_catalog.current_setting('statement_timeout')
S
out=$(wire alice_admin pp_caps_do_assign_inside <<'S'
query DO $$DECLARE x text; BEGIN x := pg_catalog.set_config('statement_timeout', '0', false); RAISE NOTICE 'inside %', (SELECT pg_catalog.current_setting('statement_timeout')); END$$
S
)
expect_line "caps/do_assign_inside: the DO block's next statement sees 5min" "$(grep '^NOTICE 00000 inside' <<<"$out")" "NOTICE 00000 inside 5min"
cases=$((cases + 1))
cap_case call_assign 5min <<'S'
query CALL orders.caps_assign_proc()
query SHOW statement_timeout
S
cap_case call_assign_extended 5min <<'S'
parse - CALL orders.caps_assign_proc()
bind - -
execute - 0
sync
query SHOW statement_timeout
S
cap_case function_set_clause 5min <<<"query SELECT orders.timeout_in_set_clause()"
cap_case discard_all 5min <<'S'
query DISCARD ALL
query SHOW statement_timeout
S
cap_case reset 5min <<'S'
query RESET statement_timeout
query SHOW statement_timeout
S
cap_case reset_all 5min <<'S'
query RESET ALL
query SHOW statement_timeout
S
cap_case set_local 5min <<'S'
query BEGIN
query SET LOCAL statement_timeout = 0
query SHOW statement_timeout
query COMMIT
S
cap_case set_config_local 5min <<'S'
query BEGIN; SELECT pg_catalog.set_config('statement_timeout', '0', true); SELECT pg_catalog.current_setting('statement_timeout'); COMMIT
S

say "mig_text: committed DDL of a migration role records its own statement text"
for path in "${ALL_PATHS[@]}"; do
    app="pp_mig_$path"
    s="CREATE TABLE orders.mig_$path (id int)"
    out=$(script mig "$path" "CREATE TABLE orders.mig_@ (id int)" | wire ns_migrate_orders "$app")
    case $path in
        named) want=$s; no_other_errors "mig_text/$path: the second execution fails (the table exists)" "$out" 1
               expect "mig_text/$path: 42P07" "$out" "ERROR 42P07 relation \"mig_named\" already exists" ;;
        simple | multi | unnamed | portal | pipeline) want=$s; no_other_errors "mig_text/$path: no error" "$out" 0 ;;
        *) want="$s
COMMENT ON TABLE orders.mig_$path IS 'made on path $path'"; no_other_errors "mig_text/$path: no error" "$out" 0 ;;
    esac
    expect_line "mig_text/$path: the table exists" "$(sql "SELECT to_regclass('orders.mig_$path') IS NOT NULL")" t
    expect_same "mig_text/$path: one schema row per statement, with its own text" "$(events "$app" schema committed)" "$want"
    cases=$((cases + 1))
done

say "mig_text: an overridden unbounded DELETE records the DELETE's own text"
# mig_override NAME < script — one destructive row with text DELETE FROM orders.scratch, 3 rows.
mig_override() {
    local app="pp_migdel_$1" out
    reset_rows
    out=$(wire ns_migrate_orders "$app")
    no_other_errors "mig_override/$1: no error" "$out" 0
    expect_line "mig_override/$1: scratch is empty" "$(sql "SELECT count(*) FROM orders.scratch")" 0
    expect_same "mig_override/$1: one destructive row, with the DELETE's own text" \
        "$(sql "SELECT statement || ' | ' || rows FROM nspg_guard.audit_log WHERE application_name = '$app' AND class = 'destructive' ORDER BY id")" \
        "DELETE FROM orders.scratch | 3"
    cases=$((cases + 1))
}
mig_override simple <<'S'
query BEGIN
query SELECT nspg_guard.allow_destructive('clear the scratch rows of the protocol suite')
query DELETE FROM orders.scratch
query COMMIT
S
mig_override multi <<'S'
query BEGIN; SELECT nspg_guard.allow_destructive('clear the scratch rows of the protocol suite'); DELETE FROM orders.scratch; COMMIT
S
mig_override pipeline <<'S'
parse - SELECT nspg_guard.allow_destructive('clear the scratch rows of the protocol suite')
bind - -
execute - 0
parse - DELETE FROM orders.scratch
bind - -
execute - 0
sync
S
mig_override do <<'S'
query DO $$BEGIN PERFORM nspg_guard.allow_destructive('clear the scratch rows of the protocol suite'); DELETE FROM orders.scratch; END$$
S

say "scope: allow_destructive() in a migration-owned SECURITY DEFINER function covers only that function"
# scope_case PATH < script — the function's own DELETE ran (its NOTICE), the app's DELETE in the
# same transaction is refused; nothing is left changed.
scope_case() {
    local path=$1 app="pp_scope_$1" out
    reset_rows
    out=$(wire ns_app_rw_orders "$app")
    expect_count "scope/$path: the function's own DELETE ran" "$out" "NOTICE 00000 purged 3 scratch rows" 1
    expect_count "scope/$path: the app role's DELETE is refused" "$out" \
        'ERROR 42501 nspg_guard: DELETE on "orders.victims" has no WHERE clause that restricts rows' 1
    no_other_errors "scope/$path: no other error" "$out" 1
    reject "scope/$path: the app role's DELETE did not complete" "$out" "COMPLETE DELETE"
    expect_line "scope/$path: orders.victims keeps its 3 rows" "$(sql "SELECT count(*) FROM orders.victims")" 3
    cases=$((cases + 1))
}
scope_case simple <<'S'
query BEGIN
query SELECT orders.purge_scratch()
query DELETE FROM orders.victims
query ROLLBACK
S
scope_case multi <<'S'
query BEGIN; SELECT orders.purge_scratch(); DELETE FROM orders.victims; COMMIT
S
scope_case unnamed <<'S'
query BEGIN
parse - SELECT orders.purge_scratch()
bind - -
execute - 0
sync
parse - DELETE FROM orders.victims
bind - -
execute - 0
sync
query COMMIT
S
scope_case named <<'S'
parse del DELETE FROM orders.victims
parse fn SELECT orders.purge_scratch()
sync
query BEGIN
bind - fn
execute - 0
sync
bind - del
execute - 0
sync
query COMMIT
S
scope_case portal <<'S'
query BEGIN
query SELECT orders.purge_scratch()
parse - DELETE FROM orders.victims RETURNING id
bind p -
execute p 1
execute p 1
execute p 1
sync
query COMMIT
S
scope_case pipeline <<'S'
parse - SELECT orders.purge_scratch()
bind - -
execute - 0
parse - DELETE FROM orders.victims
bind - -
execute - 0
sync
S
scope_case sqlfn <<<"query SELECT orders.scope_sql()"
scope_case plpgsql <<<"query SELECT orders.scope_plpgsql()"
scope_case do <<<"query $(client_statement scope do "SELECT orders.purge_scratch()")"
scope_case call <<<"query CALL orders.scope_proc()"
scope_case trigger <<<"query INSERT INTO orders.scope_trig VALUES (1)"
scope_case prepare <<'S'
query BEGIN
query PREPARE del AS DELETE FROM orders.victims
query SELECT orders.purge_scratch()
query EXECUTE del
query COMMIT
S

say "the server did not crash"
reject "no backend terminated by a signal" "$(cat "$DIR/server.log")" "terminated by signal"
echo
echo "protocol_paths: $cases cases (rule × path), ${#ALL_PATHS[@]} paths"
finish
