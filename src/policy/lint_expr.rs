//! Decisions about RLS policy expressions, made on the stored expression tree (`pg_policy.polqual`
//! and `polwithcheck`) rather than on the SQL text, so that `1 = 1`, `(true)` and `x OR true`
//! are recognised however they were written.
//!
//! Pure: the glue in `pg/policy_expr.rs` reads the stored tree with PostgreSQL's own reader
//! (`stringToNode`, which checks the stack depth) and walks the real nodes into an [`Expr`];
//! the decisions take that plus a [`Catalog`] answering the two questions the tree alone cannot
//! (an operator's name, a function's name and volatility). The tests answer them from a table.
//!
//! An [`Expr`] is a flat vector in post-order (every node after its arguments, the root last),
//! so each decision is a loop over it: a policy nested as deeply as PostgreSQL accepts cannot
//! exhaust the stack here, and dropping the tree does not recurse either.

use thiserror::Error;

/// Index of a node in its [`Expr`].
pub type NodeId = usize;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum TreeError {
    /// Arguments must be added before the node that takes them: this is what makes the vector
    /// a post-order tree, without cycles.
    #[error("argument {0} of a node is not a node added before it")]
    NotBefore(NodeId),
    #[error("node {0} is already the argument of another node")]
    Shared(NodeId),
}

/// What kind of node an expression node is, as far as the decisions care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A literal. `bytes` is the datum as stored (for pass-by-value types, the Datum word in
    /// little-endian order).
    Const { type_oid: u32, is_null: bool, len: i32, bytes: Vec<u8> },
    /// A column of the row being checked (`levels_up` 0) or of an enclosing query; `varno` and
    /// `attno` tell columns apart (`a = a` is not `a = b`).
    Var { levels_up: u32, varno: u32, attno: i16 },
    /// A value of the session that is the same for every row (`current_user`, `session_user`,
    /// `current_date`): never NULL unless `may_be_null` (`current_schema`). `name` tells them
    /// apart.
    SessionValue { name: String, may_be_null: bool },
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
    /// The Query inside a SubLink (or a sub-select in FROM); variables below it are one level
    /// further from the row.
    Query,
    /// Nodes that only carry their children (casts between binary-compatible types, ARRAY[…]):
    /// constant when their children are.
    Transparent,
    /// A cast through the types' text forms (`current_setting('x')::int`): NULL exactly when
    /// its argument is; `to_type` tells casts apart.
    Cast { to_type: u32 },
    /// `COALESCE(a, b, …)`: the first argument that is not NULL.
    Coalesce,
    /// `CASE [arg] WHEN c1 THEN r1 … ELSE default END`, with its arguments as PostgreSQL's
    /// walker lists them: the optional `arg` first (`has_arg`), then each condition and its
    /// result, then the default (PostgreSQL stores a NULL when ELSE is absent).
    Case { has_arg: bool },
    /// Anything else (`current_user`, parameters, aggregates…): assumed to depend on the row
    /// or the session. The name is for debugging only.
    Opaque(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub kind: Kind,
    pub args: Vec<NodeId>,
}

/// An expression tree in post-order; the last node is the root.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expr {
    nodes: Vec<Node>,
    /// Whether each node is already some node's argument (a tree, not a graph).
    used: Vec<bool>,
}

impl Expr {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a node taking `args`, which must be nodes added before and not yet taken by
    /// another node. Returns the new node's id.
    pub fn push(&mut self, kind: Kind, args: Vec<NodeId>) -> Result<NodeId, TreeError> {
        let id = self.nodes.len();
        for (n, &arg) in args.iter().enumerate() {
            let problem = if arg >= id {
                Some(TreeError::NotBefore(arg))
            } else if self.used[arg] {
                Some(TreeError::Shared(arg))
            } else {
                None
            };
            if let Some(problem) = problem {
                for &taken in &args[..n] {
                    self.used[taken] = false;
                }
                return Err(problem);
            }
            self.used[arg] = true;
        }
        self.nodes.push(Node { kind, args });
        self.used.push(false);
        Ok(id)
    }

    fn len(&self) -> usize {
        self.nodes.len()
    }

    fn root(&self) -> Option<NodeId> {
        self.nodes.len().checked_sub(1)
    }

    /// Which nodes are reachable from the root, going down only through nodes for which
    /// `descend` says yes (children of a node appear before it, so one backward pass does).
    fn reached(&self, mut descend: impl FnMut(NodeId, &Node) -> bool) -> Vec<bool> {
        let mut reached = vec![false; self.nodes.len()];
        if let Some(root) = self.root() {
            reached[root] = true;
        }
        for id in (0..self.nodes.len()).rev() {
            if reached[id] && descend(id, &self.nodes[id]) {
                for &arg in &self.nodes[id].args {
                    reached[arg] = true;
                }
            }
        }
        reached
    }
}

/// Function volatility, PostgreSQL's `provolatile`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Volatility {
    Immutable,
    Stable,
    Volatile,
}

/// What the decisions need to know about a function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    pub name: String,
    pub volatility: Volatility,
    /// `proisstrict`: NULL for any NULL argument, without being called.
    pub strict: bool,
    /// One of PostgreSQL's own (in pg_catalog, from initdb), so its name says what it does.
    pub builtin: bool,
}

