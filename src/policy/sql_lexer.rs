//! PostgreSQL's lexical rules for literals, ported from `src/backend/parser/scan.l` (PG 15) so
//! that statement text can be read exactly as the server reads it, also where the server's own
//! scanner cannot be called (a log hook in error context). Pure and iterative: one pass over the
//! bytes, nested comments counted, no recursion.
//!
//! Covered: standard strings `'…'` (quotes doubled; backslash escapes when
//! `standard_conforming_strings` is off), `E'…'`, `N'…'`, `B'…'`, `X'…'`, `U&'…'` with an
//! optional `UESCAPE 'c'`, continuation of any of them after whitespace holding a newline
//! (`'a' <newline> 'b'` is one literal), dollar quotes with any tag scan.l accepts (non-ASCII
//! bytes included), identifiers (`$` inside), quoted identifiers and `U&"…"`, `--` and nested
//! `/* */` comments, parameters (`$1`).

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Keyword or unquoted identifier; `value` is its lower-cased text.
    Word,
    /// `"…"` or `U&"…"`; `value` is the identifier.
    QuotedIdent,
    /// A string constant of any form; `value` is its decoded content (lossy UTF-8).
    Str,
    /// A string or quoted identifier with no end: runs to the end of the text.
    Unterminated,
    /// Whitespace or a comment.
    Trivia,
    /// Anything else: operators, punctuation, numbers, parameters.
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub kind: Kind,
    /// Byte range in the text, prefixes and quotes included (`UESCAPE 'c'` is a token of its own).
    pub start: usize,
    pub end: usize,
    pub value: String,
}

impl Token {
    pub fn is_significant(&self) -> bool {
        self.kind != Kind::Trivia
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' | b'\x0b')
}
fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}
fn is_ident_cont(b: u8) -> bool {
    is_ident_start(b) || b.is_ascii_digit() || b == b'$'
}
fn is_op_char(b: u8) -> bool {
    b"~!@#^&|`?+-*/%<>=".contains(&b)
}
fn is_dolq_cont(b: u8) -> bool {
    is_ident_start(b) || b.is_ascii_digit()
}

/// The form of a quoted string, for decoding its body.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    /// Quotes doubled; backslashes literal unless `backslashes`.
    Standard { backslashes: bool },
    /// `E'…'`: backslash escapes.
    Extended,
    /// `U&'…'`: `\XXXX`, `\+XXXXXX` escapes (decoded after `UESCAPE` is known).
    Unicode,
    /// `B'…'`, `X'…'`: digits only, kept as written.
    Bits,
}

/// Does a token starting with these bytes (as the backend scanner returned it) read as a
/// character string literal: `'…'`, `E'…'`, `U&'…'` or `$tag$…$tag$`? Not a parameter `$1`, a
/// bit string, or the `N` of a national one (its `'…'` is the next token).
pub fn opens_string(b: &[u8]) -> bool {
    match b {
        [b'\'', ..] => true,
        [b'$', next, ..] => !next.is_ascii_digit(),
        [e, b'\'', ..] => e.eq_ignore_ascii_case(&b'e'),
        [u, b'&', b'\'', ..] => u.eq_ignore_ascii_case(&b'u'),
        _ => false,
    }
}

/// Can `sql` hold a character string literal at all? Without a quote or a dollar quote it
/// cannot, and a statement without literals has no secret value to find.
pub fn may_hold_string(sql: &str) -> bool {
    let b = sql.as_bytes();
    (0..b.len()).any(|i| matches!(b[i], b'\'' | b'$') && opens_string(&b[i..]))
}

/// Is a token opening a string (`opens_string`) a `U&'…'` one?
pub fn opens_unicode_string(b: &[u8]) -> bool {
    matches!(b, [u, b'&', b'\'', ..] if u.eq_ignore_ascii_case(&b'u'))
}

