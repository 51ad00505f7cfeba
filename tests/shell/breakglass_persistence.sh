#!/usr/bin/env bash
# Break-glass power ends with the grant (NS-PG-007 §8.1; issue 19 "power that outlives the
# grant"), against a real request approved by another role and real psql clients.
#   setup          orders_owner owns orders.secrets; the break-glass role is a member of
#                  orders_owner and has CREATEROLE; bob_oncall is also in bob_team; alice_admin
#                  has CREATEROLE; max_prepared_transactions = 2;
#   routes         in bob's escalated session each route that would outlive the grant is refused
#                  before it runs (42501, the message, a HINT): SECURITY DEFINER (CREATE and
#                  ALTER FUNCTION, any ALTER of an existing SECURITY DEFINER function such as
#                  SET search_path), ALTER … OWNER TO, REASSIGN OWNED, GRANT … WITH GRANT OPTION
#                  (even to app_user), GRANT to bob, to bob_team, to SESSION_USER, to PUBLIC,
#                  ALTER DEFAULT PRIVILEGES, GRANT orders_owner TO bob, CREATE ROLE … IN ROLE,
#                  ALTER GROUP … ADD USER, ALTER ROLE (attributes, SET), CREATE USER MAPPING,
#                  CREATE TABLE / CREATE TABLE AS / SELECT INTO / CREATE VIEW as bob's own role
#                  (HINT: SET ROLE), PREPARE TRANSACTION, also of a transaction that ran
#                  escalated and lost the membership before its PREPARE;
#   nested         the same refused inside DO, a PL/pgSQL function, a SQL function, a
#                  prepared statement (PREPARE … EXECUTE) and over the extended protocol;
#   still works    DML on the owner's table, ALTER FUNCTION of an invoker function, CREATE TEMP
#                  TABLE, CREATE TABLE after SET ROLE to the break-glass role, GRANT SELECT on it
#                  to app_user, REVOKE;
#   audited        each refusal is a class denied row with its hint;
#   after the end  breakglass_end(): bob cannot read orders.secrets, holds no grant or default
#                  privilege, no SECURITY DEFINER function, owns nothing new, no prepared
#                  transaction, no new membership; the restored table stays (owned by the
#                  break-glass role) and app_user reads it;
#   direct grant   a CREATEROLE admin's GRANT of the break-glass role (to itself, through a role
#                  that is a member of it, CREATE ROLE … IN ROLE, ALTER GROUP … ADD USER, ALTER
#                  ROLE … LOGIN PASSWORD, ALTER ROLE … RENAME) is refused 42501 and audited; a superuser's is allowed
#                  and recorded as a flagged break-glass event (granted_directly); the approval
#                  path still grants it.
#   red team 19    (exact reproductions) escalated: no role management at all — REVOKE of its own
#                  membership (plain and in DO … EXECUTE), REVOKE of approver/admin roles, DROP
#                  ROLE, ALTER GROUP … DROP USER, DROP USER MAPPING (1, 8); no GRANT to
#                  pg_database_owner (9); no change to access rules or code of objects owned by
#                  others — CREATE OR REPLACE VIEW, ALTER TABLE … ROW LEVEL SECURITY, CREATE/ALTER/
#                  DROP POLICY, ALTER VIEW, CREATE [OR REPLACE] TRIGGER/RULE, DISABLE TRIGGER,
#                  CREATE OR REPLACE FUNCTION, ALTER FUNCTION SET/RENAME/SET SCHEMA, nested in DO
#                  (2), while columns, defaults, indexes and the grant's own objects stay open;
#                  any session: a CREATEROLE admin cannot make a sock-puppet approver, take over
#                  an approver's login (PASSWORD, VALID UNTIL, RENAME), drop, re-create or rename
#                  to the break-glass or approver role (5, 7); a superuser's approver change runs,
#                  flagged; the requester ends his own request with breakglass_end().
#   red team 30    escalated: ALTER TABLE … INHERIT / ATTACH PARTITION of the owner's table under
#                  bob's own parent, ALTER DATABASE … SET of the owner's database; bob's SECURITY
#                  DEFINER function called from app_user's session: a grant with grant option,
#                  an owner change, default privileges refused, a plain statement runs.
# Own cluster next to the main one: $TEST_PORT + 23.
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/assert.bash"
set +e
: "${TEST_DIR:?run me from scripts/test.sh}" "${TEST_PORT:?run me from scripts/test.sh}"

DIR=$(dirname "$TEST_DIR")/breakglass_persistence
PORT=$((TEST_PORT + 23))
trap 'stop_cluster "$DIR"' EXIT

# sql SQL [USER] — one short session of USER (default postgres), verbose errors; never fails.
sql() {
    "$PG_BIN/psql" -X -h "$DIR" -p "$PORT" -U "${2:-postgres}" -d postgres -At -v VERBOSITY=verbose -c "$1" 2>&1 || true
}
# script USER — the statements on stdin in one session of USER (each its own -c would lose SET ROLE).
script() {
    "$PG_BIN/psql" -X -h "$DIR" -p "$PORT" -U "$1" -d postgres -At -v VERBOSITY=verbose 2>&1 || true
}
flush() { sql "SELECT nspg_guard.audit_flush(20000)" >/dev/null; }
# refused NAME OUTPUT WHAT — OUTPUT is the escalated refusal of WHAT, before it ran.
refused() {
    expect "$1: refused 42501" "$2" "ERROR:  42501: nspg_guard: $3 is refused while escalated through break-glass"
    expect "$1: with a HINT" "$2" "HINT:  "
}

