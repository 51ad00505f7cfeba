//! Secrets found by the server's own parser and scanner (issue 18): the statement is parsed
//! with `raw_parser`, the secret values are read from the raw trees (role passwords, secret
//! options of servers, user mappings and wrappers, subscription connection strings), and the
//! text is then tokenized with the backend scanner (the session's
//! `standard_conforming_strings`, the server encoding) to find the literals that hold them, or
//! that hold a connection string with a password wherever they stand (a function argument).
//! Every string constant of a tree is one of those literals, so checking each literal's value
//! covers every `A_Const` without walking expressions.
//!
//! Only in a transaction in progress and outside a critical section: a parser ERROR is caught
//! (no resource is taken by parsing, so no subtransaction is needed), and then, or anywhere
//! else, the caller keeps the Rust rules alone (`policy::redact`).

use crate::policy::redact;
use crate::policy::sql_lexer;
use pgrx::pg_sys::{self, NodeTag};
use pgrx::{is_a, PgList, PgTryBuilder};
use std::ffi::{CStr, CString};
use std::ops::Range;
use std::panic::AssertUnwindSafe;

/// The byte ranges of `sql` holding secrets as the server reads it; empty where the server's
/// parser cannot be used here or the statement does not parse.
pub fn secret_literals(sql: &str) -> Vec<Range<usize>> {
    // no literal, no secret value: the parser is spared on plain statements (an audited UPDATE)
    if !sql_lexer::may_hold_string(sql) || !parser_usable() {
        return Vec::new();
    }
    let Ok(text) = CString::new(sql) else { return Vec::new() };
    unsafe {
        let caller = pg_sys::CurrentMemoryContext;
        let scratch = pg_sys::AllocSetContextCreateInternal(caller, c"nspg_guard redaction".as_ptr(), 0, 8 * 1024, 8 * 1024 * 1024);
        // the parser would repeat its NOTICEs and WARNINGs (a long identifier truncated, a
        // backslash in a string) to the client and the log: below ERROR, nothing is reported
        let levels = (pg_sys::client_min_messages, pg_sys::log_min_messages);
        pg_sys::client_min_messages = pgrx::PgLogLevel::ERROR as i32;
        pg_sys::log_min_messages = pgrx::PgLogLevel::ERROR as i32;
        pg_sys::MemoryContextSwitchTo(scratch);
        let ranges = PgTryBuilder::new(AssertUnwindSafe(|| {
            let values = tree_secrets(pg_sys::raw_parser(text.as_ptr(), pg_sys::RawParseMode::RAW_PARSE_DEFAULT));
            literal_ranges(&text, &values)
        }))
        .catch_others(|_| Vec::new())
        .execute();
        (pg_sys::client_min_messages, pg_sys::log_min_messages) = levels;
        pg_sys::MemoryContextSwitchTo(caller);
        pg_sys::MemoryContextDelete(scratch);
        ranges
    }
}

/// A parser ERROR can be caught and forgotten: a transaction in progress (not aborted, not
/// committing), no critical section.
fn parser_usable() -> bool {
    unsafe { pg_sys::IsTransactionState() && !pg_sys::IsAbortedTransactionBlockState() && pg_sys::CritSectionCount == 0 }
}

/// The secret values the raw trees hold: option values of secret-bearing options, role
/// passwords, subscription connection strings. Only the statements' own option lists are read
/// (no recursion).
unsafe fn tree_secrets(raw: *mut pg_sys::List) -> Vec<String> {
    let mut values = Vec::new();
    for raw_stmt in PgList::<pg_sys::RawStmt>::from_pg(raw).iter_ptr() {
        let stmt = (*raw_stmt).stmt;
        if stmt.is_null() {
            continue;
        }
        let options = match (*stmt).type_ {
            NodeTag::T_CreateRoleStmt => (*(stmt as *mut pg_sys::CreateRoleStmt)).options,
            NodeTag::T_AlterRoleStmt => (*(stmt as *mut pg_sys::AlterRoleStmt)).options,
            NodeTag::T_CreateUserMappingStmt => (*(stmt as *mut pg_sys::CreateUserMappingStmt)).options,
            NodeTag::T_AlterUserMappingStmt => (*(stmt as *mut pg_sys::AlterUserMappingStmt)).options,
            NodeTag::T_CreateForeignServerStmt => (*(stmt as *mut pg_sys::CreateForeignServerStmt)).options,
            NodeTag::T_AlterForeignServerStmt => (*(stmt as *mut pg_sys::AlterForeignServerStmt)).options,
            NodeTag::T_CreateFdwStmt => (*(stmt as *mut pg_sys::CreateFdwStmt)).options,
            NodeTag::T_AlterFdwStmt => (*(stmt as *mut pg_sys::AlterFdwStmt)).options,
            NodeTag::T_CreateSubscriptionStmt => {
                values.extend(c_text((*(stmt as *mut pg_sys::CreateSubscriptionStmt)).conninfo));
                continue;
            }
            NodeTag::T_AlterSubscriptionStmt => {
                values.extend(c_text((*(stmt as *mut pg_sys::AlterSubscriptionStmt)).conninfo));
                continue;
            }
            _ => continue,
        };
        for option in PgList::<pg_sys::DefElem>::from_pg(options).iter_ptr() {
            let Some(name) = c_text((*option).defname) else { continue };
            let arg = (*option).arg;
            if !redact::is_secret_option(&name) || arg.is_null() || !is_a(arg, NodeTag::T_String) {
                continue;
            }
            values.extend(c_text((*(arg as *mut pg_sys::String)).sval));
        }
    }
    values.retain(|v| !v.is_empty());
    values
}

