#!/usr/bin/env bash
# nspg_guard's own code can't be turned against it (issue 10): nothing it runs resolves a name
# through the caller's search_path, temp schema or objects.
#   plant      an app role (ns_app_rw_evil), a migration role (ns_migrate_evil) and an admin role
#              (evil_admin, also a break-glass approver) each own a schema (evil_app, evil_mig,
#              evil_adm) of lookalikes for every name the extension's SQL uses, read from the
#              installed extension script and src/*.rs (hostile_environment.sql): domains named
#              like every type (timestamptz, text, inet, jsonb, int8, int4, interval, name, oid,
#              bytea, bool, regclass, …, and bigint/integer/boolean), functions with the signatures
#              of every pg_catalog function it calls (now, sha256, format, jsonb_build_object,
#              convert_to, encode, make_interval, to_regclass, pg_backend_pid, current_setting,
#              …, and concrete signatures for the variadic "any" ones), aggregates (count, max,
#              min, string_agg, …), operators (=, <>, <, <=, >, >=, ||, +, -, … and more specific
#              ones: varchar, reg* types, text || scalar), views named like its tables and the
#              catalogs it reads (audit_log, audit_chain, breakglass_requests, role_lockdowns,
#              lint_rules, pg_roles, pg_authid, pg_stat_activity, …) with INSTEAD OF triggers; the
#              app role plants the same in schema public (where the writer's default path looks);
#              each session plants temporary views (and, where the DDL guard lets the role,
#              temporary domains) named the same. Each lookalike records that it ran (RAISE
#              WARNING 'nspg_planted_ran …', which reaches the server log even when the transaction
#              aborts) and tries ALTER ROLE <planter> SUPERUSER, GRANT pg_write_server_files, an
#              UPDATE of pg_authid and of the audit trail. A positive control shows the traps fire
#              when the planter's own statements name them.
#   exercise   under search_path = <schema>, pg_catalog; = <schema> (pg_catalog implicitly first);
#              and = pg_temp, <schema>, pg_catalog — and once switched from a clean path within a
#              session — as each role and as a superuser (the DBA running lint() with a poisoned
#              path): the audited paths (refused DDL, DELETE, COPY, LOAD, TRUNCATE, role change;
#              committed DDL, GRANT/REVOKE, overridden DELETE, TRUNCATE, DROP by the migration
#              role; role changes with a password, ALTER SYSTEM, audit_relation, access rows,
#              lockdown/unlock, timeout caps by the admin; break-glass request, approve, escalated
#              statements over simple and extended protocol with refused settings, end, review,
#              deny) and a call of every function in schema nspg_guard, generated from pg_catalog
#              (valid-ish arguments, NULLs, bad values).
#   assert     the server log has no nspg_planted_ran after the positive control; no role
#              attribute, membership or per-role setting changed (pg_authid, pg_auth_members,
#              pg_db_role_setting before and after); no audit row was tampered with; the audit
#              chain verifies; no backend was terminated by a signal.
# Own cluster next to the main one: $TEST_PORT + 10 (robustness.sh has + 9).
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/assert.bash"
: "${TEST_DIR:?run me from scripts/test.sh}" "${TEST_PORT:?run me from scripts/test.sh}"

DIR=$(dirname "$TEST_DIR")/hostile_environment
PORT=$((TEST_PORT + 10))
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WIRE=$REPO_ROOT/tests/pgwire/target/release/pgwire
WORK=$(mktemp -d)
chmod 755 "$WORK"
trap 'stop_cluster "$DIR"; rm -rf "$WORK"' EXIT
export PGWIRE_TIMEOUT=60

APP=ns_app_rw_evil
MIG=ns_migrate_evil
ADM=evil_admin
declare -A ROLE=([app]=$APP [mig]=$MIG [adm]=$ADM [dba]=postgres)
declare -A SCHEMA=([app]=evil_app [mig]=evil_mig [adm]=evil_adm [dba]=evil_app)
fcalls=0    # calls of nspg_guard's functions
audited=0   # statements on audited paths (refusals, DDL, role changes, break-glass, levers, …)
sessions=0

