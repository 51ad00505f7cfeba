//! SQL functions of the audit trail (the table and the chain functions are in sql/audit.sql).

use crate::api::support::require_admin;
use crate::guard::access::Mode;
use crate::pg::as_guard::as_guard;
use crate::pg::errors::fail;
use crate::pg::objects::relation_name;
use crate::pg::standing;
use crate::policy::audit_event::AuditClass;
use crate::policy::chain;
use crate::trail::{queue, seal, verify, write};
use pgrx::pg_sys::{self, errcodes::PgSqlErrorCode};
use pgrx::prelude::*;
use pgrx::spi::Spi;

extension_sql_file!("../../sql/audit.sql", name = "audit_schema");
// the lint rules (sql/lint/) that call functions of this module
extension_sql_file!("../../sql/lint/audit_classes_incomplete.sql", requires = ["lint_framework", audit_classes_active]);
extension_sql_file!("../../sql/lint/audit_events_fell_back.sql", requires = ["lint_framework", audit_stats]);
extension_sql_file!("../../sql/lint/audit_chain_broken.sql", name = "audit_verify_users", requires = ["lint_framework", "audit_schema", audit_verify]);
extension_sql_file!("../../sql/lint/audit_anchor_broken.sql", requires = ["lint_framework", "audit_schema", audit_verify]);
extension_sql_file!("../../sql/lint/audit_unsealed_too_long.sql", requires = ["lint_framework", "audit_schema", audit_verify]);
extension_sql_file!("../../sql/lint/audit_queue_waiting.sql", requires = ["lint_framework", audit_stats]);

/// Events queued for the background writer, written by it, and kept in the server log only
/// (over `nspg_guard.audit_queue_max_size`, or no audit table in `nspg_guard.audit_database`),
/// of which over the size bound; `pending` are still queued, in `pending_bytes` of the queue's
/// files, the oldest for `oldest_pending_age`. Counts since the server started; the bytes and
/// the age include what an earlier run left.
#[pg_extern(volatile)]
fn audit_stats() -> TableIterator<
    'static,
    (
        name!(queued, i64),
        name!(written, i64),
        name!(fallen_back, i64),
        name!(pending, i64),
        name!(pending_bytes, i64),
        name!(oldest_pending_age, Option<pgrx::datum::Interval>),
        name!(over_max_size, i64),
    ),
> {
    let s = queue::stats();
    let now = unsafe { pg_sys::GetCurrentTimestamp() };
    let age = s.oldest_pending.and_then(|t| pgrx::datum::Interval::new(0, 0, (now - t).max(0)).ok());
    TableIterator::once((
        s.queued as i64,
        s.written as i64,
        s.fallen_back as i64,
        s.pending as i64,
        s.pending_bytes as i64,
        age,
        s.over_max_size as i64,
    ))
}

/// The audit classes in force (nspg_guard.audit after `all` and `-class` are applied).
#[pg_extern(stable)]
fn audit_classes_active() -> Vec<String> {
    AuditClass::ALL
        .iter()
        .filter(|c| crate::pg::settings::audit_classes().contains(**c))
        .map(|c| c.as_str().to_string())
        .collect()
}

/// Removes audit rows older than `nspg_guard.audit_retention` (the only way rows leave);
/// leaves a row that says how many went. Returns that number.
#[pg_extern(volatile, requires = ["audit_schema"])]
fn audit_purge() -> i64 {
    require_admin("audit_purge()");
    write::purge()
}

/// Seals this database's committed rows into its hash chain now, instead of waiting for the
/// sealer. Returns how many it sealed (0 with a WARNING when the chain is broken).
#[pg_extern(volatile, requires = ["audit_schema"])]
fn audit_seal() -> i64 {
    require_admin("audit_seal()");
    seal_here()
}

fn seal_here() -> i64 {
    seal::seal_all().unwrap_or_else(|| {
        pgrx::warning!("nspg_guard: the audit chain does not continue from its anchor, so nothing was sealed; see nspg_guard.audit_verify()");
        0
    })
}

