//! Glue for admin sessions and break-glass escalation (NS-PG-007 §2.2, §8.1, §8.3).
//!
//! Governed are the sessions that run SQL as a user: client backends and walsenders connected
//! to a database (`replication=database`).
//!
//! An **admin session** is one whose session or current role is an admin or a superuser. Its
//! timeouts are capped (`admin_limits`) when it starts, when it becomes admin, and whenever it
//! raises them; past `admin_session_max_duration` it runs no further statement at any nesting
//! level, and the worker ends it whatever it is doing (see `pg/admin_registry.rs` and
//! `worker.rs`).
//!
//! Every governed session is ended at its next statement (at any nesting level) when it is
//! still SET ROLE to a governed role (admin, migration, approver, break-glass, superuser) it is
//! no longer a member of, when it acts as a locked-down role, or when its login role was locked
//! down after it logged in. They are rechecked only when its roles changed or a shared
//! generation says roles or lockdowns changed.
//!
//! An **escalated** session holds `nspg_guard.breakglass_role` (granted by an approved request).
//! Each of its statements is audited, and it may not reconfigure the server, blind the audit
//! trail or become another role (`breakglass::Escalated`). Settings it could change without a
//! utility statement (set_config(), UPDATE pg_settings) are compared after every statement with
//! the values it had when the escalation began; a change raises an ERROR, and aborting the
//! transaction undoes the change.
//!
//! The per-statement cost for everyone else is one comparison of cached keys.

use crate::pg::admin_registry;
use crate::pg::backend::{BackendCell, BackendLocal};
use crate::pg::locked_roles;
use crate::pg::settings;
use crate::pg::standing;
use crate::pg::text::{role_name, role_oid, text};
use crate::policy::admin_limits::{self, Timeout};
use crate::policy::audit_event::{self, AuditClass};
use crate::policy::breakglass::{self, Escalated};
use crate::policy::ddl_guard::{Authority, Standing};
use crate::policy::verdict::Enforcement;
use crate::trail::report;
use crate::trail::write;
use pgrx::PgLogLevel;
use pgrx::pg_sys::{self, errcodes::PgSqlErrorCode, panic::ErrorReport, NodeTag};
use pgrx::prelude::*;
use std::ffi::{c_void, CStr, CString};

/// What the guards need to know about the session, for the roles it has now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Kind {
    admin: bool,
    escalated: bool,
    /// The governed role the session is still SET ROLE to after losing the membership that
    /// allowed it (PostgreSQL does not undo a SET ROLE when the grant goes).
    stale: Option<pg_sys::Oid>,
    breakglass_role: pg_sys::Oid,
}

/// (current user, session user, current user lent by a SECURITY DEFINER function, standing
/// generation, shared generation of role changes)
type Key = (pg_sys::Oid, pg_sys::Oid, bool, (u64, u64), u64);

/// What the session looked like when its escalation began.
struct Escalation {
    settings: Vec<(String, String)>,
    /// The request it came from, when the registry is in this database.
    request_id: Option<i64>,
}

/// The session's kind for the roles it had when it was last looked up.
static KIND: BackendLocal<Option<(Key, Kind)>> = BackendLocal::new(None);
/// The shared generations of role changes and of lockdowns this session last looked at.
static ROLES_SEEN: BackendLocal<u64> = BackendLocal::new(0);
static LOCKDOWNS_SEEN: BackendLocal<u64> = BackendLocal::new(0);
/// This transaction changed roles or memberships: other sessions look again once it commits.
static ROLES_TOUCHED: BackendLocal<bool> = BackendLocal::new(false);
/// A statement of this transaction ran escalated: the transaction keeps the escalated rules
/// until it ends (a PREPARE TRANSACTION just after the grant's REVOKE committed is refused).
static ESCALATED_IN_TRANSACTION: BackendLocal<bool> = BackendLocal::new(false);
/// PostgreSQL's own check of the `role` setting, which `check_role` wraps.
static PREV_ROLE_CHECK: BackendLocal<pg_sys::GucStringCheckHook> = BackendLocal::new(None);

