//! Secrets never reach the audit trail (NS-PG-007 §6.2): statement text is redacted before it
//! is stored or logged. Pure: SQL text in, SQL text out.
//!
//! The text is split into tokens the way PostgreSQL's lexer does for what matters here (plain,
//! E'' and dollar-quoted strings, quoted identifiers, comments), then:
//! - a string literal that follows a secret-bearing keyword (`PASSWORD`, `ENCRYPTED PASSWORD`,
//!   `OPTIONS (password '…', passfile '…', sslpassword '…')`) becomes `'***'`;
//! - inside any other string, `password=…` of a connection string and the password of a
//!   `postgresql://user:secret@host` URI are masked;
//! - string bodies are themselves redacted as SQL, so `EXECUTE 'ALTER ROLE … PASSWORD ''x'''`
//!   or a DO block's dollar-quoted body are covered at every nesting level.
//!
//! Nesting is followed with an explicit stack, not recursion, and within a budget (depth and
//! bytes scanned): text that would take more is not redacted but refused ([`RedactError`]), and
//! the caller stores a marker with its length instead (a statement nobody can redact is a
//! statement whose secrets nobody can vouch for).

use once_cell::sync::Lazy;
use regex::Regex;

pub const MASK: &str = "***";

/// Keywords/option names whose following string literal is a secret.
const SECRET_WORDS: [&str; 3] = ["password", "passfile", "sslpassword"];

static CONNINFO_PASSWORD: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r"(?i)\b((?:ssl)?password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s']+)").expect("static regex")
});
static URI_PASSWORD: Lazy<Regex> =
    Lazy::new(|| Regex::new(r"(?i)(postgres(?:ql)?://[^:/@\s]*:)([^@\s]*)(@)").expect("static regex"));

/// Deepest nesting of strings inside strings that is redacted. SQL written by people or tools
/// nests a few levels (a DO block, an EXECUTE string, a connection string inside it).
pub const MAX_NESTING: usize = 64;

/// Work allowed per byte of the statement (each nesting level scans its string body again),
/// on top of a fixed allowance for short statements.
const WORK_PER_BYTE: usize = 16;
const WORK_ALLOWANCE: usize = 1 << 20;

/// Why a statement could not be redacted. The caller must not keep the text then
/// ([`unredacted_marker`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedactError {
    /// Strings nested deeper than [`MAX_NESTING`].
    TooDeep,
    /// Redacting would scan more than the work budget (`WORK_PER_BYTE` times the length).
    TooMuchWork,
}

impl std::fmt::Display for RedactError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RedactError::TooDeep => write!(f, "strings nested more than {MAX_NESTING} levels deep"),
            RedactError::TooMuchWork => write!(f, "too much nesting to redact"),
        }
    }
}

