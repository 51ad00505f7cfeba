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

/// One condition of the statement as written (its WHERE, or MERGE's ON condition), before
/// rewriting adds view, rule or row-level-security conditions and before planning: the glue
/// (`guard/destructive.rs`) reads it from the analyzed query and says which column references
/// are the target's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cond {
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
    /// A boolean constant (`WHERE true`, `WHERE false`; NULL counts as false).
    Constant(bool),
    /// `x IS NULL` (`is_null`) or `x IS NOT NULL`.
    NullTest { operand: Operand, is_null: bool },
    /// `x = x`, `x <= x`, `x >= x`, `x IS NOT DISTINCT FROM x`: a reflexive comparison of one
    /// expression over the target's columns with itself.
    SelfComparison,
    /// Anything else, by whether it references a column of the target.
    Other { references_target: bool },
}

/// What a null test is applied to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operand {
    /// A user column of the target, and whether it is declared NOT NULL.
    TargetColumn { not_null: bool },
    /// A system column of the target (`ctid`, `xmin`, …): never null.
    SystemColumn,
    /// The target's whole row (`t IS NOT NULL`).
    WholeRow,
    /// Any other expression.
    Other { references_target: bool },
}

impl Operand {
    fn references_target(self) -> bool {
        !matches!(self, Operand::Other { references_target: false })
    }
}

/// What is known of a condition, bottom up.
#[derive(Debug, Clone, Copy)]
struct Verdict {
    /// True for every row whatever its values: a NOT NULL, system or whole-row column tested for
    /// IS NOT NULL, an expression compared with itself, an OR with such an arm.
    always: bool,
    /// False for every row (a false constant, `ctid IS NULL`): the statement changes nothing.
    never: bool,
    /// Restricts the target's rows.
    restricts: bool,
    /// References a column of the target somewhere.
    refs: bool,
}

impl Cond {
    fn leaf(&self) -> Option<Verdict> {
        let v = |always, never, refs| Some(Verdict { always, never, restricts: !always && (never || refs), refs });
        match self {
            Cond::Constant(value) => v(*value, !value, false),
            Cond::SelfComparison => v(true, false, true),
            Cond::NullTest { operand, is_null } => {
                let never_null =
                    matches!(operand, Operand::TargetColumn { not_null: true } | Operand::SystemColumn | Operand::WholeRow);
                v(!is_null && never_null, *is_null && never_null, operand.references_target())
            }
            Cond::Other { references_target } => v(false, false, *references_target),
            Cond::And(_) | Cond::Or(_) | Cond::Not(_) => None,
        }
    }

    fn children(&self) -> &[Cond] {
        match self {
            Cond::And(parts) | Cond::Or(parts) => parts,
            Cond::Not(inner) => std::slice::from_ref(inner.as_ref()),
            _ => &[],
        }
    }

    fn combine(&self, parts: &[Verdict]) -> Verdict {
        let refs = parts.iter().any(|p| p.refs);
        let (always, never, restricts) = match self {
            Cond::And(_) => (
                !parts.is_empty() && parts.iter().all(|p| p.always),
                parts.iter().any(|p| p.never),
                parts.iter().any(|p| p.restricts),
            ),
            Cond::Or(_) => (
                parts.iter().any(|p| p.always),
                !parts.is_empty() && parts.iter().all(|p| p.never),
                !parts.is_empty() && parts.iter().all(|p| p.restricts),
            ),
            // NOT of a condition on the target is still one (NOT (id = 1))
            _ => parts.first().map_or((false, false, false), |inner| (inner.never, inner.always, inner.refs)),
        };
        Verdict { always, never, restricts: !always && (never || restricts), refs }
    }
}

/// Does the statement's own condition restrict the rows of its target? Some part of an AND must
/// reference a target column without being always true; every arm of an OR must (one arm that
/// ignores the target, or is always true, lets every row through); a condition that is false
/// for every row changes nothing. Evaluated bottom up over an explicit stack: conditions can be
/// deep.
pub fn condition_restricts(cond: &Cond) -> bool {
    match cond.leaf() {
        Some(v) => v.restricts,
        None => evaluate(cond).is_some_and(|v| v.restricts),
    }
}

