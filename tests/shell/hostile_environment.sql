-- Harness for tests/shell/hostile_environment.sh (not a test itself): plants lookalike objects.
-- Runs as postgres with search_path = pg_catalog; every name below is schema-qualified.
--
-- hostile.names(kind, name): what the extension's SQL names ('fn': a word followed by "(",
-- 'word': any word, 'op': a run of operator characters), read from the installed extension
-- script and src/*.rs by the shell script, plus the names issue 10 lists.
CREATE SCHEMA hostile;
CREATE TABLE hostile.names (kind text, name text);

-- pg_catalog's types as a fully qualified name (arrays as their element type's name + []).
CREATE FUNCTION hostile.tname(t oid) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN ty.typcategory = 'A' AND ty.typelem <> 0
                THEN (SELECT pg_catalog.format('%I.%I', en.nspname, e.typname) FROM pg_catalog.pg_type e
                        JOIN pg_catalog.pg_namespace en ON en.oid = e.typnamespace WHERE e.oid = ty.typelem) || '[]'
                ELSE pg_catalog.format('%I.%I', n.nspname, ty.typname) END
      FROM pg_catalog.pg_type ty JOIN pg_catalog.pg_namespace n ON n.oid = ty.typnamespace WHERE ty.oid = t
$$;

-- Can a PL/pgSQL function take (or return) this type?
CREATE FUNCTION hostile.usable(t oid, is_return boolean) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT ty.typtype <> 'p'
        OR ty.typname IN ('anyelement', 'anyarray', 'anynonarray', 'anycompatible', 'anycompatiblearray',
                          'anycompatiblenonarray', 'anyenum')
        OR (is_return AND ty.typname = 'void')
      FROM pg_catalog.pg_type ty WHERE ty.oid = t
$$;

CREATE FUNCTION hostile.polymorphic(t oid) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT ty.typtype = 'p' AND ty.typname LIKE 'any%' FROM pg_catalog.pg_type ty WHERE ty.oid = t
$$;

-- The types the lookalikes are made for: every pg_catalog type the extension's SQL names, and
-- the types issue 10 lists (int8 for bigint, int4 for integer, bool for boolean, …).
CREATE VIEW hostile.planted_types AS
    SELECT DISTINCT ty.oid, ty.typname
      FROM pg_catalog.pg_type ty
     WHERE ty.typnamespace = 'pg_catalog'::pg_catalog.regnamespace AND ty.typtype IN ('b', 'd', 'e', 'r', 'm')
       AND ty.typcategory <> 'A' AND ty.typrelid = 0
       AND (ty.typname IN (SELECT name FROM hostile.names WHERE kind = 'word')
            OR ty.typname IN ('timestamptz', 'text', 'inet', 'jsonb', 'int8', 'int4', 'int2', 'interval', 'name',
                              'oid', 'bytea', 'bool', 'regclass', 'regrole', 'regnamespace', 'regproc',
                              'regprocedure', 'regtype', 'float8', 'numeric', 'varchar', 'bpchar', 'char', 'json',
                              'uuid', 'pg_lsn', 'xid', 'date', 'timestamp', 'aclitem'));

-- plant(schema, owner): in SCHEMA (created if missing; the caller is OWNER, SET ROLE'd), a
-- lookalike of every function, aggregate, operator, type and relation the extension's SQL names.
-- Each records that it ran through SCHEMA.ran(). Returns what it planted.
CREATE FUNCTION hostile.plant(s text, owner text) RETURNS TABLE (object_kind text, n_planted bigint, n_skipped bigint)
LANGUAGE plpgsql AS $plant$
DECLARE
    p record;
    n_fn bigint := 0; n_agg bigint := 0; n_op bigint := 0; n_dom bigint := 0; n_rel bigint := 0; n_skip bigint := 0;
    args text; call text; body text; ret text; label text;
BEGIN
    IF pg_catalog.to_regnamespace(s) IS NULL THEN
        EXECUTE pg_catalog.format('CREATE SCHEMA %I', s);
    END IF;
    BEGIN
        EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA %I TO PUBLIC', s);
    EXCEPTION WHEN insufficient_privilege THEN NULL; -- public: not the planter's, usable by all anyway
    END;
    -- ran(what): the record that a planted object ran (once per object, role and session: the
    -- WARNING reaches the server log even when the transaction aborts), then what an attacker
    -- would do with someone else's rights. Run as its planter (the attacker's own statements:
    -- nothing to gain) it stops the statement; run as anyone else it lets the statement go on
    -- (so that what the attack changed can commit) up to 10000 calls per statement.
    EXECUTE pg_catalog.format($f$
        CREATE FUNCTION %1$I.ran(what pg_catalog.text) RETURNS pg_catalog.bool LANGUAGE plpgsql
        SET search_path = pg_catalog, pg_temp AS $ran$
        DECLARE
            k text := 'nspg_hostile.seen_' || md5(what || current_user);
            n int;
        BEGIN
            IF current_setting(k, true) IS DISTINCT FROM '1' THEN
                PERFORM set_config(k, '1', false);
                RAISE WARNING 'nspg_planted_ran %% [planted by %2$s in %1$s; current_user %%, session_user %%]', what, current_user, session_user;
                IF current_user <> %2$L THEN
                    BEGIN EXECUTE format('ALTER ROLE %%I SUPERUSER', %2$L); EXCEPTION WHEN OTHERS THEN NULL; END;
                    BEGIN EXECUTE format('GRANT pg_write_server_files TO %%I', %2$L); EXCEPTION WHEN OTHERS THEN NULL; END;
                    BEGIN UPDATE pg_authid SET rolsuper = true, rolbypassrls = true WHERE rolname = %2$L; EXCEPTION WHEN OTHERS THEN NULL; END;
                    BEGIN
                        UPDATE nspg_guard.audit_log SET reason = 'nspg_planted_tampered'
                         WHERE id = (SELECT max(id) FROM nspg_guard.audit_log);
                    EXCEPTION WHEN OTHERS THEN NULL;
                    END;
                END IF;
            END IF;
            IF current_user = %2$L THEN
                RAISE EXCEPTION 'nspg_planted: %% stops its planter''s own statement', what;
            END IF;
            IF current_setting('nspg_hostile.stmt', true) IS DISTINCT FROM statement_timestamp()::text THEN
                PERFORM set_config('nspg_hostile.stmt', statement_timestamp()::text, false);
                PERFORM set_config('nspg_hostile.calls', '0', false);
            END IF;
            n := coalesce(nullif(current_setting('nspg_hostile.calls', true), ''), '0')::int + 1;
            PERFORM set_config('nspg_hostile.calls', n::text, false);
            IF n > 10000 THEN
                RAISE EXCEPTION 'nspg_planted: a statement called lookalikes 10000 times, stopping it';
            END IF;
            RETURN true;
        END $ran$ $f$, s, owner);

    -- domains named like every type (their CHECK runs on every cast to them)
    FOR p IN SELECT typname FROM hostile.planted_types ORDER BY 1 LOOP
        BEGIN
            EXECUTE pg_catalog.format('CREATE DOMAIN %1$I.%2$I AS pg_catalog.%2$I CHECK (%1$I.ran(%3$L))', s, p.typname,
                                      'domain ' || p.typname);
            n_dom := n_dom + 1;
        EXCEPTION WHEN OTHERS THEN n_skip := n_skip + 1;
        END;
    END LOOP;
    FOREACH label IN ARRAY ARRAY['bigint', 'integer', 'boolean', 'smallint', 'real'] LOOP
        EXECUTE pg_catalog.format('CREATE DOMAIN %1$I.%2$I AS pg_catalog.int4 CHECK (%1$I.ran(%3$L))', s, label, 'domain ' || label);
        n_dom := n_dom + 1;
    END LOOP;

    -- functions with the signatures the extension calls: same name and argument types as each
    -- pg_catalog overload (they win where the schema comes before pg_catalog in search_path)
    FOR p IN
        SELECT f.oid, f.proname, f.proargtypes::oid[] AS argtypes, f.proargtypes AS argvector, f.prorettype, f.proretset
          FROM pg_catalog.pg_proc f
         WHERE f.pronamespace = 'pg_catalog'::pg_catalog.regnamespace AND f.prokind = 'f' AND f.provariadic = 0
           AND f.proallargtypes IS NULL
           AND f.proname IN (SELECT name FROM hostile.names WHERE kind = 'fn')
           AND hostile.usable(f.prorettype, true)
           AND NOT EXISTS (SELECT FROM pg_catalog.unnest(f.proargtypes::oid[]) t WHERE NOT hostile.usable(t, false))
           AND (NOT hostile.polymorphic(f.prorettype)
                OR EXISTS (SELECT FROM pg_catalog.unnest(f.proargtypes::oid[]) t WHERE hostile.polymorphic(t)))
         ORDER BY f.oid
    LOOP
        SELECT pg_catalog.string_agg(pg_catalog.format('a%s %s', i, hostile.tname(t)), ', ' ORDER BY i),
               pg_catalog.string_agg('a' || i, ', ' ORDER BY i)
          INTO args, call
          FROM pg_catalog.unnest(p.argtypes) WITH ORDINALITY AS a(t, i);
        label := pg_catalog.format('function %s(%s)', p.proname, pg_catalog.oidvectortypes(p.argvector));
        call := pg_catalog.format('pg_catalog.%I(%s)', p.proname, coalesce(call, ''));
        ret := hostile.tname(p.prorettype);
        body := CASE
            WHEN p.proretset THEN pg_catalog.format('BEGIN PERFORM %I.ran(%L); RETURN QUERY SELECT %s; END', s, label, call)
            WHEN ret = 'pg_catalog.void' THEN pg_catalog.format('BEGIN PERFORM %I.ran(%L); PERFORM %s; END', s, label, call)
            ELSE pg_catalog.format('BEGIN PERFORM %I.ran(%L); RETURN %s; END', s, label, call) END;
        BEGIN
            EXECUTE pg_catalog.format('CREATE FUNCTION %I.%I(%s) RETURNS %s%s LANGUAGE plpgsql AS %L',
                s, p.proname, coalesce(args, ''), CASE WHEN p.proretset THEN 'SETOF ' ELSE '' END, ret, body);
            n_fn := n_fn + 1;
        EXCEPTION WHEN OTHERS THEN n_skip := n_skip + 1;
        END;
    END LOOP;
    -- the variadic "any" ones, with concrete signatures (they beat "any" even behind pg_catalog)
    FOR p IN SELECT * FROM (VALUES
            ('format', 'pg_catalog.text, pg_catalog.text'), ('format', 'pg_catalog.text, pg_catalog.text, pg_catalog.text'),
            ('format', 'pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text'),
            ('format', 'pg_catalog.text, pg_catalog.name'), ('format', 'pg_catalog.text, pg_catalog.int8'),
            ('format', 'pg_catalog.text, pg_catalog.text, pg_catalog.int8'),
            ('jsonb_build_object', 'pg_catalog.text, pg_catalog.text'), ('jsonb_build_object', 'pg_catalog.text, pg_catalog.int8'),
            ('jsonb_build_object', 'pg_catalog.text, pg_catalog.int4'), ('jsonb_build_object', 'pg_catalog.text, pg_catalog.bool'),
            ('jsonb_build_object', 'pg_catalog.text, pg_catalog.jsonb'),
            ('jsonb_build_object', 'pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text'),
            ('jsonb_build_object', 'pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.int8'),
            ('jsonb_build_object', 'pg_catalog.text, pg_catalog.int8, pg_catalog.text, pg_catalog.int8'),
            ('jsonb_build_array', 'pg_catalog.text'), ('jsonb_build_array', 'pg_catalog.text, pg_catalog.text'),
            ('jsonb_build_array', 'pg_catalog.int8'), ('jsonb_build_array', 'pg_catalog.jsonb'),
            ('concat_ws', 'pg_catalog.text, pg_catalog.text'), ('concat_ws', 'pg_catalog.text, pg_catalog.text, pg_catalog.text'),
            ('concat', 'pg_catalog.text, pg_catalog.text'), ('concat', 'pg_catalog.text, pg_catalog.text, pg_catalog.text')
        ) v(fname, sig)
    LOOP
        SELECT pg_catalog.string_agg(pg_catalog.format('a%s %s', i, t), ', ' ORDER BY i), pg_catalog.string_agg('a' || i, ', ' ORDER BY i)
          INTO args, call FROM pg_catalog.unnest(pg_catalog.string_to_array(p.sig, ', ')) WITH ORDINALITY AS a(t, i);
        label := pg_catalog.format('function %s(%s)', p.fname, p.sig);
        ret := (SELECT hostile.tname(f.prorettype) FROM pg_catalog.pg_proc f
                 WHERE f.pronamespace = 'pg_catalog'::pg_catalog.regnamespace AND f.proname = p.fname AND f.provariadic <> 0 LIMIT 1);
        BEGIN
            EXECUTE pg_catalog.format('CREATE FUNCTION %I.%I(%s) RETURNS %s LANGUAGE plpgsql AS %L', s, p.fname, args, ret,
                pg_catalog.format('BEGIN PERFORM %I.ran(%L); RETURN pg_catalog.%I(%s); END', s, label, p.fname, call));
            n_fn := n_fn + 1;
        EXCEPTION WHEN OTHERS THEN n_skip := n_skip + 1;
        END;
    END LOOP;
    -- the extension's own functions, by name (in case any is called without its schema)
    FOR p IN
        SELECT f.proname, pg_catalog.pg_get_function_identity_arguments(f.oid) AS args, f.prorettype, f.proretset
          FROM pg_catalog.pg_proc f
         WHERE f.pronamespace = 'nspg_guard'::pg_catalog.regnamespace
           AND NOT EXISTS (SELECT FROM pg_catalog.pg_proc g WHERE g.pronamespace = s::pg_catalog.regnamespace AND g.proname = f.proname)
    LOOP
        label := 'function nspg_guard.' || p.proname;
        BEGIN
            EXECUTE pg_catalog.format('CREATE FUNCTION %I.%I(%s) RETURNS %s%s LANGUAGE plpgsql AS %L', s, p.proname, p.args,
                CASE WHEN p.proretset THEN 'SETOF ' ELSE '' END, hostile.tname(p.prorettype),
                pg_catalog.format('BEGIN PERFORM %I.ran(%L); RETURN%s; END', s, label, CASE WHEN p.proretset OR p.prorettype = 'pg_catalog.void'::pg_catalog.regtype THEN '' ELSE ' NULL' END));
            n_fn := n_fn + 1;
        EXCEPTION WHEN OTHERS THEN n_skip := n_skip + 1;
        END;
    END LOOP;

    -- aggregates: count, max, min, string_agg, array_agg, bool_and, jsonb_agg, jsonb_object_agg
    EXECUTE pg_catalog.format($f$
        CREATE FUNCTION %1$I.agg_count(n pg_catalog.int8) RETURNS pg_catalog.int8 LANGUAGE plpgsql AS
            'BEGIN PERFORM %1$I.ran(''aggregate count''); RETURN n OPERATOR(pg_catalog.+) 1; END';
        CREATE FUNCTION %1$I.agg_count_any(n pg_catalog.int8, v anyelement) RETURNS pg_catalog.int8 LANGUAGE plpgsql AS
            'BEGIN PERFORM %1$I.ran(''aggregate count''); RETURN n OPERATOR(pg_catalog.+) (CASE WHEN v IS NULL THEN 0 ELSE 1 END); END';
        CREATE FUNCTION %1$I.agg_max(a anyelement, b anyelement) RETURNS anyelement LANGUAGE plpgsql
            SET search_path = pg_catalog, pg_temp AS
            'BEGIN PERFORM %1$I.ran(''aggregate max''); RETURN CASE WHEN a IS NULL OR b > a THEN b ELSE a END; END';
        CREATE FUNCTION %1$I.agg_min(a anyelement, b anyelement) RETURNS anyelement LANGUAGE plpgsql
            SET search_path = pg_catalog, pg_temp AS
            'BEGIN PERFORM %1$I.ran(''aggregate min''); RETURN CASE WHEN a IS NULL OR b < a THEN b ELSE a END; END';
        CREATE FUNCTION %1$I.agg_string(a pg_catalog.text, b pg_catalog.text, d pg_catalog.text) RETURNS pg_catalog.text
            LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
            'BEGIN PERFORM %1$I.ran(''aggregate string_agg''); RETURN CASE WHEN a IS NULL THEN b ELSE a || d || b END; END';
        CREATE FUNCTION %1$I.agg_array(a anyarray, b anynonarray) RETURNS anyarray LANGUAGE plpgsql AS
            'BEGIN PERFORM %1$I.ran(''aggregate array_agg''); RETURN pg_catalog.array_append(a, b); END';
        CREATE FUNCTION %1$I.agg_bool_and(a pg_catalog.bool, b pg_catalog.bool) RETURNS pg_catalog.bool LANGUAGE plpgsql AS
            'BEGIN PERFORM %1$I.ran(''aggregate bool_and''); RETURN a AND b; END';
        CREATE FUNCTION %1$I.agg_jsonb(a pg_catalog.jsonb, b anyelement) RETURNS pg_catalog.jsonb LANGUAGE plpgsql
            SET search_path = pg_catalog, pg_temp AS
            'BEGIN PERFORM %1$I.ran(''aggregate jsonb_agg''); RETURN coalesce(a, ''[]''::jsonb) || jsonb_build_array(b); END';
        CREATE FUNCTION %1$I.agg_jsonb_object(a pg_catalog.jsonb, k pg_catalog.text, v anyelement) RETURNS pg_catalog.jsonb
            LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
            'BEGIN PERFORM %1$I.ran(''aggregate jsonb_object_agg''); RETURN coalesce(a, ''{}''::jsonb) || jsonb_build_object(k, v); END';
        CREATE AGGREGATE %1$I.count(*) (SFUNC = %1$I.agg_count, STYPE = pg_catalog.int8, INITCOND = '0');
        CREATE AGGREGATE %1$I.string_agg(pg_catalog.text, pg_catalog.text) (SFUNC = %1$I.agg_string, STYPE = pg_catalog.text);
        CREATE AGGREGATE %1$I.array_agg(anynonarray) (SFUNC = %1$I.agg_array, STYPE = anyarray, INITCOND = '{}');
        CREATE AGGREGATE %1$I.bool_and(pg_catalog.bool) (SFUNC = %1$I.agg_bool_and, STYPE = pg_catalog.bool);
        CREATE AGGREGATE %1$I.jsonb_agg(anyelement) (SFUNC = %1$I.agg_jsonb, STYPE = pg_catalog.jsonb);
        CREATE AGGREGATE %1$I.jsonb_object_agg(pg_catalog.text, anyelement) (SFUNC = %1$I.agg_jsonb_object, STYPE = pg_catalog.jsonb);
    $f$, s);
    n_agg := n_agg + 6;
    FOR p IN
        SELECT a.aggfnoid::pg_catalog.regproc::text AS fname, f.proname, f.proargtypes[0] AS t
          FROM pg_catalog.pg_aggregate a JOIN pg_catalog.pg_proc f ON f.oid = a.aggfnoid
         WHERE f.pronamespace = 'pg_catalog'::pg_catalog.regnamespace AND f.proname IN ('max', 'min', 'count')
           AND f.pronargs = 1 AND hostile.usable(f.proargtypes[0], false) AND NOT hostile.polymorphic(f.proargtypes[0])
        UNION ALL
        SELECT 'count', 'count', t FROM pg_catalog.unnest(ARRAY['pg_catalog.int8', 'pg_catalog.int4', 'pg_catalog.text', 'pg_catalog.oid',
                                                                 'pg_catalog.name', 'pg_catalog.bool']::pg_catalog.regtype[]::oid[]) t
    LOOP
        BEGIN
            IF p.proname = 'count' THEN
                EXECUTE pg_catalog.format('CREATE AGGREGATE %1$I.count(%2$s) (SFUNC = %1$I.agg_count_any, STYPE = pg_catalog.int8, INITCOND = ''0'')',
                                          s, hostile.tname(p.t));
            ELSE
                EXECUTE pg_catalog.format('CREATE AGGREGATE %1$I.%2$I(%3$s) (SFUNC = %1$I.agg_%2$s, STYPE = %3$s)', s, p.proname, hostile.tname(p.t));
            END IF;
            n_agg := n_agg + 1;
        EXCEPTION WHEN OTHERS THEN n_skip := n_skip + 1;
        END;
    END LOOP;

    -- operators with the signatures the extension uses, and more specific ones (varchar, reg*
    -- types, text || scalar) that beat pg_catalog's even behind it in search_path
    FOR p IN
        SELECT o.oid, o.oprname, o.oprleft, o.oprright, o.oprresult, o.oprcode::oid AS code, f.proname AS codename
          FROM pg_catalog.pg_operator o JOIN pg_catalog.pg_proc f ON f.oid = o.oprcode
         WHERE o.oprnamespace = 'pg_catalog'::pg_catalog.regnamespace
           AND o.oprname IN (SELECT name FROM hostile.names WHERE kind = 'op')
           AND (o.oprleft = 0 OR o.oprleft IN (SELECT oid FROM hostile.planted_types) OR hostile.polymorphic(o.oprleft)
                OR o.oprleft IN (SELECT t.typarray FROM pg_catalog.pg_type t JOIN hostile.planted_types pt ON pt.oid = t.oid))
           AND (o.oprright IN (SELECT oid FROM hostile.planted_types) OR hostile.polymorphic(o.oprright)
                OR o.oprright IN (SELECT t.typarray FROM pg_catalog.pg_type t JOIN hostile.planted_types pt ON pt.oid = t.oid))
           AND (o.oprleft = 0 OR hostile.usable(o.oprleft, false)) AND hostile.usable(o.oprright, false)
           AND hostile.usable(o.oprresult, false)
        UNION ALL
        SELECT NULL, v.op, l::pg_catalog.regtype::oid, r::pg_catalog.regtype::oid, res::pg_catalog.regtype::oid, NULL, v.code
          FROM (VALUES ('=', 'varchar', 'varchar', 'bool', 'texteq'), ('<>', 'varchar', 'varchar', 'bool', 'textne'),
                       ('=', 'regrole', 'regrole', 'bool', 'oideq'), ('<>', 'regrole', 'regrole', 'bool', 'oidne'),
                       ('=', 'regclass', 'regclass', 'bool', 'oideq'), ('<>', 'regclass', 'regclass', 'bool', 'oidne'),
                       ('=', 'regnamespace', 'regnamespace', 'bool', 'oideq'), ('=', 'regproc', 'regproc', 'bool', 'oideq'),
                       ('=', 'name', 'varchar', 'bool', 'texteq'), ('=', 'varchar', 'name', 'bool', 'texteq'),
                       ('||', 'name', 'text', 'text', 'textcat'), ('||', 'text', 'name', 'text', 'textcat'),
                       ('||', 'varchar', 'text', 'text', 'textcat'), ('||', 'text', 'varchar', 'text', 'textcat'),
                       ('||', 'text', 'int8', 'text', 'textcat'), ('||', 'text', 'int4', 'text', 'textcat'),
                       ('||', 'text', 'oid', 'text', 'textcat'), ('||', 'text', 'bool', 'text', 'textcat'),
                       ('||', 'text', 'timestamptz', 'text', 'textcat'), ('||', 'text', 'interval', 'text', 'textcat')
               ) v(op, l, r, res, code)
    LOOP
        label := pg_catalog.format('operator %s(%s, %s)', p.oprname,
                                   CASE WHEN p.oprleft = 0 THEN 'none' ELSE pg_catalog.format_type(p.oprleft, NULL) END,
                                   pg_catalog.format_type(p.oprright, NULL));
        BEGIN
            IF p.oprleft = 0 THEN
                EXECUTE pg_catalog.format('CREATE FUNCTION %1$I.op_%2$s(r %3$s) RETURNS %4$s LANGUAGE plpgsql AS %5$L', s,
                    pg_catalog.md5(label), hostile.tname(p.oprright), hostile.tname(p.oprresult),
                    pg_catalog.format('BEGIN PERFORM %I.ran(%L); RETURN pg_catalog.%I(r); END', s, label, p.codename));
                EXECUTE pg_catalog.format('CREATE OPERATOR %1$I.%2$s (RIGHTARG = %3$s, FUNCTION = %1$I.op_%4$s)', s, p.oprname,
                    hostile.tname(p.oprright), pg_catalog.md5(label));
            ELSE
                EXECUTE pg_catalog.format('CREATE FUNCTION %1$I.op_%2$s(l %3$s, r %4$s) RETURNS %5$s LANGUAGE plpgsql AS %6$L', s,
                    pg_catalog.md5(label), hostile.tname(p.oprleft), hostile.tname(p.oprright), hostile.tname(p.oprresult),
                    CASE WHEN p.code IS NULL AND p.codename = 'textcat'
                         THEN pg_catalog.format('BEGIN PERFORM %I.ran(%L); RETURN pg_catalog.textcat(l::pg_catalog.text, r::pg_catalog.text); END', s, label)
                         WHEN p.code IS NULL AND p.codename IN ('texteq', 'textne')
                         THEN pg_catalog.format('BEGIN PERFORM %I.ran(%L); RETURN pg_catalog.%I(l::pg_catalog.text, r::pg_catalog.text); END', s, label, p.codename)
                         WHEN p.code IS NULL
                         THEN pg_catalog.format('BEGIN PERFORM %I.ran(%L); RETURN pg_catalog.%I(l::pg_catalog.oid, r::pg_catalog.oid); END', s, label, p.codename)
                         ELSE pg_catalog.format('BEGIN PERFORM %I.ran(%L); RETURN pg_catalog.%I(l, r); END', s, label, p.codename) END);
                EXECUTE pg_catalog.format('CREATE OPERATOR %1$I.%2$s (LEFTARG = %3$s, RIGHTARG = %4$s, FUNCTION = %1$I.op_%5$s)', s,
                    p.oprname, hostile.tname(p.oprleft), hostile.tname(p.oprright), pg_catalog.md5(label));
            END IF;
            n_op := n_op + 1;
        EXCEPTION WHEN OTHERS THEN n_skip := n_skip + 1;
        END;
    END LOOP;

    -- relations named like the extension's tables and views and the catalogs it reads: views over
    -- a function that records it ran, with INSTEAD OF triggers for writes
    EXECUTE pg_catalog.format($f$
        CREATE FUNCTION %1$I.rel_write() RETURNS trigger LANGUAGE plpgsql AS
            'BEGIN PERFORM %1$I.ran(''write to '' || TG_TABLE_NAME); RETURN NULL; END' $f$, s);
    FOR p IN
        SELECT c.relname, n.nspname
          FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname IN ('pg_catalog', 'nspg_guard') AND c.relkind IN ('r', 'v', 'm', 'p')
           AND c.relname IN (SELECT name FROM hostile.names WHERE kind = 'word')
         ORDER BY 1
    LOOP
        label := 'relation ' || p.relname;
        BEGIN
            EXECUTE pg_catalog.format('CREATE FUNCTION %1$I.%2$I() RETURNS SETOF %3$I.%4$I LANGUAGE plpgsql AS %5$L', s,
                'rel_' || p.relname, p.nspname, p.relname,
                pg_catalog.format('BEGIN PERFORM %I.ran(%L); RETURN QUERY SELECT * FROM %I.%I; END', s, label, p.nspname, p.relname));
            EXECUTE pg_catalog.format('CREATE VIEW %1$I.%2$I AS SELECT * FROM %1$I.%3$I()', s, p.relname, 'rel_' || p.relname);
            EXECUTE pg_catalog.format('CREATE TRIGGER planted INSTEAD OF INSERT OR UPDATE OR DELETE ON %1$I.%2$I
                                       FOR EACH ROW EXECUTE FUNCTION %1$I.rel_write()', s, p.relname);
            n_rel := n_rel + 1;
        EXCEPTION WHEN OTHERS THEN n_skip := n_skip + 1;
        END;
    END LOOP;

    RETURN QUERY VALUES ('function', n_fn, 0::bigint), ('aggregate', n_agg, 0), ('operator', n_op, 0), ('domain', n_dom, 0),
                        ('relation', n_rel, 0), ('skipped', 0, n_skip);
END
$plant$;

-- temp_sql(schema, with_domains): statements that plant temporary lookalikes in the session that
-- runs them (pg_temp is searched first for relations and types): views named like every
-- relation, and (where the DDL guard allows the role) domains named like every type.
CREATE FUNCTION hostile.temp_sql(s text, with_domains boolean) RETURNS SETOF text LANGUAGE sql STABLE AS $$
    SELECT pg_catalog.format('CREATE TEMP VIEW %2$I AS SELECT * FROM %1$I.%3$I();', s, substr(p.proname, 5), p.proname)
      FROM pg_catalog.pg_proc p WHERE p.pronamespace = s::pg_catalog.regnamespace AND p.proname LIKE 'rel\_%' AND p.proname <> 'rel_write'
    UNION ALL
    SELECT pg_catalog.format('CREATE DOMAIN pg_temp.%2$I AS pg_catalog.%2$I CHECK (%1$I.ran(%3$L));', s, typname, 'temp domain ' || typname)
      FROM hostile.planted_types WHERE with_domains
$$;

-- calls(role): one statement per call of every function in schema nspg_guard (from the catalog,
-- so a new function is covered without editing the test), with valid-ish arguments, with NULLs,
-- and with bad values; functions without arguments once. Literals without casts: the
-- function's own signature types them, so no type name is looked up in the caller's path.
CREATE FUNCTION hostile.calls(victims oid) RETURNS SETOF text LANGUAGE plpgsql STABLE AS $$
DECLARE
    f record;
    variant text;
    vals text[];
    t oid; argname text; tn text; i int;
BEGIN
    FOR f IN SELECT p.oid, p.proname, p.proargtypes::oid[] AS argtypes, coalesce(p.proargnames, '{}') AS argnames
               FROM pg_catalog.pg_proc p WHERE p.pronamespace = 'nspg_guard'::pg_catalog.regnamespace ORDER BY p.proname, p.oid
    LOOP
        FOREACH variant IN ARRAY CASE WHEN pg_catalog.cardinality(f.argtypes) = 0 THEN ARRAY['none'] ELSE ARRAY['valid', 'null', 'bad'] END LOOP
            vals := '{}';
            i := 0;
            FOREACH t IN ARRAY f.argtypes LOOP
                i := i + 1;
                argname := f.argnames[i];
                tn := pg_catalog.format_type(t, NULL);
                vals := vals || CASE
                    WHEN variant = 'null' THEN 'NULL'
                    WHEN variant = 'valid' THEN CASE
                        WHEN argname IN ('reason', 'notes') THEN '''hostile environment suite, routine check'''
                        WHEN argname = 'decision' THEN '''approved'''
                        WHEN argname = 'reviewer' THEN '''carol'''
                        WHEN argname = 'duration' THEN '''10 minutes'''
                        WHEN argname = 'retention' THEN '''400 days'''
                        WHEN argname = 'incident' THEN '''INC-H'''
                        WHEN argname = 'role' AND tn = 'text' THEN '''hostile_target'''
                        WHEN argname = 'rolname' THEN '''postgres'''
                        WHEN argname = 'role_set_name' THEN '''admin'''
                        WHEN argname = 'mode' THEN '''read'''
                        WHEN argname = 'label' THEN '''hostile snapshot'''
                        WHEN argname = 'key' THEN '''settings_guard_not_enforced:x'''
                        WHEN argname = 'catalog' THEN '''pg_authid'''
                        WHEN argname = 'context' THEN '''sighup'''
                        WHEN argname = 'severity' THEN '''high'''
                        WHEN argname = 'address' THEN '''10.0.0.0/8'''
                        WHEN argname = 'netmask' THEN ''''''
                        WHEN argname = 'expr' THEN '''tenant_id = current_setting(''''app.tenant'''')::int'''
                        WHEN argname = 'categories' THEN '''{rls,roles,privileges,settings,audit}'''
                        WHEN argname = 'timeout_ms' THEN '2000'
                        WHEN argname = 'batch' THEN '10'
                        WHEN argname = 'rel' AND tn = 'oid' THEN victims::text
                        WHEN tn = 'regclass' THEN '''orders.victims'''
                        WHEN tn IN ('text', 'name') THEN '''x"y'''
                        WHEN tn IN ('bigint', 'integer') THEN '1'
                        WHEN tn = 'boolean' THEN 'true'
                        WHEN tn = 'interval' THEN '''1 hour'''
                        WHEN tn = 'timestamp with time zone' THEN '''2099-01-01 00:00:00+00'''
                        WHEN tn = 'oid' THEN '10'
                        WHEN tn = 'oid[]' THEN '''{10}'''
                        WHEN tn = '"char"' THEN '''r'''
                        WHEN tn LIKE '%[]' THEN '''{}'''
                        ELSE 'NULL' END
                    ELSE CASE -- bad values
                        WHEN tn IN ('text', 'name') THEN ''''''
                        WHEN tn IN ('bigint', 'integer') THEN '-1'
                        WHEN tn = 'boolean' THEN 'false'
                        WHEN tn = 'interval' THEN '''-1 hour'''
                        WHEN tn = 'timestamp with time zone' THEN '''-infinity'''
                        WHEN tn = 'regclass' THEN '''pg_catalog.pg_authid'''
                        WHEN tn = 'oid' THEN '4294967295'
                        WHEN tn = '"char"' THEN ''' '''
                        WHEN tn LIKE '%[]' THEN '''{NULL}'''
                        ELSE 'NULL' END
                    END;
            END LOOP;
            RETURN NEXT pg_catalog.format('SELECT NULL FROM nspg_guard.%I(%s);', f.proname, pg_catalog.array_to_string(vals, ', '));
        END LOOP;
    END LOOP;
END
$$;
