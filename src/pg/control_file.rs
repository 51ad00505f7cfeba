//! The latest checkpoint and the cluster state, read from `global/pg_control` as plain bytes: the
//! postmaster reads it at its exit too, where no ERROR may be raised (PostgreSQL's
//! `get_controlfile` raises one on failure).

use crate::policy::config_watch::Checkpoint;
use pgrx::pg_sys;
use std::io;

/// What pg_control says now.
pub struct Control {
    pub state: pg_sys::DBState::Type,
    pub checkpoint: Checkpoint,
}

pub fn read() -> io::Result<Control> {
    let path = crate::pg::state_dir::dir()?.with_file_name("global").join("pg_control");
    let bytes = std::fs::read(path)?;
    if bytes.len() < std::mem::size_of::<pg_sys::ControlFileData>() {
        return Err(io::Error::other("pg_control is shorter than PostgreSQL's ControlFileData"));
    }
    // only the integer fields this needs, each at its offset in this build's ControlFileData
    let state = u32::from_ne_bytes(field(&bytes, std::mem::offset_of!(pg_sys::ControlFileData, state)));
    let lsn = u64::from_ne_bytes(field(&bytes, std::mem::offset_of!(pg_sys::ControlFileData, checkPoint)));
    let time_at = std::mem::offset_of!(pg_sys::ControlFileData, checkPointCopy) + std::mem::offset_of!(pg_sys::CheckPoint, time);
    let time = i64::from_ne_bytes(field(&bytes, time_at));
    Ok(Control { state, checkpoint: Checkpoint { lsn, time } })
}


/// `N` bytes at `offset` (inside the struct: the length was checked).
fn field<const N: usize>(bytes: &[u8], offset: usize) -> [u8; N] {
    let mut out = [0; N];
    out.copy_from_slice(&bytes[offset..offset + N]);
    out
}
