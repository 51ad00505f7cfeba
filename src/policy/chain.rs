//! The audit trail's hash chain (NS-PG-007 §7.3): what a row's hash covers, how rows link,
//! how a walk over the chain finds the first break, and whether the chain still continues from
//! the anchor kept outside the tables. The definition is documented in the README ("Audit
//! trail") so that a verifier outside PostgreSQL can recompute every hash.
//!
//! - A row is encoded column by column, in table order: NULL is the byte 0x00; a value is 0x01,
//!   its length as a 4-byte big-endian number, and its bytes: integers in decimal, `event_time`
//!   as microseconds since the Unix epoch in decimal, `client_addr` and `details` as PostgreSQL
//!   prints an inet and a jsonb, text as UTF-8. Nothing depends on session settings.
//! - `row_hash = SHA-256(prev_hash || seal_seq as 8 bytes big-endian || encoded row)`, where
//!   `prev_hash` is the previous row's `row_hash` (empty for `seal_seq` 1).

use sha2::{Digest, Sha256};

/// Microseconds between the Unix epoch and PostgreSQL's (2000-01-01 UTC).
const POSTGRES_EPOCH_UNIX_MICROS: i64 = 946_684_800_000_000;

/// A row's canonical encoding, built column by column in table order.
#[derive(Default)]
pub struct RowEncoding(Vec<u8>);

/// "00", "01", … "99": the decimal digits of 0..100.
const DIGIT_PAIRS: [u8; 200] = {
    let mut pairs = [0u8; 200];
    let mut i = 0;
    while i < 100 {
        pairs[i * 2] = b'0' + (i / 10) as u8;
        pairs[i * 2 + 1] = b'0' + (i % 10) as u8;
        i += 1;
    }
    pairs
};

impl RowEncoding {
    pub fn new() -> RowEncoding {
        RowEncoding(Vec::with_capacity(512))
    }

    /// A column's value as bytes (None: NULL).
    pub fn bytes(&mut self, value: Option<&[u8]>) -> &mut Self {
        match value {
            None => self.0.push(0),
            Some(v) => {
                self.0.push(1);
                self.0.extend_from_slice(&(v.len() as u32).to_be_bytes());
                self.0.extend_from_slice(v);
            }
        }
        self
    }

    #[cfg(test)]
    pub fn text(&mut self, value: Option<&str>) -> &mut Self {
        self.bytes(value.map(str::as_bytes))
    }

    /// An integer in decimal, written without an allocation (every row has several).
    pub fn int(&mut self, value: Option<i64>) -> &mut Self {
        let Some(v) = value else { return self.bytes(None) };
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        let mut rest = v.unsigned_abs();
        // two digits a step: ids and times have 16 to 19
        while rest >= 10 {
            let pair = (rest % 100) as usize * 2;
            rest /= 100;
            at -= 2;
            digits[at..at + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
        }
        // a last odd digit, or the 0 of zero
        if rest > 0 || at == digits.len() {
            at -= 1;
            digits[at] = b'0' + rest as u8;
        }
        if v < 0 {
            self.0.push(1);
            self.0.extend_from_slice(&((digits.len() - at + 1) as u32).to_be_bytes());
            self.0.push(b'-');
            self.0.extend_from_slice(&digits[at..]);
            return self;
        }
        self.bytes(Some(&digits[at..]))
    }

    /// A timestamptz given as PostgreSQL stores it (microseconds since 2000-01-01 UTC).
    pub fn time(&mut self, postgres_micros: Option<i64>) -> &mut Self {
        self.int(postgres_micros.map(|t| t.saturating_add(POSTGRES_EPOCH_UNIX_MICROS)))
    }

    #[cfg(test)]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

/// The hash of the row sealed at `seal_seq` after a row whose hash is `prev_hash`.
pub fn row_hash(prev_hash: &[u8], seal_seq: i64, encoded: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev_hash);
    h.update(seal_seq.to_be_bytes());
    h.update(encoded);
    h.finalize().into()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| text.get(i..i + 2).and_then(|p| u8::from_str_radix(p, 16).ok())).collect()
}

/// The last (seal_seq, row_hash) a sealer committed, kept outside the tables. `seal_seq` 0 is an
/// empty chain (adopted as such).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Anchor {
    pub seal_seq: i64,
    pub row_hash: Vec<u8>,
}

impl Anchor {
    /// The state file's one line.
    pub fn render(&self) -> String {
        format!("seal_seq={} row_hash={}\n", self.seal_seq, hex(&self.row_hash))
    }

    pub fn parse(text: &str) -> Option<Anchor> {
        let line = text.lines().next()?;
        let mut seq = None;
        let mut hash = None;
        for field in line.split(' ') {
            match field.split_once('=') {
                Some(("seal_seq", v)) => seq = v.parse::<i64>().ok().filter(|s| *s >= 0),
                Some(("row_hash", v)) => hash = unhex(v),
                _ => return None,
            }
        }
        let (seal_seq, row_hash) = (seq?, hash?);
        ((seal_seq == 0) == row_hash.is_empty()).then_some(Anchor { seal_seq, row_hash })
    }

