//! RLS policy expressions as `lint_expr` takes them: the stored tree (`pg_policy.polqual` or
//! `polwithcheck`) read with PostgreSQL's own node reader and walked into the pure module's
//! [`lint_expr::Expr`], and the catalog facts its decisions ask for ([`Syscache`]).

use crate::pg::text::text;
use crate::policy::lint_expr::{self, Catalog, Function, Kind, Volatility};
use pgrx::pg_guard;
use pgrx::pg_sys::{self, NodeTag};
use std::ffi::{c_void, CStr};

// pg_policy's catalog numbers (catalog/pg_policy_d.h); the bindings do not carry them.
const POLICY_RELATION_ID: u32 = 3256;
const POLICY_OID_INDEX_ID: u32 = 3257;
const ANUM_PG_POLICY_OID: i16 = 1;
pub const ANUM_PG_POLICY_POLQUAL: i32 = 7;
pub const ANUM_PG_POLICY_POLWITHCHECK: i32 = 8;

/// Operator and function facts for `lint_expr`, from the syscache.
pub struct Syscache;

impl Catalog for Syscache {
    fn operator_name(&self, opno: u32) -> Option<String> {
        text(unsafe { pg_sys::get_opname(pg_sys::Oid::from(opno)) })
    }

    fn function(&self, funcid: u32) -> Option<Function> {
        let oid = pg_sys::Oid::from(funcid);
        // get_func_name answers NULL for a missing function; func_volatile would raise.
        let name = text(unsafe { pg_sys::get_func_name(oid) })?;
        let volatility = match unsafe { pg_sys::func_volatile(oid) } as u8 {
            pg_sys::PROVOLATILE_IMMUTABLE => Volatility::Immutable,
            pg_sys::PROVOLATILE_STABLE => Volatility::Stable,
            _ => Volatility::Volatile,
        };
        let strict = unsafe { pg_sys::func_strict(oid) };
        // initdb's objects, PostgreSQL's own functions among them, have oids below this
        let builtin = funcid < pg_sys::FirstNormalObjectId;
        Some(Function { name, volatility, strict, builtin })
    }
}

/// Reads column `attnum` of the pg_policy row of `policy` with PostgreSQL's node reader and
/// walks it into the pure module's tree. `None` for no such row or a NULL column; an error
/// (for the caller to raise) for a stored tree that is not a tree.
pub unsafe fn stored(policy: pg_sys::Oid, attnum: i32) -> Result<Option<lint_expr::Expr>, &'static str> {
    let rel = pg_sys::table_open(pg_sys::Oid::from(POLICY_RELATION_ID), pg_sys::AccessShareLock as pg_sys::LOCKMODE);
    let mut key = pg_sys::ScanKeyData::default();
    pg_sys::ScanKeyInit(
        &mut key,
        ANUM_PG_POLICY_OID,
        pg_sys::BTEqualStrategyNumber as pg_sys::StrategyNumber,
        pg_sys::RegProcedure::from(pg_sys::F_OIDEQ),
        pg_sys::Datum::from(policy),
    );
    let scan = pg_sys::systable_beginscan(rel, pg_sys::Oid::from(POLICY_OID_INDEX_ID), true, std::ptr::null_mut(), 1, &mut key);
    let tuple = pg_sys::systable_getnext(scan);
    let mut node_string = None;
    if !tuple.is_null() {
        let mut is_null = false;
        let datum = pg_sys::heap_getattr(tuple, attnum, (*rel).rd_att, &mut is_null);
        if !is_null {
            // pg_node_tree is text; copied out before the scan (and its buffer) ends
            node_string = Some(pg_sys::text_to_cstring(datum.cast_mut_ptr()));
        }
    }
    pg_sys::systable_endscan(scan);
    pg_sys::table_close(rel, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
    let Some(node_string) = node_string else { return Ok(None) };
    // PostgreSQL's reader checks the stack depth itself (54001, as pg_get_expr reports it).
    let root = pg_sys::stringToNode(node_string) as *mut pg_sys::Node;
    tree_of(root).map(Some)
}

/// A node being walked: its children (from PostgreSQL's walkers), how many are done, and the
/// ids of those done.
struct Visit {
    node: *mut pg_sys::Node,
    children: Vec<*mut pg_sys::Node>,
    next: usize,
    args: Vec<lint_expr::NodeId>,
}

impl Visit {
    unsafe fn new(node: *mut pg_sys::Node) -> Self {
        Visit { node, children: children_of(node), next: 0, args: Vec::new() }
    }
}

/// Walks a node tree into the pure module's tree, post-order, with an explicit stack:
/// PostgreSQL's walkers name each node's children (so every node type they know is followed
/// as they follow it), and the depth of the tree costs heap, not stack.
unsafe fn tree_of(root: *mut pg_sys::Node) -> Result<lint_expr::Expr, &'static str> {
    let mut expr = lint_expr::Expr::new();
    if root.is_null() {
        return Ok(expr);
    }
    let mut stack = vec![Visit::new(root)];
    while let Some(top) = stack.last_mut() {
        if let Some(&child) = top.children.get(top.next) {
            top.next += 1;
            stack.push(Visit::new(child));
            continue;
        }
        let Some(done) = stack.pop() else { break };
        let id = expr.push(kind_of(done.node), done.args).map_err(|_| "a policy expression that is not a tree")?;
        if let Some(parent) = stack.last_mut() {
            parent.args.push(id);
        }
    }
    Ok(expr)
}

