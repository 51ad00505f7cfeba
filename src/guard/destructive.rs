//! The WHERE rule on the statement as written (post_parse_analyze): the conditions an
//! UPDATE/DELETE/MERGE gives itself, before rewriting adds a view's WHERE, a rule's join or a
//! row-level-security policy and before planning, reduced to `destructive::Cond` for the pure
//! rule. A statement that does not restrict its target is marked on the target's range-table
//! entry, and `executor.rs` refuses it at ExecutorStart in the guard's mode then.
//!
//! Why a mark on the entry: the verdict must travel with the statement through rewriting (a view
//! entry stays in the range table for permission checks, rule actions copy it), planning and plan
//! caching (plans are copied), and PlannedStmt has no field for it. `ctename` is only ever set
//! on CTE entries; on a relation entry nothing in PostgreSQL reads it, the planner keeps it in
//! the final range table, and copies keep it.

use crate::pg::backend::{check_stack_depth, BackendLocal};
use crate::policy::destructive::{self, Cond, Operand};
use pgrx::pg_sys::{self, CmdType, NodeTag};
use pgrx::PgList;
use std::ffi::{c_void, CStr, CString};

const MARK_PREFIX: &str = "nspg_guard unbounded ";

/// An unbounded statement's mark: the command and the relation as written (a view's own oid).
#[derive(Debug, Clone, Copy)]
pub struct Mark {
    pub rti: u32,
    pub command: &'static str,
    pub relid: pg_sys::Oid,
}

/// post_parse_analyze: judges every UPDATE/DELETE/MERGE in the analyzed query (itself, its
/// writable CTEs, the statement an EXPLAIN or CREATE TABLE AS holds) and marks the unbounded.
///
/// # Safety
/// `query` is the analyzer's valid Query.
pub unsafe fn judge_analyzed(query: *mut pg_sys::Query) {
    // the usual statement: one UPDATE/DELETE/MERGE, nothing nested to look into
    if matches!((*query).commandType, CmdType::CMD_UPDATE | CmdType::CMD_DELETE | CmdType::CMD_MERGE) && !(*query).hasModifyingCTE {
        mark_if_unbounded(query);
        return;
    }
    let mut queue = vec![query];
    while let Some(q) = queue.pop() {
        match (*q).commandType {
            CmdType::CMD_SELECT | CmdType::CMD_INSERT if !(*q).hasModifyingCTE => continue,
            CmdType::CMD_UTILITY => {
                if let Some(inner) = utility_query((*q).utilityStmt) {
                    queue.push(inner);
                }
                continue;
            }
            _ => {}
        }
        if (*q).hasModifyingCTE {
            for cte in PgList::<pg_sys::CommonTableExpr>::from_pg((*q).cteList).iter_ptr() {
                let inner = (*cte).ctequery;
                if !inner.is_null() && (*inner).type_ == NodeTag::T_Query {
                    queue.push(inner as *mut pg_sys::Query);
                }
            }
        }
        mark_if_unbounded(q);
    }
}