    pub fn describe(&self) -> String {
        if self.seal_seq == 0 {
            "an empty chain".into()
        } else {
            format!("seal_seq {} with row_hash {}", self.seal_seq, hex(&self.row_hash))
        }
    }
}

/// Does the chain still continue from the anchor?
#[derive(Debug, PartialEq, Eq)]
pub enum Continuity {
    /// Nothing was ever sealed here and the chain is empty: the first seal sets the anchor.
    FirstSeal,
    Continues,
    /// The chain was truncated, rebuilt or edited at its anchored row; the text says how.
    Broken(String),
}

/// `anchor`: the one kept outside (None: none was ever kept); `at_anchor`: the chain's row_hash at
/// the anchor's seal_seq, if that row exists; `head`: the chain's last seal_seq (0 if empty).
pub fn continuity(anchor: Option<&Anchor>, at_anchor: Option<&[u8]>, head: i64) -> Continuity {
    match anchor {
        None if head == 0 => Continuity::FirstSeal,
        None => Continuity::Broken(format!(
            "the chain has rows up to seal_seq {head} but no anchor was kept for it (the anchor file is missing)"
        )),
        Some(a) if a.seal_seq == 0 => Continuity::Continues,
        Some(a) if head < a.seal_seq => Continuity::Broken(format!(
            "the chain ends at seal_seq {head}, before its anchor ({})",
            a.describe()
        )),
        Some(a) => match at_anchor {
            Some(h) if h == a.row_hash.as_slice() => Continuity::Continues,
            Some(h) => Continuity::Broken(format!(
                "the chain's row at seal_seq {} has row_hash {}, not the anchored {}",
                a.seal_seq,
                hex(h),
                hex(&a.row_hash)
            )),
            None => Continuity::Broken(format!("the chain's anchored row ({}) is gone", a.describe())),
        },
    }
}

/// One row of the chain as a walk sees it.
pub struct Link<'a> {
    pub seal_seq: i64,
    pub id: i64,
    pub prev_hash: &'a [u8],
    pub row_hash: &'a [u8],
    /// The audit row's encoding; None when the row is gone.
    pub row: Option<&'a [u8]>,
}

/// Where the chain breaks: the audit row id and why.
#[derive(Debug, PartialEq, Eq)]
pub struct Break {
    pub id: i64,
    pub problem: String,
}

/// A cut left by audit_purge(): the last purged (seal_seq, row_hash).
#[derive(Clone, Debug)]
pub struct Cut {
    pub seal_seq: i64,
    pub row_hash: Vec<u8>,
}

/// Walks the chain in seal_seq order, one link at a time.
pub struct Walk {
    cuts: Vec<Cut>,
    expected: Option<i64>,
    prev: Vec<u8>,
    pub checked: i64,
}

impl Walk {
    pub fn new(cuts: Vec<Cut>) -> Walk {
        Walk { cuts, expected: None, prev: Vec::new(), checked: 0 }
    }

