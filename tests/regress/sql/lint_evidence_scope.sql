-- Evidence that never overstates (issue 16): a rule not evaluated is counted apart, never as
-- info; the audit part says what was verified; snapshots cover every privilege-bearing catalog
-- (one change of each kind, exactly one row of snapshot_diff); remediations grouped by the
-- statement that clears them; the role graph marks the dangerous powers.
\set VERBOSITY default
\set SHOW_CONTEXT never

-- 1. not_evaluated is its own severity. A role that cannot read pg_authid, pg_hba_file_rules,
-- the trail or the hidden settings gets those rules as not_evaluated, first in lint()'s order,
-- and evidence() counts them apart: open_findings_by_severity has no such key and its info
-- count is not inflated by them.
SELECT nspg_guard.lint_severity_rank('not_evaluated') < nspg_guard.lint_severity_rank('error') AS not_evaluated_first;
SET ROLE ns_app_ro_orders;
SELECT rule, severity FROM nspg_guard.lint() WHERE severity = 'not_evaluated' ORDER BY rule;
SELECT (SELECT severity FROM nspg_guard.lint() LIMIT 1) AS first_severity;
SELECT e -> 'not_evaluated' ->> 'count' AS not_evaluated, e -> 'not_evaluated' ->> 'posture_complete' AS posture_complete,
       jsonb_path_query_array(e, '$.not_evaluated.rules[*].rule') AS rules,
       e -> 'open_findings_by_severity' ? 'not_evaluated' AS by_severity_has_it,
       (SELECT count(*) FROM jsonb_array_elements(e -> 'open_findings') f WHERE f ->> 'severity' = 'not_evaluated') AS in_open_findings,
       coalesce((e -> 'open_findings_by_severity' ->> 'info')::int, 0)
           = (SELECT count(*) FROM nspg_guard.lint() WHERE severity = 'info') AS info_counts_real_findings_only
FROM nspg_guard.evidence() e;
-- the audit part of a role that may not read the trail: not evaluated, not verified
SELECT e -> 'audit_retention' AS audit FROM nspg_guard.evidence() e;
RESET ROLE;
-- the superuser evaluates every rule
SELECT e -> 'not_evaluated' AS not_evaluated FROM nspg_guard.evidence() e;
-- suppressing a not-evaluated finding does not make the rule evaluated
SELECT nspg_guard.lint_suppress('roles_md5_password:not evaluated', 'the app role cannot read pg_authid', now() + interval '1 day');
SET ROLE ns_app_ro_orders;
SELECT jsonb_path_query_array(e, '$.not_evaluated.rules[*] ? (@.rule == "roles_md5_password").rule') AS still_counted
FROM nspg_guard.evidence() e;
RESET ROLE;
SELECT nspg_guard.lint_suppress('roles_md5_password:not evaluated', 'ended', now() - interval '1 second');

-- 2. the audit part: this database's trail verified here, its counts checked against the
-- catalog (one statement, one snapshot); other databases with a sealed trail named as not
-- verified from here (the trail is per database).
SELECT nspg_guard.audit_seal() >= 0 AS sealed;
WITH e AS (SELECT nspg_guard.evidence() -> 'audit_retention' AS a)
SELECT a -> 'this_database' ->> 'database' = current_database() AS this_database,
       a -> 'this_database' ->> 'verified_here' AS verified_here,
       (a -> 'this_database' ->> 'rows_present')::bigint = (SELECT count(*) FROM nspg_guard.audit_log) AS rows_present_is_the_table,
       (a -> 'this_database' ->> 'rows_checked')::bigint > 0 AS rows_checked,
       a -> 'this_database' ->> 'anchored' AS anchored, a -> 'this_database' ->> 'chain_ok' AS chain_ok,
       a ->> 'verified' AS verified, a ->> 'status' ~ '^verified' AS status_says_verified,
       a -> 'other_databases' AS other_databases
FROM e;
-- the audit database (postgres) has a sealed trail of its own: listed, not verified from here
SELECT d ->> 'database' AS database, d ->> 'verified_here' AS verified_here, d ->> 'status' AS status
FROM nspg_guard.evidence() e, jsonb_array_elements(e -> 'audit_retention' -> 'other_databases') d
WHERE d ->> 'database' = 'postgres';
SELECT (SELECT oid FROM pg_database WHERE datname = current_database()) = ANY (nspg_guard.audit_anchored_databases())
       AS this_database_anchored;