# sql SQL [USER] — psql as USER (default postgres) with a clean search_path; never fails.
sql() {
    PGOPTIONS="-c search_path=pg_catalog" "$PG_BIN/psql" -X -h "$DIR" -p "$PORT" -U "${2:-postgres}" -d postgres -At -c "$1" 2>&1 || true
}
# session NAME USER SEARCH_PATH < statements — one psql session (application_name NAME) whose
# search_path is SEARCH_PATH from its first statement on (a connection option), each statement
# bounded by statement_timeout = 10s; ON_ERROR_STOP off: each statement runs whatever the
# previous one did. Output in $WORK/NAME.out.
session() {
    local name=$1 user=$2 path=$3
    PGAPPNAME=$name PGOPTIONS="-c search_path=$path -c statement_timeout=10s" "$PG_BIN/psql" -X -h "$DIR" -p "$PORT" -U "$user" -d postgres \
        -At -v VERBOSITY=terse >"$WORK/$name.out" 2>&1 || true
}
# statements FILE… — how many statements (lines ending in ";") the files hold.
statements() { cat "$@" | grep -c ';$' || true; }

say "build the protocol client (tests/pgwire)"
CARGO_TARGET_DIR="$REPO_ROOT/tests/pgwire/target" cargo build --release --quiet --manifest-path "$REPO_ROOT/tests/pgwire/Cargo.toml"

say "cluster with the library preloaded (port $PORT)"
start_cluster "$DIR" "$PORT" nspg_guard
sql "CREATE EXTENSION nspg_guard" >/dev/null
out=$(sql "
CREATE ROLE ns_owner_orders NOLOGIN;
CREATE ROLE ns_admin NOLOGIN; CREATE ROLE ns_breakglass_admin NOLOGIN; CREATE ROLE ns_breakglass_approver NOLOGIN;
CREATE ROLE $APP LOGIN;
CREATE ROLE $MIG LOGIN IN ROLE ns_owner_orders;
CREATE ROLE $ADM LOGIN CREATEROLE IN ROLE ns_admin, ns_breakglass_approver;
CREATE ROLE hostile_target LOGIN;
GRANT pg_write_server_files TO $APP;
GRANT ALTER SYSTEM ON PARAMETER work_mem TO ns_admin;
CREATE SCHEMA orders AUTHORIZATION ns_owner_orders;
GRANT USAGE ON SCHEMA orders TO PUBLIC;
GRANT CREATE ON SCHEMA orders TO $MIG;
CREATE TABLE orders.victims (id int PRIMARY KEY, note text);
INSERT INTO orders.victims VALUES (1, 'a'), (2, 'b'), (3, 'c');
GRANT SELECT, INSERT, UPDATE, DELETE ON orders.victims TO $APP, $MIG, $ADM;
CREATE SCHEMA evil_app AUTHORIZATION $APP;
CREATE SCHEMA evil_mig AUTHORIZATION $MIG;
CREATE SCHEMA evil_adm AUTHORIZATION $ADM;
-- sites that kept PostgreSQL < 15's public schema: anyone may create objects there
GRANT CREATE ON SCHEMA public TO $APP, $MIG, $ADM;")
reject "setup: roles and schemas" "$out" "ERROR"
# each WARNING (a trap that ran) is logged with the client statement it ran in
sql "ALTER SYSTEM SET log_min_error_statement = 'warning'" >/dev/null
sql "SELECT pg_reload_conf()" >/dev/null

snapshot() {
    sql "SELECT format('role %s super=%s inherit=%s createrole=%s createdb=%s login=%s replication=%s bypassrls=%s connlimit=%s until=%s',
                       rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolreplication, rolbypassrls,
                       rolconnlimit, rolvaliduntil) FROM pg_authid ORDER BY rolname;
         SELECT format('member %s of %s admin=%s', member::regrole, roleid::regrole, admin_option)
           FROM pg_auth_members ORDER BY 1;
         SELECT format('setting db=%s role=%s %s', setdatabase, setrole::regrole, setconfig) FROM pg_db_role_setting ORDER BY 1;"
}
# Before anything is planted: the audit writer may meet the lookalikes in public at once.
before=$(snapshot)
log_offset=$(stat -c %s "$DIR/server.log")

