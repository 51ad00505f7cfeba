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
    /// The Query inside a SubLink (or a sub-select in FROM); variables below it are one level
    /// further from the row.
    Query,
    /// Nodes that only carry their children (casts between binary-compatible types, ARRAY[…],
    /// CASE, COALESCE): constant when their children are.
    Transparent,
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

fn immutable(catalog: &dyn Catalog, funcid: u32) -> bool {
    catalog.function(funcid).map(|(_, v)| v) == Some(Volatility::Immutable)
}

/// Decides what `expr` evaluates to for every row. An empty tree depends on nothing known.
pub fn truth(expr: &Expr, catalog: &dyn Catalog) -> Truth {
    let Some(root) = expr.root() else {
        return Truth::Depends;
    };
    // Bottom-up: every node's arguments come before it.
    let constant = constant_nodes(expr, catalog);
    let mut values: Vec<Value> = Vec::with_capacity(expr.len());
    for (id, node) in expr.nodes.iter().enumerate() {
        let first = node.args.first().map(|&a| (a, values[a]));
        let otherwise = if constant[id] { Value::Constant } else { Value::Depends };
        let value = match &node.kind {
            Kind::Const { type_oid: BOOL, is_null, bytes, .. } => {
                Value::Known(if *is_null { None } else { Some(bytes.first().is_some_and(|b| *b != 0)) })
            }
            Kind::Const { is_null: true, .. } => Value::Known(None),
            Kind::And | Kind::Or => junction(node.kind == Kind::Or, node.args.iter().map(|&a| values[a])),
            Kind::Not => match first {
                Some((_, Value::Known(b))) => Value::Known(b.map(|b| !b)),
                Some((_, other)) => other,
                None => Value::Depends,
            },
            Kind::NullTest { is_null } => match first {
                Some((_, Value::Known(b))) => Value::Known(Some(b.is_none() == *is_null)),
                Some((arg, _)) => match &expr.nodes[arg].kind {
                    Kind::Const { is_null: arg_null, .. } => Value::Known(Some(*arg_null == *is_null)),
                    _ => otherwise,
                },
                None => otherwise,
            },
            Kind::BoolTest(test) => match first {
                Some((_, Value::Known(b))) => Value::Known(Some(match test {
                    0 => b == Some(true),
                    1 => b != Some(true),
                    2 => b == Some(false),
                    3 => b != Some(false),
                    4 => b.is_none(),
                    _ => b.is_some(),
                })),
                _ => otherwise,
            },
            Kind::Op { opno, funcid } if node.args.len() == 2 => {
                match compare(*opno, *funcid, expr, node.args[0], node.args[1], catalog) {
                    Some(b) => Value::Known(Some(b)),
                    None => otherwise,
                }
            }
            _ => otherwise,
        };
        values.push(value);
    }
    match values[root] {
        Value::Known(Some(true)) => Truth::AlwaysTrue,
        Value::Known(_) => Truth::AlwaysFalse,
        Value::Constant => Truth::Constant,
        Value::Depends => Truth::Depends,
    }
}

/// AND / OR under SQL's three-valued logic: one FALSE decides an AND, one TRUE decides an OR.
fn junction(is_or: bool, values: impl Iterator<Item = Value>) -> Value {
    let deciding = is_or;
    let (mut decided, mut all_other, mut all_known, mut all_fixed) = (false, true, true, true);
    for v in values {
        decided |= v == Value::Known(Some(deciding));
        all_other &= v == Value::Known(Some(!deciding));
        all_known &= matches!(v, Value::Known(_));
        all_fixed &= matches!(v, Value::Known(_) | Value::Constant);
    }
    if decided {
        Value::Known(Some(deciding))
    } else if all_other {
        Value::Known(Some(!deciding))
    } else if all_known {
        // only the other truth value and NULLs: NULL
        Value::Known(None)
    } else if all_fixed {
        Value::Constant
    } else {
        Value::Depends
    }
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
/// (byte for byte) and integers of any width. `None` when it cannot tell.
fn compare(opno: u32, funcid: u32, expr: &Expr, left: NodeId, right: NodeId, catalog: &dyn Catalog) -> Option<bool> {
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

/// For every node: built only from literals and immutable operators and functions.
fn constant_nodes(expr: &Expr, catalog: &dyn Catalog) -> Vec<bool> {
    let mut constant: Vec<bool> = Vec::with_capacity(expr.len());
    for node in &expr.nodes {
        let node_ok = match &node.kind {
            Kind::Const { .. } | Kind::And | Kind::Or | Kind::Not | Kind::NullTest { .. } | Kind::BoolTest(_) | Kind::Transparent => true,
            Kind::Op { funcid, .. } | Kind::Func { funcid } => immutable(catalog, *funcid),
            Kind::Var { .. } | Kind::SubLink | Kind::Query | Kind::Opaque(_) => false,
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
        .any(|(id, node)| reached[id] && matches!(node.kind, Kind::Var { levels_up } if levels_up == depth[id]))
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
            Some((name, volatility)) if volatility != Volatility::Immutable && !row_or_subquery[id] => {
                out.push(name);
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
        leaf(Kind::Var { levels_up })
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
    fn the_builder_keeps_a_tree() {
        let mut e = Expr::new();
        let a = e.push(Kind::Var { levels_up: 0 }, vec![]).unwrap();
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
        let mut top = e.push(Kind::Var { levels_up: 0 }, vec![]).unwrap();
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
                (0u32..4).prop_map(|levels_up| Kind::Var { levels_up }),
                (prop::sample::select(vec![96u32, 98, 521, 97, 518, 15, 7]), prop::sample::select(vec![65u32, 67, 147, 66, 144, 852, 2077, 1]))
                    .prop_map(|(opno, funcid)| Kind::Op { opno, funcid }),
                prop::sample::select(vec![870u32, 1299, 2077, 9999, 3]).prop_map(|funcid| Kind::Func { funcid }),
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
