//! How the objects a utility statement names are written in audit rows and messages, from plain
//! data read off the parse tree (`pg/objects.rs` does the reading). Pure and total: every shape of
//! name renders to something or to nothing, never to an error. A statement we merely classify
//! must never fail because of how we describe it (PostgreSQL's `NameListToString` raises on a
//! list of type names, which is what `DROP CAST (text AS t)` carries).

use pgrx::pg_sys;

/// A name as a parse tree holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Name {
    /// An identifier (a `String` node, a role, a relation part).
    Ident(String),
    /// `*` in a name list.
    Star,
    /// A number where a name goes (large objects are named by oid).
    Number(String),
    /// A type name; its qualified name (empty when the type is given only by oid).
    Type(Vec<Name>),
    /// A list: a qualified name, or a compound one whose meaning the object kind gives.
    List(Vec<Name>),
    /// A node we do not describe.
    Unknown,
}

/// How a compound name (a list whose parts are not one qualified name) reads, by object kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A qualified name: `schema.object`.
    Plain,
    /// `(source AS target)`: casts.
    Cast,
    /// `FOR type LANGUAGE lang`: transforms.
    Transform,
    /// `[access method, name…]`: operator classes and families.
    UsingAccessMethod,
    /// `[relation…, name]`: policies, triggers, rules, table constraints.
    OnRelation,
    /// `[type, name]`: domain constraints.
    OnDomain,
}

pub fn shape_of(kind: pg_sys::ObjectType::Type) -> Shape {
    use pg_sys::ObjectType::*;
    match kind {
        OBJECT_CAST => Shape::Cast,
        OBJECT_TRANSFORM => Shape::Transform,
        OBJECT_OPCLASS | OBJECT_OPFAMILY => Shape::UsingAccessMethod,
        OBJECT_POLICY | OBJECT_TRIGGER | OBJECT_RULE | OBJECT_TABCONSTRAINT => Shape::OnRelation,
        OBJECT_DOMCONSTRAINT => Shape::OnDomain,
        _ => Shape::Plain,
    }
}

/// The text of a name, read as `shape` says; None when there is nothing to say.
pub fn render(name: &Name, shape: Shape) -> Option<String> {
    match name {
        Name::Ident(text) | Name::Number(text) => Some(text.clone()),
        Name::Star => Some("*".to_string()),
        Name::Type(parts) => dotted(parts),
        Name::List(parts) => render_list(parts, shape),
        Name::Unknown => None,
    }
}

fn render_list(parts: &[Name], shape: Shape) -> Option<String> {
    shaped(parts, shape).or_else(|| dotted(parts)).or_else(|| {
        // not one qualified name (a shape this does not know): list what can be said
        let known: Vec<String> = parts.iter().filter_map(|part| render(part, Shape::Plain)).collect();
        (!known.is_empty()).then(|| known.join(", "))
    })
}

/// A compound name as its kind reads it, when it has that kind's shape.
fn shaped(parts: &[Name], shape: Shape) -> Option<String> {
    let plain = |part: &Name| render(part, Shape::Plain);
    match (shape, parts) {
        (Shape::Cast, [source, target]) => Some(format!("({} AS {})", plain(source)?, plain(target)?)),
        (Shape::Transform, [ty, language]) => Some(format!("FOR {} LANGUAGE {}", plain(ty)?, plain(language)?)),
        (Shape::UsingAccessMethod, [method, name @ ..]) if !name.is_empty() => {
            Some(format!("{} USING {}", dotted(name)?, plain(method)?))
        }
        (Shape::OnRelation, [relation @ .., name]) if !relation.is_empty() => {
            Some(format!("{} ON {}", plain(name)?, dotted(relation)?))
        }
        (Shape::OnDomain, [domain, name]) => Some(format!("{} ON DOMAIN {}", plain(name)?, plain(domain)?)),
        _ => None,
    }
}

/// `a.b.c` when every part is a plain identifier (or `*`).
fn dotted(parts: &[Name]) -> Option<String> {
    let mut text = Vec::with_capacity(parts.len());
    for part in parts {
        match part {
            Name::Ident(t) => text.push(t.as_str()),
            Name::Star => text.push("*"),
            _ => return None,
        }
    }
    (!text.is_empty()).then(|| text.join("."))
}

