-- Utility statements the DDL guard lets an app role run; every one passes through the
-- ProcessUtility hook, so this is the guard's worst case: cheap statements where its per-statement
-- check is the largest share. Same format and placeholders as statements.sql.
-- The temporary table is the role's own, so it may ANALYZE it (it may not ANALYZE bench_orders,
-- which a migration role owns: PostgreSQL would skip it with a warning).
CREATE TEMP TABLE bench_tmp (id int, v int)
-- @repeat
BEGIN
SET LOCAL work_mem = '{mb}MB'
SHOW work_mem
SAVEPOINT s{i}
DECLARE c{i} CURSOR FOR SELECT v FROM bench_orders WHERE id >= {id} ORDER BY id
FETCH 3 FROM c{i}
CLOSE c{i}
RELEASE SAVEPOINT s{i}
COMMIT
SET statement_timeout = '{s}s'
SHOW statement_timeout
RESET statement_timeout
SET application_name = 'bench_{i}'
PREPARE q{i} AS SELECT v FROM bench_orders WHERE id = $1
EXECUTE q{i}({id})
DEALLOCATE q{i}
EXPLAIN SELECT v FROM bench_orders WHERE id = {id}
ANALYZE bench_tmp
