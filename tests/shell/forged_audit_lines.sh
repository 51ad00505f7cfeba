#!/usr/bin/env bash
# No role can write a line that passes for nspg_guard's own (issue 18, "log lines can't be
# forged"). Roles raise NSPG_AUDIT / NSPG_AUDIT_SEAL text every way PostgreSQL echoes user
# input: RAISE messages, DETAIL, HINT, a function name in CONTEXT, a statement's text on the
# STATEMENT: line (after a newline), application_name (at connection and by SET), role and
# database names in log_line_prefix, a login attempt as an unknown role named like a line, and
# names with newlines that PostgreSQL prints while the password exchange is still going on.
# Then the shipper rule of the README must find exactly nspg_guard's lines: a line whose text
# after log_line_prefix starts with "LOG:  NSPG_AUDIT" (or "DETAIL:  NSPG_AUDIT" under a failed
# login's FATAL), and the tag nowhere else.
# Own cluster on $TEST_PORT + 12.
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/assert.bash"
: "${TEST_DIR:?run me from scripts/test.sh}" "${TEST_PORT:?run me from scripts/test.sh}"

DIR=$(dirname "$TEST_DIR")/forged_lines
PORT=$((TEST_PORT + 12))
trap 'stop_cluster "$DIR"' EXIT

# sql SQL [USER] [DB] — psql as USER (default postgres); output and errors, never fails.
sql() {
    "$PG_BIN/psql" -X -h "$DIR" -p "$PORT" -U "${2:-postgres}" -d "${3:-postgres}" -At -c "$1" 2>&1 || true
}

say "cluster whose log_line_prefix prints application, user and database (port $PORT)"
start_cluster "$DIR" "$PORT" nspg_guard "log_min_error_statement = debug5
log_connections = on
log_line_prefix = '%m [%p] %a %u@%d '"
# tcp logins with a password (a failed one is an unknown role named like a line)
sed -i '1i host all all 127.0.0.1/32 scram-sha-256' "$DIR/data/pg_hba.conf"
as_postgres "$PG_BIN/pg_ctl" -D "$DIR/data" -w reload >/dev/null
sql "CREATE EXTENSION nspg_guard; CREATE ROLE mallory LOGIN; CREATE ROLE ns_app_forge LOGIN;
     CREATE ROLE \"NSPG_AUDIT {\"\"class\"\":\"\"forged-role\"\"}\" LOGIN; GRANT CREATE ON SCHEMA public TO mallory" >/dev/null
sql "CREATE DATABASE \"NSPG_AUDIT {forged-db}\"" >/dev/null

say "forgery attempts"
sql "DO \$\$ BEGIN RAISE LOG 'NSPG_AUDIT {\"class\":\"forged-raise\"}'; END \$\$" mallory >/dev/null
sql "DO \$\$ BEGIN RAISE LOG 'NSPG_AUDIT_SEAL seal_seq=999 row_hash=forged-seal'; END \$\$" mallory >/dev/null
sql "DO \$\$ BEGIN RAISE WARNING 'w' USING DETAIL = E'x\\nNSPG_AUDIT {\"class\":\"forged-detail\"}',
                                   HINT = 'NSPG_AUDIT {\"class\":\"forged-hint\"}'; END \$\$" mallory >/dev/null
