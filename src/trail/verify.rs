//! Checking this database's trail: the chain walked in seal_seq order with every hash
//! recomputed (`policy::chain::Walk`), the chain's continuity from its anchor, and the rows not
//! sealed yet (too old ones are a failure: `nspg_guard.audit_seal_max_delay`).

use crate::pg::as_guard::as_guard;
use crate::pg::backend::BackendCell;
use crate::pg::settings;
use crate::policy::chain::{self, Continuity, Cut, Link, Walk};
use crate::trail::anchor;
use crate::pg::spi_rows;
use crate::trail::seal::{encode_row, ROW_COLUMNS};
use pgrx::datum::TimestampWithTimeZone;
use pgrx::pg_sys;
use pgrx::spi::{Spi, SpiResult};

/// Chain rows read per query.
const PAGE: i64 = 10_000;

#[derive(Default, Clone)]
pub struct Verdict {
    pub ok: bool,
    pub rows_checked: i64,
    pub first_broken_id: Option<i64>,
    pub problem: Option<String>,
    pub rows_unsealed: i64,
    /// PostgreSQL microseconds.
    pub oldest_unsealed: Option<i64>,
    /// The chain continues from the anchor kept outside the tables.
    pub anchored: bool,
    /// With `verify(Some(seq, hash))`: that head is in the chain (or is the last purged row).
    pub head_found: bool,
}

/// The first column of the first row (None: no row or NULL), with a new snapshot.
fn fresh<T: pgrx::FromDatum + pgrx::IntoDatum>(query: &str, arg: i64) -> SpiResult<Option<T>> {
    Spi::connect_mut(|client| match client.update(query, None, &[arg.into()])?.into_iter().next() {
        Some(row) => row.get::<T>(1),
        None => Ok(None),
    })
}

/// The cuts audit_purge() recorded (their rows are in the log).
fn cuts() -> SpiResult<Vec<Cut>> {
    Spi::connect_mut(|client| {
        let rows = client.update(
            "SELECT (details->>'last_purged_seal_seq')::int8, details->>'last_purged_hash' FROM nspg_guard.audit_log
              WHERE command_tag = 'AUDIT PURGE' AND details ? 'last_purged_seal_seq'",
            None,
            &[],
        )?;
        let mut cuts = Vec::new();
        for row in rows {
            if let (Some(seal_seq), Some(hash)) = (row.get::<i64>(1)?, row.get::<String>(2)?) {
                cuts.push(Cut { seal_seq, row_hash: chain::unhex(&hash).unwrap_or_default() });
            }
        }
        Ok(cuts)
    })
}

/// Walks the chain; `anchor_seq`'s and `head`'s row hashes are noted on the way.
fn walk(v: &mut Verdict, cuts: Vec<Cut>, anchor_seq: i64, head: Option<(i64, &[u8])>) -> SpiResult<(i64, Option<Vec<u8>>)> {
    let query = format!(
        "SELECT c.seal_seq, c.id, c.prev_hash, c.row_hash, l.id IS NOT NULL, {ROW_COLUMNS}
           FROM nspg_guard.audit_chain c LEFT JOIN nspg_guard.audit_log l ON l.id = c.id
          WHERE c.seal_seq > $1 ORDER BY c.seal_seq LIMIT $2"
    );
    let mut w = Walk::new(cuts);
    let (mut after, mut at_anchor) = (0i64, None);
    loop {
        let mut broken = None;
        let n = Spi::connect_mut(|_| {
            // SAFETY: connected; both parameters are int8
            unsafe {
                spi_rows::for_each(&query, &[after, PAGE], |row| {
                    let seal_seq = row.int8(0).unwrap_or(0);
                    let id = row.int8(1).unwrap_or(0);
                    let prev_hash = row.bytes(2).unwrap_or_default();
                    let row_hash = row.bytes(3).unwrap_or_default();
                    let encoded = (row.boolean(4) == Some(true)).then(|| encode_row(row, 5));
                    after = seal_seq;
                    if seal_seq == anchor_seq {
                        at_anchor = Some(row_hash.to_vec());
                    }
                    if head.is_some_and(|(s, h)| s == seal_seq && h == row_hash) {
                        v.head_found = true;
                    }
                    let link = Link { seal_seq, id, prev_hash, row_hash, row: encoded.as_deref() };
                    broken = w.step(&link).err();
                    broken.is_none()
                })
            }
        }) as i64;
        v.rows_checked = w.checked;
        if let Some(b) = broken {
            v.first_broken_id = Some(b.id);
            v.problem = Some(b.problem);
            return Ok((after, at_anchor));
        }
        if n < PAGE {
            return Ok((after, at_anchor));
        }
    }
}

