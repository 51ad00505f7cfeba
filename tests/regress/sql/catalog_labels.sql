-- The extension's functions carry the labels PostgreSQL's own catalog checks (the core suite's
-- opr_sanity) demand: an IMMUTABLE function depends on its arguments only, so it is PARALLEL
-- SAFE too; left PARALLEL UNSAFE it would keep every query that calls it from parallel plans.
SELECT count(*) >= 10 AS has_immutable_functions
FROM pg_proc p
JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'nspg_guard'
WHERE p.provolatile = 'i';
SELECT p.oid::regprocedure AS immutable_but_parallel_unsafe
FROM pg_proc p
JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'nspg_guard'
WHERE p.provolatile = 'i' AND p.proparallel = 'u'
ORDER BY 1::text;
