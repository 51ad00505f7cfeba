//! nspg_guard: the NS-PG-007 security posture enforced inside PostgreSQL.
//!
//! Functional core, thin shell: `classify`, `roles`, `ddl_guard`, `destructive` and `verdict`
//! are pure Rust taking plain data; `hooks`, `utility`, `executor`, `standing`, `overrides`,
//! `settings` and `report` are the glue that reads PostgreSQL's state into that data and
//! raises the decisions.

use crate::guard::{access, hooks};
use crate::pg::{settings, standing};
use pgrx::prelude::*;

mod api;
mod guard;
mod pg;
mod policy;
mod trail;
mod worker;

::pgrx::pg_module_magic!();

#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    settings::define();
    standing::register_invalidation();
    pg::trail_tables::register_invalidation();
    access::register_invalidation();
    // The rest only while shared_preload_libraries is processed: a library loaded later (by
    // CREATE EXTENSION or LOAD) would guard one backend at most, and shared memory is reserved
    // at server start.
    if unsafe { !pg_sys::process_shared_preload_libraries_in_progress } {
        return;
    }
    unsafe { hooks::install() };
    trail::queue::init();
    worker::register();
    trail::row::init();
    unsafe { guard::admin_session::install() };
    pg::backend::mark_hooks_active();
}

/// Whether the guards' hooks are installed in this session (the library was preloaded).
#[pg_extern]
fn hooks_active() -> bool {
    pg::backend::hooks_active()
}

/// The extension's version, whether its hooks are active, and every guard's setting.
#[pg_extern]
fn status() -> TableIterator<'static, (name!(setting, String), name!(value, String))> {
    let rows = vec![
        ("version".to_string(), env!("CARGO_PKG_VERSION").to_string()),
        ("hooks_active".to_string(), pg::backend::hooks_active().to_string()),
        ("ddl_guard".to_string(), settings::DDL_GUARD.get().as_str().to_string()),
        ("migration_roles".to_string(), settings::text_of(&settings::MIGRATION_ROLES)),
        ("admin_roles".to_string(), settings::text_of(&settings::ADMIN_ROLES)),
        ("allow_temp_objects".to_string(), settings::ALLOW_TEMP_OBJECTS.get().to_string()),
        ("destructive_guard".to_string(), settings::DESTRUCTIVE_GUARD.get().as_str().to_string()),
        ("max_rows_per_statement".to_string(), settings::MAX_ROWS_PER_STATEMENT.get().to_string()),
        ("risky_guard".to_string(), settings::RISKY_GUARD.get().as_str().to_string()),
    ];
    TableIterator::new(rows)
}

extension_sql!(
    r#"
-- Every role may call the functions; each checks its caller's standing itself.
GRANT USAGE ON SCHEMA nspg_guard TO PUBLIC;

DO $preload_check$
BEGIN
    IF NOT nspg_guard.hooks_active() THEN
        RAISE WARNING 'nspg_guard is installed but its guards are inactive: the library is not in shared_preload_libraries'
            USING HINT = 'Add nspg_guard to shared_preload_libraries in postgresql.conf, keeping the libraries already listed, and restart the server.';
    END IF;
END
$preload_check$;
"#,
    name = "preload_check",
    requires = [hooks_active],
);

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