static ESCALATION: BackendCell<Option<Escalation>> = BackendCell::new(None);
/// Backends to end once the current transaction commits (break-glass end, lockdown).
static TO_TERMINATE: BackendCell<Vec<i32>> = BackendCell::new(Vec::new());
/// A break-glass expiry to tell the writer about once the approval commits.
static EXPIRY_AT: BackendLocal<Option<i64>> = BackendLocal::new(None);
/// TO_TERMINATE holds pids: read by the transaction callback without touching the list.
static TERMINATING: BackendLocal<bool> = BackendLocal::new(false);

/// Registers the transaction callback that applies the caps at session start and ends sessions
/// after a commit, the callbacks that notice role changes, and the check of the `role` setting;
/// from `_PG_init` at preload (the settings exist by then; backends inherit the wrapped check).
pub unsafe fn install() {
    admin_registry::init();
    for cache in [pg_sys::SysCacheIdentifier::AUTHOID, pg_sys::SysCacheIdentifier::AUTHMEMROLEMEM] {
        pg_sys::CacheRegisterSyscacheCallback(cache as i32, Some(on_role_change), pg_sys::Datum::from(0));
    }
    wrap_role_check();
}

/// Sessions that run SQL as a user: client backends and walsenders connected to a database
/// (`replication=database`, which run SQL through the simple query protocol). Not background
/// workers (the audit writer), physical walsenders (replication commands only: no SQL), or
/// single-user mode.
#[inline(always)]
fn governed() -> bool {
    use pg_sys::BackendType::{B_BACKEND, B_WAL_SENDER};
    unsafe {
        pg_sys::IsUnderPostmaster
            && (pg_sys::MyBackendType == B_BACKEND || (pg_sys::MyBackendType == B_WAL_SENDER && pg_sys::am_db_walsender))
    }
}

fn key() -> Key {
    let (user, session, lent) = crate::pg::backend::users();
    (user, session, lent, standing::current_generation(), admin_registry::roles_generation())
}

/// True when the session is not governed, or is known to be neither admin nor escalated for
/// the roles it has now and no lockdown happened since it last looked: nothing to do around its
/// statements (`before_run` and `after_statement` would do nothing). Reads only cached state and
/// two shared counters (no guard needed).
#[inline(always)]
pub fn quiet() -> bool {
    !governed()
        || matches!(KIND.get(), Some((cached, kind)) if cached == key() && !kind.admin && !kind.escalated && kind.stale.is_none())
            && LOCKDOWNS_SEEN.get() == locked_roles::changes()
}

fn kind() -> Kind {
    let roles = admin_registry::roles_generation();
    if ROLES_SEEN.replace(roles) != roles && unsafe { pg_sys::IsTransactionState() } {
        // another session's role change committed: see it now, even in a long transaction
        unsafe { pg_sys::AcceptInvalidationMessages() };
    }
    let key = key();
    if let Some((cached, kind)) = KIND.get() {
        if cached == key {
            return kind;
        }
    }
    let kind = unsafe { look_up(key.0, key.1, key.2) };
    admin_registry::set_admin(kind.admin);
    if !kind.escalated {
        ESCALATION.with(|e| e.borrow_mut().take());
    }
    KIND.set(Some((key, kind)));
    kind
}

/// The session's kind. A current user lent by a SECURITY DEFINER function does not make the
/// session an admin one (nor escalated): the function's owner vouches for what it runs.
unsafe fn look_up(user: pg_sys::Oid, session: pg_sys::Oid, lent: bool) -> Kind {
    let of_session = standing::of(session);
    let of_user = if user == session || lent { of_session } else { standing::of(user) };
    let breakglass_role = role_oid(&settings::text_of(&settings::BREAKGLASS_ROLE)).unwrap_or(pg_sys::InvalidOid);
    // the role of a SET ROLE (also while a SECURITY DEFINER function lends another), as
    // PostgreSQL checks it: membership, or a superuser session
    let set_role = pg_sys::GetCurrentRoleId();
    let stale = (set_role != pg_sys::InvalidOid
        && set_role != session
        && standing::of(set_role) != Standing::default()
        && !pg_sys::is_member_of_role(session, set_role))
        .then_some(set_role);
    Kind {
        admin: of_session.has(Authority::Admin) || of_user.has(Authority::Admin),
        escalated: of_session.breakglass || of_user.breakglass,
        stale,
        breakglass_role,
    }
}