/// What the decisions need to know from the catalogs.
pub trait Catalog {
    fn operator_name(&self, opno: u32) -> Option<String>;
    /// A function's facts; `None` when it does not exist.
    fn function(&self, funcid: u32) -> Option<Function>;
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

/// The outcomes a sub-expression can have, over every row and session: a set of TRUE, FALSE,
/// NULL and "a value that is not a boolean". Each node's set is worked out from its
/// arguments' sets, treating arguments as independent, so it holds at least every outcome
/// the node can really have: an expression whose set is {TRUE} is true for every row, however
/// it is spelled (`true`, `1 = 1`, `current_user IS NOT NULL`, `x OR true`, `NOT false`,
/// `coalesce(NULL, true)`, `current_user = current_user`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Outcomes(u8);

impl Outcomes {
    const TRUE: Outcomes = Outcomes(1);
    const FALSE: Outcomes = Outcomes(2);
    const NULL: Outcomes = Outcomes(4);
    /// A value that is not a boolean (a number, a name).
    const VALUE: Outcomes = Outcomes(8);
    const BOOL: Outcomes = Outcomes(1 | 2);
    const ANY: Outcomes = Outcomes(1 | 2 | 4 | 8);

    fn has(self, o: Outcomes) -> bool {
        self.0 & o.0 != 0
    }
    fn only(self, o: Outcomes) -> bool {
        self.0 != 0 && self.0 & !o.0 == 0
    }
    fn with(self, o: Outcomes) -> Outcomes {
        Outcomes(self.0 | o.0)
    }
    fn without(self, o: Outcomes) -> Outcomes {
        Outcomes(self.0 & !o.0)
    }
    fn when(self, cond: bool) -> Outcomes {
        if cond {
            self
        } else {
            Outcomes(0)
        }
    }
    /// As a boolean: a value of unknown meaning may be either truth value.
    fn as_bool(self) -> Outcomes {
        let o = if self.has(Outcomes::VALUE) { self.without(Outcomes::VALUE).with(Outcomes::BOOL) } else { self };
        if o.0 == 0 {
            Outcomes::ANY.without(Outcomes::VALUE)
        } else {
            o
        }
    }
    /// Never NULL, or maybe NULL, with values otherwise.
    fn value(may_be_null: bool) -> Outcomes {
        Outcomes::VALUE.with(Outcomes::NULL.when(may_be_null))
    }
}

const BOOL: u32 = 16;
const INT8: u32 = 20;
const INT2: u32 = 21;
const INT4: u32 = 23;

/// PostgreSQL's own operators that never answer NULL for arguments that are not NULL:
/// comparisons, arithmetic, concatenation and pattern matches (not `->`, which can).
const NEVER_NULL_OPERATORS: [&str; 19] =
    ["=", "<>", "<", ">", "<=", ">=", "+", "-", "*", "/", "%", "||", "~~", "!~~", "~~*", "!~~*", "~", "!~", "~*"];

/// PostgreSQL's own functions that never answer NULL when their arguments are not NULL (the
/// session's and the clock's values, and text functions policies use on them).
/// Casts between PostgreSQL's own types are functions named after the type (`text(name)` in
/// `lower(current_user)`), which answer a value for a value too.
const NEVER_NULL_FUNCTIONS: [&str; 30] = [
    "current_user", "session_user", "current_database", "now", "statement_timestamp", "transaction_timestamp",
    "clock_timestamp", "pg_backend_pid", "version", "lower", "upper", "length", "char_length", "octet_length",
    "btrim", "ltrim", "rtrim", "md5", "concat", "concat_ws", "text", "name", "varchar", "bpchar", "int2", "int4",
    "int8", "numeric", "float4", "float8",
];

fn immutable(catalog: &dyn Catalog, funcid: u32) -> bool {
    catalog.function(funcid).map(|f| f.volatility) == Some(Volatility::Immutable)
}

/// Decides what `expr` evaluates to for every row. An empty tree depends on nothing known.
pub fn truth(expr: &Expr, catalog: &dyn Catalog) -> Truth {
    let Some(root) = expr.root() else {
        return Truth::Depends;
    };
    let outcomes = outcomes(expr, catalog)[root].as_bool();
    if outcomes == Outcomes::TRUE {
        Truth::AlwaysTrue
    } else if !outcomes.has(Outcomes::TRUE) {
        Truth::AlwaysFalse
    } else if constant_nodes(expr, catalog)[root] {
        Truth::Constant
    } else {
        Truth::Depends
    }
}

/// Every node's possible outcomes, bottom-up (arguments come before the node).
fn outcomes(expr: &Expr, catalog: &dyn Catalog) -> Vec<Outcomes> {
    let start = subtree_starts(expr);
    let mut out: Vec<Outcomes> = Vec::with_capacity(expr.len());
    for node in &expr.nodes {
        let args: Vec<Outcomes> = node.args.iter().map(|&a| out[a]).collect();
        let any_null_only = args.iter().any(|a| a.only(Outcomes::NULL));
        let none_null = args.iter().all(|a| !a.has(Outcomes::NULL));
        let o = match &node.kind {
            Kind::Const { is_null: true, .. } => Outcomes::NULL,
            Kind::Const { type_oid: BOOL, bytes, .. } => {
                if bytes.first().is_some_and(|b| *b != 0) {
                    Outcomes::TRUE
                } else {
                    Outcomes::FALSE
                }
            }
            Kind::Const { .. } => Outcomes::VALUE,
            Kind::SessionValue { may_be_null, .. } => Outcomes::value(*may_be_null),
            Kind::And | Kind::Or => junction(node.kind == Kind::Or, &args),
            Kind::Not => match args.as_slice() {
                [a] => {
                    let a = a.as_bool();
                    Outcomes::FALSE
                        .when(a.has(Outcomes::TRUE))
                        .with(Outcomes::TRUE.when(a.has(Outcomes::FALSE)))
                        .with(Outcomes::NULL.when(a.has(Outcomes::NULL)))
                }
                _ => Outcomes::ANY,
            },
            Kind::NullTest { is_null } => match args.as_slice() {
                [a] => {
                    let (if_null, if_not) = if *is_null { (Outcomes::TRUE, Outcomes::FALSE) } else { (Outcomes::FALSE, Outcomes::TRUE) };
                    if_null.when(a.has(Outcomes::NULL)).with(if_not.when(a.without(Outcomes::NULL).0 != 0))
                }
                _ => Outcomes::ANY,
            },
            Kind::BoolTest(test) => match args.as_slice() {
                [a] => {
                    let a = a.as_bool();
                    let mut o = Outcomes(0);
                    for (x, v) in [(Outcomes::TRUE, Some(true)), (Outcomes::FALSE, Some(false)), (Outcomes::NULL, None)] {
                        if a.has(x) {
                            let yes = match test {
                                0 => v == Some(true),
                                1 => v != Some(true),
                                2 => v == Some(false),
                                3 => v != Some(false),
                                4 => v.is_none(),
                                _ => v.is_some(),
                            };
                            o = o.with(if yes { Outcomes::TRUE } else { Outcomes::FALSE });
                        }
                    }
                    o
                }
                _ => Outcomes::ANY,
            },
            Kind::Op { opno, funcid } => {
                let f = catalog.function(*funcid);
                let strict = f.as_ref().is_some_and(|f| f.strict);
                let name = catalog.operator_name(*opno);
                let literal = match node.args.as_slice() {
                    [l, r] => compare(name.as_deref(), *funcid, expr, *l, *r, catalog),
                    _ => None,
                };
                let same_sides = match node.args.as_slice() {
                    [l, r] if matches!(name.as_deref(), Some("=" | "<=" | ">=")) => {
                        f.as_ref().is_some_and(|f| f.builtin && f.volatility != Volatility::Volatile)
                            && same_subtree(expr, &start, *l, *r, catalog)
                    }
                    _ => false,
                };
                if let Some(b) = literal {
                    if b {
                        Outcomes::TRUE
                    } else {
                        Outcomes::FALSE
                    }
                } else if strict && any_null_only {
                    Outcomes::NULL
                } else if same_sides {
                    // x = x: TRUE unless x is NULL
                    Outcomes::TRUE.with(Outcomes::NULL.when(!none_null))
                } else if strict && none_null && f.is_some_and(|f| f.builtin) && name.is_some_and(|n| NEVER_NULL_OPERATORS.contains(&n.as_str())) {
                    Outcomes::BOOL.with(Outcomes::VALUE)
                } else {
                    Outcomes::ANY
                }
            }
            Kind::Func { funcid } => match catalog.function(*funcid) {
                Some(f) if f.strict && any_null_only => Outcomes::NULL,
                Some(f) if f.builtin && NEVER_NULL_FUNCTIONS.contains(&f.name.as_str()) && (none_null || !f.strict) => {
                    Outcomes::BOOL.with(Outcomes::VALUE)
                }
                _ => Outcomes::ANY,
            },
            Kind::Cast { .. } => match args.as_slice() {
                [a] if a.only(Outcomes::NULL) => Outcomes::NULL,
                [a] => Outcomes::value(a.has(Outcomes::NULL)),
                _ => Outcomes::ANY,
            },
            Kind::Transparent => match args.as_slice() {
                [a] => *a,
                _ => Outcomes::VALUE,
            },
            Kind::Coalesce => {
                // the first argument that is not NULL; NULL only when all of them can be
                let mut o = Outcomes(0);
                let mut stopped = false;
                for a in &args {
                    o = o.with(a.without(Outcomes::NULL));
                    if !a.has(Outcomes::NULL) {
                        stopped = true;
                        break;
                    }
                }
                o.with(Outcomes::NULL.when(!stopped))
            }
            Kind::Case { has_arg } => case(node, *has_arg, &out),
            Kind::Var { .. } | Kind::SubLink | Kind::Query | Kind::Opaque(_) => Outcomes::ANY,
        };
        out.push(if o.0 == 0 { Outcomes::ANY } else { o });
    }
    out
}

/// A CASE's outcomes: the results of the WHENs whose condition can be true, up to one that is
/// always true, then the default if it can be reached.
fn case(node: &Node, has_arg: bool, out: &[Outcomes]) -> Outcomes {
    let args = &node.args[usize::from(has_arg).min(node.args.len())..];
    let Some((&default, whens)) = args.split_last() else {
        return Outcomes::ANY;
    };
    if whens.len() % 2 != 0 {
        return Outcomes::ANY;
    }
    let mut o = Outcomes(0);
    for pair in whens.chunks(2) {
        let cond = out[pair[0]].as_bool();
        if cond.has(Outcomes::TRUE) {
            o = o.with(out[pair[1]]);
        }
        if cond == Outcomes::TRUE {
            return o;
        }
    }
    o.with(out[default])
}

/// AND / OR under SQL's three-valued logic: one FALSE decides an AND, one TRUE an OR; the
/// result is NULL when no argument decides and one is NULL.
fn junction(is_or: bool, args: &[Outcomes]) -> Outcomes {
    let (deciding, other) = if is_or { (Outcomes::TRUE, Outcomes::FALSE) } else { (Outcomes::FALSE, Outcomes::TRUE) };
    let args: Vec<Outcomes> = args.iter().map(|a| a.as_bool()).collect();
    let decided = args.iter().any(|a| a.has(deciding));
    let all_other = args.iter().all(|a| a.has(other));
    let null = args.iter().all(|a| a.has(other) || a.has(Outcomes::NULL)) && args.iter().any(|a| a.has(Outcomes::NULL));
    deciding.when(decided).with(other.when(all_other)).with(Outcomes::NULL.when(null))
}

/// Where each node's subtree starts: post-order puts a subtree's nodes in one run ending with
/// its root, starting where its first argument's subtree starts.
fn subtree_starts(expr: &Expr) -> Vec<NodeId> {
    let mut start: Vec<NodeId> = Vec::with_capacity(expr.len());
    for (id, node) in expr.nodes.iter().enumerate() {
        let s = node.args.first().map_or(id, |&a| start[a]);
        start.push(s);
    }
    start
}

/// Whether two subtrees are the same expression, evaluated to the same value within one row:
/// node by node the same kinds, shaped alike, with nothing volatile or unknown in them.
fn same_subtree(expr: &Expr, start: &[NodeId], a: NodeId, b: NodeId, catalog: &dyn Catalog) -> bool {
    let (sa, sb) = (start[a], start[b]);
    if a - sa != b - sb {
        return false;
    }
    (0..=a - sa).all(|k| {
        let (x, y) = (&expr.nodes[sa + k], &expr.nodes[sb + k]);
        let known = match &x.kind {
            Kind::Opaque(_) | Kind::SubLink | Kind::Query => false,
            Kind::Op { funcid, .. } | Kind::Func { funcid } => {
                catalog.function(*funcid).is_some_and(|f| f.volatility != Volatility::Volatile)
            }
            _ => true,
        };
        known
            && x.kind == y.kind
            && x.args.len() == y.args.len()
            && x.args.iter().zip(&y.args).all(|(&p, &q)| p - sa == q - sb)
    })
}

/// Follows single-argument transparent nodes (binary-compatible casts) down to what they wrap.
fn strip_relabel(expr: &Expr, mut id: NodeId) -> NodeId {
    while let Some(Node { kind: Kind::Transparent, args }) = expr.nodes.get(id) {
        match args.as_slice() {
            [only] => id = *only,
            _ => break,
        }
    }
    id
}

/// Compares two literals with an immutable comparison operator: equal literals of one type
/// (byte for byte), and integers and booleans by value. `None` when it cannot tell.
fn compare(name: Option<&str>, funcid: u32, expr: &Expr, left: NodeId, right: NodeId, catalog: &dyn Catalog) -> Option<bool> {
    let kind = |id| &expr.nodes[strip_relabel(expr, id)].kind;
    let (Kind::Const { type_oid: lt, is_null: false, len: llen, bytes: lb }, Kind::Const { type_oid: rt, is_null: false, len: rlen, bytes: rb }) =
        (kind(left), kind(right))
    else {
        return None;
    };
    if !immutable(catalog, funcid) {
        return None;
    }
    let ordering = match (integer(*lt, *llen, lb), integer(*rt, *rlen, rb)) {
        (Some(l), Some(r)) if (*lt == BOOL) == (*rt == BOOL) => l.cmp(&r),
        _ if lt == rt && lb == rb => std::cmp::Ordering::Equal,
        _ => return None,
    };
    // Only integers and booleans are ordered here; other literals reach this point only when identical.
    use std::cmp::Ordering::*;
    match name? {
        "=" => Some(ordering == Equal),
        "<>" => Some(ordering != Equal),
        "<" => Some(ordering == Less),
        ">" => Some(ordering == Greater),
        "<=" => Some(ordering != Greater),
        ">=" => Some(ordering != Less),
        _ => None,
    }
}

/// An int2/int4/int8 or boolean literal's value. Pass-by-value datums are stored in native
/// byte order; every platform PostgreSQL 15 builds on for us is little-endian.
fn integer(type_oid: u32, len: i32, bytes: &[u8]) -> Option<i64> {
    let width = match (type_oid, len) {
        (BOOL, 1) => return bytes.first().map(|b| i64::from(*b != 0)),
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

/// For every node: built only from literals and immutable operators and functions.
fn constant_nodes(expr: &Expr, catalog: &dyn Catalog) -> Vec<bool> {
    let mut constant: Vec<bool> = Vec::with_capacity(expr.len());
    for node in &expr.nodes {
        let node_ok = match &node.kind {
            Kind::Const { .. }
            | Kind::And
            | Kind::Or
            | Kind::Not
            | Kind::NullTest { .. }
            | Kind::BoolTest(_)
            | Kind::Transparent
            | Kind::Coalesce
            | Kind::Case { .. } => true,
            Kind::Op { funcid, .. } | Kind::Func { funcid } => immutable(catalog, *funcid),
            // a cast's input function may be stable (text to regclass), and it is not known here
            Kind::Var { .. } | Kind::SessionValue { .. } | Kind::Cast { .. } | Kind::SubLink | Kind::Query | Kind::Opaque(_) => false,
        };
        constant.push(node_ok && node.args.iter().all(|&a| constant[a]));
    }
    constant
}

/// Does the expression read a column of the row it is checking (directly or from a correlated
/// sub-select)? A check that does not cannot constrain the values written.
pub fn references_row(expr: &Expr) -> bool {
    // Top-down: how many queries lie between the root and each node.
    let mut depth = vec![0u32; expr.len()];
    let reached = expr.reached(|id, node| {
        let below = depth[id].saturating_add(u32::from(node.kind == Kind::Query));
        for &arg in &node.args {
            depth[arg] = below;
        }
        true
    });
    expr.nodes
        .iter()
        .enumerate()
        .any(|(id, node)| reached[id] && matches!(node.kind, Kind::Var { levels_up, .. } if levels_up == depth[id]))
}

/// Non-immutable functions the policy calls once per row although their arguments do not
/// depend on the row (`current_setting('app.tenant')`, `auth.uid()`): written as a sub-select,
/// `(SELECT current_setting('app.tenant'))`, PostgreSQL evaluates them once per query.
/// Names are sorted and unique.
pub fn per_row_calls(expr: &Expr, catalog: &dyn Catalog) -> Vec<String> {
    // Bottom-up: does a node read the row or contain a sub-select?
    let mut row_or_subquery: Vec<bool> = Vec::with_capacity(expr.len());
    for node in &expr.nodes {
        let here = matches!(node.kind, Kind::Var { .. } | Kind::SubLink);
        row_or_subquery.push(here || node.args.iter().any(|&a| row_or_subquery[a]));
    }
    let mut out = Vec::new();
    expr.reached(|id, node| match node.kind {
        // a sub-select is already evaluated once per query (or correlated, which a wrapper
        // would not fix)
        Kind::Query => false,
        Kind::Func { funcid } => match catalog.function(funcid) {
            Some(f) if f.volatility != Volatility::Immutable && !row_or_subquery[id] => {
                out.push(f.name);
                false
            }
            _ => true,
        },
        _ => true,
    });
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
        fn function(&self, funcid: u32) -> Option<Function> {
            // every function here is strict, and PostgreSQL's own but for tenant_of
            self.functions.get(&funcid).map(|(n, v)| Function {
                name: n.to_string(),
                volatility: *v,
                strict: true,
                builtin: funcid < 16384,
            })
        }
    }

    fn catalog() -> Fake {
        use Volatility::*;
        Fake {
            operators: HashMap::from([(96, "="), (98, "="), (521, ">"), (97, "<"), (518, "<>"), (15, "="), (3211, "->"), (91, "=")]),
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
                (3947, ("json_object_field", Immutable)),
                (60, ("booleq", Immutable)),
                (715, ("random", Volatile)),
            ]),
        }
    }

