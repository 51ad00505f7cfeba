//! Role sets as the policy names them (NS-PG-007 §3.1): migration roles, admin roles, …
//!
//! Every role set is a GUC holding a comma-separated list of role names in which `*` matches
//! any run of characters (`ns_migrate_*, ns_owner_*`). This module is pure: it parses and
//! matches patterns; which roles a session actually holds is looked up by `pg/standing.rs`.

use thiserror::Error;

/// Longest role name PostgreSQL accepts (NAMEDATALEN - 1).
const MAX_NAME_BYTES: usize = 63;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum PatternError {
    #[error("the role list is empty")]
    Empty,
    #[error("entry {0} of the role list is empty (two commas in a row, or a trailing comma)")]
    EmptyEntry(usize),
    #[error("\"{0}\" is longer than a role name can be ({MAX_NAME_BYTES} bytes)")]
    TooLong(String),
    #[error("\"{0}\" contains a character that cannot appear in a role pattern (quotes, spaces or control characters)")]
    BadCharacter(String),
}

/// One parsed entry: a role name, possibly with `*` wildcards.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pattern {
    /// The literal pieces between the wildcards; `parts.len() == stars + 1`.
    parts: Vec<String>,
}

impl Pattern {
    fn parse(entry: &str) -> Result<Pattern, PatternError> {
        if entry.len() > MAX_NAME_BYTES {
            return Err(PatternError::TooLong(entry.to_string()));
        }
        if entry.chars().any(|c| c.is_control() || c.is_whitespace() || c == '"' || c == '\'') {
            return Err(PatternError::BadCharacter(entry.to_string()));
        }
        Ok(Pattern { parts: entry.split('*').map(str::to_string).collect() })
    }

    /// Glob match where `*` stands for any (possibly empty) run of characters.
    fn matches(&self, name: &str) -> bool {
        let (first, rest) = match self.parts.split_first() {
            Some(split) => split,
            None => return false,
        };
        let Some(mut remaining) = name.strip_prefix(first.as_str()) else {
            return false;
        };
        let Some((last, middle)) = rest.split_last() else {
            // no wildcard at all: the whole name must be the literal
            return remaining.is_empty();
        };
        for part in middle {
            match remaining.find(part.as_str()) {
                Some(at) => remaining = &remaining[at + part.len()..],
                None => return false,
            }
        }
        remaining.len() >= last.len() && remaining.ends_with(last.as_str())
    }
}

/// A parsed role-set GUC such as `nspg_guard.migration_roles`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RolePatterns {
    patterns: Vec<Pattern>,
}

impl RolePatterns {
    /// No role (what a role set holds before its setting is first assigned).
    pub const EMPTY: RolePatterns = RolePatterns { patterns: Vec::new() };

    /// Parses `"ns_migrate_*, ns_owner_*"`. Whitespace around entries is ignored; an empty
    /// list or an empty entry is an error, so that a typo cannot silently empty a role set.
    pub fn parse(list: &str) -> Result<RolePatterns, PatternError> {
        if list.trim().is_empty() {
            return Err(PatternError::Empty);
        }
        let patterns = list
            .split(',')
            .enumerate()
            .map(|(i, entry)| match entry.trim() {
                "" => Err(PatternError::EmptyEntry(i + 1)),
                entry => Pattern::parse(entry),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(RolePatterns { patterns })
    }

    pub fn matches(&self, role_name: &str) -> bool {
        self.patterns.iter().any(|p| p.matches(role_name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(list: &str) -> RolePatterns {
        RolePatterns::parse(list).expect("valid list")
    }

    #[test]
    fn default_migration_patterns() {
        let p = set("ns_migrate_*, ns_owner_*");
        assert!(p.matches("ns_migrate_orders"));
        assert!(p.matches("ns_owner_orders"));
        assert!(p.matches("ns_migrate_"));
        assert!(!p.matches("ns_app_rw_orders"));
        assert!(!p.matches("xns_migrate_orders"));
        assert!(!p.matches("ns_migrat"));
    }

    #[test]
    fn literal_names_match_exactly() {
        let p = set("ns_admin,ns_breakglass_admin");
        assert!(p.matches("ns_admin"));
        assert!(p.matches("ns_breakglass_admin"));
        assert!(!p.matches("ns_admin2"));
        assert!(!p.matches("ns_adm"));
    }

    #[test]
    fn wildcards_anywhere() {
        let p = set("*_admin");
        assert!(p.matches("ns_admin") && p.matches("_admin") && !p.matches("ns_admin_x"));
        let p = set("ns_*_ro_*");
        assert!(p.matches("ns_app_ro_orders"));
        assert!(!p.matches("ns_app_rw_orders"));
        let p = set("a*a");
        assert!(p.matches("aa") && p.matches("aba") && !p.matches("a"));
        let p = set("*");
        assert!(p.matches("anything") && p.matches(""));
    }

    #[test]
    fn bad_lists_are_rejected() {
        assert_eq!(RolePatterns::parse(""), Err(PatternError::Empty));
        assert_eq!(RolePatterns::parse("   "), Err(PatternError::Empty));
        assert_eq!(RolePatterns::parse("a,,b"), Err(PatternError::EmptyEntry(2)));
        assert_eq!(RolePatterns::parse("a,"), Err(PatternError::EmptyEntry(2)));
        assert!(matches!(RolePatterns::parse("my role"), Err(PatternError::BadCharacter(_))));
        assert!(matches!(RolePatterns::parse("\"quoted\""), Err(PatternError::BadCharacter(_))));
        assert!(matches!(RolePatterns::parse(&"x".repeat(64)), Err(PatternError::TooLong(_))));
    }

    #[test]
    fn whitespace_around_entries_is_ignored() {
        let p = set("  ns_admin ,\tns_dba ");
        assert!(p.matches("ns_admin") && p.matches("ns_dba"));
    }
}