/// What is stored instead of a statement that could not be redacted: never the text itself,
/// only why and how long it was.
pub fn unredacted_marker(len: usize, why: RedactError) -> String {
    format!("[nspg_guard: statement of {len} bytes not stored: {why}]")
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Token {
    /// A string literal (quotes included) and its kind.
    Str(StrKind),
    /// A word (keyword or unquoted identifier).
    Word,
    /// Anything else, copied verbatim (punctuation, whitespace, comments, quoted identifiers).
    Other,
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum StrKind {
    /// '…' — quotes doubled inside.
    Plain,
    /// E'…' — quotes doubled or backslash-escaped inside.
    Escaped,
    /// $tag$…$tag$ — the length of the opening delimiter, e.g. 2 for `$$`, 4 for `$fn$`.
    Dollar(usize),
}

/// The token starting at byte `i` of `sql` and the byte where it ends. `at_start`: `i` is the
/// start of the text being read (nothing before it belongs to a word).
fn next_token(sql: &str, i: usize, at_start: bool) -> (Token, usize) {
    let bytes = sql.as_bytes();
    let start = i;
    let c = bytes[i];
    let prev_is_word = !at_start && start > 0 && is_word_byte(bytes[start - 1]);
    let mut i = i;
    if c == b'\'' || ((c == b'e' || c == b'E') && bytes.get(i + 1) == Some(&b'\'') && !prev_is_word) {
        let escaped = c != b'\'';
        i += if escaped { 2 } else { 1 };
        while i < bytes.len() {
            match bytes[i] {
                b'\\' if escaped => i += 2,
                b'\'' if bytes.get(i + 1) == Some(&b'\'') => i += 2,
                b'\'' => {
                    i += 1;
                    break;
                }
                _ => i += 1,
            }
        }
        let kind = if escaped { StrKind::Escaped } else { StrKind::Plain };
        (Token::Str(kind), i.min(sql.len()))
    } else if c == b'$' && !prev_is_word {
        match dollar_tag(&sql[i..]) {
            Some(tag) => {
                let body_start = i + tag.len();
                let end = sql[body_start..].find(tag).map_or(sql.len(), |at| body_start + at + tag.len());
                (Token::Str(StrKind::Dollar(tag.len())), end)
            }
            None => (Token::Other, i + 1),
        }
    } else if c == b'"' {
        i += 1;
        while i < bytes.len() {
            if bytes[i] == b'"' && bytes.get(i + 1) == Some(&b'"') {
                i += 2;
            } else if bytes[i] == b'"' {
                i += 1;
                break;
            } else {
                i += 1;
            }
        }
        (Token::Other, i.min(sql.len()))
    } else if c == b'-' && bytes.get(i + 1) == Some(&b'-') {
        (Token::Other, sql[i..].find('\n').map_or(sql.len(), |at| i + at))
    } else if c == b'/' && bytes.get(i + 1) == Some(&b'*') {
        (Token::Other, sql[i + 2..].find("*/").map_or(sql.len(), |at| i + 2 + at + 2))
    } else if is_word_byte(c) {
        while i < bytes.len() && is_word_byte(bytes[i]) {
            i += 1;
        }
        (Token::Word, i)
    } else {
        // one character (possibly multi-byte) at a time
        (Token::Other, i + sql[i..].chars().next().map_or(1, char::len_utf8))
    }
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// `$tag$` at the start of `s`, if it opens a dollar quote (`$1` is a parameter, not a tag).
fn dollar_tag(s: &str) -> Option<&str> {
    let rest = &s[1..];
    let end = rest.find('$')?;
    let tag = &rest[..end];
    let valid = tag.chars().enumerate().all(|(n, ch)| ch == '_' || ch.is_alphabetic() || (n > 0 && ch.is_ascii_digit()));
    valid.then(|| &s[..end + 2])
}

/// How a redacted string body goes back into the text around it.
enum Wrap {
    /// The whole statement.
    Statement,
    /// A dollar-quoted body: the delimiter, as written.
    Dollar(String),
    /// A '…' or E'…' body, unescaped for redaction: the prefix (`'` or `E'`), quotes doubled
    /// again on the way out.
    Quoted(String),
}

/// One level of string nesting being redacted: the text is `texts[text][start..end]`, read
/// from `pos`.
struct Frame {
    text: usize,
    start: usize,
    pos: usize,
    end: usize,
    out: String,
    after_secret_word: bool,
    wrap: Wrap,
}

/// The statement with every secret masked, string bodies redacted as SQL at every nesting
/// level. Iterative (an explicit stack of nesting levels) and bounded: deeper than
/// [`MAX_NESTING`] or more work than the budget is an error, and then the caller must not store
/// the text.
pub fn redact(sql: &str) -> Result<String, RedactError> {
    // Texts the frames read: the statement, and unescaped copies of quoted bodies (each
    // smaller than the string it came from). Dollar bodies are read in place.
    let mut texts: Vec<std::borrow::Cow<'_, str>> = vec![std::borrow::Cow::Borrowed(sql)];
    let mut stack = vec![Frame {
        text: 0,
        start: 0,
        pos: 0,
        end: sql.len(),
        out: String::with_capacity(sql.len()),
        after_secret_word: false,
        wrap: Wrap::Statement,
    }];
    let budget = sql.len().saturating_mul(WORK_PER_BYTE).saturating_add(WORK_ALLOWANCE);
    let mut work = 0usize;
    while let Some(frame) = stack.last_mut() {
        if frame.pos >= frame.end {
            let Some(done) = stack.pop() else { break };
            let closed = match done.wrap {
                Wrap::Statement => return Ok(done.out),
                Wrap::Dollar(tag) => format!("{tag}{}{tag}", mask_conninfo(&done.out)),
                Wrap::Quoted(prefix) => format!("{prefix}{}'", mask_conninfo(&done.out).replace('\'', "''")),
            };
            work = work.saturating_add(closed.len());
            if work > budget {
                return Err(RedactError::TooMuchWork);
            }
            if let Some(parent) = stack.last_mut() {
                parent.out.push_str(&closed);
            }
            continue;
        }
        let text = &texts[frame.text][..frame.end];
        let (token, next) = next_token(text, frame.pos, frame.pos == frame.start);
        let raw = &text[frame.pos..next];
        frame.pos = next;
        work = work.saturating_add(raw.len());
        if work > budget {
            return Err(RedactError::TooMuchWork);
        }
        match token {
            Token::Word => {
                frame.after_secret_word = SECRET_WORDS.iter().any(|s| s.eq_ignore_ascii_case(raw));
                frame.out.push_str(raw);
            }
            Token::Other => {
                // whitespace and comments keep "PASSWORD  'x'" together; anything else breaks it
                if !raw.trim().is_empty() && !raw.starts_with("--") && !raw.starts_with("/*") {
                    frame.after_secret_word = false;
                }
                frame.out.push_str(raw);
            }
            Token::Str(_) if frame.after_secret_word => {
                frame.after_secret_word = false;
                frame.out.push('\'');
                frame.out.push_str(MASK);
                frame.out.push('\'');
            }
            Token::Str(kind) => {
                // The body is redacted as SQL in a frame of its own; unterminated strings are
                // left as PostgreSQL saw them.
                let body_end = frame.pos;
                let inner = match kind {
                    StrKind::Dollar(tag_len) => {
                        let tag = &raw[..tag_len];
                        (raw.len() >= 2 * tag_len && raw.ends_with(tag)).then(|| {
                            let (text, body_start) = (frame.text, body_end - raw.len() + tag_len);
                            (Wrap::Dollar(tag.to_string()), text, body_start, body_end - tag_len, None)
                        })
                    }
                    StrKind::Plain | StrKind::Escaped => {
                        let prefix_len = if kind == StrKind::Escaped { 2 } else { 1 };
                        (raw.len() > prefix_len && raw.ends_with('\'')).then(|| {
                            let unescaped = raw[prefix_len..raw.len() - 1].replace("''", "'");
                            (Wrap::Quoted(raw[..prefix_len].to_string()), 0, 0, unescaped.len(), Some(unescaped))
                        })
                    }
                };
                frame.after_secret_word = false;
                match inner {
                    None => frame.out.push_str(raw),
                    Some((wrap, text, start, end, owned)) => {
                        if stack.len() > MAX_NESTING {
                            return Err(RedactError::TooDeep);
                        }
                        let text = match owned {
                            Some(owned) => {
                                texts.push(std::borrow::Cow::Owned(owned));
                                texts.len() - 1
                            }
                            None => text,
                        };
                        let out = String::with_capacity(end - start);
                        stack.push(Frame { text, start, pos: start, end, out, after_secret_word: false, wrap });
                    }
                }
            }
        }
    }
    // not reached: the statement's own frame returns above
    Ok(String::new())
}

fn mask_conninfo(text: &str) -> String {
    let text = CONNINFO_PASSWORD.replace_all(text, format!("${{1}}{MASK}").as_str());
    URI_PASSWORD.replace_all(&text, format!("${{1}}{MASK}${{3}}").as_str()).into_owned()
}

/// Cuts `text` to at most `max_bytes` bytes on a character boundary, marking the cut.
pub fn truncate(text: &str, max_bytes: usize) -> String {
    if text.len() <= max_bytes {
        return text.to_string();
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(sql: &str) -> String {
        redact(sql).expect("redacts")
    }

    #[test]
    fn role_passwords() {
        assert_eq!(r("CREATE ROLE app LOGIN PASSWORD 'hunter2'"), "CREATE ROLE app LOGIN PASSWORD '***'");
        assert_eq!(r("alter user app with encrypted password 's3cr3t' valid until 'infinity'"),
                   "alter user app with encrypted password '***' valid until 'infinity'");
        assert_eq!(r("ALTER ROLE app PASSWORD NULL"), "ALTER ROLE app PASSWORD NULL");
    }

    #[test]
    fn tricky_quoting() {
        assert_eq!(r("ALTER ROLE a PASSWORD 'it''s secret'"), "ALTER ROLE a PASSWORD '***'");
        assert_eq!(r(r"ALTER ROLE a PASSWORD E'it\'s \\ secret'"), "ALTER ROLE a PASSWORD '***'");
        assert_eq!(r("ALTER ROLE a PASSWORD $$it's$$"), "ALTER ROLE a PASSWORD '***'");
        assert_eq!(r("ALTER ROLE a PASSWORD $pw$x$y$pw$"), "ALTER ROLE a PASSWORD '***'");
        assert_eq!(r("ALTER ROLE a PASSWORD /* why */ 'x'"), "ALTER ROLE a PASSWORD /* why */ '***'");
        // a quoted identifier named password is not a keyword followed by a secret
        assert_eq!(r("SELECT \"password\" FROM t WHERE x = 'keep'"), "SELECT \"password\" FROM t WHERE x = 'keep'");
    }

    #[test]
    fn server_and_user_mapping_options() {
        assert_eq!(
            r("CREATE USER MAPPING FOR app SERVER s OPTIONS (user 'app', password 'pw')"),
            "CREATE USER MAPPING FOR app SERVER s OPTIONS (user 'app', password '***')"
        );
        assert_eq!(
            r("ALTER SERVER s OPTIONS (SET passfile '/x/.pgpass', ADD sslpassword 'k')"),
            "ALTER SERVER s OPTIONS (SET passfile '***', ADD sslpassword '***')"
        );
    }

    #[test]
    fn connection_strings() {
        assert_eq!(
            r("SELECT dblink_connect('host=db user=app password=hunter2 dbname=x')"),
            "SELECT dblink_connect('host=db user=app password=*** dbname=x')"
        );
        assert_eq!(
            r("SELECT dblink('dbname=x password=''a b''', 'select 1')"),
            "SELECT dblink('dbname=x password=***', 'select 1')"
        );
        assert_eq!(
            r("SELECT f('postgresql://app:hunter2@db:5432/x')"),
            "SELECT f('postgresql://app:***@db:5432/x')"
        );
    }

    #[test]
    fn nested_statements() {
        assert_eq!(
            r("DO $$ BEGIN EXECUTE 'ALTER ROLE app PASSWORD ''hunter2'''; END $$"),
            "DO $$ BEGIN EXECUTE 'ALTER ROLE app PASSWORD ''***'''; END $$"
        );
        assert_eq!(
            r("CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $fn$ BEGIN CREATE ROLE x PASSWORD 'p'; END $fn$"),
            "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $fn$ BEGIN CREATE ROLE x PASSWORD '***'; END $fn$"
        );
    }

    #[test]
    fn ordinary_text_is_untouched() {
        for sql in ["SELECT 'password' AS word", "UPDATE t SET v = $1 WHERE id = $2", "SELECT 'a''b', E'\\n', $$x$$",
                    "INSERT INTO t VALUES ('é', 'naïve')", "SELECT 1 -- comment 'x'"] {
            assert_eq!(r(sql), sql);
        }
    }

    #[test]
    fn unterminated_input_does_not_panic() {
        for sql in ["SELECT 'abc", "SELECT $$abc", "ALTER ROLE a PASSWORD 'x", "SELECT \"abc", "/* x", "E'", "$"] {
            let _ = r(sql);
        }
        assert_eq!(r("ALTER ROLE a PASSWORD 'x"), "ALTER ROLE a PASSWORD '***'");
    }

    #[test]
    fn truncation_respects_characters() {
        assert_eq!(truncate("abcdef", 10), "abcdef");
        assert_eq!(truncate("abcdef", 3), "abc…");
        assert_eq!(truncate("ééé", 3), "é…");
    }

    /// `$q0$ $q1$ … x … $q1$ $q0$`: the shape that crashed the server when the redactor
    /// recursed into each body.
    fn nested_dollars(levels: usize) -> String {
        let open: String = (0..levels).map(|i| format!("$q{i}$ ")).collect();
        let close: String = (0..levels).rev().map(|i| format!(" $q{i}$")).collect();
        format!("CREATE ROLE r PASSWORD 'x'; SELECT {open}PASSWORD 'hunter2'{close}")
    }

    #[test]
    fn nesting_within_the_limit_is_redacted_at_every_level() {
        let out = r(&nested_dollars(MAX_NESTING));
        assert!(!out.contains("hunter2") && out.contains("PASSWORD '***'"), "{out}");
    }

    #[test]
    fn deeper_nesting_is_refused_not_recursed() {
        assert_eq!(redact(&nested_dollars(MAX_NESTING + 1)), Err(RedactError::TooDeep));
        // the issue's reproducer: 30,000 levels, about 500 kB, in well under a second
        let started = std::time::Instant::now();
        assert!(redact(&nested_dollars(30_000)).is_err());
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        // doubled quotes: each level doubles the text, so depth comes cheap only with dollars
        let mut s = "PASSWORD 'x'".to_string();
        for _ in 0..12 {
            s = format!("'{}'", s.replace('\'', "''"));
        }
        assert!(!r(&format!("SELECT {s}")).contains("'x'"));
    }

    #[test]
    fn work_is_bounded() {
        // few levels, but each scans a long body again: refused past the budget
        let body = "a ".repeat(200_000);
        let sql: String = (0..40).map(|i| format!("$t{i}$")).collect::<String>() + &body
            + &(0..40).rev().map(|i| format!("$t{i}$")).collect::<String>();
        assert_eq!(redact(&sql), Err(RedactError::TooMuchWork));
        assert_eq!(
            unredacted_marker(sql.len(), RedactError::TooMuchWork),
            format!("[nspg_guard: statement of {} bytes not stored: too much nesting to redact]", sql.len())
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// SQL-ish text: the pieces the tokenizer cares about, in any order and unbalanced.
        fn sqlish() -> impl Strategy<Value = String> {
            let piece = prop_oneof![
                Just("'".to_string()), Just("''".to_string()), Just("E'".to_string()), Just("\\".to_string()),
                Just("$$".to_string()), Just("$a$".to_string()), Just("$1".to_string()), Just("\"".to_string()),
                Just("--".to_string()), Just("/*".to_string()), Just("*/".to_string()), Just("\n".to_string()),
                Just(" ".to_string()), Just("PASSWORD".to_string()), Just("password=".to_string()),
                Just("postgresql://u:p@h".to_string()), Just("é".to_string()), Just("OPTIONS (".to_string()),
                "[a-z]{1,6}", any::<char>().prop_map(String::from),
            ];
            prop::collection::vec(piece, 0..60).prop_map(|v| v.concat())
        }

        proptest! {
            #[test]
            fn never_panics(sql in sqlish()) {
                match redact(&sql) {
                    Ok(out) => prop_assert!(out.len() <= sql.len() * 3 + 16),
                    Err(e) => prop_assert!(unredacted_marker(sql.len(), e).starts_with("[nspg_guard: statement of")),
                }
                let _ = truncate(&sql, 7);
            }

            #[test]
            fn a_password_literal_never_survives(prefix in sqlish(), secret in "[a-z]{12}") {
                let sql = format!("{prefix}\nALTER ROLE a PASSWORD '{secret}'");
                if let Ok(out) = redact(&sql) {
                    // the literal may sit inside a string or comment the prefix left open,
                    // where it is masked as a connection string or left as text PostgreSQL
                    // never runs; at top level it is always masked
                    if !prefix.contains(['\'', '$', '"', '-', '/', 'E', 'e']) {
                        prop_assert!(!out.contains(&secret), "{}", out);
                    }
                }
            }

            #[test]
            fn any_text_is_bounded(sql in any::<String>()) {
                let _ = redact(&sql);
            }
        }
    }
}
