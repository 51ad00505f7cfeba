//! Break-glass (NS-PG-007 §8.1): emergency-only, approved by someone else (or under a declared
//! incident), time-bounded, reviewed afterwards. Pure: what a valid request is, the life cycle
//! of a request, who may approve, and what an escalated session may not do (set_user parity).
//! `api/breakglass.rs` keeps the registry and grants; `guard/admin_session.rs` watches escalated
//! sessions.

use crate::policy::verdict::{hides_or_forges, validate_reason, ReasonError, Refusal};
use pgrx::pg_sys::errcodes::PgSqlErrorCode;
use thiserror::Error;

/// Longest role name PostgreSQL accepts (NAMEDATALEN - 1).
const MAX_NAME_BYTES: usize = 63;
/// Longest incident reference kept.
const MAX_INCIDENT_BYTES: usize = 200;

#[derive(Debug, Error, PartialEq)]
pub enum RequestError {
    #[error("{0}")]
    Reason(#[from] ReasonError),
    #[error("the duration is missing")]
    NoDuration,
    #[error("the duration must be positive, not {0} seconds")]
    NotPositive(f64),
    #[error("the duration of {asked} seconds is longer than nspg_guard.breakglass_max_duration ({max} seconds)")]
    TooLong { asked: f64, max: i32 },
    #[error("the incident reference is empty: give one, or leave it NULL")]
    EmptyIncident,
    #[error("the incident reference is longer than {MAX_INCIDENT_BYTES} bytes")]
    LongIncident,
    #[error("the incident reference contains a control, invisible or direction-changing character (U+{0:04X}): write plain text")]
    IncidentNotPlainText(u32),
}

/// A request that may be filed.
#[derive(Debug, Clone, PartialEq)]
pub struct Request<'a> {
    pub reason: &'a str,
    pub seconds: f64,
    pub incident: Option<&'a str>,
}

/// An interval's length in seconds, as PostgreSQL's `extract(epoch …)` counts it (a month is 30
/// days, a day 24 hours).
pub fn interval_seconds(months: i32, days: i32, micros: i64) -> f64 {
    f64::from(months) * 30.0 * 86_400.0 + f64::from(days) * 86_400.0 + micros as f64 / 1e6
}

pub fn validate_request<'a>(reason: Option<&'a str>, seconds: Option<f64>, incident: Option<&'a str>, max_s: i32) -> Result<Request<'a>, RequestError> {
    let reason = validate_reason(reason.unwrap_or(""))?;
    let seconds = seconds.ok_or(RequestError::NoDuration)?;
    if seconds.is_nan() || seconds <= 0.0 {
        return Err(RequestError::NotPositive(seconds));
    }
    if seconds > f64::from(max_s) {
        return Err(RequestError::TooLong { asked: seconds, max: max_s });
    }
    let incident = match incident.map(str::trim) {
        Some("") => return Err(RequestError::EmptyIncident),
        Some(text) if text.len() > MAX_INCIDENT_BYTES => return Err(RequestError::LongIncident),
        other => other,
    };
    // it is shown next to the reason (usages, audit rows, log lines): the same plain-text rule
    if let Some(c) = incident.and_then(|text| text.chars().find(|&c| hides_or_forges(c))) {
        return Err(RequestError::IncidentNotPlainText(c as u32));
    }
    Ok(Request { reason, seconds, incident })
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum RoleNameError {
    #[error("the role name is empty")]
    Empty,
    #[error("\"{0}\" is not one role name (no lists, wildcards, quotes or spaces)")]
    NotOneName(String),
    #[error("\"{0}\" is longer than a role name can be ({MAX_NAME_BYTES} bytes)")]
    TooLong(String),
}

pub fn validate_role_name(name: &str) -> Result<(), RoleNameError> {
    match name {
        "" => Err(RoleNameError::Empty),
        _ if name.len() > MAX_NAME_BYTES => Err(RoleNameError::TooLong(name.to_string())),
        _ if name.chars().any(|c| matches!(c, ',' | '*' | '"' | '\'') || c.is_whitespace() || c.is_control()) => {
            Err(RoleNameError::NotOneName(name.to_string()))
        }
        _ => Ok(()),
    }
}

/// Where a request is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Requested,
    Active,
    Denied,
    Expired,
    Ended,
    Cancelled,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Requested => "requested",
            State::Active => "active",
            State::Denied => "denied",
            State::Expired => "expired",
            State::Ended => "ended",
            State::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<State> {
        [State::Requested, State::Active, State::Denied, State::Expired, State::Ended, State::Cancelled]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// What someone does to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Approve,
    Deny,
    End,
    Expire,
    Review,
}

#[derive(Debug, Error, PartialEq, Eq)]
#[error("request {id} is {state}; it cannot be {action}", state = state.as_str(), action = past_tense(*step))]
pub struct WrongState {
    pub id: i64,
    pub state: State,
    pub step: Step,
}

fn past_tense(step: Step) -> &'static str {
    match step {
        Step::Approve => "approved",
        Step::Deny => "denied",
        Step::End => "ended",
        Step::Expire => "expired",
        Step::Review => "reviewed (only ended or expired requests are)",
    }
}