    /// A tree written as nested values, for the tests; `build` flattens it.
    #[derive(Debug, Clone)]
    pub(super) struct T(pub Kind, pub Vec<T>);

    /// Post-order flattening with an explicit stack (the proptest trees below are deep too).
    pub(super) fn build(tree: &T) -> Expr {
        let mut expr = Expr::new();
        // (node, its finished children's ids); a node is pushed once all its children are.
        let mut stack: Vec<(&T, Vec<NodeId>)> = vec![(tree, Vec::new())];
        while let Some((t, done)) = stack.last_mut() {
            if done.len() < t.1.len() {
                let child = &t.1[done.len()];
                stack.push((child, Vec::new()));
                continue;
            }
            let (t, done) = stack.pop().expect("not empty");
            let id = expr.push(t.0.clone(), done).expect("a tree");
            if let Some((_, parent_done)) = stack.last_mut() {
                parent_done.push(id);
            }
        }
        expr
    }

    fn leaf(kind: Kind) -> T {
        T(kind, vec![])
    }

    fn int4(v: i32) -> T {
        let bytes = (v as i64 as u64).to_le_bytes().to_vec();
        leaf(Kind::Const { type_oid: INT4, is_null: false, len: 4, bytes })
    }

    fn boolean(b: bool) -> T {
        leaf(Kind::Const { type_oid: BOOL, is_null: false, len: 1, bytes: vec![b as u8, 0, 0, 0, 0, 0, 0, 0] })
    }

