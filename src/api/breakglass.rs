//! Break-glass glue: the SQL functions that file, approve, deny, end and review requests, and
//! the registry steps of the writer's expiry round (`worker.rs`). The rules are in `policy/breakglass.rs`; here the registry
//! (sql/breakglass.sql) is read and written as nspg_guard itself, the break-glass role is
//! granted and revoked, and each step is audited in the same transaction as the change.

use crate::api::support::{quote_ident, require_registry, required_reason, run, spi, FirstValue};
use crate::guard::admin_session;
use crate::pg::errors::fail;
use crate::pg::lock_wait;
use crate::pg::private_lock::{self, PrivateLock};
use crate::pg::settings;
use crate::pg::standing;
use crate::pg::text::{role_name, role_oid};
use crate::policy::audit_event::AuditClass;
use crate::policy::breakglass::{self, ApprovalError, Decider, State, Step};
use crate::trail::report::deny;
use crate::trail::write;
use pgrx::PgLogLevel;
use pgrx::datum::{Interval, TimestampWithTimeZone};
use pgrx::pg_sys::{self, errcodes::PgSqlErrorCode, panic::ErrorReport};
use pgrx::prelude::*;

extension_sql_file!("../../sql/breakglass.sql", name = "breakglass_schema", requires = ["audit_schema"]);
// the lint rules (sql/lint/) about break-glass
extension_sql_file!("../../sql/lint/audit_breakglass_review_due.sql", requires = ["lint_framework", "breakglass_schema"]);
extension_sql_file!("../../sql/lint/settings_breakglass_self_approve_on.sql", requires = ["lint_framework"]);

/// The caller: its session role (the person) and current role.
struct Caller {
    session: pg_sys::Oid,
    user: pg_sys::Oid,
}

impl Caller {
    fn now() -> Caller {
        unsafe { Caller { session: pg_sys::GetSessionUserId(), user: pg_sys::GetUserId() } }
    }
    fn is(&self, role: pg_sys::Oid) -> bool {
        self.session == role || self.user == role
    }
    fn approver(&self) -> bool {
        standing::of(self.user).approver || standing::of(self.session).approver
    }
    fn admin(&self) -> bool {
        standing::current_user_is_admin()
    }
    fn name(&self) -> String {
        role_name(self.session)
    }
    /// Holds the break-glass role now, through any membership (with or without INHERIT).
    fn escalated(&self) -> bool {
        role_oid(&settings::text_of(&settings::BREAKGLASS_ROLE))
            .is_some_and(|role| [self.session, self.user].into_iter().any(|r| unsafe { pg_sys::is_member_of_role_nosuper(r, role) }))
    }
    /// Who the caller is to a request of `requester` (separation of duties).
    fn decider(&self, requester: pg_sys::Oid) -> Decider {
        let shares = |r: pg_sys::Oid| {
            r != requester && unsafe { pg_sys::is_member_of_role_nosuper(r, requester) || pg_sys::is_member_of_role_nosuper(requester, r) }
        };
        Decider {
            is_requester: self.is(requester),
            shares_privileges: shares(self.session) || shares(self.user),
            is_approver: self.approver(),
            is_admin: self.admin(),
            escalated: self.escalated(),
        }
    }
}

/// Does the calling session hold the break-glass role now (the incident levers ask)?
pub fn caller_escalated() -> bool {
    Caller::now().escalated()
}

/// A request as the functions need it, locked for the rest of the transaction.
struct Request {
    id: i64,
    requester: String,
    requester_oid: pg_sys::Oid,
    state: State,
    incident: Option<String>,
    reviewed: bool,
    granted_role: Option<String>,
}

/// Request `id`, locked for the rest of the transaction, once `authorize` (which raises to
/// refuse) let the caller through on an unlocked read: a caller with no say on the request never
/// holds its row, which would hold up its expiry.
fn lock_request(id: Option<i64>, function: &str, authorize: impl Fn(&Request)) -> Request {
    let Some(id) = id else {
        fail(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, format!("nspg_guard: {function} needs a request id, not NULL"), "Look the id up in nspg_guard.breakglass_usages.");
    };
    let missing = || -> Request {
        fail(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, format!("nspg_guard: there is no break-glass request {id}"), "Look the id up in nspg_guard.breakglass_usages.")
    };
    authorize(&fetch_request(id, "").unwrap_or_else(missing));
    fetch_request(id, "FOR UPDATE").unwrap_or_else(missing)
}