/// The caller reads the trail: SELECT on the log and the chain (as for reading them directly).
fn require_trail_reader(function: &str) {
    let t = crate::pg::trail_tables::trail();
    if t.log == pg_sys::InvalidOid || t.chain == pg_sys::InvalidOid {
        fail(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!("nspg_guard: {function}: this database has no audit trail"),
            "CREATE EXTENSION nspg_guard creates it.",
        )
    }
    if seal::transaction_snapshot() {
        fail(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!("nspg_guard: {function} needs a READ COMMITTED transaction"),
            "The chain is compared with its anchor as it is now; a REPEATABLE READ or SERIALIZABLE snapshot may be older than the anchor.",
        )
    }
    let user = unsafe { pg_sys::GetUserId() };
    let can = |rel| unsafe { pg_sys::pg_class_aclcheck(rel, user, pg_sys::ACL_SELECT as pg_sys::AclMode) == pg_sys::AclResult::ACLCHECK_OK };
    if !(can(t.log) && can(t.chain)) {
        fail(
            PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            format!("nspg_guard: {function} reads the audit trail, which you may not read"),
            "GRANT SELECT ON nspg_guard.audit_log, nspg_guard.audit_chain to the auditors who verify the trail.",
        )
    }
}


/// Verifies this database's trail: every hash of the chain recomputed, the chain continuing from
/// its anchor (kept outside the tables), no row unsealed longer than
/// `nspg_guard.audit_seal_max_delay`. `problem` names the first failure.
#[pg_extern(volatile, requires = ["audit_schema"])]
fn audit_verify() -> TableIterator<
    'static,
    (
    name!(ok, bool),
    name!(rows_checked, i64),
    name!(first_broken_id, Option<i64>),
    name!(problem, Option<String>),
    name!(rows_unsealed, i64),
    name!(oldest_unsealed, Option<pgrx::datum::TimestampWithTimeZone>),
    name!(anchored, bool),
),
> {
    require_trail_reader("audit_verify()");
    let v = verify::verify_once();
    let oldest = v.oldest_unsealed.and_then(|t| pgrx::datum::TimestampWithTimeZone::try_from(t).ok());
    TableIterator::once((v.ok, v.rows_checked, v.first_broken_id, v.problem, v.rows_unsealed, oldest, v.anchored))
}

/// Whether a head an outside witness took earlier (`audit_head()`) is still in this database's
/// chain, and the chain intact and anchored: false once the chain was rewritten.
#[pg_extern(volatile, name = "audit_verify", requires = ["audit_schema"])]
fn audit_verify_head(seal_seq: i64, row_hash: &[u8]) -> TableIterator<'static, (name!(ok, bool), name!(problem, Option<String>))> {
    require_trail_reader("audit_verify(seal_seq, row_hash)");
    let v = verify::verify(Some((seal_seq, row_hash)));
    let chain_problem = if v.first_broken_id.is_some() || !v.anchored { v.problem } else { None };
    let problem = if v.head_found {
        chain_problem
    } else {
        Some(format!("seal_seq {seal_seq} with row_hash {} is not in the chain (rewritten, or purged)", chain::hex(row_hash)))
    };
    TableIterator::once((problem.is_none(), problem))
}

/// The chain's head, for an outside witness to keep and check later with
/// `audit_verify(seal_seq, row_hash)`.
#[pg_extern(volatile, requires = ["audit_schema"])]
fn audit_head() -> TableIterator<
    'static,
    (name!(seal_seq, Option<i64>), name!(row_hash, Option<Vec<u8>>), name!(sealed_at, Option<pgrx::datum::TimestampWithTimeZone>)),
> {
    require_trail_reader("audit_head()");
    let head = as_guard(|| {
        Spi::get_three::<i64, Vec<u8>, pgrx::datum::TimestampWithTimeZone>(
            "SELECT seal_seq, row_hash, sealed_at FROM nspg_guard.audit_chain ORDER BY seal_seq DESC LIMIT 1",
        )
    });
    TableIterator::once(head.unwrap_or((None, None, None)))
}

/// After a real repair of a chain that no longer continues from its anchor, a superuser adopts
/// the chain as it now is (its head becomes the anchor); recorded as a `config` event
/// `anchor_adopted` with the previous anchor, the new one and the reason. Returns the adopted
/// seal_seq.
#[pg_extern(volatile, requires = ["audit_schema"])]
fn audit_anchor_adopt(reason: Option<&str>) -> i64 {
    if unsafe { !pg_sys::superuser() } {
        fail(
            PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            "nspg_guard: audit_anchor_adopt() is for superusers".into(),
            "Adopting a chain vouches for it: a superuser does it after checking the repair.",
        )
    }
    require_trail_reader("audit_anchor_adopt()");
    let reason = crate::api::support::required_reason(reason, "audit_anchor_adopt()", "Say what was repaired, e.g. audit_anchor_adopt('restored audit_chain from backup of 2026-01-02').");
    seal::adopt(&reason).seal_seq
}