/// The state a step leads to. Ending a request that was never approved withdraws it.
pub fn next_state(id: i64, from: State, step: Step) -> Result<State, WrongState> {
    match (from, step) {
        (State::Requested, Step::Approve) => Ok(State::Active),
        (State::Requested, Step::Deny) => Ok(State::Denied),
        (State::Requested, Step::End) => Ok(State::Cancelled),
        (State::Active, Step::End) => Ok(State::Ended),
        (State::Active, Step::Expire) => Ok(State::Expired),
        (State::Expired | State::Ended, Step::Review) => Ok(from),
        _ => Err(WrongState { id, state: from, step }),
    }
}

/// Who decides (approves, denies or reviews) a request, as far as the rules care. Each flag
/// holds for the caller's session role (the person) or its current role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Decider {
    /// Is the requester.
    pub is_requester: bool,
    /// Holds the requester's privileges or lends it its own: a member of the requester's role,
    /// or the requester a member of the caller's (with or without INHERIT: either can become the
    /// other with SET ROLE).
    pub shares_privileges: bool,
    pub is_approver: bool,
    pub is_admin: bool,
    /// Holds the break-glass role now (through any membership).
    pub escalated: bool,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ApprovalError {
    #[error("requesters cannot decide their own break-glass request")]
    OwnRequest,
    #[error("a role that shares the requester's privileges (a member of the requester's role, or the other way round) cannot decide its break-glass request")]
    SharesPrivileges,
    #[error("a session holding the break-glass role cannot decide or review break-glass requests")]
    Escalated,
    #[error("a self-approved request needs an incident reference")]
    SelfApprovalNeedsIncident,
    #[error("only members of the approver roles may approve or deny break-glass requests")]
    NotApprover,
    #[error("only members of the approver or admin roles may review break-glass requests")]
    NotReviewer,
}

impl ApprovalError {
    pub fn hint(&self) -> &'static str {
        match self {
            ApprovalError::OwnRequest | ApprovalError::NotApprover | ApprovalError::SharesPrivileges => {
                "Another person, a member of an approver role who shares no role membership with the requester, decides it (under a declared incident a superuser may turn on nspg_guard.breakglass_self_approve); requesters withdraw their own request with nspg_guard.breakglass_end(id)."
            }
            ApprovalError::Escalated => "End your own break-glass access (nspg_guard.breakglass_end) or ask an approver who is not escalated.",
            ApprovalError::SelfApprovalNeedsIncident => {
                "Withdraw it (nspg_guard.breakglass_end) and file a new request that names the incident."
            }
            ApprovalError::NotReviewer => "Ask an approver or a platform admin who shares no role membership with the requester to review it.",
        }
    }
}

