//! Names what a utility statement acts on, from its parse tree, for audit rows and DROP
//! warnings: `("table", "orders.orders")`, `("role", "ns_app_rw_orders")`. The glue here only
//! reads fields into plain `Name`s; `object_names` renders them. Best effort and never
//! failing: a statement this does not know gets no object, its statement text still says it all.

use crate::pg::text::text;
use crate::policy::object_names::{kind_of, render, render_all, role_keyword, shape_of, Name, Shape};
use pgrx::PgList;
use pgrx::pg_sys::{self, NodeTag};
use std::ffi::c_char;

/// A relation's name as plain data (catalog and schema when given).
unsafe fn range_var(rv: *mut pg_sys::RangeVar) -> Name {
    if rv.is_null() {
        return Name::Unknown;
    }
    let parts: Vec<Name> =
        [(*rv).catalogname, (*rv).schemaname, (*rv).relname].into_iter().filter_map(|p| text(p)).map(Name::Ident).collect();
    if parts.is_empty() {
        Name::Unknown
    } else {
        Name::List(parts)
    }
}

unsafe fn list(list: *mut pg_sys::List) -> Name {
    Name::List(PgList::<pg_sys::Node>::from_pg(list).iter_ptr().map(|n| read(n)).collect())
}

unsafe fn role_spec(role: *mut pg_sys::RoleSpec) -> Name {
    if role.is_null() {
        return Name::Unknown;
    }
    Name::Ident(text((*role).rolename).unwrap_or_else(|| role_keyword((*role).roletype).to_string()))
}

unsafe fn ident(p: *const c_char) -> Name {
    text(p).map_or(Name::Unknown, Name::Ident)
}

/// A parse-tree node that names something, as plain data: field reads only, never a function
/// that can raise.
unsafe fn read(node: *mut pg_sys::Node) -> Name {
    if node.is_null() {
        return Name::Unknown;
    }
    match (*node).type_ {
        NodeTag::T_String => ident((*(node as *mut pg_sys::String)).sval),
        NodeTag::T_Integer => Name::Number((*(node as *mut pg_sys::Integer)).ival.to_string()),
        NodeTag::T_Float => text((*(node as *mut pg_sys::Float)).fval).map_or(Name::Unknown, Name::Number),
        NodeTag::T_A_Star => Name::Star,
        NodeTag::T_List => list(node as *mut pg_sys::List),
        NodeTag::T_RangeVar => range_var(node as *mut pg_sys::RangeVar),
        NodeTag::T_RoleSpec => role_spec(node as *mut pg_sys::RoleSpec),
        // a function, aggregate or operator: its name (the arguments are in the statement)
        NodeTag::T_ObjectWithArgs => list((*(node as *mut pg_sys::ObjectWithArgs)).objname),
        NodeTag::T_TypeName => match list((*(node as *mut pg_sys::TypeName)).names) {
            Name::List(parts) => Name::Type(parts),
            _ => Name::Unknown,
        },
        // GRANT/REVOKE role: the roles granted
        NodeTag::T_AccessPriv => ident((*(node as *mut pg_sys::AccessPriv)).priv_name),
        _ => Name::Unknown,
    }
}

/// The name a node in an object list stands for (a relation, a qualified name, a role, a
/// function, a type…), for messages.
///
/// # Safety
/// `node` is null or a valid parse-tree node.
pub unsafe fn name_of(node: *mut pg_sys::Node) -> Option<String> {
    render(&read(node), Shape::Plain)
}

/// The names in a list of objects of one kind (`DROP CAST (a AS b), …`).
unsafe fn names_of(objects: *mut pg_sys::List, kind: pg_sys::ObjectType::Type) -> Option<String> {
    let names: Vec<Name> = PgList::<pg_sys::Node>::from_pg(objects).iter_ptr().map(|n| read(n)).collect();
    render_all(&names, shape_of(kind))
}

/// One object of a kind, given by a RangeVar (a relation: a plain name) or by a name node
/// whose shape the kind gives (ALTER … OWNER/SET SCHEMA, COMMENT, …).
unsafe fn object_of(kind: pg_sys::ObjectType::Type, relation: *mut pg_sys::RangeVar, object: *mut pg_sys::Node) -> Option<String> {
    if relation.is_null() {
        render(&read(object), shape_of(kind))
    } else {
        render(&range_var(relation), Shape::Plain)
    }
}

