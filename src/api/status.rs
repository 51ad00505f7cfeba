//! What a DBA asks first: is nspg_guard active here, and how is each guard set. The install
//! script warns at CREATE EXTENSION when the library was not preloaded.

use crate::pg::backend;
use crate::pg::settings;
use pgrx::prelude::*;

/// Whether the guards' hooks are installed in this session (the library was preloaded).
#[pg_extern]
fn hooks_active() -> bool {
    backend::hooks_active()
}

/// The extension's version, whether its hooks are active, and every guard's setting.
#[pg_extern]
fn status() -> TableIterator<'static, (name!(setting, String), name!(value, String))> {
    let rows = vec![
        ("version".to_string(), env!("CARGO_PKG_VERSION").to_string()),
        ("hooks_active".to_string(), backend::hooks_active().to_string()),
        ("ddl_guard".to_string(), settings::DDL_GUARD.get().as_str().to_string()),
        ("migration_roles".to_string(), settings::text_of(&settings::MIGRATION_ROLES)),
        ("admin_roles".to_string(), settings::text_of(&settings::ADMIN_ROLES)),
        ("allow_temp_objects".to_string(), settings::ALLOW_TEMP_OBJECTS.get().to_string()),
        ("destructive_guard".to_string(), settings::DESTRUCTIVE_GUARD.get().as_str().to_string()),
        ("max_rows_per_statement".to_string(), settings::MAX_ROWS_PER_STATEMENT.get().to_string()),
        ("max_rows_estimate".to_string(), settings::MAX_ROWS_ESTIMATE.get().to_string()),
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
