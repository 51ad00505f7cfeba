#!/usr/bin/env bash
# Issue 14, "trail objects can't be changed around the guard": while the library is loaded,
# nspg_guard's objects (its extension, schema, tables, indexes, functions and what hangs on its
# tables) change only through its own extension scripts, by anyone, superusers included:
#   forms      each tamper form (CREATE/ALTER/DROP RULE, TRIGGER, POLICY; ENABLE/DISABLE; SET SCHEMA;
#              OWNER TO; RENAME; storage, logged/unlogged, ALTER COLUMN; indexes; functions; ALTER
#              EXTENSION DROP/ADD/SET SCHEMA; a foreign key's triggers; objects planted in the
#              schema) is refused with 42501 and leaves a denied row and an NSPG_AUDIT line;
#   routes     the same refusals from a DO block, a function, a multi-statement string and the
#              extended protocol (tests/pgwire);
#   catalog    direct DML on system catalogs touching their rows (pg_class, pg_namespace,
#              pg_depend, pg_extension, pg_attribute, pg_proc) is refused however written (a CTE,
#              a SQL function, PL/pgSQL, PREPARE/EXECUTE, the extended protocol, COPY FROM);
#              catalog DML elsewhere runs and is a `risky` audit row;
#   rows       DELETE/UPDATE/INSERT/MERGE/TRUNCATE/COPY FROM on every other table of nspg_guard
#              (audited_relations, lint_suppressions, snapshots, access_review_records,
#              lint_rules) by a superuser is refused with a HINT naming the function to use, also
#              through a CTE, a SQL function, PL/pgSQL and PREPARE/EXECUTE; the rows stay; the
#              functions (audit_relation, lint_suppress, snapshot_save, access_review_record)
#              still write them;
#   owner      with an extension owner that is not the bootstrap superuser, DROP OWNED BY and
#              REASSIGN OWNED of it are refused (as itself, as another superuser, in a DO block);
#   allowed    VACUUM FULL, CLUSTER, REINDEX, ANALYZE, audit_purge(), pg_dump, COMMENT, and an
#              ALTER EXTENSION nspg_guard UPDATE whose script changes its own objects all work;
#              afterwards the trail is intact (no rule, trigger or policy on it, same schema) and
#              audit_verify() is ok.
# Own cluster: $TEST_PORT + 30.
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/assert.bash"
: "${TEST_DIR:?run me from scripts/test.sh}" "${TEST_PORT:?run me from scripts/test.sh}"
set +e

DIR=$(dirname "$TEST_DIR")/trail_tamper
PORT=$((TEST_PORT + 30))
# an update from the version CREATE EXTENSION installs (the crate's)
VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$REPO_ROOT/Cargo.toml" | head -n 1)
UPDATE_SCRIPT="$(pg_config_sharedir)/extension/nspg_guard--$VERSION--$VERSION-tamper-test.sql"
trap 'stop_cluster "$DIR"; rm -f "$UPDATE_SCRIPT"' EXIT
source "$(dirname "${BASH_SOURCE[0]}")/wire.bash"

say "a cluster with nspg_guard, audit to the table and the log (port $PORT)"
start_cluster "$DIR" "$PORT" nspg_guard "nspg_guard.audit_destination = 'table,log'"
sql "CREATE EXTENSION nspg_guard" >/dev/null
sql "CREATE ROLE ext_owner SUPERUSER LOGIN; CREATE ROLE other_admin SUPERUSER LOGIN; CREATE ROLE plain LOGIN;
     CREATE FUNCTION public.keep_row() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
     CREATE TABLE public.bystander (id int PRIMARY KEY, note text);
     CREATE FUNCTION public.rename_trail() RETURNS void LANGUAGE sql
         AS \$\$UPDATE pg_catalog.pg_class SET relname = 'audit_log_x' WHERE oid = 'nspg_guard.audit_log'::regclass\$\$;" >/dev/null
