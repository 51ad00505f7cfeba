//! SQL-callable functions.

pub mod audit;
pub mod breakglass;
pub mod destructive;
pub mod evidence;
pub mod incident;
pub mod lint;
pub mod status;
pub mod support;
pub mod unguarded_runs;