/// The tokens of `sql` as PostgreSQL's scanner reads them with the given
/// `standard_conforming_strings`.
pub fn tokens(sql: &str, standard_conforming_strings: bool) -> Vec<Token> {
    let b = sql.as_bytes();
    let mut out: Vec<Token> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let start = i;
        let c = b[i];
        let next = b.get(i + 1).copied();
        let lower = c.to_ascii_lowercase();
        // string starts: the longest match wins over an identifier of one letter
        let string_form = match (lower, next) {
            (b'\'', _) => Some((Form::Standard { backslashes: !standard_conforming_strings }, 1)),
            (b'e', Some(b'\'')) => Some((Form::Extended, 2)),
            (b'n', Some(b'\'')) => Some((Form::Standard { backslashes: !standard_conforming_strings }, 2)),
            (b'b' | b'x', Some(b'\'')) => Some((Form::Bits, 2)),
            (b'u', Some(b'&')) if b.get(i + 2) == Some(&b'\'') => Some((Form::Unicode, 3)),
            _ => None,
        };
        if let Some((form, prefix)) = string_form {
            let (end, raw, terminated) = quoted_string(b, i + prefix, form);
            let value = String::from_utf8_lossy(&raw).into_owned();
            let kind = if terminated { Kind::Str } else { Kind::Unterminated };
            out.push(Token { kind, start, end, value });
            if form == Form::Unicode && terminated {
                let escape = uescape(sql, end);
                if let Some(last) = out.last_mut() {
                    last.value = decode_unicode(&last.value, escape.unwrap_or('\\'));
                }
            }
            i = end;
            continue;
        }
        if c == b'"' || (lower == b'u' && next == Some(b'&') && b.get(i + 2) == Some(&b'"')) {
            let unicode = c != b'"';
            let mut j = if unicode { i + 3 } else { i + 1 };
            let mut raw = Vec::new();
            let mut terminated = false;
            while j < b.len() {
                if b[j] == b'"' {
                    if b.get(j + 1) == Some(&b'"') {
                        raw.push(b'"');
                        j += 2;
                        continue;
                    }
                    j += 1;
                    terminated = true;
                    break;
                }
                raw.push(b[j]);
                j += 1;
            }
            let mut value = String::from_utf8_lossy(&raw).into_owned();
            if unicode && terminated {
                value = decode_unicode(&value, uescape(sql, j).unwrap_or('\\'));
            }
            let kind = if terminated { Kind::QuotedIdent } else { Kind::Unterminated };
            out.push(Token { kind, start, end: j, value });
            i = j;
            continue;
        }
        if c == b'$' {
            // $1: a parameter; $tag$: a dollar quote; else a lone `$`
            if next.is_some_and(|n| n.is_ascii_digit()) {
                let mut j = i + 1;
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
                out.push(Token { kind: Kind::Other, start, end: j, value: String::new() });
                i = j;
                continue;
            }
            let mut j = i + 1;
            if j < b.len() && is_ident_start(b[j]) {
                while j < b.len() && is_dolq_cont(b[j]) {
                    j += 1;
                }
            }
            if b.get(j) == Some(&b'$') {
                let tag = &b[i..=j];
                let body = j + 1;
                let (end, body_end, terminated) = match find(b, body, tag) {
                    Some(at) => (at + tag.len(), at, true),
                    None => (b.len(), b.len(), false),
                };
                let value = String::from_utf8_lossy(&b[body..body_end]).into_owned();
                let kind = if terminated { Kind::Str } else { Kind::Unterminated };
                out.push(Token { kind, start, end, value });
                i = end;
                continue;
            }
            out.push(Token { kind: Kind::Other, start, end: i + 1, value: String::new() });
            i += 1;
            continue;
        }
        if is_space(c) {
            let mut j = i;
            while j < b.len() && is_space(b[j]) {
                j += 1;
            }
            out.push(Token { kind: Kind::Trivia, start, end: j, value: String::new() });
            i = j;
            continue;
        }
        if c == b'-' && next == Some(b'-') {
            let j = find(b, i, b"\n").unwrap_or(b.len());
            out.push(Token { kind: Kind::Trivia, start, end: j, value: String::new() });
            i = j;
            continue;
        }
        if c == b'/' && next == Some(b'*') {
            let j = comment_end(b, i);
            out.push(Token { kind: Kind::Trivia, start, end: j, value: String::new() });
            i = j;
            continue;
        }
        if is_ident_start(c) {
            let mut j = i;
            while j < b.len() && is_ident_cont(b[j]) {
                j += 1;
            }
            let value = String::from_utf8_lossy(&b[i..j]).to_ascii_lowercase();
            out.push(Token { kind: Kind::Word, start, end: j, value });
            i = j;
            continue;
        }
        // numbers, operators, punctuation: one byte run at a time is enough here, but keep
        // multi-byte characters whole
        let mut j = i + 1;
        if is_op_char(c) {
            // an operator is a run of operator characters, cut where a comment starts
            while j < b.len() && is_op_char(b[j]) && !(matches!(&b[j..], [b'-', b'-', ..] | [b'/', b'*', ..])) {
                j += 1;
            }
        }
        if c.is_ascii_digit() {
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'.' || b[j] == b'_') {
                j += 1;
            }
        }
        while j < b.len() && !sql.is_char_boundary(j) {
            j += 1;
        }
        out.push(Token { kind: Kind::Other, start, end: j, value: String::from_utf8_lossy(&b[i..j]).into_owned() });
        i = j;
    }
    out
}