say "what the extension's SQL names (installed script and src/*.rs)"
# the install script of the default version (not an upgrade script, nspg_guard--A--B.sql)
ext_dir=$(pg_config_sharedir)/extension
script_file=$ext_dir/nspg_guard--$(sed -nE "s/^default_version = '(.*)'/\1/p" "$ext_dir/nspg_guard.control").sql
corpus() { cat "$script_file" "$REPO_ROOT"/src/*.rs; }
{
    corpus | grep -oE '[A-Za-z_][A-Za-z0-9_]*[[:space:]]*\(' | sed -E 's/[[:space:]]*\($//' | tr 'A-Z' 'a-z' | sort -u | sed 's/^/fn\t/'
    # the names issue 10 lists, whether or not the script spells them today
    printf 'fn\t%s\n' now sha256 format jsonb_build_object jsonb_build_array convert_to encode make_interval max min count \
        to_regclass pg_backend_pid current_setting nextval string_agg array_agg lower upper coalesce
    corpus | grep -oE '[A-Za-z_][A-Za-z0-9_]*' | tr 'A-Z' 'a-z' | sort -u | sed 's/^/word\t/'
    corpus | grep -oE '[-+*/<>=~!@#%^&|?]+' | sort -u | sed 's/^/op\t/'
    printf 'op\t%s\n' '=' '<>' '<' '<=' '>' '>=' '||' '+' '-'
} >"$WORK/names.tsv"
echo "$(wc -l <"$WORK/names.tsv") names from $(basename "$script_file") and src/*.rs"

say "plant the lookalikes"
out=$(PGOPTIONS="-c search_path=pg_catalog" "$PG_BIN/psql" -X -h "$DIR" -p "$PORT" -U postgres -d postgres -At -v ON_ERROR_STOP=1 \
    -f "$HERE/hostile_environment.sql" -c "\\copy hostile.names FROM '$WORK/names.tsv'" \
    -c "GRANT USAGE ON SCHEMA hostile TO PUBLIC; GRANT SELECT ON ALL TABLES IN SCHEMA hostile TO PUBLIC" 2>&1) \
    || fail "the harness SQL failed: $out"
