//! Executor glue for the destructive-statement guard: reads a planned statement's
//! ModifyTable nodes into `destructive::PlanNode`s for the WHERE and upsert rules, applies the
//! marks `guard/destructive.rs` left on statements unbounded as written, and the estimate limit
//! (ExecutorStart); checks the rows `guard/row_count.rs` counted against the blast-radius limit
//! (ExecutorFinish).
//!
//! Checking at execution rather than at parse analysis is what makes cached plans (PREPARE,
//! PL/pgSQL, SQL functions) obey the guard's current mode. A SELECT without a data-modifying
//! CTE leaves after two field reads; DML with a WHERE costs a walk of a few plan nodes and no
//! catalog access.

use crate::guard::access;
use crate::guard::catalog_writes;
use crate::guard::destructive as destructive_marks;
use crate::guard::overrides;
use crate::guard::protect;
use crate::guard::row_count;
use crate::pg::list;
use crate::pg::objects;
use crate::pg::settings;
use crate::policy::audit_event::AuditClass;
use crate::policy::destructive::{self, PlanNode, Ref};
use crate::policy::verdict::{Enforcement, Refusal};
use crate::trail::report;
use crate::trail::write;
use pgrx::PgList;
use pgrx::pg_sys::{self, CmdType, NodeTag};
use std::ffi::c_void;

/// ExecutorStart: the WHERE rule for every UPDATE/DELETE/MERGE the statement contains, the
/// upsert rule, and the estimate limit.
///
/// # Safety
/// `query_desc` is the executor's valid QueryDesc.
pub unsafe fn check_start(query_desc: *mut pg_sys::QueryDesc, eflags: i32) {
    if eflags & pg_sys::EXEC_FLAG_EXPLAIN_ONLY as i32 != 0 {
        return;
    }
    access::note_start(query_desc);
    let stmt = (*query_desc).plannedstmt;
    if (*stmt).commandType == CmdType::CMD_SELECT && !(*stmt).hasModifyingCTE {
        return;
    }
    let modify_tables = ModifyTables::of(stmt);
    for mt in modify_tables.iter() {
        for rti in targets_of(mt) {
            let relid = relid_of(stmt, rti);
            protect::check_write(relid, command_of(mt));
            if catalog_writes::is_catalog(relid) {
                catalog_writes::note_write(query_desc, command_of(mt), relid);
            }
        }
    }
    let enforcement = Enforcement::from(settings::DESTRUCTIVE_GUARD.get());
    if enforcement == Enforcement::Ignore || overrides::active() {
        return;
    }
    if let Some(refusal) = destructive_marks::judging_with((*query_desc).params, || unbounded(stmt, &modify_tables)) {
        report::raise(refusal, enforcement);
    }
    if let Some(refusal) = over_estimate(stmt, &modify_tables) {
        report::raise(refusal, enforcement);
    }
}

/// The statement's ModifyTable nodes, without allocating in the usual case: a statement with no
/// data-modifying CTE has one, at the top of its plan; otherwise the plan and its subplans
/// (where data-modifying CTEs are planned) are walked for them.
enum ModifyTables {
    One(*mut pg_sys::ModifyTable),
    Walked(Vec<*mut pg_sys::ModifyTable>),
}

impl ModifyTables {
    unsafe fn of(stmt: *mut pg_sys::PlannedStmt) -> ModifyTables {
        let top = (*stmt).planTree;
        if !(*stmt).hasModifyingCTE && !top.is_null() && (*top).type_ == NodeTag::T_ModifyTable && !has_modify_table_below(top) {
            return ModifyTables::One(top as *mut pg_sys::ModifyTable);
        }
        let mut found = Vec::new();
        for_each_modify_table(top, &mut |mt| found.push(mt));
        for_each_plan((*stmt).subplans, &mut |plan| for_each_modify_table(plan, &mut |mt| found.push(mt)));
        ModifyTables::Walked(found)
    }

    fn iter(&self) -> impl Iterator<Item = *mut pg_sys::ModifyTable> + '_ {
        let (one, many): (Option<_>, &[_]) = match self {
            ModifyTables::One(mt) => (Some(*mt), &[]),
            ModifyTables::Walked(found) => (None, found),
        };
        one.into_iter().chain(many.iter().copied())
    }
}

