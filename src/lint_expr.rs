//! Decisions about RLS policy expressions, made on the stored expression tree (`pg_policy.polqual`
//! and `polwithcheck`, PostgreSQL's `pg_node_tree` text) rather than on the SQL text, so that
//! `1 = 1`, `(true)` and `x OR true` are recognised however they were written.
//!
//! Pure: `parse` reads the node-string format (`{OPEXPR :opno 96 … :args ({CONST …} …)}`) into
//! a small tree; the decisions take that tree plus a [`Catalog`] answering the two questions
//! the tree alone cannot (an operator's name, a function's name and volatility). The glue in
//! `lint.rs` answers them from the syscache; the tests answer them from a table.

use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("the expression is empty")]
    Empty,
    #[error("unexpected \"{0}\" at token {1}")]
    Unexpected(String, usize),
    #[error("the expression ends before its last node is closed")]
    Truncated,
    #[error("text follows the expression at token {0}")]
    Trailing(usize),
}

/// One value of the node-string format, before interpretation.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Raw {
    Node(RawNode),
    List(Vec<Raw>),
    Atom(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct RawNode {
    tag: String,
    fields: Vec<(String, Vec<Raw>)>,
}

impl RawNode {
    fn field(&self, name: &str) -> &[Raw] {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_slice()).unwrap_or(&[])
    }

    fn atom(&self, name: &str) -> Option<&str> {
        match self.field(name).first() {
            Some(Raw::Atom(a)) => Some(a.as_str()),
            _ => None,
        }
    }

    fn number<T: std::str::FromStr>(&self, name: &str) -> Option<T> {
        self.atom(name).and_then(|a| a.parse().ok())
    }
}

/// Splits node-string text into tokens the way PostgreSQL's `pg_strtok` does: braces and
/// parentheses stand alone, everything else runs to the next blank or delimiter, and a
/// backslash makes the next character ordinary (so `\(` inside a name is not a delimiter).
fn tokenize(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if "(){}".contains(c) {
            tokens.push(c.to_string());
            chars.next();
        } else {
            let mut token = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() || "(){}".contains(c) {
                    break;
                }
                chars.next();
                if c == '\\' {
                    if let Some(escaped) = chars.next() {
                        token.push(escaped);
                    }
                } else {
                    token.push(c);
                }
            }
            tokens.push(token);
        }
    }
    tokens
}

struct Parser {
    tokens: Vec<String>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.at).map(String::as_str)
    }

    fn next(&mut self) -> Result<String, ParseError> {
        let token = self.tokens.get(self.at).cloned().ok_or(ParseError::Truncated)?;
        self.at += 1;
        Ok(token)
    }

    fn value(&mut self) -> Result<Raw, ParseError> {
        match self.next()?.as_str() {
            "{" => self.node().map(Raw::Node),
            "(" => {
                let mut items = Vec::new();
                while self.peek() != Some(")") {
                    items.push(self.value()?);
                }
                self.at += 1;
                Ok(Raw::List(items))
            }
            t @ ("}" | ")") => Err(ParseError::Unexpected(t.to_string(), self.at - 1)),
            atom => Ok(Raw::Atom(atom.to_string())),
        }
    }

    /// After `{`: the tag, then `:name value…` pairs until `}`.
    fn node(&mut self) -> Result<RawNode, ParseError> {
        let tag = self.next()?;
        if tag.starts_with(':') || "(){}".contains(tag.as_str()) {
            return Err(ParseError::Unexpected(tag, self.at - 1));
        }
        let mut fields = Vec::new();
        loop {
            match self.peek() {
                None => return Err(ParseError::Truncated),
                Some("}") => {
                    self.at += 1;
                    return Ok(RawNode { tag, fields });
                }
                Some(label) if label.starts_with(':') => {
                    let name = label[1..].to_string();
                    self.at += 1;
                    let mut values = Vec::new();
                    while let Some(t) = self.peek() {
                        if t == "}" || t.starts_with(':') {
                            break;
                        }
                        values.push(self.value()?);
                    }
                    fields.push((name, values));
                }
                Some(other) => return Err(ParseError::Unexpected(other.to_string(), self.at)),
            }
        }
    }
}

