//! nspg_guard: the NS-PG-007 security posture enforced inside PostgreSQL.
//!
//! Layers, top to bottom; a module imports only from its own folder or from below
//! (scripts/check_layers.pl holds the code to that, with no import cycle):
//!
//! - `lib.rs` — `_PG_init`: what is installed at preload, in order; `worker.rs` — the
//!   background writer: drains the audit queue, starts the sealers (`sealer.rs`, one dynamic
//!   worker per database with rows to seal), ends idle admin sessions and expired break-glass
//!   grants.
//! - `api/` — the SQL-callable functions (`#[pg_extern]`), one file per area, and `support.rs`
//!   for what they share.
//! - `guard/` — the hooks and the per-statement guards: utility statements, the executor, the
//!   trail's own protection, access auditing, the override, admin sessions, logins.
//! - `trail/` — writing audit events: in the acting transaction or through the shared-memory
//!   queue, rows through the table API, refusals audited then raised.
//! - `pg/` — small PostgreSQL helpers: settings, role standing, object names, text, this
//!   backend, statement nesting, the current statement, the trail's tables, running as
//!   nspg_guard itself, the admin-session registry, plain errors.
//! - `policy/` — the rules, pure Rust over plain data (`#![forbid(unsafe_code)]`): what the
//!   glue above reads out of PostgreSQL goes in, verdicts come out.

use pgrx::prelude::*;

mod api;
mod guard;
mod pg;
mod policy;
mod sealer;
mod trail;
mod worker;

::pgrx::pg_module_magic!();

#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    pg::settings::define();
    pg::standing::register_invalidation();
    pg::trail_tables::register_invalidation();
    guard::access::register_invalidation();
    // The rest only while shared_preload_libraries is processed: a library loaded later (by
    // CREATE EXTENSION or LOAD) would guard one backend at most, and shared memory is reserved
    // at server start. Not in binary-upgrade mode either: pg_upgrade recreates the old
    // cluster's schema there (ALTER EXTENSION … ADD of the trail's tables, DROP DATABASE of the
    // audit database), and only superusers may connect to such a server.
    if unsafe { !pg_sys::process_shared_preload_libraries_in_progress || pg_sys::IsBinaryUpgrade } {
        return;
    }
    unsafe { guard::hooks::install() };
    trail::queue::init();
    worker::register();
    trail::config_events::install_stop_record();
    trail::row::init();
    trail::sealing_state::init();
    unsafe { guard::admin_session::install() };
    unsafe { guard::overrides::install() };
    unsafe { guard::file_functions::install() };
    unsafe { guard::preload::install() };
    unsafe { guard::lockdown::install() };
    unsafe { guard::row_count::install() };
    pg::backend::mark_hooks_active();
}

// Last in the script: every function gets a fixed search_path, and PUBLIC keeps EXECUTE on
// the documented functions only (sql/finalize.sql).
extension_sql_file!("../sql/finalize.sql", name = "finalize", finalize);

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {}

/// Required by `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec!["shared_preload_libraries = 'nspg_guard'"]
    }
}
