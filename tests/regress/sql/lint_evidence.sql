-- Evidence (NS-PG-007 §10, §11): privilege snapshots and their differences, round-tripping a
-- scripted change set exactly; access reviews; the evidence bundle; the role graph; bad input
-- and refusals.
\set VERBOSITY default
\set SHOW_CONTEXT never
-- the inventory is stable: two snapshots of the same state are the same document
SELECT nspg_guard.privilege_snapshot() = nspg_guard.privilege_snapshot() AS stable;
SELECT jsonb_object_keys(nspg_guard.privilege_snapshot()) AS section;
SELECT jsonb_pretty(jsonb_path_query_array(nspg_guard.privilege_snapshot(), '$.roles[*].name')) AS roles;
SELECT jsonb_pretty(e) FROM jsonb_array_elements(nspg_guard.privilege_snapshot() -> 'privileges') e
WHERE e ->> 'object' = 'orders.order_lines';

SELECT nspg_guard.snapshot_save('before change set') AS before_id \gset
-- the change set
CREATE ROLE lint_auditor LOGIN;
GRANT ns_app_ro_orders TO lint_auditor;
GRANT UPDATE (total) ON orders.orders TO ns_app_ro_orders;
REVOKE DELETE ON orders.order_lines FROM ns_app_rw_orders;
ALTER ROLE ns_analytics_ro CONNECTION LIMIT 5;
ALTER DEFAULT PRIVILEGES FOR ROLE ns_owner_orders IN SCHEMA orders GRANT SELECT ON TABLES TO ns_analytics_ro;
ALTER DEFAULT PRIVILEGES FOR ROLE ns_owner_orders REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
CREATE POLICY lines_positive ON orders.order_lines FOR SELECT TO ns_app_ro_orders USING (qty > 0);
ALTER TABLE orders.order_lines OWNER TO ns_owner_orders;
SELECT nspg_guard.snapshot_save('after change set') AS after_id \gset
-- exactly the change set, and back the other way
SELECT * FROM nspg_guard.snapshot_diff(:before_id, :after_id);
SELECT change, section, object FROM nspg_guard.snapshot_diff(:after_id, :before_id);
SELECT count(*) FROM nspg_guard.snapshot_diff(:after_id, :after_id);
-- undo it: the inventory is the one before, to the byte
ALTER TABLE orders.order_lines OWNER TO ns_migrate_orders;
DROP POLICY lines_positive ON orders.order_lines;
ALTER DEFAULT PRIVILEGES FOR ROLE ns_owner_orders GRANT EXECUTE ON FUNCTIONS TO PUBLIC;
ALTER DEFAULT PRIVILEGES FOR ROLE ns_owner_orders IN SCHEMA orders REVOKE SELECT ON TABLES FROM ns_analytics_ro;
ALTER ROLE ns_analytics_ro CONNECTION LIMIT -1;
GRANT DELETE ON orders.order_lines TO ns_app_rw_orders;
REVOKE UPDATE (total) ON orders.orders FROM ns_app_ro_orders;
DROP ROLE lint_auditor;
SELECT nspg_guard.snapshot_save('undone') AS undone_id \gset
SELECT count(*) FROM nspg_guard.snapshot_diff(:before_id, :undone_id);
SELECT (SELECT snapshot FROM nspg_guard.snapshots WHERE id = :before_id)
     = (SELECT snapshot FROM nspg_guard.snapshots WHERE id = :undone_id) AS identical;
SELECT label, taken_by FROM nspg_guard.snapshots ORDER BY id;

-- access reviews
SELECT nspg_guard.access_review_record(:after_id, 'carol (security)', 'approved_with_changes',
                                       'column UPDATE on orders.total to be revoked, OPS-51') AS review_id \gset
SELECT nspg_guard.access_review_record(:undone_id, 'carol (security)', 'approved', NULL) AS review2_id \gset
SELECT snapshot_label, reviewer, decision, notes, recorded_by FROM nspg_guard.access_reviews ORDER BY id;