/// Is the condition true for every row of the target, whatever its values (see [`Verdict`])?
pub fn always_true(cond: &Cond) -> bool {
    evaluate(cond).is_some_and(|v| v.always)
}

fn evaluate(cond: &Cond) -> Option<Verdict> {
    let mut stack: Vec<(&Cond, bool)> = vec![(cond, false)];
    let mut verdicts: Vec<Verdict> = Vec::new();
    while let Some((c, expanded)) = stack.pop() {
        if let Some(v) = c.leaf() {
            verdicts.push(v);
        } else if expanded {
            let parts = verdicts.split_off(verdicts.len() - c.children().len());
            verdicts.push(c.combine(&parts));
        } else {
            stack.push((c, true));
            stack.extend(c.children().iter().map(|child| (child, false)));
        }
    }
    verdicts.pop()
}

/// The upsert rule: an `INSERT … ON CONFLICT DO UPDATE` rewrites the existing rows its source
/// yields, so a source that reads its own target (`target_scans`: the range-table entries that
/// scan the target or one of its partitions) must restrict each of those reads.
pub fn upsert_source_unbounded(source: &PlanNode, target_scans: &[u32]) -> bool {
    target_scans.iter().any(|&rti| !restricts_target(source, &[rti]))
}

/// Does the plan read any relation at all? A plan with no scan is the planner's proof that no
/// row qualifies (`WHERE 1 = 0`, every partition pruned): it changes nothing.
pub fn reads_rows(plan: &PlanNode) -> bool {
    plan.walk().iter().any(|n| n.scans.is_some())
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
            "The {clause} is missing, always true or references no column of \"{relation}\" (such as true, 1=1 or id = id), so the statement would change every row; conditions a view, a rule or a row-level-security policy adds do not count."
        ),
        hint: format!("Add a condition on the table's columns. {OVERRIDE_HINT}"),
        command: command.to_string(),
        object: Some(relation.to_string()),
    }
}

/// Rows one statement changed in one table, by one kind of change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed {
    pub command: &'static str,
    pub relation: String,
    pub rows: u64,
}

/// Most tables a row-limit message names one by one.
const TABLES_NAMED: usize = 8;

/// The row limit's refusal, saying how many rows and where: one table reads
/// `nspg_guard: UPDATE on "orders.victims" would change 3 rows, more than the limit of 2`; rows in
/// several tables (writable CTEs, triggers, rules, foreign-key actions) are listed per table.
/// `command` is the statement's own command, for the audit row.
/// An `INSERT … ON CONFLICT DO UPDATE` whose source reads its own target unrestricted.
pub fn upsert_refusal(relation: &str) -> Refusal {
    Refusal {
        sqlstate: PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
        message: format!("nspg_guard: INSERT … ON CONFLICT DO UPDATE on \"{relation}\" reads its own target without a condition that restricts rows"),
        detail: format!("Its source reads every row of \"{relation}\", and each row that conflicts is updated, so the statement would change every row."),
        hint: format!("Add a condition on the table's columns to the source. {OVERRIDE_HINT}"),
        command: "INSERT".to_string(),
        object: Some(relation.to_string()),
    }
}

pub fn row_limit_refusal(command: &str, changed: &[Changed], limit: i32) -> Refusal {
    let total: u64 = changed.iter().map(|c| c.rows).sum();
    let message = match changed {
        [one] => format!("nspg_guard: {} on \"{}\" would change {total} rows, more than the limit of {limit}", one.command, one.relation),
        _ => {
            let mut parts: Vec<String> = changed
                .iter()
                .take(TABLES_NAMED)
                .map(|c| format!("{} {} in \"{}\"", c.rows, c.command, c.relation))
                .collect();
            if changed.len() > TABLES_NAMED {
                parts.push(format!("and {} more tables", changed.len() - TABLES_NAMED));
            }
            format!("nspg_guard: the statement would change {total} rows, more than the limit of {limit}: {}", parts.join(", "))
        }
    };
    let mut relations: Vec<&str> = Vec::new();
    for c in changed {
        if !relations.contains(&c.relation.as_str()) {
            relations.push(&c.relation);
        }
    }
    Refusal {
        sqlstate: PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
        message,
        detail: format!(
            "nspg_guard.max_rows_per_statement = {limit} counts every row the statement updates or deletes, also through writable CTEs, ON CONFLICT DO UPDATE, triggers, rules and foreign-key actions; the statement was rolled back and changed nothing."
        ),
        hint: format!("Change fewer rows per statement (in batches). {OVERRIDE_HINT}"),
        command: command.to_string(),
        object: Some(relations.join(", ")),
    }
}