/// What kind of node an [`Expr`] is, as far as the decisions care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A literal. `bytes` is the datum as stored (for pass-by-value types, the Datum word).
    Const { type_oid: u32, is_null: bool, len: i32, bytes: Vec<u8> },
    /// A column of the row being checked (`levels_up` 0) or of an enclosing query.
    Var { levels_up: u32 },
    /// A plain operator call (`a = b`, `a < b`).
    Op { opno: u32, funcid: u32 },
    /// A function call, or an operator used in another way (`= ANY`, `IS DISTINCT FROM`,
    /// `NULLIF`): `funcid` is the function that runs.
    Func { funcid: u32 },
    And,
    Or,
    Not,
    NullTest { is_null: bool },
    /// `IS [NOT] TRUE/FALSE/UNKNOWN`, PostgreSQL's BoolTestType numbering.
    BoolTest(u8),
    /// A sub-select: evaluated once per query when uncorrelated (an InitPlan).
    SubLink,
    /// The Query inside a SubLink; variables below it are one level further from the row.
    Query,
    /// Nodes that only carry their children (casts between binary-compatible types, ARRAY[…],
    /// CASE, COALESCE): constant when their children are.
    Transparent,
    /// Anything else (`current_user`, parameters, aggregates…): assumed to depend on the row
    /// or the session.
    Opaque(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expr {
    pub kind: Kind,
    pub args: Vec<Expr>,
}

/// Parses `pg_node_tree` text into an [`Expr`].
pub fn parse(text: &str) -> Result<Expr, ParseError> {
    let mut parser = Parser { tokens: tokenize(text), at: 0 };
    if parser.tokens.is_empty() {
        return Err(ParseError::Empty);
    }
    let raw = parser.value()?;
    if parser.at != parser.tokens.len() {
        return Err(ParseError::Trailing(parser.at));
    }
    match raw {
        Raw::Node(node) => Ok(simplify(&node)),
        Raw::List(_) | Raw::Atom(_) => Err(ParseError::Unexpected(parser.tokens[0].clone(), 0)),
    }
}

/// Every node among `values`, in order, looking inside lists.
fn nodes_in<'a>(values: &'a [Raw], out: &mut Vec<&'a RawNode>) {
    for value in values {
        match value {
            Raw::Node(n) => out.push(n),
            Raw::List(items) => nodes_in(items, out),
            Raw::Atom(_) => {}
        }
    }
}

fn simplify(node: &RawNode) -> Expr {
    let mut children = Vec::new();
    for (_, values) in &node.fields {
        nodes_in(values, &mut children);
    }
    let kind = match node.tag.as_str() {
        "CONST" => Kind::Const {
            type_oid: node.number("consttype").unwrap_or(0),
            is_null: node.atom("constisnull") != Some("false"),
            len: node.number("constlen").unwrap_or(0),
            bytes: const_bytes(node.field("constvalue")),
        },
        "VAR" => Kind::Var { levels_up: node.number("varlevelsup").unwrap_or(0) },
        "OPEXPR" => Kind::Op { opno: node.number("opno").unwrap_or(0), funcid: node.number("opfuncid").unwrap_or(0) },
        "DISTINCTEXPR" | "NULLIFEXPR" | "SCALARARRAYOPEXPR" => Kind::Func { funcid: node.number("opfuncid").unwrap_or(0) },
        "FUNCEXPR" => Kind::Func { funcid: node.number("funcid").unwrap_or(0) },
        "BOOLEXPR" => match node.atom("boolop") {
            Some("and") => Kind::And,
            Some("or") => Kind::Or,
            Some("not") => Kind::Not,
            other => Kind::Opaque(format!("BOOLEXPR {}", other.unwrap_or("?"))),
        },
        "NULLTEST" => Kind::NullTest { is_null: node.atom("nulltesttype") == Some("0") },
        "BOOLEANTEST" => match node.number("booltesttype") {
            Some(t) => Kind::BoolTest(t),
            None => Kind::Opaque(node.tag.clone()),
        },
        "SUBLINK" => Kind::SubLink,
        "QUERY" => Kind::Query,
        "RELABELTYPE" | "ARRAYEXPR" | "CASEEXPR" | "CASEWHEN" | "COALESCEEXPR" => Kind::Transparent,
        other => Kind::Opaque(other.to_string()),
    };
    Expr { kind, args: children.into_iter().map(simplify).collect() }
}