/// Is there a ModifyTable in the plan below `top` (walked without allocating)?
unsafe fn has_modify_table_below(top: *mut pg_sys::Plan) -> bool {
    let mut any = false;
    for_each_child(top, &mut |child| for_each_modify_table(child, &mut |_| any = true));
    any
}

/// Has the statement nodes the row counter must watch as they run — writable CTEs, an upsert?
/// (Its own UPDATE/DELETE/MERGE is counted when it finishes.) Read from a plain frame: field reads
/// only.
///
/// # Safety
/// `stmt` is a valid PlannedStmt.
pub unsafe fn may_change_rows(stmt: *mut pg_sys::PlannedStmt) -> bool {
    match (*stmt).commandType {
        _ if (*stmt).hasModifyingCTE => true,
        // a rule's extra action: PostgreSQL does not count its rows
        CmdType::CMD_UPDATE | CmdType::CMD_DELETE | CmdType::CMD_MERGE => !(*stmt).canSetTag,
        CmdType::CMD_INSERT => {
            let top = (*stmt).planTree;
            !top.is_null()
                && (*top).type_ == NodeTag::T_ModifyTable
                && (*(top as *mut pg_sys::ModifyTable)).onConflictAction == pg_sys::OnConflictAction::ONCONFLICT_UPDATE
        }
        _ => false,
    }
}

/// After ExecutorStart has built the executor's nodes: count what they change.
///
/// # Safety
/// `query_desc` has been through ExecutorStart.
pub unsafe fn watch(query_desc: *mut pg_sys::QueryDesc, eflags: i32) {
    if eflags & pg_sys::EXEC_FLAG_EXPLAIN_ONLY as i32 == 0 {
        row_count::watch(query_desc);
    }
}

/// The first statement part that would change rows without restricting them: an
/// UPDATE/DELETE/MERGE whose own condition (as written: `guard/destructive.rs` marked it) or
/// whose plan does not restrict its target, or an upsert whose source reads its own target
/// unrestricted. A part whose plan reads no rows at all changes nothing.
unsafe fn unbounded(stmt: *mut pg_sys::PlannedStmt, modify_tables: &ModifyTables) -> Option<Refusal> {
    let marks = destructive_marks::marks(stmt);
    let mut owned = vec![false; marks.len()];
    let mut any_reads = false;
    let mut found = None;
    for mt in modify_tables.iter() {
        let destructive = is_destructive(mt);
        let upsert = (*mt).operation == CmdType::CMD_INSERT && (*mt).onConflictAction == pg_sys::OnConflictAction::ONCONFLICT_UPDATE;
        if !(destructive || upsert || !marks.is_empty()) {
            continue;
        }
        let mut own_marks = Vec::new();
        if !marks.is_empty() {
            let targets: Vec<u32> = targets_of(mt).chain(std::iter::once((*mt).nominalRelation)).collect();
            own_marks.extend((0..marks.len()).filter(|&i| targets.contains(&marks[i].rti)));
            own_marks.iter().for_each(|&i| owned[i] = true);
        }
        if marks.is_empty() && destructive && scan_compares_target_column(mt) {
            continue;
        }
        let source = simplify(stmt, (*mt).plan.lefttree);
        if !destructive::reads_rows(&source) {
            continue;
        }
        any_reads = true;
        if found.is_some() {
            continue;
        }
        if let Some(&i) = own_marks.first() {
            found = Some(mark_refusal(&marks[i]));
        } else if destructive && !destructive::restricts_target(&source, &targets_of(mt).collect::<Vec<_>>()) {
            found = Some(destructive::unbounded_refusal(command_of(mt), &target_name(stmt, mt)));
        } else if upsert && destructive::upsert_source_unbounded(&source, &target_scans(stmt, mt, &source)) {
            found = Some(destructive::upsert_refusal(&target_name(stmt, mt)));
        }
    }
    // A view's or a rule's statement: its mark is on the view, which no node changes itself.
    match owned.iter().position(|&o| !o) {
        Some(i) if found.is_none() && any_reads => Some(mark_refusal(&marks[i])),
        _ => found,
    }
}