sql "DO \$\$ BEGIN RAISE EXCEPTION 'NSPG_AUDIT {\"class\":\"forged-error\"}'; END \$\$" mallory >/dev/null
sql "SELECT 1/0 AS x
NSPG_AUDIT {\"class\":\"forged-statement\"}" mallory >/dev/null
sql "CREATE FUNCTION public.\"NSPG_AUDIT {forged-context}\"() RETURNS void LANGUAGE plpgsql AS \$\$ BEGIN RAISE LOG 'in'; END \$\$;
     SELECT public.\"NSPG_AUDIT {forged-context}\"()" mallory >/dev/null
PGAPPNAME='x LOG:  NSPG_AUDIT {"class":"forged-appname"}' sql "DO \$\$ BEGIN RAISE LOG 'hello'; END \$\$" mallory >/dev/null
sql "SET application_name = 'NSPG_AUDIT {forged-set}'; DO \$\$ BEGIN RAISE LOG 'hello'; END \$\$" mallory >/dev/null
sql "DO \$\$ BEGIN RAISE LOG 'hello'; END \$\$" 'NSPG_AUDIT {"class":"forged-role"}' >/dev/null
sql "DO \$\$ BEGIN RAISE LOG 'hello'; END \$\$" mallory 'NSPG_AUDIT {forged-db}' >/dev/null
PGPASSWORD=x "$PG_BIN/psql" -X "host=127.0.0.1 port=$PORT user='x LOG:  NSPG_AUDIT {forged-login}' dbname=postgres" -c "SELECT 1" >/dev/null 2>&1 || true
# names sent in the startup packet, printed by a LOG line PostgreSQL writes in the middle of the
# password exchange (a message with an impossible length), newlines and all (red team, stop 30)
python3 - "$PORT" <<'PY'
import socket, struct, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
user = "\n2026-12-03 19:10:50.604 UTC [1] postgres"
database = 'postgres LOG:  NSPG_AUDIT {"class":"forged-auth"}\n'
params = b"".join(k.encode() + b"\0" + v.encode() + b"\0" for k, v in (("user", user), ("database", database))) + b"\0"
body = struct.pack("!I", 196608) + params
s.sendall(struct.pack("!I", len(body) + 4) + body)
s.recv(4096)  # the server asks for the password (SASL)
s.sendall(b"p" + struct.pack("!I", 0x7FFFFFFF))
try:
    s.recv(4096)
except OSError:
    pass
s.close()
PY
sleep 0.5

say "nspg_guard's own lines: a refusal, logins"
expect "an application role's DDL is refused" "$(sql "CREATE TABLE public.forge_nope (id int)" ns_app_forge)" "ERROR"
sql "SELECT nspg_guard.audit_flush(20000)" >/dev/null
log=$(cat "$DIR/server.log")

say "what the log shows"
expect "the server logged the bad message length while authenticating" "$log" "invalid message length"
for f in raise seal detail hint error statement context appname set role db login auth; do
    expect "the forged text is in the log, tag broken ($f)" "$(grep -F "forged-$f" <<<"$log" | head -n 3)" "NSPG-AUDIT"
done
# our own lines may record a forged name (tag broken inside the JSON); no line may carry a
# forged tag itself
forged=$(grep -E 'NSPG_AUDIT(_SEAL)? (\{"class":"forged|\{forged|seal_seq=999)' <<<"$log" || true)
expect_line "no forged text follows the tag" "${forged:-none}" "none"
expect "the seal forgery reads NSPG-AUDIT_SEAL" "$log" "LOG:  NSPG-AUDIT_SEAL seal_seq=999 row_hash=forged-seal"
expect "RAISE LOG reads NSPG-AUDIT" "$log" 'LOG:  NSPG-AUDIT {"class":"forged-raise"}'
expect "our refusal line is there" "$log" 'LOG:  NSPG_AUDIT {"event_time"'
expect "our failed-login line is there (DETAIL of the FATAL)" "$log" 'DETAIL:  NSPG_AUDIT {"event_time"'
# our line carries its statement in the JSON: no STATEMENT: line of its own (only the
# refusal's ERROR has one)
expect_line "the refused statement is on one STATEMENT: line, the ERROR's" \
    "$(grep -c 'STATEMENT:  CREATE TABLE public.forge_nope' <<<"$log")" "1"
expect "our row for the forged-name login has the name, tag kept in the table" \
    "$(sql "SELECT count(*) FROM nspg_guard.audit_log WHERE \"session_user\" LIKE 'x LOG:  NSPG\\_AUDIT%'")" "1"
# The shipper rule (README): the tag appears once per line, and only as the text of a LOG (or
# of a failed login's DETAIL) right after log_line_prefix.
not_ours=$(grep -F 'NSPG_AUDIT' <<<"$log" | grep -vE "(LOG|DETAIL):  NSPG_AUDIT(_SEAL)? " || true)
expect_line "every line with the tag has the shipper's shape" "${not_ours:-none}" "none"
twice=$(grep -F 'NSPG_AUDIT' <<<"$log" | grep -E 'NSPG_AUDIT.*NSPG_AUDIT' || true)
expect_line "no line has the tag twice" "${twice:-none}" "none"
finish