/// Verifies this database's trail; with `head`, also whether that (seal_seq, row_hash), taken
/// earlier by an outside witness, is still in the chain. The anchor is read first and every
/// query takes a new snapshot (read-write SPI), so the chain read is never older than the
/// anchor; the caller refuses transactions that keep one snapshot.
pub fn verify(head: Option<(i64, &[u8])>) -> Verdict {
    let mut v = Verdict::default();
    let loaded = anchor::load();
    let anchor_seq = loaded.as_ref().ok().and_then(|a| a.as_ref()).map_or(0, |a| a.seal_seq);
    let result = as_guard(|| {
        let cuts = cuts()?;
        if let Some((seq, hash)) = head {
            v.head_found = cuts.iter().any(|c| c.seal_seq == seq && c.row_hash.as_slice() == hash);
        }
        let (last, at_anchor) = walk(&mut v, cuts, anchor_seq, head)?;
        // a break stops the walk; the chain's real end is then read on its own
        let last = if v.first_broken_id.is_some() {
            fresh::<i64>("SELECT max(seal_seq) FROM nspg_guard.audit_chain WHERE $1 = 0", 0)?.unwrap_or(0)
        } else {
            last
        };
        let at_anchor = match at_anchor {
            Some(h) => Some(h),
            None => fresh::<Vec<u8>>("SELECT row_hash FROM nspg_guard.audit_chain WHERE seal_seq = $1", anchor_seq)?,
        };
        let (unsealed, oldest) = Spi::get_two::<i64, TimestampWithTimeZone>(
            "SELECT count(*), min(l.event_time) FROM nspg_guard.audit_log l
              WHERE NOT EXISTS (SELECT FROM nspg_guard.audit_chain c WHERE c.id = l.id)",
        )?;
        v.rows_unsealed = unsealed.unwrap_or(0);
        v.oldest_unsealed = oldest.map(|t| t.into_inner());
        Ok::<_, pgrx::spi::Error>((last, at_anchor))
    });
    let (last, at_anchor) = result.unwrap_or_else(|e| pgrx::error!("nspg_guard: reading the audit trail failed: {e}"));
    let continuity = match &loaded {
        Ok(a) => chain::continuity(a.as_ref(), at_anchor.as_deref(), last),
        Err(e) => Continuity::Broken(e.to_string()),
    };
    v.anchored = !matches!(continuity, Continuity::Broken(_));
    let max_delay_micros = i64::from(settings::AUDIT_SEAL_MAX_DELAY.get()) * 1_000_000;
    let now = unsafe { pg_sys::GetCurrentTimestamp() };
    let late = v.oldest_unsealed.is_some_and(|t| t < now - max_delay_micros);
    if v.problem.is_none() {
        if let Continuity::Broken(why) = continuity {
            v.problem = Some(format!("the chain does not continue from its anchor: {why}"));
        } else if late {
            v.problem = Some(format!(
                "{} rows are not sealed, some for longer than nspg_guard.audit_seal_max_delay ({} s)",
                v.rows_unsealed,
                settings::AUDIT_SEAL_MAX_DELAY.get()
            ));
        }
    }
    v.ok = v.problem.is_none();
    v
}

/// The last `verify(None)`, with the statement it ran in (`statement::data_key`).
static LAST: BackendCell<Option<((u32, i64, u32), Verdict)>> = BackendCell::new(None);

/// `verify(None)`, once per statement: the lint's audit rules and evidence() each ask, and one
/// walk of the chain answers them all.
pub fn verify_once() -> Verdict {
    let key = crate::pg::statement::data_key();
    if let Some(v) = LAST.with(|l| l.borrow().as_ref().filter(|(k, _)| *k == key).map(|(_, v)| v.clone())) {
        return v;
    }
    let v = verify(None);
    LAST.with(|l| *l.borrow_mut() = Some((key, v.clone())));
    v
}