say "cluster with the library preloaded (port $PORT)"
start_cluster "$DIR" "$PORT" nspg_guard "max_prepared_transactions = 2"
sql "CREATE EXTENSION nspg_guard" >/dev/null
sql "$SESSION_ROLES_SQL" >/dev/null
out=$(script postgres <<'SQL'
ALTER ROLE alice_admin CREATEROLE;
ALTER ROLE ns_breakglass_admin CREATEROLE;
CREATE ROLE orders_owner NOLOGIN;
CREATE ROLE bob_team NOLOGIN;
GRANT bob_team TO bob_oncall;
GRANT orders_owner TO ns_breakglass_admin;
CREATE SCHEMA orders AUTHORIZATION orders_owner;
GRANT USAGE ON SCHEMA orders TO bob_oncall, app_user;
GRANT CREATE ON SCHEMA orders TO bob_oncall;
CREATE TABLE orders.secrets (id int PRIMARY KEY, note text);
INSERT INTO orders.secrets VALUES (1, 'card 4111'), (2, 'card 5500');
CREATE FUNCTION orders.total() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM orders.secrets';
ALTER TABLE orders.secrets OWNER TO orders_owner;
ALTER FUNCTION orders.total() OWNER TO orders_owner;
CREATE FUNCTION orders.report() RETURNS bigint LANGUAGE sql SECURITY DEFINER SET search_path = orders AS 'SELECT count(*) FROM secrets';
ALTER FUNCTION orders.report() OWNER TO orders_owner;
CREATE FOREIGN DATA WRAPPER plain_fdw;
CREATE SERVER loop_back FOREIGN DATA WRAPPER plain_fdw;
GRANT USAGE ON FOREIGN SERVER loop_back TO bob_oncall, ns_breakglass_admin;
CREATE ROLE victim_appr LOGIN IN ROLE ns_breakglass_approver;
CREATE VIEW orders.v AS SELECT id FROM orders.secrets;
ALTER VIEW orders.v OWNER TO orders_owner;
GRANT SELECT ON orders.v TO bob_oncall;
CREATE TABLE orders.tenant (tenant text, note text);
INSERT INTO orders.tenant VALUES ('bob', 'mine'), ('eve', 'theirs');
ALTER TABLE orders.tenant ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON orders.tenant USING (tenant = 'bob');
ALTER TABLE orders.tenant OWNER TO orders_owner;
GRANT SELECT ON orders.tenant TO bob_oncall;
CREATE FUNCTION orders.helper() RETURNS bigint LANGUAGE sql AS 'SELECT 1::bigint';
ALTER FUNCTION orders.helper() OWNER TO orders_owner;
CREATE TABLE orders.archive (id int, note text);
ALTER TABLE orders.archive OWNER TO orders_owner;
CREATE TABLE orders.bob_parent (id int, note text);
CREATE TABLE orders.bob_pparent (id int, note text) PARTITION BY RANGE (id);
ALTER TABLE orders.bob_parent OWNER TO bob_oncall;
ALTER TABLE orders.bob_pparent OWNER TO bob_oncall;
CREATE FUNCTION orders.bob_run(cmd text) RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$ BEGIN EXECUTE cmd; END $$;
ALTER FUNCTION orders.bob_run(text) OWNER TO bob_oncall;
GRANT EXECUTE ON FUNCTION orders.bob_run(text) TO app_user;
CREATE DATABASE ordersdb OWNER orders_owner;
SQL
)
reject "setup runs" "$out" "ERROR"
expect_line "bob cannot read orders.secrets before the request" "$(sql "SELECT has_table_privilege('bob_oncall', 'orders.secrets', 'SELECT')")" "f"

say "a real request, approved by another role"
id=$(sql "SELECT nspg_guard.breakglass_request('restore orders deleted by bad deploy', '10 minutes', 'INC-19')" bob_oncall | tail -n 1)
[[ "$id" =~ ^[0-9]+$ ]] && pass "bob_oncall filed request $id" || fail "breakglass_request: $id"
expect_line "carol_approver approves it" "$(sql "SELECT nspg_guard.breakglass_approve($id) > now()" carol_approver)" "t"
expect_line "bob is escalated" "$(sql "SELECT pg_has_role('ns_breakglass_admin', 'USAGE')" bob_oncall)" "t"
flush
mark=$(sql "SELECT coalesce(max(id), 0) FROM nspg_guard.audit_log")

say "escalated: SECURITY DEFINER code and ownership changes are refused"
refused "CREATE FUNCTION … SECURITY DEFINER (as the break-glass role)" "$(script bob_oncall <<'SQL'
SET ROLE ns_breakglass_admin;
CREATE FUNCTION orders.backdoor() RETURNS SETOF orders.secrets LANGUAGE sql SECURITY DEFINER AS 'SELECT * FROM orders.secrets';
SQL
)" "a SECURITY DEFINER function or procedure"
refused "ALTER FUNCTION … SECURITY DEFINER of the owner's function" "$(sql "ALTER FUNCTION orders.total() SECURITY DEFINER" bob_oncall)" \
    "a SECURITY DEFINER function or procedure"
refused "CREATE PROCEDURE … SECURITY DEFINER" "$(script bob_oncall <<'SQL'
SET ROLE ns_breakglass_admin;
CREATE PROCEDURE orders.p() LANGUAGE sql EXTERNAL SECURITY DEFINER AS 'SELECT 1';
SQL
)" "a SECURITY DEFINER function or procedure"
refused "ALTER FUNCTION … SET search_path of an existing SECURITY DEFINER function" \
    "$(sql "ALTER FUNCTION orders.report() SET search_path = public, orders" bob_oncall)" "a SECURITY DEFINER function or procedure"
refused "ALTER FUNCTION … RESET ALL of an existing SECURITY DEFINER function" \
    "$(sql "ALTER FUNCTION orders.report() RESET ALL" bob_oncall)" "a SECURITY DEFINER function or procedure"