trail_shape() {
    sql "SELECT (SELECT count(*) FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class WHERE c.relnamespace = 'nspg_guard'::regnamespace)
              || '|' || (SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relnamespace = 'nspg_guard'::regnamespace)
              || '|' || (SELECT count(*) FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid WHERE c.relnamespace = 'nspg_guard'::regnamespace)
              || '|' || (SELECT count(*) FROM pg_class WHERE relnamespace = 'nspg_guard'::regnamespace)
              || '|' || (SELECT relowner::regrole || ',' || relpersistence FROM pg_class WHERE oid = 'nspg_guard.audit_log'::regclass)"
}
shape_before=$(trail_shape)

# refused NAME SQL [USER] [DB] — SQL (psql, simple protocol) is refused by the tamper guard with
# 42501; its application_name (tamper_<n>) is kept to find the audit row and the log line later.
refusals=()
refused() {
    local app="tamper_${#refusals[@]}" out
    out=$(PGAPPNAME=$app "$PG_BIN/psql" -X -h "$DIR" -p "$PORT" -U "${3:-postgres}" -d "${4:-postgres}" -At \
        -v VERBOSITY=verbose -c "$2" 2>&1)
    if grep -qE '^ERROR:  42501: nspg_guard: ' <<<"$out"; then pass "refused: $1"; else fail "refused: $1:"; show "$out"; fi
    refusals+=("$app|$1")
}

say "forms: rules, triggers, policies on the trail"
refused "CREATE RULE … DO INSTEAD NOTHING" "CREATE RULE swallow AS ON INSERT TO nspg_guard.audit_log DO INSTEAD NOTHING"
refused "CREATE TRIGGER BEFORE INSERT" "CREATE TRIGGER rewrite BEFORE INSERT ON nspg_guard.audit_log FOR EACH ROW EXECUTE FUNCTION public.keep_row()"
refused "CREATE TRIGGER on the chain" "CREATE TRIGGER rewrite BEFORE INSERT ON nspg_guard.audit_chain FOR EACH ROW EXECUTE FUNCTION public.keep_row()"
refused "CREATE POLICY" "CREATE POLICY hide ON nspg_guard.audit_log USING (false)"
refused "ALTER POLICY" "ALTER POLICY hide ON nspg_guard.audit_log USING (true)"
refused "DROP RULE" "DROP RULE IF EXISTS swallow ON nspg_guard.audit_log"
refused "DROP TRIGGER" "DROP TRIGGER IF EXISTS rewrite ON nspg_guard.audit_log"
refused "DROP POLICY" "DROP POLICY IF EXISTS hide ON nspg_guard.audit_log"
refused "ALTER TABLE … DISABLE TRIGGER ALL" "ALTER TABLE nspg_guard.audit_chain DISABLE TRIGGER ALL"
refused "ALTER TABLE … ENABLE ALWAYS RULE" "ALTER TABLE nspg_guard.breakglass_requests ENABLE ALWAYS RULE r"
refused "ALTER TABLE … ENABLE ROW LEVEL SECURITY" "ALTER TABLE nspg_guard.role_lockdowns ENABLE ROW LEVEL SECURITY"
refused "CREATE TABLE … INHERITS the trail (its rows would read as the trail's)" "CREATE TABLE public.forged () INHERITS (nspg_guard.audit_log)"
refused "ALTER TABLE … INHERIT the trail" "CREATE TABLE public.forged2 (LIKE nspg_guard.audit_log); ALTER TABLE public.forged2 INHERIT nspg_guard.audit_log"
refused "CREATE STATISTICS on the trail" "CREATE STATISTICS planted ON id, event_time FROM nspg_guard.audit_log"
refused "a foreign key onto the trail (its triggers)" "CREATE TABLE public.fk (a bigint REFERENCES nspg_guard.audit_log (id))"

