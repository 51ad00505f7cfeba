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

#[derive(Debug, PartialEq, Eq)]
enum Token<'a> {
    /// A string literal: its raw text (quotes included) and its kind.
    Str { raw: &'a str, kind: StrKind },
    /// A word (keyword or unquoted identifier).
    Word(&'a str),
    /// Anything else, copied verbatim (punctuation, whitespace, comments, quoted identifiers).
    Other(&'a str),
}

#[derive(Debug, PartialEq, Eq, Clone)]
enum StrKind {
    /// '…' — quotes doubled inside.
    Plain,
    /// E'…' — quotes doubled or backslash-escaped inside.
    Escaped,
    /// $tag$…$tag$ — the opening delimiter, e.g. `$$` or `$fn$`.
    Dollar(String),
}

fn tokenize(sql: &str) -> Vec<Token<'_>> {
    let bytes = sql.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let c = bytes[i];
        let prev_is_word = start > 0 && is_word_byte(bytes[start - 1]);
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
            tokens.push(Token::Str { raw: &sql[start..i.min(sql.len())], kind });
        } else if c == b'$' && !prev_is_word {
            match dollar_tag(&sql[i..]) {
                Some(tag) => {
                    let body_start = i + tag.len();
                    let end = sql[body_start..].find(tag).map_or(sql.len(), |at| body_start + at + tag.len());
                    tokens.push(Token::Str { raw: &sql[start..end], kind: StrKind::Dollar(tag.to_string()) });
                    i = end;
                }
                None => {
                    i += 1;
                    tokens.push(Token::Other(&sql[start..i]));
                }
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
            tokens.push(Token::Other(&sql[start..i.min(sql.len())]));
        } else if c == b'-' && bytes.get(i + 1) == Some(&b'-') {
            i = sql[i..].find('\n').map_or(sql.len(), |at| i + at);
            tokens.push(Token::Other(&sql[start..i]));
        } else if c == b'/' && bytes.get(i + 1) == Some(&b'*') {
            i = sql[i + 2..].find("*/").map_or(sql.len(), |at| i + 2 + at + 2);
            tokens.push(Token::Other(&sql[start..i]));
        } else if is_word_byte(c) {
            while i < bytes.len() && is_word_byte(bytes[i]) {
                i += 1;
            }
            tokens.push(Token::Word(&sql[start..i]));
        } else {
            // one character (possibly multi-byte) at a time
            i += sql[i..].chars().next().map_or(1, char::len_utf8);
            tokens.push(Token::Other(&sql[start..i]));
        }
    }
    tokens
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

/// The statement with every secret masked.
pub fn redact(sql: &str) -> String {
    let tokens = tokenize(sql);
    let mut out = String::with_capacity(sql.len());
    let mut after_secret_word = false;
    for token in &tokens {
        match token {
            Token::Word(w) => {
                after_secret_word = SECRET_WORDS.iter().any(|s| s.eq_ignore_ascii_case(w));
                out.push_str(w);
            }
            Token::Str { raw, kind } => {
                if after_secret_word {
                    out.push('\'');
                    out.push_str(MASK);
                    out.push('\'');
                } else {
                    out.push_str(&redact_literal(raw, kind));
                }
                after_secret_word = false;
            }
            Token::Other(o) => {
                // whitespace and comments keep "PASSWORD  'x'" together; anything else breaks it
                if !o.trim().is_empty() && !o.starts_with("--") && !o.starts_with("/*") {
                    after_secret_word = false;
                }
                out.push_str(o);
            }
        }
    }
    out
}

/// Redacts inside one string literal: connection-string passwords, and the body as SQL.
fn redact_literal(raw: &str, kind: &StrKind) -> String {
    match kind {
        StrKind::Dollar(tag) => {
            let body = raw.strip_prefix(tag.as_str()).and_then(|b| b.strip_suffix(tag.as_str()));
            match body {
                Some(body) => format!("{tag}{}{tag}", mask_conninfo(&redact(body))),
                None => raw.to_string(), // unterminated: leave the text as PostgreSQL saw it
            }
        }
        StrKind::Plain | StrKind::Escaped => {
            let prefix = if *kind == StrKind::Escaped { &raw[..2] } else { &raw[..1] };
            let Some(body) = raw.strip_prefix(prefix).and_then(|b| b.strip_suffix('\'')) else {
                return raw.to_string();
            };
            // unescape doubled quotes, redact the body as SQL, escape again
            let inner = redact(&body.replace("''", "'"));
            format!("{prefix}{}'", mask_conninfo(&inner).replace('\'', "''"))
        }
    }
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

    #[test]
    fn role_passwords() {
        assert_eq!(redact("CREATE ROLE app LOGIN PASSWORD 'hunter2'"), "CREATE ROLE app LOGIN PASSWORD '***'");
        assert_eq!(redact("alter user app with encrypted password 's3cr3t' valid until 'infinity'"),
                   "alter user app with encrypted password '***' valid until 'infinity'");
        assert_eq!(redact("ALTER ROLE app PASSWORD NULL"), "ALTER ROLE app PASSWORD NULL");
    }

    #[test]
    fn tricky_quoting() {
        assert_eq!(redact("ALTER ROLE a PASSWORD 'it''s secret'"), "ALTER ROLE a PASSWORD '***'");
        assert_eq!(redact(r"ALTER ROLE a PASSWORD E'it\'s \\ secret'"), "ALTER ROLE a PASSWORD '***'");
        assert_eq!(redact("ALTER ROLE a PASSWORD $$it's$$"), "ALTER ROLE a PASSWORD '***'");
        assert_eq!(redact("ALTER ROLE a PASSWORD $pw$x$y$pw$"), "ALTER ROLE a PASSWORD '***'");
        assert_eq!(redact("ALTER ROLE a PASSWORD /* why */ 'x'"), "ALTER ROLE a PASSWORD /* why */ '***'");
        // a quoted identifier named password is not a keyword followed by a secret
        assert_eq!(redact("SELECT \"password\" FROM t WHERE x = 'keep'"), "SELECT \"password\" FROM t WHERE x = 'keep'");
    }

    #[test]
    fn server_and_user_mapping_options() {
        assert_eq!(
            redact("CREATE USER MAPPING FOR app SERVER s OPTIONS (user 'app', password 'pw')"),
            "CREATE USER MAPPING FOR app SERVER s OPTIONS (user 'app', password '***')"
        );
        assert_eq!(
            redact("ALTER SERVER s OPTIONS (SET passfile '/x/.pgpass', ADD sslpassword 'k')"),
            "ALTER SERVER s OPTIONS (SET passfile '***', ADD sslpassword '***')"
        );
    }

    #[test]
    fn connection_strings() {
        assert_eq!(
            redact("SELECT dblink_connect('host=db user=app password=hunter2 dbname=x')"),
            "SELECT dblink_connect('host=db user=app password=*** dbname=x')"
        );
        assert_eq!(
            redact("SELECT dblink('dbname=x password=''a b''', 'select 1')"),
            "SELECT dblink('dbname=x password=***', 'select 1')"
        );
        assert_eq!(
            redact("SELECT f('postgresql://app:hunter2@db:5432/x')"),
            "SELECT f('postgresql://app:***@db:5432/x')"
        );
    }

    #[test]
    fn nested_statements() {
        assert_eq!(
            redact("DO $$ BEGIN EXECUTE 'ALTER ROLE app PASSWORD ''hunter2'''; END $$"),
            "DO $$ BEGIN EXECUTE 'ALTER ROLE app PASSWORD ''***'''; END $$"
        );
        assert_eq!(
            redact("CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $fn$ BEGIN CREATE ROLE x PASSWORD 'p'; END $fn$"),
            "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $fn$ BEGIN CREATE ROLE x PASSWORD '***'; END $fn$"
        );
    }

    #[test]
    fn ordinary_text_is_untouched() {
        for sql in ["SELECT 'password' AS word", "UPDATE t SET v = $1 WHERE id = $2", "SELECT 'a''b', E'\\n', $$x$$",
                    "INSERT INTO t VALUES ('é', 'naïve')", "SELECT 1 -- comment 'x'"] {
            assert_eq!(redact(sql), sql);
        }
    }

    #[test]
    fn unterminated_input_does_not_panic() {
        for sql in ["SELECT 'abc", "SELECT $$abc", "ALTER ROLE a PASSWORD 'x", "SELECT \"abc", "/* x", "E'", "$"] {
            let _ = redact(sql);
        }
        assert_eq!(redact("ALTER ROLE a PASSWORD 'x"), "ALTER ROLE a PASSWORD '***'");
    }

    #[test]
    fn truncation_respects_characters() {
        assert_eq!(truncate("abcdef", 10), "abcdef");
        assert_eq!(truncate("abcdef", 3), "abc…");
        assert_eq!(truncate("ééé", 3), "é…");
    }
}