/// `:constvalue 4 [ 1 0 0 0 0 0 0 0 ]` (bytes printed as signed chars) or `<>` for NULL.
fn const_bytes(values: &[Raw]) -> Vec<u8> {
    values
        .iter()
        .filter_map(|v| match v {
            Raw::Atom(a) => Some(a.as_str()),
            _ => None,
        })
        .skip_while(|a| *a != "[")
        .skip(1)
        .take_while(|a| *a != "]")
        .filter_map(|a| a.parse::<i16>().ok())
        .map(|b| b as u8)
        .collect()
}

/// Function volatility, PostgreSQL's `provolatile`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Volatility {
    Immutable,
    Stable,
    Volatile,
}

/// What the decisions need to know from the catalogs.
pub trait Catalog {
    fn operator_name(&self, opno: u32) -> Option<String>;
    /// A function's name and volatility; `None` when it does not exist.
    fn function(&self, funcid: u32) -> Option<(String, Volatility)>;
}

/// What an expression evaluates to, whatever the row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Truth {
    /// TRUE for every row: the policy does not restrict anything.
    AlwaysTrue,
    /// FALSE or NULL for every row: the policy admits nothing.
    AlwaysFalse,
    /// Built only from literals and immutable functions, so the same for every row, but not
    /// worked out here (`lower('A') = 'a'`).
    Constant,
    /// Depends on the row, the session or the database.
    Depends,
}

impl Truth {
    pub fn as_str(self) -> &'static str {
        match self {
            Truth::AlwaysTrue => "always_true",
            Truth::AlwaysFalse => "always_false",
            Truth::Constant => "constant",
            Truth::Depends => "depends",
        }
    }
}

/// Three-valued value of a sub-expression, as far as it is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Value {
    /// Known: TRUE, FALSE or NULL (`None`).
    Known(Option<bool>),
    Constant,
    Depends,
}

const BOOL: u32 = 16;
const INT8: u32 = 20;
const INT2: u32 = 21;
const INT4: u32 = 23;

/// Decides what `expr` evaluates to for every row.
pub fn truth(expr: &Expr, catalog: &dyn Catalog) -> Truth {
    match value(expr, catalog) {
        Value::Known(Some(true)) => Truth::AlwaysTrue,
        Value::Known(_) => Truth::AlwaysFalse,
        Value::Constant => Truth::Constant,
        Value::Depends => Truth::Depends,
    }
}

fn value(expr: &Expr, catalog: &dyn Catalog) -> Value {
    match &expr.kind {
        Kind::Const { type_oid: BOOL, is_null, bytes, .. } => {
            Value::Known(if *is_null { None } else { Some(bytes.first().is_some_and(|b| *b != 0)) })
        }
        Kind::Const { is_null: true, .. } => Value::Known(None),
        Kind::And | Kind::Or => junction(expr, catalog),
        Kind::Not => match expr.args.first().map(|a| value(a, catalog)) {
            Some(Value::Known(b)) => Value::Known(b.map(|b| !b)),
            Some(other) => other,
            None => Value::Depends,
        },
        Kind::NullTest { is_null } => match expr.args.first().map(|a| (a, value(a, catalog))) {
            Some((_, Value::Known(b))) => Value::Known(Some(b.is_none() == *is_null)),
            Some((Expr { kind: Kind::Const { is_null: arg_null, .. }, .. }, _)) => {
                Value::Known(Some(*arg_null == *is_null))
            }
            _ if is_constant(expr, catalog) => Value::Constant,
            _ => Value::Depends,
        },
        Kind::BoolTest(test) => match expr.args.first().map(|a| value(a, catalog)) {
            Some(Value::Known(b)) => Value::Known(Some(match test {
                0 => b == Some(true),
                1 => b != Some(true),
                2 => b == Some(false),
                3 => b != Some(false),
                4 => b.is_none(),
                _ => b.is_some(),
            })),
            _ if is_constant(expr, catalog) => Value::Constant,
            _ => Value::Depends,
        },
        Kind::Op { opno, funcid } if expr.args.len() == 2 => {
            match compare(*opno, *funcid, &expr.args[0], &expr.args[1], catalog) {
                Some(b) => Value::Known(Some(b)),
                None if is_constant(expr, catalog) => Value::Constant,
                None => Value::Depends,
            }
        }
        _ if is_constant(expr, catalog) => Value::Constant,
        _ => Value::Depends,
    }
}