/// The usual bounded UPDATE/DELETE, recognized by field reads before the plan is simplified:
/// the node below it scans a target and filters on a comparison of one of its columns with a
/// value (`WHERE id = $1`), which the WHERE rule would find restricting too.
unsafe fn scan_compares_target_column(mt: *mut pg_sys::ModifyTable) -> bool {
    let scan = (*mt).plan.lefttree;
    if scan.is_null() {
        return false;
    }
    let lists: [*mut pg_sys::List; 2] = match (*scan).type_ {
        NodeTag::T_SeqScan => [(*scan).qual, std::ptr::null_mut()],
        NodeTag::T_IndexScan => [(*scan).qual, (*(scan as *mut pg_sys::IndexScan)).indexqualorig],
        _ => return false,
    };
    let rti = (*(scan as *mut pg_sys::Scan)).scanrelid;
    if !list::ints((*mt).resultRelations).any(|r| r as u32 == rti) {
        return false;
    }
    let column_vs_value = |node: *mut pg_sys::Node| -> bool {
        if node.is_null() || (*node).type_ != NodeTag::T_OpExpr {
            return false;
        }
        let args = (*(node as *mut pg_sys::OpExpr)).args;
        let (Some(a), Some(b), 2) = (list::nth(args, 0), list::nth(args, 1), list::len(args)) else { return false };
        let column = |n: *mut pg_sys::Node| {
            (*n).type_ == NodeTag::T_Var && (*(n as *mut pg_sys::Var)).varno as u32 == rti && (*(n as *mut pg_sys::Var)).varattno > 0
        };
        let value = |n: *mut pg_sys::Node| matches!((*n).type_, NodeTag::T_Const | NodeTag::T_Param);
        (column(a) && value(b)) || (value(a) && column(b))
    };
    lists.iter().any(|&list| list::ptrs::<pg_sys::Node>(list).any(column_vs_value))
}

unsafe fn mark_refusal(mark: &destructive_marks::Mark) -> Refusal {
    destructive::unbounded_refusal(mark.command, &objects::relation_name(mark.relid))
}

extern "C-unwind" {
    /// catalog/pg_inherits.h, which pgrx's bindings leave out.
    fn find_all_inheritors(parent: pg_sys::Oid, lockmode: pg_sys::LOCKMODE, parents: *mut *mut pg_sys::List) -> *mut pg_sys::List;
}

/// The range-table entries the upsert's source scans that are its target or, for a
/// partitioned target, one of its partitions.
unsafe fn target_scans(stmt: *mut pg_sys::PlannedStmt, mt: *mut pg_sys::ModifyTable, source: &PlanNode) -> Vec<u32> {
    let target = relid_of(stmt, (*mt).nominalRelation);
    let family: Vec<pg_sys::Oid> = if pg_sys::get_rel_relkind(target) == pg_sys::RELKIND_PARTITIONED_TABLE as std::ffi::c_char {
        PgList::<pg_sys::Oid>::from_pg(find_all_inheritors(target, pg_sys::NoLock as i32, std::ptr::null_mut()))
            .iter_oid()
            .collect()
    } else {
        vec![target]
    };
    let mut scans = Vec::new();
    let mut stack = vec![source];
    while let Some(node) = stack.pop() {
        if let Some(rti) = node.scans {
            if family.contains(&relid_of(stmt, rti)) {
                scans.push(rti);
            }
        }
        stack.extend(node.children.iter());
    }
    scans
}

/// The estimate limit: an UPDATE/DELETE/MERGE whose plan expects to feed more rows to its
/// target than `max_rows_estimate`.
unsafe fn over_estimate(stmt: *mut pg_sys::PlannedStmt, modify_tables: &ModifyTables) -> Option<Refusal> {
    let limit = settings::MAX_ROWS_ESTIMATE.get();
    if limit <= 0 {
        return None;
    }
    modify_tables.iter().filter(|&mt| is_destructive(mt)).find_map(|mt| {
        let source = (*mt).plan.lefttree;
        let estimate = if source.is_null() { 0.0 } else { (*source).plan_rows };
        (estimate > limit as f64).then(|| destructive::estimate_refusal(command_of(mt), &target_name(stmt, mt), estimate, limit))
    })
}

