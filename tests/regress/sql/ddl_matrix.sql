-- ddl_matrix: who may run which class of statement, in each mode of nspg_guard.ddl_guard.
--
-- One representative statement per class is run by every kind of role in every mode. The
-- rule under test: schema and privilege changes (and CREATE EXTENSION, whose script creates
-- objects) need a migration role, an admin role or a superuser; role management needs an admin
-- or a superuser; everything else is anyone's as far as the DDL guard goes. In warn and off
-- modes the DDL guard refuses nothing. TRUNCATE (class destructive) is not the DDL guard's: the
-- destructive guard, left in enforce here, allows it to migration and admin roles only.
--
-- Each role is given the PostgreSQL privileges its statements need (CREATE on a scratch schema,
-- a table of its own, CREATE on the database, pg_write_server_files), so that wherever the
-- matrix says DENIED it is the guard deciding, not PostgreSQL's own permission checks.
-- The risky-capability guard (suite risky) is off here, so the risky probe shows the DDL guard's
-- view alone.
SET nspg_guard.risky_guard = off;

CREATE SCHEMA matrix;
CREATE TEMP TABLE matrix_roles (ord int, role name);
INSERT INTO matrix_roles VALUES (1, 'ns_app_rw_orders'), (2, 'ns_app_ro_orders'), (3, 'ns_analytics_ro'),
    (4, 'ns_migrate_orders'), (5, 'ns_owner_orders'), (6, 'alice_admin'), (7, 'ns_dba');

DO $$
DECLARE r name;
BEGIN
    FOR r IN SELECT role FROM matrix_roles ORDER BY ord LOOP
        EXECUTE format('GRANT USAGE, CREATE ON SCHEMA matrix TO %I', r);
        EXECUTE format('CREATE TABLE matrix.%I (i int)', r || '_t');
        EXECUTE format('ALTER TABLE matrix.%I OWNER TO %I', r || '_t', r);
        EXECUTE format('GRANT CREATE ON DATABASE %I TO %I', current_database(), r);  -- trusted extensions
        EXECUTE format('GRANT pg_write_server_files TO %I', r);                      -- COPY TO a file
    END LOOP;
END $$;

-- The probes, one per class. %1$I is the role's own table. ALTER ROLE CURRENT_USER SET is a
-- role statement every role may run on itself as far as PostgreSQL is concerned.
CREATE TEMP TABLE matrix_probes (ord int, class text, statement text);
INSERT INTO matrix_probes VALUES
    (1, 'schema',           'CREATE TABLE matrix.probe (i int)'),
    (2, 'privilege',        'GRANT SELECT ON matrix.%1$I TO PUBLIC'),
    (3, 'role',             'ALTER ROLE CURRENT_USER SET work_mem = ''8MB'''),
    (4, 'maintenance',      'ANALYZE matrix.%1$I'),
    (5, 'session',          'SET work_mem = ''8MB'''),
    (6, 'risky',            'COPY (SELECT 1) TO ''/dev/null'''),
    (7, 'create extension', 'CREATE EXTENSION citext SCHEMA matrix'),
    (9, 'destructive',      'TRUNCATE matrix.%1$I');

CREATE TEMP TABLE matrix_result (mode text, role name, class text, outcome text);

-- For each mode and role: SET ROLE and the probe run in a subtransaction. A probe that succeeds
-- raises NSOK0 so that its effects (and the SET ROLE) are rolled back; a refusal by the guard is
-- an error 42501 whose message starts with "nspg_guard:"; anything else is shown with its
-- SQLSTATE. The warnings of warn mode are shown once further down, not here.
DO $$
DECLARE
    m text;
    r name;
    p record;
    outcome text;
BEGIN
    FOREACH m IN ARRAY ARRAY['enforce', 'warn', 'off'] LOOP
        PERFORM set_config('nspg_guard.ddl_guard', m, false);
        PERFORM set_config('client_min_messages', CASE m WHEN 'warn' THEN 'error' ELSE 'notice' END, false);
        FOR r IN SELECT role FROM matrix_roles ORDER BY ord LOOP
            FOR p IN SELECT * FROM matrix_probes ORDER BY ord LOOP
                BEGIN
                    EXECUTE format('SET ROLE %I', r);
                    EXECUTE format(p.statement, r || '_t');
                    RAISE SQLSTATE 'NSOK0';
                EXCEPTION
                    WHEN SQLSTATE 'NSOK0' THEN
                        outcome := 'allowed';
                    WHEN OTHERS THEN
                        outcome := CASE WHEN SQLSTATE = '42501' AND SQLERRM LIKE 'nspg_guard:%' THEN 'DENIED'
                                        ELSE SQLSTATE || ': ' || SQLERRM END;
                END;
                INSERT INTO matrix_result VALUES (m, r, p.class, outcome);
            END LOOP;
        END LOOP;
    END LOOP;
    RESET client_min_messages;
    RESET nspg_guard.ddl_guard;