refused "ALTER FUNCTION … OWNER TO bob" "$(sql "ALTER FUNCTION orders.total() OWNER TO bob_oncall" bob_oncall)" "changing the owner of objects"
refused "ALTER TABLE … OWNER TO bob" "$(sql "ALTER TABLE orders.secrets OWNER TO bob_oncall" bob_oncall)" "changing the owner of objects"
refused "REASSIGN OWNED BY orders_owner TO bob" "$(sql "REASSIGN OWNED BY orders_owner TO bob_oncall" bob_oncall)" "changing the owner of objects"

say "escalated: grants that would outlive the grant are refused"
refused "GRANT … WITH GRANT OPTION to bob" "$(sql "GRANT SELECT ON orders.secrets TO bob_oncall WITH GRANT OPTION" bob_oncall)" "GRANT … WITH GRANT OPTION"
refused "GRANT … WITH GRANT OPTION to app_user" "$(sql "GRANT SELECT ON orders.secrets TO app_user WITH GRANT OPTION" bob_oncall)" "GRANT … WITH GRANT OPTION"
refused "GRANT to bob himself" "$(sql "GRANT SELECT ON orders.secrets TO bob_oncall" bob_oncall)" \
    'granting privileges to role "bob_oncall", which "bob_oncall" holds without break-glass'
refused "GRANT to SESSION_USER" "$(sql "GRANT SELECT ON orders.secrets TO SESSION_USER" bob_oncall)" 'granting privileges to role "bob_oncall", which "bob_oncall" holds without break-glass'
refused "GRANT to bob_team (held without the break-glass role)" "$(sql "GRANT SELECT, UPDATE ON orders.secrets TO app_user, bob_team" bob_oncall)" \
    'granting privileges to role "bob_team", which "bob_oncall" holds without break-glass'
refused "GRANT to PUBLIC" "$(sql "GRANT SELECT ON orders.secrets TO PUBLIC" bob_oncall)" "granting privileges to PUBLIC"
refused "GRANT ALL ON ALL TABLES IN SCHEMA to bob" "$(sql "GRANT ALL ON ALL TABLES IN SCHEMA orders TO bob_oncall" bob_oncall)" 'granting privileges to role "bob_oncall", which "bob_oncall" holds without break-glass'
refused "ALTER DEFAULT PRIVILEGES FOR ROLE orders_owner" \
    "$(sql "ALTER DEFAULT PRIVILEGES FOR ROLE orders_owner IN SCHEMA orders GRANT SELECT ON TABLES TO bob_oncall" bob_oncall)" "ALTER DEFAULT PRIVILEGES"
refused "ALTER DEFAULT PRIVILEGES … TO app_user" "$(sql "ALTER DEFAULT PRIVILEGES FOR ROLE orders_owner GRANT SELECT ON TABLES TO app_user" bob_oncall)" "ALTER DEFAULT PRIVILEGES"

say "escalated: roles, memberships and user mappings are refused (the break-glass role has CREATEROLE)"
rolechange="creating, changing or dropping roles, granting or revoking role memberships, or changing user mappings"
for stmt in "GRANT orders_owner TO bob_oncall" "GRANT ns_breakglass_admin TO bob_team" \
    "CREATE ROLE bob_shadow LOGIN PASSWORD 'x' IN ROLE orders_owner" "ALTER GROUP orders_owner ADD USER bob_oncall" \
    "ALTER ROLE bob_team LOGIN PASSWORD 'x'" "ALTER ROLE bob_team SET search_path = orders" \
    "ALTER ROLE bob_team RENAME TO bob_team2" "CREATE USER MAPPING FOR bob_oncall SERVER loop_back OPTIONS (user 'orders_owner')"; do
    out=$(printf 'SET ROLE ns_breakglass_admin;\n%s;\n' "$stmt" | script bob_oncall)
    if [[ "$stmt" == "GRANT ns_breakglass_admin"* ]]; then
        expect "$stmt: refused 42501 (the break-glass role only through a request)" "$out" \
            'ERROR:  42501: nspg_guard: break-glass role "ns_breakglass_admin" is given only through an approved request'
    else
        refused "$stmt" "$out" "$rolechange"
    fi
done

say "escalated: no role management at all, REVOKE and DROP ROLE included (red team 19, findings 1 and 8)"
# a REVOKE of the membership the writer must delete would lock its pg_auth_members row
# and hold off the expiry; stripping approvers and admins would leave nobody to end it
refused "REVOKE ns_breakglass_admin FROM bob_oncall" \
    "$(printf 'SET ROLE ns_breakglass_admin;\nREVOKE ns_breakglass_admin FROM bob_oncall;\n' | script bob_oncall)" "$rolechange"
refused "the same REVOKE inside DO … EXECUTE" "$(script bob_oncall <<'SQL'
SET ROLE ns_breakglass_admin;
DO $$DECLARE v text; BEGIN EXECUTE 'REVOKE ns_breakglass_admin FROM bob_oncall'; v := pg_sleep(0)::text; END$$;
SQL
)" "$rolechange"
for stmt in "REVOKE ns_breakglass_approver FROM carol_approver" "REVOKE ns_admin FROM alice_admin" "DROP ROLE victim_appr" \
    "DROP ROLE bob_team" "ALTER GROUP orders_owner DROP USER ns_breakglass_admin" "DROP USER MAPPING IF EXISTS FOR bob_oncall SERVER loop_back"; do
    refused "$stmt" "$(printf 'SET ROLE ns_breakglass_admin;\n%s;\n' "$stmt" | script bob_oncall)" "$rolechange"