-- 3. snapshots: one change of each privilege kind, exactly one row of snapshot_diff each
SELECT nspg_guard.snapshot_save('snap base') AS base \gset
CREATE ROLE lint_snap LOGIN;
CREATE TYPE orders.status AS ENUM ('open', 'closed');
CREATE DOMAIN orders.qty AS int CHECK (VALUE > 0);
CREATE FOREIGN DATA WRAPPER lint_snap_fdw;
CREATE SERVER lint_snap_srv FOREIGN DATA WRAPPER lint_snap_fdw;
SET allow_in_place_tablespaces = true;
CREATE TABLESPACE lint_snap_ts LOCATION '';
RESET allow_in_place_tablespaces;
SELECT lo_create(0) AS lo \gset
SELECT nspg_guard.snapshot_save('snap') AS s \gset
-- (a) a database other than this one
GRANT CONNECT ON DATABASE template1 TO lint_snap;
SELECT nspg_guard.snapshot_save('snap') AS t \gset
SELECT change, section, object FROM nspg_guard.snapshot_diff(:s, :t);
-- (b) a tablespace
GRANT CREATE ON TABLESPACE lint_snap_ts TO lint_snap;
SELECT nspg_guard.snapshot_save('snap') AS s \gset
SELECT change, section, object FROM nspg_guard.snapshot_diff(:t, :s);
-- (c) a foreign data wrapper
GRANT USAGE ON FOREIGN DATA WRAPPER lint_snap_fdw TO lint_snap;
SELECT nspg_guard.snapshot_save('snap') AS t \gset
SELECT change, section, object FROM nspg_guard.snapshot_diff(:s, :t);
-- (d) a foreign server
GRANT USAGE ON FOREIGN SERVER lint_snap_srv TO lint_snap;
SELECT nspg_guard.snapshot_save('snap') AS s \gset
SELECT change, section, object FROM nspg_guard.snapshot_diff(:t, :s);
-- (e) a user mapping: that it exists, never its options
CREATE USER MAPPING FOR lint_snap SERVER lint_snap_srv OPTIONS (user 'remote', password 'mapping-secret');
SELECT nspg_guard.snapshot_save('snap') AS t \gset
SELECT change, section, object, after FROM nspg_guard.snapshot_diff(:s, :t);
SELECT position('mapping-secret' IN snapshot::text) AS secret_in_snapshot FROM nspg_guard.snapshots WHERE id = :t;
-- (f) a language
REVOKE USAGE ON LANGUAGE sql FROM PUBLIC;
SELECT nspg_guard.snapshot_save('snap') AS s \gset
SELECT change, section, object FROM nspg_guard.snapshot_diff(:t, :s);
GRANT USAGE ON LANGUAGE sql TO PUBLIC;
SELECT nspg_guard.snapshot_save('snap') AS s \gset
-- (g) a type
GRANT USAGE ON TYPE orders.status TO lint_snap;
SELECT nspg_guard.snapshot_save('snap') AS t \gset
SELECT change, section, object FROM nspg_guard.snapshot_diff(:s, :t);
-- (h) a domain
REVOKE USAGE ON DOMAIN orders.qty FROM PUBLIC;
SELECT nspg_guard.snapshot_save('snap') AS s \gset
SELECT change, section, object FROM nspg_guard.snapshot_diff(:t, :s);
-- (i) SET on a parameter
GRANT SET ON PARAMETER work_mem TO lint_snap;
SELECT nspg_guard.snapshot_save('snap') AS t \gset
SELECT change, section, object FROM nspg_guard.snapshot_diff(:s, :t);
-- (j) ALTER SYSTEM on a parameter
GRANT ALTER SYSTEM ON PARAMETER log_min_duration_statement TO lint_snap;
SELECT nspg_guard.snapshot_save('snap') AS s \gset
SELECT change, section, object FROM nspg_guard.snapshot_diff(:t, :s);
-- (k) ALTER ROLE … SET
ALTER ROLE lint_snap SET search_path = orders, public;
SELECT nspg_guard.snapshot_save('snap') AS t \gset
SELECT change, section, object, after FROM nspg_guard.snapshot_diff(:s, :t);
-- (l) ALTER ROLE … IN DATABASE … SET, changed: one "changed" row
ALTER ROLE lint_snap IN DATABASE nspg_regress SET work_mem = '8MB';
SELECT nspg_guard.snapshot_save('snap') AS s \gset
ALTER ROLE lint_snap IN DATABASE nspg_regress SET work_mem = '16MB';
SELECT nspg_guard.snapshot_save('snap') AS t \gset
SELECT change, section, object, before, after FROM nspg_guard.snapshot_diff(:s, :t);
-- (m) ALTER DATABASE … SET; a value whose name says it may be a secret is masked
ALTER DATABASE nspg_regress SET app.jwt_secret = 'role-setting-secret';
SELECT nspg_guard.snapshot_save('snap') AS s \gset
SELECT change, section, object, after FROM nspg_guard.snapshot_diff(:t, :s);
SELECT position('role-setting-secret' IN snapshot::text) AS secret_in_snapshot FROM nspg_guard.snapshots WHERE id = :s;
-- (n) a large object
GRANT SELECT ON LARGE OBJECT :lo TO lint_snap;
SELECT nspg_guard.snapshot_save('snap') AS t \gset
SELECT change, section, replace(object, :'lo', '<lo>') AS object FROM nspg_guard.snapshot_diff(:s, :t);
-- (o) row-level security switched on
ALTER TABLE orders.order_lines ENABLE ROW LEVEL SECURITY;
SELECT nspg_guard.snapshot_save('snap') AS s \gset
SELECT change, section, object FROM nspg_guard.snapshot_diff(:t, :s);
-- (p) a role attribute
ALTER ROLE lint_snap CREATEROLE;
SELECT nspg_guard.snapshot_save('snap') AS t \gset
SELECT change, section, object, before, after FROM nspg_guard.snapshot_diff(:s, :t);
-- undo everything
ALTER ROLE lint_snap NOCREATEROLE;
ALTER TABLE orders.order_lines DISABLE ROW LEVEL SECURITY;
SELECT lo_unlink(:lo);
ALTER DATABASE nspg_regress RESET app.jwt_secret;
ALTER ROLE lint_snap IN DATABASE nspg_regress RESET work_mem;
ALTER ROLE lint_snap RESET search_path;
REVOKE ALTER SYSTEM ON PARAMETER log_min_duration_statement FROM lint_snap;
REVOKE SET ON PARAMETER work_mem FROM lint_snap;
GRANT USAGE ON DOMAIN orders.qty TO PUBLIC;
DROP USER MAPPING FOR lint_snap SERVER lint_snap_srv;
DROP SERVER lint_snap_srv;
DROP FOREIGN DATA WRAPPER lint_snap_fdw;
DROP TABLESPACE lint_snap_ts;
REVOKE CONNECT ON DATABASE template1 FROM lint_snap;
DROP DOMAIN orders.qty;
DROP TYPE orders.status;
DROP ROLE lint_snap;
SELECT nspg_guard.snapshot_save('snap undone') AS t \gset
SELECT count(*) AS differences_after_undo
FROM nspg_guard.snapshot_diff(:base, :t);