END $$;

-- The data class (COPY to or from the client) cannot be tried inside PL/pgSQL: PostgreSQL
-- refuses it there before any hook sees it. So psql runs it, one line per mode and role, as an
-- implicit transaction: SET ROLE, COPY … TO STDOUT (no rows), RESET ROLE, record 'allowed'. If
-- the COPY failed, the line would stop there and its error would be printed here (ECHO errors).
\set ECHO errors
SELECT format('SET nspg_guard.ddl_guard = %s; SET ROLE %I; COPY (SELECT 1 WHERE false) TO STDOUT; '
              'RESET ROLE; INSERT INTO matrix_result VALUES (%L, %L, ''data'', ''allowed'')', m, r.role, m, r.role)
FROM unnest(ARRAY['enforce', 'warn', 'off']) m, matrix_roles r
ORDER BY array_position(ARRAY['enforce', 'warn', 'off'], m), r.ord
\gexec
\set ECHO all
RESET nspg_guard.ddl_guard;

-- The matrix: rows mode and role, columns the statement classes.
SELECT x.mode, x.role,
       max(outcome) FILTER (WHERE class = 'schema')           AS schema,
       max(outcome) FILTER (WHERE class = 'privilege')        AS privilege,
       max(outcome) FILTER (WHERE class = 'role')             AS role,
       max(outcome) FILTER (WHERE class = 'maintenance')      AS maintenance,
       max(outcome) FILTER (WHERE class = 'session')          AS session,
       max(outcome) FILTER (WHERE class = 'risky')            AS risky,
       max(outcome) FILTER (WHERE class = 'create extension') AS "create extension",
       max(outcome) FILTER (WHERE class = 'data')             AS data,
       max(outcome) FILTER (WHERE class = 'destructive')      AS destructive
FROM matrix_result x JOIN matrix_roles USING (role)
GROUP BY x.mode, x.role, matrix_roles.ord
ORDER BY array_position(ARRAY['enforce', 'warn', 'off'], x.mode), matrix_roles.ord;

-- The same outcomes checked against the rule as the issue words it: every cell is filled
-- (9 classes x 7 roles x 3 modes = 189) and no cell differs from the rule.
SELECT count(*) AS cells FROM matrix_result;
SELECT mode, role, class, outcome AS observed, expected
FROM (SELECT *, CASE
          WHEN class = 'destructive'
               AND role NOT IN ('ns_migrate_orders', 'ns_owner_orders', 'alice_admin', 'ns_dba') THEN 'DENIED'
          WHEN mode <> 'enforce' THEN 'allowed'
          WHEN class IN ('schema', 'privilege', 'create extension')
               AND role NOT IN ('ns_migrate_orders', 'ns_owner_orders', 'alice_admin', 'ns_dba') THEN 'DENIED'
          WHEN class = 'role' AND role NOT IN ('alice_admin', 'ns_dba') THEN 'DENIED'
          ELSE 'allowed' END AS expected
      FROM matrix_result) x
WHERE outcome IS DISTINCT FROM expected;

-- What warn mode says instead of refusing: the same text as the error, as a WARNING, and the
-- statement runs (the table exists afterwards, until the ROLLBACK).
\set VERBOSITY default
BEGIN;
SET LOCAL nspg_guard.ddl_guard = warn;
SET LOCAL ROLE ns_app_rw_orders;
CREATE TABLE matrix.created_in_warn_mode (i int);
SELECT to_regclass('matrix.created_in_warn_mode') IS NOT NULL AS created;
ROLLBACK;

-- Clean up: nothing of this suite stays behind.
SET client_min_messages = warning;
DO $$
DECLARE r name;
BEGIN
    FOR r IN SELECT role FROM matrix_roles ORDER BY ord LOOP
        EXECUTE format('REVOKE CREATE ON DATABASE %I FROM %I', current_database(), r);
        EXECUTE format('REVOKE pg_write_server_files FROM %I', r);
    END LOOP;
END $$;
DROP SCHEMA matrix CASCADE;
RESET client_min_messages;