fn find(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || from > hay.len() {
        return None;
    }
    hay[from..].windows(needle.len()).position(|w| w == needle).map(|p| p + from)
}

/// Reads a quoted string's body from `i` (just after the opening quote): its end, its decoded
/// bytes (Unicode escapes left for `decode_unicode`) and whether it was closed. Follows scan.l's
/// continuation: a closing quote, whitespace with a newline in it (and `--` comments after the
/// newline), then a quote, continue the same literal.
fn quoted_string(b: &[u8], mut i: usize, form: Form) -> (usize, Vec<u8>, bool) {
    let backslashes = matches!(form, Form::Extended | Form::Standard { backslashes: true });
    let mut raw = Vec::new();
    while i < b.len() {
        let c = b[i];
        if c == b'\'' {
            if b.get(i + 1) == Some(&b'\'') {
                raw.push(b'\'');
                i += 2;
                continue;
            }
            match continuation(b, i + 1) {
                Some(next_quote) => {
                    i = next_quote + 1;
                    continue;
                }
                None => return (i + 1, raw, true),
            }
        }
        if c == b'\\' && backslashes {
            let (consumed, bytes) = backslash_escape(&b[i..]);
            raw.extend_from_slice(&bytes);
            i += consumed;
            continue;
        }
        if c == b'\\' && form == Form::Unicode {
            // kept for decode_unicode, but `\\` must not be read as two escapes
            raw.push(c);
            i += 1;
            continue;
        }
        raw.push(c);
        i += 1;
    }
    (b.len(), raw, false)
}

/// After a closing quote at `i - 1`: the position of the quote that continues the literal.
fn continuation(b: &[u8], mut i: usize) -> Option<usize> {
    // {horiz_whitespace}* {newline} {special_whitespace}*
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\x0c' | b'\x0b') {
        i += 1;
    }
    if !matches!(b.get(i), Some(b'\n' | b'\r')) {
        return None;
    }
    loop {
        if i < b.len() && is_space(b[i]) {
            i += 1;
        } else if b.get(i) == Some(&b'-') && b.get(i + 1) == Some(&b'-') {
            // {comment}{newline}
            let nl = find(b, i, b"\n")?;
            i = nl + 1;
        } else {
            break;
        }
    }
    (b.get(i) == Some(&b'\'')).then_some(i)
}

/// One backslash escape of an extended string at the start of `s`: bytes consumed, bytes meant.
fn backslash_escape(s: &[u8]) -> (usize, Vec<u8>) {
    let Some(&c) = s.get(1) else { return (1, vec![]) };
    let hex_run = |from: usize, max: usize| {
        let mut n = 0;
        while n < max && s.get(from + n).is_some_and(|d| d.is_ascii_hexdigit()) {
            n += 1;
        }
        n
    };
    let parse = |digits: &[u8], radix: u32| u32::from_str_radix(std::str::from_utf8(digits).unwrap_or("0"), radix).unwrap_or(0);
    match c {
        b'b' => (2, vec![8]),
        b'f' => (2, vec![12]),
        b'n' => (2, vec![b'\n']),
        b'r' => (2, vec![b'\r']),
        b't' => (2, vec![b'\t']),
        b'v' => (2, vec![11]),
        b'0'..=b'7' => {
            let mut n = 1;
            while n < 3 && s.get(1 + n).is_some_and(|d| (b'0'..=b'7').contains(d)) {
                n += 1;
            }
            (1 + n, vec![parse(&s[1..1 + n], 8) as u8])
        }
        b'x' => {
            let n = hex_run(2, 2);
            if n == 0 {
                (2, vec![b'x'])
            } else {
                (2 + n, vec![parse(&s[2..2 + n], 16) as u8])
            }
        }
        b'u' | b'U' => {
            let want = if c == b'u' { 4 } else { 8 };
            if hex_run(2, want) == want {
                let ch = char::from_u32(parse(&s[2..2 + want], 16)).unwrap_or('\u{fffd}');
                (2 + want, ch.to_string().into_bytes())
            } else {
                (2, vec![c])
            }
        }
        _ => {
            // any other character stands for itself (whole, if multi-byte)
            let len = std::str::from_utf8(&s[1..s.len().min(5)])
                .map_or_else(|e| e.valid_up_to().max(1), |t| t.chars().next().map_or(1, char::len_utf8))
                .max(1);
            (1 + len, s[1..(1 + len).min(s.len())].to_vec())
        }
    }
}