/// Several names (`DROP TABLE a, b`): each as `shape` says, those that say something.
pub fn render_all(names: &[Name], shape: Shape) -> Option<String> {
    let rendered: Vec<String> = names.iter().filter_map(|n| render(n, shape)).collect();
    (!rendered.is_empty()).then(|| rendered.join(", "))
}

/// The audit row's `object_type` for a PostgreSQL object kind, in PostgreSQL's own words.
pub fn kind_of(object_type: pg_sys::ObjectType::Type) -> &'static str {
    use pg_sys::ObjectType::*;
    match object_type {
        OBJECT_ACCESS_METHOD => "access method",
        OBJECT_AGGREGATE => "aggregate",
        OBJECT_AMOP => "operator of access method",
        OBJECT_AMPROC => "function of access method",
        OBJECT_ATTRIBUTE => "attribute",
        OBJECT_CAST => "cast",
        OBJECT_COLUMN => "column",
        OBJECT_COLLATION => "collation",
        OBJECT_CONVERSION => "conversion",
        OBJECT_DATABASE => "database",
        OBJECT_DEFAULT => "default value",
        OBJECT_DEFACL => "default privileges",
        // kept as "type": audit rows before this version say so for domains
        OBJECT_TYPE | OBJECT_DOMAIN => "type",
        OBJECT_DOMCONSTRAINT => "domain constraint",
        OBJECT_EVENT_TRIGGER => "event trigger",
        OBJECT_EXTENSION => "extension",
        OBJECT_FDW => "foreign-data wrapper",
        OBJECT_FOREIGN_SERVER => "server",
        OBJECT_FOREIGN_TABLE => "foreign table",
        OBJECT_FUNCTION | OBJECT_ROUTINE => "function",
        OBJECT_INDEX => "index",
        OBJECT_LANGUAGE => "language",
        OBJECT_LARGEOBJECT => "large object",
        OBJECT_MATVIEW => "materialized view",
        OBJECT_OPCLASS => "operator class",
        OBJECT_OPERATOR => "operator",
        OBJECT_OPFAMILY => "operator family",
        OBJECT_PARAMETER_ACL => "parameter",
        OBJECT_POLICY => "policy",
        OBJECT_PROCEDURE => "procedure",
        OBJECT_PUBLICATION => "publication",
        OBJECT_PUBLICATION_NAMESPACE => "publication namespace",
        OBJECT_PUBLICATION_REL => "publication relation",
        OBJECT_ROLE => "role",
        OBJECT_RULE => "rule",
        OBJECT_SCHEMA => "schema",
        OBJECT_SEQUENCE => "sequence",
        OBJECT_SUBSCRIPTION => "subscription",
        OBJECT_STATISTIC_EXT => "statistics object",
        OBJECT_TABCONSTRAINT => "table constraint",
        OBJECT_TABLE => "table",
        OBJECT_TABLESPACE => "tablespace",
        OBJECT_TRANSFORM => "transform",
        OBJECT_TRIGGER => "trigger",
        OBJECT_TSCONFIGURATION => "text search configuration",
        OBJECT_TSDICTIONARY => "text search dictionary",
        OBJECT_TSPARSER => "text search parser",
        OBJECT_TSTEMPLATE => "text search template",
        OBJECT_USER_MAPPING => "user mapping",
        OBJECT_VIEW => "view",
        _ => "object",
    }
}

