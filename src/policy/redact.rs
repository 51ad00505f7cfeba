//! Secrets never reach the audit trail or the server log (NS-PG-007 §6.2): statement text is
//! redacted before it is stored or logged. Pure: SQL text in, SQL text out.
//!
//! The text is read with PostgreSQL's own lexical rules ([`sql_lexer`], a port of scan.l), so
//! every literal form the server accepts is seen as the server sees it, and a literal is masked
//! whole (`'***'`) when
//! - it is unterminated at the top level (the server rejects the statement; nothing says where
//!   its secret ends; a string body need not be SQL, so there an open quote means nothing);
//! - it stands within three tokens after a secret-bearing word — `PASSWORD`, an option name
//!   however quoted or escaped ending in "password", "passwd", "passfile" or "secret"
//!   (`OPTIONS ("password" '…')`),
//!   `CONNECTION`, or four after a literal ending with such a word (SQL being built) — with no
//!   comma, semicolon or closing parenthesis between;
//! - its value, read as libpq reads a connection string ([`conninfo`]: key/value or URI), has a
//!   password; or it holds `pass…=` or a URI with `user:password@` anywhere (text libpq would
//!   reject still carries the secret).
//!
//! Other literals are redacted as SQL themselves (a DO body, an `EXECUTE '…'` string, a
//! function body), at every nesting level, with an explicit stack. Deeper than [`MAX_NESTING`]
//! a literal is masked whole; more work than the budget (bytes scanned per byte of statement)
//! is an error, and the caller stores a marker instead ([`unredacted_marker`]).
//!
//! The session's `standard_conforming_strings` is not known for sure for every statement of a
//! text (one can change it halfway), so the text is also read the other way, and a literal that
//! reading finds a secret is masked too (an open quote at the end counts only in the session's
//! reading: the other one often ends on an open quote).

use crate::policy::conninfo;
use crate::policy::sql_lexer::{self, Kind, Token};
use once_cell::sync::Lazy;
use regex::Regex;
use std::ops::Range;

const MASKED_LITERAL: &str = "'***'";

/// Endings of a word or option name whose value is a secret.
const SECRET_WORDS: [&str; 4] = ["password", "passwd", "passfile", "secret"];

/// Deepest nesting of strings inside strings that is redacted as SQL. SQL written by people or
/// tools nests a few levels (a DO block, an EXECUTE string, a connection string inside it).
pub const MAX_NESTING: usize = 64;

/// Work allowed per byte of the statement (each nesting level scans its string body again),
/// on top of a fixed allowance for short statements.
const WORK_PER_BYTE: usize = 16;
const WORK_ALLOWANCE: usize = 1 << 20;

/// How far (in significant tokens) a secret-bearing word reaches: `PASSWORD 'x' VALID UNTIL
/// 'date'` keeps its date; a literal ending with a secret word reaches one further, over
/// `|| quote_literal(`.
const SECRET_WORD_REACH: usize = 3;
const SECRET_LITERAL_REACH: usize = 4;

static SECRET_IN_TEXT: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r"(?i)pass[a-z_]*\s*=|[a-z][a-z0-9+.-]*://[^/@\s]*:[^@\s/]*@").expect("static regex")
});

/// Why a statement could not be redacted. The caller must not keep the text then.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RedactError {
    /// Redacting would scan more than the work budget (`WORK_PER_BYTE` times the length).
    #[error("too much nesting to redact")]
    TooMuchWork,
}

/// What is stored instead of a statement that could not be redacted: never the text itself,
/// only why and how long it was.
pub fn unredacted_marker(len: usize, why: RedactError) -> String {
    format!("[nspg_guard: statement of {len} bytes not stored: {why}]")
}

/// The statement with every secret masked, read first as the session reads it
/// (`standard_conforming_strings`).
pub fn redact(sql: &str, standard_conforming_strings: bool) -> Result<String, RedactError> {
    redact_collect(sql, standard_conforming_strings).map(|r| r.text)
}

/// `redact`, also masking the byte ranges `also` (literals the server's parser found to be
/// secrets): the union of both, since more masking never leaks. A range that is not within the
/// text on character boundaries is ignored.
pub fn redact_also(sql: &str, standard_conforming_strings: bool, also: &[Range<usize>]) -> Result<String, RedactError> {
    let mut found = redact_edits(sql, standard_conforming_strings)?.0;
    found.extend(
        also.iter()
            .filter(|r| r.start < r.end && sql.get(r.start..r.end).is_some())
            .map(|r| Edit { start: r.start, end: r.end, with: MASKED_LITERAL.to_string() }),
    );
    Ok(apply(sql, merge(found)))
}

