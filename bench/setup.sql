-- Fixtures of the instruction-count template data directory. bench/bench.sh runs this once,
-- in single-user mode as the bootstrap superuser: one statement per line, comment lines and
-- blank lines dropped, {rows} replaced. No CREATE EXTENSION: the guard works from
-- shared_preload_libraries alone.
CREATE ROLE ns_app_rw_orders NOLOGIN
CREATE ROLE ns_migrate_orders NOLOGIN
CREATE TABLE bench_orders (id int PRIMARY KEY, v int NOT NULL)
ALTER TABLE bench_orders OWNER TO ns_migrate_orders
INSERT INTO bench_orders (id, v) SELECT g, g FROM generate_series(1, {rows}) g
GRANT SELECT, INSERT, UPDATE ON bench_orders TO ns_app_rw_orders
VACUUM (FREEZE, ANALYZE) bench_orders
-- The tpcb-like transaction's tables (bench/tpcb.sql), shaped like pgbench's: one branch,
-- ten tellers, {rows} accounts, an empty history.
CREATE TABLE bench_branches (bid int PRIMARY KEY, bbalance int NOT NULL, filler char(88))
CREATE TABLE bench_tellers (tid int PRIMARY KEY, bid int NOT NULL, tbalance int NOT NULL, filler char(84))
CREATE TABLE bench_accounts (aid int PRIMARY KEY, bid int NOT NULL, abalance int NOT NULL, filler char(84))
CREATE TABLE bench_history (tid int, bid int, aid int, delta int, mtime timestamp, filler char(22))
INSERT INTO bench_branches (bid, bbalance) VALUES (1, 0)
INSERT INTO bench_tellers (tid, bid, tbalance) SELECT g, 1, 0 FROM generate_series(1, 10) g
INSERT INTO bench_accounts (aid, bid, abalance) SELECT g, 1, 0 FROM generate_series(1, {rows}) g
ALTER TABLE bench_branches OWNER TO ns_migrate_orders
ALTER TABLE bench_tellers OWNER TO ns_migrate_orders
ALTER TABLE bench_accounts OWNER TO ns_migrate_orders
ALTER TABLE bench_history OWNER TO ns_migrate_orders
GRANT SELECT, UPDATE ON bench_branches, bench_tellers, bench_accounts TO ns_app_rw_orders
GRANT INSERT ON bench_history TO ns_app_rw_orders
VACUUM (FREEZE, ANALYZE) bench_branches, bench_tellers, bench_accounts, bench_history
-- The copy script's target (bench/copy.sql), shaped like part 3's tables; owned by postgres,
-- which runs that script.
CREATE TABLE bench_copy (id int, v int, note text)