/// Must the session be looked at again after this utility statement? SET, RESET and DISCARD
/// may raise a timeout or change the role; in an escalated session, every statement may have
/// changed a watched setting. `Some(true)` for SET LOCAL.
///
/// # Safety
/// `node` is a valid utility parse tree of type `tag`.
pub unsafe fn recheck_after(tag: NodeTag, node: *mut pg_sys::Node) -> Option<bool> {
    if !governed() {
        return None;
    }
    match tag {
        NodeTag::T_VariableSetStmt => Some((*(node as *mut pg_sys::VariableSetStmt)).is_local),
        NodeTag::T_DiscardStmt => Some(false),
        _ => kind().escalated.then_some(false),
    }
}

/// Might `on_xact` have anything to do at this event? (True whenever it has.)
#[inline]
pub fn xact_pending(event: pg_sys::XactEvent::Type) -> bool {
    use pg_sys::XactEvent::*;
    match event {
        XACT_EVENT_PRE_COMMIT => pre_commit_due(),
        XACT_EVENT_COMMIT | XACT_EVENT_ABORT | XACT_EVENT_PREPARE => end_due(),
        _ => false,
    }
}

/// `xact_pending` before a commit: a governed session asks `pre_commit_pending`.
#[inline(always)]
pub fn pre_commit_due() -> bool {
    governed() && pre_commit_pending()
}

/// `xact_pending` as the transaction ends (commit, abort, prepare): flag reads.
#[inline(always)]
pub fn end_due() -> bool {
    ESCALATED_IN_TRANSACTION.get() || ROLES_TOUCHED.get() || TERMINATING.get() || EXPIRY_AT.get().is_some()
}

/// Out of line: `quiet` reads the session's roles, which the transaction callback's fast path
/// does not.
#[inline(never)]
fn pre_commit_pending() -> bool {
    (unsafe { pg_sys::Mode == pg_sys::ProcessingMode::InitProcessing }) || !quiet()
}

/// A transaction event `xact_pending` let through (from `hooks::on_xact`): the work runs under
/// pgrx's guard.
#[inline]
pub unsafe fn on_xact(event: pg_sys::XactEvent::Type) {
    use pg_sys::XactEvent::*;
    match event {
        // the transaction that ends backend start-up: every session-level setting is in
        XACT_EVENT_PRE_COMMIT if pg_sys::Mode == pg_sys::ProcessingMode::InitProcessing && governed() => cap_at_session_start(),
        XACT_EVENT_PRE_COMMIT if !quiet() => before_commit(),
        XACT_EVENT_COMMIT | XACT_EVENT_ABORT | XACT_EVENT_PREPARE => {
            ESCALATED_IN_TRANSACTION.set(false);
            if ROLES_TOUCHED.get() || TERMINATING.get() || EXPIRY_AT.get().is_some() {
                after_transaction(event);
            }
        }
        _ => {}
    }
}

/// What a transaction left to do once it ends.
unsafe fn after_transaction(event: pg_sys::XactEvent::Type) {
    if event == pg_sys::XactEvent::XACT_EVENT_COMMIT {
        after_commit();
    } else if event == pg_sys::XactEvent::XACT_EVENT_ABORT {
        ROLES_TOUCHED.set(false);
        TERMINATING.set(false);
        TO_TERMINATE.with(|t| t.borrow_mut().clear());
        EXPIRY_AT.set(None);
    }
}

