-- A line PostgreSQL could not parse is skipped when the file is loaded; after the next reload
-- the server may refuse connections this line was meant to allow, or keep the old rules.
CREATE FUNCTION nspg_guard.lint_hba_file_error(lines nspg_guard.hba_line[])
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'hba_file_error', 'hba', 'error',
           'hba_line', format('pg_hba.conf line %s', l.line_number),
           format('pg_hba.conf line %s has an error: %s.', l.line_number, l.error),
           jsonb_build_object('line_number', l.line_number, 'error', l.error),
           NULL,
           format('hba_file_error:line %s', l.line_number)
    FROM unnest(lines) l
    WHERE l.error IS NOT NULL
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('hba_file_error', 'hba', 'pg_catalog.pg_hba_file_rules',
    'pg_hba.conf has a line PostgreSQL cannot load.');