/// Request `id` read with `tail` (its lock clause and any further condition); None when no row.
fn fetch_request(id: i64, tail: &str) -> Option<Request> {
    spi(|client| {
        let row = client
            .update(
                &format!(
                    "SELECT requester::text, requester_oid, state, incident, reviewed_at IS NOT NULL, granted_role::text
                       FROM nspg_guard.breakglass_requests WHERE id = $1 {tail}"
                ),
                Some(1),
                &[id.into()],
            )?
            .first();
        if row.is_empty() {
            return Ok(None);
        }
        Ok(Some(Request {
            id,
            requester: row.get::<String>(1)?.unwrap_or_default(),
            requester_oid: row.get::<pg_sys::Oid>(2)?.unwrap_or(pg_sys::InvalidOid),
            state: row.get::<String>(3)?.as_deref().and_then(State::parse).unwrap_or(State::Cancelled),
            incident: row.get::<String>(4)?,
            reviewed: row.get::<bool>(5)?.unwrap_or(false),
            granted_role: row.get::<String>(6)?,
        }))
    })
}

/// Refuses the caller a step on `request` (42501, audited).
fn refuse_step(request: &Request, caller: &Caller, step: Step, detail: &str, hint: &str) -> ! {
    let (command, done) = match step {
        Step::Approve => ("BREAK-GLASS APPROVE", "approved"),
        Step::Deny => ("BREAK-GLASS DENY", "denied"),
        Step::End | Step::Expire => ("BREAK-GLASS END", "ended"),
        Step::Review => ("BREAK-GLASS REVIEW", "reviewed"),
    };
    deny(
        command,
        format!("nspg_guard: break-glass request {} cannot be {done} by role \"{}\"", request.id, caller.name()),
        detail.to_string(),
        hint,
    )
}

/// Refuses an approval, denial or review by the separation-of-duties rules (42501, audited).
fn refuse_decision(request: &Request, caller: &Caller, step: Step, e: &ApprovalError) -> ! {
    let detail = format!(
        "{} (approvers: nspg_guard.breakglass_approvers = '{}').",
        crate::policy::verdict::sentence(e).trim_end_matches('.'),
        settings::text_of(&settings::BREAKGLASS_APPROVERS)
    );
    refuse_step(request, caller, step, &detail, e.hint())
}

fn advance(request: &Request, step: Step) -> State {
    breakglass::next_state(request.id, request.state, step).unwrap_or_else(|e| {
        fail(PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE, format!("nspg_guard: {e}"), "See its state in nspg_guard.breakglass_usages.")
    })
}

/// The break-glass role, which must exist before anything is granted.
fn breakglass_role() -> (String, pg_sys::Oid) {
    let name = settings::text_of(&settings::BREAKGLASS_ROLE);
    let Some(oid) = role_oid(&name) else {
        fail(
            PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT,
            format!("nspg_guard: break-glass role \"{name}\" does not exist"),
            &format!("A DBA creates it with the privileges emergencies need: CREATE ROLE {} NOLOGIN; (see nspg_guard.breakglass_role).", quote_ident(&name)),
        );
    };
    (name, oid)
}

/// Records a step of `request` in the audit trail, in the step's transaction.
fn record(step: &str, id: i64, requester: &str, reason: Option<String>, details: serde_json::Value) {
    if !write::audited(AuditClass::Breakglass) {
        return;
    }
    let mut event = write::event(AuditClass::Breakglass, step);
    event.command_tag = Some(format!("BREAK-GLASS {}", step.to_uppercase()));
    event.object_type = Some("break-glass request".into());
    event.object_identity = Some(format!("{id}"));
    event.reason = reason;
    let mut details = details;
    if let Some(map) = details.as_object_mut() {
        map.insert("request_id".into(), id.into());
        map.insert("requester".into(), requester.into());
    }
    event.details = Some(details);
    write::record_committed(event);
}

