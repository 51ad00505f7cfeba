//! Sealing committed audit rows into this database's hash chain (`policy::chain` defines the
//! hash): one batch per call, in the current transaction, under the private seal lock. Before
//! it seals, the chain must continue from its anchor (`anchor.rs`); a chain that does not is
//! reported once (a `config` event `chain_broken` and a WARNING) and never sealed onto, until a
//! superuser adopts it (`adopt`). Rows are read through SPI as nspg_guard itself (`as_guard`: fixed
//! search path, no user code), hashes computed here, chain rows inserted through the table API.

use crate::pg::as_guard::as_guard;
use crate::pg::private_lock::{self, PrivateLock};
use crate::pg::trail_tables::trail;
use crate::policy::audit_event::AuditClass;
use crate::policy::chain::{self, Anchor, Continuity, RowEncoding};
use crate::trail::{anchor, sealing_state, write};
use crate::pg::backend::BackendLocal;
use pgrx::{pg_guard, pg_sys};
use crate::pg::spi_rows;
use crate::pg::table_insert::Inserter;
use pgrx::spi::{Spi, SpiResult};

/// Rows a batch seals at most (one transaction in the sealer worker).
pub const BATCH: i64 = 5000;

/// The columns of `nspg_guard.audit_log` as the hash encodes them, for `SELECT … FROM
/// nspg_guard.audit_log l`; `encode_row` reads them from column `first` on.
pub const ROW_COLUMNS: &str = "l.id, l.event_time, l.class, l.outcome, l.command_tag, l.object_type, l.object_identity, \
     l.statement, l.rows, l.sqlstate, l.reason, l.\"session_user\", l.\"current_user\", l.client_addr::pg_catalog.text, \
     l.client_port, l.application_name, l.database, l.backend_pid, l.session_id, l.xid, l.details::pg_catalog.text";

/// The canonical encoding of the audit row in columns `first`.. of `row` (see `ROW_COLUMNS`).
pub fn encode_row(row: &spi_rows::Row, first: usize) -> Vec<u8> {
    let mut e = RowEncoding::new();
    let int4 = |i: usize| row.int4(first + i).map(i64::from);
    e.int(row.int8(first));
    e.time(row.int8(first + 1));
    for i in 2..=7 {
        e.bytes(row.bytes(first + i));
    }
    e.int(row.int8(first + 8));
    for i in 9..=13 {
        e.bytes(row.bytes(first + i));
    }
    e.int(int4(14));
    e.bytes(row.bytes(first + 15));
    e.bytes(row.bytes(first + 16));
    e.int(int4(17));
    e.bytes(row.bytes(first + 18));
    e.int(row.int8(first + 19));
    e.bytes(row.bytes(first + 20));
    e.into_bytes()
}

/// What one call did.
pub enum Outcome {
    /// No trail in this database (the extension is not installed).
    NoTrail,
    /// The chain does not continue from its anchor: nothing sealed.
    Broken,
    /// The extension's SQL objects are another version's (ALTER EXTENSION … UPDATE pending).
    OtherVersion,
    /// `sealed` rows sealed; the next batch looks from id `next_low`; `more` if the batch was full.
    Sealed { sealed: i64, next_low: i64, more: bool },
}

/// The chain's last (seal_seq, row_hash), and row_hash at `seq`. Read-write queries, so that
/// each takes a new snapshot: one taken before the seal lock was granted would miss the rows
/// the lock waited for.
fn chain_state(seq: i64) -> SpiResult<(i64, Vec<u8>, Option<Vec<u8>>)> {
    as_guard(|| {
        Spi::connect_mut(|client| {
            let head = client.update("SELECT seal_seq, row_hash FROM nspg_guard.audit_chain ORDER BY seal_seq DESC LIMIT 1", None, &[])?;
            let (head_seq, head_hash) = match head.into_iter().next() {
                Some(row) => (row.get::<i64>(1)?.unwrap_or(0), row.get::<Vec<u8>>(2)?.unwrap_or_default()),
                None => (0, Vec::new()),
            };
            let at = client.update("SELECT row_hash FROM nspg_guard.audit_chain WHERE seal_seq = $1", None, &[seq.into()])?;
            let at = match at.into_iter().next() {
                Some(row) => row.get::<Vec<u8>>(1)?,
                None => None,
            };
            Ok((head_seq, head_hash, at))
        })
    })
}

