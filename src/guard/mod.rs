//! The hooks and the per-statement guards.

pub mod access;
pub mod admin_session;
pub mod auth;
pub mod destructive;
pub mod executor;
pub mod hooks;
pub mod overrides;
pub mod protect;
pub mod row_count;
pub mod utility;