/// Is an option of this name (a role's `PASSWORD`, a server's or user mapping's `password`,
/// `sslpassword`, `passfile`, `…secret`) a secret?
pub fn is_secret_option(name: &str) -> bool {
    let v = name.to_ascii_lowercase();
    SECRET_WORDS.iter().any(|w| v.ends_with(w))
}

/// Does a literal's value hold a secret by itself (a connection string with a password, a
/// URI with `user:password@`, `pass…=` anywhere)?
pub fn holds_secret(value: &str) -> bool {
    !conninfo::secret_values(value).is_empty() || SECRET_IN_TEXT.is_match(value)
}

/// A redacted text and the secrets masked in it, so a log line that repeats a secret elsewhere
/// (an error message quoting it) can be scrubbed too.
#[derive(Debug, Default)]
pub struct Redacted {
    pub text: String,
    pub secrets: Secrets,
}

#[derive(Debug, Default)]
pub struct Secrets {
    /// Secret values, decoded (a password, not the connection string around it).
    pub values: Vec<String>,
    /// The literals that held them, as written.
    pub literals: Vec<String>,
}

pub fn redact_collect(sql: &str, standard_conforming_strings: bool) -> Result<Redacted, RedactError> {
    let (found, secrets) = redact_edits(sql, standard_conforming_strings)?;
    Ok(Redacted { text: apply(sql, merge(found)), secrets })
}

fn redact_edits(sql: &str, standard_conforming_strings: bool) -> Result<(Vec<Edit>, Secrets), RedactError> {
    let budget = sql.len().saturating_mul(WORK_PER_BYTE).saturating_add(WORK_ALLOWANCE);
    let mut work = 0usize;
    let mut secrets = Secrets::default();
    let session = Reading { scs: standard_conforming_strings, primary: true };
    let mut found = edits(sql, session, &mut work, budget, &mut secrets)?;
    let other = Reading { scs: !standard_conforming_strings, primary: false };
    found.extend(edits(sql, other, &mut work, budget, &mut secrets)?);
    for list in [&mut secrets.values, &mut secrets.literals] {
        list.retain(|s| !s.is_empty());
        list.sort();
        list.dedup();
    }
    Ok((found, secrets))
}

/// A replacement of `text[start..end]`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Edit {
    start: usize,
    end: usize,
    with: String,
}

/// Overlapping edits (from the two readings) become one masked range.
fn merge(mut edits: Vec<Edit>) -> Vec<Edit> {
    edits.sort_by_key(|e| (e.start, e.end));
    let mut out: Vec<Edit> = Vec::with_capacity(edits.len());
    for e in edits {
        match out.last_mut() {
            Some(last) if e.start < last.end || (e.start == last.start && e.end == last.end) => {
                if !(e.start == last.start && e.end == last.end && e.with == last.with) {
                    last.end = last.end.max(e.end);
                    last.with = MASKED_LITERAL.to_string();
                }
            }
            _ => out.push(e),
        }
    }
    out
}

fn apply(text: &str, edits: Vec<Edit>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for e in edits {
        out.push_str(&text[at..e.start]);
        out.push_str(&e.with);
        at = e.end;
    }
    out.push_str(&text[at..]);
    out
}

/// What a word before a literal says about it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Word {
    /// `PASSWORD`, an option named `password`, `sslpassword`, `passfile`, `…secret`: the literal
    /// is the secret.
    Secret,
    /// `CONNECTION`: the literal is a connection string (masked whole; its password, if any, is
    /// the secret).
    Connection,
}

/// Is this word or quoted identifier one after which a literal is a secret? A literal that
/// ends with such a word counts too: `EXECUTE 'ALTER ROLE r PASSWORD ' || quote_literal('…')`,
/// and one that ends with a connection string's key and its `=`: `'host=h password=' || '…'`.
/// Settings like `password_encryption` or options like `password_required` do not.
fn secret_word(t: &Token) -> Option<Word> {
    let word = match t.kind {
        Kind::Word | Kind::QuotedIdent => t.value.as_str(),
        Kind::Str => t.value.trim_end().trim_end_matches('=').split_whitespace().last().unwrap_or(""),
        _ => return None,
    };
    if is_secret_option(word) {
        Some(Word::Secret)
    } else {
        word.eq_ignore_ascii_case("connection").then_some(Word::Connection)
    }
}

