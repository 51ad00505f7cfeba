//! State of this backend process, for the per-statement path.
//!
//! PostgreSQL runs a backend's (and a background worker's) code on one thread, so a plain
//! static holds per-process state safely; `thread_local!` in a shared library would pay a
//! `__tls_get_addr` call on every access instead.

use std::cell::Cell;

/// A value of this backend process (see the module comment). Only for `Copy` values read and
/// written whole, so no reference into it is ever held across a call.
pub struct BackendLocal<T: Copy>(Cell<T>);

// SAFETY: every backend and worker runs nspg_guard's code on its process's single thread.
unsafe impl<T: Copy> Sync for BackendLocal<T> {}

impl<T: Copy> BackendLocal<T> {
    pub const fn new(value: T) -> Self {
        BackendLocal(Cell::new(value))
    }

    pub fn get(&self) -> T {
        self.0.get()
    }

    pub fn set(&self, value: T) {
        self.0.set(value)
    }

    pub fn replace(&self, value: T) -> T {
        self.0.replace(value)
    }
}