/// AND / OR under SQL's three-valued logic: one FALSE decides an AND, one TRUE decides an OR.
fn junction(expr: &Expr, catalog: &dyn Catalog) -> Value {
    let deciding = expr.kind == Kind::Or;
    let values: Vec<Value> = expr.args.iter().map(|a| value(a, catalog)).collect();
    if values.contains(&Value::Known(Some(deciding))) {
        return Value::Known(Some(deciding));
    }
    if values.iter().all(|v| *v == Value::Known(Some(!deciding))) {
        return Value::Known(Some(!deciding));
    }
    if values.iter().all(|v| matches!(v, Value::Known(_))) {
        // only the other truth value and NULLs: NULL
        return Value::Known(None);
    }
    if values.iter().all(|v| matches!(v, Value::Known(_) | Value::Constant)) {
        Value::Constant
    } else {
        Value::Depends
    }
}

fn strip_relabel(expr: &Expr) -> &Expr {
    match (&expr.kind, expr.args.as_slice()) {
        (Kind::Transparent, [only]) => strip_relabel(only),
        _ => expr,
    }
}

/// Compares two literals with an immutable comparison operator: equal literals of one type
/// (byte for byte) and integers of any width. `None` when it cannot tell.
fn compare(opno: u32, funcid: u32, left: &Expr, right: &Expr, catalog: &dyn Catalog) -> Option<bool> {
    let (Kind::Const { type_oid: lt, is_null: false, len: llen, bytes: lb }, Kind::Const { type_oid: rt, is_null: false, len: rlen, bytes: rb }) =
        (&strip_relabel(left).kind, &strip_relabel(right).kind)
    else {
        return None;
    };
    if catalog.function(funcid).map(|(_, v)| v) != Some(Volatility::Immutable) {
        return None;
    }
    let ordering = match (integer(*lt, *llen, lb), integer(*rt, *rlen, rb)) {
        (Some(l), Some(r)) => l.cmp(&r),
        _ if lt == rt && lb == rb => std::cmp::Ordering::Equal,
        _ => return None,
    };
    // Only integers are ordered here; other literals reach this point only when identical.
    use std::cmp::Ordering::*;
    match catalog.operator_name(opno)?.as_str() {
        "=" => Some(ordering == Equal),
        "<>" => Some(ordering != Equal),
        "<" => Some(ordering == Less),
        ">" => Some(ordering == Greater),
        "<=" => Some(ordering != Greater),
        ">=" => Some(ordering != Less),
        _ => None,
    }
}

/// An int2/int4/int8 literal's value. Pass-by-value datums are stored in native byte order;
/// every platform PostgreSQL 15 builds on for us is little-endian.
fn integer(type_oid: u32, len: i32, bytes: &[u8]) -> Option<i64> {
    let width = match (type_oid, len) {
        (INT2, 2) => 2,
        (INT4, 4) => 4,
        (INT8, 8) => 8,
        _ => return None,
    };
    let raw = bytes.get(..width)?;
    let mut word = [0u8; 8];
    word[..width].copy_from_slice(raw);
    let unsigned = u64::from_le_bytes(word);
    let shift = 64 - 8 * width as u32;
    Some(((unsigned << shift) as i64) >> shift)
}

/// Built only from literals and immutable operators and functions.
fn is_constant(expr: &Expr, catalog: &dyn Catalog) -> bool {
    let node_ok = match &expr.kind {
        Kind::Const { .. } | Kind::And | Kind::Or | Kind::Not | Kind::NullTest { .. } | Kind::BoolTest(_) | Kind::Transparent => true,
        Kind::Op { funcid, .. } | Kind::Func { funcid } => {
            catalog.function(*funcid).map(|(_, v)| v) == Some(Volatility::Immutable)
        }
        Kind::Var { .. } | Kind::SubLink | Kind::Query | Kind::Opaque(_) => false,
    };
    node_ok && expr.args.iter().all(|a| is_constant(a, catalog))
}

