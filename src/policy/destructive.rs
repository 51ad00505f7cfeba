//! The destructive-statement rules (NS-PG-007 §9, "destructive queries executed (malice or
//! mistake)"): the WHERE rule for UPDATE/DELETE/MERGE, TRUNCATE for migration and admin roles
//! only, a blast-radius row limit, DROP warnings, and the deliberate override's reason.
//!
//! The WHERE rule is decided on the planned statement, the form every execution path shares
//! (top level, CTEs, functions, procedures, DO, prepared statements, cached plans), simplified
//! by `guard/executor.rs` into [`PlanNode`]s. The planner has already folded constants, so
//! `WHERE 1=1` or `WHERE 'a'='a'` have vanished, and `WHERE now() > …`, `WHERE $1 = $1` or an
//! uncorrelated `EXISTS` have become gating conditions that reference no column. A statement
//! restricts its target when some condition that filters rows references a column of the
//! target table, directly, through a join, or through a nested-loop parameter.

use crate::policy::verdict::Refusal;
use pgrx::pg_sys::errcodes::PgSqlErrorCode;

/// What an expression in a plan node refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ref {
    /// A column of range-table entry `rti` (a scan-level reference).
    Column(u32),
    /// Entry `n` (1-based) of the target list of the node's outer (first) child.
    Outer(usize),
    /// Entry `n` (1-based) of the target list of the node's inner (second) child.
    Inner(usize),
    /// An executor parameter, such as one a nested loop sets from its outer row.
    Param(i32),
}

/// A plan node reduced to what the WHERE rule needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanNode {
    /// The range-table entry this node scans, if it is a scan.
    pub scans: Option<u32>,
    /// Append-like: `Outer(n)` stands for entry n of every child, not just the first.
    pub appends: bool,
    /// The references of each target-list entry, in order.
    pub targetlist: Vec<Vec<Ref>>,
    /// References in every condition that filters rows here (scan, index, join conditions).
    pub conditions: Vec<Ref>,
    /// Nested-loop parameters: the parameter id and what its value refers to.
    pub params_set: Vec<(i32, Vec<Ref>)>,
    pub children: Vec<PlanNode>,
}

impl PlanNode {
    /// Does `r`, as seen from this node, lead to a column of one of `targets`? Follows `Outer`
    /// and `Inner` references down through the children's target lists with an explicit stack
    /// and a visited set: iterative, and each (node, entry) is looked at once however many
    /// paths lead to it.
    fn resolves_to_target(&self, r: Ref, targets: &[u32], target_params: &[i32]) -> bool {
        let mut stack: Vec<(&PlanNode, Ref)> = vec![(self, r)];
        let mut seen: std::collections::HashSet<(*const PlanNode, usize)> = std::collections::HashSet::new();
        while let Some((node, r)) = stack.pop() {
            let (children, n): (Vec<&PlanNode>, usize) = match r {
                Ref::Column(rti) if targets.contains(&rti) => return true,
                Ref::Param(id) if target_params.contains(&id) => return true,
                Ref::Column(_) | Ref::Param(_) => continue,
                Ref::Outer(n) if node.appends => (node.children.iter().collect(), n),
                Ref::Outer(n) => (node.children.first().into_iter().collect(), n),
                Ref::Inner(n) => (node.children.get(1).into_iter().collect(), n),
            };
            for child in children {
                let Some(refs) = child.targetlist.get(n.wrapping_sub(1)) else { continue };
                if seen.insert((child as *const PlanNode, n)) {
                    stack.extend(refs.iter().map(|&r| (child, r)));
                }
            }
        }
        false
    }

    /// This node and every node below it (iterative: plans can be deep).
    fn walk(&self) -> Vec<&PlanNode> {
        let mut out = Vec::new();
        let mut stack = vec![self];
        while let Some(node) = stack.pop() {
            out.push(node);
            stack.extend(node.children.iter().rev());
        }
        out
    }
}

/// The WHERE rule: does the plan that feeds a ModifyTable restrict the rows of its target
/// (range-table entries `targets`)? A plan that never scans the target (the planner proved no
/// row qualifies, e.g. `WHERE false` or every partition pruned) changes nothing: restricted.
pub fn restricts_target(plan: &PlanNode, targets: &[u32]) -> bool {
    let nodes = plan.walk();
    if !nodes.iter().any(|n| n.scans.is_some_and(|rti| targets.contains(&rti))) {
        return true;
    }
    let target_params: Vec<i32> = nodes
        .iter()
        .flat_map(|n| {
            n.params_set
                .iter()
                .filter(|(_, refs)| refs.iter().any(|&r| n.resolves_to_target(r, targets, &[])))
                .map(|(id, _)| *id)
        })
        .collect();
    nodes.iter().any(|n| n.conditions.iter().any(|&r| n.resolves_to_target(r, targets, &target_params)))
}

const OVERRIDE_HINT: &str =
    "If you are entitled (migration or admin role), run SELECT nspg_guard.allow_destructive('why') in this transaction first.";

