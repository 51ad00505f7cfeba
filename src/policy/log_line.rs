//! What a server log entry may say (NS-PG-007 §6.2, §7.2): no secret, and no text that passes
//! for one of nspg_guard's own audit lines. Pure: the texts of one entry in, the texts to write
//! out.
//!
//! - **Secrets.** The statement being run (`debug_query_string`) is redacted once
//!   ([`Statement`]); wherever a text of the entry repeats it (the `STATEMENT:` line, the
//!   `statement: …`, `duration: … statement: …`, `execute <name>: …` lines of `log_statement` and
//!   `log_min_duration_statement`) the redacted text stands in. Texts that carry SQL of their
//!   own (`parameters: …`, `prepare: …`, `Failed process was running: …`, the `QUERY:` of an
//!   internal query) are redacted as SQL. Any secret found in the statement is scrubbed from
//!   every text of the entry (an error message or `CONTEXT` quoting it decoded).
//! - **Forged lines.** nspg_guard's lines start with [`TAG`] (`NSPG_AUDIT {…}`,
//!   `NSPG_AUDIT_SEAL …`). In every other text the tag is broken ([`break_tag`]): a role can
//!   `RAISE LOG 'NSPG_AUDIT {…}'`, but what reaches the log reads `NSPG-AUDIT {…}`.

use crate::policy::audit_event::LOG_TAG;
use crate::policy::redact;
use once_cell::sync::Lazy;
use regex::Regex;

/// The tag that starts every line of ours (`NSPG_AUDIT_SEAL` starts with it too).
pub const TAG: &str = LOG_TAG;
/// What the tag becomes in any text that is not ours.
pub const BROKEN_TAG: &str = "NSPG-AUDIT";

/// Secrets shorter than this are not scrubbed from message texts (masking every "ab" in an
/// error message would garble it); their literal is masked in the statement all the same.
const MIN_SCRUBBED_SECRET: usize = 4;

/// `text` as a case-insensitive pattern that matches it as a whole word only ("over", a word of
/// the password "taken over", leaves "approver" alone).
fn whole_word(text: &str) -> Option<Regex> {
    let is_word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    let before = if is_word(text.chars().next()) { r"\b" } else { "" };
    let after = if is_word(text.chars().last()) { r"\b" } else { "" };
    Regex::new(&format!("(?i){before}{}{after}", regex::escape(text))).ok()
}

/// `text` with the tag broken, or None when it holds no tag.
pub fn break_tag(text: &str) -> Option<String> {
    text.contains(TAG).then(|| text.replace(TAG, BROKEN_TAG))
}

/// Texts of PostgreSQL's log messages followed by SQL (or by bind parameters written as SQL
/// literals): what comes after the match is redacted as SQL.
static SQL_AFTER: Lazy<Regex> = Lazy::new(|| {
    Regex::new(
        r"(?m)^(?:duration: [0-9.]+ ms  )?(?:(?:statement|parse [^:\n]*|bind [^:\n]*|execute [^:\n]*|prepare|parameters|(?:unnamed portal|portal [^:\n]*) with parameters|Failed process was running|Query Text): |(?:unnamed portal|portal [^:\n]*) parameter \$[0-9]+ = )",
    )
    .expect("static regex")
});