/// Does the transaction keep one snapshot (REPEATABLE READ, SERIALIZABLE)?
pub fn transaction_snapshot() -> bool {
    unsafe { pg_sys::XactIsoLevel >= pg_sys::XACT_REPEATABLE_READ as i32 }
}

fn database() -> u32 {
    unsafe { pg_sys::MyDatabaseId }.to_u32()
}

/// The head to seal onto, if the chain continues from the anchor; reports a break once.
fn continuing_head() -> Option<(i64, Vec<u8>)> {
    let loaded = anchor::load();
    let wanted = loaded.as_ref().ok().and_then(|a| a.as_ref()).map_or(0, |a| a.seal_seq);
    let (head_seq, head_hash, at_anchor) =
        chain_state(wanted).unwrap_or_else(|e| pgrx::error!("nspg_guard: reading the audit chain's head failed: {e}"));
    let verdict = match &loaded {
        Ok(a) => chain::continuity(a.as_ref(), at_anchor.as_deref(), head_seq),
        Err(e) => Continuity::Broken(e.to_string()),
    };
    match verdict {
        Continuity::FirstSeal | Continuity::Continues => {
            // a chain put back as it was continues from its anchor again: sealing resumes
            sealing_state::set_broken(database(), false);
            Some((head_seq, head_hash))
        }
        Continuity::Broken(problem) => {
            let expected = loaded.ok().flatten();
            report_broken(&problem, expected.as_ref(), head_seq, &head_hash);
            None
        }
    }
}

/// A `config` event (whatever the audit settings say) and a WARNING, once per server start.
fn report_broken(problem: &str, expected: Option<&Anchor>, head_seq: i64, head_hash: &[u8]) {
    if !sealing_state::set_broken(database(), true) {
        return;
    }
    pgrx::warning!("nspg_guard: the audit chain no longer continues from its anchor and is not sealed onto: {problem}");
    let details = serde_json::json!({
        "expected": expected.map(|a| head_json(a.seal_seq, &a.row_hash)),
        "found": head_json(head_seq, head_hash),
    });
    record_chain_event("chain_broken", "AUDIT SEAL", problem, details);
}

fn head_json(seal_seq: i64, row_hash: &[u8]) -> serde_json::Value {
    serde_json::json!({ "seal_seq": seal_seq, "row_hash": chain::hex(row_hash) })
}

/// A `config` event about the chain, recorded whatever the audit settings say.
fn record_chain_event(outcome: &str, command_tag: &str, reason: &str, details: serde_json::Value) {
    let mut e = write::event(AuditClass::Config, outcome);
    e.command_tag = Some(command_tag.into());
    e.object_type = Some("table".into());
    e.object_identity = Some("nspg_guard.audit_chain".into());
    e.reason = Some(reason.to_string());
    e.details = Some(details);
    write::record_always(e);
}