/// ExecutorFinish (after the statement and what it set off ran — triggers, foreign-key actions,
/// writable CTEs): the row limit over every row counted since the client statement began. An
/// ERROR here aborts the statement's (sub)transaction, so nothing it changed persists.
///
/// # Safety
/// `query_desc` is the executor's valid QueryDesc, after ExecutorRun.
pub unsafe fn check_finish(query_desc: *mut pg_sys::QueryDesc) {
    access::note_finish(query_desc);
    let stmt = (*query_desc).plannedstmt;
    catalog_writes::check_written(query_desc, (*(*query_desc).estate).es_processed, || {
        Some(crate::pg::statement::statement_text((*query_desc).sourceText, stmt))
    });
    row_count::count_primary(query_desc);
    let limit = settings::MAX_ROWS_PER_STATEMENT.get();
    if overrides::active() {
        if (*stmt).commandType != CmdType::CMD_SELECT || (*stmt).hasModifyingCTE {
            record_overridden(query_desc, limit);
        }
        return;
    }
    if limit <= 0 || row_count::total() <= limit as u64 {
        return;
    }
    let enforcement = Enforcement::from(settings::DESTRUCTIVE_GUARD.get());
    // warn: once per client statement, when its count first passes the limit
    if enforcement == Enforcement::Ignore || (enforcement == Enforcement::Warn && !row_count::first_warning()) {
        return;
    }
    let refusal = destructive::row_limit_refusal(command_name((*query_desc).operation), &row_count::changed(), limit);
    report::raise(refusal, enforcement);
}

/// A statement the guard let through only because of `allow_destructive()` leaves a
/// `destructive` audit row, in its own transaction: it exists exactly if the change commits.
unsafe fn record_overridden(query_desc: *mut pg_sys::QueryDesc, limit: i32) {
    let stmt = (*query_desc).plannedstmt;
    let rows = (*(*query_desc).estate).es_processed;
    let over_limit = limit > 0 && rows > limit as u64;
    let modify_tables = ModifyTables::of(stmt);
    let over_estimate = over_estimate(stmt, &modify_tables).is_some();
    let unbounded = unbounded(stmt, &modify_tables).and_then(|r| r.object);
    if !(over_limit || over_estimate || unbounded.is_some()) || !write::audited(AuditClass::Destructive) {
        return;
    }
    let mut event = write::event(AuditClass::Destructive, "committed");
    event.command_tag = Some(command_name((*query_desc).operation).to_string());
    event.object_type = Some("table".into());
    event.object_identity = unbounded;
    event.rows = Some(rows as i64);
    event.statement = Some(crate::pg::statement::statement_text((*query_desc).sourceText, (*query_desc).plannedstmt));
    event.reason = overrides::reason();
    event.details = Some(serde_json::json!({
        "unbounded": event.object_identity.is_some(),
        "over_row_limit": over_limit,
        "over_estimate": over_estimate,
    }));
    write::record_committed(event);
}

unsafe fn relid_of(stmt: *mut pg_sys::PlannedStmt, rti: u32) -> pg_sys::Oid {
    (rti as usize).checked_sub(1).and_then(|n| list::nth::<pg_sys::RangeTblEntry>((*stmt).rtable, n)).map_or(pg_sys::InvalidOid, |rte| (*rte).relid)
}

/// Recursion follows the plan tree, so each level checks the stack as PostgreSQL's walkers do.
unsafe fn for_each_modify_table(plan: *mut pg_sys::Plan, f: &mut dyn FnMut(*mut pg_sys::ModifyTable)) {
    crate::pg::backend::check_stack_depth();
    if plan.is_null() {
        return;
    }
    if (*plan).type_ == NodeTag::T_ModifyTable {
        f(plan as *mut pg_sys::ModifyTable);
    }
    for_each_child(plan, &mut |child| for_each_modify_table(child, f));
}

/// UPDATE and DELETE always; MERGE when a WHEN MATCHED action updates or deletes.
unsafe fn is_destructive(mt: *mut pg_sys::ModifyTable) -> bool {
    match (*mt).operation {
        CmdType::CMD_UPDATE | CmdType::CMD_DELETE => true,
        CmdType::CMD_MERGE => list::ptrs::<pg_sys::List>((*mt).mergeActionLists).any(|actions| {
            list::ptrs::<pg_sys::MergeAction>(actions).any(|a| {
                (*a).matched && matches!((*a).commandType, CmdType::CMD_UPDATE | CmdType::CMD_DELETE)
            })
        }),
        _ => false,
    }
}