/// Secrets in any text, SQL or not (a setting's new value, a JSON fragment, the SQL another
/// library logs): the value of a connection string's password key, the password of a URI, and
/// the literal after SQL's PASSWORD (to the last quote of its line: more masking never leaks).
static SECRETS_ANYWHERE: Lazy<[(Regex, &'static str); 3]> = Lazy::new(|| {
    let re = |r: &str| Regex::new(r).expect("static regex");
    [
        (re(r#"(?i)\b(pass[a-z_]*\s*=\s*)(?:'(?:[^'\\\n]|\\.)*'?|[^\s'",;)]+)"#), "${1}***"),
        (re(r"(?i)\b([a-z][a-z0-9+.-]*://[^/@\s:]*:)[^@\s/]+@"), "${1}***@"),
        (re(r"(?i)\b(password\s+)(?:E|U&)?'[^\n]*'"), "${1}'***'"),
    ]
});

/// `text` with `SECRETS_ANYWHERE` masked, or None when none is there. Most entries hold neither
/// `pass` nor `://`: they are let through without the patterns (compiled once per process, on
/// the first entry that needs them, not on every backend's login line).
fn scrub_anywhere(text: &str) -> Option<String> {
    let might = text.as_bytes().windows(4).any(|w| w.eq_ignore_ascii_case(b"pass")) || text.contains("://");
    if !might {
        return None;
    }
    let mut out = std::borrow::Cow::Borrowed(text);
    for (pattern, masked) in SECRETS_ANYWHERE.iter() {
        if pattern.is_match(&out) {
            let replaced = pattern.replace_all(&out, *masked).into_owned();
            out = replaced.into();
        }
    }
    match out {
        std::borrow::Cow::Owned(changed) if changed != text => Some(changed),
        _ => None,
    }
}

/// Where CONTEXT quotes SQL that PL/pgSQL or SPI ran (`SQL statement "…"`, `SQL expression
/// "…"`, `PL/pgSQL assignment "…"`), one such line per level of nesting.
static QUOTED_SQL: Lazy<Regex> =
    Lazy::new(|| Regex::new(r#"(?m)^(?:SQL statement|SQL expression|PL/pgSQL assignment) ""#).expect("static regex"));

/// `text` with the SQL of each quoted-SQL line redacted. A quoted statement runs to the last
/// quote that ends a line before the next quoted-SQL line (the SQL may hold quotes and
/// newlines of its own; what follows it on later lines is where it ran, which holds no quote at
/// a line's end). SQL that does not read (it was split there) is replaced by a marker.
fn redact_quoted_sql(text: &str, standard_conforming_strings: bool) -> Option<String> {
    let starts: Vec<usize> = QUOTED_SQL.find_iter(text).map(|m| m.end()).collect();
    if starts.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for (i, &start) in starts.iter().enumerate() {
        let segment_end = starts.get(i + 1).map_or(text.len(), |&next| text[..next].rfind('\n').unwrap_or(start).max(start));
        let segment = &text[start..segment_end];
        let mut ends = segment.match_indices('"').map(|(at, _)| at).filter(|&at| matches!(segment.as_bytes().get(at + 1), None | Some(b'\n')));
        let Some(end) = ends.next_back() else { continue };
        let sql = &segment[..end];
        let redacted = redact::redact(sql, standard_conforming_strings).unwrap_or_else(|why| redact::unredacted_marker(sql.len(), why));
        out.push_str(&text[copied..start]);
        out.push_str(&redacted);
        copied = start + end;
    }
    out.push_str(&text[copied..]);
    (out != text).then_some(out)
}

/// The statement being run, and what the log may show of it.
#[derive(Debug)]
pub struct Statement {
    pub original: String,
    /// The redacted text, tag broken; a marker when it could not be redacted.
    pub shown: String,
    secrets: Vec<Regex>,
}

impl Statement {
    pub fn new(original: &str, standard_conforming_strings: bool) -> Statement {
        let (shown, found) = match redact::redact_collect(original, standard_conforming_strings) {
            Ok(r) => (r.text, r.secrets),
            Err(why) => (redact::unredacted_marker(original.len(), why), redact::Secrets::default()),
        };
        let shown = break_tag(&shown).unwrap_or(shown);
        // messages quote parts of a secret too (libpq: `missing "=" after "…"`; the parser: an
        // identifier, lower-cased): its words count, matched in any case; literals as written
        let mut words: Vec<String> = found
            .values
            .iter()
            .flat_map(|s| std::iter::once(s.as_str()).chain(s.split(|c: char| c.is_whitespace() || "'\"=\\".contains(c))))
            .chain(found.literals.iter().map(String::as_str))
            .filter(|s| s.len() >= MIN_SCRUBBED_SECRET)
            .map(str::to_string)
            .collect();
        // longest first, so a secret is not half-replaced by one of its words
        words.sort_by_key(|s| std::cmp::Reverse(s.len()));
        words.dedup();
        let secrets = words.iter().filter_map(|w| whole_word(w)).collect();
        Statement { original: original.to_string(), shown, secrets }
    }

    /// Does the log need another text than the original?
    pub fn changed(&self) -> bool {
        self.shown != self.original
    }
}

/// One text of a log entry (message, detail, hint, context) as the log may show it, or None
/// when it can stay as it is. `ours`: the text is one of nspg_guard's own lines (the tag stays).
pub fn scrub(text: &str, statement: Option<&Statement>, standard_conforming_strings: bool, ours: bool) -> Option<String> {
    let mut out = std::borrow::Cow::Borrowed(text);
    if let Some(st) = statement.filter(|st| st.changed() && !st.original.is_empty()) {
        if out.contains(&st.original) {
            out = out.replace(&st.original, &st.shown).into();
        }
    }
    if let Some(redacted) = redact_quoted_sql(&out, standard_conforming_strings) {
        out = redacted.into();
    }
    if let Some(m) = SQL_AFTER.find_iter(&out).last() {
        // everything after the last such label is SQL (a statement runs to the end of the text)
        let (head, sql) = out.split_at(m.end());
        let redacted = redact::redact(sql, standard_conforming_strings)
            .unwrap_or_else(|why| redact::unredacted_marker(sql.len(), why));
        if redacted != sql {
            out = format!("{head}{redacted}").into();
        }
    }
    // our own line's text was redacted when it was written
    if let Some(masked) = (!ours).then(|| scrub_anywhere(&out)).flatten() {
        out = masked.into();
    }
    if let Some(st) = statement {
        for secret in &st.secrets {
            if secret.is_match(&out) {
                out = secret.replace_all(&out, "***").into_owned().into();
            }
        }
    }
    if !ours {
        if let Some(broken) = break_tag(&out) {
            out = broken.into();
        }
    }
    match out {
        std::borrow::Cow::Borrowed(_) => None,
        std::borrow::Cow::Owned(changed) => Some(changed),
    }
}

/// An internal query (the `QUERY:` line of an error in SQL run by a function): SQL of its own.
pub fn scrub_query(sql: &str, statement: Option<&Statement>, standard_conforming_strings: bool) -> Option<String> {
    let redacted = redact::redact(sql, standard_conforming_strings).unwrap_or_else(|why| redact::unredacted_marker(sql.len(), why));
    let scrubbed = scrub(&redacted, statement, standard_conforming_strings, false).unwrap_or(redacted);
    (scrubbed != sql).then_some(scrubbed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_broken() {
        assert_eq!(break_tag("NSPG_AUDIT {\"class\":\"x\"}").as_deref(), Some("NSPG-AUDIT {\"class\":\"x\"}"));
        assert_eq!(break_tag("x NSPG_AUDIT_SEAL seal_seq=1").as_deref(), Some("x NSPG-AUDIT_SEAL seal_seq=1"));
        assert_eq!(break_tag("nothing here"), None);
        assert_eq!(scrub("NSPG_AUDIT {}", None, true, true), None);
        assert_eq!(scrub("NSPG_AUDIT {}", None, true, false).as_deref(), Some("NSPG-AUDIT {}"));
    }

    #[test]
    fn statement_lines_show_the_redacted_statement() {
        let sql = "ALTER ROLE a PASSWORD 'hunter2'";
        let st = Statement::new(sql, true);
        assert_eq!(st.shown, "ALTER ROLE a PASSWORD '***'");
        for text in [format!("statement: {sql}"), format!("duration: 0.123 ms  statement: {sql}"),
                     format!("execute <unnamed>: {sql}"), format!("duration: 1.0 ms  parse s1: {sql}"), sql.to_string()] {
            let out = scrub(&text, Some(&st), true, false).expect("changed");
            assert!(!out.contains("hunter2") && out.contains("PASSWORD '***'"), "{out}");
        }
        // the same statement after the session changed its text (another statement): still read as SQL
        let out = scrub(&format!("statement: {sql}"), None, true, false).expect("changed");
        assert_eq!(out, "statement: ALTER ROLE a PASSWORD '***'");
    }

    #[test]
    fn parameters_and_prepared_statements() {
        let out = scrub("parameters: $1 = 'host=h password=hunter2', $2 = '7'", None, true, false).expect("changed");
        assert_eq!(out, "parameters: $1 = '***', $2 = '7'");
        let out = scrub("prepare: PREPARE p AS SELECT dblink_connect('password=hunter2')", None, true, false).expect("changed");
        assert!(!out.contains("hunter2"), "{out}");
        let out = scrub("Failed process was running: ALTER ROLE a PASSWORD 'hunter2'", None, true, false).expect("changed");
        assert!(!out.contains("hunter2"), "{out}");
    }

    #[test]
    fn secrets_quoted_elsewhere_are_scrubbed() {
        let st = Statement::new("DO $$ BEGIN EXECUTE 'ALTER ROLE a PASSWORD ''hunter2'''; END $$", true);
        let out = scrub("SQL statement \"ALTER ROLE a PASSWORD 'hunter2'\"\nPL/pgSQL function inline_code_block line 1 at EXECUTE",
                        Some(&st), true, false).expect("changed");
        assert!(!out.contains("hunter2"), "{out}");
        let out = scrub("SQL statement \"SELECT dblink_connect('password=hunter2')\"\nPL/pgSQL function f() line 3 at PERFORM",
                        None, true, false).expect("changed");
        assert_eq!(out, "SQL statement \"SELECT dblink_connect('***')\"\nPL/pgSQL function f() line 3 at PERFORM");
        // a connection string's password is scrubbed; its other words are not secrets (the
        // message goes to the client too)
        let st = Statement::new("CREATE SUBSCRIPTION s CONNECTION E'port=-1 password=\\thunter2x bogus' PUBLICATION p", true);
        let out = scrub("invalid connection string syntax: missing \"=\" after \"bogus\" (hunter2x)",
                        Some(&st), true, false).expect("changed");
        assert_eq!(out, "invalid connection string syntax: missing \"=\" after \"bogus\" (***)");
        let st = Statement::new("CREATE SUBSCRIPTION s CONNECTION 'testconn' PUBLICATION p", true);
        assert_eq!(st.shown, "CREATE SUBSCRIPTION s CONNECTION '***' PUBLICATION p");
        assert_eq!(scrub("invalid port number: missing \"=\" after \"testconn\"", Some(&st), true, false), None);
        let st = Statement::new("ALTER ROLE a PASSWORD 'taken over'", true);
        assert_eq!(scrub("approver changes are over", Some(&st), true, false).as_deref(), Some("approver changes are ***"));
        let st = Statement::new("SELECT dblink_connect('password=\\'Hunter2x\\'')", false);
        let out = scrub("syntax error at or near \"hunter2x\"", Some(&st), true, false).expect("changed");
        assert!(!out.to_lowercase().contains("hunter2x"), "{out}");
        let q = scrub_query("ALTER ROLE a PASSWORD 'hunter2'", None, true).expect("changed");
        assert_eq!(q, "ALTER ROLE a PASSWORD '***'");
    }

    #[test]
    fn every_quoted_sql_line_of_a_context_is_redacted() {
        // PL/pgSQL quotes SQL three ways, one line per level; the SQL may hold quotes and newlines
        for context in [
            "SQL expression \"dblink_connect('cx', 'host=h password=hunter2') = (SELECT 'OK')\"\nPL/pgSQL function f_expr() line 1 at IF",
            "PL/pgSQL assignment \"conn := 'host=h password=hunter2' || (SELECT 1/0)::text\"\nPL/pgSQL function f() line 3 at assignment",
            "SQL statement \"SELECT 1/0\"\nPL/pgSQL function inner_fail() line 1 at EXECUTE\nSQL statement \"SELECT inner_fail(), dblink_connect('host=h password=hunter2')\"\nPL/pgSQL function inline_code_block line 1 at EXECUTE",
            "SQL statement \"ALTER ROLE \"nosuch\"\nPASSWORD 'hunter2'\"\nPL/pgSQL function inline_code_block line 1 at EXECUTE",
        ] {
            assert!(scrubbed(context).contains("PL/pgSQL function"), "where it ran stays");
        }
        let out = scrub("SQL statement \"ALTER ROLE a PASSWORD 'x''hunter2'\"\nPL/pgSQL function f() line 2 at EXECUTE", None, true, false).expect("changed");
        assert_eq!(out, "SQL statement \"ALTER ROLE a PASSWORD '***'\"\nPL/pgSQL function f() line 2 at EXECUTE");
    }

    /// `text` scrubbed with no statement known: it changed, and `hunter2` is gone.
    fn scrubbed(text: &str) -> String {
        let out = scrub(text, None, true, false).expect("changed");
        assert!(!out.contains("hunter2"), "{out}");
        out
    }

    #[test]
    fn secrets_in_texts_that_are_not_sql() {
        for text in [
            "parameter \"primary_conninfo\" changed to \"host=10.0.0.9 user=repl password=hunter2\"",
            "JSON data, line 1: {\"c\":\"host=127.0.0.1 port=1 password=hunter2\"",
            "unnamed portal parameter $1 = '{\"c\":\"host=h password=hunter2\"'",
            "duration: 0.1 ms  plan:\nQuery Text: SELECT dblink_connect('c8', 'host=/tmp port=1 password=hunter2')\nResult",
            "AUDIT: SESSION,1,4,FUNCTION,EXECUTE,,,\"SELECT dblink_connect('c8', 'user=u password=hunter2')\",<none>",
            "AUDIT: SESSION,1,1,READ,SELECT,,,\"SELECT dblink_connect('n1', $1)\",host=/tmp port=1 password=hunter2",
            "AUDIT: SESSION,1,2,ROLE,ALTER ROLE,,,\"ALTER ROLE r PASSWORD 'hunter2'\",<none>",
            "could not connect: postgresql://u:hunter2@db.example/x",
            "conninfo password='hunter2 with spaces",
        ] {
            scrubbed(text);
        }
        assert_eq!(scrub("password authentication failed for user \"x\"", None, true, false), None);
    }

    #[test]
    fn ordinary_messages_stay() {
        let st = Statement::new("SELECT 1", true);
        assert!(!st.changed());
        for text in ["relation \"t\" does not exist", "can't do that", "duration: 0.1 ms", "statement: SELECT 'x'"] {
            assert_eq!(scrub(text, Some(&st), true, false), None, "{text}");
        }
    }
}