/// Seals up to `limit` committed rows with ids from `low` on, in id order, continuing the
/// chain. The anchor moves when the transaction commits (`on_xact`).
pub fn seal_batch(low: i64, limit: i64) -> Outcome {
    let t = trail();
    if t.log == pg_sys::InvalidOid || t.chain == pg_sys::InvalidOid {
        return Outcome::NoTrail;
    }
    if crate::pg::trail_tables::extension_version().as_deref() != Some(env!("CARGO_PKG_VERSION")) {
        // another version's SQL objects (a new library before ALTER EXTENSION nspg_guard UPDATE):
        // its chain is sealed, and its anchor judged, once the update brought them to this one
        return Outcome::OtherVersion;
    }
    if transaction_snapshot() {
        // its snapshot may predate rows sealed meanwhile: the sealer worker seals instead
        return Outcome::Sealed { sealed: 0, next_low: low, more: false };
    }
    private_lock::take(PrivateLock::AuditSeal, 0);
    let Some((mut seq, mut prev)) = continuing_head() else { return Outcome::Broken };
    // an empty chain (the first seal, or one the 0.1.0 update emptied) starts at the first row
    let low = if seq == 0 { 0 } else { low };
    // both sides bounded by `low` (c.id >= $1 says again what c.id = l.id implies): with stale
    // statistics the planner would otherwise hash or merge the whole chain for every batch
    let query = format!(
        "SELECT {ROW_COLUMNS} FROM nspg_guard.audit_log l
          WHERE l.id >= $1 AND NOT EXISTS (SELECT FROM nspg_guard.audit_chain c WHERE c.id = l.id AND c.id >= $1)
          ORDER BY l.id LIMIT $2"
    );
    let (mut ids, mut seqs, mut prevs, mut hashes) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    as_guard(|| {
        Spi::connect_mut(|_| {
            // SAFETY: connected; both parameters are int8
            unsafe {
                spi_rows::for_each(&query, &[low, limit], |row| {
                    seq += 1;
                    let hash = chain::row_hash(&prev, seq, &encode_row(row, 0)).to_vec();
                    ids.push(row.int8(0).unwrap_or(0));
                    seqs.push(seq);
                    prevs.push(std::mem::replace(&mut prev, hash.clone()));
                    hashes.push(hash);
                    true
                })
            };
        })
    });
    let sealed = ids.len() as i64;
    let next_low = ids.last().map_or(low, |id| id + 1);
    if sealed > 0 {
        insert_chain_rows(t.chain, &ids, &seqs, &prevs, &hashes);
        SEALED.set(Sealed::Rows);
    }
    Outcome::Sealed { sealed, next_low, more: sealed == limit }
}

/// The columns of `nspg_guard.audit_chain`, in order, with their types.
const CHAIN_COLUMNS: [(&str, pg_sys::Oid); 5] = [
    ("id", pg_sys::INT8OID),
    ("seal_seq", pg_sys::INT8OID),
    ("prev_hash", pg_sys::BYTEAOID),
    ("row_hash", pg_sys::BYTEAOID),
    ("sealed_at", pg_sys::TIMESTAMPTZOID),
];

/// Inserts the chain rows of one batch through the table API (`pg::table_insert`), sealed at the
/// transaction's start time as now() would say.
fn insert_chain_rows(chain: pg_sys::Oid, ids: &[i64], seqs: &[i64], prevs: &[Vec<u8>], hashes: &[Vec<u8>]) {
    let bytea = |bytes: &[u8]| pg_sys::Datum::from(pgrx::rust_byte_slice_to_bytea(bytes).into_pg());
    unsafe {
        let sealed_at = pg_sys::Datum::from(pg_sys::GetCurrentTransactionStartTimestamp());
        let table = Inserter::open(chain, "nspg_guard.audit_chain", &CHAIN_COLUMNS);
        let mut nulls = [false; 5];
        for (((&id, &seq), prev), hash) in ids.iter().zip(seqs).zip(prevs).zip(hashes) {
            let mut values = [pg_sys::Datum::from(id), pg_sys::Datum::from(seq), bytea(prev), bytea(hash), sealed_at];
            table.insert(&mut values, &mut nulls);
            pg_sys::pfree(values[2].cast_mut_ptr());
            pg_sys::pfree(values[3].cast_mut_ptr());
        }
        table.close();
    }
}

/// The chain's new head in the server log, so that a chain rewritten later shows there too.
fn log_head(database: u32, head: &Anchor) {
    crate::pg::audit_line::log(&format!("NSPG_AUDIT_SEAL database={} seal_seq={} row_hash={}", database, head.seal_seq, chain::hex(&head.row_hash)));
}

