//! Incident levers (NS-PG-007 §9 "lock down roles", §10 rotation evidence): which roles may be
//! locked down by whom. Pure; `api/incident.rs` does the locking.

use thiserror::Error;

/// The role to lock down, and who asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lockdown {
    pub target_is_caller: bool,
    pub target_is_bootstrap_superuser: bool,
    pub target_is_superuser: bool,
    pub caller_is_superuser: bool,
    /// The caller holds the break-glass role now.
    pub caller_escalated: bool,
    /// The target, or a member of it, direct or not (whose sessions a lockdown ends too), is by
    /// membership (INHERIT or not) someone who would end or review a break-glass escalation:
    /// an approver, an admin (admin_roles), a superuser or a role with CREATEROLE.
    pub target_guards_breakglass: bool,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum LockdownError {
    #[error("a session cannot lock down its own role")]
    OwnRole,
    #[error("the bootstrap superuser cannot be locked down: it is the way back in")]
    BootstrapSuperuser,
    #[error("only a superuser may lock down a superuser")]
    SuperuserTarget,
    #[error("a session holding the break-glass role cannot lock down an approver, an admin or a role that manages roles, nor a role one of them is a member of, directly or not")]
    EscalatedAgainstGuard,
    #[error("a session holding the break-glass role cannot lift a lockdown")]
    EscalatedUnlock,
}

impl LockdownError {
    /// Asking for something that cannot be done is a bad argument; asking for more than one's
    /// standing allows is a privilege error.
    pub fn is_privilege(&self) -> bool {
        matches!(self, LockdownError::SuperuserTarget | LockdownError::EscalatedAgainstGuard | LockdownError::EscalatedUnlock)
    }

    pub fn hint(&self) -> &'static str {
        match self {
            LockdownError::OwnRole => "Another admin locks this role down if it must be.",
            LockdownError::BootstrapSuperuser => "Rotate its password (ALTER ROLE … PASSWORD) and narrow its pg_hba.conf entries instead.",
            LockdownError::SuperuserTarget => "Ask a superuser.",
            LockdownError::EscalatedAgainstGuard | LockdownError::EscalatedUnlock => {
                "Break-glass access does not reach the incident levers against those who oversee it; ask a platform admin who is not escalated."
            }
        }
    }
}

pub fn may_lock_down(l: Lockdown) -> Result<(), LockdownError> {
    match l {
        Lockdown { target_is_caller: true, .. } => Err(LockdownError::OwnRole),
        Lockdown { target_is_bootstrap_superuser: true, .. } => Err(LockdownError::BootstrapSuperuser),
        Lockdown { target_is_superuser: true, caller_is_superuser: false, .. } => Err(LockdownError::SuperuserTarget),
        Lockdown { caller_escalated: true, target_guards_breakglass: true, .. } => Err(LockdownError::EscalatedAgainstGuard),
        _ => Ok(()),
    }
}

/// May the caller lift a lockdown? Not while escalated: the lockdown may be what contains it.
pub fn may_unlock(caller_escalated: bool) -> Result<(), LockdownError> {
    if caller_escalated { Err(LockdownError::EscalatedUnlock) } else { Ok(()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAIN: Lockdown = Lockdown {
        target_is_caller: false,
        target_is_bootstrap_superuser: false,
        target_is_superuser: false,
        caller_is_superuser: false,
        caller_escalated: false,
        target_guards_breakglass: false,
    };

    #[test]
    fn who_may_be_locked_down() {
        assert_eq!(may_lock_down(PLAIN), Ok(()));
        assert_eq!(may_lock_down(Lockdown { target_is_caller: true, ..PLAIN }), Err(LockdownError::OwnRole));
        assert_eq!(
            may_lock_down(Lockdown { target_is_bootstrap_superuser: true, target_is_superuser: true, caller_is_superuser: true, ..PLAIN }),
            Err(LockdownError::BootstrapSuperuser)
        );
        assert_eq!(may_lock_down(Lockdown { target_is_superuser: true, ..PLAIN }), Err(LockdownError::SuperuserTarget));
        assert!(LockdownError::SuperuserTarget.is_privilege() && !LockdownError::OwnRole.is_privilege());
        assert_eq!(may_lock_down(Lockdown { target_is_superuser: true, caller_is_superuser: true, ..PLAIN }), Ok(()));
    }

    #[test]
    fn escalated_sessions_and_the_levers() {
        let escalated = Lockdown { caller_escalated: true, ..PLAIN };
        assert_eq!(may_lock_down(escalated), Ok(()), "an escalated admin may still lock down an ordinary role");
        assert_eq!(may_lock_down(Lockdown { target_guards_breakglass: true, ..escalated }), Err(LockdownError::EscalatedAgainstGuard));
        assert_eq!(may_lock_down(Lockdown { target_guards_breakglass: true, ..PLAIN }), Ok(()), "a plain admin may lock down an approver");
        assert!(LockdownError::EscalatedAgainstGuard.is_privilege() && LockdownError::EscalatedUnlock.is_privilege());
        assert_eq!(may_unlock(true), Err(LockdownError::EscalatedUnlock));
        assert_eq!(may_unlock(false), Ok(()));
    }
}
