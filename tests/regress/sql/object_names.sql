-- Audit rows name what each statement acts on, for every shape of statement, and naming it
-- never fails the statement: DROP CAST, DROP CAST IF EXISTS and DROP TRANSFORM used to fail for
-- everyone, superusers included ("unexpected node type in name list"), because their object
-- lists hold type names. PostgreSQL's core regression suite runs every other shape
-- (scripts/pg_core_regress.sh).
\set VERBOSITY terse
SELECT coalesce(max(id), 0) AS start_id FROM nspg_guard.audit_log \gset
CREATE SCHEMA names;
CREATE TYPE names.money2 AS (amount numeric);
CREATE FUNCTION names.to_money2(numeric) RETURNS names.money2 LANGUAGE sql AS $$ SELECT ROW($1)::names.money2 $$;
CREATE CAST (numeric AS names.money2) WITH FUNCTION names.to_money2(numeric);
COMMENT ON CAST (numeric AS names.money2) IS 'a cast';
DROP CAST (numeric AS names.money2);
DROP CAST IF EXISTS (numeric AS names.money2);
DROP TRANSFORM IF EXISTS FOR int LANGUAGE sql;
CREATE OPERATOR FAMILY names.fam USING btree;
ALTER OPERATOR FAMILY names.fam USING btree RENAME TO fam2;
COMMENT ON OPERATOR FAMILY names.fam2 USING btree IS 'a family';
DROP OPERATOR FAMILY names.fam2 USING btree;
CREATE TABLE names.t (id int CONSTRAINT t_pos CHECK (id > 0));
COMMENT ON CONSTRAINT t_pos ON names.t IS 'positive';
CREATE POLICY p ON names.t USING (true);
ALTER POLICY p ON names.t RENAME TO p2;
DROP POLICY p2 ON names.t;
CREATE TRIGGER trg BEFORE INSERT ON names.t FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger();
DROP TRIGGER trg ON names.t;
CREATE DOMAIN names.posint AS int CONSTRAINT positive CHECK (VALUE > 0);
COMMENT ON CONSTRAINT positive ON DOMAIN names.posint IS 'positive';
ALTER DOMAIN names.posint RENAME CONSTRAINT positive TO above_zero;
DROP DOMAIN names.posint;
SELECT lo_create(4711) = 4711 AS large_object_created;
GRANT SELECT ON LARGE OBJECT 4711 TO PUBLIC;
SELECT lo_unlink(4711);
GRANT SELECT ON ALL TABLES IN SCHEMA names TO PUBLIC;
GRANT USAGE ON TYPE names.money2 TO PUBLIC;
ALTER FUNCTION names.to_money2(numeric) OWNER TO CURRENT_USER;
ALTER TABLE names.t RENAME CONSTRAINT t_pos TO t_positive;
ALTER TABLE names.t RENAME COLUMN id TO ident;
COMMENT ON COLUMN names.t.ident IS 'a column';
ALTER TABLE names.t RENAME TO t2;
DROP SCHEMA names CASCADE;
SELECT command_tag, object_type, object_identity FROM nspg_guard.audit_log
WHERE id > :start_id AND class IN ('schema', 'privilege', 'destructive') ORDER BY id;