    fn null_bool() -> T {
        leaf(Kind::Const { type_oid: BOOL, is_null: true, len: 1, bytes: vec![] })
    }

    fn text(s: &str) -> T {
        let mut bytes = (((s.len() + 4) as u32) << 2).to_le_bytes().to_vec();
        bytes.extend_from_slice(s.as_bytes());
        leaf(Kind::Const { type_oid: 25, is_null: false, len: -1, bytes })
    }

    fn var(levels_up: u32) -> T {
        column(levels_up, 1)
    }

    fn column(levels_up: u32, attno: i16) -> T {
        leaf(Kind::Var { levels_up, varno: 1, attno })
    }

    fn session(name: &str) -> T {
        leaf(Kind::SessionValue { name: name.into(), may_be_null: name == "current_schema" })
    }

    fn is_not_null(arg: T) -> T {
        T(Kind::NullTest { is_null: false }, vec![arg])
    }

    fn func(funcid: u32, args: Vec<T>) -> T {
        T(Kind::Func { funcid }, args)
    }

    /// `current_setting('app.tenant')::int`, as PostgreSQL stores it (a CoerceViaIO).
    fn setting_int() -> T {
        T(Kind::Opaque("T_CoerceViaIO".into()), vec![func(2077, vec![text("app.tenant")])])
    }

