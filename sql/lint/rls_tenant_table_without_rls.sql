-- A table with a tenant column (nspg_guard.tenant_columns) is multi-tenant, and NS-PG-007 §6.1
-- wants tenant separation enforced by the database: row level security must be on.
-- Column names match case-insensitively: "Tenant_Id" is the tenant_id column of another
-- spelling. Partitions and inheritance children of a table with row level security are left to
-- their parent, through which they are queried (and to rls_child_table_exposes_rows when they
-- are queried directly).
CREATE FUNCTION nspg_guard.lint_rls_tenant_table_without_rls()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'rls_tenant_table_without_rls', 'rls', 'error', 'table', r.identity,
           format('Table %s has tenant column%s %s but row level security is disabled, so tenants are separated only by the application.',
                  r.identity, CASE WHEN jsonb_array_length(a.names) > 1 THEN 's' ELSE '' END, a.columns),
           jsonb_build_object('tenant_columns', a.names),
           format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY;', r.identity),
           'rls_tenant_table_without_rls:' || r.identity
    FROM nspg_guard.lint_relations() r
    JOIN (SELECT attrelid, string_agg(quote_ident(attname), ', ' ORDER BY attnum) AS columns,
                 jsonb_agg(attname ORDER BY attnum) AS names
          FROM pg_catalog.pg_attribute
          WHERE attnum > 0 AND NOT attisdropped
            AND lower(attname) = ANY (SELECT lower(c) FROM unnest(nspg_guard.lint_tenant_columns()) c)
          GROUP BY attrelid) a ON a.attrelid = r.oid
    WHERE r.relkind IN ('r', 'p') AND NOT r.relispartition AND NOT r.relrowsecurity
      AND NOT EXISTS (SELECT FROM nspg_guard.lint_guarded_tables() g WHERE g.oid = r.oid)
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('rls_tenant_table_without_rls', 'rls', NULL,
    'A table with a tenant column (nspg_guard.tenant_columns) has no row level security.');