plant() { # plant SCHEMA OWNER
    PGOPTIONS="-c search_path=pg_catalog" "$PG_BIN/psql" -X -h "$DIR" -p "$PORT" -U postgres -d postgres -At -F ' ' \
        -c "SET nspg_guard.ddl_guard = off" -c "SET ROLE $2" -c "SELECT object_kind, n_planted + n_skipped FROM hostile.plant('$1', '$2')" 2>&1 || true
}
for spec in evil_app:$APP evil_mig:$MIG evil_adm:$ADM public:$APP; do
    s=${spec%%:*} owner=${spec#*:}
    out=$(plant "$s" "$owner")
    echo "$s ($owner): $(tr '\n' ' ' <<<"$out")"
    for kind in function aggregate operator domain relation; do
        n=$(awk -v k="$kind" '$1 == k { print $2 }' <<<"$out")
        [ "${n:-0}" -gt 5 ] && pass "$s: $n ${kind}s planted" || fail "$s: planted ${kind}s: ${n:-none} ($out)"
    done
done
[ "$failures" -eq 0 ] || { echo "planting failed: nothing to exercise"; finish; }
victims_oid=$(sql "SELECT 'orders.victims'::regclass::oid")
sql "SELECT * FROM hostile.calls($victims_oid)" >"$WORK/calls.sql"
ncalls=$(statements "$WORK/calls.sql")
nfunctions=$(sql "SELECT count(*) FROM pg_proc WHERE pronamespace = 'nspg_guard'::regnamespace")
[ "$ncalls" -ge "$nfunctions" ] && pass "$ncalls calls generated for the $nfunctions functions of schema nspg_guard" \
    || fail "only $ncalls calls for $nfunctions functions"
for s in evil_app evil_mig evil_adm; do
    sql "SELECT * FROM hostile.temp_sql('$s', false)" >"$WORK/temp_views_$s.sql"
    sql "SELECT * FROM hostile.temp_sql('$s', true)" >"$WORK/temp_all_$s.sql"
done
chmod -R a+rX "$WORK"

say "positive control: the traps fire when their planter's own statements name them"
# one trap per statement: run as its planter, a trap stops the statement it is in
control="SELECT pg_catalog.pg_backend_pid();
SELECT now();
SELECT '2030-01-01'::timestamptz;
SELECT 1 = 1;
SELECT count(*) FROM pg_catalog.pg_roles;
SELECT rolname FROM pg_roles;
SELECT format('%s-%s', 'a'::pg_catalog.text, 'b'::pg_catalog.text);"
for r in app mig adm; do
    s=${SCHEMA[$r]} u=${ROLE[$r]}
    session "control_$r" "$u" "$s,pg_catalog" <<<"$control"
done
log=$(grep -o 'nspg_planted_ran .*' "$DIR/server.log" || true)
control_pids=$(for r in app mig adm; do head -n 1 "$WORK/control_$r.out"; done)
for r in app mig adm; do
    s=${SCHEMA[$r]} u=${ROLE[$r]}
    for what in "function now()" "domain timestamptz" "operator =(integer, integer)" "aggregate count" "relation pg_roles" \
                "function format(pg_catalog.text, pg_catalog.text, pg_catalog.text)"; do
        expect "control: $s's $what fires for $u" "$log" "nspg_planted_ran $what [planted by $u in $s; current_user $u"
    done
done


# end_open_requests USER — ends USER's requests still open (a flow broken halfway leaves one).
end_open_requests() {
    sql "SELECT nspg_guard.breakglass_end(id) FROM nspg_guard.breakglass_requests
          WHERE requester = '$1' AND state IN ('requested', 'active')" >/dev/null
}

# The audited paths of each role; V is the variant's tag (fresh object names per variant).
audited_sql() { # audited_sql ROLE V
    local v=$2
    case $1 in
        app) cat <<SQL
CREATE TABLE orders.hostile_app_$v (id int);
DELETE FROM orders.victims;
COPY orders.victims TO '$DIR/hostile_copy.csv';
LOAD 'nspg_guard';
TRUNCATE orders.victims;
ALTER ROLE $APP CREATEDB;
GRANT ns_admin TO $APP;
SELECT nspg_guard.allow_destructive('hostile suite wants to delete everything');
CREATE TEMP TABLE hostile_tmp_$v (id int);
SET nspg_guard.ddl_guard = off;
SQL
            ;;
        mig) cat <<SQL
CREATE TABLE orders.hostile_mig_$v (id int, note pg_catalog.text);
ALTER TABLE orders.hostile_mig_$v ADD COLUMN extra int;
COMMENT ON TABLE orders.hostile_mig_$v IS 'hostile suite';
CREATE INDEX ON orders.hostile_mig_$v (id);
GRANT SELECT ON orders.hostile_mig_$v TO $APP;
REVOKE SELECT ON orders.hostile_mig_$v FROM $APP;
INSERT INTO orders.hostile_mig_$v VALUES (1, 'a'), (2, 'b');
BEGIN;
SELECT nspg_guard.allow_destructive('hostile suite clears its own table');
DELETE FROM orders.hostile_mig_$v;
COMMIT;
TRUNCATE orders.hostile_mig_$v;
DROP TABLE orders.hostile_mig_$v;
CREATE ROLE hostile_nope_$v;
DELETE FROM orders.victims;
ALTER SYSTEM SET work_mem = '5MB';
SQL
            ;;
        adm) cat <<SQL