fn is_literal(t: &Token) -> bool {
    matches!(t.kind, Kind::Str | Kind::Unterminated)
}

/// Tokens that end a secret-bearing word's reach (a literal does not: in `PASSWORD 'a' 'b'`,
/// which does not parse, either may be the secret).
fn breaks_reach(t: &Token) -> bool {
    t.kind == Kind::Other && matches!(t.value.as_str(), "," | ";" | ")")
}

/// Is the literal at `sig[p]` a secret by where it stands or what it holds? If so, the secret
/// values in it (for scrubbing log messages that quote them: the literal's value, or only the
/// passwords of a connection string).
fn secret_literal(sig: &[&Token], p: usize, open_quote_counts: bool) -> Option<Vec<String>> {
    let t = sig[p];
    let conninfo_secrets = conninfo::secret_values(&t.value);
    if !conninfo_secrets.is_empty() {
        return Some(conninfo_secrets);
    }
    if t.kind == Kind::Unterminated && open_quote_counts {
        return Some(vec![t.value.clone()]);
    }
    for back in 1..=SECRET_LITERAL_REACH.min(p) {
        let before = sig[p - back];
        match secret_word(before) {
            Some(word) if back <= SECRET_WORD_REACH || before.kind == Kind::Str => {
                return Some(if word == Word::Secret { vec![t.value.clone()] } else { Vec::new() });
            }
            _ => {}
        }
        if breaks_reach(before) {
            break;
        }
    }
    SECRET_IN_TEXT.is_match(&t.value).then(|| vec![t.value.clone()])
}

/// One text being read: its tokens, the next one to look at, the edits so far, and where the
/// literal it came from sits in its parent.
struct Frame {
    text: String,
    tokens: Vec<Token>,
    next: usize,
    edits: Vec<Edit>,
    origin: Option<Origin>,
}

struct Origin {
    start: usize,
    end: usize,
    /// The delimiter of a dollar-quoted literal, to put the redacted body back in the same form.
    dollar_tag: Option<String>,
}

/// How the top level of a text is read.
#[derive(Clone, Copy)]
struct Reading {
    scs: bool,
    /// The session's own reading (not the one tried in case the setting changed).
    primary: bool,
}

