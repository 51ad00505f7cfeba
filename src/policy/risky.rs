//! Risky capabilities (NS-PG-007 §8.3 "disable or restrict risky capabilities unless needed"):
//! ALTER SYSTEM, LOAD, COPY to/from a server file or a program, and CREATE EXTENSION of an
//! extension outside `nspg_guard.extension_allowlist` are for admins only. So is reading,
//! listing or writing server files and running programs by any other route — the functions that
//! do it, foreign-data options naming a file or a program, untrusted languages — and loading
//! libraries into a session from anywhere but the server's configuration. Pure.

use crate::policy::verdict::Refusal;
use pgrx::pg_sys::{self, errcodes::PgSqlErrorCode};
use thiserror::Error;

/// A statement in the `risky` class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RiskyCommand<'a> {
    AlterSystem,
    Load,
    CopyServerFile,
    CopyProgram,
    CreateExtension(&'a str),
    /// Calling a function that reads, lists or writes server files (named with its arguments).
    ServerFileFunction(&'a str),
    /// A foreign-data option naming a server file or a program (`filename`, `program`).
    ForeignDataOption(&'a str),
    /// CREATE FUNCTION or DO in a language PostgreSQL does not sandbox (the language's name).
    UntrustedLanguage(&'a str),
    /// `local_preload_libraries` or `session_preload_libraries` set by a session (the setting).
    PreloadLibraries(&'a str),
    /// A replication connection of a role that may write server files: `BASE_BACKUP … TARGET
    /// 'server'` writes them, and the replication protocol passes no hook.
    ReplicationWritingServerFiles,
}

impl RiskyCommand<'_> {
    fn describe(self) -> String {
        match self {
            RiskyCommand::AlterSystem => "ALTER SYSTEM".into(),
            RiskyCommand::Load => "LOAD".into(),
            RiskyCommand::CopyServerFile => "COPY to or from a server file".into(),
            RiskyCommand::CopyProgram => "COPY to or from a program".into(),
            RiskyCommand::CreateExtension(name) => format!("CREATE EXTENSION {name}"),
            RiskyCommand::ServerFileFunction(function) => format!("server file access through {function}"),
            RiskyCommand::ForeignDataOption(option) => format!("foreign-data option \"{option}\" (a server file or program)"),
            RiskyCommand::UntrustedLanguage(language) => format!("code in the untrusted language {language}"),
            RiskyCommand::PreloadLibraries(setting) => format!("setting {setting}"),
            RiskyCommand::ReplicationWritingServerFiles => "a replication connection that can write server files".into(),
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
    /// No extension (what the allowlist holds before its setting is first assigned).
    pub const EMPTY: Allowlist = Allowlist { names: Vec::new() };

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
        RiskyCommand::ServerFileFunction(_) => {
            "Move data through the client (COPY … FROM STDIN / TO STDOUT, psql's \\lo_import and \\lo_export), or ask a platform admin.".to_string()
        }
        RiskyCommand::UntrustedLanguage(_) => "Use a trusted language (plpgsql, sql), or ask a platform admin.".to_string(),
        RiskyCommand::PreloadLibraries(_) => {
            "Libraries are loaded from the server configuration only: ask a platform admin to set it in postgresql.conf.".to_string()
        }
        RiskyCommand::ReplicationWritingServerFiles => {
            "Replicate and take base backups with a role that is not a member of pg_write_server_files (the backup then goes to the client), or ask a platform admin.".to_string()
        }
        RiskyCommand::AlterSystem | RiskyCommand::Load | RiskyCommand::ForeignDataOption(_) => {
            "Ask a platform admin to make this change.".to_string()
        }
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
            RiskyCommand::CreateExtension(name)
            | RiskyCommand::ServerFileFunction(name)
            | RiskyCommand::UntrustedLanguage(name)
            | RiskyCommand::PreloadLibraries(name) => Some(name.to_string()),
            _ => None,
        },
    }
}

// Built-in functions PostgreSQL generates constants for as `Oid` rather than `u32`.
const LO_IMPORT_WITH_OID: u32 = pg_sys::F_LO_IMPORT_TEXT_OID.to_u32();
const PG_LS_TMPDIR_OF_TABLESPACE: u32 = pg_sys::F_PG_LS_TMPDIR_OID.to_u32();

/// Is this built-in function one that reads, lists or writes server files: every overload of
/// pg_read_file, pg_read_binary_file, pg_ls_dir, pg_stat_file, the pg_ls_*dir listings, and the
/// server-side lo_import / lo_export (psql's \\lo_import works through lo_open and friends)?
/// A match over constants: the function-execution hook asks this for every function it sees.
pub fn builtin_server_file_function(function: u32) -> bool {
    matches!(
        function,
        pg_sys::F_PG_READ_FILE_TEXT
            | pg_sys::F_PG_READ_FILE_TEXT_INT8_INT8
            | pg_sys::F_PG_READ_FILE_TEXT_INT8_INT8_BOOL
            | pg_sys::F_PG_READ_FILE_OLD
            | pg_sys::F_PG_READ_BINARY_FILE_TEXT
            | pg_sys::F_PG_READ_BINARY_FILE_TEXT_INT8_INT8
            | pg_sys::F_PG_READ_BINARY_FILE_TEXT_INT8_INT8_BOOL
            | pg_sys::F_PG_LS_DIR_TEXT
            | pg_sys::F_PG_LS_DIR_TEXT_BOOL_BOOL
            | pg_sys::F_PG_STAT_FILE_TEXT
            | pg_sys::F_PG_STAT_FILE_TEXT_BOOL
            | pg_sys::F_PG_LS_LOGDIR
            | pg_sys::F_PG_LS_WALDIR
            | pg_sys::F_PG_LS_TMPDIR_
            | PG_LS_TMPDIR_OF_TABLESPACE
            | pg_sys::F_PG_LS_ARCHIVE_STATUSDIR
            | pg_sys::F_PG_LS_LOGICALSNAPDIR
            | pg_sys::F_PG_LS_LOGICALMAPDIR
            | pg_sys::F_PG_LS_REPLSLOTDIR
            | pg_sys::F_LO_IMPORT_TEXT
            | LO_IMPORT_WITH_OID
            | pg_sys::F_LO_EXPORT
    )
}

/// How a function that is not built in is implemented, as pg_proc says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Implementation<'a> {
    /// `LANGUAGE internal`: another name for the built-in function with this oid (if any).
    Internal(Option<u32>),
    /// `LANGUAGE c`: a symbol in a shared library (`probin`, e.g. `$libdir/adminpack`).
    C { library: &'a str },
    Other,
}

/// Does a function that is not built in reach server files? An internal-language alias of one of
/// the built-in ones does, and so does every function of adminpack (pg_file_write, pg_file_sync,
/// pg_file_rename, pg_file_unlink, pg_logdir_ls), whatever its SQL name or schema.
pub fn server_file_implementation(implementation: Implementation) -> bool {
    match implementation {
        Implementation::Internal(builtin) => builtin.is_some_and(builtin_server_file_function),
        Implementation::C { library } => library_base_name(library) == "adminpack",
        Implementation::Other => false,
    }
}

/// `$libdir/adminpack`, `/usr/lib/…/adminpack.so` → `adminpack`.
fn library_base_name(library: &str) -> &str {
    let file = library.rsplit('/').next().unwrap_or(library);
    file.strip_suffix(".so").unwrap_or(file)
}

/// Foreign-data options (of a wrapper, server, user mapping, foreign table or column, at
/// CREATE or ALTER … OPTIONS (ADD | SET)) that name a server file or a program: file_fdw's,
/// and the same names for any other wrapper, which may read them the same way.
pub fn is_server_file_option(name: &str) -> bool {
    name.eq_ignore_ascii_case("filename") || name.eq_ignore_ascii_case("program")
}

/// Where a setting's value comes from (PostgreSQL's GucSource, grouped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingSource {
    /// Defaults, postgresql.conf, ALTER SYSTEM, the server's command line: an admin's choice.
    ServerConfiguration,
    /// The connection's startup packet (PGOPTIONS, `options=-c …`).
    Connection,
    /// ALTER ROLE / ALTER DATABASE … SET, applied at connection.
    RoleOrDatabase,
    /// SET, set_config(), and the check of a value ALTER ROLE / DATABASE … SET would store.
    Session,
}

/// May a session with this standing get a preload-library value from `source`? Clearing it is
/// always fine, the server configuration always counts; anything else is for admins, whoever
/// stored it (a role's own or its database owner's setting included).
pub fn preload_allowed(source: SettingSource, value: &str, admin: bool) -> bool {
    names_no_library(value) || source == SettingSource::ServerConfiguration || admin
}

/// An empty list: SET x = '' arrives quoted (`""`), as a list of one empty name.
fn names_no_library(value: &str) -> bool {
    value.chars().all(|c| c == '"' || c == ',' || c.is_whitespace())
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
    fn server_file_functions_are_known_by_oid_and_by_implementation() {
        for oid in [3826, 2624, 3293, 3827, 3828, 3295, 2625, 3297, 2623, 3307, 3353, 3354, 5029, 5030, 764, 767, 765] {
            assert!(builtin_server_file_function(oid), "{oid}");
        }
        // lo_open, lo_creat, loread, lowrite (the client-side route), now(), pg_read_file's neighbours
        for oid in [952, 957, 954, 955, 1299, 2622, 2626] {
            assert!(!builtin_server_file_function(oid), "{oid}");
        }
        assert!(server_file_implementation(Implementation::Internal(Some(3826))));
        assert!(!server_file_implementation(Implementation::Internal(Some(1299))));
        assert!(!server_file_implementation(Implementation::Internal(None)));
        assert!(server_file_implementation(Implementation::C { library: "$libdir/adminpack" }));
        assert!(server_file_implementation(Implementation::C { library: "/usr/lib/postgresql/15/lib/adminpack.so" }));
        assert!(!server_file_implementation(Implementation::C { library: "$libdir/citext" }));
        assert!(!server_file_implementation(Implementation::C { library: "$libdir/notadminpack" }));
        assert!(!server_file_implementation(Implementation::Other));
    }

    #[test]
    fn foreign_data_options_and_preload_settings() {
        assert!(is_server_file_option("filename") && is_server_file_option("program") && is_server_file_option("PROGRAM"));
        assert!(!is_server_file_option("format") && !is_server_file_option("filenames"));
        for source in [SettingSource::Connection, SettingSource::RoleOrDatabase, SettingSource::Session] {
            assert!(!preload_allowed(source, "auto_explain", false), "{source:?}");
            assert!(preload_allowed(source, "auto_explain", true), "{source:?}");
            assert!(preload_allowed(source, " ", false) && preload_allowed(source, "\"\"", false), "{source:?}");
            assert!(!preload_allowed(source, "\"\", x", false), "{source:?}");
        }
        assert!(preload_allowed(SettingSource::ServerConfiguration, "auto_explain", false));
    }

    #[test]
    fn capability_wording() {
        let r = refusal(RiskyCommand::ServerFileFunction("pg_read_file(text)"), "FUNCTION CALL", "ops_files", "ns_admin");
        assert_eq!(r.message, "nspg_guard: server file access through pg_read_file(text) denied for role \"ops_files\"");
        assert_eq!(r.object.as_deref(), Some("pg_read_file(text)"));
        assert!(r.hint.contains("\\lo_import"));
        let r = refusal(RiskyCommand::ForeignDataOption("program"), "CREATE FOREIGN TABLE", "ops_files", "ns_admin");
        assert!(r.message.contains("\"program\"") && r.detail.contains("risky"));
        let r = refusal(RiskyCommand::PreloadLibraries("local_preload_libraries"), "SET", "ops_files", "ns_admin");
        assert!(r.hint.contains("postgresql.conf"));
        let r = refusal(RiskyCommand::UntrustedLanguage("plperlu"), "DO", "ops_files", "ns_admin");
        assert!(r.hint.contains("trusted language"));
        let r = refusal(RiskyCommand::ReplicationWritingServerFiles, "REPLICATION LOGIN", "rep_writer", "ns_admin");
        assert_eq!(r.message, "nspg_guard: a replication connection that can write server files denied for role \"rep_writer\"");
        assert!(r.hint.contains("pg_write_server_files") && r.object.is_none());
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

