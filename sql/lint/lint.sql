-- Entry points of the posture lint: lint_run (runs the registered rules), lint() (adds
-- suppressions and ordering), one function per category, and hba_lint_rows for checking
-- pg_hba.conf lines that are not (yet) the server's.

-- Runs the rules of `categories` (NULL: all). `hba_lines` NULL means "read the server's
-- pg_hba.conf", which takes privileges (lint_can_read); given lines need none. A rule whose
-- catalog the caller cannot read yields one not-evaluated finding instead of its findings.
CREATE FUNCTION nspg_guard.lint_run(categories text[], hba_lines nspg_guard.hba_line[])
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE plpgsql STABLE AS $$
DECLARE
    r nspg_guard.lint_rules;
    unknown text;
    lines nspg_guard.hba_line[] := hba_lines;
BEGIN
    IF categories IS NOT NULL THEN
        SELECT string_agg(coalesce(quote_literal(c), 'NULL'), ', ' ORDER BY c) INTO unknown
        FROM unnest(categories) c
        WHERE c IS NULL OR c <> ALL (nspg_guard.lint_categories());
        IF unknown IS NOT NULL OR cardinality(categories) = 0 THEN
            RAISE EXCEPTION 'nspg_guard: unknown lint categories: %', coalesce(unknown, 'none given')
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = format('Categories are %s; pass NULL for all of them.',
                                    array_to_string(nspg_guard.lint_categories(), ', '));
        END IF;
    END IF;
    FOR r IN SELECT * FROM nspg_guard.lint_rules
             WHERE categories IS NULL OR category = ANY (categories)
             ORDER BY category, rule
    LOOP
        -- given hba lines need no privilege; reading a catalog does
        IF r.reads IS NOT NULL AND NOT (r.reads = 'pg_catalog.pg_hba_file_rules' AND lines IS NOT NULL)
           AND NOT nspg_guard.lint_can_read(r.reads) THEN
            RETURN NEXT nspg_guard.lint_not_evaluated(r.rule, r.category, nspg_guard.lint_read_requirement(r.reads));
        ELSIF r.reads = 'pg_catalog.pg_hba_file_rules' THEN
            lines := coalesce(lines, nspg_guard.hba_file_lines());
            RETURN QUERY EXECUTE format('SELECT * FROM nspg_guard.%I($1)', 'lint_' || r.rule) USING lines;
        ELSE
            RETURN QUERY EXECUTE format('SELECT * FROM nspg_guard.%I()', 'lint_' || r.rule);
        END IF;
    END LOOP;
END
$$;

-- Severity order of findings: the worst first. A rule not evaluated comes before them all: what
-- it would have found is unknown, and could be an error.
CREATE FUNCTION nspg_guard.lint_severity_rank(severity text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN array_position(ARRAY['not_evaluated', 'error', 'warn', 'info'], severity);

-- The posture lint: every finding of the rules in `categories` (NULL: all), worst first.
-- Findings whose key is suppressed (nspg_guard.lint_suppress) until a time still to come are
-- left out unless include_suppressed.
CREATE FUNCTION nspg_guard.lint(categories text[] DEFAULT NULL, include_suppressed boolean DEFAULT false)
RETURNS TABLE (rule text, category text, severity text, object_type text, object_identity text,
               message text, details jsonb, remediation text, key text, suppressed boolean)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF include_suppressed IS NULL THEN
        RAISE EXCEPTION 'nspg_guard: lint: include_suppressed must not be null'
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Pass true or false, or leave it out (false).';
    END IF;
    RETURN QUERY
        SELECT f.*, s.key IS NOT NULL
        FROM nspg_guard.lint_run(categories, NULL) f
        LEFT JOIN nspg_guard.lint_suppressions s ON s.key = f.key AND s.until > now()
        WHERE include_suppressed OR s.key IS NULL
        ORDER BY nspg_guard.lint_severity_rank(f.severity), f.category, f.rule,
                 f.object_identity COLLATE "C", f.key COLLATE "C";
END
$$;

-- The open findings (not suppressed) grouped by the remediation that clears them: one row per
-- distinct statement, with the findings it clears, so that "12 findings" reads "1 statement"
-- when it is one. Findings without a runnable remediation are left out. side_effects gathers
-- what the findings' details say the statement does beyond clearing them (README, "Posture
-- lint and evidence").
CREATE FUNCTION nspg_guard.lint_remediation(categories text[] DEFAULT NULL)
RETURNS TABLE (remediation text, findings bigint, severity text, rules text[], keys text[], side_effects text[])
LANGUAGE sql STABLE AS $$
    SELECT f.remediation, count(*),
           (array_agg(f.severity ORDER BY nspg_guard.lint_severity_rank(f.severity)))[1],
           array_agg(DISTINCT f.rule ORDER BY f.rule),
           array_agg(f.key ORDER BY f.key COLLATE "C"),
           coalesce(array_agg(DISTINCT f.details ->> 'side_effects') FILTER (WHERE f.details ? 'side_effects'), '{}')
    FROM nspg_guard.lint(categories) f
    WHERE f.remediation IS NOT NULL
    GROUP BY f.remediation
    ORDER BY min(nspg_guard.lint_severity_rank(f.severity)), count(*) DESC, f.remediation COLLATE "C"
$$;

-- nspg_guard.rls_lint(), roles_lint(), privileges_lint(), hba_lint(), settings_lint(),
-- audit_lint(): lint() for one category.
DO $categories$
DECLARE
    c text;
BEGIN
    FOREACH c IN ARRAY nspg_guard.lint_categories() LOOP
        EXECUTE format($f$
            CREATE FUNCTION nspg_guard.%I(include_suppressed boolean DEFAULT false)
            RETURNS TABLE (rule text, category text, severity text, object_type text, object_identity text,
                           message text, details jsonb, remediation text, key text, suppressed boolean)
            LANGUAGE sql STABLE
            AS $body$ SELECT * FROM nspg_guard.lint(ARRAY[%L], include_suppressed) $body$
            $f$, c || '_lint', c);
    END LOOP;
END
$categories$;

-- The hba rules over the given lines instead of the server's file: to check a pg_hba.conf
-- before it is deployed, or lines written by hand.
CREATE FUNCTION nspg_guard.hba_lint_rows(lines nspg_guard.hba_line[])
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF lines IS NULL THEN
        RAISE EXCEPTION 'nspg_guard: hba_lint_rows: lines must not be null'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass an array of nspg_guard.hba_line, or call nspg_guard.hba_lint() for the server''s pg_hba.conf.';
    END IF;
    RETURN QUERY
        SELECT * FROM nspg_guard.lint_run(ARRAY['hba'], lines) f
        ORDER BY nspg_guard.lint_severity_rank(f.severity), f.rule, f.object_identity COLLATE "C", f.key COLLATE "C";
END
$$;