/// Files a request for break-glass access; returns its id. Any login role may ask.
#[pg_extern(volatile, parallel_unsafe, requires = ["breakglass_schema"])]
fn breakglass_request(reason: Option<&str>, duration: Option<Interval>, incident: default!(Option<&str>, "NULL")) -> i64 {
    require_registry("breakglass_request()");
    let max = settings::BREAKGLASS_MAX_DURATION.get();
    let seconds = duration.map(|d| breakglass::interval_seconds(d.months(), d.days(), d.micros()));
    let request = breakglass::validate_request(reason, seconds, incident, max).unwrap_or_else(|e| {
        fail(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("nspg_guard: invalid break-glass request: {e}"),
            &format!(
                "Say why in a few words and ask for no more than {} (nspg_guard.breakglass_max_duration), e.g. SELECT nspg_guard.breakglass_request('restore orders deleted by bad deploy', '30 minutes', 'INC-1234');",
                crate::policy::admin_limits::show_ms(i64::from(max) * 1000)
            ),
        )
    });
    let (role, _) = breakglass_role();
    let caller = Caller::now();
    let requester = caller.name();
    if standing::of(caller.session).breakglass {
        fail(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!("nspg_guard: role \"{requester}\" already has the privileges of break-glass role \"{role}\""),
            "Nothing to escalate to; end the access it has first (nspg_guard.breakglass_end) if it came from a request.",
        );
    }
    // Two requests of one role at once: the second waits for the first to commit and then sees
    // it (the unique index breakglass_requests_one_open is the database's own guarantee). The
    // lock is one no SQL session can take, so no other role can make this wait.
    private_lock::take(PrivateLock::BreakglassRequest, caller.session.to_u32());
    // (read-write, so that it takes a new snapshot: one taken before the lock was granted
    // would not see the request that the lock waited for)
    let open = spi(|client| {
        client
            .update(
                "SELECT id FROM nspg_guard.breakglass_requests WHERE requester_oid = $1 AND state IN ('requested', 'active')",
                Some(1),
                &[caller.session.into()],
            )?
            .first_value::<i64>()
    });
    if let Some(open) = open {
        fail(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!("nspg_guard: role \"{requester}\" already has break-glass request {open} open"),
            &format!("Wait for it to be decided, or withdraw it with SELECT nspg_guard.breakglass_end({open});"),
        );
    }
    let id = spi(|client| {
        client
            .update(
                "INSERT INTO nspg_guard.breakglass_requests (requester, requester_oid, reason, incident, duration)
                 VALUES ($1, $2, $3, $4, make_interval(secs => $5)) RETURNING id",
                Some(1),
                &[requester.clone().into(), caller.session.into(), request.reason.into(), request.incident.into(), request.seconds.into()],
            )?
            .first_value::<i64>()
    })
    .unwrap_or_else(|| pgrx::error!("nspg_guard: the break-glass request was not recorded"));
    record(
        "requested",
        id,
        &requester,
        Some(request.reason.to_string()),
        serde_json::json!({ "duration_seconds": request.seconds, "incident": request.incident, "role": role }),
    );
    notice(&format!("nspg_guard: break-glass request {id} filed; a member of an approver role ({}) must approve it", settings::text_of(&settings::BREAKGLASS_APPROVERS)));
    id
}

fn notice(message: &str) {
    ErrorReport::new(PgSqlErrorCode::ERRCODE_SUCCESSFUL_COMPLETION, message.to_string(), "nspg_guard").report(PgLogLevel::NOTICE);
}

