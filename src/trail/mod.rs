//! Writing audit events.

pub mod anchor;
pub mod config_events;
pub mod database_events;
pub mod queue;
pub mod report;
pub mod row;
pub mod seal;
pub mod sealing_state;
pub mod verify;
pub mod write;