/// The range-table entries the node changes, and its partitioned root if any.
unsafe fn targets_of(mt: *mut pg_sys::ModifyTable) -> impl Iterator<Item = u32> {
    list::ints((*mt).resultRelations).map(|rti| rti as u32).chain(((*mt).rootRelation > 0).then_some((*mt).rootRelation))
}

fn command_name(operation: CmdType::Type) -> &'static str {
    match operation {
        CmdType::CMD_UPDATE => "UPDATE",
        CmdType::CMD_DELETE => "DELETE",
        CmdType::CMD_MERGE => "MERGE",
        CmdType::CMD_INSERT => "INSERT",
        _ => "statement",
    }
}

unsafe fn command_of(mt: *mut pg_sys::ModifyTable) -> &'static str {
    command_name((*mt).operation)
}

/// `schema.table` of the statement's nominal target, for messages (refusal path only).
unsafe fn target_name(stmt: *mut pg_sys::PlannedStmt, mt: *mut pg_sys::ModifyTable) -> String {
    let rti = if (*mt).rootRelation > 0 { (*mt).rootRelation } else { (*mt).nominalRelation };
    objects::relation_name(relid_of(stmt, rti))
}

/// Calls `f` with each plan of a List of plans.
unsafe fn for_each_plan(list: *mut pg_sys::List, f: &mut dyn FnMut(*mut pg_sys::Plan)) {
    list::ptrs::<pg_sys::Plan>(list).for_each(f);
}

/// Calls `f` with each child of a plan node: its outer and inner plans, and the plans an
/// Append, MergeAppend, BitmapAnd or BitmapOr combines or a SubqueryScan scans. No allocation.
unsafe fn for_each_child(plan: *mut pg_sys::Plan, f: &mut dyn FnMut(*mut pg_sys::Plan)) {
    for child in [(*plan).lefttree, (*plan).righttree] {
        if !child.is_null() {
            f(child);
        }
    }
    let list = match (*plan).type_ {
        NodeTag::T_Append => (*(plan as *mut pg_sys::Append)).appendplans,
        NodeTag::T_MergeAppend => (*(plan as *mut pg_sys::MergeAppend)).mergeplans,
        NodeTag::T_BitmapAnd => (*(plan as *mut pg_sys::BitmapAnd)).bitmapplans,
        NodeTag::T_BitmapOr => (*(plan as *mut pg_sys::BitmapOr)).bitmapplans,
        NodeTag::T_SubqueryScan => return f((*(plan as *mut pg_sys::SubqueryScan)).subplan),
        _ => return,
    };
    for_each_plan(list, f);
}

fn is_scan(tag: NodeTag) -> bool {
    use NodeTag::*;
    matches!(
        tag,
        T_SeqScan | T_SampleScan | T_IndexScan | T_IndexOnlyScan | T_BitmapIndexScan | T_BitmapHeapScan
            | T_TidScan | T_TidRangeScan | T_SubqueryScan | T_FunctionScan | T_ValuesScan | T_TableFuncScan
            | T_CteScan | T_NamedTuplestoreScan | T_WorkTableScan | T_ForeignScan | T_CustomScan
    )
}

/// The plan of the CTE a CteScan reads (a materialized CTE is a subplan of the statement): what
/// it scans is what the scan yields, for the upsert rule.
unsafe fn cte_plan(stmt: *mut pg_sys::PlannedStmt, plan: *mut pg_sys::Plan) -> Option<*mut pg_sys::Plan> {
    if (*plan).type_ != NodeTag::T_CteScan {
        return None;
    }
    let id = (*(plan as *mut pg_sys::CteScan)).ctePlanId;
    list::nth((*stmt).subplans, (id as usize).checked_sub(1)?)
}