/// The usual bounded statement, recognized by field reads alone (no call into PostgreSQL, no
/// allocation, so a hook's plain frame can ask before anything else runs): an UPDATE/DELETE/MERGE
/// without writable CTEs whose condition is, or is an AND containing, a comparison of a target
/// column with a constant or parameter (`WHERE id = $1`). Anything else goes to `judge_analyzed`.
///
/// # Safety
/// `query` is the analyzer's valid Query.
pub unsafe fn obviously_bounded(query: *mut pg_sys::Query) -> bool {
    if (*query).hasModifyingCTE || (*query).jointree.is_null() {
        return false;
    }
    let quals = (*(*query).jointree).quals;
    let target = (*query).resultRelation as u32;
    let column_vs_value = |node: *mut pg_sys::Node| -> bool {
        if node.is_null() || (*node).type_ != NodeTag::T_OpExpr {
            return false;
        }
        let args = (*(node as *mut pg_sys::OpExpr)).args;
        if args.is_null() || (*args).length != 2 {
            return false;
        }
        let cells = std::slice::from_raw_parts((*args).elements, 2);
        let (a, b) = (cells[0].ptr_value as *mut pg_sys::Node, cells[1].ptr_value as *mut pg_sys::Node);
        let is_column = |n: *mut pg_sys::Node| {
            !n.is_null() && (*n).type_ == NodeTag::T_Var && {
                let v = n as *mut pg_sys::Var;
                (*v).varno as u32 == target && (*v).varlevelsup == 0 && (*v).varattno > 0
            }
        };
        let is_value = |n: *mut pg_sys::Node| !n.is_null() && matches!((*n).type_, NodeTag::T_Const | NodeTag::T_Param);
        (is_column(a) && is_value(b)) || (is_value(a) && is_column(b))
    };
    if column_vs_value(quals) {
        return true;
    }
    if quals.is_null() || (*quals).type_ != NodeTag::T_BoolExpr {
        return false;
    }
    let and = quals as *mut pg_sys::BoolExpr;
    if (*and).boolop != pg_sys::BoolExprType::AND_EXPR || (*and).args.is_null() {
        return false;
    }
    let args = (*and).args;
    std::slice::from_raw_parts((*args).elements, (*args).length as usize)
        .iter()
        .any(|cell| column_vs_value(cell.ptr_value as *mut pg_sys::Node))
}

/// Does an EXPLAIN or CREATE TABLE AS carry a statement that changes rows? (Field reads only.)
///
/// # Safety
/// `stmt` is null or a valid utility statement.
pub unsafe fn carries_changes(stmt: *mut pg_sys::Node) -> bool {
    utility_query(stmt).is_some_and(|q| {
        (*q).hasModifyingCTE || matches!((*q).commandType, CmdType::CMD_UPDATE | CmdType::CMD_DELETE | CmdType::CMD_MERGE)
    })
}

/// The statement an EXPLAIN or CREATE TABLE AS carries, analyzed with it.
unsafe fn utility_query(stmt: *mut pg_sys::Node) -> Option<*mut pg_sys::Query> {
    if stmt.is_null() {
        return None;
    }
    let inner = match (*stmt).type_ {
        NodeTag::T_ExplainStmt => (*(stmt as *mut pg_sys::ExplainStmt)).query,
        NodeTag::T_CreateTableAsStmt => (*(stmt as *mut pg_sys::CreateTableAsStmt)).query,
        _ => return None,
    };
    (!inner.is_null() && (*inner).type_ == NodeTag::T_Query).then_some(inner as *mut pg_sys::Query)
}

unsafe fn mark_if_unbounded(q: *mut pg_sys::Query) {
    let command = match (*q).commandType {
        CmdType::CMD_UPDATE => "UPDATE",
        CmdType::CMD_DELETE => "DELETE",
        CmdType::CMD_MERGE if merge_changes_matched(q) => "MERGE",
        _ => return,
    };
    let target = (*q).resultRelation;
    let Some(rte) = PgList::<pg_sys::RangeTblEntry>::from_pg((*q).rtable).get_ptr(target as usize - 1) else { return };
    let jointree = (*q).jointree;
    let quals = if jointree.is_null() { std::ptr::null_mut() } else { (*jointree).quals };
    let reader = Reader { target: target as u32, relid: (*rte).relid, plan: false };
    if !destructive::condition_restricts(&reader.cond(quals)) {
        let mark = CString::new(format!("{MARK_PREFIX}{command} {}", u32::from((*rte).relid))).unwrap_or_default();
        (*rte).ctename = pg_sys::pstrdup(mark.as_ptr());
    }
}