/// Approves a request: grants the requester the break-glass role until it expires; returns when.
#[pg_extern(volatile, parallel_unsafe, requires = ["breakglass_schema"])]
fn breakglass_approve(request_id: Option<i64>) -> TimestampWithTimeZone {
    require_registry("breakglass_approve()");
    let caller = Caller::now();
    let self_approve = settings::BREAKGLASS_SELF_APPROVE.get();
    let request = lock_request(request_id, "breakglass_approve()", |r| {
        if let Err(e) = breakglass::may_approve(caller.decider(r.requester_oid), self_approve, r.incident.is_some()) {
            refuse_decision(r, &caller, Step::Approve, &e);
        }
    });
    let self_approved = breakglass::may_approve(caller.decider(request.requester_oid), settings::BREAKGLASS_SELF_APPROVE.get(), request.incident.is_some())
        .unwrap_or_else(|e| refuse_decision(&request, &caller, Step::Approve, &e));
    advance(&request, Step::Approve);
    let (role, _) = breakglass_role();
    let approver = caller.name();
    let expires = spi(|client| {
        let expires = client
            .update(
                "UPDATE nspg_guard.breakglass_requests
                    SET state = 'active', decided_by = $2, decided_at = now(), self_approved = $3, granted_role = $4,
                        expires_at = now() + duration
                  WHERE id = $1 RETURNING expires_at",
                Some(1),
                &[request.id.into(), approver.clone().into(), self_approved.into(), role.clone().into()],
            )?
            .first_value::<TimestampWithTimeZone>()?;
        // by the requester's name now: the role may have been renamed since it asked
        let requester = crate::pg::text::role_name(request.requester_oid);
        client.update(&format!("GRANT {} TO {}", quote_ident(&role), quote_ident(&requester)), None, &[])?;
        Ok(expires)
    })
    .unwrap_or_else(|| pgrx::error!("nspg_guard: the approval was not recorded"));
    admin_session::expiry_after_commit(expires.into_inner());
    record("approved", request.id, &request.requester, None, serde_json::json!({ "approved_by": approver, "self_approved": self_approved, "role": role, "incident": request.incident }));
    expires
}

/// Denies a request that has not been decided.
#[pg_extern(volatile, parallel_unsafe, requires = ["breakglass_schema"])]
fn breakglass_deny(request_id: Option<i64>, reason: Option<&str>) {
    require_registry("breakglass_deny()");
    let caller = Caller::now();
    let reason = required_reason(reason, "breakglass_deny()", "Say why, e.g. SELECT nspg_guard.breakglass_deny(42, 'no incident open for this');");
    let request = lock_request(request_id, "breakglass_deny()", |r| {
        if let Err(e) = breakglass::may_decide(caller.decider(r.requester_oid), Step::Deny) {
            refuse_decision(r, &caller, Step::Deny, &e);
        }
    });
    if let Err(e) = breakglass::may_decide(caller.decider(request.requester_oid), Step::Deny) {
        refuse_decision(&request, &caller, Step::Deny, &e);
    }
    advance(&request, Step::Deny);
    let by = caller.name();
    run("UPDATE nspg_guard.breakglass_requests SET state = 'denied', decided_by = $2, decided_at = now(), decision_note = $3 WHERE id = $1", &[request.id.into(), by.clone().into(), reason.clone().into()]);
    record("denied", request.id, &request.requester, Some(reason), serde_json::json!({ "denied_by": by }));
}

/// Ends access early (or withdraws a request not yet approved); returns how many of the
/// requester's sessions are ended when this transaction commits.
#[pg_extern(volatile, parallel_unsafe, requires = ["breakglass_schema"])]
fn breakglass_end(request_id: Option<i64>) -> i32 {
    require_registry("breakglass_end()");
    let caller = Caller::now();
    // read unlocked first: who to keep out should a session hold a lock the end needs
    let seen = request_id.and_then(|id| fetch_request(id, ""));
    let requester_sessions = match &seen {
        Some(r) if r.state == State::Active && (caller.is(r.requester_oid) || caller.approver() || caller.admin()) => {
            crate::pg::as_guard::as_guard(|| crate::pg::backend::sessions_of(r.requester_oid))
        }
        _ => Vec::new(),
    };
    let pids = lock_wait::bounded(
        "breakglass_end()",
        "A session holds a lock the end needs (the request's row, or the membership's). The requester's sessions have been ended, which frees it: run breakglass_end() again.",
        || {
            let request = lock_request(request_id, "breakglass_end()", |r| {
                if !(caller.is(r.requester_oid) || caller.approver() || caller.admin()) {
                    refuse_step(r, &caller, Step::End, "The requester, an approver or an admin may end a request.", "Ask the requester or an approver.");
                }
            });
            let state = advance(&request, Step::End);
            close(&request, state, &caller.name(), "ended early with breakglass_end()")
        },
        || crate::pg::backend::terminate(&requester_sessions),
    );
    admin_session::terminate_after_commit(&pids);
    pids.len() as i32
}