/// Reads one plan subtree into the WHERE rule's plain form (checking the stack at each level).
unsafe fn simplify(stmt: *mut pg_sys::PlannedStmt, plan: *mut pg_sys::Plan) -> PlanNode {
    crate::pg::backend::check_stack_depth();
    if plan.is_null() {
        return PlanNode::default();
    }
    let tag = (*plan).type_;
    let scans = is_scan(tag).then(|| (*(plan as *mut pg_sys::Scan)).scanrelid);
    let scope = scans.unwrap_or(0);
    let targetlist = list::ptrs::<pg_sys::TargetEntry>((*plan).targetlist)
        .map(|te| refs_in((*te).expr as *mut pg_sys::Node, scope))
        .collect();
    let mut conditions = Vec::new();
    for list in std::iter::once((*plan).qual as *mut pg_sys::Node).chain(extra_conditions(plan)) {
        conditions.extend(restricting_refs(stmt, list, scans));
    }
    let params_set = if tag == NodeTag::T_NestLoop {
        list::ptrs::<pg_sys::NestLoopParam>((*(plan as *mut pg_sys::NestLoop)).nestParams)
            .map(|p| ((*p).paramno, refs_in((*p).paramval as *mut pg_sys::Node, scope)))
            .collect()
    } else {
        Vec::new()
    };
    PlanNode {
        scans,
        appends: matches!(tag, NodeTag::T_Append | NodeTag::T_MergeAppend),
        targetlist,
        conditions,
        params_set,
        children: {
            let mut children = Vec::new();
            for_each_child(plan, &mut |c| children.push(simplify(stmt, c)));
            children.extend(cte_plan(stmt, plan).map(|c| simplify(stmt, c)));
            children
        },
    }
}

/// The references of the conditions in a list (or one expression) that can restrict rows: on a
/// scan, a condition that is always true of the scanned table's rows (`id IS NOT NULL` on a NOT
/// NULL column — the planner's form of `id = id` —, `ctid IS NOT NULL`, an OR with such an arm)
/// restricts nothing and is left out. This also covers statements never parsed in this backend
/// (SQL-standard function bodies), which the rule as written does not see.
unsafe fn restricting_refs(stmt: *mut pg_sys::PlannedStmt, list: *mut pg_sys::Node, scans: Option<u32>) -> Vec<Ref> {
    let scope = scans.unwrap_or(0);
    if list.is_null() {
        return Vec::new();
    }
    let Some(rti) = scans.filter(|&rti| rti > 0) else { return refs_in(list, scope) };
    if (*list).type_ != NodeTag::T_List {
        return if destructive_marks::always_true_on(list, rti, relid_of(stmt, rti)) { Vec::new() } else { refs_in(list, scope) };
    }
    // the usual list of plain comparisons has no candidate: read at once
    let candidates = list::ptrs::<pg_sys::Node>(list as *mut pg_sys::List)
        .any(|c| destructive_marks::may_be_always_true(c));
    if !candidates {
        return refs_in(list, scope);
    }
    let mut refs = Vec::new();
    for condition in list::ptrs::<pg_sys::Node>(list as *mut pg_sys::List) {
        if !destructive_marks::always_true_on(condition, rti, relid_of(stmt, rti)) {
            refs.extend(refs_in(condition, scope));
        }
    }
    refs
}

/// The node-specific conditions beyond `plan.qual`: index and join conditions, gating quals.
unsafe fn extra_conditions(plan: *mut pg_sys::Plan) -> Vec<*mut pg_sys::Node> {
    let list = |l: *mut pg_sys::List| l as *mut pg_sys::Node;
    match (*plan).type_ {
        NodeTag::T_IndexScan => vec![list((*(plan as *mut pg_sys::IndexScan)).indexqualorig)],
        NodeTag::T_IndexOnlyScan => vec![list((*(plan as *mut pg_sys::IndexOnlyScan)).indexqual)],
        NodeTag::T_BitmapIndexScan => vec![list((*(plan as *mut pg_sys::BitmapIndexScan)).indexqualorig)],
        NodeTag::T_BitmapHeapScan => vec![list((*(plan as *mut pg_sys::BitmapHeapScan)).bitmapqualorig)],
        NodeTag::T_TidScan => vec![list((*(plan as *mut pg_sys::TidScan)).tidquals)],
        NodeTag::T_TidRangeScan => vec![list((*(plan as *mut pg_sys::TidRangeScan)).tidrangequals)],
        NodeTag::T_ForeignScan => vec![list((*(plan as *mut pg_sys::ForeignScan)).fdw_recheck_quals)],
        NodeTag::T_Result => vec![(*(plan as *mut pg_sys::Result)).resconstantqual],
        NodeTag::T_NestLoop => vec![list((*(plan as *mut pg_sys::Join)).joinqual)],
        NodeTag::T_MergeJoin => vec![
            list((*(plan as *mut pg_sys::Join)).joinqual),
            list((*(plan as *mut pg_sys::MergeJoin)).mergeclauses),
        ],
        NodeTag::T_HashJoin => vec![
            list((*(plan as *mut pg_sys::Join)).joinqual),
            list((*(plan as *mut pg_sys::HashJoin)).hashclauses),
        ],
        _ => Vec::new(),
    }
}

