//! Names what a utility statement acts on, from its parse tree, for audit rows and DROP
//! warnings: `("table", "orders.orders")`, `("role", "ns_app_rw_orders")`. Best effort: a
//! statement this does not know gets no object, its statement text still says it all.

use pgrx::pg_sys::{self, NodeTag};
use pgrx::PgList;
use std::ffi::{c_char, CStr};

unsafe fn text(p: *const c_char) -> Option<String> {
    (!p.is_null()).then(|| CStr::from_ptr(p).to_string_lossy().into_owned())
}

/// A role's name for messages; a role that no longer exists shows as its oid.
pub fn role_name(role: pg_sys::Oid) -> String {
    crate::audit_log::text(unsafe { pg_sys::GetUserNameFromId(role, true) }).unwrap_or_else(|| format!("oid {}", role.to_u32()))
}

/// The role of that name, if there is one.
pub fn role_oid(name: &str) -> Option<pg_sys::Oid> {
    let name = std::ffi::CString::new(name).ok()?;
    let oid = unsafe { pg_sys::get_role_oid(name.as_ptr(), true) };
    (oid != pg_sys::InvalidOid).then_some(oid)
}

unsafe fn range_var(rv: *mut pg_sys::RangeVar) -> Option<String> {
    if rv.is_null() {
        return None;
    }
    let relname = text((*rv).relname)?;
    Some(match text((*rv).schemaname) {
        Some(schema) => format!("{schema}.{relname}"),
        None => relname,
    })
}

/// The name a node in an object list stands for: a RangeVar, a qualified-name list, a plain
/// name, a role (or a role granted), or a function signature's name.
pub unsafe fn name_of(node: *mut pg_sys::Node) -> Option<String> {
    if node.is_null() {
        return None;
    }
    match (*node).type_ {
        NodeTag::T_RangeVar => range_var(node as *mut pg_sys::RangeVar),
        NodeTag::T_List => text(pg_sys::NameListToString(node as *mut pg_sys::List)),
        NodeTag::T_String => text((*(node as *mut pg_sys::String)).sval),
        NodeTag::T_RoleSpec => {
            let role = node as *mut pg_sys::RoleSpec;
            text((*role).rolename).or_else(|| Some(format!("{:?}", (*role).roletype)))
        }
        NodeTag::T_ObjectWithArgs => text(pg_sys::NameListToString((*(node as *mut pg_sys::ObjectWithArgs)).objname)),
        NodeTag::T_TypeName => text(pg_sys::NameListToString((*(node as *mut pg_sys::TypeName)).names)),
        // GRANT/REVOKE role: the roles granted
        NodeTag::T_AccessPriv => text((*(node as *mut pg_sys::AccessPriv)).priv_name),
        _ => None,
    }
}

unsafe fn names_of(list: *mut pg_sys::List) -> Option<String> {
    let names: Vec<String> = PgList::<pg_sys::Node>::from_pg(list).iter_ptr().filter_map(|n| name_of(n)).collect();
    (!names.is_empty()).then(|| names.join(", "))
}

fn kind_of(object_type: pg_sys::ObjectType::Type) -> &'static str {
    use pg_sys::ObjectType::*;
    match object_type {
        OBJECT_TABLE => "table",
        OBJECT_INDEX => "index",
        OBJECT_VIEW => "view",
        OBJECT_MATVIEW => "materialized view",
        OBJECT_SEQUENCE => "sequence",
        OBJECT_FOREIGN_TABLE => "foreign table",
        OBJECT_SCHEMA => "schema",
        OBJECT_FUNCTION | OBJECT_ROUTINE => "function",
        OBJECT_PROCEDURE => "procedure",
        OBJECT_TYPE | OBJECT_DOMAIN => "type",
        OBJECT_EXTENSION => "extension",
        OBJECT_DATABASE => "database",
        OBJECT_ROLE => "role",
        OBJECT_POLICY => "policy",
        OBJECT_TRIGGER => "trigger",
        OBJECT_COLUMN => "column",
        OBJECT_TABLESPACE => "tablespace",
        _ => "object",
    }
}