/// The edits that mask `sql`'s secrets read as `reading` says, nested bodies too (PL/pgSQL and
/// EXECUTE read them with the session's `standard_conforming_strings`; the two readings of
/// `redact_edits` cover either setting at every level).
fn edits(sql: &str, reading: Reading, work: &mut usize, budget: usize, secrets: &mut Secrets) -> Result<Vec<Edit>, RedactError> {
    let mut stack = vec![Frame { text: sql.to_string(), tokens: sql_lexer::tokens(sql, reading.scs), next: 0, edits: Vec::new(), origin: None }];
    *work = work.saturating_add(sql.len());
    loop {
        let depth = stack.len();
        let Some(frame) = stack.last_mut() else { return Ok(Vec::new()) };
        if frame.next >= frame.tokens.len() {
            let Some(done) = stack.pop() else { return Ok(Vec::new()) };
            let Some(origin) = done.origin else { return Ok(done.edits) };
            if done.edits.is_empty() {
                continue;
            }
            let body = apply(&done.text, done.edits);
            let with = match origin.dollar_tag {
                Some(tag) if !body.contains(&tag) => format!("{tag}{body}{tag}"),
                _ => format!("'{}'", body.replace('\'', "''")),
            };
            if let Some(parent) = stack.last_mut() {
                parent.edits.push(Edit { start: origin.start, end: origin.end, with });
            }
            continue;
        }
        let i = frame.next;
        frame.next += 1;
        let t = &frame.tokens[i];
        if !is_literal(t) {
            continue;
        }
        // the significant tokens before this one, nearest last, as far as a secret word reaches
        let sig: Vec<&Token> = {
            let mut before: Vec<&Token> =
                frame.tokens[..i].iter().rev().filter(|t| t.is_significant()).take(SECRET_LITERAL_REACH).collect();
            before.reverse();
            before.push(t);
            before
        };
        if let Some(values) = secret_literal(&sig, sig.len() - 1, reading.primary && frame.origin.is_none()) {
            if !values.is_empty() {
                secrets.literals.push(frame.text[t.start..t.end].to_string());
            }
            secrets.values.extend(values);
            frame.edits.push(Edit { start: t.start, end: t.end, with: MASKED_LITERAL.to_string() });
            continue;
        }
        if t.value.is_empty() {
            continue;
        }
        if depth > MAX_NESTING {
            // too deep to read as SQL: nobody can vouch for what it holds
            secrets.values.push(t.value.clone());
            frame.edits.push(Edit { start: t.start, end: t.end, with: MASKED_LITERAL.to_string() });
            continue;
        }
        *work = work.saturating_add(t.value.len());
        if *work > budget {
            return Err(RedactError::TooMuchWork);
        }
        let raw = &frame.text[t.start..t.end];
        let dollar_tag = raw.starts_with('$').then(|| raw[..raw[1..].find('$').map_or(1, |p| p + 2)].to_string());
        let origin = Origin { start: t.start, end: t.end, dollar_tag };
        let text = t.value.clone();
        let tokens = sql_lexer::tokens(&text, reading.scs);
        stack.push(Frame { text, tokens, next: 0, edits: Vec::new(), origin: Some(origin) });
    }
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
        redact(sql, true).expect("redacts")
    }

    #[test]
    fn a_literal_after_a_connection_string_that_ends_in_its_password_key() {
        let out = r("SELECT dblink_connect('c3', 'host=127.0.0.1 port=1 user=u password=' || 'hunter2')");
        assert!(!out.contains("hunter2"), "{out}");
        let out = r("SELECT dblink_connect('c3', 'host=h password =  ' || 'hunter2')");
        assert!(!out.contains("hunter2"), "{out}");
        assert_eq!(r("SELECT 'a=' || 'b'"), "SELECT 'a=' || 'b'");
    }

    #[test]
    fn nested_bodies_are_read_with_either_setting() {
        // with standard_conforming_strings off, PL/pgSQL reads \' in the EXECUTE string as a quote
        let sql = r#"DO $$ BEGIN EXECUTE 'ALTER ROLE r PASSWORD \'x hunter2\''; END $$"#;
        for scs in [true, false] {
            let out = redact(sql, scs).expect("redacts");
            assert!(!out.contains("hunter2"), "{scs}: {out}");
        }
    }

    #[test]
    fn role_passwords() {
        assert_eq!(r("CREATE ROLE app LOGIN PASSWORD 'hunter2'"), "CREATE ROLE app LOGIN PASSWORD '***'");
        assert_eq!(r("alter user app with encrypted password 's3cr3t' valid until 'infinity'"),
                   "alter user app with encrypted password '***' valid until 'infinity'");
        assert_eq!(r("ALTER ROLE app PASSWORD NULL"), "ALTER ROLE app PASSWORD NULL");
        assert_eq!(r("SET password_encryption = 'md5'"), "SET password_encryption = 'md5'");
        assert_eq!(r("SELECT 'ALTER ROLE r PASSWORD ' || quote_literal('hunter2')"), "SELECT 'ALTER ROLE r PASSWORD ' || quote_literal('***')");
        // does not parse: either literal may be the secret
        assert_eq!(r("ALTER ROLE app PASSWORD E'\\\\' 'hunter2'"), "ALTER ROLE app PASSWORD '***' '***'");
    }

    #[test]
    fn ranges_found_elsewhere_are_masked_too() {
        // the server's parser knows 'hunter2' is the password: its repeat in `note` goes too
        let sql = "CREATE SERVER s FOREIGN DATA WRAPPER f OPTIONS (password 'hunter2', note 'hunter2')";
        let note = sql.rfind("'hunter2'").expect("literal");
        assert_eq!(redact_also(sql, true, &[note..note + 9]).expect("redacts"),
                   "CREATE SERVER s FOREIGN DATA WRAPPER f OPTIONS (password '***', note '***')");
        assert_eq!(r(sql), "CREATE SERVER s FOREIGN DATA WRAPPER f OPTIONS (password '***', note 'hunter2')");
        // overlapping the Rust rules' edit (a redacted body inside a literal): one mask
        let sql = "DO $$ BEGIN EXECUTE 'ALTER ROLE r PASSWORD ''x'''; END $$; SELECT 1";
        let end = sql.find("; SELECT").expect("end");
        assert_eq!(redact_also(sql, true, &[3..end, 5..9]).expect("redacts"), "DO '***'; SELECT 1");
        // ranges off the text or off character boundaries are ignored, never a panic
        assert_eq!(redact_also("SELECT 'é'", true, &[8..9, 5..100, 4..2]).expect("redacts"), "SELECT 'é'");
    }

    #[test]
    fn secret_options_and_values() {
        for name in ["password", "PASSWORD", "sslpassword", "passfile", "client_secret", "passwd"] {
            assert!(is_secret_option(name), "{name}");
        }
        for name in ["password_required", "user", "host", "passwords_file"] {
            assert!(!is_secret_option(name), "{name}");
        }
        assert!(holds_secret("host=h password=x"));
        assert!(holds_secret("postgres://u:x@h/db"));
        assert!(!holds_secret("host=h user=u"));
        assert!(!holds_secret("hunter2"));
    }

    #[test]
    fn every_literal_form() {
        for lit in ["'hunter2'", "'it''s hunter2'", r"E'it\'s \\ hunter2'", "$$hunter2$$", "$pw$x$y hunter2$pw$",
                    "$é$hunter2$é$", "U&'hunter\\0032'", "U&'hunter!0032' UESCAPE '!'", "u&'hunter!+000032'uescape'!'",
                    "''\n'hunter2'", "'hunt' \n -- c\n 'er2'", "E''\n'\\x68unter2'", "N'hunter2'"] {
            let out = r(&format!("ALTER ROLE a PASSWORD {lit}"));
            assert!(!out.contains("hunter") && !out.contains("er2"), "{lit}: {out}");
            assert!(out.starts_with("ALTER ROLE a PASSWORD '***'"), "{lit}: {out}");
        }
        // standard_conforming_strings = off: the backslash escapes the quote
        let out = r(r"ALTER ROLE a PASSWORD 'x\' hunter2'");
        assert!(!out.contains("hunter2"), "{out}");
        assert_eq!(r("ALTER ROLE a PASSWORD /* why */ 'x'"), "ALTER ROLE a PASSWORD /* why */ '***'");
        // a quoted identifier named password is not a keyword followed by a secret
        assert_eq!(r("SELECT \"password\" FROM t WHERE x IN ('keep', 'this')"), "SELECT \"password\" FROM t WHERE x IN ('keep', 'this')");
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
        for name in ["\"password\"", "U&\"pass\\0077ord\"", "\"PASSWORD\""] {
            let out = r(&format!("ALTER USER MAPPING FOR app SERVER s OPTIONS (ADD {name} 'hunter2')"));
            assert!(!out.contains("hunter2"), "{out}");
        }
    }

    #[test]
    fn connection_strings() {
        assert_eq!(r("SELECT dblink_connect('host=db user=app password=hunter2 dbname=x')"), "SELECT dblink_connect('***')");
        assert_eq!(r("SELECT dblink('dbname=x password=''a b''', 'select 1')"), "SELECT dblink('***', 'select 1')");
        assert_eq!(r("SELECT f('postgresql://app:hunter2@db:5432/x')"), "SELECT f('***')");
        for lit in [r"E'host=h pass\x77ord=hunter2'", "'postgres://h/x?pass%77ord=hunter2'", "U&'pass\\0077ord=hunter2'",
                    r"'host=h password=\'hunter2\''", "'postgresql://u:hunter2@h'"] {
            let out = r(&format!("SELECT dblink_connect('c', {lit})"));
            assert!(!out.contains("hunter2"), "{lit}: {out}");
        }
        assert_eq!(
            r("CREATE SUBSCRIPTION s CONNECTION 'host=h dbname=d' PUBLICATION p"),
            "CREATE SUBSCRIPTION s CONNECTION '***' PUBLICATION p"
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
                    "INSERT INTO t VALUES ('é', 'naïve')", "SELECT 1 -- comment 'x'", "SELECT 'C:\\', 'x'"] {
            assert_eq!(r(sql), sql);
        }
    }

    #[test]
    fn unterminated_input_is_masked() {
        for sql in ["SELECT 'abc", "SELECT $$abc", "SELECT \"abc", "/* x", "E'", "$", "U&'\\"] {
            let _ = r(sql);
        }
        assert_eq!(r("ALTER ROLE a PASSWORD 'x"), "ALTER ROLE a PASSWORD '***'");
        assert_eq!(r("SELECT 'abc"), "SELECT '***'");
    }

    #[test]
    fn secrets_are_collected() {
        let found = redact_collect("ALTER ROLE a PASSWORD E'hunter\\x32'", true).expect("redacts");
        assert_eq!(found.secrets.values, vec!["hunter2".to_string()]);
        assert_eq!(found.secrets.literals, vec!["E'hunter\\x32'".to_string()]);
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
        let out = r(&nested_dollars(MAX_NESTING - 1));
        assert!(!out.contains("hunter2") && out.contains("PASSWORD '***'"), "{out}");
    }

    #[test]
    fn deeper_nesting_is_masked_not_recursed() {
        let out = r(&nested_dollars(MAX_NESTING + 1));
        assert!(!out.contains("hunter2"), "{out}");
        // the issue's reproducer: 30,000 levels, about 500 kB, in well under a second
        let started = std::time::Instant::now();
        assert!(!redact(&nested_dollars(30_000), true).map_or(false, |out| out.contains("hunter2")));
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
        assert_eq!(redact(&sql, true), Err(RedactError::TooMuchWork));
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
                Just("U&'".to_string()), Just("UESCAPE".to_string()), Just("$é$".to_string()),
                "[a-z]{1,6}", any::<char>().prop_map(String::from),
            ];
            prop::collection::vec(piece, 0..60).prop_map(|v| v.concat())
        }

        /// A secret written in one of the literal forms PostgreSQL accepts.
        fn literal(secret: String) -> impl Strategy<Value = String> {
            let hex: String = secret.chars().map(|c| format!("\\x{:02x}", c as u32)).collect();
            let uni: String = secret.chars().map(|c| format!("\\{:04x}", c as u32)).collect();
            let uni_bang: String = secret.chars().map(|c| format!("!{:04x}", c as u32)).collect();
            let (a, b) = secret.split_at(secret.len() / 2);
            prop_oneof![
                Just(format!("'{secret}'")), Just(format!("E'{hex}'")), Just(format!("U&'{uni}'")),
                Just(format!("U&'{uni_bang}' UESCAPE '!'")), Just(format!("'{a}'\n'{b}'")),
                Just(format!("$ŧag$ {secret} $ŧag$")), Just(format!("E'x\\'{secret}'")), Just(format!("'x\\' {secret}'")),
            ]
        }

        /// Where a literal carries a secret.
        fn statement(lit: String, secret: String) -> impl Strategy<Value = String> {
            prop_oneof![
                Just(format!("ALTER ROLE a PASSWORD {lit}")),
                Just(format!("CREATE USER MAPPING FOR a SERVER s OPTIONS (user 'a', \"password\" {lit})")),
                Just(format!("SELECT dblink_connect('host=h password={secret}')")),
                Just(format!("SELECT dblink_connect(E'pass\\x77ord={secret}')")),
                Just(format!("CREATE SUBSCRIPTION s CONNECTION {lit} PUBLICATION p")),
                Just(format!("DO $$ BEGIN EXECUTE 'ALTER ROLE a PASSWORD ''{secret}'''; END $$")),
            ]
        }

        proptest! {
            #[test]
            fn never_panics(sql in sqlish()) {
                match redact(&sql, true) {
                    Ok(out) => prop_assert!(out.len() <= sql.len() * 3 + 16),
                    Err(e) => prop_assert!(unredacted_marker(sql.len(), e).starts_with("[nspg_guard: statement of")),
                }
                let _ = truncate(&sql, 7);
            }

            #[test]
            fn a_secret_in_any_form_never_survives(
                (sql, secret) in "[a-z]{12}".prop_flat_map(|s| literal(s.clone()).prop_flat_map(move |l| statement(l, s.clone()).prop_map({ let s = s.clone(); move |st| (st, s.clone()) })))
            ) {
                let out = redact(&sql, true).expect("redacts");
                prop_assert!(!out.contains(&secret), "{}", out);
            }

            #[test]
            fn a_password_literal_never_survives(prefix in sqlish(), secret in "[a-z]{12}") {
                let sql = format!("{prefix}\nALTER ROLE a PASSWORD '{secret}'");
                if let Ok(out) = redact(&sql, true) {
                    // a quote, comment or identifier the prefix left open can make the "literal"
                    // a plain word or comment text (PostgreSQL reads it so too); at top level
                    // it is always masked
                    if !prefix.contains(['\'', '$', '"', '-', '/', 'E', 'e', 'U', 'u']) {
                        prop_assert!(!out.contains(&secret), "{}", out);
                    }
                }
            }

            #[test]
            fn any_text_is_bounded(sql in any::<String>()) {
                let _ = redact(&sql, true);
                let _ = redact(&sql, false);
            }
        }
    }
}
