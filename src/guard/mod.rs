//! The hooks and the per-statement guards.

pub mod access;
pub mod admin_session;
pub mod auth;
pub mod capability;
pub mod catalog_writes;
pub mod destructive;
pub mod executor;
pub mod file_functions;
pub mod hooks;
pub mod lockdown;
pub mod log_lines;
pub mod overrides;
pub mod persistence;
pub mod preload;
pub mod protect;
pub mod restore;
pub mod row_count;
pub mod tamper;
pub mod utility;