CREATE ROLE hostile_victim_$v LOGIN PASSWORD 'hostile-secret-1';
ALTER ROLE hostile_victim_$v VALID UNTIL '2099-01-01 00:00:00+00';
GRANT $APP TO hostile_victim_$v;
REVOKE $APP FROM hostile_victim_$v;
DROP ROLE hostile_victim_$v;
ALTER SYSTEM SET work_mem = '5MB';
ALTER SYSTEM RESET work_mem;
SELECT nspg_guard.audit_relation('orders.victims', 'all');
SELECT note FROM orders.victims WHERE id OPERATOR(pg_catalog.=) 1;
UPDATE orders.victims SET note = note WHERE id OPERATOR(pg_catalog.=) 2;
SELECT nspg_guard.audit_relation('orders.victims', 'none');
SELECT nspg_guard.lockdown_role('hostile_target', 'hostile suite lockdown check');
SELECT nspg_guard.unlock_role('hostile_target', 'hostile suite unlock check');
SET statement_timeout = 0;
DO \$\$DECLARE x pg_catalog.text; BEGIN x := pg_catalog.set_config('statement_timeout', '0', false); END\$\$;
SET statement_timeout = '10s';
SELECT nspg_guard.audit_flush(2000);
SQL
            ;;
        dba) cat <<SQL
CREATE TABLE orders.hostile_dba_$v (id int);
DROP TABLE orders.hostile_dba_$v;
ALTER SYSTEM SET work_mem = '5MB';
ALTER SYSTEM RESET work_mem;
SELECT nspg_guard.audit_flush(2000);
SQL
            ;;
    esac
}
# temp_sql ROLE — the temporary lookalikes a session of ROLE plants first (none for the DBA:
# an attacker has no way into a superuser's temp schema).
temp_sql() {
    case $1 in
        app) cat "$WORK/temp_views_${SCHEMA[$1]}.sql" ;;
        mig | adm) cat "$WORK/temp_all_${SCHEMA[$1]}.sql" ;;
    esac
}

# breakglass_flow V PATH… — the whole break-glass life cycle with every session on the path.
breakglass_flow() {
    local v=$1 app_path=$2 adm_path=$3 mig_path=$4 id id2 out
    session "bg_request_$v" "$APP" "$app_path" < <(temp_sql app;
        echo "SELECT nspg_guard.breakglass_request('hostile suite break glass check $v', '10 minutes', 'INC-H');")
    id=$(grep -E '^[0-9]+$' "$WORK/bg_request_$v.out" | tail -n 1)
    session "bg_approve_$v" "$ADM" "$adm_path" < <(temp_sql adm; echo "SELECT nspg_guard.breakglass_approve(${id:-0});")
    { temp_sql app; cat <<SQL
SELECT 'escalated';
SET row_security = off;
SELECT pg_catalog.set_config('row_security', 'off', false);
SET ROLE ns_breakglass_admin;
SELECT note FROM orders.victims WHERE id OPERATOR(pg_catalog.=) 3;
RESET ROLE;
ALTER SYSTEM SET work_mem = '6MB';
SQL
    } >"$WORK/bg_escalated_$v.sql"
    session "bg_escalated_$v" "$APP" "$app_path" <"$WORK/bg_escalated_$v.sql"
    out=$("$WIRE" "host=$DIR port=$PORT user=$APP dbname=postgres application_name=bg_wire_$v options='-c search_path=$app_path'" <<'S' 2>&1 || true
parse - SELECT 'escalated over the extended protocol'
bind - -
execute - 0
parse s1 SELECT note FROM orders.victims WHERE id OPERATOR(pg_catalog.=) $1
bind p s1 1
execute p 1
bind - s1 2
execute - 0
sync
parse - SELECT pg_catalog.set_config('row_security', 'off', false)
bind - -
execute - 0
sync
S
)
    echo "$out" >"$WORK/bg_wire_$v.out"
    session "bg_end_$v" "$ADM" "$adm_path" < <(temp_sql adm; cat <<SQL
SELECT nspg_guard.breakglass_end(${id:-0});
SELECT nspg_guard.breakglass_review(${id:-0}, 'reviewed by the hostile suite after the check');
SELECT state FROM nspg_guard.breakglass_usages;
SQL
)
    session "bg_request_mig_$v" "$MIG" "$mig_path" < <(temp_sql mig;
        echo "SELECT nspg_guard.breakglass_request('hostile suite migration role asks $v', '5 minutes');")
    id2=$(grep -E '^[0-9]+$' "$WORK/bg_request_mig_$v.out" | tail -n 1)
    session "bg_deny_$v" "$ADM" "$adm_path" < <(temp_sql adm;
        echo "SELECT nspg_guard.breakglass_deny(${id2:-0}, 'use the migration workflow instead');")
    end_open_requests "$APP"
    end_open_requests "$MIG"
    audited=$((audited + 18))
    sessions=$((sessions + 7))
}