/// Closes `request` (ended, expired, cancelled): revokes the role and lists the requester's
/// sessions, which the caller ends once the change is committed. Audited.
fn close(request: &Request, state: State, by: &str, why: &str) -> Vec<i32> {
    let revoked = request.state == State::Active && revoke(request);
    let pids = if request.state == State::Active { crate::pg::as_guard::as_guard(|| crate::pg::backend::sessions_of(request.requester_oid)) } else { Vec::new() };
    run(
        "UPDATE nspg_guard.breakglass_requests
                    SET state = $2, ended_at = now(), ended_by = $3, end_reason = $4, sessions_ended = $5 WHERE id = $1",
        &[request.id.into(), state.as_str().into(), by.into(), why.into(), (pids.len() as i32).into()],
    );
    record(state.as_str(), request.id, &request.requester, Some(why.to_string()), serde_json::json!({ "by": by, "role_revoked": revoked, "sessions_ended": pids }));
    pids
}

/// Revokes the granted role if the requester still holds it directly.
fn revoke(request: &Request) -> bool {
    request.granted_role.as_deref().is_some_and(|role| revoke_membership(role, request.requester_oid))
}

/// Revokes `member`'s direct membership in `role`, if it has one, however it was granted;
/// returns whether there was one. The member is named as it is called now (a role renamed
/// since the grant is still found by its oid).
pub fn revoke_membership(role: &str, member: pg_sys::Oid) -> bool {
    spi(|client| {
        let member_name = client
            .select(
                "SELECT pg_catalog.pg_get_userbyid(m.member)::pg_catalog.text
                   FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles r ON r.oid = m.roleid
                  WHERE r.rolname = $1 AND m.member = $2",
                Some(1),
                &[role.into(), member.into()],
            )?
            .first_value::<String>()?;
        if let Some(member_name) = &member_name {
            client.update(&format!("REVOKE {} FROM {}", quote_ident(role), quote_ident(member_name)), None, &[])?;
        }
        Ok(member_name.is_some())
    })
}

/// Records the mandatory post-incident review of an ended or expired request.
#[pg_extern(volatile, parallel_unsafe, requires = ["breakglass_schema"])]
fn breakglass_review(request_id: Option<i64>, notes: Option<&str>) {
    require_registry("breakglass_review()");
    let caller = Caller::now();
    let notes = required_reason(notes, "breakglass_review()", "Record what was done and what follows, e.g. SELECT nspg_guard.breakglass_review(42, 'restored 120 orders from PITR, root cause in INC-7 report');");
    let request = lock_request(request_id, "breakglass_review()", |r| {
        if let Err(e) = breakglass::may_decide(caller.decider(r.requester_oid), Step::Review) {
            refuse_decision(r, &caller, Step::Review, &e);
        }
    });
    if let Err(e) = breakglass::may_decide(caller.decider(request.requester_oid), Step::Review) {
        refuse_decision(&request, &caller, Step::Review, &e);
    }
    advance(&request, Step::Review);
    if request.reviewed {
        fail(PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE, format!("nspg_guard: break-glass request {} is already reviewed", request.id), "See the review in nspg_guard.breakglass_usages.");
    }
    let by = caller.name();
    run("UPDATE nspg_guard.breakglass_requests SET reviewed_by = $2, reviewed_at = now(), review_notes = $3 WHERE id = $1", &[request.id.into(), by.clone().into(), notes.clone().into()]);
    record("reviewed", request.id, &request.requester, Some(notes), serde_json::json!({ "reviewed_by": by }));
}

/// Ends every open request of `role` (lockdown); returns whether a grant was revoked.
pub fn end_requests_of(role: pg_sys::Oid, why: &str, by: &str) -> bool {
    let open = "SELECT id FROM nspg_guard.breakglass_requests WHERE requester_oid = $1 AND state IN ('requested', 'active') FOR UPDATE";
    request_ids(open, &[role.into()]).into_iter().fold(false, |revoked, id| {
        // lockdown_role() admitted its caller already
        let request = lock_request(Some(id), "lockdown_role()", |_| {});
        let state = advance(&request, Step::End);
        close(&request, state, by, why);
        revoked || request.state == State::Active
    })
}