    fn op(opno: u32, funcid: u32, l: T, r: T) -> T {
        T(Kind::Op { opno, funcid }, vec![l, r])
    }

    fn and(args: Vec<T>) -> T {
        T(Kind::And, args)
    }

    fn or(args: Vec<T>) -> T {
        T(Kind::Or, args)
    }

    fn not(arg: T) -> T {
        T(Kind::Not, vec![arg])
    }

    /// `(SELECT … WHERE <quals>)` as a SubLink over a Query.
    fn sublink(inner: T) -> T {
        T(Kind::SubLink, vec![T(Kind::Query, vec![T(Kind::Opaque("T_FromExpr".into()), vec![inner])])])
    }

    fn truth_of(tree: T) -> Truth {
        truth(&build(&tree), &catalog())
    }

    #[test]
    fn literal_true_and_false() {
        assert_eq!(truth_of(boolean(true)), Truth::AlwaysTrue);
        assert_eq!(truth_of(boolean(false)), Truth::AlwaysFalse);
        assert_eq!(truth_of(null_bool()), Truth::AlwaysFalse);
    }

    #[test]
    fn one_equals_one() {
        assert_eq!(truth_of(op(96, 65, int4(1), int4(1))), Truth::AlwaysTrue);
        assert_eq!(truth_of(op(96, 65, int4(1), int4(2))), Truth::AlwaysFalse);
        assert_eq!(truth_of(op(518, 144, int4(1), int4(2))), Truth::AlwaysTrue);
    }