say "forms: schema, owner, name, storage, columns of the trail"
refused "ALTER TABLE … SET SCHEMA" "ALTER TABLE nspg_guard.audit_log SET SCHEMA public"
refused "ALTER TABLE … OWNER TO" "ALTER TABLE nspg_guard.audit_log OWNER TO plain"
refused "ALTER TABLE … RENAME" "ALTER TABLE nspg_guard.audit_chain RENAME TO chain_old"
refused "ALTER TABLE … RENAME COLUMN" "ALTER TABLE nspg_guard.audit_log RENAME COLUMN reason TO why"
refused "ALTER TABLE … SET UNLOGGED" "ALTER TABLE nspg_guard.audit_log SET UNLOGGED"
refused "ALTER TABLE … SET STORAGE" "ALTER TABLE nspg_guard.audit_log ALTER COLUMN reason SET STORAGE EXTERNAL"
refused "ALTER TABLE … ALTER COLUMN TYPE" "ALTER TABLE nspg_guard.audit_log ALTER COLUMN reason TYPE varchar(10)"
refused "ALTER TABLE … ALTER COLUMN SET DEFAULT" "ALTER TABLE nspg_guard.audit_log ALTER COLUMN reason SET DEFAULT 'forged'"
refused "ALTER TABLE … SET (autovacuum_enabled)" "ALTER TABLE nspg_guard.audit_log SET (autovacuum_enabled = off)"

say "forms: indexes, sequences, functions, types, the schema"
index=$(sql "SELECT indexrelid::regclass FROM pg_index WHERE indrelid = 'nspg_guard.audit_log'::regclass LIMIT 1")
sequence=$(sql "SELECT oid::regclass FROM pg_class WHERE relnamespace = 'nspg_guard'::regnamespace AND relkind = 'S' LIMIT 1")
refused "CREATE INDEX" "CREATE INDEX ON nspg_guard.audit_log (reason)"
refused "ALTER INDEX … RENAME" "ALTER INDEX $index RENAME TO idx_old"
refused "ALTER INDEX … SET TABLESPACE" "ALTER INDEX $index SET TABLESPACE pg_default"
refused "DROP INDEX" "DROP INDEX $index"
if [ -n "$sequence" ]; then
    refused "ALTER SEQUENCE" "ALTER SEQUENCE $sequence RESTART WITH 1"
    refused "DROP SEQUENCE" "DROP SEQUENCE $sequence CASCADE"
fi
refused "ALTER FUNCTION … OWNER TO" "ALTER FUNCTION nspg_guard.status() OWNER TO plain"
refused "ALTER FUNCTION … RENAME" "ALTER FUNCTION nspg_guard.status() RENAME TO status_old"
refused "ALTER FUNCTION … SET SCHEMA" "ALTER FUNCTION nspg_guard.status() SET SCHEMA public"
refused "ALTER FUNCTION … SECURITY DEFINER" "ALTER FUNCTION nspg_guard.status() SECURITY DEFINER"
refused "ALTER FUNCTION … SET search_path" "ALTER FUNCTION nspg_guard.audit_verify() SET search_path = public"
refused "CREATE FUNCTION in the schema" "CREATE FUNCTION nspg_guard.planted() RETURNS int LANGUAGE sql AS 'SELECT 1'"
refused "CREATE TABLE in the schema" "CREATE TABLE nspg_guard.planted (a int)"
refused "ALTER TYPE … OWNER TO" "ALTER TYPE nspg_guard.hba_line OWNER TO plain"
refused "ALTER TYPE … ADD ATTRIBUTE" "ALTER TYPE nspg_guard.lint_finding ADD ATTRIBUTE planted text"
refused "ALTER SCHEMA … OWNER TO" "ALTER SCHEMA nspg_guard OWNER TO plain"
refused "ALTER SCHEMA … RENAME" "ALTER SCHEMA nspg_guard RENAME TO nspg_old"
refused "DROP SCHEMA … CASCADE" "DROP SCHEMA nspg_guard CASCADE"
refused "a function moved into the schema" "ALTER FUNCTION public.keep_row() SET SCHEMA nspg_guard"