done
expect_line "carol and alice keep their roles, victim_appr exists" \
    "$(sql "SELECT pg_has_role('carol_approver', 'ns_breakglass_approver', 'MEMBER'), pg_has_role('alice_admin', 'ns_admin', 'MEMBER'), (SELECT count(*) FROM pg_roles WHERE rolname IN ('victim_appr', 'bob_team'))")" "t|t|2"

say "escalated: grants to pg_database_owner are refused (red team 19, finding 9)"
refused "GRANT … TO pg_database_owner" "$(sql "GRANT SELECT ON orders.secrets TO pg_database_owner" bob_oncall)" \
    'granting privileges to role "pg_database_owner", which "bob_oncall" holds without break-glass'

say "escalated: access rules and code of objects owned by others are refused (red team 19, finding 2)"
others='changing row security, policies, triggers, rules, views or functions of an object owned by role "orders_owner"'
out=$(script bob_oncall <<'SQL'
SET ROLE ns_breakglass_admin;
CREATE FUNCTION orders.bg_trg() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
SELECT 'trigger function created';
CREATE OR REPLACE VIEW orders.v AS SELECT id, note FROM orders.secrets;
ALTER TABLE orders.tenant DISABLE ROW LEVEL SECURITY;
ALTER POLICY own ON orders.tenant USING (true);
SQL
)
expect_line "the break-glass role creates a trigger function of its own" "$out" "trigger function created"
[[ $(grep -c "ERROR:  42501: nspg_guard: $others is refused" <<<"$out") == 3 ]] \
    && pass "CREATE OR REPLACE VIEW, ALTER TABLE … DISABLE ROW LEVEL SECURITY, ALTER POLICY: all three refused" || fail "the red team's three statements: $out"
for stmt in "ALTER TABLE orders.tenant NO FORCE ROW LEVEL SECURITY" "ALTER TABLE orders.tenant FORCE ROW LEVEL SECURITY" \
    "CREATE POLICY all_rows ON orders.tenant USING (true)" "DROP POLICY own ON orders.tenant" \
    "ALTER VIEW orders.v SET (security_barrier = false)" "ALTER TABLE orders.v ALTER COLUMN id SET DEFAULT 0" \
    "CREATE OR REPLACE FUNCTION orders.helper() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM orders.secrets'" \
    "ALTER FUNCTION orders.helper() SET search_path = public" "ALTER FUNCTION orders.helper() RENAME TO helper_old" \
    "ALTER FUNCTION orders.helper() SET SCHEMA public" \
    "CREATE TRIGGER plant BEFORE INSERT ON orders.secrets FOR EACH ROW EXECUTE FUNCTION orders.bg_trg()" \
    "CREATE OR REPLACE TRIGGER plant BEFORE INSERT ON orders.tenant FOR EACH ROW EXECUTE FUNCTION orders.bg_trg()" \
    "CREATE RULE plant AS ON INSERT TO orders.secrets DO ALSO NOTIFY planted" \
    "CREATE OR REPLACE RULE plant AS ON UPDATE TO orders.tenant DO ALSO NOTIFY planted" \
    "ALTER TABLE orders.secrets DISABLE TRIGGER ALL" \
    "DO \$\$ BEGIN EXECUTE 'ALTER TABLE orders.tenant DISABLE ROW LEVEL SECURITY'; END \$\$"; do
    refused "$stmt" "$(printf 'SET ROLE ns_breakglass_admin;\n%s;\n' "$stmt" | script bob_oncall)" "$others"
done
refused "ALTER TABLE … DISABLE ROW LEVEL SECURITY as bob himself" "$(sql "ALTER TABLE orders.tenant DISABLE ROW LEVEL SECURITY" bob_oncall)" "$others"

say "escalated: a table of others hung under bob's own parent, a database's settings, bob's code run from another session (red team, stop 30)"
# PostgreSQL checks a parent's privileges only: bob's parent would reach the owner's rows for good
refused "ALTER TABLE … INHERIT bob's parent" "$(sql "ALTER TABLE orders.secrets INHERIT orders.bob_parent" bob_oncall)" "$others"
refused "ATTACH PARTITION of the owner's table to bob's parent" \
    "$(sql "ALTER TABLE orders.bob_pparent ATTACH PARTITION orders.archive FOR VALUES FROM (0) TO (1000)" bob_oncall)" "$others"
# every later session of that database would resolve names through bob's schema first
refused "ALTER DATABASE … SET search_path of the owner's database" \
    "$(sql "ALTER DATABASE ordersdb SET search_path = orders, public" bob_oncall)" \
    'changing row security, policies, triggers, rules, views or functions of an object owned by role "orders_owner"'
# bob's SECURITY DEFINER function, called by app_user while bob is escalated, runs as bob
refused "bob's SECURITY DEFINER code from app_user's session: GRANT … WITH GRANT OPTION to bob" \
    "$(sql "SELECT orders.bob_run('GRANT SELECT ON orders.secrets TO bob_oncall WITH GRANT OPTION')" app_user)" "GRANT … WITH GRANT OPTION"
refused "… ALTER TABLE … OWNER TO bob" "$(sql "SELECT orders.bob_run('ALTER TABLE orders.archive OWNER TO bob_oncall')" app_user)" "changing the owner of objects"
refused "… ALTER DEFAULT PRIVILEGES" \
    "$(sql "SELECT orders.bob_run('ALTER DEFAULT PRIVILEGES FOR ROLE orders_owner GRANT SELECT ON TABLES TO bob_oncall')" app_user)" "ALTER DEFAULT PRIVILEGES"
