-- The DML mix, run by bench/bench.sh in single-user mode as the app role (it prepends
-- SET ROLE ns_app_rw_orders). One statement per line; comment and blank lines are dropped.
-- Lines above "-- @repeat" run once, lines below it are repeated N times (N depends on --quick)
-- with these placeholders filled in for block i = 1..N:
--   {i}       the block number
--   {id}      an existing id, (i * 7919) % rows + 1
--   {id2}     another existing id, (i * 104729 + rows / 2) % rows + 1
--   {new_id}  rows + i, a key no row has yet
--   {mb}      4 + i % 4
--   {s}       1 + i % 9
--   {copy_file}  the CSV file of the copy script (bench/copy.sql)
-- bench.sh checks afterwards that the table gained one row per INSERT and sum(v) grew by one
-- per UPDATE, so keep INSERTs at v = 0 and UPDATEs at v = v + 1 on one existing row.
-- @repeat
SELECT v FROM bench_orders WHERE id = {id}
SELECT count(*), sum(v) FROM bench_orders WHERE id BETWEEN {id2} AND {id2} + 20
UPDATE bench_orders SET v = v + 1 WHERE id = {id2}
INSERT INTO bench_orders (id, v) VALUES ({new_id}, 0)
SET work_mem = '{mb}MB'
