//! SQL-callable functions.

pub mod audit;
pub mod breakglass;
pub mod evidence;
pub mod incident;
pub mod lint;
pub mod support;
