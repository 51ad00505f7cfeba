-- nspg_guard 0.1.0 -> 0.2.0 (ALTER EXTENSION nspg_guard UPDATE). Runs as the extension script
-- does, so the tamper guard lets it change the trail's objects.
-- Every change to the extension's SQL (sql/*.sql, #[pg_extern] functions) goes here as well,
-- so that an upgraded database ends up as a fresh install: tests/shell/upgrade.sh compares the
-- two object by object. A function added here also needs what sql/finalize.sql gives every
-- function: SET search_path = pg_catalog, pg_temp, and a GRANT only if README documents it.
\echo Use "ALTER EXTENSION nspg_guard UPDATE" to load this file. \quit

-- pg_dump keeps the trail and the registries (README "Backup and restore").
SELECT pg_catalog.pg_extension_config_dump('nspg_guard.audit_log', '');
SELECT pg_catalog.pg_extension_config_dump('nspg_guard.audit_chain', '');
SELECT pg_catalog.pg_extension_config_dump('nspg_guard.audited_relations', '');
SELECT pg_catalog.pg_extension_config_dump('nspg_guard.breakglass_requests', '');
SELECT pg_catalog.pg_extension_config_dump('nspg_guard.breakglass_requests_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('nspg_guard.role_lockdowns', '');
SELECT pg_catalog.pg_extension_config_dump('nspg_guard.role_lockdowns_id_seq', '');

-- audited_relations names its tables (regclass): a dump restored into another cluster, where
-- the oids differ, audits the same tables.
ALTER TABLE nspg_guard.audited_relations ALTER COLUMN relid TYPE pg_catalog.regclass;
