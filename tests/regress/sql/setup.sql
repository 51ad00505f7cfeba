-- Fixture shared by every suite: the extension and the policy's role taxonomy (NS-PG-007 §3.1)
-- for a sample service "orders", under the ns_ prefix.
CREATE EXTENSION nspg_guard;
SELECT setting, value FROM nspg_guard.status() WHERE setting <> 'version' ORDER BY setting;

DO $$
DECLARE r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['deploy_bot', 'alice_admin', 'ns_dba', 'ns_owner_orders', 'ns_migrate_orders',
        'ns_app_rw_orders', 'ns_app_ro_orders', 'ns_analytics_ro', 'ns_admin', 'ns_breakglass_admin']
    LOOP
        IF EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('DROP OWNED BY %I CASCADE', r);
            EXECUTE format('DROP ROLE %I', r);
        END IF;
    END LOOP;
END $$;

CREATE ROLE ns_owner_orders NOLOGIN;
CREATE ROLE ns_migrate_orders LOGIN IN ROLE ns_owner_orders;
CREATE ROLE ns_app_rw_orders LOGIN;
CREATE ROLE ns_app_ro_orders LOGIN;
CREATE ROLE ns_analytics_ro LOGIN;
CREATE ROLE ns_admin NOLOGIN;
CREATE ROLE ns_breakglass_admin NOLOGIN;
CREATE ROLE alice_admin LOGIN IN ROLE ns_admin;           -- a human platform admin
CREATE ROLE deploy_bot LOGIN NOINHERIT IN ROLE ns_migrate_orders;  -- must SET ROLE to migrate
CREATE ROLE ns_dba LOGIN SUPERUSER;

-- The service's schema, owned by its owner role; the app may read and write its tables.
CREATE SCHEMA orders AUTHORIZATION ns_owner_orders;
GRANT USAGE ON SCHEMA orders TO ns_app_rw_orders, ns_app_ro_orders, ns_analytics_ro, deploy_bot, alice_admin;
SET ROLE ns_migrate_orders;
CREATE TABLE orders.orders (id int PRIMARY KEY, customer text NOT NULL, total numeric NOT NULL DEFAULT 0);
CREATE TABLE orders.order_lines (order_id int REFERENCES orders.orders, line int, sku text, qty int,
                                 PRIMARY KEY (order_id, line));
INSERT INTO orders.orders SELECT g, 'customer ' || g, g * 10 FROM generate_series(1, 20) g;
INSERT INTO orders.order_lines SELECT o, l, 'sku-' || l, l FROM generate_series(1, 20) o, generate_series(1, 3) l;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA orders TO ns_app_rw_orders;
GRANT SELECT ON ALL TABLES IN SCHEMA orders TO ns_app_ro_orders, ns_analytics_ro;
RESET ROLE;
