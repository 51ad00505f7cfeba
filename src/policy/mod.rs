//! The rules, as pure Rust over plain data: no PostgreSQL state, no unsafe code.

#![forbid(unsafe_code)]

pub mod admin_limits;
pub mod audit_event;
pub mod breakglass;
pub mod chain;
pub mod classify;
pub mod config_watch;
pub mod conninfo;
pub mod ddl_guard;
pub mod destructive;
pub mod escalation;
pub mod incident;
pub mod lint_expr;
pub mod lint_hba;
pub mod log_line;
pub mod object_names;
pub mod queue_record;
pub mod redact;
pub mod risky;
pub mod roles;
pub mod sql_lexer;
pub mod trail_objects;
pub mod verdict;
