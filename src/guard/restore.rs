//! Restoring a dump of a guarded database (README "Backup and restore"). pg_dump writes the
//! trail's and the registries' rows (the extension configuration tables: audit log and chain,
//! audited relations, break-glass requests, lockdowns, lint suppressions, snapshots, access
//! reviews) as `COPY … FROM stdin` after `CREATE EXTENSION`. The append-only rule admits such a
//! COPY only while the database has no history of its own to protect: by a superuser, from the
//! client (not a server file or program), with no row of the hash chain or of the target table
//! written by another transaction — `pg_restore --single-transaction` (or `psql -1`) into a new
//! database. The restored rows keep their chain, so `audit_verify()` checks them as before;
//! each admitted COPY is an audit event (class config, outcome `trail_restored`) with the rows
//! it restored, written in the same transaction and so sealed after them.

use crate::pg::as_guard::as_guard;
use crate::policy::audit_event::AuditClass;
use crate::trail::write;
use pgrx::pg_sys;
use pgrx::spi::Spi;

/// An admitted restore of one table, recorded once its COPY has succeeded.
pub struct Restore {
    table: String,
    statement: Option<String>,
}

/// Why a COPY into a protected table is not a restore: the refusal's hint.
pub const NOT_A_RESTORE: &str = "A dump is restored by a superuser into a new database in one transaction (pg_restore --single-transaction, psql -1), before its trail holds any sealed row.";

/// Does pg_dump dump the rows of nspg_guard's table `relid` (an extension configuration table,
/// `pg_extension_config_dump` in sql/*.sql)? Only those are restored; the others (lint rules)
/// come from the extension script.
pub fn dumped(relid: pg_sys::Oid) -> bool {
    let query = "SELECT EXISTS (SELECT FROM pg_catalog.pg_extension e
                                 WHERE e.extname OPERATOR(pg_catalog.=) 'nspg_guard'
                                   AND $1 OPERATOR(pg_catalog.=) ANY (e.extconfig))";
    as_guard(|| Spi::get_one_with_args::<bool>(query, &[relid.into()])).ok().flatten().unwrap_or(false)
}

/// Admits `copy` into nspg_guard's table `relid` (named `table` in messages) if it is a restore
/// as the module comment says, of a table pg_dump dumps; `None` means refuse.
///
/// # Safety
/// `copy` is a valid CopyStmt parse tree whose relation is `relid`.
pub unsafe fn admit(copy: *mut pg_sys::CopyStmt, relid: pg_sys::Oid, table: &str) -> Option<Restore> {
    if !(*copy).filename.is_null() || (*copy).is_program || !pg_sys::superuser() || !dumped(relid) {
        return None;
    }
    let quoted = crate::pg::text::text(pg_sys::quote_qualified_identifier(
        pg_sys::get_namespace_name(pg_sys::get_rel_namespace(relid)),
        pg_sys::get_rel_name(relid),
    ))?;
    // pg_current_xact_id() is the top-level transaction: rows written under a savepoint don't count
    // as this restore's own, which only makes the check stricter.
    let query = format!(
        "SELECT NOT EXISTS (SELECT FROM nspg_guard.audit_chain c
                             WHERE c.xmin OPERATOR(pg_catalog.<>) pg_catalog.xid(pg_catalog.pg_current_xact_id()))
            AND NOT EXISTS (SELECT FROM {quoted} t
                             WHERE t.xmin OPERATOR(pg_catalog.<>) pg_catalog.xid(pg_catalog.pg_current_xact_id()))"
    );
    let fresh = as_guard(|| Spi::get_one::<bool>(&query)).ok().flatten().unwrap_or(false);
    fresh.then(|| Restore { table: table.to_string(), statement: crate::pg::statement::current_statement() })
}

/// The audit row of a restore that succeeded, with the rows it restored; it must exist whatever
/// `nspg_guard.audit` says, like a purge row.
pub fn record(restore: Restore, rows: u64) {
    let mut event = write::event(AuditClass::Config, "trail_restored");
    event.command_tag = Some("COPY FROM".into());
    event.object_type = Some("table".into());
    event.object_identity = Some(restore.table);
    event.rows = Some(i64::try_from(rows).unwrap_or(i64::MAX));
    event.statement = restore.statement;
    write::record_always(event);
}