    #[test]
    fn integer_comparisons_including_negative_numbers() {
        assert_eq!(truth_of(op(521, 147, int4(2), int4(1))), Truth::AlwaysTrue);
        assert_eq!(truth_of(op(521, 147, int4(-5), int4(1))), Truth::AlwaysFalse);
        assert_eq!(truth_of(op(97, 66, int4(-5), int4(-4))), Truth::AlwaysTrue);
        assert_eq!(truth_of(op(97, 66, int4(300), int4(299))), Truth::AlwaysFalse);
    }

    #[test]
    fn equal_text_literals_and_binary_compatible_casts() {
        assert_eq!(truth_of(op(98, 67, text("a"), text("a"))), Truth::AlwaysTrue);
        assert_eq!(truth_of(op(98, 67, text("a"), text("b"))), Truth::Constant, "different text: not worked out, but constant");
        let relabelled = T(Kind::Transparent, vec![T(Kind::Transparent, vec![text("a")])]);
        assert_eq!(truth_of(op(98, 67, relabelled, text("a"))), Truth::AlwaysTrue);
    }

    #[test]
    fn or_with_true_is_true_and_and_with_false_is_false() {
        let tenant = || op(96, 65, var(0), setting_int());
        assert_eq!(truth_of(tenant()), Truth::Depends);
        assert_eq!(truth_of(or(vec![tenant(), boolean(true)])), Truth::AlwaysTrue);
        assert_eq!(truth_of(and(vec![tenant(), boolean(true)])), Truth::Depends);
        assert_eq!(truth_of(and(vec![tenant(), boolean(false)])), Truth::AlwaysFalse);
        assert_eq!(truth_of(and(vec![boolean(true), op(96, 65, int4(3), int4(3))])), Truth::AlwaysTrue);
        assert_eq!(truth_of(not(boolean(false))), Truth::AlwaysTrue);
        assert_eq!(truth_of(not(null_bool())), Truth::AlwaysFalse);
        assert_eq!(truth_of(or(vec![boolean(false), null_bool()])), Truth::AlwaysFalse);
    }

    #[test]
    fn null_tests_on_literals() {
        let unknown_null = leaf(Kind::Const { type_oid: 705, is_null: true, len: -2, bytes: vec![] });
        assert_eq!(truth_of(T(Kind::NullTest { is_null: true }, vec![unknown_null])), Truth::AlwaysTrue);
        assert_eq!(truth_of(T(Kind::NullTest { is_null: false }, vec![text("a")])), Truth::AlwaysTrue);
        assert_eq!(truth_of(T(Kind::NullTest { is_null: true }, vec![var(0)])), Truth::Depends);
        assert_eq!(truth_of(T(Kind::BoolTest(0), vec![boolean(true)])), Truth::AlwaysTrue);
        assert_eq!(truth_of(T(Kind::BoolTest(3), vec![null_bool()])), Truth::AlwaysTrue, "NULL IS NOT FALSE");
    }

    #[test]
    fn immutable_constant_expressions_are_constant() {
        assert_eq!(truth_of(op(98, 67, func(870, vec![text("A")]), text("a"))), Truth::Constant);
        // current_setting is stable: the session decides, not a constant
        assert_eq!(truth_of(op(96, 65, setting_int(), int4(1))), Truth::Depends);
        // an operator whose function we do not know is not assumed immutable
        assert_eq!(truth_of(op(96, 4242, int4(1), int4(1))), Truth::Depends);
    }

    #[test]
    fn row_references() {
        assert!(references_row(&build(&op(96, 65, var(0), setting_int()))));
        assert!(!references_row(&build(&setting_int())));
        // a Var inside a sub-select refers to the sub-select's own table, unless correlated
        assert!(!references_row(&build(&sublink(var(0)))));
        assert!(references_row(&build(&sublink(var(1)))));
        assert!(references_row(&build(&sublink(sublink(var(2))))));
        assert!(!references_row(&build(&sublink(sublink(var(1))))));
    }

    #[test]
    fn per_row_calls_outside_sub_selects() {
        let cat = catalog();
        let calls = |t: T| per_row_calls(&build(&t), &cat);
        assert_eq!(calls(op(96, 65, var(0), setting_int())), vec!["current_setting".to_string()]);
        // (SELECT current_setting('x')) = 'a': already once per query
        let wrapped = op(98, 67, sublink(func(2077, vec![text("x")])), text("a"));
        assert_eq!(truth(&build(&wrapped), &cat), Truth::Depends);
        assert!(calls(wrapped).is_empty());
        // a stable function of a column must run per row: nothing to wrap
        assert!(calls(func(9999, vec![var(0)])).is_empty());
        let two = op(521, 147, func(1299, vec![]), setting_int());
        assert_eq!(calls(two), vec!["current_setting".to_string(), "now".to_string()]);
    }