/// `nspg_guard: DELETE on "public.orders" has no WHERE clause that restricts rows`; for MERGE
/// the restricting clause is the ON condition.
pub fn unbounded_refusal(command: &str, relation: &str) -> Refusal {
    let clause = if command == "MERGE" { "ON condition" } else { "WHERE clause" };
    Refusal {
        sqlstate: PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
        message: format!("nspg_guard: {command} on \"{relation}\" has no {clause} that restricts rows"),
        detail: format!(
            "The {clause} is missing or references no column of \"{relation}\" (such as true or 1=1), so the statement would change every row."
        ),
        hint: format!("Add a condition on the table's columns. {OVERRIDE_HINT}"),
        command: command.to_string(),
        object: Some(relation.to_string()),
    }
}

pub fn row_limit_refusal(command: &str, relation: &str, rows: u64, limit: i32) -> Refusal {
    Refusal {
        sqlstate: PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
        message: format!("nspg_guard: {command} on \"{relation}\" would change {rows} rows, more than the limit of {limit}"),
        detail: format!("nspg_guard.max_rows_per_statement = {limit}; the statement was rolled back and changed nothing."),
        hint: format!("Change fewer rows per statement (in batches). {OVERRIDE_HINT}"),
        command: command.to_string(),
        object: Some(relation.to_string()),
    }
}

pub fn truncate_refusal(role: &str, relations: &[String], migration_roles: &str) -> Refusal {
    let quoted: Vec<String> = relations.iter().map(|r| format!("\"{r}\"")).collect();
    Refusal {
        sqlstate: PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
        message: format!("nspg_guard: TRUNCATE of {} denied for role \"{role}\"", quoted.join(", ")),
        detail: "TRUNCATE removes every row at once; only migration and admin roles may run it.".to_string(),
        hint: format!(
            "Use DELETE with a WHERE clause, or run it as a member of a migration role ({migration_roles}) or an admin role."
        ),
        command: "TRUNCATE".to_string(),
        object: Some(relations.join(", ")),
    }
}