/// MERGE is destructive when a WHEN MATCHED action updates or deletes.
unsafe fn merge_changes_matched(q: *mut pg_sys::Query) -> bool {
    PgList::<pg_sys::MergeAction>::from_pg((*q).mergeActionList)
        .iter_ptr()
        .any(|a| (*a).matched && matches!((*a).commandType, CmdType::CMD_UPDATE | CmdType::CMD_DELETE))
}

/// The marks in a planned statement's range table.
///
/// # Safety
/// `stmt` is a valid PlannedStmt.
pub unsafe fn marks(stmt: *mut pg_sys::PlannedStmt) -> Vec<Mark> {
    let mut found = Vec::new();
    for (i, rte) in crate::pg::list::ptrs::<pg_sys::RangeTblEntry>((*stmt).rtable).enumerate() {
        if (*rte).ctename.is_null() || !matches!((*rte).rtekind, pg_sys::RTEKind::RTE_RELATION | pg_sys::RTEKind::RTE_SUBQUERY) {
            continue;
        }
        let text = CStr::from_ptr((*rte).ctename).to_string_lossy();
        let Some(rest) = text.strip_prefix(MARK_PREFIX) else { continue };
        let mut words = rest.split(' ');
        let command = match words.next() {
            Some("UPDATE") => "UPDATE",
            Some("DELETE") => "DELETE",
            Some("MERGE") => "MERGE",
            _ => continue,
        };
        let relid = words.next().and_then(|w| w.parse::<u32>().ok()).map_or(pg_sys::InvalidOid, pg_sys::Oid::from);
        found.push(Mark { rti: i as u32 + 1, command, relid });
    }
    found
}

/// Is a condition of a scan over range-table entry `rti` (relation `relid`) true of every row
/// of it, by its structure alone?
///
/// # Safety
/// `expr` is a valid expression of a plan whose range table has `rti`.
pub unsafe fn always_true_on(expr: *mut pg_sys::Node, rti: u32, relid: pg_sys::Oid) -> bool {
    if !may_be_always_true(expr) {
        return false;
    }
    let reader = Reader { target: rti, relid, plan: true };
    destructive::always_true(&reader.cond(expr)) || with_values_bound(expr, |folded| destructive::always_true(&reader.cond(folded)))
}

/// The parameter values of the statement being judged (`judging_with`): a generic plan keeps
/// `$1` where a custom plan has its value (`id = coalesce($1, id)` is `id = id` for NULL).
static BOUND_PARAMS: BackendLocal<usize> = BackendLocal::new(0);

/// Runs `judge` with the statement's parameter values known to `always_true_on`.
pub fn judging_with<R>(params: pg_sys::ParamListInfo, judge: impl FnOnce() -> R) -> R {
    struct Reset(usize);
    impl Drop for Reset {
        fn drop(&mut self) {
            BOUND_PARAMS.set(self.0);
        }
    }
    let _reset = Reset(BOUND_PARAMS.replace(params as usize));
    judge()
}

/// `judge` of `expr` with the bound parameter values folded in as the planner folds them for a
/// custom plan; false without bound values, or when folding raises (a value the expression
/// cannot take: the statement itself then fails or not, as PostgreSQL decides).
unsafe fn with_values_bound(expr: *mut pg_sys::Node, judge: impl FnOnce(*mut pg_sys::Node) -> bool) -> bool {
    let params = BOUND_PARAMS.get() as pg_sys::ParamListInfo;
    if params.is_null() || (*params).numParams == 0 {
        return false;
    }
    crate::pg::subxact::attempt_quietly(|| unsafe {
        let glob = pg_sys::palloc0(std::mem::size_of::<pg_sys::PlannerGlobal>()) as *mut pg_sys::PlannerGlobal;
        (*glob).type_ = NodeTag::T_PlannerGlobal;
        (*glob).boundParams = params;
        let root = pg_sys::palloc0(std::mem::size_of::<pg_sys::PlannerInfo>()) as *mut pg_sys::PlannerInfo;
        (*root).type_ = NodeTag::T_PlannerInfo;
        (*root).glob = glob;
        let folded = pg_sys::eval_const_expressions(root, pg_sys::copyObjectImpl(expr as *const c_void) as *mut pg_sys::Node);
        judge(folded)
    })
    .unwrap_or(false)
}

