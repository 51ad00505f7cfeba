#!/usr/bin/env bash
# README command 1: sets up this machine (Debian 12, root), builds and installs nspg_guard into
# the system PostgreSQL 15, starts a throwaway cluster with the library preloaded, creates the
# policy's role taxonomy for a sample service "orders" and shows the guards at work.
# Idempotent: every run starts a fresh cluster; the toolchain is installed only once.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DEMO_DIR=${NSPG_DEMO_DIR:-/tmp/nspg_guard_demo}
DEMO_PORT=${NSPG_DEMO_PORT:-54329}

ensure_toolchain
build_and_install

say "throwaway cluster in $DEMO_DIR, port $DEMO_PORT, shared_preload_libraries = nspg_guard"
start_cluster "$DEMO_DIR" "$DEMO_PORT" nspg_guard
demo() { # demo ROLE SQL — runs SQL as ROLE, echoing it, showing errors without stopping
    printf '\n\033[36m%s>\033[0m %s\n' "$1" "$2"
    "$PG_BIN/psql" -X -h "$DEMO_DIR" -p "$DEMO_PORT" -U "$1" -d postgres -v VERBOSITY=default -c "$2" 2>&1 | sed 's/^/    /' || true
}

say "the extension and the role taxonomy (NS-PG-007 §3.1, with the ns_ prefix)"
psql_at "$DEMO_DIR" "$DEMO_PORT" -q -d postgres <<'SQL'
CREATE EXTENSION nspg_guard;
CREATE ROLE ns_owner_orders NOLOGIN;
CREATE ROLE ns_migrate_orders LOGIN IN ROLE ns_owner_orders;
CREATE ROLE ns_app_rw_orders LOGIN;
CREATE ROLE ns_app_ro_orders LOGIN;
CREATE ROLE ns_analytics_ro LOGIN;
CREATE ROLE ns_admin NOLOGIN;
CREATE ROLE ns_breakglass_admin NOLOGIN;
CREATE ROLE ns_breakglass_approver NOLOGIN;
CREATE ROLE alice_admin LOGIN IN ROLE ns_admin;                   -- a platform admin
CREATE ROLE bob_oncall LOGIN;                                     -- an engineer on call
CREATE ROLE carol_approver LOGIN IN ROLE ns_breakglass_approver;  -- approves break-glass
GRANT pg_read_all_stats, pg_signal_backend TO ns_breakglass_admin;
CREATE SCHEMA orders AUTHORIZATION ns_owner_orders;
GRANT USAGE ON SCHEMA orders TO ns_app_rw_orders, ns_app_ro_orders, ns_analytics_ro;
ALTER DEFAULT PRIVILEGES FOR ROLE ns_owner_orders IN SCHEMA orders
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ns_app_rw_orders;
ALTER DEFAULT PRIVILEGES FOR ROLE ns_owner_orders IN SCHEMA orders
    GRANT SELECT ON TABLES TO ns_app_ro_orders, ns_analytics_ro;
SQL
demo postgres "SELECT * FROM nspg_guard.status()"

say "the DDL guard: schema changes only from migration roles"
demo ns_migrate_orders "SET ROLE ns_owner_orders; CREATE TABLE orders.orders (id int PRIMARY KEY, customer text NOT NULL, total numeric NOT NULL DEFAULT 0); INSERT INTO orders.orders SELECT g, 'customer ' || g, g FROM generate_series(1, 100) g"
demo ns_app_rw_orders "ALTER TABLE orders.orders ADD COLUMN discount numeric"

say "the destructive guard: no UPDATE/DELETE without a real WHERE, TRUNCATE for migration roles"
demo ns_app_rw_orders "DELETE FROM orders.orders WHERE 1 = 1"
demo ns_app_rw_orders "UPDATE orders.orders SET total = total * 1.1 WHERE id = 7"
demo ns_app_rw_orders "TRUNCATE orders.orders"

say "risky capabilities: server files, programs, ALTER SYSTEM are for admins"
demo postgres "GRANT pg_write_server_files TO ns_app_rw_orders"
demo ns_app_rw_orders "COPY orders.orders TO '/tmp/orders.csv'"

say "admin sessions: timeouts capped (and sessions time-bounded)"
demo alice_admin "SHOW statement_timeout"
demo alice_admin "SET statement_timeout = 0"
demo ns_app_rw_orders "SHOW statement_timeout"

say "break-glass: requested, approved by someone else, time-bounded, audited, reviewed"
demo bob_oncall "SELECT nspg_guard.breakglass_request('kill the runaway report queries', '5 seconds', 'INC-1')"
demo bob_oncall "SELECT nspg_guard.breakglass_approve(1)"
demo carol_approver "SELECT nspg_guard.breakglass_approve(1) AS expires_at"
demo bob_oncall "SELECT pg_has_role('ns_breakglass_admin', 'USAGE') AS escalated; ALTER SYSTEM SET log_statement = 'none'"
sleep 6
demo carol_approver "SELECT nspg_guard.breakglass_review(1, 'killed two report queries, runbook updated')"
demo postgres "SELECT id, requester, state, decided_by, statements_run, review_status FROM nspg_guard.breakglass_usages"

say "the audit trail: who did what, when, from where (refusals included)"
demo postgres "SELECT nspg_guard.audit_flush() AS still_queued"
demo postgres "SELECT id, class, outcome, command_tag, object_identity, \"session_user\", \"current_user\" FROM nspg_guard.audit_log ORDER BY id"
demo postgres "SELECT ok, rows_checked FROM nspg_guard.audit_verify()"

say "posture lint: what this throwaway cluster gets wrong"
demo postgres "SELECT severity, category, rule, object_identity FROM nspg_guard.lint() ORDER BY severity, category, rule"
demo postgres "SELECT findings, remediation, side_effects FROM nspg_guard.lint_remediation()"

say "the role graph: who can become superuser, bypass RLS, create roles or reach the server's files"
demo postgres "CREATE ROLE ops_reports NOLOGIN BYPASSRLS; GRANT ops_reports TO ns_analytics_ro; GRANT pg_read_server_files TO ns_breakglass_admin"
PSQL=$PG_BIN/psql bash "$REPO_ROOT/scripts/role_graph.sh" -o "$DEMO_DIR/roles.svg" -h "$DEMO_DIR" -p "$DEMO_PORT" -U postgres -d postgres
echo "    rendered on this machine by Graphviz (never by the server): $DEMO_DIR/roles.svg"

cat <<EOF2

The cluster keeps running:
  connect:  psql -h $DEMO_DIR -p $DEMO_PORT -U postgres -d postgres
            (or as a role of the taxonomy: -U ns_app_rw_orders, -U ns_migrate_orders)
  stop:     runuser -u postgres -- $PG_BIN/pg_ctl -D $DEMO_DIR/data stop
  log:      $DEMO_DIR/server.log
Run every test: bash scripts/test.sh
EOF2
