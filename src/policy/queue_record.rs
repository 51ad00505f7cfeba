//! The on-disk format of the audit queue (`trail::queue`): one line per event,
//! `LLLLLLLL CCCCCCCC {json}\n` — the JSON's length and its CRC-32 in hex — so that a line cut
//! short by a crash (a torn tail) or damaged on disk is recognised and skipped, never read as an
//! event. The JSON itself holds no newline (serde escapes them). Also the writer's position
//! file. Pure data: the files are read and written by `trail::queue`.

/// Bytes before the JSON: two 8-digit hex numbers and two spaces.
const HEADER: usize = 18;

/// One event as a line of a queue segment.
pub fn encode(json: &[u8]) -> Vec<u8> {
    let mut line = Vec::with_capacity(json.len() + HEADER + 1);
    line.extend_from_slice(format!("{:08x} {:08x} ", json.len(), crc32(json)).as_bytes());
    line.extend_from_slice(json);
    line.push(b'\n');
    line
}

/// What the bytes at a position of a segment hold.
#[derive(Debug, PartialEq, Eq)]
pub enum Read<'a> {
    /// A whole, intact event of `len` bytes on disk (line included).
    Event { json: &'a [u8], len: usize },
    /// A damaged line, `len` bytes up to and including its newline: skipped.
    Damaged { len: usize },
    /// No newline yet: a line still being written, or, in a segment nobody appends to any
    /// more, a torn tail.
    Incomplete,
}

/// Reads the line at the start of `bytes`.
pub fn decode(bytes: &[u8]) -> Read<'_> {
    let Some(newline) = bytes.iter().position(|&b| b == b'\n') else { return Read::Incomplete };
    let line = &bytes[..newline];
    let damaged = Read::Damaged { len: newline + 1 };
    if line.len() < HEADER || line[8] != b' ' || line[17] != b' ' {
        return damaged;
    }
    let hex = |b: &[u8]| std::str::from_utf8(b).ok().and_then(|s| u32::from_str_radix(s, 16).ok());
    let (Some(len), Some(crc)) = (hex(&line[..8]), hex(&line[9..17])) else { return damaged };
    let json = &line[HEADER..];
    if json.len() != len as usize || crc32(json) != crc {
        return damaged;
    }
    Read::Event { json, len: newline + 1 }
}

/// CRC-32 (IEEE), bitwise: events are small and written once.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// A place in the queue: a segment and a byte offset in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Position {
    pub segment: u64,
    pub offset: u64,
}

/// The writer's position file: where it had written up to (`done`), and, while a batch is
/// being committed, where that batch ends and the transaction that inserts it (`to`, `xid`).
/// After a crash the batch counts as written exactly when that transaction committed, so no
/// event is inserted twice or skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    pub done: Position,
    pub in_flight: Option<(Position, u32)>,
}

impl Progress {
    pub fn encode(&self) -> String {
        let mut text = format!("done {:016x} {:016x}\n", self.done.segment, self.done.offset);
        if let Some((to, xid)) = self.in_flight {
            text.push_str(&format!("to {:016x} {:016x} xid {xid}\n", to.segment, to.offset));
        }
        text
    }

    /// None when the text is not a position file (damaged: the caller says so and starts over).
    pub fn decode(text: &str) -> Option<Progress> {
        let mut lines = text.lines();
        let position = |words: &[&str]| -> Option<Position> {
            Some(Position { segment: u64::from_str_radix(words.first()?, 16).ok()?, offset: u64::from_str_radix(words.get(1)?, 16).ok()? })
        };
        let first: Vec<&str> = lines.next()?.split(' ').collect();
        if first.len() != 3 || first[0] != "done" {
            return None;
        }
        let done = position(&first[1..])?;
        let in_flight = match lines.next() {
            None => None,
            Some(line) => {
                let words: Vec<&str> = line.split(' ').collect();
                if words.len() != 5 || words[0] != "to" || words[3] != "xid" {
                    return None;
                }
                Some((position(&words[1..3])?, words[4].parse().ok()?))
            }
        };
        Some(Progress { done, in_flight })
    }
}

/// A segment's file name: `audit_queue.` and its number in 16 hex digits, so that names sort
/// as numbers do.
pub fn segment_name(segment: u64) -> String {
    format!("audit_queue.{segment:016x}")
}

/// The segment number a file name stands for, if it is a segment's name.
pub fn segment_of(name: &str) -> Option<u64> {
    let hex = name.strip_prefix("audit_queue.")?;
    (hex.len() == 16).then(|| u64::from_str_radix(hex, 16).ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_reads_back() {
        let line = encode(br#"{"a":"b\nc"}"#);
        assert_eq!(decode(&line), Read::Event { json: br#"{"a":"b\nc"}"#, len: line.len() });
        let mut two = line.clone();
        two.extend_from_slice(&encode(b"{}"));
        assert_eq!(decode(&two), Read::Event { json: br#"{"a":"b\nc"}"#, len: line.len() });
    }

    #[test]
    fn torn_and_damaged_lines_are_told_apart() {
        let line = encode(b"{\"k\":1}");
        for cut in 0..line.len() {
            assert_eq!(decode(&line[..cut]), Read::Incomplete, "cut at {cut}");
        }
        let mut flipped = line.clone();
        flipped[20] ^= 1;
        assert_eq!(decode(&flipped), Read::Damaged { len: line.len() });
        // a torn line followed by a whole one (a segment reopened after a crash) is damaged
        let mut torn = line[..10].to_vec();
        torn.extend_from_slice(&line);
        assert!(matches!(decode(&torn), Read::Damaged { .. }));
        assert_eq!(decode(b"zz\n"), Read::Damaged { len: 3 });
    }

    #[test]
    fn crc_is_ieee() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn progress_round_trips() {
        let p = Progress { done: Position { segment: 3, offset: 77 }, in_flight: Some((Position { segment: 4, offset: 9 }, 1234)) };
        assert_eq!(Progress::decode(&p.encode()), Some(p));
        let settled = Progress { done: Position { segment: 3, offset: 77 }, in_flight: None };
        assert_eq!(Progress::decode(&settled.encode()), Some(settled));
        assert_eq!(Progress::decode("garbage"), None);
        assert_eq!(Progress::decode(""), None);
    }

    #[test]
    fn segment_names_sort_as_numbers() {
        assert_eq!(segment_of(&segment_name(0x1f)), Some(0x1f));
        assert!(segment_name(9) < segment_name(10));
        assert_eq!(segment_of("audit_queue.position"), None);
        assert_eq!(segment_of("audit_queue.00000000000000zz"), None);
    }
}
