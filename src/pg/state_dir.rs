//! nspg_guard's own directory in the data directory, `$PGDATA/nspg_guard/`: state that must not
//! live in a table, because rows are writable while the library is absent. Files are replaced
//! whole (written aside, synced, renamed), so a crash leaves the old or the new one; read-modify-
//! write cycles hold an exclusive lock on a lock file, so two processes never lose each other's
//! change.

use pgrx::pg_sys;
use std::ffi::CStr;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::PathBuf;

/// `$PGDATA/nspg_guard`.
pub fn dir() -> io::Result<PathBuf> {
    let data = unsafe { pg_sys::DataDir };
    if data.is_null() {
        return Err(io::Error::other("the data directory is not known in this process"));
    }
    let data = unsafe { CStr::from_ptr(data) }.to_str().map_err(io::Error::other)?;
    Ok(PathBuf::from(data).join("nspg_guard"))
}

fn ensure_dir() -> io::Result<PathBuf> {
    let dir = dir()?;
    match fs::DirBuilder::new().mode(0o700).create(&dir) {
        Err(e) if e.kind() != io::ErrorKind::AlreadyExists => Err(e),
        _ => Ok(dir),
    }
}

/// The contents of `name`, None when it does not exist.
pub fn read(name: &str) -> io::Result<Option<Vec<u8>>> {
    match fs::read(dir()?.join(name)) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The names of the files in the directory (none when it does not exist yet).
pub fn names() -> io::Result<Vec<String>> {
    let entries = match fs::read_dir(dir()?) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    entries.map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned())).collect()
}

/// Replaces `name` with `bytes`, durably.
pub fn write(name: &str, bytes: &[u8]) -> io::Result<()> {
    let dir = ensure_dir()?;
    // one name per process: two processes replacing the same file never write into one another's
    let aside = dir.join(format!("{name}.tmp.{}", std::process::id()));
    let mut file = OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&aside)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    fs::rename(&aside, dir.join(name))?;
    File::open(&dir)?.sync_all()
}

/// Removes `name`, durably; nothing to do when it does not exist.
pub fn remove(name: &str) -> io::Result<()> {
    let dir = dir()?;
    match fs::remove_file(dir.join(name)) {
        Ok(()) => File::open(&dir)?.sync_all(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Runs `work` holding the exclusive lock of `name` (a `name.lock` file); the lock goes with the
/// file handle, also when the process dies.
pub fn locked<T>(name: &str, work: impl FnOnce() -> io::Result<T>) -> io::Result<T> {
    let dir = ensure_dir()?;
    let lock = OpenOptions::new().write(true).create(true).truncate(false).mode(0o600).open(dir.join(format!("{name}.lock")))?;
    lock.lock()?;
    let result = work();
    drop(lock);
    result
}
