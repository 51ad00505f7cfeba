//! The risky fence on utility statements that reach server files or programs without saying so
//! in their command: foreign-data options naming a file or a program, and CREATE FUNCTION or DO
//! in an untrusted language. Reads the parse tree into the plain facts `policy::risky` decides
//! on; catalog access only for CREATE FUNCTION and DO (the language's trust).

use crate::pg::settings;
use crate::pg::standing;
use crate::pg::text::{role_name, text};
use crate::policy::ddl_guard::Authority;
use crate::policy::risky::{self, RiskyCommand};
use crate::policy::verdict::Enforcement;
use crate::trail::report;
use pgrx::pg_sys::{self, NodeTag};
use pgrx::{is_a, PgList};
use std::ffi::CStr;

/// pg_language.lanpltrusted's column number (pgrx generates no pg_language struct).
const LANPLTRUSTED_COLUMN: pg_sys::AttrNumber = 5;

/// The utility statements that reach a capability: foreign-data options naming a file or a
/// program, CREATE FUNCTION or DO in an untrusted language. Refuses them to non-admins; returns
/// whether the statement uses one (then it is audited as `risky`).
///
/// # Safety
/// `node` is a valid utility parse tree of type `tag`.
pub unsafe fn check_utility(tag: NodeTag, node: *mut pg_sys::Node, command_tag: impl Fn() -> String) -> bool {
    use NodeTag::*;
    // most statements are none of these: one comparison chain, nothing else (the guard is on
    // every statement's path)
    if !matches!(
        tag,
        T_CreateForeignTableStmt | T_CreateForeignServerStmt | T_AlterForeignServerStmt | T_CreateUserMappingStmt
            | T_AlterUserMappingStmt | T_CreateFdwStmt | T_AlterFdwStmt | T_ImportForeignSchemaStmt | T_AlterTableStmt
            | T_CreateFunctionStmt | T_DoStmt
    ) {
        return false;
    }
    let option = match tag {
        NodeTag::T_CreateForeignTableStmt => {
            let create = node as *mut pg_sys::CreateForeignTableStmt;
            file_option((*create).options).or_else(|| column_file_option((*create).base.tableElts))
        }
        NodeTag::T_CreateForeignServerStmt => file_option((*(node as *mut pg_sys::CreateForeignServerStmt)).options),
        NodeTag::T_AlterForeignServerStmt => file_option((*(node as *mut pg_sys::AlterForeignServerStmt)).options),
        NodeTag::T_CreateUserMappingStmt => file_option((*(node as *mut pg_sys::CreateUserMappingStmt)).options),
        NodeTag::T_AlterUserMappingStmt => file_option((*(node as *mut pg_sys::AlterUserMappingStmt)).options),
        NodeTag::T_CreateFdwStmt => file_option((*(node as *mut pg_sys::CreateFdwStmt)).options),
        NodeTag::T_AlterFdwStmt => file_option((*(node as *mut pg_sys::AlterFdwStmt)).options),
        NodeTag::T_ImportForeignSchemaStmt => file_option((*(node as *mut pg_sys::ImportForeignSchemaStmt)).options),
        NodeTag::T_AlterTableStmt => altered_file_option(node as *mut pg_sys::AlterTableStmt),
        _ => None,
    };
    let language = match tag {
        NodeTag::T_CreateFunctionStmt => language_option((*(node as *mut pg_sys::CreateFunctionStmt)).options, None),
        NodeTag::T_DoStmt => language_option((*(node as *mut pg_sys::DoStmt)).args, Some("plpgsql")),
        _ => None,
    }
    .filter(|language| !trusted_language(language));
    let command = match (&option, &language) {
        (Some(option), _) => RiskyCommand::ForeignDataOption(option),
        (None, Some(language)) => RiskyCommand::UntrustedLanguage(language),
        (None, None) => return false,
    };
    let enforcement = Enforcement::from(settings::RISKY_GUARD.get());
    let role = pg_sys::GetUserId();
    if enforcement != Enforcement::Ignore && !standing::of(role).has(Authority::Admin) {
        let admin_roles = settings::text_of(&settings::ADMIN_ROLES);
        report::raise(risky::refusal(command, &command_tag(), &role_name(role), &admin_roles), enforcement);
    }
    true
}

