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
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum LockdownError {
    #[error("a session cannot lock down its own role")]
    OwnRole,
    #[error("the bootstrap superuser cannot be locked down: it is the way back in")]
    BootstrapSuperuser,
    #[error("only a superuser may lock down a superuser")]
    SuperuserTarget,
}

impl LockdownError {
    /// Asking for something that cannot be done is a bad argument; asking for more than one's
    /// standing allows is a privilege error.
    pub fn is_privilege(&self) -> bool {
        matches!(self, LockdownError::SuperuserTarget)
    }

    pub fn hint(&self) -> &'static str {
        match self {
            LockdownError::OwnRole => "Another admin locks this role down if it must be.",
            LockdownError::BootstrapSuperuser => "Rotate its password (ALTER ROLE … PASSWORD) and narrow its pg_hba.conf entries instead.",
            LockdownError::SuperuserTarget => "Ask a superuser.",
        }
    }
}

pub fn may_lock_down(l: Lockdown) -> Result<(), LockdownError> {
    match l {
        Lockdown { target_is_caller: true, .. } => Err(LockdownError::OwnRole),
        Lockdown { target_is_bootstrap_superuser: true, .. } => Err(LockdownError::BootstrapSuperuser),
        Lockdown { target_is_superuser: true, caller_is_superuser: false, .. } => Err(LockdownError::SuperuserTarget),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAIN: Lockdown =
        Lockdown { target_is_caller: false, target_is_bootstrap_superuser: false, target_is_superuser: false, caller_is_superuser: false };

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
}
