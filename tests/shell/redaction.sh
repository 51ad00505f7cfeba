#!/usr/bin/env bash
# Secrets reach no audit row and no server log line (issue 18, "redaction by PostgreSQL's own
# rules", "no server log line carries a secret"). A known marker is written as a password in
# every literal form PostgreSQL accepts — plain, doubled quotes, E'' with escapes, U&'' with
# and without UESCAPE, continued after a newline, dollar quotes (tags with non-ASCII bytes),
# backslashes under standard_conforming_strings = off — through role passwords, user mapping and
# server options (quoted option names), subscription and dblink connection strings (libpq
# escapes, URIs with %-encoding), DO blocks and EXECUTE strings, allowed, refused (by PostgreSQL
# and by nspg_guard) and malformed, over the simple and the extended protocol, with
# log_statement = 'all', log_min_duration_statement = 0 and log_min_error_statement = debug5.
# Then the marker must appear in no audit_log row and nowhere in the server log. Forms only the
# server's parser tells apart (a password repeated in another option) are checked row by row.
# Own cluster on $TEST_PORT + 11.
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/assert.bash"
: "${TEST_DIR:?run me from scripts/test.sh}" "${TEST_PORT:?run me from scripts/test.sh}"

DIR=$(dirname "$TEST_DIR")/redaction
PORT=$((TEST_PORT + 11))
trap 'stop_cluster "$DIR"' EXIT
source "$(dirname "${BASH_SOURCE[0]}")/wire.bash"

# The part of every secret that appears as written in each form (escapes go around it).
M=Zx9Marker7Qv

say "cluster logging every statement (port $PORT)"
start_cluster "$DIR" "$PORT" nspg_guard "log_statement = 'all'
log_min_duration_statement = 0
log_min_error_statement = debug5
log_parameter_max_length = -1
log_parameter_max_length_on_error = -1
log_line_prefix = '%m [%p] %a %u@%d '"
sql "CREATE EXTENSION nspg_guard; CREATE EXTENSION dblink; CREATE EXTENSION postgres_fdw;
     CREATE ROLE red_target LOGIN; CREATE ROLE ns_app_red LOGIN;
     CREATE FOREIGN DATA WRAPPER red_fdw; CREATE SERVER red_srv FOREIGN DATA WRAPPER postgres_fdw;
     CREATE USER MAPPING FOR red_target SERVER red_srv" >/dev/null

# Each form holds $M as written; what it decodes to differs (that is the point).
FORMS=(
    "'$M'"
    "'it''s $M'"
    "E'\\x41$M\\\\\\''"
    "U&'\\0041$M'"
    "U&'!0041$M!!' UESCAPE '!'"
    "u&'#+000041$M'uescape'#'"
    "''
'$M'"
    "'a' -- a comment
  '$M'"
    "E''
'\\t$M'"
    "\$\$$M\$\$"
    "\$é\$$M\$é\$"
    "\$ŧag_1\$ x \$é\$ $M \$ŧag_1\$"
    "N'$M'"
)
# Connection strings holding $M as the password, in libpq's forms.
CONNINFOS=(
    "'host=127.0.0.1 port=1 password=$M'"
    "'host=127.0.0.1 port=1 password=''$M x'''"
    "'host=127.0.0.1 port=1 password=\\'$M\\''"
    "E'host=127.0.0.1 port=1 pass\\x77ord=$M'"
    "U&'host=127.0.0.1 port=1 pass\\0077ord=$M'"
    "'postgresql://u:$M@127.0.0.1:1/d'"
    "'postgres://u:%41$M@127.0.0.1:1/d'"
    "'postgresql://127.0.0.1:1/d?pass%77ord=$M'"
    "'postgresql://127.0.0.1:1/d?sslmode=disable&PASSWORD=$M'"
    "'host=127.0.0.1 port=1 password=$M bogus'"
)