/// Waits until every event queued so far has been written by the background writer (or has
/// fallen back to the log), at most `timeout_ms`; then seals. Returns how many bytes of the
/// queue are still outstanding (0 when done). For scripts and tests that read the trail right
/// after acting.
#[pg_extern(volatile, requires = ["audit_schema"])]
fn audit_flush(timeout_ms: default!(i32, 10000)) -> i64 {
    let target = queue::appended();
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(timeout_ms.max(0) as u64);
    loop {
        let outstanding = target.saturating_sub(queue::drained());
        if outstanding == 0 || std::time::Instant::now() >= deadline {
            if outstanding == 0 && standing::current_user_is_admin() {
                seal_here();
            }
            return outstanding as i64;
        }
        unsafe {
            pg_sys::pg_usleep(10_000);
            pg_sys::check_for_interrupts!();
        }
    }
}

/// Makes reads and/or writes of `rel` audited ('read', 'write', 'all'), or stops ('none').
/// Declared by hand to take a regclass (an oid on the wire), so that no internal wrapper needs
/// to be executable by its callers.
#[pg_extern(
    volatile,
    requires = ["audit_schema"],
    sql = r#"
CREATE FUNCTION nspg_guard.audit_relation(rel regclass, mode text) RETURNS text
VOLATILE LANGUAGE c AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION nspg_guard.audit_relation(regclass, text) IS
    'Audit reads and/or writes of a table: read, write, all; none stops';
"#
)]
fn audit_relation(rel: Option<pg_sys::Oid>, mode: Option<&str>) -> String {
    let bad = |message: String, hint: &str| -> ! { fail(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, message, hint) };
    let Some(rel) = rel else { bad("nspg_guard: audit_relation needs a table".into(), "Pass a table name, e.g. audit_relation('public.orders', 'write').") };
    let Some(parsed) = Mode::parse(mode.unwrap_or("")) else {
        bad(format!("nspg_guard: unknown access mode \"{}\"", mode.unwrap_or("")), "Use 'read', 'write', 'all' or 'none'.")
    };
    require_admin("audit_relation()");
    if unsafe { pg_sys::get_rel_name(rel) }.is_null() {
        fail(
            PgSqlErrorCode::ERRCODE_UNDEFINED_TABLE,
            format!("nspg_guard: audit_relation: there is no relation with oid {}", u32::from(rel)),
            "Pass an existing table by name, e.g. audit_relation('public.orders', 'write').",
        )
    }
    if !write::audited(AuditClass::Access) {
        pgrx::notice!("nspg_guard: the access class is not in nspg_guard.audit, so nothing is recorded until it is (e.g. ALTER SYSTEM SET nspg_guard.audit = 'all' and a reload)");
    }
    let mode_text = match parsed {
        Some(Mode::Read) => "read",
        Some(Mode::Write) => "write",
        Some(Mode::All) => "all",
        None => "none",
    };
    let sql = if parsed.is_some() {
        "INSERT INTO nspg_guard.audited_relations (relid, mode) VALUES ($1, $2)
         ON CONFLICT (relid) DO UPDATE SET mode = EXCLUDED.mode, changed_at = now()"
    } else {
        "DELETE FROM nspg_guard.audited_relations WHERE relid::pg_catalog.oid = $1 AND $2 IS NOT NULL"
    };
    as_guard(|| Spi::run_with_args(sql, &[rel.into(), mode_text.into()]))
        .unwrap_or_else(|e| pgrx::error!("nspg_guard: audit_relation failed: {e}"));
    unsafe { pg_sys::CacheInvalidateRelcacheByRelid(rel) };
    let name = unsafe { relation_name(rel) };
    let mut event = write::event(AuditClass::Config, "committed");
    event.command_tag = Some("AUDIT RELATION".into());
    event.object_type = Some("table".into());
    event.object_identity = Some(name.clone());
    event.details = Some(serde_json::json!({ "mode": mode_text }));
    write::record_committed(event);
    format!("access to {name} audited: {mode_text}")
}