-- bad input and refusals
SELECT nspg_guard.snapshot_diff(NULL, :after_id);
\echo :LAST_ERROR_SQLSTATE
SELECT nspg_guard.snapshot_diff(:before_id, 999999);
\echo :LAST_ERROR_SQLSTATE
SELECT nspg_guard.snapshot_save(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT nspg_guard.snapshot_save('');
\echo :LAST_ERROR_SQLSTATE
SELECT nspg_guard.access_review_record(999999, 'carol', 'approved', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT nspg_guard.access_review_record(NULL, 'carol', 'approved', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT nspg_guard.access_review_record(:after_id, ' ', 'approved', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT nspg_guard.access_review_record(:after_id, 'carol', 'looks fine', NULL);
\echo :LAST_ERROR_SQLSTATE
SET ROLE ns_app_rw_orders;
SELECT nspg_guard.snapshot_save('by the app');
\echo :LAST_ERROR_SQLSTATE
SELECT nspg_guard.access_review_record(:after_id, 'the app', 'approved', NULL);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO nspg_guard.access_review_records (snapshot_id, reviewer, decision, recorded_by)
VALUES (:after_id, 'the app', 'approved', 'ns_app_rw_orders');
\echo :LAST_ERROR_SQLSTATE
-- everyone may read the evidence
SELECT count(*) FROM nspg_guard.access_reviews;
SELECT change, section, object FROM nspg_guard.snapshot_diff(:before_id, :after_id) WHERE section = 'roles';
RESET ROLE;

-- the evidence bundle
SELECT jsonb_object_keys(nspg_guard.evidence()) AS part;
-- audit retention proof: its parts (counts and times vary), and that the chain verifies
SELECT jsonb_object_keys(e -> 'audit_retention') AS audit_retention_part FROM nspg_guard.evidence() e ORDER BY 1;
SELECT e -> 'audit_retention' -> 'this_database' ->> 'chain_ok' AS chain_ok,
       (e -> 'audit_retention' -> 'this_database' ->> 'rows_present')::int > 0 AS has_rows,
       e -> 'audit_retention' ->> 'retention' AS retention, jsonb_pretty(e -> 'break_glass') AS break_glass
FROM nspg_guard.evidence() e;
SELECT jsonb_pretty(e -> 'encryption') FROM nspg_guard.evidence() e;
SELECT jsonb_pretty((e -> 'last_access_review') - 'recorded_at' - 'snapshot_taken_at' - 'id' - 'snapshot_id') FROM nspg_guard.evidence() e;
SELECT e -> 'inventory' = nspg_guard.privilege_snapshot() AS inventory_is_the_snapshot,
       jsonb_array_length(e -> 'open_findings') = (SELECT count(*) FROM nspg_guard.lint() WHERE severity <> 'not_evaluated') AS all_open_findings,
       e -> 'open_findings_by_severity' AS by_severity, e -> 'suppressed_findings' AS suppressed
FROM nspg_guard.evidence() e;
SELECT f ->> 'rule' AS rule, f ->> 'severity' AS severity, f ->> 'key' AS key, f ? 'suppressed' AS has_suppressed
FROM nspg_guard.evidence() e, jsonb_array_elements(e -> 'open_findings') WITH ORDINALITY a(f, n) WHERE n <= 3;
-- §10 rotation evidence, from credential_age()
SELECT jsonb_object_keys(e -> 'credential_rotation') AS credential_rotation_part FROM nspg_guard.evidence() e ORDER BY 1;
-- what a role without privileges gets: the parts it cannot prove say so
SET ROLE ns_analytics_ro;
SELECT jsonb_pretty(e -> 'encryption' -> 'in_transit') AS in_transit,
       jsonb_pretty(e -> 'encryption' -> 'passwords') AS passwords,
       e -> 'credential_rotation' ->> 'status' AS credential_rotation
FROM nspg_guard.evidence() e;
RESET ROLE;

-- the role graph, with a login role that can become superuser through a chain
CREATE ROLE lint_ops NOLOGIN IN ROLE ns_dba;
CREATE ROLE lint_carol LOGIN IN ROLE lint_ops;
GRANT pg_read_all_stats TO ns_analytics_ro;
SELECT nspg_guard.role_graph();
REVOKE pg_read_all_stats FROM ns_analytics_ro;
DROP ROLE lint_carol, lint_ops;