n=0
statements=()
for f in "${FORMS[@]}"; do
    n=$((n + 1))
    statements+=(
        "ALTER ROLE red_target PASSWORD $f"
        "CREATE ROLE red_r$n LOGIN ENCRYPTED PASSWORD $f VALID UNTIL 'infinity'"
        "ALTER USER MAPPING FOR red_target SERVER red_srv OPTIONS (ADD \"password\" $f)"
        "ALTER USER MAPPING FOR red_target SERVER red_srv OPTIONS (SET password $f)"
        "ALTER USER MAPPING FOR red_target SERVER red_srv OPTIONS (DROP password)"
        "CREATE SERVER red_s$n FOREIGN DATA WRAPPER red_fdw OPTIONS (host 'h', U&\"pass\\0077ord\" $f)"
        "ALTER ROLE red_target PASSWORD $f BOGUS"
        "ALTER ROLE no_such_role PASSWORD $f"
        "DO \$do\$ BEGIN EXECUTE 'ALTER ROLE no_such_role PASSWORD ' || quote_literal(\$q\$$M\$q\$); END \$do\$"
    )
done
for c in "${CONNINFOS[@]}"; do
    n=$((n + 1))
    statements+=(
        "SELECT dblink_connect('red$n', $c)"
        "SELECT * FROM dblink($c, 'SELECT 1') AS t(x int)"
        "CREATE SUBSCRIPTION red_sub$n CONNECTION $c PUBLICATION p WITH (connect = false)"
        "ALTER SUBSCRIPTION red_sub$n CONNECTION $c"
    )
done
statements+=(
    "DO \$\$ BEGIN EXECUTE 'ALTER ROLE red_target PASSWORD ''$M'''; END \$\$"
    "DO \$\$ BEGIN EXECUTE 'ALTER ROLE no_such_role PASSWORD ''$M'''; END \$\$"
    "DO \$\$ BEGIN PERFORM dblink_connect('x', 'host=127.0.0.1 port=1 password=$M'); END \$\$"
    "PREPARE red_p AS SELECT dblink_connect('y', 'host=127.0.0.1 port=1 password=$M')"
    "SELECT dblink_connect('red_cat', 'host=127.0.0.1 port=1 password=' || '$M')"
    "EXECUTE red_p"
    "ALTER ROLE red_target PASSWORD '$M"
)

# Forms the server's parser finds for the audit rows (issue 18), whatever the token window
# reaches: a password after many options and comments, a secret option named with U&"…"
# UESCAPE, a dollar-quoted subscription connection string, a URI in a nested call, and the
# password repeated in another option (only the parse tree tells it is the secret there).
statements+=(
    "ALTER ROLE red_target WITH /* a */ LOGIN /* b */ CONNECTION LIMIT 3 VALID UNTIL 'infinity' PASSWORD '$M'"
    "CREATE USER MAPPING FOR ns_app_red SERVER red_srv OPTIONS (user 'u', U&\"pass!0077ord\" UESCAPE '!' '$M')"
    "CREATE SUBSCRIPTION red_subd CONNECTION \$c\$host=127.0.0.1 port=1 password=$M\$c\$ PUBLICATION p WITH (connect = false)"
    "CREATE VIEW red_uri AS SELECT dblink_connect(lower('postgres://u:$M@127.0.0.1:1/d'))"
    "CREATE SERVER red_rep FOREIGN DATA WRAPPER red_fdw OPTIONS (password '$M', note '$M')"
)

say "${#statements[@]} statements as a superuser (allowed, or refused by PostgreSQL)"
for s in "${statements[@]}"; do
    sql "$s" >/dev/null
done
say "standard_conforming_strings = off: a backslash escapes the quote"
sql "SET standard_conforming_strings = off; ALTER ROLE red_target PASSWORD 'x\\' $M'" >/dev/null
sql "SET standard_conforming_strings = off; SELECT dblink_connect('z', 'host=127.0.0.1 port=1 password=\\'$M\\'')" >/dev/null
PGOPTIONS="-c standard_conforming_strings=off" "$PG_BIN/psql" -X -h "$DIR" -p "$PORT" -U postgres -d postgres -At \
    -c "ALTER ROLE red_target PASSWORD 'x\\' $M'" -c "ALTER ROLE red_target PASSWORD E'\\\\' '$M'" >/dev/null 2>&1 || true