say "forms: the extension"
refused "ALTER EXTENSION … DROP" "ALTER EXTENSION nspg_guard DROP FUNCTION nspg_guard.status()"
refused "ALTER EXTENSION … ADD" "ALTER EXTENSION nspg_guard ADD TABLE public.bystander"
refused "ALTER EXTENSION … SET SCHEMA" "ALTER EXTENSION nspg_guard SET SCHEMA public"
refused "DROP EXTENSION" "DROP EXTENSION nspg_guard CASCADE"

say "routes: DO block, function, multi-statement string"
refused "in a DO block" "DO \$\$BEGIN EXECUTE 'CREATE RULE swallow AS ON INSERT TO nspg_guard.audit_log DO INSTEAD NOTHING'; END\$\$"
refused "in a DO block, error caught then retried" "DO \$\$BEGIN BEGIN EXECUTE 'ALTER TABLE nspg_guard.audit_log SET SCHEMA public'; EXCEPTION WHEN insufficient_privilege THEN NULL; END; EXECUTE 'ALTER TABLE nspg_guard.audit_log OWNER TO plain'; END\$\$"
refused "in a PL/pgSQL function" "CREATE FUNCTION public.plant() RETURNS void LANGUAGE plpgsql AS \$\$BEGIN EXECUTE 'CREATE POLICY hide ON nspg_guard.audit_log USING (false)'; END\$\$; SELECT public.plant()"
refused "in a multi-statement string" "SELECT 1; CREATE TRIGGER rewrite BEFORE INSERT ON nspg_guard.audit_log FOR EACH ROW EXECUTE FUNCTION public.keep_row(); SELECT 2"

say "catalog: direct DML touching the trail's rows"
refused "UPDATE pg_class SET relname" "UPDATE pg_class SET relname = 'audit_log_x' WHERE oid = 'nspg_guard.audit_log'::regclass"
refused "UPDATE pg_class SET relnamespace" "UPDATE pg_class SET relnamespace = 'public'::regnamespace WHERE oid = 'nspg_guard.audit_log'::regclass"
refused "UPDATE pg_class SET relhasrules" "UPDATE pg_class SET relhasrules = true WHERE relname = 'audit_chain' AND relnamespace = 'nspg_guard'::regnamespace"
refused "UPDATE pg_namespace" "UPDATE pg_namespace SET nspname = 'nspg_old' WHERE nspname = 'nspg_guard'"
refused "UPDATE pg_extension" "UPDATE pg_extension SET extversion = '9.9' WHERE extname = 'nspg_guard'"
refused "DELETE FROM pg_depend" "DELETE FROM pg_depend WHERE refobjid = (SELECT oid FROM pg_extension WHERE extname = 'nspg_guard')"
refused "UPDATE pg_attribute" "UPDATE pg_attribute SET attname = 'why' WHERE attrelid = 'nspg_guard.audit_log'::regclass AND attname = 'reason'"
refused "UPDATE pg_proc" "UPDATE pg_proc SET prosecdef = true WHERE pronamespace = 'nspg_guard'::regnamespace"
refused "INSERT INTO pg_depend" "INSERT INTO pg_depend VALUES ('pg_class'::regclass, 'public.bystander'::regclass, 0, 'pg_class'::regclass, 'nspg_guard.audit_log'::regclass, 0, 'n')"
refused "UPDATE in a CTE" "WITH moved AS (UPDATE pg_class SET relname = 'audit_log_x' WHERE oid = 'nspg_guard.audit_log'::regclass RETURNING 1) SELECT count(*) FROM moved"
refused "two catalogs in one statement (CTEs)" "WITH a AS (UPDATE pg_namespace SET nspname = nspname WHERE nspname = 'nspg_guard' RETURNING 1), b AS (UPDATE pg_class SET relname = relname WHERE oid = 'public.bystander'::regclass RETURNING 1) SELECT (SELECT count(*) FROM a) + (SELECT count(*) FROM b)"
refused "UPDATE in a SQL function" "SELECT public.rename_trail()"
refused "UPDATE in PL/pgSQL" "DO \$\$BEGIN UPDATE pg_class SET relname = 'audit_log_x' WHERE oid = 'nspg_guard.audit_log'::regclass; END\$\$"
refused "UPDATE as a prepared statement" "PREPARE p(regclass) AS UPDATE pg_class SET relname = 'audit_log_x' WHERE oid = \$1; EXECUTE p('nspg_guard.audit_log')"
trail_oid=$(sql "SELECT 'nspg_guard.audit_log'::regclass::oid")
bystander_oid=$(sql "SELECT 'public.bystander'::regclass::oid")
app="tamper_${#refusals[@]}"
out=$(printf '1259\t%s\t0\t1259\t%s\t0\tn\n\\.\n' "$bystander_oid" "$trail_oid" |
    PGAPPNAME=$app "$PG_BIN/psql" -X -h "$DIR" -p "$PORT" -U postgres -d postgres -At -v VERBOSITY=verbose -c "COPY pg_depend FROM STDIN" 2>&1)