/// The ids a query over the registry returns (locked, when it says FOR UPDATE).
fn request_ids(sql: &str, args: &[pgrx::datum::DatumWithOid<'_>]) -> Vec<i64> {
    spi(|client| client.update(sql, None, args)?.map(|row| row.get::<i64>(1)).collect::<Result<Vec<_>, _>>())
        .into_iter()
        .flatten()
        .collect()
}

/// What the writer's rounds look for: grants that ran out, and emergency requests nobody
/// decided within `breakglass_max_duration` (they lapse).
#[derive(Clone, Copy)]
pub enum Due {
    Expiry,
    Lapse,
}

impl Due {
    /// The condition a due request meets (the setting is a number of seconds, not user text).
    fn condition(self) -> String {
        match self {
            Due::Expiry => "state = 'active' AND expires_at <= now()".to_string(),
            Due::Lapse => format!("state = 'requested' AND requested_at < now() - make_interval(secs => {})", settings::BREAKGLASS_MAX_DURATION.get()),
        }
    }
}

/// A request due now: its id, and its requester (oid and name), whose sessions the writer ends
/// while it cannot close the request.
pub struct DueRequest {
    pub id: i64,
    pub requester_oid: pg_sys::Oid,
    pub requester: String,
}

/// The requests due now, read without locking anything.
pub fn due(due: Due) -> Vec<DueRequest> {
    spi(|client| {
        client
            .select(&format!("SELECT id, requester_oid, requester::text FROM nspg_guard.breakglass_requests WHERE {} ORDER BY id", due.condition()), None, &[])?
            .map(|row| {
                Ok(DueRequest {
                    id: row.get::<i64>(1)?.unwrap_or_default(),
                    requester_oid: row.get::<pg_sys::Oid>(2)?.unwrap_or(pg_sys::InvalidOid),
                    requester: row.get::<String>(3)?.unwrap_or_default(),
                })
            })
            .collect::<Result<Vec<_>, pgrx::spi::Error>>()
    })
}

/// What became of one due request in the writer's round.
pub enum Closing {
    /// Closed; the requester's sessions end once the round commits.
    Closed(Vec<i32>),
    /// A session holds its row (an open `breakglass_end()`, say): the writer does not wait for
    /// it but tries again next round.
    Held,
    /// No longer due (decided or ended since it was listed).
    NotDue,
}

/// Closes request `id` if it is still due and no session holds its row (SKIP LOCKED: the
/// writer never waits on a lock a user can hold).
pub fn close_due(id: i64, due: Due) -> Closing {
    let condition = due.condition();
    let Some(request) = fetch_request(id, &format!("AND {condition} FOR UPDATE SKIP LOCKED")) else {
        let held = spi(|client| {
            client.select(&format!("SELECT true FROM nspg_guard.breakglass_requests WHERE id = $1 AND {condition}"), None, &[id.into()])?.first_value::<bool>()
        });
        return if held.is_some() { Closing::Held } else { Closing::NotDue };
    };
    let (step, why) = match due {
        Due::Expiry => (Step::Expire, "the approved duration ran out"),
        Due::Lapse => (Step::End, "not decided within nspg_guard.breakglass_max_duration"),
    };
    let state = advance(&request, step);
    Closing::Closed(close(&request, state, "nspg_guard", why))
}

/// A grant that ran out while a session holds its registry row: its power ends now anyway (the
/// membership is revoked without the row's lock); the row is closed once it is free. Returns
/// whether a membership was revoked.
pub fn revoke_ran_out(id: i64) -> bool {
    fetch_request(id, "AND state = 'active' AND expires_at <= now()").is_some_and(|request| revoke(&request))
}

/// The writer could not close a grant that ran out (a session holds a row or lock it needs):
/// audited once per request; the requester's sessions are ended every round until it closes.
pub fn record_expiry_held(request: &DueRequest, error: &str) {
    record(
        "expiry_held",
        request.id,
        &request.requester,
        Some("the approved duration ran out but a session holds a lock the expiry needs".to_string()),
        serde_json::json!({ "error": error }),
    );
}

/// When the next active grant expires, if one is active.
pub fn next_expiry() -> Option<i64> {
    spi(|client| {
        client
            .select("SELECT min(expires_at) FROM nspg_guard.breakglass_requests WHERE state = 'active'", None, &[])?
            .first_value::<TimestampWithTimeZone>()
    })
    .map(|t| t.into_inner())
}
