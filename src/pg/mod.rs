//! Small PostgreSQL helpers.

pub mod admin_registry;
pub mod as_guard;
pub mod audit_line;
pub mod backend;
pub mod control_file;
pub mod database_worker;
pub mod errors;
pub mod extension_objects;
pub mod list;
pub mod lock_wait;
pub mod locked_roles;
pub mod nesting;
pub mod objects;
pub mod policy_expr;
pub mod private_lock;
pub mod settings;
pub mod spi_rows;
pub mod sql_scan;
pub mod standing;
pub mod state_dir;
pub mod statement;
pub mod subxact;
pub mod syscache;
pub mod table_insert;
pub mod text;
pub mod trail_tables;
