//! The hooks and the per-statement guards.

pub mod access;
pub mod admin_session;
pub mod auth;
pub mod executor;
pub mod hooks;
pub mod overrides;
pub mod persistence;
pub mod protect;
pub mod utility;