/// The WARNING for a DROP that an allowed role runs: what goes.
pub fn drop_warning(command: &str, objects: &[String], cascade: bool) -> String {
    let named = if objects.is_empty() { "the named objects".to_string() } else { objects.join(", ") };
    let cascading = if cascade { ", and with CASCADE every object that depended on them" } else { "" };
    format!("nspg_guard: {command} removed {named}{cascading}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ref::*;

    const T: u32 = 1; // the target table's range-table entry
    const U: u32 = 2; // another table

    fn scan(rti: u32, columns: usize, conditions: Vec<Ref>) -> PlanNode {
        PlanNode {
            scans: Some(rti),
            targetlist: (0..columns).map(|_| vec![Column(rti)]).collect(),
            conditions,
            ..PlanNode::default()
        }
    }

    fn join(outer: PlanNode, inner: PlanNode, conditions: Vec<Ref>) -> PlanNode {
        let targetlist = vec![vec![Outer(1)], vec![Inner(1)]];
        PlanNode { targetlist, conditions, children: vec![outer, inner], ..PlanNode::default() }
    }

    fn gate(child: PlanNode, conditions: Vec<Ref>) -> PlanNode {
        PlanNode { targetlist: child.targetlist.clone(), conditions, children: vec![child], ..PlanNode::default() }
    }

    #[test]
    fn no_where_is_unbounded() {
        // DELETE FROM t
        assert!(!restricts_target(&scan(T, 2, vec![]), &[T]));
    }

    #[test]
    fn where_on_a_target_column_restricts() {
        // DELETE FROM t WHERE id = 5 (seq scan filter or index condition alike)
        assert!(restricts_target(&scan(T, 2, vec![Column(T)]), &[T]));
    }

    #[test]
    fn constant_and_gating_conditions_do_not_restrict() {
        // WHERE now() > '2000-01-01', WHERE $1 = $1, uncorrelated EXISTS: a gating Result whose
        // condition references a parameter or nothing, above an unfiltered scan.
        assert!(!restricts_target(&gate(scan(T, 2, vec![]), vec![]), &[T]));
        assert!(!restricts_target(&gate(scan(T, 2, vec![]), vec![Param(0)]), &[T]));
        // WHERE random() < 0.5: a filter on the scan that references no column
        assert!(!restricts_target(&scan(T, 2, vec![Param(3)]), &[T]));
    }

    #[test]
    fn join_conditions_resolve_through_child_target_lists() {
        // UPDATE t SET … FROM u WHERE t.id = u.id → hash join on Outer(1) = Inner(1)
        let plan = join(scan(T, 1, vec![]), scan(U, 1, vec![]), vec![Outer(1), Inner(1)]);
        assert!(restricts_target(&plan, &[T]));
        // target on the inner side, behind a Hash node
        let hashed = gate(scan(T, 1, vec![]), vec![]);
        let plan = join(scan(U, 1, vec![]), hashed, vec![Outer(1), Inner(1)]);
        assert!(restricts_target(&plan, &[T]));
    }

    #[test]
    fn conditions_on_other_tables_only_do_not_restrict() {
        // UPDATE t SET … FROM u WHERE u.flag: u is filtered, t is not
        let plan = join(scan(T, 1, vec![]), scan(U, 1, vec![Column(U)]), vec![]);
        assert!(!restricts_target(&plan, &[T]));
        // a three-way join whose only condition joins u and v
        let uv = join(scan(U, 1, vec![]), scan(3, 1, vec![]), vec![Outer(1), Inner(1)]);
        let plan = join(scan(T, 1, vec![]), uv, vec![]);
        assert!(!restricts_target(&plan, &[T]));
    }

    #[test]
    fn nested_loop_parameters_carry_the_target() {
        // nested loop: outer scans t, inner index scan on u.id = $7 where $7 := t.id
        let inner = scan(U, 1, vec![Column(U), Param(7)]);
        let mut plan = join(scan(T, 1, vec![]), inner, vec![]);
        plan.params_set = vec![(7, vec![Outer(1)])];
        assert!(restricts_target(&plan, &[T]));
        // the same shape with the parameter set from u's side does not
        let inner = scan(T, 1, vec![Param(7)]);
        let mut plan = join(scan(U, 1, vec![]), inner, vec![]);
        plan.params_set = vec![(7, vec![Outer(1)])];
        assert!(!restricts_target(&plan, &[T]));
    }

    #[test]
    fn partitions_under_an_append() {
        let parts = |conds: fn(u32) -> Vec<Ref>| PlanNode {
            appends: true,
            targetlist: vec![vec![Outer(1)]],
            children: vec![scan(3, 1, conds(3)), scan(4, 1, conds(4))],
            ..PlanNode::default()
        };
        assert!(!restricts_target(&parts(|_| vec![]), &[1, 3, 4]));
        assert!(restricts_target(&parts(|rti| vec![Column(rti)]), &[1, 3, 4]));
        // MERGE … ON t.id = s.id over a partitioned target: join above the append
        let plan = join(parts(|_| vec![]), scan(U, 1, vec![]), vec![Outer(1), Inner(1)]);
        assert!(restricts_target(&plan, &[1, 3, 4]));
    }

    #[test]
    fn a_plan_that_never_scans_the_target_changes_nothing() {
        // DELETE … WHERE false, or every partition pruned: a Result with no scan under it
        assert!(restricts_target(&gate(PlanNode::default(), vec![]), &[T]));
    }

    #[test]
    fn wording() {
        let r = unbounded_refusal("DELETE", "public.orders");
        assert_eq!(r.message, "nspg_guard: DELETE on \"public.orders\" has no WHERE clause that restricts rows");
        assert!(r.hint.contains("allow_destructive"));
        let r = unbounded_refusal("MERGE", "public.orders");
        assert!(r.message.ends_with("has no ON condition that restricts rows"));
        let r = row_limit_refusal("UPDATE", "public.orders", 120, 100);
        assert!(r.message.contains("would change 120 rows") && r.message.contains("limit of 100"));
        assert_eq!(drop_warning("DROP TABLE", &["a.b".into()], true),
                   "nspg_guard: DROP TABLE removed a.b, and with CASCADE every object that depended on them");
    }

    /// Takes a deep chain apart from the top, so that dropping it does not recurse either.
    fn dismantle(mut node: PlanNode) {
        while let Some(child) = node.children.pop() {
            node = child;
        }
    }

    #[test]
    fn deep_plans_are_walked_without_recursion() {
        // 200,000 gating nodes over the scan: the condition at the top resolves to the target
        // only through every target list on the way down
        let mut plan = scan(T, 1, vec![]);
        for _ in 0..200_000 {
            plan = PlanNode { targetlist: vec![vec![Outer(1)]], children: vec![plan], ..PlanNode::default() };
        }
        assert!(!restricts_target(&plan, &[T]), "no condition anywhere");
        plan.conditions = vec![Outer(1)];
        assert!(restricts_target(&plan, &[T]));
        dismantle(plan);
    }

    #[test]
    fn many_paths_to_one_entry_are_followed_once() {
        // every entry refers to both entries of the child: 2^64 paths down a 64-level plan,
        // each (node, entry) visited once
        let mut plan = join(scan(U, 2, vec![]), scan(U, 2, vec![]), vec![]);
        for _ in 0..64 {
            let both = vec![Outer(1), Outer(2)];
            plan = PlanNode { targetlist: vec![both.clone(), both], children: vec![plan], ..PlanNode::default() };
        }
        plan.conditions = vec![Outer(1)];
        let with_target = PlanNode { children: vec![plan, scan(T, 1, vec![])], ..PlanNode::default() };
        assert!(!restricts_target(&with_target, &[T]));
    }
}