/// May this caller approve? `Ok(true)` is a self-approval (flagged in the registry): allowed
/// only under the incident switch, and only for a request that names its incident. Sharing the
/// requester's privileges counts as being the requester.
pub fn may_approve(who: Decider, self_approve: bool, has_incident: bool) -> Result<bool, ApprovalError> {
    let own = who.is_requester || who.shares_privileges;
    match who {
        _ if who.escalated => Err(ApprovalError::Escalated),
        _ if own && !self_approve => Err(if who.is_requester { ApprovalError::OwnRequest } else { ApprovalError::SharesPrivileges }),
        _ if own && !has_incident => Err(ApprovalError::SelfApprovalNeedsIncident),
        Decider { is_requester: true, .. } => Ok(true),
        Decider { is_approver: false, .. } => Err(ApprovalError::NotApprover),
        _ => Ok(own),
    }
}

/// May this caller deny (`Step::Deny`) or review (`Step::Review`) the request? Nobody who is
/// or shares the requester, nobody escalated; deniers are approvers, reviewers approvers or admins.
pub fn may_decide(who: Decider, step: Step) -> Result<(), ApprovalError> {
    match who {
        Decider { escalated: true, .. } => Err(ApprovalError::Escalated),
        Decider { is_requester: true, .. } => Err(ApprovalError::OwnRequest),
        Decider { shares_privileges: true, .. } => Err(ApprovalError::SharesPrivileges),
        Decider { is_approver: true, .. } => Ok(()),
        Decider { is_admin: true, .. } if step == Step::Review => Ok(()),
        _ if step == Step::Review => Err(ApprovalError::NotReviewer),
        _ => Err(ApprovalError::NotApprover),
    }
}