/// The estimate limit's refusal, at ExecutorStart, before any row changes.
pub fn estimate_refusal(command: &str, relation: &str, estimate: f64, limit: i32) -> Refusal {
    let rows = estimate.round() as u64;
    Refusal {
        sqlstate: PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
        message: format!("nspg_guard: {command} on \"{relation}\" is estimated to change {rows} rows, more than the limit of {limit}"),
        detail: format!(
            "The planner estimates {rows} rows from the table's statistics; nspg_guard.max_rows_estimate = {limit}. Nothing was changed."
        ),
        hint: format!("Restrict the rows further or change them in batches; if the statistics are out of date, ANALYZE the table. {OVERRIDE_HINT}"),
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
        let one = |command, relation: &str, rows| Changed { command, relation: relation.to_string(), rows };
        let r = row_limit_refusal("UPDATE", &[one("UPDATE", "public.orders", 120)], 100);
        assert_eq!(r.message, "nspg_guard: UPDATE on \"public.orders\" would change 120 rows, more than the limit of 100");
        let r = row_limit_refusal("DELETE", &[one("DELETE", "a.parent", 1), one("DELETE", "a.child", 12), one("UPDATE", "a.log", 10)], 5);
        assert_eq!(r.message, "nspg_guard: the statement would change 23 rows, more than the limit of 5: 1 DELETE in \"a.parent\", 12 DELETE in \"a.child\", 10 UPDATE in \"a.log\"");
        assert_eq!(r.object.as_deref(), Some("a.parent, a.child, a.log"));
        let many: Vec<Changed> = (0..10).map(|i| one("DELETE", &format!("s.t{i}"), 1)).collect();
        assert!(row_limit_refusal("DELETE", &many, 5).message.ends_with("1 DELETE in \"s.t7\", and 2 more tables"));
        let r = estimate_refusal("DELETE", "public.big", 99_871.6, 1000);
        assert_eq!(r.message, "nspg_guard: DELETE on \"public.big\" is estimated to change 99872 rows, more than the limit of 1000");
        assert!(r.detail.contains("99872") && r.hint.contains("allow_destructive"));
        assert_eq!(drop_warning("DROP TABLE", &["a.b".into()], true),
                   "nspg_guard: DROP TABLE removed a.b, and with CASCADE every object that depended on them");
    }

    use Cond::{And, Constant, NullTest, Or, SelfComparison};

    fn col(not_null: bool) -> Operand {
        Operand::TargetColumn { not_null }
    }
    fn other(references_target: bool) -> Cond {
        Cond::Other { references_target }
    }
    fn not_null_test(operand: Operand) -> Cond {
        NullTest { operand, is_null: false }
    }

    #[test]
    fn conditions_on_target_columns_restrict() {
        assert!(condition_restricts(&other(true)), "WHERE id = 5");
        assert!(condition_restricts(&And(vec![other(false), other(true)])), "WHERE now() > x AND id = 5");
        assert!(condition_restricts(&Or(vec![other(true), other(true)])), "WHERE id = 1 OR id = 2");
        assert!(condition_restricts(&not_null_test(col(false))), "IS NOT NULL on a nullable column is a real filter");
        assert!(condition_restricts(&NullTest { operand: col(true), is_null: true }), "WHERE id IS NULL");
        assert!(condition_restricts(&Cond::Not(Box::new(other(true)))), "WHERE NOT (id = 1)");
        assert!(condition_restricts(&Constant(false)), "WHERE false changes nothing");
    }

    #[test]
    fn conditions_that_ignore_the_target_do_not_restrict() {
        assert!(!condition_restricts(&Constant(true)));
        assert!(!condition_restricts(&other(false)), "WHERE 1 = 1, now() > x, $1 = $1, uncorrelated EXISTS");
        assert!(!condition_restricts(&Or(vec![other(true), other(false)])), "WHERE id = 1 OR random() < 2");
        assert!(!condition_restricts(&And(vec![])));
    }

    #[test]
    fn tautologies_on_a_column_do_not_restrict() {
        assert!(!condition_restricts(&SelfComparison), "WHERE id = id");
        assert!(!condition_restricts(&not_null_test(col(true))), "IS NOT NULL on a NOT NULL column");
        assert!(!condition_restricts(&not_null_test(Operand::SystemColumn)), "ctid IS NOT NULL");
        assert!(!condition_restricts(&not_null_test(Operand::WholeRow)), "t IS NOT NULL");
        let not_is_null = Cond::Not(Box::new(NullTest { operand: col(true), is_null: true }));
        assert!(!condition_restricts(&not_is_null), "NOT (id IS NULL) on a NOT NULL column");
        assert!(condition_restricts(&Cond::Not(Box::new(NullTest { operand: col(false), is_null: true }))), "nullable: a filter");
        assert!(!condition_restricts(&Or(vec![other(true), SelfComparison])), "WHERE id = 1 OR id = id");
        assert!(!condition_restricts(&Or(vec![other(true), not_null_test(Operand::SystemColumn)])));
        assert!(!condition_restricts(&And(vec![SelfComparison, not_null_test(col(true))])), "an AND of tautologies");
        assert!(condition_restricts(&And(vec![SelfComparison, other(true)])), "a tautology next to a real condition");
        assert!(!condition_restricts(&Cond::Not(Box::new(Constant(false)))), "NOT false");
        assert!(always_true(&Or(vec![other(true), not_null_test(Operand::WholeRow)])));
        assert!(!always_true(&not_null_test(col(false))) && !always_true(&other(true)));
    }

    #[test]
    fn deep_conditions_are_judged_without_recursion() {
        let mut cond = other(true);
        for i in 0..100_000 {
            cond = if i % 2 == 0 { And(vec![cond, other(false)]) } else { Or(vec![cond, other(true)]) };
        }
        assert!(condition_restricts(&cond));
        // taken apart from the top, so that dropping it does not recurse either
        while let And(mut parts) | Or(mut parts) = cond {
            cond = parts.swap_remove(0);
        }
    }

    #[test]
    fn upsert_sources() {
        // INSERT INTO t SELECT * FROM t ON CONFLICT DO UPDATE: the source reads t (entry 2) unrestricted
        assert!(upsert_source_unbounded(&scan(2, 2, vec![]), &[2]));
        assert!(!upsert_source_unbounded(&scan(2, 2, vec![Column(2)]), &[2]), "… WHERE id = 5");
        assert!(!upsert_source_unbounded(&scan(U, 2, vec![]), &[]), "a source that never reads the target");
        // UNION ALL of a restricted and an unrestricted read of t: the second rewrites every row
        let union = PlanNode {
            appends: true,
            targetlist: vec![vec![Outer(1)]],
            children: vec![scan(2, 1, vec![Column(2)]), scan(3, 1, vec![])],
            ..PlanNode::default()
        };
        assert!(upsert_source_unbounded(&union, &[2, 3]));
        // joined to another table on the key: bounded by the join
        let joined = join(scan(2, 1, vec![]), scan(U, 1, vec![]), vec![Outer(1), Inner(1)]);
        assert!(!upsert_source_unbounded(&joined, &[2]));
    }

    #[test]
    fn plans_without_scans_read_no_rows() {
        assert!(!reads_rows(&gate(PlanNode::default(), vec![])));
        assert!(reads_rows(&gate(scan(U, 1, vec![]), vec![])));
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