say "SQL PL/pgSQL quotes in CONTEXT lines, each level, with quotes and newlines of its own; texts that are not SQL (red team, stop 30)"
# the secret is in a function's body or built at run time, not in the statement that runs it:
# only the CONTEXT lines, a setting's new value, a JSON fragment and auto_explain's query text
# can show it
sql "CREATE TABLE red_vault (v text); INSERT INTO red_vault VALUES (reverse('$(rev <<<"$M")'))" >/dev/null
for s in \
    "CREATE FUNCTION red_expr() RETURNS text LANGUAGE plpgsql AS \$f\$ BEGIN IF dblink_connect('cx', 'host=127.0.0.1 port=1 password=$M') = (SELECT 'OK') THEN RETURN 'y'; END IF; RETURN 'n'; END \$f\$" \
    "SELECT red_expr()" \
    "CREATE FUNCTION red_assign() RETURNS text LANGUAGE plpgsql AS \$f\$ DECLARE conn text; BEGIN conn := 'host=127.0.0.1 port=1 password=$M' || (SELECT 1/0)::text; RETURN conn; END \$f\$" \
    "SELECT red_assign()" \
    "CREATE FUNCTION red_inner() RETURNS void LANGUAGE plpgsql AS \$f\$ BEGIN EXECUTE 'SELECT 1/0'; END \$f\$" \
    "DO \$\$ DECLARE pw text := (SELECT v FROM red_vault); BEGIN EXECUTE format('SELECT red_inner(), dblink_connect(%L)', 'host=127.0.0.1 port=1 pass' || 'word=' || pw); END \$\$" \
    "DO \$\$ DECLARE pw text := (SELECT v FROM red_vault); BEGIN EXECUTE format(E'ALTER ROLE \"nosuch\"\\nPASSWORD %L', pw); END \$\$" \
    "CREATE FUNCTION red_conn() RETURNS void LANGUAGE plpgsql AS \$f\$ DECLARE pw text := (SELECT v FROM red_vault); BEGIN PERFORM dblink_connect('c8', 'host=127.0.0.1 port=1 user=u password=' || pw); EXCEPTION WHEN OTHERS THEN NULL; END \$f\$" \
    "LOAD 'auto_explain'; SET auto_explain.log_min_duration = 0; SET auto_explain.log_nested_statements = on; SELECT red_conn()" \
    "ALTER SYSTEM SET primary_conninfo = 'host=10.0.0.9 user=repl password=$M'" \
    "SELECT pg_reload_conf()"; do
    sql "$s" >/dev/null
done
sleep 1
sql "ALTER SYSTEM RESET primary_conninfo; SELECT pg_reload_conf()" >/dev/null
# PL/pgSQL reads an EXECUTE string with the session's standard_conforming_strings
sql "SET standard_conforming_strings = off; DO \$\$ BEGIN EXECUTE 'ALTER ROLE red_target PASSWORD \\'x $M\\''; END \$\$" >/dev/null
expect "the CONTEXT lines were logged" "$(cat "$DIR/server.log")" 'CONTEXT:  SQL expression "dblink_connect('
expect "… a PL/pgSQL assignment" "$(cat "$DIR/server.log")" 'PL/pgSQL assignment "conn := '
expect "… two levels of SQL statement, each redacted" "$(cat "$DIR/server.log")" "SQL statement \"SELECT red_inner(), dblink_connect('***')\""
expect "the reload logged the setting" "$(cat "$DIR/server.log")" 'parameter "primary_conninfo" changed to "host=10.0.0.9 user=repl password=***"'

say "refused by nspg_guard: an application role's DDL, with secrets later in the same query"
for s in "ALTER ROLE red_target PASSWORD U&'\\0041$M'" "SELECT dblink_connect(E'pass\\x77ord=$M')"; do
    sql "CREATE TABLE public.red_nope (id int); $s" ns_app_red >/dev/null
done
sql "DO \$\$ BEGIN CREATE TABLE public.red_nope (id int); PERFORM 'password=$M'; END \$\$" ns_app_red >/dev/null

say "a statement the parser cannot read again (standard_conforming_strings changed before it ran) runs, its row keeps the Rust rules"
out=$(PGOPTIONS="-c standard_conforming_strings=off" "$PG_BIN/psql" -X -h "$DIR" -p "$PORT" -U postgres -d postgres -At \
    -c "SET standard_conforming_strings = on; CREATE ROLE red_reparse PASSWORD 'x\\' $M'; SELECT 'went on'" 2>/dev/null)
expect "the statement and the next ran" "$out" "went on"

say "the parser's second pass is silent: a NOTICE of the statement's own parse comes once"
long=red_$(printf 'x%.0s' $(seq 70))
out=$("$PG_BIN/psql" -X -h "$DIR" -p "$PORT" -U postgres -d postgres -At -c "CREATE VIEW $long AS SELECT 1 AS a" 2>&1)
expect_line "one NOTICE about the long name" "$(grep -c 'will be truncated' <<<"$out")" "1"

