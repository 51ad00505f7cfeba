//! Risky capabilities (NS-PG-007 §8.3 "disable or restrict risky capabilities unless needed"):
//! ALTER SYSTEM, LOAD, COPY to/from a server file or a program, and CREATE EXTENSION of an
//! extension outside `nspg_guard.extension_allowlist` are for admins only. Pure.

use crate::policy::verdict::Refusal;
use pgrx::pg_sys::errcodes::PgSqlErrorCode;
use thiserror::Error;

/// A statement in the `risky` class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RiskyCommand<'a> {
    AlterSystem,
    Load,
    CopyServerFile,
    CopyProgram,
    CreateExtension(&'a str),
}

impl RiskyCommand<'_> {
    fn describe(self) -> String {
        match self {
            RiskyCommand::AlterSystem => "ALTER SYSTEM".into(),
            RiskyCommand::Load => "LOAD".into(),
            RiskyCommand::CopyServerFile => "COPY to or from a server file".into(),
            RiskyCommand::CopyProgram => "COPY to or from a program".into(),
            RiskyCommand::CreateExtension(name) => format!("CREATE EXTENSION {name}"),
        }
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum AllowlistError {
    #[error("entry {0} of the list is empty (two commas in a row, or a trailing comma)")]
    EmptyEntry(usize),
    #[error("\"{0}\" cannot be an extension name (quotes, spaces or control characters)")]
    BadName(String),
}

/// `nspg_guard.extension_allowlist`, parsed: extension names, `*` matching any characters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allowlist {
    names: Vec<String>,
}

impl Allowlist {
    /// An empty string is a valid list: it allows no extension to non-admins.
    pub fn parse(list: &str) -> Result<Allowlist, AllowlistError> {
        if list.trim().is_empty() {
            return Ok(Allowlist::default());
        }
        let names = list
            .split(',')
            .enumerate()
            .map(|(i, entry)| match entry.trim() {
                "" => Err(AllowlistError::EmptyEntry(i + 1)),
                name if name.chars().any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '\'') => {
                    Err(AllowlistError::BadName(name.to_string()))
                }
                name => Ok(name.to_string()),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Allowlist { names })
    }

    pub fn contains(&self, extension: &str) -> bool {
        self.names.iter().any(|pattern| glob(pattern, extension))
    }
}

/// `*` matches any run of characters; everything else matches itself.
fn glob(pattern: &str, name: &str) -> bool {
    // Iterative and linear, like the role patterns: the literal before the first `*` starts
    // the name, the one after the last ends it, the ones between are found left to right.
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, rest) = match parts.split_first() {
        Some(split) => split,
        None => return false,
    };
    let Some(mut remaining) = name.strip_prefix(first) else {
        return false;
    };
    let Some((last, middle)) = rest.split_last() else {
        return remaining.is_empty();
    };
    for part in middle {
        match remaining.find(part) {
            Some(at) => remaining = &remaining[at + part.len()..],
            None => return false,
        }
    }
    remaining.len() >= last.len() && remaining.ends_with(last)
}

/// Does running `command` need an admin? Everything in the class does, except creating an
/// allowlisted extension (which still needs a migration role under the DDL guard).
pub fn needs_admin(command: RiskyCommand, allowed: impl Fn(&str) -> bool) -> bool {
    match command {
        RiskyCommand::CreateExtension(name) => !allowed(name),
        _ => true,
    }
}

pub fn refusal(command: RiskyCommand, tag: &str, role: &str, admin_roles: &str) -> Refusal {
    let hint = match command {
        RiskyCommand::CreateExtension(_) => {
            "Ask a platform admin to create it, or to add it to nspg_guard.extension_allowlist.".to_string()
        }
        RiskyCommand::CopyServerFile | RiskyCommand::CopyProgram => {
            "Use COPY … FROM STDIN / TO STDOUT (psql's \\copy) to move data through the client.".to_string()
        }
        RiskyCommand::AlterSystem | RiskyCommand::Load => "Ask a platform admin to make this change.".to_string(),
    };
    Refusal {
        sqlstate: PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
        message: format!("nspg_guard: {} denied for role \"{role}\"", command.describe()),
        detail: format!(
            "Statement class \"risky\": only admin roles (nspg_guard.admin_roles = '{admin_roles}') and superusers may run it (nspg_guard.risky_guard)."
        ),
        hint,
        command: tag.to_string(),
        object: match command {
            RiskyCommand::CreateExtension(name) => Some(name.to_string()),
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowlists() {
        let list = Allowlist::parse("pgcrypto, citext ,uuid-ossp, pg_*").expect("valid");
        assert!(list.contains("pgcrypto") && list.contains("citext") && list.contains("uuid-ossp"));
        assert!(list.contains("pg_trgm") && !list.contains("postgres_fdw") && !list.contains("pgcrypt"));
        assert_eq!(Allowlist::parse(""), Ok(Allowlist::default()));
        assert!(!Allowlist::default().contains("plpgsql"));
        assert_eq!(Allowlist::parse("a,,b"), Err(AllowlistError::EmptyEntry(2)));
        assert!(matches!(Allowlist::parse("my ext"), Err(AllowlistError::BadName(_))));
        let star = Allowlist::parse("*").expect("valid");
        assert!(star.contains("anything"));
        let middle = Allowlist::parse("btree_*_ops").expect("valid");
        assert!(middle.contains("btree_x_ops") && !middle.contains("btree_x_op"));
    }

    #[test]
    fn only_allowlisted_extensions_skip_the_admin_rule() {
        let allowed = |name: &str| name == "citext";
        assert!(!needs_admin(RiskyCommand::CreateExtension("citext"), allowed));
        assert!(needs_admin(RiskyCommand::CreateExtension("plperlu"), allowed));
        for command in [RiskyCommand::AlterSystem, RiskyCommand::Load, RiskyCommand::CopyServerFile, RiskyCommand::CopyProgram] {
            assert!(needs_admin(command, |_| true), "{command:?}");
        }
    }

    #[test]
    fn wording() {
        let r = refusal(RiskyCommand::CopyProgram, "COPY", "ns_app_rw_orders", "ns_admin");
        assert_eq!(r.message, "nspg_guard: COPY to or from a program denied for role \"ns_app_rw_orders\"");
        assert!(r.detail.contains("risky") && r.hint.contains("STDIN"));
        let r = refusal(RiskyCommand::CreateExtension("plperlu"), "CREATE EXTENSION", "ns_migrate_orders", "ns_admin");
        assert_eq!(r.object.as_deref(), Some("plperlu"));
        assert!(r.hint.contains("extension_allowlist"));
    }

    #[test]
    fn allowlist_patterns_match_in_linear_time() {
        assert!(glob("pg_*", "pg_trgm") && glob("*", "x") && glob("a*b*c", "aXbYc") && glob("citext", "citext"));
        assert!(!glob("pg_*", "xpg_trgm") && !glob("a*b", "ab_") && !glob("citext", "citext2") && !glob("ab*ba", "aba"));
        // a backtracking matcher takes exponential time (and stack) on this
        let pattern = "*a".repeat(40) + "*b";
        let started = std::time::Instant::now();
        assert!(!glob(&pattern, &"a".repeat(63)));
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }
}