/// A role given by keyword (`GRANT … TO CURRENT_USER`) rather than by name.
pub fn role_keyword(role_type: pg_sys::RoleSpecType::Type) -> &'static str {
    use pg_sys::RoleSpecType::*;
    match role_type {
        ROLESPEC_CURRENT_ROLE => "CURRENT_ROLE",
        ROLESPEC_CURRENT_USER => "CURRENT_USER",
        ROLESPEC_SESSION_USER => "SESSION_USER",
        ROLESPEC_PUBLIC => "PUBLIC",
        _ => "?",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pg_sys::ObjectType::*;
    use Name::*;

    fn id(s: &str) -> Name {
        Ident(s.to_string())
    }
    fn ty(parts: &[&str]) -> Name {
        Type(parts.iter().map(|p| id(p)).collect())
    }
    fn names(parts: &[&str]) -> Name {
        List(parts.iter().map(|p| id(p)).collect())
    }

    #[test]
    fn qualified_names_are_dotted() {
        assert_eq!(render(&names(&["orders", "ledger"]), Shape::Plain).as_deref(), Some("orders.ledger"));
        assert_eq!(render(&List(vec![id("s"), Star]), Shape::Plain).as_deref(), Some("s.*"));
        assert_eq!(render(&ty(&["pg_catalog", "int4"]), Shape::Plain).as_deref(), Some("pg_catalog.int4"));
        assert_eq!(render(&Number("4711".into()), Shape::Plain).as_deref(), Some("4711"));
    }

    #[test]
    fn casts_and_transforms_name_their_types() {
        // DROP CAST (text AS casttesttype): a list of two type names
        let cast = List(vec![ty(&["text"]), ty(&["public", "casttesttype"])]);
        assert_eq!(render(&cast, shape_of(OBJECT_CAST)).as_deref(), Some("(text AS public.casttesttype)"));
        // DROP TRANSFORM FOR int LANGUAGE sql: a type name and a string
        let transform = List(vec![ty(&["int4"]), id("sql")]);
        assert_eq!(render(&transform, shape_of(OBJECT_TRANSFORM)).as_deref(), Some("FOR int4 LANGUAGE sql"));
    }

    #[test]
    fn compound_names_read_by_kind() {
        let opclass = names(&["btree", "public", "my_ops"]);
        assert_eq!(render(&opclass, shape_of(OBJECT_OPFAMILY)).as_deref(), Some("public.my_ops USING btree"));
        let policy = names(&["orders", "lines", "own_rows"]);
        assert_eq!(render(&policy, shape_of(OBJECT_POLICY)).as_deref(), Some("own_rows ON orders.lines"));
        let domain_constraint = List(vec![ty(&["posint"]), id("positive")]);
        assert_eq!(render(&domain_constraint, shape_of(OBJECT_DOMCONSTRAINT)).as_deref(), Some("positive ON DOMAIN posint"));
        // a column is a qualified name
        assert_eq!(render(&names(&["t", "c"]), shape_of(OBJECT_COLUMN)).as_deref(), Some("t.c"));
    }

    #[test]
    fn unexpected_shapes_never_fail() {
        // a list of type names where a qualified name was expected
        let odd = List(vec![ty(&["text"]), ty(&["int4"]), Unknown]);
        assert_eq!(render(&odd, Shape::Plain).as_deref(), Some("text, int4"));
        // a cast list of the wrong length, an empty list, unknown nodes
        assert_eq!(render(&List(vec![ty(&["text"])]), Shape::Cast).as_deref(), Some("text"));
        assert_eq!(render(&List(vec![]), Shape::Cast), None);
        assert_eq!(render(&List(vec![Unknown]), Shape::OnRelation), None);
        assert_eq!(render(&Unknown, Shape::Plain), None);
        assert_eq!(render(&ty(&[]), Shape::Plain), None);
        assert_eq!(render(&List(vec![id("only_a_name")]), Shape::OnRelation).as_deref(), Some("only_a_name"));
        assert_eq!(render(&List(vec![id("am")]), Shape::UsingAccessMethod).as_deref(), Some("am"));
        assert_eq!(render(&List(vec![Unknown, id("x")]), Shape::Cast).as_deref(), Some("x"));
    }

    #[test]
    fn several_names() {
        let drop = [names(&["a"]), Unknown, names(&["s", "b"])];
        assert_eq!(render_all(&drop, Shape::Plain).as_deref(), Some("a, s.b"));
        assert_eq!(render_all(&[Unknown], Shape::Plain), None);
    }

    #[test]
    fn every_object_kind_has_a_name() {
        for kind in OBJECT_ACCESS_METHOD..=OBJECT_VIEW {
            assert_ne!(kind_of(kind), "object", "ObjectType {kind}");
        }
    }
}
