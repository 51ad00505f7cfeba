//! nspg_guard's one `emit_log_hook`: every server log entry of every process passes here before
//! PostgreSQL writes it (NS-PG-007 §6.2, §7.2).
//!
//! - Secrets: the entry's texts are scrubbed (`policy::log_line`), and the statement PostgreSQL
//!   prints on the `STATEMENT:` line (and in csvlog/jsonlog) — `debug_query_string` — is pointed
//!   at its redacted copy for as long as that statement runs.
//! - Forged lines: the tag of our lines is broken in every text that [`audit_line`] did not
//!   write, and in the names `log_line_prefix` can print (`%a` application name, `%h`/`%r`
//!   host, `%u` user, `%d` database, also while authenticating) so no prefix can carry it
//!   either.
//! - Failed logins (`guard::auth`) add their event to the entry.
//!
//! Pure string work and pallocs in the error context only: nothing here raises (a panic is
//! caught and the entry's statement is hidden), and nothing reads a catalog.

use crate::pg::audit_line;
use crate::pg::backend::BackendCell;
use crate::pg::text::text;
use crate::policy::log_line::{self, Statement, TAG};
use pgrx::pg_sys;
use std::rc::Rc;
use std::ffi::{c_char, CString};

static mut PREV_EMIT_LOG: pg_sys::emit_log_hook_type = None;

/// The statement last seen in `debug_query_string` and its redacted copy, which
/// `debug_query_string` points to while the statement runs.
struct Current {
    /// What `debug_query_string` pointed to when the statement was read.
    source: *const c_char,
    statement: Rc<Statement>,
    /// The redacted text, when it differs.
    shown: Option<CString>,
}

static CURRENT: BackendCell<Option<Current>> = BackendCell::new(None);

pub unsafe fn install() {
    PREV_EMIT_LOG = pg_sys::emit_log_hook;
    pg_sys::emit_log_hook = Some(emit_log);
}

/// Ours first, so that hooks installed before ours (and the log itself) see the scrubbed entry;
/// then the previous hook, as a plain frame.
unsafe extern "C-unwind" fn emit_log(edata: *mut pg_sys::ErrorData) {
    if !edata.is_null() {
        // a failed login is recorded with the names as sent, before they are scrubbed
        crate::guard::auth::note_failure(edata);
        let processed = std::panic::catch_unwind(|| process(edata));
        if processed.is_err() {
            // fail closed: no statement in this entry rather than one nobody redacted
            (*edata).hide_stmt = true;
        }
        if let Some(line) = crate::guard::auth::take_failure_line() {
            audit_line::add_to_entry(edata, &line);
        }
    }
    if let Some(prev) = PREV_EMIT_LOG {
        prev(edata);
    }
}

unsafe fn process(edata: *mut pg_sys::ErrorData) {
    let scs = pg_sys::standard_conforming_strings;
    let ours = audit_line::writing_ours();
    if ours {
        // our line carries its own statement, in its JSON: no `STATEMENT:` line repeating the
        // top-level one (a LOG entry passes log_min_error_statement), as pgaudit does with
        // errhidestmt — half the bytes per audited statement
        (*edata).hide_stmt = true;
    }
    with_statement(edata, scs, |statement| {
        for field in [&mut (*edata).message, &mut (*edata).detail, &mut (*edata).detail_log, &mut (*edata).hint, &mut (*edata).context] {
            let Some(old) = text(*field) else { continue };
            // only the message of our own line keeps its tag
            let keep_tag = ours && std::ptr::eq(field, &(*edata).message) && old.starts_with(TAG);
            if let Some(new) = log_line::scrub(&old, statement, scs, keep_tag) {
                replace(field, &new);
            }
        }
        if let Some(old) = text((*edata).internalquery) {
            if let Some(new) = log_line::scrub_query(&old, statement, scs) {
                replace(&mut (*edata).internalquery, &new);
            }
        }
    });
    break_prefix_tags();
}

unsafe fn replace(field: &mut *mut c_char, new: &str) {
    // a NUL can't come from a C string's text, but never panic over it
    let new = CString::new(new.replace('\0', "")).unwrap_or_default();
    *field = pg_sys::pstrdup(new.as_ptr());
}

/// Runs `f` with the redacted statement of `debug_query_string` (read once per statement), and
/// points `debug_query_string` at the redacted text when it differs.
unsafe fn with_statement(edata: *mut pg_sys::ErrorData, scs: bool, f: impl FnOnce(Option<&Statement>)) {
    let current = pg_sys::debug_query_string;
    if current.is_null() {
        return f(None);
    }
    // the cell is not borrowed while `f` runs (it pallocs: an error there must not leave it
    // borrowed for every later entry)
    let statement = CURRENT.with(|cell| {
        let mut slot = cell.try_borrow_mut().ok()?;
        let known = slot.as_ref().is_some_and(|c| {
            c.shown.as_ref().is_some_and(|s| std::ptr::eq(s.as_ptr(), current))
                || (std::ptr::eq(c.source, current) && text(current).unwrap_or_default() == c.statement.original)
        });
        if !known {
            let original = text(current).unwrap_or_default();
            let statement = Rc::new(Statement::new(&original, scs));
            let shown = statement.changed().then(|| CString::new(statement.shown.replace('\0', "")).unwrap_or_default());
            if let Some(shown) = &shown {
                pg_sys::debug_query_string = shown.as_ptr();
            }
            // the previous copy is dropped only now that debug_query_string points elsewhere
            *slot = Some(Current { source: current, statement, shown });
        }
        slot.as_ref().map(|c| Rc::clone(&c.statement))
    });
    match statement {
        Some(statement) => f(Some(&statement)),
        None => {
            // not readable (a report inside a report): no statement line rather than an
            // unredacted one
            (*edata).hide_stmt = true;
            f(None)
        }
    }
}

/// Breaks the tag in the names log_line_prefix prints. The application name and host are
/// changed in place (same length); the port is pointed at changed copies of the user and
/// database names. Also while authenticating: the names are the client's, sent before any
/// password, and a LOG entry written then (a protocol error in the middle of a password
/// exchange) prints them, newlines and all. A name holding the tag then no longer matches its
/// role or database, so that login fails: only when an entry is written during it (at a DEBUG
/// log_min_messages, every login), and only for names that hold the tag.
unsafe fn break_prefix_tags() {
    break_in_place(pg_sys::application_name);
    let port = pg_sys::libpq::be::MyProcPort;
    if port.is_null() {
        return;
    }
    break_in_place((*port).remote_host);
    for name in [&mut (*port).user_name, &mut (*port).database_name] {
        if let Some(broken) = text(*name).and_then(|n| log_line::break_tag(&n)) {
            if let Ok(broken) = CString::new(broken) {
                *name = pg_sys::MemoryContextStrdup(pg_sys::TopMemoryContext, broken.as_ptr());
            }
        }
    }
}

unsafe fn break_in_place(p: *mut c_char) {
    if p.is_null() {
        return;
    }
    let len = std::ffi::CStr::from_ptr(p).to_bytes().len();
    let bytes = std::slice::from_raw_parts_mut(p.cast::<u8>(), len);
    let tag = TAG.as_bytes();
    let mut i = 0;
    while i + tag.len() <= bytes.len() {
        if &bytes[i..i + tag.len()] == tag {
            bytes[i + log_line::BROKEN_TAG.find('-').unwrap_or(4)] = b'-';
            i += tag.len();
        } else {
            i += 1;
        }
    }
}