    #[test]
    fn session_values_that_are_never_null() {
        // current_user IS NOT NULL, session_user IS NOT NULL: true for every row and session
        assert_eq!(truth_of(is_not_null(session("current_user"))), Truth::AlwaysTrue);
        assert_eq!(truth_of(T(Kind::NullTest { is_null: true }, vec![session("session_user")])), Truth::AlwaysFalse);
        // current_schema is NULL when no schema of the path exists
        assert_eq!(truth_of(is_not_null(session("current_schema"))), Truth::Depends);
        // functions of them: lower(current_user) IS NOT NULL, now() IS NOT NULL
        assert_eq!(truth_of(is_not_null(func(870, vec![session("current_user")]))), Truth::AlwaysTrue);
        assert_eq!(truth_of(is_not_null(func(1299, vec![]))), Truth::AlwaysTrue);
        // but not any function: current_setting('x', true) may be NULL, and so may a user's
        assert_eq!(truth_of(is_not_null(func(9999, vec![session("current_user")]))), Truth::Depends);
        // nor an operator that may answer NULL: (current_setting('j')::json -> 'k') IS NOT NULL
        let arrow = op(3211, 3947, T(Kind::Cast { to_type: 114 }, vec![func(2077, vec![text("j")])]), text("k"));
        assert_eq!(truth_of(is_not_null(arrow)), Truth::Depends);
        // a comparison of never-NULL values is never NULL: (current_user = 'x') IS NOT NULL
        assert_eq!(truth_of(is_not_null(op(98, 67, session("current_user"), text("x")))), Truth::AlwaysTrue);
        // a column may be NULL
        assert_eq!(truth_of(is_not_null(var(0))), Truth::Depends);
    }

    #[test]
    fn an_expression_compared_with_itself() {
        assert_eq!(truth_of(op(98, 67, session("current_user"), session("current_user"))), Truth::AlwaysTrue);
        // NULL for rows where the column is NULL, so not always true
        assert_eq!(truth_of(op(96, 65, column(0, 2), column(0, 2))), Truth::Depends);
        // arguments are judged apart: `a = a OR a IS NULL` is not seen to be always true
        assert_eq!(truth_of(or(vec![op(96, 65, column(0, 2), column(0, 2)), T(Kind::NullTest { is_null: true }, vec![column(0, 2)])])), Truth::Depends);
        // different columns, different sessions values, or a volatile function: not the same
        assert_eq!(truth_of(op(96, 65, column(0, 2), column(0, 3))), Truth::Depends);
        assert_eq!(truth_of(op(98, 67, session("current_user"), session("session_user"))), Truth::Depends);
        assert_eq!(truth_of(op(96, 65, func(715, vec![]), func(715, vec![]))), Truth::Depends);
        // `<` of an expression with itself is false (or NULL)
        assert_eq!(truth_of(op(97, 66, int4(1), int4(1))), Truth::AlwaysFalse);
    }

    #[test]
    fn coalesce_and_case() {
        let tenant = || op(96, 65, var(0), setting_int());
        let coalesce = |args: Vec<T>| T(Kind::Coalesce, args);
        assert_eq!(truth_of(coalesce(vec![null_bool(), boolean(true)])), Truth::AlwaysTrue);
        // coalesce(tenant check, true) is the check for rows where it is not NULL
        assert_eq!(truth_of(coalesce(vec![tenant(), boolean(true)])), Truth::Depends);
        assert_eq!(truth_of(coalesce(vec![is_not_null(session("current_user")), tenant()])), Truth::AlwaysTrue);
        assert_eq!(truth_of(coalesce(vec![null_bool(), null_bool()])), Truth::AlwaysFalse);
        let case = |args: Vec<T>| T(Kind::Case { has_arg: false }, args);
        // CASE WHEN tenant THEN true ELSE true END
        assert_eq!(truth_of(case(vec![tenant(), boolean(true), boolean(true)])), Truth::AlwaysTrue);
        // CASE WHEN true THEN true ELSE tenant END: the default is never reached
        assert_eq!(truth_of(case(vec![boolean(true), boolean(true), tenant()])), Truth::AlwaysTrue);
        // CASE WHEN false THEN tenant ELSE true END
        assert_eq!(truth_of(case(vec![boolean(false), tenant(), boolean(true)])), Truth::AlwaysTrue);
        assert_eq!(truth_of(case(vec![tenant(), boolean(true), boolean(false)])), Truth::Depends);
        // a simple CASE's argument is not a result
        let simple = T(Kind::Case { has_arg: true }, vec![var(0), var(0), boolean(true), boolean(true)]);
        assert_eq!(truth_of(simple), Truth::AlwaysTrue);
        // arguments that are not condition-result pairs decide nothing
        assert_eq!(truth_of(case(vec![boolean(true), boolean(true)])), Truth::Constant);
        assert_eq!(truth_of(case(vec![tenant(), boolean(true), boolean(true), boolean(true)])), Truth::Depends);
    }

    #[test]
    fn strict_functions_of_null_are_null() {
        assert_eq!(truth_of(op(96, 65, var(0), leaf(Kind::Const { type_oid: INT4, is_null: true, len: 4, bytes: vec![] }))), Truth::AlwaysFalse);
        assert_eq!(truth_of(not(op(96, 65, var(0), leaf(Kind::Const { type_oid: INT4, is_null: true, len: 4, bytes: vec![] })))), Truth::AlwaysFalse);
        // true = true, true <> false
        assert_eq!(truth_of(op(91, 60, boolean(true), boolean(true))), Truth::AlwaysTrue);
        assert_eq!(truth_of(not(op(91, 60, boolean(true), boolean(false)))), Truth::AlwaysTrue);
    }