/// pg_authid or pg_auth_members changed. Only a change this transaction made counts (it has a
/// transaction id by then): another session's change reaches this callback at the start of a
/// transaction, before it has one, and that session announces it itself.
#[pg_guard]
unsafe extern "C-unwind" fn on_role_change(_arg: pg_sys::Datum, _cacheid: i32, _hash: u32) {
    if pg_sys::GetTopTransactionIdIfAny() != pg_sys::InvalidTransactionId {
        ROLES_TOUCHED.set(true);
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn cap_at_session_start() {
    if kind().admin {
        cap_timeouts(false, false);
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn after_commit() {
    if ROLES_TOUCHED.replace(false) {
        admin_registry::roles_changed();
    }
    TERMINATING.set(false);
    let pids = TO_TERMINATE.with(|t| std::mem::take(&mut *t.borrow_mut()));
    crate::pg::backend::terminate(&pids);
    if let Some(at) = EXPIRY_AT.replace(None) {
        admin_registry::expiry_at(at);
    }
}

/// Before each statement (top-level or nested): end a session that may run no further
/// statement (`govern`); hold the admin caps whatever raised a timeout since (a PL/pgSQL
/// assignment of set_config(), a function's SET clause); audit each of an escalated session's
/// own statements. `top_level` says the statement is the client's own (`pg::nesting`);
/// `describe` gives its command tag and text.
pub fn before_statement(top_level: bool, describe: impl FnOnce() -> (String, String)) {
    if let Some(kind) = before_run() {
        if kind.escalated {
            note_escalated_statement(top_level, describe);
        }
    }
}

/// At each run of a client statement's portal (every Execute message of a portal fetched in
/// parts) and each planning at depth 0: as before a statement, without its audit row. Returns
/// the session's kind when it is governed.
pub fn before_run() -> Option<Kind> {
    if !governed() || crate::pg::as_guard::internal() {
        return None;
    }
    let kind = kind();
    if kind.escalated {
        ESCALATED_IN_TRANSACTION.set(true);
    }
    govern(kind);
    hold(kind);
    Some(kind)
}

/// Ends the session when it may run no further statement: still SET ROLE to a governed role it
/// lost, acting as a locked-down role, its login role locked down since it logged in, an admin session past its maximum
/// duration (against the clock, not the client statement's start: a DO loop that commits, or
/// a function running for hours, stops at its next statement).
fn govern(kind: Kind) {
    if let Some(role) = kind.stale {
        if role == kind.breakglass_role {
            end_session(AuditClass::Breakglass, "the break-glass access this session was using has ended", "Connect again; request break-glass access anew if the incident needs it.");
        }
        let why = format!("it is SET ROLE to \"{}\" but no longer a member of that role", role_name(role));
        end_session(AuditClass::Admin, &why, "Connect again; ask for the membership anew if you still need that role.");
    }
    check_lockdown();
    if kind.admin {
        let max = settings::ADMIN_SESSION_MAX_DURATION.get();
        let (started, now) = unsafe { (pg_sys::MyStartTimestamp, pg_sys::GetCurrentTimestamp()) };
        if admin_limits::past_max_duration(started, now, max) {
            let reason = format!(
                "it is older than nspg_guard.admin_session_max_duration ({})",
                admin_limits::show_ms(i64::from(max) * 1000)
            );
            end_session(AuditClass::Admin, &reason, "Connect again if you still need admin access: admin access is granted per session, for a bounded time.");
        }
    }
}

/// A session acting as a locked-down role (SET ROLE at any nesting, by a member the lockdown
/// missed or by a superuser) ends at its next statement: PostgreSQL does not undo a SET ROLE
/// when the membership goes. One atomic read while no lockdown is in force; the shared set only
/// while one is. And a lockdown committed since the session last looked: the session ends if
/// its login role is one locked down and can no longer log in (a login that raced the
/// lockdown's list of sessions, or one the list missed). The role's LOGIN comes from the
/// syscache, brought up to date first: no SQL.
fn check_lockdown() {
    if !unsafe { pg_sys::IsTransactionState() } {
        return;
    }
    let (user, _, _) = crate::pg::backend::users();
    let login = unsafe { pg_sys::GetAuthenticatedUserId() };
    // as its own login role, the login check below decides (and says so)
    if user != login && locked_roles::is_locked(user) {
        let why = format!("it acts as role \"{}\", which is locked down", role_name(user));
        end_session(AuditClass::Admin, &why, "See nspg_guard.role_lockdowns; an admin lifts a lockdown with nspg_guard.unlock_role().");
    }
    let generation = locked_roles::changes();
    if LOCKDOWNS_SEEN.get() == generation {
        return;
    }
    if locked_roles::is_locked(login) {
        unsafe { pg_sys::AcceptInvalidationMessages() };
        if !crate::pg::backend::can_login(login) {
            let why = format!("its login role \"{}\" was locked down", role_name(login));
            end_session(AuditClass::Admin, &why, "See nspg_guard.role_lockdowns; an admin lifts a lockdown with nspg_guard.unlock_role().");
        }
    }
    LOCKDOWNS_SEEN.set(generation);
}

/// What holds before anything of a statement runs: the admin caps, with the statement timer at
/// the cap, and an escalated session as itself.
fn hold(kind: Kind) {
    if kind.admin {
        unsafe { cap_timeouts(true, false) };
        crate::pg::nesting::arm_statement_timeout();
    }
    if kind.escalated {
        refuse_switched_role(kind);
    }
}

/// Before the transaction commits (after deferred triggers ran, and after a fastpath call): the
/// caps hold, and whatever an escalated session changed is refused — the ERROR aborts the
/// transaction, so the change does not persist.
#[pg_guard]
unsafe extern "C-unwind" fn before_commit() {
    if crate::pg::as_guard::internal() {
        return;
    }
    let kind = kind();
    if kind.admin {
        cap_timeouts(true, false);
    }
    if kind.escalated {
        verify_escalation(kind);
    }
}

/// The role a statement of an escalated session runs as, when it is neither the session's own
/// nor the break-glass role. A role lent by a SECURITY DEFINER function counts too: the session
/// could have made that function itself and given it to any role the break-glass role reaches.
fn switched_role(kind: Kind) -> Option<pg_sys::Oid> {
    let (user, session, _) = crate::pg::backend::users();
    (user != session && user != kind.breakglass_role).then_some(user)
}

/// Refuses before it runs a statement of an escalated session that became another role (a role
/// option at connection, set_config('role', …) through any route).
fn refuse_switched_role(kind: Kind) {
    if let Some(role) = switched_role(kind) {
        refuse_escalated(Escalated::SwitchRole(&role_name(role)));
    }
}

/// Ends this session with a FATAL that says why, audited first.
fn end_session(class: AuditClass, why: &str, hint: &str) -> ! {
    let started = audit_event::iso_timestamp(unsafe { pg_sys::MyStartTimestamp });
    if write::audited(class) {
        let mut event = write::event(class, "session_ended");
        event.command_tag = Some("SESSION END".into());
        event.reason = Some(why.to_string());
        event.details = Some(serde_json::json!({ "session_started": started, "ended_by": "its next statement" }));
        write::record_async(event);
    }
    ErrorReport::new(PgSqlErrorCode::ERRCODE_ADMIN_SHUTDOWN, format!("nspg_guard: session ended: {why}"), "nspg_guard")
        .set_detail(format!("The session started at {started}."))
        .set_hint(hint)
        .report(PgLogLevel::FATAL);
    unreachable!("a FATAL report does not return")
}

fn note_escalated_statement(top_level: bool, describe: impl FnOnce() -> (String, String)) {
    let began = ESCALATION.with(|e| e.borrow().is_none());
    if began {
        let session = unsafe { pg_sys::GetSessionUserId() };
        // set before the lookup: the lookup's own statement must not begin another escalation
        ESCALATION.with(|e| *e.borrow_mut() = Some(Escalation { settings: unsafe { audit_relevant_settings() }, request_id: None }));
        let request_id = active_request(session);
        ESCALATION.with(|e| {
            if let Some(escalation) = e.borrow_mut().as_mut() {
                escalation.request_id = request_id;
            }
        });
        if write::audited(AuditClass::Breakglass) {
            let mut event = write::event(AuditClass::Breakglass, "activated");
            event.command_tag = Some("BREAK-GLASS ACTIVATED".into());
            event.object_type = Some("role".into());
            event.object_identity = Some(settings::text_of(&settings::BREAKGLASS_ROLE));
            event.details = Some(serde_json::json!({ "request_id": request_id }));
            write::record_async(event);
        }
    }
    // one row per client statement: nested ones (functions, EXPLAIN ANALYZE) are their caller's
    if !top_level || !write::audited(AuditClass::Breakglass) {
        return;
    }
    let request_id = ESCALATION.with(|e| e.borrow().as_ref().and_then(|e| e.request_id));
    let (command, text) = describe();
    let mut event = write::event(AuditClass::Breakglass, "statement");
    event.command_tag = Some(command);
    event.statement = Some(text);
    event.details = Some(serde_json::json!({ "request_id": request_id }));
    write::record_async(event);
}

/// The active request of `requester`, when the registry is in this database (elsewhere the
/// usages view matches the events by requester and time).
fn active_request(requester: pg_sys::Oid) -> Option<i64> {
    let queryable = unsafe { pg_sys::IsTransactionState() && !pg_sys::IsAbortedTransactionBlockState() };
    if !queryable || !crate::pg::trail_tables::breakglass_registry_exists() {
        return None;
    }
    crate::pg::as_guard::as_guard(|| {
        Spi::get_one_with_args::<i64>(
            "SELECT max(id) FROM nspg_guard.breakglass_requests WHERE requester_oid = $1 AND state = 'active'",
            &[requester.into()],
        )
    })
    .ok()
    .flatten()
}

/// After each statement: cap the timeouts an admin session raised (SET, set_config, RESET,
/// SET ROLE to an admin); refuse what an escalated session changed without a utility statement.
/// `local` says the statement was SET LOCAL, so the cap is local too.
pub fn after_statement(local: bool) {
    if !governed() || crate::pg::as_guard::internal() {
        return;
    }
    let kind = kind();
    if kind.admin {
        unsafe { cap_timeouts(true, local) };
    }
    if kind.escalated {
        verify_escalation(kind);
    }
}

unsafe fn current_ms(timeout: Timeout) -> i32 {
    match timeout {
        Timeout::Statement => pg_sys::StatementTimeout,
        Timeout::IdleInTransaction => pg_sys::IdleInTransactionSessionTimeout,
        Timeout::IdleSession => pg_sys::IdleSessionTimeout,
    }
}

/// The cap of a timeout for admin sessions, from its `nspg_guard.admin_*` setting.
pub fn cap_ms(timeout: Timeout) -> i32 {
    match timeout {
        Timeout::Statement => settings::ADMIN_STATEMENT_TIMEOUT.get(),
        Timeout::IdleInTransaction => settings::ADMIN_IDLE_IN_TRANSACTION_TIMEOUT.get(),
        Timeout::IdleSession => settings::ADMIN_IDLE_SESSION_TIMEOUT.get(),
    }
}

unsafe fn cap_timeouts(notice: bool, local: bool) {
    for timeout in Timeout::ALL {
        let current = current_ms(timeout);
        let Some(cap) = admin_limits::capped(current, cap_ms(timeout)) else { continue };
        let name = CString::new(timeout.setting()).unwrap_or_default();
        let value = CString::new(cap.to_string()).unwrap_or_default();
        let action = if local { pg_sys::GucAction::GUC_ACTION_LOCAL } else { pg_sys::GucAction::GUC_ACTION_SET };
        pg_sys::set_config_option(
            name.as_ptr(),
            value.as_ptr(),
            pg_sys::GucContext::PGC_USERSET,
            pg_sys::GucSource::PGC_S_SESSION,
            action,
            true,
            0,
            false,
        );
        if notice {
            ErrorReport::new(
                PgSqlErrorCode::ERRCODE_SUCCESSFUL_COMPLETION,
                format!("nspg_guard: {} capped at {} for admin sessions", timeout.setting(), admin_limits::show_ms(i64::from(cap))),
                "nspg_guard",
            )
            .set_detail(format!(
                "The session's {} was {}; {} is {} (NS-PG-007 §8.3: safe timeouts apply to admin sessions too).",
                timeout.setting(),
                admin_limits::show_ms(i64::from(current)),
                timeout.cap_setting(),
                admin_limits::show_ms(i64::from(cap))
            ))
            .report(PgLogLevel::NOTICE);
        }
    }
}

/// The audit-relevant settings (`audit_event::is_audit_relevant_setting`) and their values.
unsafe fn audit_relevant_settings() -> Vec<(String, String)> {
    let variables = pg_sys::get_guc_variables();
    (0..pg_sys::GetNumConfigOptions().max(0) as usize)
        .filter_map(|i| {
            let variable = *variables.add(i);
            let name = CStr::from_ptr((*variable).name);
            audit_event::is_audit_relevant_setting(name.to_bytes()).then(|| {
                let value = text(pg_sys::GetConfigOption(name.as_ptr(), true, false)).unwrap_or_default();
                (name.to_string_lossy().into_owned(), value)
            })
        })
        .collect()
}

fn verify_escalation(kind: Kind) {
    refuse_switched_role(kind);
    let changed = ESCALATION.with(|e| {
        e.borrow().as_ref().and_then(|baseline| breakglass::changed_setting(&baseline.settings, &unsafe { audit_relevant_settings() }))
    });
    if let Some(name) = changed {
        refuse_escalated(Escalated::ChangeSetting(&name));
    }
}

fn refuse_escalated(action: Escalated) {
    let role = role_name(unsafe { pg_sys::GetSessionUserId() });
    let refusal = breakglass::escalated_refusal(action, &role, &settings::text_of(&settings::BREAKGLASS_ROLE));
    report::raise(refusal, Enforcement::Refuse);
}

/// The break-glass role (InvalidOid when it does not exist) and whether the statement is held to
/// the escalated rules of `guard::persistence`; None where the guards do not judge statements
/// (not a client session, nspg_guard's own work). Those rules also hold for a current user that
/// holds the break-glass role now while the session's does not: code an escalated requester
/// owns (a SECURITY DEFINER function, a trigger's) run from another role's session. That
/// session is not made escalated otherwise (its other statements, and the rest of that code,
/// run as before): only what would outlast the grant is refused.
pub fn breakglass_state() -> Option<(pg_sys::Oid, bool)> {
    if !governed() || crate::pg::as_guard::internal() {
        return None;
    }
    let kind = kind();
    let escalated = kind.escalated || ESCALATED_IN_TRANSACTION.get() || lent_escalated_user().is_some();
    Some((kind.breakglass_role, escalated))
}

/// The current user, when it holds the break-glass role now (and is not that role) while the
/// session's own user does not.
pub fn lent_escalated_user() -> Option<pg_sys::Oid> {
    let (user, session, _) = crate::pg::backend::users();
    let lent = user != session && user != kind().breakglass_role && standing::of(user).breakglass && !standing::of(session).breakglass;
    lent.then_some(user)
}

/// Utility statements an escalated session may not run (refused before they run).
///
/// # Safety
/// `node` is a valid utility parse tree of type `tag`.
pub unsafe fn check_utility(tag: NodeTag, node: *mut pg_sys::Node) {
    if !governed() || crate::pg::as_guard::internal() {
        return;
    }
    let kind = kind();
    if !kind.escalated {
        return;
    }
    match tag {
        NodeTag::T_AlterSystemStmt => refuse_escalated(Escalated::AlterSystem),
        NodeTag::T_CopyStmt if (*(node as *mut pg_sys::CopyStmt)).is_program => refuse_escalated(Escalated::CopyProgram),
        NodeTag::T_VariableSetStmt => check_set(node as *mut pg_sys::VariableSetStmt, kind),
        NodeTag::T_AlterRoleSetStmt => check_stored_set((*(node as *mut pg_sys::AlterRoleSetStmt)).setstmt, kind),
        NodeTag::T_AlterDatabaseSetStmt => check_stored_set((*(node as *mut pg_sys::AlterDatabaseSetStmt)).setstmt, kind),
        _ => {}
    }
}

/// ALTER ROLE/DATABASE … SET or RESET: RESET ALL removes stored audit-relevant settings too.
unsafe fn check_stored_set(set: *mut pg_sys::VariableSetStmt, kind: Kind) {
    if !set.is_null() && (*set).kind == pg_sys::VariableSetKind::VAR_RESET_ALL {
        refuse_escalated(Escalated::ChangeSetting("all"));
    }
    check_set(set, kind);
}

unsafe fn check_set(set: *mut pg_sys::VariableSetStmt, kind: Kind) {
    if set.is_null() || (*set).name.is_null() {
        return;
    }
    let name = CStr::from_ptr((*set).name).to_string_lossy();
    if name == "role" || name == "session_authorization" {
        if (*set).kind != pg_sys::VariableSetKind::VAR_SET_VALUE {
            return; // RESET ROLE, SET ROLE NONE: back to the session's own role
        }
        refuse_switch_to(&first_string_arg((*set).args).unwrap_or_default(), kind);
    } else if audit_event::is_audit_relevant_setting(name.as_bytes()) {
        refuse_escalated(Escalated::ChangeSetting(&name));
    }
}

/// Refuses an escalated session's switch to `target` (a role name, or "none") unless it is the
/// session's own role or the break-glass role.
fn refuse_switch_to(target: &str, kind: Kind) {
    let session = role_name(unsafe { pg_sys::GetSessionUserId() });
    let breakglass_role = role_name(kind.breakglass_role);
    if !(target == session || target == breakglass_role || target.eq_ignore_ascii_case("none")) {
        refuse_escalated(Escalated::SwitchRole(target));
    }
}

/// Wraps PostgreSQL's check of the `role` setting, the one door of every way to change it
/// (SET ROLE, set_config('role', …) anywhere in a statement, a function's SET clause): an
/// escalated session is refused the switch before it happens, not after the statement that
/// used it.
unsafe fn wrap_role_check() {
    let variables = pg_sys::get_guc_variables();
    for i in 0..pg_sys::GetNumConfigOptions().max(0) as usize {
        let variable = *variables.add(i);
        if CStr::from_ptr((*variable).name) == c"role" && (*variable).vartype == pg_sys::config_type::PGC_STRING {
            let role = variable as *mut pg_sys::config_string;
            PREV_ROLE_CHECK.set((*role).check_hook);
            (*role).check_hook = Some(check_role);
        }
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn check_role(newval: *mut *mut std::ffi::c_char, extra: *mut *mut c_void, source: pg_sys::GucSource::Type) -> bool {
    if let Some(prev) = PREV_ROLE_CHECK.get() {
        if !prev(newval, extra, source) {
            return false;
        }
    }
    // at session start (a role option) the first statement refuses it; outside a transaction
    // PostgreSQL's own check cannot look the role up either
    let judged = governed()
        && pg_sys::Mode == pg_sys::ProcessingMode::NormalProcessing
        && pg_sys::IsTransactionState()
        && !crate::pg::as_guard::internal();
    if judged {
        let kind = kind();
        if kind.escalated {
            refuse_switch_to(&text(*newval).unwrap_or_default(), kind);
        }
    }
    true
}

unsafe fn first_string_arg(args: *mut pg_sys::List) -> Option<String> {
    let first = pgrx::PgList::<pg_sys::Node>::from_pg(args).get_ptr(0)?;
    if !pgrx::is_a(first, NodeTag::T_A_Const) {
        return None;
    }
    let value = std::ptr::addr_of_mut!((*(first as *mut pg_sys::A_Const)).val) as *mut pg_sys::Node;
    pgrx::is_a(value, NodeTag::T_String).then(|| CStr::from_ptr((*(value as *mut pg_sys::String)).sval).to_string_lossy().into_owned())
}

/// Tells the writer about a grant expiring at `at` once the current transaction commits (before
/// that, the writer could not see the grant).
pub fn expiry_after_commit(at: i64) {
    EXPIRY_AT.set(Some(EXPIRY_AT.get().map_or(at, |earlier| earlier.min(at))));
}


/// Ends `pids` once the current transaction commits (nothing happens if it aborts).
pub fn terminate_after_commit(pids: &[i32]) {
    TO_TERMINATE.with(|t| t.borrow_mut().extend_from_slice(pids));
    TERMINATING.set(true);
}