variant=0
for form in 'S,pg_catalog' 'S' 'pg_temp,S,pg_catalog'; do
    variant=$((variant + 1))
    say "search_path = ${form//S/<attacker schema>}: every audited path and every function, as each role"
    for r in app mig adm dba; do
        path=${form//S/${SCHEMA[$r]}}
        temp_sql "$r" >"$WORK/in_$r$variant.sql"
        audited_sql "$r" "v$variant" >>"$WORK/in_$r$variant.sql"
        cat "$WORK/calls.sql" >>"$WORK/in_$r$variant.sql"
        session "hostile_${r}_v$variant" "${ROLE[$r]}" "$path" <"$WORK/in_$r$variant.sql"
        fcalls=$((fcalls + ncalls))
        audited=$((audited + $(audited_sql "$r" x | grep -c ';$')))
        sessions=$((sessions + 1))
        end_open_requests "${ROLE[$r]}"
        echo "  ${ROLE[$r]} (search_path = $path): $(statements "$WORK/in_$r$variant.sql") statements"
    done
    breakglass_flow "v$variant" "${form//S/evil_app}" "${form//S/evil_adm}" "${form//S/evil_mig}"
done

say "a plan prepared under a clean search_path, then the session switches to a poisoned one"
for r in app mig adm; do
    session "switch_$r" "${ROLE[$r]}" '"$user",public' < <(audited_sql "$r" s1; echo "SET search_path = ${SCHEMA[$r]}, pg_catalog;";
        temp_sql "$r"; audited_sql "$r" s2)
    audited=$((audited + 2 * $(audited_sql "$r" x | grep -c ';$')))
    sessions=$((sessions + 1))
done

say "let the audit writer catch up (it runs with the default search_path: public has lookalikes)"
sql "SELECT nspg_guard.audit_flush(20000)" >/dev/null
sleep 1.5 # a sealing round of the writer
sql "SELECT nspg_guard.audit_flush(20000)" >/dev/null
expect_line "the audit writer is still running" \
    "$(sql "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'nspg_guard audit writer'")" 1
expect_line "the exercise reached the audit trail (denied, schema, role, breakglass, admin rows)" \
    "$(sql "SELECT count(DISTINCT class) FILTER (WHERE class IN ('denied', 'schema', 'role', 'breakglass', 'admin')) FROM nspg_guard.audit_log")" 5
# the paths ran to their end (5 = 3 search paths + the 2 halves of the switched session)
expect_line "the migration role's CREATE TABLE committed with its audit row, on each path" \
    "$(sql "SELECT count(*) FROM nspg_guard.audit_log WHERE class = 'schema' AND outcome = 'committed'
             AND command_tag = 'CREATE TABLE' AND object_identity LIKE 'orders.hostile\_mig\_%'")" 5
expect_line "the admin's CREATE ROLE … PASSWORD committed with its audit row, on each path" \
    "$(sql "SELECT count(*) FROM nspg_guard.audit_log WHERE class = 'role' AND outcome = 'committed'
             AND command_tag = 'CREATE ROLE' AND object_identity LIKE 'hostile\_victim\_%' AND details->>'password_set' = 'true'")" 5
expect_line "the admin's lockdowns happened and were lifted, on each path" \
    "$(sql "SELECT count(*) || ' ' || count(unlocked_at) FROM nspg_guard.role_lockdowns WHERE reason = 'hostile suite lockdown check'")" "5 5"
expect_line "each break-glass flow: the app's request approved then ended and reviewed, the migration role's denied" \
    "$(sql "SELECT string_agg(state || '/' || review_status, ',' ORDER BY id) FROM nspg_guard.breakglass_usages
             WHERE reason LIKE 'hostile suite break glass check%' OR reason LIKE 'hostile suite migration role asks%'")" \
    "ended/reviewed,denied/not needed,ended/reviewed,denied/not needed,ended/reviewed,denied/not needed"
for v in v1 v2 v3; do
    n=$(statements "$WORK/bg_escalated_$v.sql")
    expect_line "escalated session on path $v: one statement event per statement ($n)" \
        "$(sql "SELECT count(*) FROM nspg_guard.audit_log WHERE application_name = 'bg_escalated_$v' AND class = 'breakglass' AND outcome = 'statement'")" "$n"
    expect_line "escalated extended-protocol session on path $v: 4 statement events" \
        "$(sql "SELECT count(*) FROM nspg_guard.audit_log WHERE application_name = 'bg_wire_$v' AND class = 'breakglass' AND outcome = 'statement'")" 4
done

say "assertions"
end_open_requests "$APP"
end_open_requests "$MIG"
sql "SELECT nspg_guard.unlock_role('hostile_target', 'hostile suite cleanup') FROM nspg_guard.role_lockdowns
      WHERE role_name = 'hostile_target' AND unlocked_at IS NULL" >/dev/null
after=$(snapshot)
# the server log since the roles were set up, without the positive control's sessions
tail -c +"$((log_offset + 1))" "$DIR/server.log" >"$WORK/log"
for pid in $control_pids; do grep -v " \[$pid\] " "$WORK/log" >"$WORK/log.tmp" || true; mv "$WORK/log.tmp" "$WORK/log"; done
planted=$(grep -o 'nspg_planted_ran .*' "$WORK/log" | sort | uniq -c | sort -rn || true)
if [ -z "$planted" ]; then
    pass "no planted object ran (server log after the positive control)"
else
    fail "planted objects ran ($(wc -l <<<"$planted") distinct; count, object, who planted it, who ran it):"
    show "$(head -n 40 <<<"$planted")"
fi
escalated=$(awk '{ if (match($0, /planted by [^ ]+ in/) && match($0, /current_user [^,]+,/)) print }' <<<"$planted" |
    awk '{ p = $0; sub(/.*planted by /, "", p); sub(/ in .*/, "", p); c = $0; sub(/.*current_user /, "", c); sub(/,.*/, "", c);
           if (p != c) print }')
if [ -z "$escalated" ]; then
    pass "no planted object ran with rights other than its planter's"
else
    fail "planted objects ran with rights other than their planter's ($(wc -l <<<"$escalated") distinct):"
    show "$(head -n 40 <<<"$escalated")"
    echo "    where (the CONTEXT of the first 15 of them):"
    show "$(awk '
        function done() { if (collecting && !(ctx in seen) && n < 15) { seen[ctx] = 1; print substr(ctx, 1, 300); n++ } collecting = 0 }
        /nspg_planted_ran/ { done(); c = $0; sub(/.*current_user /, "", c); sub(/,.*/, "", c)
                             p = $0; sub(/.*planted by /, "", p); sub(/ in .*/, "", p); want = (p != c); next }
        /CONTEXT:/ && want { done(); ctx = $0; sub(/.*CONTEXT: +/, "", ctx); collecting = 1; want = 0; next }
        /^\t/ && collecting { line = $0; gsub(/\t/, "", line); ctx = ctx " | " line; next }
        { done() }
        END { done() }' "$WORK/log")"
fi
if [ "$before" = "$after" ]; then
    pass "no role attribute, membership or per-role setting changed ($(wc -l <<<"$before") entries)"
else
    fail "roles changed (< before, > after):"
    show "$(diff <(echo "$before") <(echo "$after") | grep '^[<>]')"
fi
expect_line "no audit row was tampered with" "$(sql "SELECT count(*) FROM nspg_guard.audit_log WHERE reason = 'nspg_planted_tampered'")" 0
expect_line "the audit chain verifies" "$(sql "SELECT ok FROM nspg_guard.audit_verify()")" t
reject "no backend terminated by a signal" "$(cat "$DIR/server.log")" "terminated by signal"
echo
echo "hostile_environment: $fcalls calls of nspg_guard's functions ($ncalls per session: $nfunctions functions, valid-ish/NULL/bad" \
    "arguments) and $audited statements on audited paths, in $sessions poisoned sessions (4 roles × 3 search paths, break-glass" \
    "flows, switched paths)"
finish