/// Only these plan conditions can be tautologies: a null test, a comparison of two expressions
/// (the planner turns `x = x` on a btree type into `x IS NOT NULL`, but not `x = coalesce(x)`
/// or `x = coalesce($1, x)`), a boolean test, a boolean combination.
///
/// # Safety
/// `expr` is null or a valid node.
pub unsafe fn may_be_always_true(expr: *mut pg_sys::Node) -> bool {
    if expr.is_null() {
        return false;
    }
    match (*expr).type_ {
        NodeTag::T_NullTest | NodeTag::T_BoolExpr | NodeTag::T_List | NodeTag::T_BooleanTest => true,
        // not the usual column against a constant or parameter
        NodeTag::T_OpExpr => !PgList::<pg_sys::Node>::from_pg((*(expr as *mut pg_sys::OpExpr)).args)
            .iter_ptr()
            .any(|a| !a.is_null() && matches!((*a).type_, NodeTag::T_Const | NodeTag::T_Param)),
        _ => false,
    }
}

/// Reads a condition of the analyzed query into the pure rule's form.
struct Reader {
    /// The target's range-table index in the query whose condition is read.
    target: u32,
    relid: pg_sys::Oid,
    /// Reading a plan's scan condition, only to know whether it is always true: which other
    /// conditions reference the target does not matter, so none is searched.
    plan: bool,
}

impl Reader {
    unsafe fn cond(&self, node: *mut pg_sys::Node) -> Cond {
        check_stack_depth();
        if node.is_null() {
            return Cond::Constant(true);
        }
        match (*node).type_ {
            NodeTag::T_List => {
                Cond::And(PgList::<pg_sys::Node>::from_pg(node as *mut pg_sys::List).iter_ptr().map(|n| self.cond(n)).collect())
            }
            NodeTag::T_BoolExpr => {
                let b = node as *mut pg_sys::BoolExpr;
                let args: Vec<*mut pg_sys::Node> = PgList::<pg_sys::Node>::from_pg((*b).args).iter_ptr().collect();
                match (*b).boolop {
                    pg_sys::BoolExprType::AND_EXPR => Cond::And(args.iter().map(|&a| self.cond(a)).collect()),
                    pg_sys::BoolExprType::OR_EXPR => Cond::Or(args.iter().map(|&a| self.cond(a)).collect()),
                    _ => match args.first() {
                        // NOT (x IS DISTINCT FROM x)
                        Some(&a) if (*a).type_ == NodeTag::T_DistinctExpr && self.self_comparison(a as *mut pg_sys::OpExpr, false) => {
                            Cond::SelfComparison
                        }
                        Some(&a) => Cond::Not(Box::new(self.cond(a))),
                        None => Cond::Constant(true),
                    },
                }
            }
            NodeTag::T_Const => {
                let c = node as *mut pg_sys::Const;
                if (*c).consttype == pg_sys::BOOLOID {
                    Cond::Constant(!(*c).constisnull && (*c).constvalue.value() != 0)
                } else {
                    Cond::Other { references_target: false }
                }
            }
            NodeTag::T_NullTest => {
                let t = node as *mut pg_sys::NullTest;
                Cond::NullTest {
                    operand: self.operand((*t).arg as *mut pg_sys::Node),
                    is_null: (*t).nulltesttype == pg_sys::NullTestType::IS_NULL,
                }
            }
            NodeTag::T_OpExpr if self.self_comparison(node as *mut pg_sys::OpExpr, true) => Cond::SelfComparison,
            // `c IS TRUE` and `c IS NOT FALSE` hold wherever c holds
            NodeTag::T_BooleanTest
                if matches!(
                    (*(node as *mut pg_sys::BooleanTest)).booltesttype,
                    pg_sys::BoolTestType::IS_TRUE | pg_sys::BoolTestType::IS_NOT_FALSE
                ) =>
            {
                self.cond((*(node as *mut pg_sys::BooleanTest)).arg as *mut pg_sys::Node)
            }
            _ => Cond::Other { references_target: self.references(node) },
        }
    }

