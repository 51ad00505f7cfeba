//! The one way nspg_guard writes its own tagged lines to the server log (`NSPG_AUDIT {…}`,
//! `NSPG_AUDIT_SEAL …`). The log hook (`guard::log_lines`) breaks the tag in every other text,
//! so a line is ours only when it was written here: [`log`] marks the message it raises, and
//! [`add_to_entry`] adds a line to an entry the hook is already processing.

use crate::pg::backend::BackendLocal;
use crate::policy::log_line::{break_tag, TAG};
use pgrx::pg_sys;
use pgrx::prelude::*;
use std::ffi::CString;

/// Set while [`log`] raises its message: the hook keeps the tag of that one message.
static WRITING_OURS: BackendLocal<bool> = BackendLocal::new(false);

/// Is the message being emitted one of ours?
pub fn writing_ours() -> bool {
    WRITING_OURS.get()
}

/// Resets the mark however the report ends.
struct Writing;
impl Drop for Writing {
    fn drop(&mut self) {
        WRITING_OURS.set(false);
    }
}

/// The line as written: the tag once, at the start. Text inside it (a role or application
/// name in the JSON) has the tag broken, so a search for the tag finds line starts only.
fn tagged(line: &str) -> String {
    match line.split_once(' ') {
        Some((tag, rest)) if tag.starts_with(TAG) => format!("{tag} {}", break_tag(rest).unwrap_or_else(|| rest.to_string())),
        _ => break_tag(line).unwrap_or_else(|| line.to_string()),
    }
}

/// Writes `line` (the tag, a space, the rest) as a LOG message of its own.
pub fn log(line: &str) {
    let line = tagged(line);
    let _writing = Writing;
    WRITING_OURS.set(true);
    log!("{}", line);
}

/// Puts `line` at the start of the DETAIL of the entry being emitted (a FATAL that ends a failed login:
/// raising a message of our own from inside its report is not possible). Call it from the log
/// hook after the entry's own texts were scrubbed.
///
/// # Safety
/// `edata` is the entry the emit_log_hook received.
pub unsafe fn add_to_entry(edata: *mut pg_sys::ErrorData, line: &str) {
    let line = tagged(line);
    // ours first: the DETAIL line starts with the tag, PostgreSQL's own detail follows
    let joined = match crate::pg::text::text((*edata).detail_log).or_else(|| crate::pg::text::text((*edata).detail)) {
        Some(existing) => format!("{line}\n{existing}"),
        None => line,
    };
    if let Ok(joined) = CString::new(joined) {
        (*edata).detail_log = pg_sys::pstrdup(joined.as_ptr());
    }
}