/// Does the expression read a column of the row it is checking (directly or from a correlated
/// sub-select)? A check that does not cannot constrain the values written.
pub fn references_row(expr: &Expr) -> bool {
    fn walk(expr: &Expr, depth: u32) -> bool {
        match expr.kind {
            Kind::Var { levels_up } if levels_up == depth => true,
            Kind::Query => expr.args.iter().any(|a| walk(a, depth + 1)),
            _ => expr.args.iter().any(|a| walk(a, depth)),
        }
    }
    walk(expr, 0)
}

/// Non-immutable functions the policy calls once per row although their arguments do not
/// depend on the row (`current_setting('app.tenant')`, `auth.uid()`): written as a sub-select,
/// `(SELECT current_setting('app.tenant'))`, PostgreSQL evaluates them once per query.
/// Names are sorted and unique.
pub fn per_row_calls(expr: &Expr, catalog: &dyn Catalog) -> Vec<String> {
    fn walk(expr: &Expr, catalog: &dyn Catalog, out: &mut Vec<String>) {
        match expr.kind {
            // a sub-select is already evaluated once per query (or correlated, which a
            // wrapper would not fix)
            Kind::Query => {}
            Kind::Func { funcid } => match catalog.function(funcid) {
                Some((name, volatility)) if volatility != Volatility::Immutable && !row_or_subquery(expr) => {
                    out.push(name)
                }
                _ => expr.args.iter().for_each(|a| walk(a, catalog, out)),
            },
            _ => expr.args.iter().for_each(|a| walk(a, catalog, out)),
        }
    }
    fn row_or_subquery(expr: &Expr) -> bool {
        matches!(expr.kind, Kind::Var { .. } | Kind::SubLink) || expr.args.iter().any(row_or_subquery)
    }
    let mut out = Vec::new();
    walk(expr, catalog, &mut out);
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// The built-in operators and functions the sample trees below use.
    struct Fake {
        operators: HashMap<u32, &'static str>,
        functions: HashMap<u32, (&'static str, Volatility)>,
    }

    impl Catalog for Fake {
        fn operator_name(&self, opno: u32) -> Option<String> {
            self.operators.get(&opno).map(|s| s.to_string())
        }
        fn function(&self, funcid: u32) -> Option<(String, Volatility)> {
            self.functions.get(&funcid).map(|(n, v)| (n.to_string(), *v))
        }
    }

    fn catalog() -> Fake {
        use Volatility::*;
        Fake {
            operators: HashMap::from([(96, "="), (98, "="), (521, ">"), (97, "<"), (518, "<>"), (15, "=")]),
            functions: HashMap::from([
                (65, ("int4eq", Immutable)),
                (67, ("texteq", Immutable)),
                (147, ("int4gt", Immutable)),
                (66, ("int4lt", Immutable)),
                (144, ("int4ne", Immutable)),
                (852, ("int48eq", Immutable)),
                (2077, ("current_setting", Stable)),
                (870, ("lower", Immutable)),
                (1299, ("now", Stable)),
                (9999, ("tenant_of", Stable)),
            ]),
        }
    }

    fn int4(v: i32) -> String {
        let b = v.to_le_bytes();
        format!(
            "{{CONST :consttype 23 :consttypmod -1 :constcollid 0 :constlen 4 :constbyval true :constisnull false :location 1 :constvalue 4 [ {} {} {} {} 0 0 0 0 ]}}",
            b[0] as i8, b[1] as i8, b[2] as i8, b[3] as i8
        )
    }

    const TRUE: &str = "{CONST :consttype 16 :consttypmod -1 :constcollid 0 :constlen 1 :constbyval true :constisnull false :location 87 :constvalue 1 [ 1 0 0 0 0 0 0 0 ]}";
    const FALSE: &str = "{CONST :consttype 16 :consttypmod -1 :constcollid 0 :constlen 1 :constbyval true :constisnull false :location 87 :constvalue 1 [ 0 0 0 0 0 0 0 0 ]}";
    const NULL_BOOL: &str = "{CONST :consttype 16 :consttypmod -1 :constcollid 0 :constlen 1 :constbyval true :constisnull true :location 3 :constvalue <>}";
    const TEXT_A: &str = "{CONST :consttype 25 :consttypmod -1 :constcollid 100 :constlen -1 :constbyval false :constisnull false :location 40 :constvalue 5 [ 20 0 0 0 97 ]}";
    const TEXT_B: &str = "{CONST :consttype 25 :consttypmod -1 :constcollid 100 :constlen -1 :constbyval false :constisnull false :location 40 :constvalue 5 [ 20 0 0 0 98 ]}";
    const VAR_TENANT: &str = "{VAR :varno 1 :varattno 2 :vartype 23 :vartypmod -1 :varcollid 0 :varlevelsup 0 :varnosyn 1 :varattnosyn 2 :location 37}";
    /// `current_setting('app.tenant')::int`, as PostgreSQL stores it.
    const SETTING_INT: &str = "{COERCEVIAIO :arg {FUNCEXPR :funcid 2077 :funcresulttype 25 :funcretset false :funcvariadic false :funcformat 0 :funccollid 100 :inputcollid 100 :args ({CONST :consttype 25 :consttypmod -1 :constcollid 100 :constlen -1 :constbyval false :constisnull false :location 65 :constvalue 14 [ 56 0 0 0 97 112 112 46 116 101 110 97 110 116 ]}) :location 49} :resulttype 23 :resultcollid 0 :coerceformat 1 :location 78}";

    fn op(opno: u32, funcid: u32, l: &str, r: &str) -> String {
        format!("{{OPEXPR :opno {opno} :opfuncid {funcid} :opresulttype 16 :opretset false :opcollid 0 :inputcollid 0 :args ({l} {r}) :location 41}}")
    }

    fn boolexpr(op: &str, args: &[&str]) -> String {
        format!("{{BOOLEXPR :boolop {op} :args ({}) :location 84}}", args.join(" "))
    }

    fn truth_of(text: &str) -> Truth {
        truth(&parse(text).expect("parses"), &catalog())
    }

    #[test]
    fn literal_true_and_false() {
        assert_eq!(truth_of(TRUE), Truth::AlwaysTrue);
        assert_eq!(truth_of(FALSE), Truth::AlwaysFalse);
        assert_eq!(truth_of(NULL_BOOL), Truth::AlwaysFalse);
    }

    #[test]
    fn one_equals_one_as_stored_by_postgres() {
        // CREATE POLICY p1 ON t FOR UPDATE USING (1=1): the exact polqual PostgreSQL 15 stores.
        let stored = "{OPEXPR :opno 96 :opfuncid 65 :opresulttype 16 :opretset false :opcollid 0 :inputcollid 0 :args ({CONST :consttype 23 :consttypmod -1 :constcollid 0 :constlen 4 :constbyval true :constisnull false :location 40 :constvalue 4 [ 1 0 0 0 0 0 0 0 ]} {CONST :consttype 23 :consttypmod -1 :constcollid 0 :constlen 4 :constbyval true :constisnull false :location 42 :constvalue 4 [ 1 0 0 0 0 0 0 0 ]}) :location 41}";
        assert_eq!(truth_of(stored), Truth::AlwaysTrue);
        assert_eq!(truth_of(&op(96, 65, &int4(1), &int4(2))), Truth::AlwaysFalse);
        assert_eq!(truth_of(&op(518, 144, &int4(1), &int4(2))), Truth::AlwaysTrue);
    }

    #[test]
    fn integer_comparisons_including_negative_numbers() {
        assert_eq!(truth_of(&op(521, 147, &int4(2), &int4(1))), Truth::AlwaysTrue);
        assert_eq!(truth_of(&op(521, 147, &int4(-5), &int4(1))), Truth::AlwaysFalse);
        assert_eq!(truth_of(&op(97, 66, &int4(-5), &int4(-4))), Truth::AlwaysTrue);
        assert_eq!(truth_of(&op(97, 66, &int4(300), &int4(299))), Truth::AlwaysFalse);
    }

    #[test]
    fn equal_text_literals() {
        assert_eq!(truth_of(&op(98, 67, TEXT_A, TEXT_A)), Truth::AlwaysTrue);
        assert_eq!(truth_of(&op(98, 67, TEXT_A, TEXT_B)), Truth::Constant, "different text: not worked out, but constant");
    }

    #[test]
    fn or_with_true_is_true_and_and_with_false_is_false() {
        let tenant = op(96, 65, VAR_TENANT, SETTING_INT);
        assert_eq!(truth_of(&tenant), Truth::Depends);
        assert_eq!(truth_of(&boolexpr("or", &[&tenant, TRUE])), Truth::AlwaysTrue);
        assert_eq!(truth_of(&boolexpr("and", &[&tenant, TRUE])), Truth::Depends);
        assert_eq!(truth_of(&boolexpr("and", &[&tenant, FALSE])), Truth::AlwaysFalse);
        assert_eq!(truth_of(&boolexpr("and", &[TRUE, &op(96, 65, &int4(3), &int4(3))])), Truth::AlwaysTrue);
        assert_eq!(truth_of(&boolexpr("not", &[FALSE])), Truth::AlwaysTrue);
        assert_eq!(truth_of(&boolexpr("not", &[NULL_BOOL])), Truth::AlwaysFalse);
        assert_eq!(truth_of(&boolexpr("or", &[FALSE, NULL_BOOL])), Truth::AlwaysFalse);
    }

    #[test]
    fn null_tests_on_literals() {
        let unknown_null = "{NULLTEST :arg {CONST :consttype 705 :consttypmod -1 :constcollid 0 :constlen -2 :constbyval false :constisnull true :location 78 :constvalue <>} :nulltesttype 0 :argisrow false :location 83}";
        assert_eq!(truth_of(unknown_null), Truth::AlwaysTrue);
        let not_null = format!("{{NULLTEST :arg {TEXT_A} :nulltesttype 1 :argisrow false :location 83}}");
        assert_eq!(truth_of(&not_null), Truth::AlwaysTrue);
        let column_null = format!("{{NULLTEST :arg {VAR_TENANT} :nulltesttype 0 :argisrow false :location 83}}");
        assert_eq!(truth_of(&column_null), Truth::Depends);
        let is_true = format!("{{BOOLEANTEST :arg {TRUE} :booltesttype 0 :location 5}}");
        assert_eq!(truth_of(&is_true), Truth::AlwaysTrue);
        let null_is_not_false = format!("{{BOOLEANTEST :arg {NULL_BOOL} :booltesttype 3 :location 5}}");
        assert_eq!(truth_of(&null_is_not_false), Truth::AlwaysTrue);
    }

    #[test]
    fn immutable_constant_expressions_are_constant() {
        let lower_a = format!("{{FUNCEXPR :funcid 870 :funcresulttype 25 :funcretset false :funcvariadic false :funcformat 0 :funccollid 100 :inputcollid 100 :args ({TEXT_A}) :location 1}}");
        assert_eq!(truth_of(&op(98, 67, &lower_a, TEXT_A)), Truth::Constant);
        // current_setting is stable: the session decides, not a constant
        let setting = op(96, 65, SETTING_INT, &int4(1));
        assert_eq!(truth_of(&setting), Truth::Depends);
        // an operator whose function we do not know is not assumed immutable
        assert_eq!(truth_of(&op(96, 4242, &int4(1), &int4(1))), Truth::Depends);
    }

    #[test]
    fn row_references() {
        assert!(references_row(&parse(&op(96, 65, VAR_TENANT, SETTING_INT)).unwrap()));
        assert!(!references_row(&parse(SETTING_INT).unwrap()));
        // a Var inside a sub-select refers to the sub-select's own table, unless correlated
        let sub = |levels: u32| {
            format!("{{SUBLINK :subLinkType 0 :subLinkId 0 :testexpr <> :operName <> :subselect {{QUERY :commandType 1 :jointree {{FROMEXPR :fromlist <> :quals {{VAR :varno 1 :varattno 1 :vartype 23 :vartypmod -1 :varcollid 0 :varlevelsup {levels} :varnosyn 1 :varattnosyn 1 :location 1}}}}}} :location 1}}")
        };
        assert!(!references_row(&parse(&sub(0)).unwrap()));
        assert!(references_row(&parse(&sub(1)).unwrap()));
    }

    #[test]
    fn per_row_calls_outside_sub_selects() {
        let cat = catalog();
        let tenant = parse(&op(96, 65, VAR_TENANT, SETTING_INT)).unwrap();
        assert_eq!(per_row_calls(&tenant, &cat), vec!["current_setting".to_string()]);
        // (SELECT current_setting('x')) = 'a': already once per query, as PostgreSQL stores it
        let wrapped = "{OPEXPR :opno 98 :opfuncid 67 :opresulttype 16 :opretset false :opcollid 0 :inputcollid 100 :args ({SUBLINK :subLinkType 4 :subLinkId 0 :testexpr <> :operName <> :subselect {QUERY :commandType 1 :querySource 0 :canSetTag true :utilityStmt <> :resultRelation 0 :hasAggs false :rtable <> :jointree {FROMEXPR :fromlist <> :quals <>} :targetList ({TARGETENTRY :expr {FUNCEXPR :funcid 2077 :funcresulttype 25 :funcretset false :funcvariadic false :funcformat 0 :funccollid 100 :inputcollid 100 :args ({CONST :consttype 25 :consttypmod -1 :constcollid 100 :constlen -1 :constbyval false :constisnull false :location 129 :constvalue 5 [ 20 0 0 0 120 ]}) :location 113} :resno 1 :resname current_setting :ressortgroupref 0 :resorigtbl 0 :resorigcol 0 :resjunk false}) :override 0 :onConflict <>} :location 105} {CONST :consttype 25 :consttypmod -1 :constcollid 100 :constlen -1 :constbyval false :constisnull false :location 137 :constvalue 5 [ 20 0 0 0 97 ]}) :location 135}";
        assert_eq!(truth_of(wrapped), Truth::Depends);
        assert!(per_row_calls(&parse(wrapped).unwrap(), &cat).is_empty());
        // a stable function of a column must run per row: nothing to wrap
        let of_column = format!("{{FUNCEXPR :funcid 9999 :funcresulttype 23 :funcretset false :funcvariadic false :funcformat 0 :funccollid 0 :inputcollid 0 :args ({VAR_TENANT}) :location 1}}");
        assert!(per_row_calls(&parse(&of_column).unwrap(), &cat).is_empty());
        let two = op(521, 147, &format!("{{FUNCEXPR :funcid 1299 :args <> :location 1}}"), SETTING_INT);
        assert_eq!(per_row_calls(&parse(&two).unwrap(), &cat), vec!["current_setting".to_string(), "now".to_string()]);
    }

    #[test]
    fn escaped_delimiters_do_not_break_the_structure() {
        let odd = "{FUNCEXPR :funcid 1 :alias a\\(b\\}c :args ({CONST :consttype 16 :constlen 1 :constisnull false :constvalue 1 [ 1 0 0 0 0 0 0 0 ]})}";
        let e = parse(odd).unwrap();
        assert_eq!(e.args.len(), 1);
        assert_eq!(tokenize("a\\ b c"), vec!["a b".to_string(), "c".to_string()]);
    }

    #[test]
    fn malformed_text_is_an_error_not_a_panic() {
        assert_eq!(parse(""), Err(ParseError::Empty));
        assert_eq!(parse("{CONST :consttype 16"), Err(ParseError::Truncated));
        assert!(matches!(parse("{CONST} x"), Err(ParseError::Trailing(_))));
        assert!(matches!(parse("}"), Err(ParseError::Unexpected(..))));
        assert!(matches!(parse("true"), Err(ParseError::Unexpected(..))));
        assert!(matches!(parse("{:x 1}"), Err(ParseError::Unexpected(..))));
        assert!(matches!(parse("(1 2)"), Err(ParseError::Unexpected(..))));
    }
}