/// `UESCAPE 'c'` after a U& literal ending at `end` (whitespace and comments between), if any.
/// A scan of its own, not [`tokens`]: reading the rest of the text as tokens here would read
/// every later U& literal's look-ahead again.
fn uescape(sql: &str, end: usize) -> Option<char> {
    let b = sql.as_bytes();
    let mut i = skip_trivia(b, end);
    let word = b.get(i..i + 7).is_some_and(|w| w.eq_ignore_ascii_case(b"uescape"));
    if !word || b.get(i + 7).is_some_and(|&c| is_ident_cont(c)) {
        return None;
    }
    i = skip_trivia(b, i + 7);
    // a one-character standard string: 'c', or '''' for a quote
    if b.get(i) != Some(&b'\'') {
        return None;
    }
    if b.get(i + 1..i + 4) == Some(b"'''".as_slice()) {
        return Some('\'');
    }
    let c = sql.get(i + 1..)?.chars().next()?;
    (b.get(i + 1 + c.len_utf8()) == Some(&b'\'')).then_some(c)
}

/// The first byte from `i` that is not whitespace or part of a comment.
fn skip_trivia(b: &[u8], mut i: usize) -> usize {
    loop {
        if i < b.len() && is_space(b[i]) {
            i += 1;
        } else if b.get(i) == Some(&b'-') && b.get(i + 1) == Some(&b'-') {
            i = find(b, i, b"\n").unwrap_or(b.len());
        } else if b.get(i) == Some(&b'/') && b.get(i + 1) == Some(&b'*') {
            i = comment_end(b, i);
        } else {
            return i;
        }
    }
}

/// Where the `/* */` comment starting at `i` ends (comments nest).
fn comment_end(b: &[u8], i: usize) -> usize {
    let (mut j, mut depth) = (i + 2, 1usize);
    while j < b.len() && depth > 0 {
        if b[j] == b'/' && b.get(j + 1) == Some(&b'*') {
            depth += 1;
            j += 2;
        } else if b[j] == b'*' && b.get(j + 1) == Some(&b'/') {
            depth -= 1;
            j += 2;
        } else {
            j += 1;
        }
    }
    j.min(b.len())
}