/// A statement an escalated session may not run (set_user parity): it would widen the
/// escalation, or blind the audit trail that watches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escalated<'a> {
    AlterSystem,
    CopyProgram,
    /// SET/RESET of, or ALTER ROLE/DATABASE … SET of, an audit-relevant setting.
    ChangeSetting(&'a str),
    /// SET ROLE / SET SESSION AUTHORIZATION to a role other than the session's own or the
    /// break-glass role.
    SwitchRole(&'a str),
}

/// The refusal of an action while escalated through `breakglass_role`.
pub fn escalated_refusal(action: Escalated, role: &str, breakglass_role: &str) -> Refusal {
    let (command, what) = match action {
        Escalated::AlterSystem => ("ALTER SYSTEM".to_string(), "ALTER SYSTEM".to_string()),
        Escalated::CopyProgram => ("COPY".to_string(), "COPY … PROGRAM".to_string()),
        Escalated::ChangeSetting(name) => ("SET".to_string(), format!("changing {name}")),
        Escalated::SwitchRole(target) => ("SET ROLE".to_string(), format!("switching to role \"{target}\"")),
    };
    Refusal {
        sqlstate: PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
        message: format!("nspg_guard: {what} is refused while escalated through break-glass"),
        detail: format!(
            "Role \"{role}\" holds break-glass role \"{breakglass_role}\": while it does, the session may not change the server's configuration, the audit settings (log_*, nspg_guard.*, …), run programs, or become another role."
        ),
        hint: "Do what the incident needs with the break-glass role's privileges; anything else needs a change through the normal process.".to_string(),
        command,
        object: None,
    }
}

/// The first setting whose value differs between two snapshots of (name, value). Settings
/// defined in between (a library loaded later) are not changes.
pub fn changed_setting(before: &[(String, String)], after: &[(String, String)]) -> Option<String> {
    before.iter().find_map(|(name, value)| {
        after.iter().find(|(n, _)| n == name).filter(|(_, v)| v != value).map(|_| name.clone())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i32 = 3600;

    #[test]
    fn requests() {
        let ok = validate_request(Some("restore deleted orders INC-7"), Some(1800.0), Some(" INC-7 "), HOUR);
        assert_eq!(ok, Ok(Request { reason: "restore deleted orders INC-7", seconds: 1800.0, incident: Some("INC-7") }));
        assert!(matches!(validate_request(None, Some(60.0), None, HOUR), Err(RequestError::Reason(ReasonError::Empty))));
        assert!(matches!(validate_request(Some("fix"), Some(60.0), None, HOUR), Err(RequestError::Reason(_))));
        let reason = Some("fix the broken replica");
        assert_eq!(validate_request(reason, None, None, HOUR), Err(RequestError::NoDuration));
        assert_eq!(validate_request(reason, Some(0.0), None, HOUR), Err(RequestError::NotPositive(0.0)));
        assert_eq!(validate_request(reason, Some(-5.0), None, HOUR), Err(RequestError::NotPositive(-5.0)));
        assert_eq!(validate_request(reason, Some(3601.0), None, HOUR), Err(RequestError::TooLong { asked: 3601.0, max: HOUR }));
        assert!(validate_request(reason, Some(3600.0), None, HOUR).is_ok());
        assert_eq!(validate_request(reason, Some(60.0), Some("  "), HOUR), Err(RequestError::EmptyIncident));
        assert_eq!(validate_request(reason, Some(60.0), Some(&"x".repeat(201)), HOUR), Err(RequestError::LongIncident));
        assert_eq!(validate_request(reason, Some(60.0), Some("INC-1\n2026-12-01|bob|approved"), HOUR), Err(RequestError::IncidentNotPlainText(0x0A)));
        assert_eq!(validate_request(reason, Some(60.0), Some("INC\u{200B}\u{202E}-32"), HOUR), Err(RequestError::IncidentNotPlainText(0x200B)));
        assert_eq!(validate_request(reason, Some(60.0), Some("INC-32\u{202E}"), HOUR), Err(RequestError::IncidentNotPlainText(0x202E)));
        assert!(validate_request(reason, Some(60.0), Some("INC-32 (Störung)"), HOUR).is_ok());
    }

    #[test]
    fn intervals_count_like_extract_epoch() {
        assert_eq!(interval_seconds(0, 0, 1_800_000_000), 1800.0);
        assert_eq!(interval_seconds(0, 1, 0), 86_400.0);
        assert_eq!(interval_seconds(1, 0, 0), 2_592_000.0);
        assert_eq!(interval_seconds(0, 1, -86_400_000_000), 0.0);
        assert_eq!(interval_seconds(0, 0, -60_000_000), -60.0);
    }

    #[test]
    fn role_names() {
        assert_eq!(validate_role_name("ns_breakglass_admin"), Ok(()));
        assert_eq!(validate_role_name(""), Err(RoleNameError::Empty));
        assert!(matches!(validate_role_name("a,b"), Err(RoleNameError::NotOneName(_))));
        assert!(matches!(validate_role_name("ns_*"), Err(RoleNameError::NotOneName(_))));
        assert!(matches!(validate_role_name(&"r".repeat(64)), Err(RoleNameError::TooLong(_))));
    }

    #[test]
    fn life_cycle() {
        use State::*;
        assert_eq!(next_state(1, Requested, Step::Approve), Ok(Active));
        assert_eq!(next_state(1, Requested, Step::Deny), Ok(Denied));
        assert_eq!(next_state(1, Requested, Step::End), Ok(Cancelled));
        assert_eq!(next_state(1, Active, Step::End), Ok(Ended));
        assert_eq!(next_state(1, Active, Step::Expire), Ok(Expired));
        assert_eq!(next_state(1, Ended, Step::Review), Ok(Ended));
        assert_eq!(next_state(1, Expired, Step::Review), Ok(Expired));
        for (from, step) in [(Active, Step::Approve), (Denied, Step::Approve), (Expired, Step::End), (Requested, Step::Review), (Active, Step::Review), (Cancelled, Step::Review), (Active, Step::Deny)] {
            assert_eq!(next_state(7, from, step), Err(WrongState { id: 7, state: from, step }), "{from:?} {step:?}");
        }
        assert_eq!(WrongState { id: 7, state: Expired, step: Step::Approve }.to_string(), "request 7 is expired; it cannot be approved");
        assert_eq!(State::parse("active"), Some(Active));
        assert_eq!(State::parse("bogus"), None);
    }

    #[test]
    fn approvals() {
        let requester = Decider { is_requester: true, is_approver: true, ..Decider::default() };
        let approver = Decider { is_approver: true, ..Decider::default() };
        let bystander = Decider::default();
        assert_eq!(may_approve(approver, false, false), Ok(false));
        assert_eq!(may_approve(requester, false, true), Err(ApprovalError::OwnRequest));
        assert_eq!(may_approve(bystander, false, true), Err(ApprovalError::NotApprover));
        assert_eq!(may_approve(bystander, true, true), Err(ApprovalError::NotApprover));
        assert_eq!(may_approve(requester, true, false), Err(ApprovalError::SelfApprovalNeedsIncident));
        assert_eq!(may_approve(Decider { is_requester: true, ..Decider::default() }, true, true), Ok(true));
    }

    #[test]
    fn separation_of_duties() {
        // an approver who inherits from the requester (or the other way round) is the requester
        let sharing = Decider { shares_privileges: true, is_approver: true, ..Decider::default() };
        assert_eq!(may_approve(sharing, false, true), Err(ApprovalError::SharesPrivileges));
        assert_eq!(may_approve(sharing, true, false), Err(ApprovalError::SelfApprovalNeedsIncident));
        assert_eq!(may_approve(sharing, true, true), Ok(true), "under the incident switch it is a flagged self-approval");
        assert_eq!(may_decide(sharing, Step::Deny), Err(ApprovalError::SharesPrivileges));
        assert_eq!(may_decide(Decider { is_admin: true, ..sharing }, Step::Review), Err(ApprovalError::SharesPrivileges));
        // an escalated session decides nothing, whatever else it is
        let escalated = Decider { is_approver: true, is_admin: true, escalated: true, ..Decider::default() };
        assert_eq!(may_approve(escalated, true, true), Err(ApprovalError::Escalated));
        assert_eq!(may_decide(escalated, Step::Deny), Err(ApprovalError::Escalated));
        assert_eq!(may_decide(escalated, Step::Review), Err(ApprovalError::Escalated));
        // who denies, who reviews
        let approver = Decider { is_approver: true, ..Decider::default() };
        let admin = Decider { is_admin: true, ..Decider::default() };
        assert_eq!(may_decide(approver, Step::Deny), Ok(()));
        assert_eq!(may_decide(approver, Step::Review), Ok(()));
        assert_eq!(may_decide(admin, Step::Review), Ok(()));
        assert_eq!(may_decide(admin, Step::Deny), Err(ApprovalError::NotApprover));
        assert_eq!(may_decide(Decider::default(), Step::Review), Err(ApprovalError::NotReviewer));
        assert_eq!(may_decide(Decider { is_requester: true, is_approver: true, ..Decider::default() }, Step::Review), Err(ApprovalError::OwnRequest));
    }

    #[test]
    fn setting_changes() {
        let s = |pairs: &[(&str, &str)]| pairs.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect::<Vec<_>>();
        let before = s(&[("log_statement", "ddl"), ("nspg_guard.audit", "all")]);
        assert_eq!(changed_setting(&before, &before), None);
        assert_eq!(changed_setting(&before, &s(&[("log_statement", "none"), ("nspg_guard.audit", "all")])), Some("log_statement".into()));
        assert_eq!(changed_setting(&before, &s(&[("nspg_guard.audit", "all"), ("log_statement", "ddl"), ("pgaudit.log", "none")])), None);
    }

    #[test]
    fn escalated_refusals() {
        let r = escalated_refusal(Escalated::ChangeSetting("log_statement"), "alice", "ns_breakglass_admin");
        assert_eq!(r.message, "nspg_guard: changing log_statement is refused while escalated through break-glass");
        assert_eq!(r.sqlstate, PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE);
        assert!(r.detail.contains("\"ns_breakglass_admin\""));
        let r = escalated_refusal(Escalated::SwitchRole("ns_dba"), "alice", "ns_breakglass_admin");
        assert!(r.message.contains("switching to role \"ns_dba\""));
        assert_eq!(escalated_refusal(Escalated::CopyProgram, "a", "b").command, "COPY");
    }
}
