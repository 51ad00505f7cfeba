-- No audit event is lost for size (issue 18): every refusal gets its row however large its
-- event is — the statement is cut at nspg_guard.audit_statement_max_bytes (its length kept in
-- details.statement_bytes), never the event. A refusal's row holds the refused statement only,
-- not the rest of a multi-statement query string, and names the object of a DDL or TRUNCATE.
\set VERBOSITY terse
\set SHOW_CONTEXT never
\c postgres
SELECT coalesce(max(id), 0) AS start_async FROM nspg_guard.audit_log \gset
\c nspg_regress ns_app_rw_orders
\set SHOW_CONTEXT never
-- (the generated statements are not echoed)
\set ECHO none
-- a long run of backslashes: each one doubles in the event's JSON
SELECT 'ALTER TABLE orders.orders ADD COLUMN backslashes text DEFAULT ''' || repeat(E'\\', 3000) || '''' \gexec
-- a TRUNCATE naming the table 40 times
SELECT 'TRUNCATE ' || string_agg('orders.orders', ', ') FROM generate_series(1, 40) \gexec
-- a 100 kB statement
SELECT 'ALTER TABLE orders.orders ADD COLUMN big text DEFAULT ''' || repeat('x', 100000) || '''' \gexec
\set ECHO all
-- a multi-statement query string: the row holds the refused statement and its object
SELECT 1 AS before \; CREATE TABLE orders.sneaky (x int) \; SELECT 2 AS after;
SELECT 3 AS before \; DROP TABLE orders.order_lines \; SELECT 4 AS after;
\c postgres postgres
\set SHOW_CONTEXT never
SELECT nspg_guard.audit_flush() AS pending;
SELECT command_tag, object_type, left(object_identity, 30) AS object, length(object_identity) AS object_length,
       left(statement, 50) AS statement, octet_length(statement) AS stored_bytes,
       details->>'statement_bytes' AS statement_bytes
FROM nspg_guard.audit_log WHERE id > :start_async AND class = 'denied' ORDER BY id;
-- the backslashes are all there
SELECT length(statement) - length(replace(statement, E'\\', '')) AS backslashes
FROM nspg_guard.audit_log WHERE id > :start_async AND statement LIKE '%COLUMN backslashes%';
-- the 100 kB statement is cut at the setting (4 kB, and the ellipsis)
SELECT octet_length(statement) <= 4096 + 3 AS cut_at_setting,
       statement LIKE '%…' AS marked_as_cut
FROM nspg_guard.audit_log WHERE id > :start_async AND statement LIKE '%COLUMN big%';
-- no event fell back to the log only; none is waiting
SELECT fallen_back, pending, pending_bytes, oldest_pending_age FROM nspg_guard.audit_stats();
\c nspg_regress