-- 4. remediation grouped by the statement that fixes it: one row per distinct statement, with
-- the findings it clears (count and keys) and its side effects
SELECT bool_and(findings = cardinality(keys)) AS counts_match_keys,
       sum(findings) = (SELECT count(*) FROM nspg_guard.lint() WHERE remediation IS NOT NULL) AS every_finding_once,
       count(*) = count(DISTINCT remediation) AS one_row_per_statement
FROM nspg_guard.lint_remediation();
-- three schemas of one owner without default privileges: three findings, one statement
CREATE ROLE lint_rem_owner NOLOGIN;
CREATE SCHEMA lint_rem_a AUTHORIZATION lint_rem_owner;
CREATE SCHEMA lint_rem_b AUTHORIZATION lint_rem_owner;
CREATE SCHEMA lint_rem_c AUTHORIZATION lint_rem_owner;
SELECT remediation, findings, severity, rules, keys FROM nspg_guard.lint_remediation('{privileges}')
WHERE remediation LIKE '%lint_rem_owner%';
DROP SCHEMA lint_rem_a, lint_rem_b, lint_rem_c;
DROP ROLE lint_rem_owner;
-- side effects come from the findings' details (key side_effects)
ALTER SYSTEM SET password_encryption = 'md5';
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
\c
SELECT remediation, findings, side_effects FROM nspg_guard.lint_remediation('{settings}')
WHERE 'settings_password_encryption_not_scram' = ANY (rules);
ALTER SYSTEM RESET password_encryption;
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
\c
SELECT nspg_guard.lint_remediation('{nope}');
\echo :LAST_ERROR_SQLSTATE

-- 5. the role graph marks BYPASSRLS, CREATEROLE, superuser and server-file roles, directly and
-- through chains, with a legend
CREATE ROLE lint_bypass NOLOGIN BYPASSRLS;
CREATE ROLE lint_maker LOGIN CREATEROLE;
CREATE ROLE lint_files NOLOGIN IN ROLE pg_execute_server_program;
CREATE ROLE lint_reader LOGIN IN ROLE pg_read_server_files;
CREATE ROLE lint_dave LOGIN IN ROLE lint_files, lint_bypass;
SELECT line FROM regexp_split_to_table(nspg_guard.role_graph(), E'\n') line
WHERE line ~ '"(lint_|pg_execute|pg_read_server)' OR line ~ 'legend' ORDER BY line COLLATE "C";
DROP ROLE lint_dave, lint_reader, lint_files, lint_maker, lint_bypass;