/// Seals every committed row of this database in the current transaction (audit_seal(),
/// audit_flush()); the number sealed, or None when the chain is broken.
pub fn seal_all() -> Option<i64> {
    let (mut low, mut total) = (0, 0);
    loop {
        match seal_batch(low, BATCH) {
            Outcome::NoTrail | Outcome::OtherVersion => return Some(total),
            Outcome::Broken => return None,
            Outcome::Sealed { sealed, next_low, more } => {
                total += sealed;
                low = next_low;
                if !more {
                    return Some(total);
                }
            }
        }
    }
}

/// A superuser adopts the chain as it is now (after a real repair): its head becomes the
/// anchor at commit, sealing resumes, and a `config` event `anchor_adopted` records the
/// previous anchor, the adopted head and the reason. Returns the adopted head.
pub fn adopt(reason: &str) -> Anchor {
    private_lock::take(PrivateLock::AuditSeal, 0);
    let previous = anchor::load();
    let (head_seq, head_hash, _) = chain_state(0).unwrap_or_else(|e| pgrx::error!("nspg_guard: reading the audit chain's head failed: {e}"));
    let head = Anchor { seal_seq: head_seq, row_hash: head_hash };
    let details = serde_json::json!({
        "previous": match &previous {
            Ok(Some(a)) => head_json(a.seal_seq, &a.row_hash),
            Ok(None) => serde_json::Value::Null,
            Err(e) => serde_json::json!({ "error": e.to_string() }),
        },
        "adopted": head_json(head.seal_seq, &head.row_hash),
    });
    record_chain_event("anchor_adopted", "AUDIT ANCHOR ADOPT", reason, details);
    SEALED.set(Sealed::Adopted);
    head
}

/// What the current transaction did to the chain: its head becomes the anchor if it commits.
#[derive(Clone, Copy, PartialEq)]
enum Sealed {
    Nothing,
    Rows,
    Adopted,
}

static SEALED: BackendLocal<Sealed> = BackendLocal::new(Sealed::Nothing);
/// The chain's head read just before commit, stored as the anchor once the commit is done.
static COMMITTING: BackendLocal<Option<(i64, [u8; 32], bool)>> = BackendLocal::new(None);

/// Has this transaction sealed? (Else `on_xact` has nothing to do.)
#[inline]
pub fn xact_pending() -> bool {
    SEALED.get() != Sealed::Nothing || COMMITTING.get().is_some()
}

/// A transaction event of a transaction that sealed (`xact_pending`, from the guard's transaction
/// callback). Before commit, the chain's head is read as the transaction leaves it (a savepoint
/// rolled back after sealing took its chain rows with it); after commit, it becomes the anchor.
/// We hold the seal lock until then, so no other sealer moves the head in between.
#[pg_guard]
pub unsafe extern "C-unwind" fn on_xact(event: pg_sys::XactEvent::Type) {
    use pg_sys::XactEvent::*;
    match event {
        XACT_EVENT_PRE_COMMIT if SEALED.get() != Sealed::Nothing => {
            pg_sys::PushActiveSnapshot(pg_sys::GetTransactionSnapshot());
            let head = chain_state(0).unwrap_or_else(|e| pgrx::error!("nspg_guard: reading the audit chain's head failed: {e}"));
            pg_sys::PopActiveSnapshot();
            let mut hash = [0u8; 32];
            let n = head.1.len().min(32);
            hash[..n].copy_from_slice(&head.1[..n]);
            COMMITTING.set(Some((head.0, hash, SEALED.get() == Sealed::Adopted)));
        }
        XACT_EVENT_COMMIT => {
            SEALED.set(Sealed::Nothing);
            if let Some((seal_seq, hash, adopted)) = COMMITTING.replace(None) {
                let db = database();
                let head = Anchor { seal_seq, row_hash: if seal_seq == 0 { Vec::new() } else { hash.to_vec() } };
                anchor::store(db, &head);
                if adopted {
                    sealing_state::set_broken(db, false);
                    sealing_state::mark(db, 0);
                } else {
                    log_head(db, &head);
                }
            }
        }
        XACT_EVENT_ABORT | XACT_EVENT_PREPARE => {
            SEALED.set(Sealed::Nothing);
            COMMITTING.set(None);
        }
        _ => {}
    }
}