unsafe fn c_text(p: *const std::ffi::c_char) -> Option<String> {
    (!p.is_null()).then(|| CStr::from_ptr(p).to_string_lossy().into_owned())
}

/// A string literal the backend scanner returned: where it starts, where the next token starts,
/// its value (a `U&` literal's still escaped), and whether it is a `U&` one.
struct Literal {
    start: usize,
    next: usize,
    value: String,
    unicode: bool,
}

/// The ranges of the literals of `text` that hold one of `values` or a secret of their own,
/// each from its first byte to the end of its last (a literal continued over a newline is one;
/// a `U&` literal's UESCAPE clause goes with it).
unsafe fn literal_ranges(text: &CStr, values: &[String]) -> Vec<Range<usize>> {
    let bytes = text.to_bytes();
    let mut extra = pg_sys::core_yy_extra_type::default();
    let scanner = pg_sys::scanner_init(text.as_ptr(), &mut extra, &pg_sys::ScanKeywords, pg_sys::ScanKeywordTokens.as_ptr());
    // (start, value) of every token; a literal's value set
    let mut tokens: Vec<(usize, Option<String>)> = Vec::new();
    loop {
        let mut value = pg_sys::core_YYSTYPE::default();
        let mut location = 0;
        if pg_sys::core_yylex(&mut value, &mut location, scanner) == 0 {
            break;
        }
        let start = usize::try_from(location).unwrap_or(0).min(bytes.len());
        let literal = sql_lexer::opens_string(&bytes[start..]).then(|| c_text(value.str_)).flatten();
        tokens.push((start, literal));
    }
    pg_sys::scanner_finish(scanner);
    let end_of = |i: usize| tokens.get(i + 1).map_or(bytes.len(), |t| t.0);
    let mut literals = Vec::new();
    for (i, (start, value)) in tokens.iter().enumerate() {
        let Some(value) = value else { continue };
        let unicode = sql_lexer::opens_unicode_string(&bytes[*start..]);
        literals.push((i, Literal { start: *start, next: end_of(i), value: value.clone(), unicode }));
    }
    let mut ranges = Vec::new();
    for (i, literal) in literals {
        let (value, next) = if literal.unicode { unicode_value(&tokens, i, bytes, &literal) } else { (literal.value.clone(), literal.next) };
        if values.contains(&value) || redact::holds_secret(&value) {
            let end = literal.start + trimmed_len(&bytes[literal.start..next]);
            ranges.push(literal.start..end);
        }
    }
    ranges
}

/// A `U&` literal's value (the scanner leaves its escapes to the grammar) and where the token
/// after it, or after its `UESCAPE 'c'` clause, starts.
fn unicode_value(tokens: &[(usize, Option<String>)], i: usize, bytes: &[u8], literal: &Literal) -> (String, usize) {
    let next_is_uescape = bytes.get(literal.next..literal.next + 7).is_some_and(|w| w.eq_ignore_ascii_case(b"uescape"));
    if let (true, Some((_, Some(escape)))) = (next_is_uescape, tokens.get(i + 2)) {
        if let Some(c) = escape.chars().next() {
            let after = tokens.get(i + 3).map_or(bytes.len(), |t| t.0);
            return (sql_lexer::decode_unicode(&literal.value, c), after);
        }
    }
    (sql_lexer::decode_unicode(&literal.value, '\\'), literal.next)
}

/// The length of `b` without its trailing white space (the gap before the next token).
fn trimmed_len(b: &[u8]) -> usize {
    b.iter().rposition(|c| !c.is_ascii_whitespace()).map_or(0, |p| p + 1)
}
