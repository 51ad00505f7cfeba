-- Errors raised further down the hook chain reach the client exactly as PostgreSQL raised
-- them: CONTEXT, cursor position and the schema/table/constraint fields drivers rely on.
\set VERBOSITY default
\set SHOW_CONTEXT always
CREATE TABLE public.parent (id int PRIMARY KEY);
CREATE TABLE public.child (id int PRIMARY KEY, parent_id int REFERENCES public.parent,
                           qty int CONSTRAINT qty_positive CHECK (qty > 0));
INSERT INTO public.parent VALUES (1);
INSERT INTO public.child VALUES (1, 1, 5);

-- CONTEXT of an error inside a DO block (ProcessUtility) and a procedure (CALL)
DO $$ BEGIN PERFORM 1 / 0; END $$;
CREATE PROCEDURE public.divide() LANGUAGE plpgsql AS $$ BEGIN PERFORM 1 / 0; END $$;
CALL public.divide();
-- the cursor position of an error in a utility statement
CREATE TABLE public.bad (a no_such_type);

-- the error fields, read where a driver reads them
CREATE FUNCTION pg_temp.fields(stmt text) RETURNS TABLE (state text, schema_name text, table_name text, constraint_name text)
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, schema_name = SCHEMA_NAME,
                            table_name = TABLE_NAME, constraint_name = CONSTRAINT_NAME;
    RETURN NEXT;
END $$;
-- through ProcessUtility: a CHECK constraint added over violating rows
INSERT INTO public.child VALUES (2, 1, 7);
SELECT * FROM pg_temp.fields('ALTER TABLE public.child ADD CONSTRAINT qty_small CHECK (qty > 0 AND qty < 5)');
-- through ExecutorFinish: a foreign key checked by an AFTER trigger at the end of the statement
SELECT * FROM pg_temp.fields('INSERT INTO public.child VALUES (3, 99, 1)');
-- through ExecutorStart/Run: a CHECK constraint
SELECT * FROM pg_temp.fields('UPDATE public.child SET qty = 0 WHERE id = 1');
DROP TABLE public.child, public.parent;
DROP PROCEDURE public.divide();