struct Collector {
    refs: Vec<Ref>,
    /// The range-table entry that INDEX_VAR references stand for (the scan's own relation).
    scope: u32,
}

/// Every column and executor-parameter reference in an expression (or a List of them).
unsafe fn refs_in(expr: *mut pg_sys::Node, scope: u32) -> Vec<Ref> {
    let mut collector = Collector { refs: Vec::new(), scope };
    if !expr.is_null() {
        collect_node(expr, &mut collector);
    }
    collector.refs
}

/// The walk's Rust side: the usual nodes (comparisons, function calls, boolean combinations,
/// lists, casts) are taken apart here, without a guarded call into PostgreSQL per node; any
/// other node goes to expression_tree_walker, which calls back `collect`.
unsafe fn collect_node(node: *mut pg_sys::Node, collector: &mut Collector) {
    crate::pg::backend::check_stack_depth();
    if node.is_null() {
        return;
    }
    let list = match (*node).type_ {
        NodeTag::T_OpExpr | NodeTag::T_DistinctExpr | NodeTag::T_NullIfExpr => (*(node as *mut pg_sys::OpExpr)).args,
        NodeTag::T_FuncExpr => (*(node as *mut pg_sys::FuncExpr)).args,
        NodeTag::T_BoolExpr => (*(node as *mut pg_sys::BoolExpr)).args,
        NodeTag::T_List => node as *mut pg_sys::List,
        NodeTag::T_RelabelType => return collect_node((*(node as *mut pg_sys::RelabelType)).arg as *mut pg_sys::Node, collector),
        NodeTag::T_NullTest => return collect_node((*(node as *mut pg_sys::NullTest)).arg as *mut pg_sys::Node, collector),
        NodeTag::T_Const => return,
        NodeTag::T_Var | NodeTag::T_Param | NodeTag::T_CurrentOfExpr => {
            collect_leaf(node, collector);
            return;
        }
        _ => {
            pg_sys::expression_tree_walker(node, Some(collect), collector as *mut Collector as *mut c_void);
            return;
        }
    };
    for child in list::ptrs::<pg_sys::Node>(list) {
        collect_node(child, collector);
    }
}

/// expression_tree_walker's callback (guarded: PostgreSQL's frames are between it and us).
#[pgrx::pg_guard]
unsafe extern "C-unwind" fn collect(node: *mut pg_sys::Node, context: *mut c_void) -> bool {
    collect_node(node, &mut *(context as *mut Collector));
    false
}

/// A column or executor-parameter reference.
unsafe fn collect_leaf(node: *mut pg_sys::Node, collector: &mut Collector) {
    match (*node).type_ {
        NodeTag::T_Var => {
            let var = &*(node as *mut pg_sys::Var);
            let attno = var.varattno.max(0) as usize;
            collector.refs.push(match var.varno {
                pg_sys::OUTER_VAR => Ref::Outer(attno),
                pg_sys::INNER_VAR => Ref::Inner(attno),
                pg_sys::INDEX_VAR => Ref::Column(collector.scope),
                rti => Ref::Column(rti as u32),
            });
        }
        NodeTag::T_Param => {
            let param = &*(node as *mut pg_sys::Param);
            if param.paramkind == pg_sys::ParamKind::PARAM_EXEC {
                collector.refs.push(Ref::Param(param.paramid));
            }
        }
        NodeTag::T_CurrentOfExpr => {
            collector.refs.push(Ref::Column((*(node as *mut pg_sys::CurrentOfExpr)).cvarno));
        }
        _ => {}
    }
}