expect_line "… while what outlasts nothing runs as before" "$(sql "SELECT orders.bob_run('SELECT 1'); SELECT 'ran'" app_user)" "ran"
expect "nothing of it took effect: inherits, database settings, owner, default privileges, bob's grant" "$(sql "SELECT
    (SELECT count(*) FROM pg_inherits WHERE inhparent IN ('orders.bob_parent'::regclass, 'orders.bob_pparent'::regclass))
    || ' ' || (SELECT count(*) FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase WHERE d.datname = 'ordersdb')
    || ' ' || (SELECT count(*) FROM pg_class WHERE relname = 'archive' AND relowner = 'bob_oncall'::regrole)
    || ' ' || (SELECT count(*) FROM pg_default_acl WHERE defaclrole = 'orders_owner'::regrole)
    || ' ' || (SELECT count(*) FROM pg_class c, aclexplode(c.relacl) a WHERE c.oid = 'orders.secrets'::regclass AND a.grantee = 'bob_oncall'::regrole)")" "0 0 0 0 0"
# bob's own fixtures, made before the request, go: the checks after the end count what bob owns
sql "DROP FUNCTION orders.bob_run(text); DROP TABLE orders.bob_parent, orders.bob_pparent" >/dev/null
out=$(script bob_oncall <<'SQL'
SET ROLE ns_breakglass_admin;
ALTER TABLE orders.tenant ADD COLUMN fixed_at timestamptz;
ALTER TABLE orders.secrets ALTER COLUMN note SET DEFAULT 'n/a';
CREATE INDEX secrets_note ON orders.secrets (note);
UPDATE orders.tenant SET fixed_at = now() WHERE tenant = 'eve';
ALTER FUNCTION orders.helper() STABLE;
CREATE TABLE orders.bg_fix (id int, note text);
CREATE VIEW orders.bg_v AS SELECT id FROM orders.bg_fix;
CREATE OR REPLACE VIEW orders.bg_v AS SELECT id, note FROM orders.bg_fix;
ALTER VIEW orders.bg_v SET (security_barrier = true);
ALTER TABLE orders.bg_fix ENABLE ROW LEVEL SECURITY;
CREATE POLICY app_reads ON orders.bg_fix USING (true);
DROP POLICY app_reads ON orders.bg_fix;
ALTER TABLE orders.bg_fix DISABLE ROW LEVEL SECURITY;
CREATE OR REPLACE FUNCTION orders.bg_trg() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.note := coalesce(NEW.note, '-'); RETURN NEW; END $$;
CREATE TRIGGER fill BEFORE INSERT ON orders.bg_fix FOR EACH ROW EXECUTE FUNCTION orders.bg_trg();
CREATE RULE fill_rule AS ON UPDATE TO orders.bg_fix DO ALSO NOTIFY fixed;
DROP TRIGGER fill ON orders.bg_fix;
SELECT 'own objects changed';
SQL
)
reject "emergency work on the owner's table and on the grant's own objects runs" "$out" "ERROR"
expect_line "columns, defaults, indexes, ALTER FUNCTION … STABLE; RLS, policies, views, triggers, rules of what the grant created" "$out" "own objects changed"

say "escalated: objects of bob's own role and prepared transactions are refused"
out=$(sql "CREATE TABLE orders.bob_copy AS SELECT * FROM orders.secrets" bob_oncall)
refused "CREATE TABLE AS as bob" "$out" 'creating objects as role "bob_oncall"'
expect "the HINT says SET ROLE" "$out" "HINT:  SET ROLE ns_breakglass_admin first"
refused "SELECT INTO as bob" "$(sql "SELECT * INTO orders.bob_copy2 FROM orders.secrets" bob_oncall)" 'creating objects as role "bob_oncall"'
refused "CREATE TABLE as bob" "$(sql "CREATE TABLE orders.bob_t (id int)" bob_oncall)" 'creating objects as role "bob_oncall"'
refused "CREATE VIEW as bob" "$(sql "CREATE VIEW orders.bob_v AS SELECT * FROM orders.secrets" bob_oncall)" 'creating objects as role "bob_oncall"'
refused "CREATE FUNCTION as bob" "$(sql "CREATE FUNCTION orders.bob_f() RETURNS int LANGUAGE sql AS 'SELECT 1'" bob_oncall)" 'creating objects as role "bob_oncall"'
out=$(script bob_oncall <<'SQL'
BEGIN;
UPDATE orders.secrets SET note = 'changed by a prepared transaction' WHERE id = 1;
PREPARE TRANSACTION 'bob_later';
SQL
)
refused "PREPARE TRANSACTION" "$out" "PREPARE TRANSACTION"
out=$(script bob_oncall <<'SQL'
SET ROLE ns_breakglass_admin;
BEGIN;
UPDATE orders.secrets SET note = 'changed by a prepared transaction' WHERE id = 1;
PREPARE TRANSACTION 'bg_later';
SQL
)
refused "PREPARE TRANSACTION as the break-glass role" "$out" "PREPARE TRANSACTION"