/// (object type, object identity) of a utility statement.
///
/// # Safety
/// `node` is a valid utility parse tree.
pub unsafe fn describe(node: *mut pg_sys::Node) -> (Option<&'static str>, Option<String>) {
    macro_rules! field {
        ($ty:ty, $f:ident) => {
            (*(node as *mut $ty)).$f
        };
    }
    let (kind, name) = match (*node).type_ {
        NodeTag::T_CreateStmt => ("table", range_var(field!(pg_sys::CreateStmt, relation))),
        NodeTag::T_CreateForeignTableStmt => ("foreign table", range_var((*(node as *mut pg_sys::CreateForeignTableStmt)).base.relation)),
        NodeTag::T_AlterTableStmt => (kind_of(field!(pg_sys::AlterTableStmt, objtype)), range_var(field!(pg_sys::AlterTableStmt, relation))),
        NodeTag::T_IndexStmt => ("index", text(field!(pg_sys::IndexStmt, idxname)).or_else(|| range_var(field!(pg_sys::IndexStmt, relation)))),
        NodeTag::T_ViewStmt => ("view", range_var(field!(pg_sys::ViewStmt, view))),
        NodeTag::T_CreateSeqStmt => ("sequence", range_var(field!(pg_sys::CreateSeqStmt, sequence))),
        NodeTag::T_CreateTableAsStmt => {
            let into = field!(pg_sys::CreateTableAsStmt, into);
            ("table", if into.is_null() { None } else { range_var((*into).rel) })
        }
        NodeTag::T_DropStmt => (kind_of(field!(pg_sys::DropStmt, removeType)), names_of(field!(pg_sys::DropStmt, objects))),
        NodeTag::T_TruncateStmt => ("table", names_of(field!(pg_sys::TruncateStmt, relations))),
        NodeTag::T_RenameStmt => {
            let rename = node as *mut pg_sys::RenameStmt;
            (kind_of((*rename).renameType), range_var((*rename).relation).or_else(|| name_of((*rename).object)).or_else(|| text((*rename).subname)))
        }
        NodeTag::T_GrantStmt => (kind_of(field!(pg_sys::GrantStmt, objtype)), names_of(field!(pg_sys::GrantStmt, objects))),
        NodeTag::T_GrantRoleStmt => ("role", names_of(field!(pg_sys::GrantRoleStmt, granted_roles))),
        NodeTag::T_CreateRoleStmt => ("role", text(field!(pg_sys::CreateRoleStmt, role))),
        NodeTag::T_AlterRoleStmt => ("role", name_of(field!(pg_sys::AlterRoleStmt, role) as *mut pg_sys::Node)),
        NodeTag::T_AlterRoleSetStmt => ("role", name_of(field!(pg_sys::AlterRoleSetStmt, role) as *mut pg_sys::Node)),
        NodeTag::T_DropRoleStmt => ("role", names_of(field!(pg_sys::DropRoleStmt, roles))),
        NodeTag::T_CreateSchemaStmt => ("schema", text(field!(pg_sys::CreateSchemaStmt, schemaname))),
        NodeTag::T_CreateExtensionStmt => ("extension", text(field!(pg_sys::CreateExtensionStmt, extname))),
        NodeTag::T_CreateFunctionStmt => ("function", text(pg_sys::NameListToString(field!(pg_sys::CreateFunctionStmt, funcname)))),
        NodeTag::T_DropdbStmt => ("database", text(field!(pg_sys::DropdbStmt, dbname))),
        NodeTag::T_CreatedbStmt => ("database", text(field!(pg_sys::CreatedbStmt, dbname))),
        NodeTag::T_VariableSetStmt => ("setting", text(field!(pg_sys::VariableSetStmt, name))),
        NodeTag::T_AlterSystemStmt => {
            let set = field!(pg_sys::AlterSystemStmt, setstmt);
            ("setting", if set.is_null() { None } else { text((*set).name) })
        }
        _ => return (None, None),
    };
    (Some(kind), name)
}

/// `schema.table` of a relation, for messages and audit rows (a catalog lookup: refusal and
/// audit paths only).
pub unsafe fn relation_name(relid: pg_sys::Oid) -> String {
    let part = |p: *mut c_char| text(p).unwrap_or_else(|| "?".to_string());
    format!("{}.{}", part(pg_sys::get_namespace_name_or_temp(pg_sys::get_rel_namespace(relid))), part(pg_sys::get_rel_name(relid)))
}