/// The direct children of a node, as PostgreSQL's walkers see them (`query_tree_walker` for a
/// sub-select's Query). Lists are not nodes of their own here: their members are children of
/// the node that holds the list.
unsafe fn children_of(node: *mut pg_sys::Node) -> Vec<*mut pg_sys::Node> {
    let mut children: Vec<*mut pg_sys::Node> = Vec::new();
    let context = &mut children as *mut Vec<*mut pg_sys::Node> as *mut c_void;
    if (*node).type_ == NodeTag::T_Query {
        pg_sys::query_tree_walker(node as *mut pg_sys::Query, Some(note_child), context, 0);
    } else {
        pg_sys::expression_tree_walker(node, Some(note_child), context);
    }
    children
}

/// The walkers' callback: notes a child without descending into it (`tree_of` does that).
#[pg_guard]
unsafe extern "C-unwind" fn note_child(node: *mut pg_sys::Node, context: *mut c_void) -> bool {
    if node.is_null() {
        return false;
    }
    if (*node).type_ == NodeTag::T_List {
        // the one recursion left: lists of lists, a level or two in stored trees
        crate::pg::backend::check_stack_depth();
        return pg_sys::expression_tree_walker(node, Some(note_child), context);
    }
    (*(context as *mut Vec<*mut pg_sys::Node>)).push(node);
    false
}

/// What the decisions need to know about one node.
unsafe fn kind_of(node: *mut pg_sys::Node) -> Kind {
    match (*node).type_ {
        NodeTag::T_Const => {
            let c = &*(node as *mut pg_sys::Const);
            Kind::Const { type_oid: c.consttype.into(), is_null: c.constisnull, len: c.constlen, bytes: const_bytes(c) }
        }
        NodeTag::T_Var => {
            let v = &*(node as *mut pg_sys::Var);
            Kind::Var { levels_up: v.varlevelsup, varno: v.varno as u32, attno: v.varattno }
        }
        NodeTag::T_SQLValueFunction => {
            let op = (*(node as *mut pg_sys::SQLValueFunction)).op;
            // all of them but current_schema (NULL when no schema of the path exists) have a value
            Kind::SessionValue { name: format!("svfop {op}"), may_be_null: op == pg_sys::SQLValueFunctionOp::SVFOP_CURRENT_SCHEMA }
        }
        NodeTag::T_OpExpr => {
            let op = &*(node as *mut pg_sys::OpExpr);
            Kind::Op { opno: op.opno.into(), funcid: op_function(op).into() }
        }
        // IS DISTINCT FROM and NULLIF are OpExprs by layout; = ANY has its own struct
        NodeTag::T_DistinctExpr | NodeTag::T_NullIfExpr => {
            Kind::Func { funcid: op_function(&*(node as *mut pg_sys::OpExpr)).into() }
        }
        NodeTag::T_ScalarArrayOpExpr => {
            let op = &*(node as *mut pg_sys::ScalarArrayOpExpr);
            let funcid = if op.opfuncid == pg_sys::InvalidOid { pg_sys::get_opcode(op.opno) } else { op.opfuncid };
            Kind::Func { funcid: funcid.into() }
        }
        NodeTag::T_FuncExpr => Kind::Func { funcid: (*(node as *mut pg_sys::FuncExpr)).funcid.into() },
        NodeTag::T_BoolExpr => match (*(node as *mut pg_sys::BoolExpr)).boolop {
            pg_sys::BoolExprType::AND_EXPR => Kind::And,
            pg_sys::BoolExprType::OR_EXPR => Kind::Or,
            pg_sys::BoolExprType::NOT_EXPR => Kind::Not,
            _ => Kind::Opaque("T_BoolExpr".into()),
        },
        NodeTag::T_NullTest => {
            Kind::NullTest { is_null: (*(node as *mut pg_sys::NullTest)).nulltesttype == pg_sys::NullTestType::IS_NULL }
        }
        NodeTag::T_BooleanTest => Kind::BoolTest((*(node as *mut pg_sys::BooleanTest)).booltesttype as u8),
        NodeTag::T_SubLink => Kind::SubLink,
        NodeTag::T_Query => Kind::Query,
        NodeTag::T_RelabelType | NodeTag::T_ArrayExpr => Kind::Transparent,
        NodeTag::T_CoerceViaIO => Kind::Cast { to_type: (*(node as *mut pg_sys::CoerceViaIO)).resulttype.into() },
        NodeTag::T_CoalesceExpr => Kind::Coalesce,
        // the walker lists a CaseExpr's WHEN conditions and results itself, not its CaseWhens
        NodeTag::T_CaseExpr => Kind::Case { has_arg: !(*(node as *mut pg_sys::CaseExpr)).arg.is_null() },
        other => Kind::Opaque(format!("{other:?}")),
    }
}

/// The function behind an operator; stored trees carry it, but a zero would mean "look it up".
unsafe fn op_function(op: &pg_sys::OpExpr) -> pg_sys::Oid {
    if op.opfuncid == pg_sys::InvalidOid {
        pg_sys::get_opcode(op.opno)
    } else {
        op.opfuncid
    }
}

/// A literal's datum as bytes: the Datum word for pass-by-value types, else the value itself
/// (the varlena with its header, as the node string prints it).
unsafe fn const_bytes(c: &pg_sys::Const) -> Vec<u8> {
    if c.constisnull {
        return Vec::new();
    }
    if c.constbyval {
        return c.constvalue.value().to_le_bytes().to_vec();
    }
    let ptr = c.constvalue.cast_mut_ptr::<u8>();
    let len = match c.constlen {
        n if n > 0 => n as usize,
        -1 => pgrx::varlena::varsize_any(ptr as *const pg_sys::varlena),
        -2 => CStr::from_ptr(ptr as *const std::ffi::c_char).to_bytes().len(),
        _ => 0,
    };
    std::slice::from_raw_parts(ptr, len).to_vec()
}