say "escalated: the same refused at every nesting level"
refused "inside DO" "$(sql "DO \$\$ BEGIN EXECUTE 'GRANT SELECT ON orders.secrets TO bob_oncall'; END \$\$" bob_oncall)" 'granting privileges to role "bob_oncall", which "bob_oncall" holds without break-glass'
refused "ALTER DEFAULT PRIVILEGES inside DO" "$(sql "DO \$\$ BEGIN ALTER DEFAULT PRIVILEGES FOR ROLE orders_owner GRANT SELECT ON TABLES TO bob_oncall; END \$\$" bob_oncall)" "ALTER DEFAULT PRIVILEGES"
out=$(script bob_oncall <<'SQL'
SET ROLE ns_breakglass_admin;
CREATE FUNCTION orders.plant(what text) RETURNS void LANGUAGE plpgsql AS $$ BEGIN EXECUTE what; END $$;
CREATE FUNCTION orders.plant_sql() RETURNS void LANGUAGE sql AS $$ GRANT SELECT ON orders.secrets TO PUBLIC $$;
SELECT 'helpers created';
SELECT orders.plant('GRANT SELECT ON orders.secrets TO bob_oncall WITH GRANT OPTION');
SELECT orders.plant('ALTER FUNCTION orders.total() SECURITY DEFINER');
SELECT orders.plant_sql();
PREPARE planted AS SELECT orders.plant('ALTER TABLE orders.secrets OWNER TO bob_oncall');
EXECUTE planted;
RESET ROLE;
SELECT orders.plant('CREATE TABLE orders.bob_nested (id int)');
SQL
)
expect_line "the break-glass role creates SECURITY INVOKER helper functions" "$out" "helpers created"
refused "GRANT … WITH GRANT OPTION inside a PL/pgSQL function" "$out" "GRANT … WITH GRANT OPTION"
refused "ALTER FUNCTION … SECURITY DEFINER inside a PL/pgSQL function" "$out" "a SECURITY DEFINER function or procedure"
refused "GRANT … TO PUBLIC inside a SQL function" "$out" "granting privileges to PUBLIC"
refused "ALTER TABLE … OWNER TO through a prepared statement" "$out" "changing the owner of objects"
refused "CREATE TABLE as bob inside a PL/pgSQL function" "$out" 'creating objects as role "bob_oncall"'

say "escalated: the extended protocol (parse, bind, execute) is refused the same"
WIRE=$REPO_ROOT/tests/pgwire/target/release/pgwire
CARGO_TARGET_DIR="$REPO_ROOT/tests/pgwire/target" cargo build --release --quiet --manifest-path "$REPO_ROOT/tests/pgwire/Cargo.toml"
out=$("$WIRE" "host=$DIR port=$PORT user=bob_oncall dbname=postgres application_name=bp_wire" <<'S' 2>&1 || true
parse - GRANT SELECT ON orders.secrets TO bob_oncall WITH GRANT OPTION
bind - -
execute - 0
sync
parse s1 SELECT orders.total()
bind - s1
execute - 0
sync
parse - PREPARE TRANSACTION 'bob_wire'
bind - -
execute - 0
sync
S
)
expect "GRANT … WITH GRANT OPTION over the extended protocol" "$out" \
    "ERROR 42501 nspg_guard: GRANT … WITH GRANT OPTION is refused while escalated through break-glass"
expect "PREPARE TRANSACTION over the extended protocol" "$out" \
    "ERROR 42501 nspg_guard: PREPARE TRANSACTION is refused while escalated through break-glass"
expect_line "a plain query still runs" "$out" "ROW 2"

say "escalated: normal emergency work still runs"
out=$(script bob_oncall <<'SQL'
SELECT 'rows ' || count(*) FROM orders.secrets;
ALTER FUNCTION orders.total() STABLE;
UPDATE orders.secrets SET note = 'fixed' WHERE id = 2;
CREATE TEMP TABLE scratch AS SELECT * FROM orders.secrets;
SELECT 'temp ' || count(*) FROM scratch;
SET ROLE ns_breakglass_admin;
CREATE TABLE orders.restored (id int, note text);
INSERT INTO orders.restored SELECT * FROM orders.secrets;
GRANT SELECT ON orders.restored TO app_user;
REVOKE UPDATE ON orders.secrets FROM app_user;
SELECT 'restored ' || count(*) FROM orders.restored;
DROP FUNCTION orders.plant(text);
DROP FUNCTION orders.plant_sql();
SQL
)
expect_line "DML on the owner's table" "$out" "rows 2"
expect_line "CREATE TEMP TABLE as bob" "$out" "temp 2"
expect_line "CREATE TABLE, INSERT after SET ROLE to the break-glass role" "$out" "restored 2"
reject "no error in normal work" "$out" "ERROR"
expect_line "app_user was granted SELECT on the restored table" "$(sql "SELECT has_table_privilege('app_user', 'orders.restored', 'SELECT')")" "t"

say "a transaction that ran escalated keeps the rules until it ends"
# the membership goes (here by hand) while the transaction is open: its PREPARE is still refused
out=$(script bob_oncall <<SQL
BEGIN;
UPDATE orders.secrets SET note = 'changed while escalated' WHERE id = 1;
\\! "$PG_BIN/psql" -X -h "$DIR" -p "$PORT" -U postgres -d postgres -qAt -c "REVOKE ns_breakglass_admin FROM bob_oncall"
SELECT 'escalated now: ' || pg_has_role('bob_oncall', 'ns_breakglass_admin', 'MEMBER');
PREPARE TRANSACTION 'bob_after_revoke';
SQL
)
expect "the membership is gone inside the transaction" "$out" "escalated now: false"
refused "PREPARE TRANSACTION of a transaction that ran escalated" "$out" "PREPARE TRANSACTION"

say "every refusal is audited with its hint"
flush
out=$(sql "SELECT count(*) FILTER (WHERE details->>'hint' <> '') = count(*), count(*) >= 30 FROM nspg_guard.audit_log
           WHERE id > $mark AND class = 'denied' AND \"session_user\" = 'bob_oncall' AND reason LIKE '%refused while escalated through break-glass'")
expect_line "class denied rows, each with a hint" "$out" "t|t"

