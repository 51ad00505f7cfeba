//! Writing audit events.

pub mod config_events;
pub mod queue;
pub mod report;
pub mod row;
pub mod write;