say "extended protocol: parse/bind/execute, parameters"
out=$(wire postgres red_ext <<S
parse - ALTER ROLE red_target PASSWORD '$M'
bind - -
execute - 0
sync
parse s1 SELECT dblink_connect('w', \$1)
bind - s1 'host=127.0.0.1 port=1 password=$M'
execute - 0
sync
parse s2 SELECT \$1::text
bind - s2 'postgresql://u:$M@h/d'
execute - 0
sync
parse - CREATE ROLE red_ext PASSWORD U&'\\0041$M' BOGUS
sync
parse s3 SELECT dblink_connect('k1', (\$1::jsonb)->>'c')
bind - s3 '{"c":"host=127.0.0.1 port=1 password=$M"'
execute - 0
sync
S
)
expect "the extended protocol ran (an error and a result)" "$out" "COMPLETE SELECT 1"
sql "SELECT nspg_guard.audit_flush(20000)" >/dev/null

say "the marker is nowhere"
expect "the log has the statements (log_statement = all)" "$(cat "$DIR/server.log")" "statement: ALTER ROLE red_target PASSWORD '***'"
expect "the log has STATEMENT lines (log_min_error_statement)" "$(cat "$DIR/server.log")" "STATEMENT:  ALTER ROLE red_target PASSWORD '***' BOGUS"
expect "the log has duration lines" "$(cat "$DIR/server.log")" "duration: "
expect "the log has bind parameters" "$(cat "$DIR/server.log")" "parameters: \$1 = '***'"
expect "audit rows were written for the role changes" "$(sql "SELECT count(*) > 10 FROM nspg_guard.audit_log WHERE statement LIKE '%PASSWORD%'")" "t"
expect "nspg_guard's refusals have rows" "$(sql "SELECT count(*) >= 3 FROM nspg_guard.audit_log WHERE class = 'denied' AND \"session_user\" = 'ns_app_red'")" "t"
expect "NSPG_AUDIT lines were written" "$(cat "$DIR/server.log")" "NSPG_AUDIT {"
# each form's row, whole: the statement's start, then its row's text
while IFS='|' read -r what start shown; do
    expect_line "$what" "$(sql "SELECT statement FROM nspg_guard.audit_log WHERE starts_with(statement, '$start')")" "$shown"
done <<'ROWS'
the repeated password is masked in its row (the parse tree)|CREATE SERVER red_rep |CREATE SERVER red_rep FOREIGN DATA WRAPPER red_fdw OPTIONS (password '***', note '***')
the U& option's value is masked in its row|CREATE USER MAPPING FOR ns_app_red |CREATE USER MAPPING FOR ns_app_red SERVER red_srv OPTIONS (user 'u', U&"pass!0077ord" UESCAPE '***' '***')
the dollar-quoted subscription connection string is masked in its row|CREATE SUBSCRIPTION red_subd |CREATE SUBSCRIPTION red_subd CONNECTION '***' PUBLICATION p WITH (connect = false)
the URI in a nested call is masked in its row|CREATE VIEW red_uri |CREATE VIEW red_uri AS SELECT dblink_connect(lower('***'))
the password after many options is masked in its row|ALTER ROLE red_target WITH /* a */|ALTER ROLE red_target WITH /* a */ LOGIN /* b */ CONNECTION LIMIT 3 VALID UNTIL 'infinity' PASSWORD '***'
the statement the parser could not read again has its row|CREATE ROLE red_reparse |CREATE ROLE red_reparse PASSWORD '***'
ROWS
# (the marker reversed in the query: this query is logged too)
rows=$(sql "SELECT id, l::text FROM nspg_guard.audit_log l WHERE strpos(l::text, reverse('$(rev <<<"$M")')) > 0")
reject "no audit row holds the marker" "$rows" "$M"
reject "no line of the server log holds the marker" "$(grep -F "$M" "$DIR/server.log" | head -n 20)" "$M"
# the stored passwords are the decoded forms: redaction changed the log, not what ran
expect_line "what ran is intact (red_target's password is set)" "$(sql "SELECT rolpassword IS NOT NULL FROM pg_authid WHERE rolname = 'red_target'")" "t"
finish