say "after breakglass_end() nothing persists"
expect_line "carol ends the request" "$(sql "SELECT nspg_guard.breakglass_end($id) >= 0" carol_approver)" "t"
out=$(sql "SELECT * FROM orders.secrets" bob_oncall)
expect "bob cannot read orders.secrets" "$out" "ERROR:  42501: permission denied for table secrets"
expect_line "bob holds no privilege on the owner's table" "$(sql "SELECT has_table_privilege('bob_oncall', 'orders.secrets', 'SELECT') OR has_table_privilege('bob_team', 'orders.secrets', 'SELECT') OR has_table_privilege('public', 'orders.secrets', 'SELECT')")" "f"
expect_line "no grant option given" "$(sql "SELECT count(*) FROM pg_class c, aclexplode(c.relacl) a WHERE c.relnamespace = 'orders'::regnamespace AND a.is_grantable")" "0"
expect_line "no default privileges" "$(sql "SELECT count(*) FROM pg_default_acl WHERE defaclrole = 'orders_owner'::regrole")" "0"
expect_line "no SECURITY DEFINER function" "$(sql "SELECT count(*) FROM pg_proc WHERE prosecdef AND pronamespace = 'orders'::regnamespace AND proname <> 'report'")" "0"
expect_line "the owner's SECURITY DEFINER function is unchanged" "$(sql "SELECT proconfig FROM pg_proc WHERE oid = 'orders.report()'::regprocedure")" "{search_path=orders}"
expect_line "bob owns nothing in orders" "$(sql "SELECT count(*) FROM pg_class WHERE relowner = 'bob_oncall'::regrole") $(sql "SELECT count(*) FROM pg_proc WHERE proowner = 'bob_oncall'::regrole")" "0 0"
expect_line "no prepared transaction" "$(sql "SELECT count(*) FROM pg_prepared_xacts")" "0"
expect_line "bob is a member of bob_team only" "$(sql "SELECT string_agg(roleid::regrole::text, ',') FROM pg_auth_members WHERE member = 'bob_oncall'::regrole")" "bob_team"
expect_line "no role was created or renamed" "$(sql "SELECT count(*) FROM pg_roles WHERE rolname IN ('bob_shadow', 'bob_team2')") $(sql "SELECT rolcanlogin FROM pg_roles WHERE rolname = 'bob_team'")" "0 f"
expect_line "no user mapping" "$(sql "SELECT count(*) FROM pg_user_mappings")" "0"
expect_line "the owner's view, row security and policy are unchanged; bob sees his tenant row only" \
    "$(sql "SELECT count(*) FROM pg_attribute WHERE attrelid = 'orders.v'::regclass AND attnum > 0") $(sql "SELECT relrowsecurity FROM pg_class WHERE oid = 'orders.tenant'::regclass") $(sql "SELECT qual FROM pg_policies WHERE tablename = 'tenant'") $(sql "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'orders.secrets'::regclass") $(sql "SELECT count(*) FROM pg_rewrite WHERE ev_class IN ('orders.secrets'::regclass, 'orders.tenant'::regclass)")" \
    "1 t (tenant = 'bob'::text) 0 0"
expect_line "the owner's invoker function is unchanged" "$(sql "SELECT prosrc, proconfig IS NULL FROM pg_proc WHERE oid = 'orders.helper()'::regprocedure")" "SELECT 1::bigint|t"
expect_line "pg_database_owner got nothing" "$(sql "SELECT has_table_privilege('pg_database_owner', 'orders.secrets', 'SELECT')")" "f"
expect_line "the restored table stays, owned by the break-glass role; app_user reads it" \
    "$(sql "SELECT relowner::regrole FROM pg_class WHERE oid = 'orders.restored'::regclass") $(sql "SELECT count(*) FROM orders.restored" app_user)" "ns_breakglass_admin 2"

say "the break-glass role only through an approved request"
flush
mark=$(sql "SELECT coalesce(max(id), 0) FROM nspg_guard.audit_log")
direct='break-glass role "ns_breakglass_admin" is given only through an approved request'
out=$(sql "GRANT ns_breakglass_admin TO alice_admin" alice_admin)
expect "a CREATEROLE admin's GRANT of it to itself: refused 42501" "$out" "ERROR:  42501: nspg_guard: $direct"
expect "with a HINT to file a request" "$out" "HINT:  File a request"
expect "CREATE ROLE … IN ROLE it: refused" "$(sql "CREATE ROLE sneaky LOGIN IN ROLE ns_breakglass_admin" alice_admin)" "ERROR:  42501: nspg_guard: $direct"
expect "ALTER GROUP it ADD USER: refused" "$(sql "ALTER GROUP ns_breakglass_admin ADD USER alice_admin" alice_admin)" "ERROR:  42501: nspg_guard: $direct"
expect "ALTER ROLE it LOGIN PASSWORD: refused" "$(sql "ALTER ROLE ns_breakglass_admin LOGIN PASSWORD 'known'" alice_admin)" "ERROR:  42501: nspg_guard: $direct"
expect "ALTER ROLE it RENAME: refused" "$(sql "ALTER ROLE ns_breakglass_admin RENAME TO bg_renamed" alice_admin)" "ERROR:  42501: nspg_guard: $direct"
sql "CREATE ROLE bg_helpers NOLOGIN" >/dev/null
out=$(sql "GRANT ns_breakglass_admin TO bg_helpers")
reject "a superuser gives it to bg_helpers" "$out" "ERROR"
expect "GRANT of a role that is a member of it: refused" "$(sql "GRANT bg_helpers TO alice_admin" alice_admin)" "ERROR:  42501: nspg_guard: $direct"
expect_line "alice_admin got none of it" "$(sql "SELECT pg_has_role('alice_admin', 'ns_breakglass_admin', 'MEMBER'), (SELECT count(*) FROM pg_roles WHERE rolname = 'sneaky'), (SELECT rolcanlogin FROM pg_roles WHERE rolname = 'ns_breakglass_admin')")" "f|0|f"
reject "a superuser's direct GRANT runs" "$(sql "GRANT ns_breakglass_admin TO app_user")" "ERROR"
expect_line "app_user is a member" "$(sql "SELECT pg_has_role('app_user', 'ns_breakglass_admin', 'MEMBER')")" "t"
flush
out=$(sql "SELECT \"session_user\", command_tag, object_identity, details->>'flagged', details->>'request_id' IS NULL, statement
           FROM nspg_guard.audit_log WHERE id > $mark AND class = 'breakglass' AND outcome = 'granted_directly' ORDER BY id")
expect_line "flagged breakglass event for the superuser's grant to bg_helpers" "$out" "postgres|GRANT ROLE|ns_breakglass_admin|true|t|GRANT ns_breakglass_admin TO bg_helpers"
expect_line "flagged breakglass event for the superuser's grant to app_user" "$out" "postgres|GRANT ROLE|ns_breakglass_admin|true|t|GRANT ns_breakglass_admin TO app_user"
expect_line "the refusals are audited (class denied)" "$(sql "SELECT count(*) FROM nspg_guard.audit_log WHERE id > $mark AND class = 'denied' AND \"session_user\" = 'alice_admin' AND reason LIKE '%given only through an approved request'")" "6"
sql "REVOKE ns_breakglass_admin FROM app_user, bg_helpers" >/dev/null

