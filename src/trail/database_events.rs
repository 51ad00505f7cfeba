//! What CREATE DATABASE and DROP DATABASE mean for sealing, done at their commit. A new database
//! starts with no sealing state of its own: whatever a dropped database of the same oid left (a
//! slot, an anchor file: `CREATE DATABASE … OID =` reuses oids) goes, and its whole trail is
//! marked — the rows it copied from its template were not sealed there (templates are not
//! sealed), and no commit of its own would look back at them. A dropped database's slot and
//! anchor file go at once rather than at the writer's next look: a database created meanwhile
//! with its oid would otherwise continue from its anchor, and a database dropped and re-created
//! from an older copy of itself would verify.

use crate::pg::backend::{BackendCell, BackendLocal};
use crate::trail::{anchor, sealing_state};
use pgrx::{pg_guard, pg_sys};

/// A CREATE or DROP DATABASE that succeeded in this transaction.
pub enum Change {
    /// The new database's name (its oid is known once it exists).
    Created(String),
    /// The dropped database's oid (looked up before it was dropped).
    Dropped(u32),
}

static CHANGES: BackendCell<Vec<(bool, u32)>> = BackendCell::new(Vec::new());
/// Are there any (`CHANGES`)? For the check at every transaction's end.
static ANY: BackendLocal<bool> = BackendLocal::new(false);

/// `change` succeeded: acted on at commit.
pub fn note(change: Change) {
    let (created, database) = match change {
        Change::Created(name) => {
            let Ok(name) = std::ffi::CString::new(name) else { return };
            (true, unsafe { pg_sys::get_database_oid(name.as_ptr(), true) }.to_u32())
        }
        Change::Dropped(database) => (false, database),
    };
    if database != 0 {
        CHANGES.with(|c| c.borrow_mut().push((created, database)));
        ANY.set(true);
    }
}

/// Does the transaction end having created or dropped a database? (Else `on_xact` has nothing to do.)
#[inline(always)]
pub fn end_due() -> bool {
    ANY.get()
}

/// `end_due` at an event `on_xact` acts on (the transaction's end).
pub fn xact_pending(event: pg_sys::XactEvent::Type) -> bool {
    use pg_sys::XactEvent::*;
    matches!(event, XACT_EVENT_COMMIT | XACT_EVENT_ABORT | XACT_EVENT_PREPARE) && end_due()
}

/// The end of a transaction that created or dropped a database (`xact_pending`, from the guard's
/// transaction callback): once committed, the database's old state goes, and a new one is marked.
#[pg_guard]
pub unsafe extern "C-unwind" fn on_xact(event: pg_sys::XactEvent::Type) {
    ANY.set(false);
    let changes = CHANGES.with(|c| std::mem::take(&mut *c.borrow_mut()));
    if event != pg_sys::XactEvent::XACT_EVENT_COMMIT {
        return;
    }
    for (created, database) in changes {
        forget(database);
        if created {
            sealing_state::mark(database, 0);
        }
    }
}

/// `database` is gone, or new: its slot and anchor file go.
pub fn forget(database: u32) {
    sealing_state::drop_database(database);
    anchor::forget(database);
}