/// Decodes `\XXXX` and `\+XXXXXX` escapes (with escape character `esc`) of a U& literal.
pub fn decode_unicode(body: &str, esc: char) -> String {
    let chars: Vec<char> = body.chars().collect();
    let mut out = String::with_capacity(body.len());
    let mut i = 0;
    let hex = |from: usize, n: usize| -> Option<u32> {
        let s: String = chars.get(from..from + n)?.iter().collect();
        if s.chars().all(|c| c.is_ascii_hexdigit()) {
            u32::from_str_radix(&s, 16).ok()
        } else {
            None
        }
    };
    while i < chars.len() {
        if chars[i] == esc {
            if chars.get(i + 1) == Some(&esc) {
                out.push(esc);
                i += 2;
                continue;
            }
            if chars.get(i + 1) == Some(&'+') {
                if let Some(cp) = hex(i + 2, 6) {
                    out.push(char::from_u32(cp).unwrap_or('\u{fffd}'));
                    i += 8;
                    continue;
                }
            } else if let Some(cp) = hex(i + 1, 4) {
                out.push(char::from_u32(cp).unwrap_or('\u{fffd}'));
                i += 5;
                continue;
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_without_literals_hold_no_string() {
        assert!(!may_hold_string("UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2"));
        assert!(!may_hold_string("SELECT \"weird\" FROM t WHERE x = 1 $"));
        assert!(may_hold_string("ALTER ROLE r PASSWORD 'x'"));
        assert!(may_hold_string("CREATE ROLE r PASSWORD $$x$$"));
        assert!(may_hold_string("SELECT $q$x$q$"));
        assert!(may_hold_string("SELECT U&'x'"));
    }

    #[test]
    fn string_openers() {
        for t in ["'x'", "E'x'", "e'x'", "U&'x'", "u&'x'", "$$x$$", "$a$x$a$", "''"] {
            assert!(opens_string(t.as_bytes()), "{t}");
        }
        for t in ["$1", "B'01'", "X'1f'", "N'x'", "\"id\"", "u&\"id\"", "e", "$", ""] {
            assert!(!opens_string(t.as_bytes()), "{t}");
        }
        assert!(opens_unicode_string(b"U&'x'") && !opens_unicode_string(b"'U&'") && !opens_unicode_string(b"E'x'"));
    }

    fn strings(sql: &str, scs: bool) -> Vec<(Kind, String)> {
        tokens(sql, scs)
            .into_iter()
            .filter(|t| matches!(t.kind, Kind::Str | Kind::Unterminated | Kind::QuotedIdent))
            .map(|t| (t.kind, t.value))
            .collect()
    }

    #[test]
    fn literal_forms() {
        assert_eq!(strings("SELECT 'it''s'", true), vec![(Kind::Str, "it's".into())]);
        assert_eq!(strings(r"SELECT E'a\'b\x41\101\u0042\n'", true), vec![(Kind::Str, "a'bAAB\n".into())]);
        assert_eq!(strings(r"SELECT 'a\'b'", false), vec![(Kind::Str, "a'b".into())]);
        assert_eq!(strings(r"SELECT 'a\', 'b'", true), vec![(Kind::Str, "a\\".into()), (Kind::Str, "b".into())]);
        assert_eq!(strings("SELECT U&'\\0041b'", true), vec![(Kind::Str, "Ab".into())]);
        assert_eq!(strings("SELECT U&'!0041!+000042' /* c */ UESCAPE '!'", true)[0], (Kind::Str, "AB".into()));
        assert_eq!(strings("SELECT u&\"p\\0061ss\"", true), vec![(Kind::QuotedIdent, "pass".into())]);
        assert_eq!(strings("SELECT N'x', B'01', X'1F'", true).len(), 3);
    }

    #[test]
    fn continuation_after_newline() {
        assert_eq!(strings("SELECT ''\n'secret'", true), vec![(Kind::Str, "secret".into())]);
        assert_eq!(strings("SELECT 'a' -- c\n  'b'", true), vec![(Kind::Str, "a".into()), (Kind::Str, "b".into())]);
        assert_eq!(strings("SELECT 'a'\n-- c\n  'b'", true), vec![(Kind::Str, "ab".into())]);
        assert_eq!(strings("SELECT 'a' 'b'", true).len(), 2);
        assert_eq!(strings("SELECT E'a'\n'\\x41'", true), vec![(Kind::Str, "aA".into())]);
    }

    #[test]
    fn dollar_quotes() {
        assert_eq!(strings("SELECT $é$x$y$é$", true), vec![(Kind::Str, "x$y".into())]);
        assert_eq!(strings("SELECT $a1$ b $a1$, $1, a$b$", true), vec![(Kind::Str, " b ".into())]);
        // a parameter, then a dollar quote that never ends
        assert_eq!(strings("SELECT $1$x$", true), vec![(Kind::Unterminated, String::new())]);
        assert_eq!(strings("SELECT $$never", true), vec![(Kind::Unterminated, "never".into())]);
    }

    #[test]
    fn comments_nest() {
        assert_eq!(strings("/* a /* b */ 'x' */ 'y'", true), vec![(Kind::Str, "y".into())]);
    }

    #[test]
    fn many_unicode_literals_are_read_in_linear_time() {
        let sql = "SELECT ".to_string() + &"U&'a' UESCAPE '!', ".repeat(50_000);
        let started = std::time::Instant::now();
        assert_eq!(strings(&sql, true).len(), 100_000);
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        assert_eq!(strings("SELECT U&'x''' uescape''''", true)[0], (Kind::Str, "x'".into()));
    }

    #[test]
    fn any_input_is_tokenized() {
        for sql in ["'", "E'\\", "U&'", "U&\"", "$", "$a", "\\x", "E'\\u12", "/*", "--", "é'", "'\n", "x'"] {
            let toks = tokens(sql, true);
            assert_eq!(toks.last().map(|t| t.end), Some(sql.len()), "{sql}");
            let _ = tokens(sql, false);
        }
    }
}