    unsafe fn operand(&self, node: *mut pg_sys::Node) -> Operand {
        if !node.is_null() && (*node).type_ == NodeTag::T_Var {
            let var = node as *mut pg_sys::Var;
            if (*var).varno as u32 == self.target && (*var).varlevelsup == 0 {
                return match (*var).varattno {
                    0 => Operand::WholeRow,
                    a if a < 0 => Operand::SystemColumn,
                    a => Operand::TargetColumn { not_null: self.not_null(a) },
                };
            }
        }
        Operand::Other { references_target: self.references(node) }
    }

    /// Is the target's column declared NOT NULL? (Relcache, only for a null test on it.)
    unsafe fn not_null(&self, attno: i16) -> bool {
        let rel = pg_sys::RelationIdGetRelation(self.relid);
        if rel.is_null() {
            return false;
        }
        let desc = (*rel).rd_att;
        let not_null = (attno as i32) <= (*desc).natts && (*desc).attrs.as_slice((*desc).natts as usize)[attno as usize - 1].attnotnull;
        pg_sys::RelationClose(rel);
        not_null
    }

    /// `x = x`, `x <= x`, `x >= x` (a btree equality or non-strict inequality), or with
    /// `reflexive_op` false, `x IS DISTINCT FROM x`: both sides the same expression over the target.
    unsafe fn self_comparison(&self, op: *mut pg_sys::OpExpr, reflexive_op: bool) -> bool {
        let args = PgList::<pg_sys::Node>::from_pg((*op).args);
        let (Some(left), Some(right), 2) = (args.get_ptr(0), args.get_ptr(1), args.len()) else { return false };
        let (left, right) = (same_value(left), same_value(right));
        // different node kinds are never equal: the common `col = value` needs no equal()
        if (*left).type_ != (*right).type_
            || !pg_sys::equal(left as *const c_void, right as *const c_void)
            || !self.references(left)
        {
            return false;
        }
        !reflexive_op || reflexive((*op).opno)
    }

    /// Does the expression reference a column of the target (also from inside a sub-select)?
    unsafe fn references(&self, node: *mut pg_sys::Node) -> bool {
        if self.plan {
            return true;
        }
        let mut search = Search { target: self.target, depth: 0, found: false };
        search_node(node, &mut search)
    }
}

/// The expression under wrappers that give back its own value (equal inputs, equal outputs):
/// a binary-compatible relabeling, a COALESCE of it alone (what `coalesce($1, x)` becomes when
/// $1 is NULL), a widening cast between integer types.
unsafe fn same_value(mut node: *mut pg_sys::Node) -> *mut pg_sys::Node {
    loop {
        if node.is_null() {
            return node;
        }
        let inner = match (*node).type_ {
            NodeTag::T_RelabelType => (*(node as *mut pg_sys::RelabelType)).arg as *mut pg_sys::Node,
            NodeTag::T_CoalesceExpr => {
                let args = PgList::<pg_sys::Node>::from_pg((*(node as *mut pg_sys::CoalesceExpr)).args);
                match (args.len(), args.get_ptr(0)) {
                    (1, Some(only)) => only,
                    _ => return node,
                }
            }
            NodeTag::T_FuncExpr => {
                let f = node as *mut pg_sys::FuncExpr;
                let args = PgList::<pg_sys::Node>::from_pg((*f).args);
                let cast = matches!((*f).funcformat, pg_sys::CoercionForm::COERCE_EXPLICIT_CAST | pg_sys::CoercionForm::COERCE_IMPLICIT_CAST);
                match (cast, args.len(), args.get_ptr(0)) {
                    (true, 1, Some(arg)) if widening_integer_cast(pg_sys::exprType(arg), (*f).funcresulttype) => arg,
                    _ => return node,
                }
            }
            _ => return node,
        };
        node = inner;
    }
}