say "the roles that decide who gets power are protected (red team 19, findings 5 and 7)"
flush
mark=$(sql "SELECT coalesce(max(id), 0) FROM nspg_guard.audit_log")
approver='approver role "ns_breakglass_approver" and its members are changed only by a superuser'
out=$(sql "CREATE ROLE alice_shadow LOGIN IN ROLE ns_breakglass_approver" alice_admin)
expect "a CREATEROLE admin's sock-puppet approver (CREATE ROLE … IN ROLE): refused 42501" "$out" "ERROR:  42501: nspg_guard: $approver"
expect "with a HINT" "$out" "HINT:  Ask a superuser"
for stmt in "GRANT ns_breakglass_approver TO alice_admin" "ALTER GROUP ns_breakglass_approver ADD USER alice_admin" \
    "ALTER ROLE carol_approver PASSWORD 'taken over'" "ALTER ROLE victim_appr VALID UNTIL 'infinity'" \
    "ALTER ROLE ns_breakglass_approver LOGIN" "ALTER ROLE carol_approver RENAME TO carol_old" "DROP ROLE ns_breakglass_approver" \
    "ALTER ROLE ns_breakglass_approver RENAME TO appr_old"; do
    expect "$stmt: refused" "$(sql "$stmt" alice_admin)" "ERROR:  42501: nspg_guard: $approver"
done
for stmt in "DROP ROLE ns_breakglass_admin" "CREATE ROLE ns_breakglass_admin ROLE alice_admin"; do
    expect "$stmt: refused" "$(sql "$stmt" alice_admin)" "ERROR:  42501: nspg_guard: $direct"
done
out=$(sql "CREATE ROLE tmpbg NOLOGIN" alice_admin; sql "ALTER ROLE tmpbg RENAME TO ns_breakglass_admin" alice_admin)
expect "renaming another role to the break-glass role's name: refused" "$out" "ERROR:  42501: nspg_guard: $direct"
out=$(sql "CREATE ROLE tmpappr NOLOGIN" alice_admin; sql "ALTER ROLE tmpappr RENAME TO ns_breakglass_approver" alice_admin)
expect "renaming another role to an approver role's name: refused" "$out" "ERROR:  42501: nspg_guard: $approver"
expect_line "nothing changed: no shadow role, carol's password unchanged, both protected roles in place" \
    "$(sql "SELECT (SELECT count(*) FROM pg_roles WHERE rolname IN ('alice_shadow', 'carol_old', 'appr_old')), pg_has_role('alice_admin', 'ns_breakglass_approver', 'MEMBER'), (SELECT rolpassword IS NULL FROM pg_authid WHERE rolname = 'carol_approver'), (SELECT count(*) FROM pg_roles WHERE rolname IN ('ns_breakglass_admin', 'ns_breakglass_approver'))")" "0|f|t|2"
reject "the admin still manages other roles" "$(sql "ALTER ROLE tmpbg LOGIN; DROP ROLE tmpbg, tmpappr" alice_admin)" "ERROR"
reject "a superuser adds an approver" "$(sql "CREATE ROLE appr2 LOGIN IN ROLE ns_breakglass_approver")" "ERROR"
flush
expect_line "recorded as a flagged break-glass event" "$(sql "SELECT \"session_user\", object_identity, details->>'flagged' FROM nspg_guard.audit_log WHERE id > $mark AND class = 'breakglass' AND outcome = 'granted_directly'")" "postgres|ns_breakglass_approver|true"
expect_line "the refusals are audited (class denied)" "$(sql "SELECT count(*) FROM nspg_guard.audit_log WHERE id > $mark AND class = 'denied' AND \"session_user\" = 'alice_admin'")" "13"

id2=$(sql "SELECT nspg_guard.breakglass_request('replay the failed payment batch', '10 minutes', 'INC-20')" bob_oncall | tail -n 1)
expect_line "the approval path still grants it" "$(sql "SELECT nspg_guard.breakglass_approve($id2) > now(), pg_has_role('bob_oncall', 'ns_breakglass_admin', 'MEMBER')" carol_approver)" "t|t"
sql "SELECT nspg_guard.breakglass_end($id2)" bob_oncall >/dev/null
expect_line "the requester gives up the access himself with breakglass_end()" \
    "$(sql "SELECT pg_has_role('bob_oncall', 'ns_breakglass_admin', 'MEMBER'), state FROM nspg_guard.breakglass_requests WHERE id = $id2")" "f|ended"

finish