/// At the end of a walsender's start-up: a replication connection (physical or
/// `replication=database`) of a non-admin role with the privileges of pg_write_server_files
/// could write server files with `BASE_BACKUP … TARGET 'server'`, which no hook sees; such a
/// login is refused (an ERROR during start-up ends the connection) or, in warn mode, audited.
pub fn check_replication_login() {
    let enforcement = Enforcement::from(settings::RISKY_GUARD.get());
    if enforcement == Enforcement::Ignore {
        return;
    }
    let role = unsafe { pg_sys::GetSessionUserId() };
    let writes_files = unsafe { pg_sys::has_privs_of_role(role, pg_sys::Oid::from(pg_sys::ROLE_PG_WRITE_SERVER_FILES)) };
    if writes_files && !standing::of(role).has(Authority::Admin) {
        let command = RiskyCommand::ReplicationWritingServerFiles;
        let admin_roles = settings::text_of(&settings::ADMIN_ROLES);
        report::raise(risky::refusal(command, "REPLICATION LOGIN", &role_name(role), &admin_roles), enforcement);
    }
}

/// The first option of the list that names a server file or a program and is given a value
/// (options dropped with ALTER … OPTIONS (DROP …) give none).
unsafe fn file_option(options: *mut pg_sys::List) -> Option<String> {
    PgList::<pg_sys::DefElem>::from_pg(options)
        .iter_ptr()
        .filter(|&def| (*def).defaction != pg_sys::DefElemAction::DEFELEM_DROP)
        .filter_map(|def| text((*def).defname))
        .find(|name| risky::is_server_file_option(name))
}

/// Column options (`CREATE FOREIGN TABLE t (c text OPTIONS (…))`, ALTER … ADD COLUMN).
unsafe fn column_file_option(elements: *mut pg_sys::List) -> Option<String> {
    PgList::<pg_sys::Node>::from_pg(elements)
        .iter_ptr()
        .filter(|&element| is_a(element, NodeTag::T_ColumnDef))
        .find_map(|column| file_option((*(column as *mut pg_sys::ColumnDef)).fdwoptions))
}

/// ALTER FOREIGN TABLE … OPTIONS, ALTER COLUMN … OPTIONS, ADD COLUMN … OPTIONS.
unsafe fn altered_file_option(alter: *mut pg_sys::AlterTableStmt) -> Option<String> {
    use pg_sys::AlterTableType as At;
    PgList::<pg_sys::AlterTableCmd>::from_pg((*alter).cmds).iter_ptr().find_map(|cmd| {
        let def = (*cmd).def;
        match (*cmd).subtype {
            At::AT_GenericOptions | At::AT_AlterColumnGenericOptions => file_option(def as *mut pg_sys::List),
            At::AT_AddColumn if !def.is_null() && is_a(def, NodeTag::T_ColumnDef) => {
                file_option((*(def as *mut pg_sys::ColumnDef)).fdwoptions)
            }
            _ => None,
        }
    })
}

/// The `LANGUAGE` of CREATE FUNCTION or DO (DO defaults to plpgsql; a CREATE FUNCTION without
/// one has a SQL body).
unsafe fn language_option(options: *mut pg_sys::List, default: Option<&str>) -> Option<String> {
    PgList::<pg_sys::DefElem>::from_pg(options)
        .iter_ptr()
        .find(|&def| CStr::from_ptr((*def).defname).to_bytes() == b"language")
        .map(|def| CStr::from_ptr(pg_sys::defGetString(def)).to_string_lossy().into_owned())
        .or_else(|| default.map(str::to_string))
}

/// pg_language.lanpltrusted; a language that does not exist is left to PostgreSQL to refuse.
unsafe fn trusted_language(name: &str) -> bool {
    let Ok(name) = std::ffi::CString::new(name) else { return true };
    let cache = pg_sys::SysCacheIdentifier::LANGNAME as i32;
    let tuple = pg_sys::SearchSysCache1(cache, pg_sys::Datum::from(name.as_ptr()));
    if tuple.is_null() {
        return true;
    }
    let mut is_null = false;
    let trusted = pg_sys::SysCacheGetAttr(cache, tuple, LANPLTRUSTED_COLUMN, &mut is_null);
    let trusted = !is_null && trusted.value() != 0;
    pg_sys::ReleaseSysCache(tuple);
    trusted
}
