//! Login events (NS-PG-007 §7.2 "always log authentication successes/failures … connection
//! source and principal"). No transaction or catalog is available while a client
//! authenticates, so events are built from the connection's Port and queued.
//!
//! - A failure raises FATAL: wrong password and unknown roles after the authentication hook,
//!   "no pg_hba.conf entry" before it. The log hook (`guard::log_lines`) sees every one of them
//!   and passes it to [`note_failure`], which records the event (with the names as sent) and
//!   leaves the tagged JSON for the hook to add to the FATAL's server-log entry (DETAIL), so
//!   the log has it at the moment it happens.
//! - A success is only certain once the session is set up (the role may still not exist under
//!   `trust`), so the authentication hook keeps it pending and the first transaction commit of
//!   the session, the end of backend start-up, records it.

use crate::pg::backend::BackendCell;
use crate::pg::settings;
use crate::pg::text::text;
use crate::policy::audit_event::{self, AuditClass, AuditEvent};
use crate::trail::write;
use pgrx::pg_sys::{self, errcodes::PgSqlErrorCode};
use pgrx::prelude::*;

static mut PREV_CLIENT_AUTHENTICATION: pg_sys::libpq::ClientAuthentication_hook_type = None;

/// PENDING_LOGIN may hold an event: read by the transaction callback without touching it.
static LOGIN_PENDING: crate::pg::backend::BackendLocal<bool> = crate::pg::backend::BackendLocal::new(false);

static PENDING_LOGIN: BackendCell<Option<AuditEvent>> = BackendCell::new(None);
/// The tagged line of a failed login, for the log hook to add to the FATAL's entry.
static FAILURE_LINE: BackendCell<Option<String>> = BackendCell::new(None);

/// The line [`note_failure`] left for the entry being emitted, if any.
pub fn take_failure_line() -> Option<String> {
    FAILURE_LINE.with(|l| l.borrow_mut().take())
}

pub unsafe fn install() {
    PREV_CLIENT_AUTHENTICATION = pg_sys::libpq::ClientAuthentication_hook;
    pg_sys::libpq::ClientAuthentication_hook = Some(client_authentication);
}

/// A login event from the connection's own data (no catalog access).
unsafe fn login_event(outcome: &str) -> Option<AuditEvent> {
    let port = pg_sys::libpq::be::MyProcPort;
    if port.is_null() {
        return None;
    }
    Some(AuditEvent {
        event_time: audit_event::iso_timestamp(pg_sys::GetCurrentTimestamp()),
        class: AuditClass::Login.as_str().to_string(),
        outcome: outcome.to_string(),
        command_tag: Some("LOGIN".to_string()),
        object_type: Some("role".to_string()),
        object_identity: text((*port).user_name),
        session_user: text((*port).user_name),
        client_addr: text((*port).remote_host).filter(|h| h != "[local]"),
        client_port: text((*port).remote_port).and_then(|p| p.parse().ok()),
        application_name: text((*port).application_name),
        database: text((*port).database_name),
        backend_pid: pg_sys::MyProcPid,
        session_id: Some(audit_event::session_id(pg_sys::MyStartTime, pg_sys::MyProcPid)),
        details: Some(serde_json::json!({ "connection": if text((*port).remote_host).as_deref() == Some("[local]") { "local socket" } else { "tcp" } })),
        ..AuditEvent::default()
    })
}

/// A plain old frame: an error raised further down the chain passes through untouched.
unsafe extern "C-unwind" fn client_authentication(port: *mut pg_sys::libpq::be::Port, status: i32) {
    if let Some(prev) = PREV_CLIENT_AUTHENTICATION {
        prev(port, status);
    }
    note_login(status);
}

#[pg_guard]
unsafe extern "C-unwind" fn note_login(status: i32) {
    if status == pg_sys::STATUS_OK as i32 && write::audited(AuditClass::Login) {
        PENDING_LOGIN.with(|p| *p.borrow_mut() = login_event("login_ok"));
        LOGIN_PENDING.set(true);
    }
}

/// A login to record at this commit.
#[inline]
fn login_to_record(event: pg_sys::XactEvent::Type) -> bool {
    event == pg_sys::XactEvent::XACT_EVENT_COMMIT && commit_due()
}

/// The transaction that ends a walsender's start-up (with the catalogs at hand) about to commit.
#[inline]
fn walsender_start_ending(event: pg_sys::XactEvent::Type) -> bool {
    event == pg_sys::XactEvent::XACT_EVENT_PRE_COMMIT && pre_commit_due()
}

/// `xact_pending` at a commit: a login waits to be recorded.
#[inline(always)]
pub fn commit_due() -> bool {
    LOGIN_PENDING.get()
}

/// `xact_pending` before a commit: a walsender's start-up ends.
#[inline(always)]
pub fn pre_commit_due() -> bool {
    unsafe { pg_sys::Mode == pg_sys::ProcessingMode::InitProcessing && pg_sys::MyBackendType == pg_sys::BackendType::B_WAL_SENDER }
}

/// Has `on_xact` work at this event?
#[inline]
pub fn xact_pending(event: pg_sys::XactEvent::Type) -> bool {
    login_to_record(event) || walsender_start_ending(event)
}

/// A transaction event `xact_pending` let through (from `hooks::on_xact`).
#[inline]
pub unsafe fn on_xact(event: pg_sys::XactEvent::Type) {
    if login_to_record(event) {
        record_pending_login();
    }
    if walsender_start_ending(event) {
        check_replication_login();
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn check_replication_login() {
    crate::guard::capability::check_replication_login();
}

#[pg_guard]
unsafe extern "C-unwind" fn record_pending_login() {
    LOGIN_PENDING.set(false);
    if let Some(login) = PENDING_LOGIN.with(|p| p.borrow_mut().take()) {
        write::record_async(login);
    }
}

/// SQLSTATEs of failed logins: class 28 (invalid authorization: wrong password, no pg_hba
/// entry, unknown role) and 3D000 (the database asked for does not exist).
fn is_login_failure(code: i32) -> bool {
    let class_28 = PgSqlErrorCode::ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION as i32 & 0xFFF;
    code & 0xFFF == class_28 || code == PgSqlErrorCode::ERRCODE_INVALID_CATALOG_NAME as i32
}

/// Called by the log hook for every message of every process: leaves at once unless it is a
/// FATAL of a backend still starting up (not yet in normal processing mode). Never raises.
#[pg_guard]
pub unsafe extern "C-unwind" fn note_failure(edata: *mut pg_sys::ErrorData) {
    if (*edata).elevel == pg_sys::FATAL as i32
        && !pg_sys::MyProc.is_null()
        && pg_sys::Mode != pg_sys::ProcessingMode::NormalProcessing
        && is_login_failure((*edata).sqlerrcode)
        && settings::audit_classes().contains(AuditClass::Login)
    {
        // authenticated but refused afterwards (unknown role under trust): not a login after all
        PENDING_LOGIN.with(|p| p.borrow_mut().take());
        record_failure(edata);
    }
}

unsafe fn record_failure(edata: *mut pg_sys::ErrorData) {
    let Some(mut event) = login_event("login_failed") else { return };
    event.sqlstate = Some(crate::pg::errors::sqlstate_text((*edata).sqlerrcode));
    event.reason = text((*edata).message);
    // The FATAL's own log entry carries the event now (the hook adds the line once it has
    // scrubbed the entry); the queue takes it to the table.
    FAILURE_LINE.with(|l| *l.borrow_mut() = Some(event.log_line()));
    if settings::audit_destinations().table {
        write::queue_only(&event);
    }
}
