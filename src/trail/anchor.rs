//! The chain's anchor outside the tables: the last (seal_seq, row_hash) sealed in a database,
//! in `$PGDATA/nspg_guard/anchor.<database oid>` (written to a temporary file, fsynced, renamed)
//! and cached in shared memory. A chain that was truncated or rebuilt with SQL no longer
//! reaches its anchor, which no SQL can change.

use crate::pg::state_dir;
use crate::policy::chain::Anchor;
use crate::trail::sealing_state;
use pgrx::pg_sys;

fn file_of(database: u32) -> String {
    format!("anchor.{database}")
}

/// Why the anchor could not be read.
#[derive(Debug, thiserror::Error)]
pub enum AnchorError {
    #[error("the anchor file {0} cannot be read: {1}")]
    Unreadable(String, std::io::Error),
    #[error("the anchor file {0} is not an anchor")]
    Garbled(String),
}

/// The databases whose chain has an anchor file: every database whose trail was ever sealed
/// (a dropped database's file stays until the writer sees it dropped, `forget`).
pub fn databases() -> std::io::Result<Vec<u32>> {
    Ok(state_dir::names()?.iter().filter_map(|n| database_of(n)).collect())
}

/// The database oid of an anchor file's name (`anchor.<oid>`; not the temporary `anchor.<oid>.tmp.<pid>`).
fn database_of(file: &str) -> Option<u32> {
    file.strip_prefix("anchor.")?.parse().ok()
}

/// The anchor of this database: cached, else from its file; Ok(None) when none was ever kept.
pub fn load() -> Result<Option<Anchor>, AnchorError> {
    let database = unsafe { pg_sys::MyDatabaseId }.to_u32();
    if let Some(anchor) = sealing_state::cached_anchor(database) {
        return Ok(Some(anchor));
    }
    let name = file_of(database);
    let bytes = match state_dir::read(&name) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return Ok(None),
        Err(e) => return Err(AnchorError::Unreadable(name, e)),
    };
    let anchor = std::str::from_utf8(&bytes).ok().and_then(Anchor::parse).ok_or(AnchorError::Garbled(name))?;
    sealing_state::cache_anchor(database, &anchor);
    Ok(Some(anchor))
}

/// `database` no longer exists: its anchor file goes (a later database given its oid is not
/// taken for a broken chain).
pub fn forget(database: u32) {
    if let Err(e) = state_dir::remove(&file_of(database)) {
        pgrx::warning!("nspg_guard: could not remove the audit chain's anchor file $PGDATA/nspg_guard/{}: {e}", file_of(database));
    }
}

/// Keeps `anchor` for `database` (called once its seal committed); a failure is a WARNING: the
/// next seal checks against the older anchor, whose row is still in the chain.
pub fn store(database: u32, anchor: &Anchor) {
    sealing_state::cache_anchor(database, anchor);
    if let Err(e) = state_dir::write(&file_of(database), anchor.render().as_bytes()) {
        pgrx::warning!("nspg_guard: could not write the audit chain's anchor file $PGDATA/nspg_guard/{}: {e}", file_of(database));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchor_file_names() {
        assert_eq!(database_of(&file_of(16384)), Some(16384));
        assert_eq!(database_of("anchor.16384.tmp.4242"), None);
        assert_eq!(database_of("anchor."), None);
        assert_eq!(database_of("config_state.json"), None);
        assert_eq!(database_of("audit_queue.0001"), None);
    }
}