expect "refused: COPY pg_depend FROM STDIN" "$out" "ERROR:  42501: nspg_guard: COPY of pg_catalog.pg_depend refused"
refusals+=("$app|COPY FROM into pg_depend")

say "routes: the extended protocol"
out=$(wire postgres tamper_wire <<'S'
parse - UPDATE pg_catalog.pg_class SET relname = relname WHERE oid = $1::regclass
bind - - nspg_guard.audit_log
execute - 0
sync
parse - CREATE RULE swallow AS ON INSERT TO nspg_guard.audit_log DO INSTEAD NOTHING
bind - -
execute - 0
sync
S
)
expect_count "wire: both refused with 42501" "$(grep -o '^ERROR 42501 nspg_guard' <<<"$out")" "ERROR 42501 nspg_guard" 2

say "rows: DML on every other table of nspg_guard, by a superuser"
out=$(sql "SELECT nspg_guard.audit_relation('public.bystander', 'write');
           SELECT nspg_guard.lint_suppress('roles_superuser_not_allowed:other_admin', 'tamper test', now() + interval '1 day');
           SELECT nspg_guard.access_review_record(nspg_guard.snapshot_save('tamper test'), 'carol', 'approved', NULL) > 0" 2>&1)
expect_line "the functions write the tables (audit_relation, lint_suppress, snapshot_save, access_review_record)" "$out" "t"
expect "audit_relation's answer" "$out" "access to public.bystander audited: write"
table_rows() {
    sql "SELECT (SELECT string_agg(relid::text || ':' || mode, ',') FROM nspg_guard.audited_relations) || '|' ||
                (SELECT count(*) FROM nspg_guard.lint_suppressions) || '|' || (SELECT count(*) FROM nspg_guard.snapshots) || '|' ||
                (SELECT count(*) FROM nspg_guard.access_review_records) || '|' || (SELECT count(*) FROM nspg_guard.lint_rules)"
}
rows_before=$(table_rows)
# refused_hint NAME SQL HINT — refused (as `refused`), and the HINT names the function to use
refused_hint() {
    local app="tamper_${#refusals[@]}" out
    out=$(PGAPPNAME=$app "$PG_BIN/psql" -X -h "$DIR" -p "$PORT" -U postgres -d postgres -At -v VERBOSITY=verbose -c "$2" 2>&1 </dev/null)
    if grep -qE '^ERROR:  42501: nspg_guard: ' <<<"$out" && grep -qF "HINT:  $3" <<<"$out"; then pass "refused: $1"; else fail "refused with the hint \"$3\": $1:"; show "$out"; fi
    refusals+=("$app|$1")
}
declare -A column=([audited_relations]=mode [lint_suppressions]=reason [snapshots]=label [access_review_records]=notes [lint_rules]=description)
declare -A hint=([audited_relations]="Use SELECT nspg_guard.audit_relation(" [lint_suppressions]="Use SELECT nspg_guard.lint_suppress("
                 [snapshots]="Use SELECT nspg_guard.snapshot_save(" [access_review_records]="Use SELECT nspg_guard.access_review_record("
                 [lint_rules]="Lint rules ship with the extension")
for t in audited_relations lint_suppressions snapshots access_review_records lint_rules; do
    refused_hint "DELETE FROM $t" "DELETE FROM nspg_guard.$t" "${hint[$t]}"
    refused_hint "UPDATE $t" "UPDATE nspg_guard.$t SET ${column[$t]} = ${column[$t]}" "${hint[$t]}"
    refused_hint "INSERT INTO $t (no row)" "INSERT INTO nspg_guard.$t OVERRIDING SYSTEM VALUE SELECT * FROM nspg_guard.$t WHERE false" "${hint[$t]}"
    refused_hint "MERGE INTO $t" "MERGE INTO nspg_guard.$t t USING (SELECT 1) s ON false WHEN NOT MATCHED THEN DO NOTHING" "${hint[$t]}"
    refused_hint "TRUNCATE $t" "TRUNCATE nspg_guard.$t CASCADE" "${hint[$t]}"
    refused_hint "COPY $t FROM STDIN (not a restore)" "COPY nspg_guard.$t FROM STDIN" "${hint[$t]/Use SELECT nspg_guard.*/A dump is restored}"
done
refused_hint "DELETE in a CTE" "WITH d AS (DELETE FROM nspg_guard.audited_relations RETURNING 1) SELECT count(*) FROM d" "${hint[audited_relations]}"
refused_hint "DELETE in a SQL function" "CREATE FUNCTION public.unaudit() RETURNS void LANGUAGE sql AS 'DELETE FROM nspg_guard.audited_relations'; SELECT public.unaudit()" "${hint[audited_relations]}"
refused_hint "DELETE in PL/pgSQL" "DO \$\$BEGIN DELETE FROM nspg_guard.lint_suppressions; END\$\$" "${hint[lint_suppressions]}"
refused_hint "UPDATE as a prepared statement" "PREPARE s(text) AS UPDATE nspg_guard.snapshots SET label = \$1; EXECUTE s('forged')" "${hint[snapshots]}"
refused_hint "INSERT in PL/pgSQL with EXECUTE" "DO \$\$BEGIN EXECUTE 'INSERT INTO nspg_guard.lint_suppressions VALUES (''x:y'', ''sneaky'', ''infinity'', ''postgres'')'; END\$\$" "${hint[lint_suppressions]}"
expect_same "the rows are unchanged" "$(table_rows)" "$rows_before"
expect_line "audit_relation('none') still ends auditing" "$(sql "SELECT nspg_guard.audit_relation('public.bystander', 'none')")" "access to public.bystander audited: none"

say "owner: the extension owned by a role that is not the bootstrap superuser"
sql "CREATE DATABASE owned OWNER ext_owner" >/dev/null
"$PG_BIN/psql" -X -h "$DIR" -p "$PORT" -U ext_owner -d owned -qAt -c "CREATE EXTENSION nspg_guard" 2>&1
expect_line "the extension's owner" "$("$PG_BIN/psql" -X -h "$DIR" -p "$PORT" -U ext_owner -d owned -At -c "SELECT extowner::regrole FROM pg_extension WHERE extname = 'nspg_guard'")" "ext_owner"
refused "DROP OWNED BY the owner, as itself" "DROP OWNED BY ext_owner" ext_owner owned
refused "DROP OWNED BY the owner CASCADE, as another superuser" "DROP OWNED BY ext_owner CASCADE" other_admin owned
refused "DROP OWNED in a DO block" "DO \$\$BEGIN EXECUTE 'DROP OWNED BY ext_owner'; END\$\$" postgres owned
refused "REASSIGN OWNED BY the owner" "REASSIGN OWNED BY ext_owner TO plain" postgres owned
refused "DROP OWNED BY a list naming the owner" "DROP OWNED BY plain, ext_owner" postgres owned
expect_line "the extension is still there" "$("$PG_BIN/psql" -X -h "$DIR" -p "$PORT" -U postgres -d owned -At -c "SELECT count(*) FROM pg_extension WHERE extname = 'nspg_guard'")" "1"

say "audit: a denied row (42501) and an NSPG_AUDIT line for each refusal"
flush
rows=$(sql "SELECT application_name FROM nspg_guard.audit_log WHERE class = 'denied' AND sqlstate = '42501' AND application_name LIKE 'tamper\_%'")
for entry in "${refusals[@]}"; do
    app=${entry%%|*}
    if grep -qxF "$app" <<<"$rows"; then pass "audited row: ${entry#*|}"; else fail "audited row: ${entry#*|} ($app) has no denied row"; fi
    if grep -F 'NSPG_AUDIT {' "$DIR/server.log" | grep -F "\"application_name\":\"$app\"" | grep -qF '"class":"denied"'; then
        pass "NSPG_AUDIT line: ${entry#*|}"
    else
        fail "NSPG_AUDIT line: ${entry#*|} ($app) not in the server log"
    fi
done
expect_line "wire: both refusals audited" "$(sql "SELECT count(*) FROM nspg_guard.audit_log WHERE class = 'denied' AND application_name = 'tamper_wire'")" "2"

say "catalog DML elsewhere runs and is a risky audit event"
out=$(PGAPPNAME=catalog_elsewhere "$PG_BIN/psql" -X -h "$DIR" -p "$PORT" -U postgres -d postgres -At -c "UPDATE pg_class SET relname = 'bystander_renamed' WHERE oid = 'public.bystander'::regclass" 2>&1)
expect_line "UPDATE pg_class of a user table runs" "$out" "UPDATE 1"
out=$(printf '%s\t1259\t0\tset through COPY\n\\.\n' "$bystander_oid" |
    PGAPPNAME=catalog_elsewhere "$PG_BIN/psql" -X -h "$DIR" -p "$PORT" -U postgres -d postgres -At -c "COPY pg_description FROM STDIN" 2>&1)
expect_line "COPY FROM into pg_description for a user table runs" "$out" "COPY 1"
flush
expect_same "both are risky rows naming the catalog" \
    "$(sql "SELECT command_tag || '|' || object_identity || '|' || rows FROM nspg_guard.audit_log WHERE class = 'risky' AND application_name = 'catalog_elsewhere' ORDER BY id")" \
    "UPDATE|pg_catalog.pg_class|1
COPY|pg_catalog.pg_description|1"

say "allowed: maintenance, nspg_guard's own work and its update scripts"
out=$(for s in "VACUUM FULL nspg_guard.audit_log" "CLUSTER nspg_guard.audit_chain USING audit_chain_pkey" "VACUUM FULL" \
    "REINDEX TABLE nspg_guard.audit_log" "ANALYZE nspg_guard.audit_log" "COMMENT ON TABLE public.bystander_renamed IS 'fine'"; do sql "$s"; done)
expect_same "VACUUM FULL, CLUSTER, REINDEX, ANALYZE, COMMENT run" "$out" "VACUUM
CLUSTER
VACUUM
REINDEX
ANALYZE
COMMENT"
expect "audit_purge() runs" "$(sql "SELECT nspg_guard.audit_purge()")" "0"
out=$(as_postgres "$PG_BIN/pg_dump" -h "$DIR" -p "$PORT" -U postgres -d postgres -f /dev/null 2>&1; echo "status $?")
expect_line "pg_dump of the guarded database runs" "$out" "status 0"
cat >"$UPDATE_SCRIPT" <<'SQL'
CREATE INDEX audit_log_update_test ON nspg_guard.audit_log (event_time);
DROP INDEX nspg_guard.audit_log_update_test;
SQL
expect_line "ALTER EXTENSION nspg_guard UPDATE runs its own script" \
    "$(sql "ALTER EXTENSION nspg_guard UPDATE TO '$VERSION-tamper-test'; SELECT extversion FROM pg_extension WHERE extname = 'nspg_guard'")" "$VERSION-tamper-test"
expect_same "the trail's shape is unchanged (no rule, trigger or policy; same objects, owner, persistence)" "$(trail_shape)" "$shape_before"
expect_line "the chain verifies" "$(sql "SELECT ok FROM nspg_guard.audit_verify()")" "t"

finish