    pub fn step(&mut self, link: &Link) -> Result<(), Break> {
        let broken = |problem: String| Err(Break { id: link.id, problem });
        match self.expected {
            None if link.seal_seq == 1 => {
                if !link.prev_hash.is_empty() {
                    return broken("the first row does not start the chain".into());
                }
            }
            None => {
                let accounted =
                    self.cuts.iter().any(|c| c.seal_seq == link.seal_seq - 1 && c.row_hash.as_slice() == link.prev_hash);
                if !accounted {
                    return broken("rows before this one are missing and no audit_purge() accounts for them".into());
                }
            }
            Some(expected) if link.seal_seq != expected => {
                return broken(format!("rows {} to {} of the chain are missing", expected, link.seal_seq - 1));
            }
            Some(_) if link.prev_hash != self.prev.as_slice() => {
                return broken("the link to the previous row does not match".into());
            }
            Some(_) => {}
        }
        let Some(row) = link.row else { return broken("the row was removed after it was sealed".into()) };
        if row_hash(link.prev_hash, link.seal_seq, row) != link.row_hash {
            return broken("the row was changed after it was sealed".into());
        }
        self.prev = link.row_hash.to_vec();
        self.expected = Some(link.seal_seq + 1);
        self.checked += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(text: &str) -> Vec<u8> {
        let mut e = RowEncoding::new();
        e.int(Some(7)).time(Some(0)).text(Some(text)).text(None);
        e.as_bytes().to_vec()
    }

    #[test]
    fn encoding_is_unambiguous() {
        let mut a = RowEncoding::new();
        a.text(Some("ab")).text(Some("c"));
        let mut b = RowEncoding::new();
        b.text(Some("a")).text(Some("bc"));
        assert_ne!(a.as_bytes(), b.as_bytes());
        let mut n = RowEncoding::new();
        n.text(None);
        let mut e = RowEncoding::new();
        e.text(Some(""));
        assert_ne!(n.as_bytes(), e.as_bytes());
        assert_eq!(e.as_bytes(), &[1, 0, 0, 0, 0]);
    }

    #[test]
    fn integers_are_decimal_text() {
        for v in [0, 7, 9, 10, 42, 99, 100, 101, 999, 1000, 12_345, -1, -10, -99, -100, 849_519_994_747_536, i64::MAX, i64::MIN] {
            let mut by_int = RowEncoding::new();
            by_int.int(Some(v));
            let mut by_text = RowEncoding::new();
            by_text.text(Some(&v.to_string()));
            assert_eq!(by_int.as_bytes(), by_text.as_bytes(), "{v}");
        }
    }

    #[test]
    fn time_is_unix_microseconds() {
        let mut e = RowEncoding::new();
        e.time(Some(0));
        assert_eq!(&e.as_bytes()[5..], b"946684800000000");
    }

    #[test]
    fn known_hash() {
        // SHA-256 of the empty input followed by seq 1 and nothing: stable across releases
        let h = row_hash(b"", 1, b"");
        assert_eq!(hex(&h), hex(&{
            let mut s = Sha256::new();
            s.update([0, 0, 0, 0, 0, 0, 0, 1]);
            <[u8; 32]>::from(s.finalize())
        }));
    }

    #[test]
    fn hex_round_trip() {
        assert_eq!(unhex(&hex(&[0, 1, 254, 255])), Some(vec![0, 1, 254, 255]));
        assert_eq!(unhex("0"), None);
        assert_eq!(unhex("zz"), None);
    }

    #[test]
    fn anchor_file_round_trip() {
        let a = Anchor { seal_seq: 42, row_hash: vec![0xab; 32] };
        assert_eq!(Anchor::parse(&a.render()), Some(a));
        let empty = Anchor { seal_seq: 0, row_hash: vec![] };
        assert_eq!(Anchor::parse(&empty.render()), Some(empty));
        assert_eq!(Anchor::parse("seal_seq=3 row_hash=\n"), None);
        assert_eq!(Anchor::parse("seal_seq=-1 row_hash=ab\n"), None);
        assert_eq!(Anchor::parse("garbage"), None);
        assert_eq!(Anchor::parse(""), None);
    }

    #[test]
    fn continuity_cases() {
        let a = Anchor { seal_seq: 5, row_hash: vec![1; 32] };
        assert_eq!(continuity(None, None, 0), Continuity::FirstSeal);
        assert!(matches!(continuity(None, None, 3), Continuity::Broken(_)));
        assert_eq!(continuity(Some(&a), Some(&[1; 32]), 9), Continuity::Continues);
        assert!(matches!(continuity(Some(&a), Some(&[2; 32]), 9), Continuity::Broken(_)));
        assert!(matches!(continuity(Some(&a), None, 0), Continuity::Broken(_)));
        assert!(matches!(continuity(Some(&a), None, 7), Continuity::Broken(_)));
        let empty = Anchor { seal_seq: 0, row_hash: vec![] };
        assert_eq!(continuity(Some(&empty), None, 0), Continuity::Continues);
    }

    fn chain(n: i64) -> Vec<(i64, Vec<u8>, Vec<u8>, Vec<u8>)> {
        let mut prev = Vec::new();
        (1..=n)
            .map(|seq| {
                let row = encoded(&format!("row {seq}"));
                let hash = row_hash(&prev, seq, &row).to_vec();
                let link = (seq, prev.clone(), hash.clone(), row);
                prev = hash;
                link
            })
            .collect()
    }

    fn walk(links: &[(i64, Vec<u8>, Vec<u8>, Vec<u8>)], cuts: Vec<Cut>) -> Result<i64, Break> {
        let mut w = Walk::new(cuts);
        for (seq, prev, hash, row) in links {
            w.step(&Link { seal_seq: *seq, id: *seq * 10, prev_hash: prev, row_hash: hash, row: Some(row) })?;
        }
        Ok(w.checked)
    }

    #[test]
    fn walk_accepts_an_intact_chain_and_a_purge_cut() {
        let links = chain(5);
        assert_eq!(walk(&links, vec![]), Ok(5));
        let cut = Cut { seal_seq: 2, row_hash: links[1].2.clone() };
        assert_eq!(walk(&links[2..], vec![cut]), Ok(3));
    }

    #[test]
    fn walk_finds_breaks() {
        let links = chain(5);
        assert_eq!(walk(&links[2..], vec![]).unwrap_err().id, 30);
        let mut changed = links.clone();
        changed[3].3 = encoded("edited");
        assert_eq!(walk(&changed, vec![]).unwrap_err(), Break { id: 40, problem: "the row was changed after it was sealed".into() });
        let mut gap = links.clone();
        gap.remove(2);
        assert_eq!(walk(&gap, vec![]).unwrap_err().problem, "rows 3 to 3 of the chain are missing");
        let mut relinked = links.clone();
        relinked[4].1 = vec![9; 32];
        assert_eq!(walk(&relinked, vec![]).unwrap_err().problem, "the link to the previous row does not match");
    }
}