    #[test]
    fn the_builder_keeps_a_tree() {
        let mut e = Expr::new();
        let a = e.push(Kind::Var { levels_up: 0, varno: 1, attno: 1 }, vec![]).unwrap();
        assert_eq!(e.push(Kind::Not, vec![a + 1]), Err(TreeError::NotBefore(a + 1)));
        assert_eq!(e.push(Kind::And, vec![a, a]), Err(TreeError::Shared(a)));
        let n = e.push(Kind::Not, vec![a]).unwrap();
        assert_eq!(e.push(Kind::Not, vec![a]), Err(TreeError::Shared(a)));
        assert_eq!(e.nodes[n].args, vec![a]);
        // an empty tree decides nothing
        assert_eq!(truth(&Expr::new(), &catalog()), Truth::Depends);
        assert!(!references_row(&Expr::new()) && per_row_calls(&Expr::new(), &catalog()).is_empty());
    }

    #[test]
    fn a_million_levels_deep_is_decided_without_recursion() {
        let cat = catalog();
        let mut e = Expr::new();
        let mut top = e.push(Kind::Var { levels_up: 0, varno: 1, attno: 1 }, vec![]).unwrap();
        for level in 0..1_000_000u32 {
            let kind = match level % 4 {
                0 => Kind::Not,
                1 => Kind::Transparent,
                2 => Kind::Func { funcid: 2077 },
                _ => Kind::Or,
            };
            top = e.push(kind, vec![top]).unwrap();
        }
        assert_eq!(truth(&e, &cat), Truth::Depends);
        assert!(references_row(&e));
        assert!(per_row_calls(&e, &cat).is_empty());
        drop(e); // flat: no recursive drop either
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn kind() -> impl Strategy<Value = Kind> {
            prop_oneof![
                (prop::sample::select(vec![16u32, 20, 21, 23, 25, 705]), any::<bool>(), prop::sample::select(vec![1i32, 2, 4, 8, -1, -2]),
                 prop::collection::vec(any::<u8>(), 0..10))
                    .prop_map(|(type_oid, is_null, len, bytes)| Kind::Const { type_oid, is_null, len, bytes }),
                (0u32..4, 1i16..3).prop_map(|(levels_up, attno)| Kind::Var { levels_up, varno: 1, attno }),
                prop::sample::select(vec!["current_user", "current_schema"]).prop_map(|n| Kind::SessionValue { name: n.into(), may_be_null: n == "current_schema" }),
                Just(Kind::Coalesce),
                any::<bool>().prop_map(|has_arg| Kind::Case { has_arg }),
                Just(Kind::Cast { to_type: 23 }),
                (prop::sample::select(vec![96u32, 98, 521, 97, 518, 15, 7]), prop::sample::select(vec![65u32, 67, 147, 66, 144, 852, 2077, 1]))
                    .prop_map(|(opno, funcid)| Kind::Op { opno, funcid }),
                prop::sample::select(vec![870u32, 1299, 2077, 9999, 3, 715]).prop_map(|funcid| Kind::Func { funcid }),
                Just(Kind::And),
                Just(Kind::Or),
                Just(Kind::Not),
                any::<bool>().prop_map(|is_null| Kind::NullTest { is_null }),
                any::<u8>().prop_map(Kind::BoolTest),
                Just(Kind::SubLink),
                Just(Kind::Query),
                Just(Kind::Transparent),
                Just(Kind::Opaque("T_Param".into())),
            ]
        }

        /// Random trees of any shape: kinds are not checked against arities, as a reader of
        /// arbitrary stored trees would not either.
        fn tree() -> impl Strategy<Value = T> {
            kind().prop_map(leaf).prop_recursive(12, 200, 4, |inner| {
                (kind(), prop::collection::vec(inner, 0..4)).prop_map(|(k, args)| T(k, args))
            })
        }

        proptest! {
            #[test]
            fn decisions_never_panic(t in tree()) {
                let e = build(&t);
                let cat = catalog();
                let _ = truth(&e, &cat);
                let _ = references_row(&e);
                let calls = per_row_calls(&e, &cat);
                prop_assert!(calls.windows(2).all(|w| w[0] < w[1]), "sorted and unique");
            }

            #[test]
            fn or_true_is_always_true(t in tree()) {
                prop_assert_eq!(truth_of(or(vec![t, boolean(true)])), Truth::AlwaysTrue);
            }

            #[test]
            fn and_false_is_always_false(t in tree()) {
                prop_assert_eq!(truth_of(and(vec![boolean(false), t])), Truth::AlwaysFalse);
            }

            #[test]
            fn double_negation_keeps_the_truth(t in tree()) {
                prop_assert_eq!(truth_of(not(not(t.clone()))), truth_of(t));
            }

            #[test]
            fn wrapping_in_a_sub_select_hides_per_row_calls(t in tree()) {
                prop_assert!(per_row_calls(&build(&sublink(t)), &catalog()).is_empty());
            }

            /// Arbitrary (also invalid) node sequences: the builder refuses what is not a
            /// tree, and whatever it accepted is decided without a panic.
            #[test]
            fn arbitrary_sequences(steps in prop::collection::vec((kind(), prop::collection::vec(0usize..64, 0..4)), 0..64)) {
                let mut e = Expr::new();
                for (k, args) in steps {
                    let _ = e.push(k, args);
                }
                let cat = catalog();
                let _ = (truth(&e, &cat), references_row(&e), per_row_calls(&e, &cat));
            }
        }
    }
}
