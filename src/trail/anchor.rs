//! The chain's anchor outside the tables: the last (seal_seq, row_hash) sealed in a database,
//! in `$PGDATA/nspg_guard/anchor.<database oid>` (written to a temporary file, fsynced, renamed)
//! and cached in shared memory. A chain that was truncated or rebuilt with SQL no longer
//! reaches its anchor, which no SQL can change.

use crate::policy::chain::Anchor;
use crate::trail::sealing_state;
use pgrx::pg_sys;
use std::io::Write;
use std::path::PathBuf;

fn directory() -> PathBuf {
    let data = unsafe { std::ffi::CStr::from_ptr(pg_sys::DataDir) };
    PathBuf::from(data.to_string_lossy().into_owned()).join("nspg_guard")
}

fn file_of(database: u32) -> PathBuf {
    directory().join(format!("anchor.{database}"))
}

/// Why the anchor could not be read.
#[derive(Debug, thiserror::Error)]
pub enum AnchorError {
    #[error("the anchor file {0} cannot be read: {1}")]
    Unreadable(String, std::io::Error),
    #[error("the anchor file {0} is not an anchor")]
    Garbled(String),
}

/// The anchor of this database: cached, else from its file; Ok(None) when none was ever kept.
pub fn load() -> Result<Option<Anchor>, AnchorError> {
    let database = unsafe { pg_sys::MyDatabaseId }.to_u32();
    if let Some(anchor) = sealing_state::cached_anchor(database) {
        return Ok(Some(anchor));
    }
    let path = file_of(database);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(AnchorError::Unreadable(path.display().to_string(), e)),
    };
    let anchor = Anchor::parse(&text).ok_or_else(|| AnchorError::Garbled(path.display().to_string()))?;
    sealing_state::cache_anchor(database, &anchor);
    Ok(Some(anchor))
}

/// Keeps `anchor` for `database` (called once its seal committed); a failure is a WARNING: the
/// next seal checks against the older anchor, whose row is still in the chain.
pub fn store(database: u32, anchor: &Anchor) {
    sealing_state::cache_anchor(database, anchor);
    if let Err(e) = write_file(database, anchor) {
        pgrx::warning!("nspg_guard: could not write the audit chain's anchor file {}: {e}", file_of(database).display());
    }
}

fn write_file(database: u32, anchor: &Anchor) -> std::io::Result<()> {
    let dir = directory();
    std::fs::create_dir_all(&dir)?;
    let path = file_of(database);
    let tmp = dir.join(format!("anchor.{database}.tmp.{}", std::process::id()));
    {
        let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).open(&tmp)?;
        f.write_all(anchor.render().as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, &path)?;
    std::fs::File::open(&dir)?.sync_all()
}
