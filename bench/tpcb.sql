-- A tpcb-like transaction (pgbench's built-in script on the tables of bench/setup.sql), run by
-- bench/bench.sh in single-user mode as the app role. Same format and placeholders as
-- statements.sql. Every UPDATE adds 1 and every INSERT adds one history row, so bench.sh can
-- check that each statement ran (it counts bench_history rows and sums the balances).
-- @repeat
BEGIN
UPDATE bench_accounts SET abalance = abalance + 1 WHERE aid = {id}
SELECT abalance FROM bench_accounts WHERE aid = {id}
UPDATE bench_tellers SET tbalance = tbalance + 1 WHERE tid = {s}
UPDATE bench_branches SET bbalance = bbalance + 1 WHERE bid = 1
INSERT INTO bench_history (tid, bid, aid, delta, mtime) VALUES ({s}, 1, {id}, 1, CURRENT_TIMESTAMP)
COMMIT