/// A cast from one integer type to one at least as wide: every value maps to itself.
fn widening_integer_cast(from: pg_sys::Oid, to: pg_sys::Oid) -> bool {
    let width = |t: pg_sys::Oid| match t {
        pg_sys::INT2OID => Some(2),
        pg_sys::INT4OID => Some(4),
        pg_sys::INT8OID => Some(8),
        _ => None,
    };
    matches!((width(from), width(to)), (Some(f), Some(t)) if f <= t)
}

/// An operator that is true for equal operands: btree equality, <=, >=.
unsafe fn reflexive(opno: pg_sys::Oid) -> bool {
    PgList::<pg_sys::OpBtreeInterpretation>::from_pg(pg_sys::get_op_btree_interpretation(opno))
        .iter_ptr()
        .any(|i| matches!((*i).strategy as u32, pg_sys::BTLessEqualStrategyNumber | pg_sys::BTEqualStrategyNumber | pg_sys::BTGreaterEqualStrategyNumber))
}

struct Search {
    target: u32,
    /// How many sub-selects deep the walk is (a Var's varlevelsup counts back up).
    depth: u32,
    found: bool,
}

/// The search's Rust side: the usual containers are taken apart here, without a guarded call
/// into PostgreSQL per node; any other node goes to PostgreSQL's walkers, which call back
/// `find_target`.
unsafe fn search_node(node: *mut pg_sys::Node, search: &mut Search) -> bool {
    check_stack_depth();
    if node.is_null() {
        return false;
    }
    let context = search as *mut Search as *mut c_void;
    match (*node).type_ {
        NodeTag::T_Var => {
            let var = node as *mut pg_sys::Var;
            search.found = (*var).varno as u32 == search.target && (*var).varlevelsup == search.depth;
            search.found
        }
        NodeTag::T_CurrentOfExpr => {
            search.found = search.depth == 0 && (*(node as *mut pg_sys::CurrentOfExpr)).cvarno == search.target;
            search.found
        }
        NodeTag::T_OpExpr | NodeTag::T_DistinctExpr | NodeTag::T_NullIfExpr => any_finds((*(node as *mut pg_sys::OpExpr)).args, search),
        NodeTag::T_FuncExpr => any_finds((*(node as *mut pg_sys::FuncExpr)).args, search),
        NodeTag::T_BoolExpr => any_finds((*(node as *mut pg_sys::BoolExpr)).args, search),
        NodeTag::T_List => any_finds(node as *mut pg_sys::List, search),
        NodeTag::T_RelabelType => search_node((*(node as *mut pg_sys::RelabelType)).arg as *mut pg_sys::Node, search),
        NodeTag::T_Const | NodeTag::T_Param => false,
        NodeTag::T_Query => {
            search.depth += 1;
            let found = pg_sys::query_tree_walker(node as *mut pg_sys::Query, Some(find_target), context, 0);
            search.depth -= 1;
            found
        }
        _ => pg_sys::expression_tree_walker(node, Some(find_target), context),
    }
}

/// The walkers' callback (guarded: PostgreSQL's frames are between it and us).
#[pgrx::pg_guard]
unsafe extern "C-unwind" fn find_target(node: *mut pg_sys::Node, context: *mut c_void) -> bool {
    search_node(node, &mut *(context as *mut Search))
}

unsafe fn any_finds(list: *mut pg_sys::List, search: &mut Search) -> bool {
    PgList::<pg_sys::Node>::from_pg(list).iter_ptr().any(|n| search_node(n, search))
}