/// `name ON relation` (triggers, rules, policies).
unsafe fn on_relation(name: *const c_char, relation: *mut pg_sys::RangeVar) -> Option<String> {
    match (text(name), render(&range_var(relation), Shape::Plain)) {
        (Some(name), Some(relation)) => Some(format!("{name} ON {relation}")),
        (name, relation) => name.or(relation),
    }
}

/// `name USING access_method` (operator classes and families).
unsafe fn using(method: *const c_char, names: *mut pg_sys::List) -> Option<String> {
    match list(names) {
        Name::List(mut parts) => {
            parts.insert(0, ident(method));
            render(&Name::List(parts), Shape::UsingAccessMethod)
        }
        other => render(&other, Shape::Plain),
    }
}

/// `FOR role SERVER server`.
unsafe fn user_mapping(user: *mut pg_sys::RoleSpec, server: *const c_char) -> Option<String> {
    match (render(&role_spec(user), Shape::Plain), text(server)) {
        (Some(user), Some(server)) => Some(format!("FOR {user} SERVER {server}")),
        (user, server) => user.or(server),
    }
}

/// (object type, object identity) of a utility statement: what it creates, changes or removes,
/// as far as the parse tree says (no catalog access). Never fails: a statement whose object
/// this does not know gets none, and its statement text still says it all.
///
/// # Safety
/// `node` is a valid utility parse tree.
pub unsafe fn describe(node: *mut pg_sys::Node) -> (Option<&'static str>, Option<String>) {
    macro_rules! field {
        ($ty:ident, $f:ident) => {
            (*(node as *mut pg_sys::$ty)).$f
        };
    }
    // a field that is a parse-tree node of another type (TypeName, ObjectWithArgs)
    macro_rules! node_field {
        ($ty:ident, $f:ident) => {
            read(field!($ty, $f) as *mut pg_sys::Node)
        };
    }
    let plain = |name: Name| render(&name, Shape::Plain);
    use pg_sys::ObjectType::*;
    let (kind, name): (&'static str, Option<String>) = match (*node).type_ {
        NodeTag::T_CreateStmt => ("table", plain(range_var(field!(CreateStmt, relation)))),
        NodeTag::T_CreateForeignTableStmt => ("foreign table", plain(range_var(field!(CreateForeignTableStmt, base).relation))),
        NodeTag::T_AlterTableStmt => (kind_of(field!(AlterTableStmt, objtype)), plain(range_var(field!(AlterTableStmt, relation)))),
        NodeTag::T_IndexStmt => ("index", text(field!(IndexStmt, idxname)).or_else(|| plain(range_var(field!(IndexStmt, relation))))),
        NodeTag::T_ViewStmt => ("view", plain(range_var(field!(ViewStmt, view)))),
        NodeTag::T_CreateSeqStmt => ("sequence", plain(range_var(field!(CreateSeqStmt, sequence)))),
        NodeTag::T_AlterSeqStmt => ("sequence", plain(range_var(field!(AlterSeqStmt, sequence)))),
        NodeTag::T_CreateTableAsStmt => {
            let into = field!(CreateTableAsStmt, into);
            (kind_of(field!(CreateTableAsStmt, objtype)), if into.is_null() { None } else { plain(range_var((*into).rel)) })
        }
        NodeTag::T_RefreshMatViewStmt => ("materialized view", plain(range_var(field!(RefreshMatViewStmt, relation)))),
        NodeTag::T_DropStmt => {
            let kind = field!(DropStmt, removeType);
            (kind_of(kind), names_of(field!(DropStmt, objects), kind))
        }
        NodeTag::T_TruncateStmt => ("table", names_of(field!(TruncateStmt, relations), OBJECT_TABLE)),
        NodeTag::T_RenameStmt => {
            let kind = field!(RenameStmt, renameType);
            let (relation, subname) = (field!(RenameStmt, relation), field!(RenameStmt, subname));
            let name = match kind {
                // ALTER TABLE t RENAME CONSTRAINT c, ALTER POLICY p ON t RENAME, …: the subname
                _ if !relation.is_null() && shape_of(kind) == Shape::OnRelation => on_relation(subname, relation),
                OBJECT_COLUMN | OBJECT_ATTRIBUTE if !relation.is_null() => match range_var(relation) {
                    Name::List(mut parts) => {
                        parts.push(ident(subname));
                        plain(Name::List(parts))
                    }
                    _ => text(subname),
                },
                OBJECT_DOMCONSTRAINT => match (text(subname), plain(read(field!(RenameStmt, object)))) {
                    (Some(constraint), Some(domain)) => Some(format!("{constraint} ON DOMAIN {domain}")),
                    (constraint, domain) => constraint.or(domain),
                },
                // databases, roles, schemas, tablespaces… are named by subname alone
                _ => object_of(kind, relation, field!(RenameStmt, object)).or_else(|| text(subname)),
            };
            (kind_of(kind), name)
        }
        NodeTag::T_AlterObjectSchemaStmt => {
            let kind = field!(AlterObjectSchemaStmt, objectType);
            (kind_of(kind), object_of(kind, field!(AlterObjectSchemaStmt, relation), field!(AlterObjectSchemaStmt, object)))
        }
        NodeTag::T_AlterOwnerStmt => {
            let kind = field!(AlterOwnerStmt, objectType);
            (kind_of(kind), object_of(kind, field!(AlterOwnerStmt, relation), field!(AlterOwnerStmt, object)))
        }
        NodeTag::T_AlterObjectDependsStmt => {
            let kind = field!(AlterObjectDependsStmt, objectType);
            (kind_of(kind), object_of(kind, field!(AlterObjectDependsStmt, relation), field!(AlterObjectDependsStmt, object)))
        }
        NodeTag::T_CommentStmt => {
            let kind = field!(CommentStmt, objtype);
            (kind_of(kind), object_of(kind, std::ptr::null_mut(), field!(CommentStmt, object)))
        }
        NodeTag::T_SecLabelStmt => {
            let kind = field!(SecLabelStmt, objtype);
            (kind_of(kind), object_of(kind, std::ptr::null_mut(), field!(SecLabelStmt, object)))
        }
        NodeTag::T_AlterExtensionContentsStmt => ("extension", text(field!(AlterExtensionContentsStmt, extname))),
        NodeTag::T_GrantStmt => {
            let kind = field!(GrantStmt, objtype);
            if field!(GrantStmt, targtype) == pg_sys::GrantTargetType::ACL_TARGET_ALL_IN_SCHEMA {
                // GRANT … ON ALL TABLES IN SCHEMA s: the objects listed are schemas
                ("schema", names_of(field!(GrantStmt, objects), OBJECT_SCHEMA))
            } else {
                (kind_of(kind), names_of(field!(GrantStmt, objects), kind))
            }
        }
        NodeTag::T_AlterDefaultPrivilegesStmt => ("default privileges", None),
        NodeTag::T_GrantRoleStmt => ("role", names_of(field!(GrantRoleStmt, granted_roles), OBJECT_ROLE)),
        NodeTag::T_CreateRoleStmt => ("role", text(field!(CreateRoleStmt, role))),
        NodeTag::T_AlterRoleStmt => ("role", plain(role_spec(field!(AlterRoleStmt, role)))),
        NodeTag::T_AlterRoleSetStmt => ("role", plain(role_spec(field!(AlterRoleSetStmt, role)))),
        NodeTag::T_DropRoleStmt => ("role", names_of(field!(DropRoleStmt, roles), OBJECT_ROLE)),
        NodeTag::T_ReassignOwnedStmt => ("role", names_of(field!(ReassignOwnedStmt, roles), OBJECT_ROLE)),
        NodeTag::T_DropOwnedStmt => ("role", names_of(field!(DropOwnedStmt, roles), OBJECT_ROLE)),
        NodeTag::T_CreateSchemaStmt => {
            // CREATE SCHEMA AUTHORIZATION r names the schema after the role
            let owner = || plain(role_spec(field!(CreateSchemaStmt, authrole)));
            ("schema", text(field!(CreateSchemaStmt, schemaname)).or_else(owner))
        }
        NodeTag::T_CreateExtensionStmt => ("extension", text(field!(CreateExtensionStmt, extname))),
        NodeTag::T_AlterExtensionStmt => ("extension", text(field!(AlterExtensionStmt, extname))),
        NodeTag::T_CreateFunctionStmt => {
            let kind = if field!(CreateFunctionStmt, is_procedure) { "procedure" } else { "function" };
            (kind, plain(list(field!(CreateFunctionStmt, funcname))))
        }
        NodeTag::T_AlterFunctionStmt => (kind_of(field!(AlterFunctionStmt, objtype)), plain(node_field!(AlterFunctionStmt, func))),
        NodeTag::T_DefineStmt => (kind_of(field!(DefineStmt, kind)), plain(list(field!(DefineStmt, defnames)))),
        NodeTag::T_CompositeTypeStmt => ("type", plain(range_var(field!(CompositeTypeStmt, typevar)))),
        NodeTag::T_CreateEnumStmt => ("type", plain(list(field!(CreateEnumStmt, typeName)))),
        NodeTag::T_CreateRangeStmt => ("type", plain(list(field!(CreateRangeStmt, typeName)))),
        NodeTag::T_AlterEnumStmt => ("type", plain(list(field!(AlterEnumStmt, typeName)))),
        NodeTag::T_AlterTypeStmt => ("type", plain(list(field!(AlterTypeStmt, typeName)))),
        NodeTag::T_CreateDomainStmt => ("type", plain(list(field!(CreateDomainStmt, domainname)))),
        NodeTag::T_AlterDomainStmt => ("type", plain(list(field!(AlterDomainStmt, typeName)))),
        NodeTag::T_CreateCastStmt => {
            let types = Name::List(vec![node_field!(CreateCastStmt, sourcetype), node_field!(CreateCastStmt, targettype)]);
            ("cast", render(&types, Shape::Cast))
        }
        NodeTag::T_CreateTransformStmt => {
            let transform = Name::List(vec![node_field!(CreateTransformStmt, type_name), ident(field!(CreateTransformStmt, lang))]);
            ("transform", render(&transform, Shape::Transform))
        }
        NodeTag::T_CreateOpClassStmt => ("operator class", using(field!(CreateOpClassStmt, amname), field!(CreateOpClassStmt, opclassname))),
        NodeTag::T_CreateOpFamilyStmt => ("operator family", using(field!(CreateOpFamilyStmt, amname), field!(CreateOpFamilyStmt, opfamilyname))),
        NodeTag::T_AlterOpFamilyStmt => ("operator family", using(field!(AlterOpFamilyStmt, amname), field!(AlterOpFamilyStmt, opfamilyname))),
        NodeTag::T_AlterOperatorStmt => ("operator", plain(node_field!(AlterOperatorStmt, opername))),
        NodeTag::T_CreatePolicyStmt => ("policy", on_relation(field!(CreatePolicyStmt, policy_name), field!(CreatePolicyStmt, table))),
        NodeTag::T_AlterPolicyStmt => ("policy", on_relation(field!(AlterPolicyStmt, policy_name), field!(AlterPolicyStmt, table))),
        NodeTag::T_CreateTrigStmt => ("trigger", on_relation(field!(CreateTrigStmt, trigname), field!(CreateTrigStmt, relation))),
        NodeTag::T_RuleStmt => ("rule", on_relation(field!(RuleStmt, rulename), field!(RuleStmt, relation))),
        NodeTag::T_CreateEventTrigStmt => ("event trigger", text(field!(CreateEventTrigStmt, trigname))),
        NodeTag::T_AlterEventTrigStmt => ("event trigger", text(field!(AlterEventTrigStmt, trigname))),
        NodeTag::T_CreatePublicationStmt => ("publication", text(field!(CreatePublicationStmt, pubname))),
        NodeTag::T_AlterPublicationStmt => ("publication", text(field!(AlterPublicationStmt, pubname))),
        NodeTag::T_CreateSubscriptionStmt => ("subscription", text(field!(CreateSubscriptionStmt, subname))),
        NodeTag::T_AlterSubscriptionStmt => ("subscription", text(field!(AlterSubscriptionStmt, subname))),
        NodeTag::T_DropSubscriptionStmt => ("subscription", text(field!(DropSubscriptionStmt, subname))),
        NodeTag::T_CreateTableSpaceStmt => ("tablespace", text(field!(CreateTableSpaceStmt, tablespacename))),
        NodeTag::T_DropTableSpaceStmt => ("tablespace", text(field!(DropTableSpaceStmt, tablespacename))),
        NodeTag::T_AlterTableSpaceOptionsStmt => ("tablespace", text(field!(AlterTableSpaceOptionsStmt, tablespacename))),
        NodeTag::T_AlterTableMoveAllStmt => ("tablespace", text(field!(AlterTableMoveAllStmt, orig_tablespacename))),
        NodeTag::T_CreateFdwStmt => ("foreign-data wrapper", text(field!(CreateFdwStmt, fdwname))),
        NodeTag::T_AlterFdwStmt => ("foreign-data wrapper", text(field!(AlterFdwStmt, fdwname))),
        NodeTag::T_CreateForeignServerStmt => ("server", text(field!(CreateForeignServerStmt, servername))),
        NodeTag::T_AlterForeignServerStmt => ("server", text(field!(AlterForeignServerStmt, servername))),
        NodeTag::T_CreateUserMappingStmt => ("user mapping", user_mapping(field!(CreateUserMappingStmt, user), field!(CreateUserMappingStmt, servername))),
        NodeTag::T_AlterUserMappingStmt => ("user mapping", user_mapping(field!(AlterUserMappingStmt, user), field!(AlterUserMappingStmt, servername))),
        NodeTag::T_DropUserMappingStmt => ("user mapping", user_mapping(field!(DropUserMappingStmt, user), field!(DropUserMappingStmt, servername))),
        NodeTag::T_ImportForeignSchemaStmt => ("schema", text(field!(ImportForeignSchemaStmt, local_schema))),
        NodeTag::T_CreateStatsStmt => ("statistics object", plain(list(field!(CreateStatsStmt, defnames)))),
        NodeTag::T_AlterStatsStmt => ("statistics object", plain(list(field!(AlterStatsStmt, defnames)))),
        NodeTag::T_CreateConversionStmt => ("conversion", plain(list(field!(CreateConversionStmt, conversion_name)))),
        NodeTag::T_AlterCollationStmt => ("collation", plain(list(field!(AlterCollationStmt, collname)))),
        NodeTag::T_AlterTSDictionaryStmt => ("text search dictionary", plain(list(field!(AlterTSDictionaryStmt, dictname)))),
        NodeTag::T_AlterTSConfigurationStmt => ("text search configuration", plain(list(field!(AlterTSConfigurationStmt, cfgname)))),
        NodeTag::T_CreatePLangStmt => ("language", text(field!(CreatePLangStmt, plname))),
        NodeTag::T_CreateAmStmt => ("access method", text(field!(CreateAmStmt, amname))),
        NodeTag::T_DropdbStmt => ("database", text(field!(DropdbStmt, dbname))),
        NodeTag::T_CreatedbStmt => ("database", text(field!(CreatedbStmt, dbname))),
        NodeTag::T_AlterDatabaseStmt => ("database", text(field!(AlterDatabaseStmt, dbname))),
        NodeTag::T_AlterDatabaseSetStmt => ("database", text(field!(AlterDatabaseSetStmt, dbname))),
        NodeTag::T_AlterDatabaseRefreshCollStmt => ("database", text(field!(AlterDatabaseRefreshCollStmt, dbname))),
        NodeTag::T_CopyStmt => ("table", plain(range_var(field!(CopyStmt, relation)))),
        NodeTag::T_LoadStmt => ("library", text(field!(LoadStmt, filename))),
        NodeTag::T_VariableSetStmt => ("setting", text(field!(VariableSetStmt, name))),
        NodeTag::T_AlterSystemStmt => {
            let set = field!(AlterSystemStmt, setstmt);
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
