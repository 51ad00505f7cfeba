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
