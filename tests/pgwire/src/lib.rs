//! A minimal PostgreSQL v3 wire-protocol client for tests: what psql cannot do (the extended
//! protocol, portals fetched in several Execute messages, pipelines of Bind/Execute before one
//! Sync), driven by a line script and printing one stable line per server message.
//!
//! Script (one command per line; blank lines and lines starting with `#` are skipped):
//!
//! | command | sends |
//! |---|---|
//! | `query SQL` | Query (simple protocol; SQL may hold several statements), then reads to ReadyForQuery |
//! | `parse NAME SQL` | Parse (`-`: the unnamed statement; no parameter types: the server infers them) |
//! | `bind PORTAL NAME [PARAM …]` | Bind, text parameters and results (`-`: unnamed; `\N`: NULL; `'a b'` quotes, `''` inside) |
//! | `execute PORTAL MAXROWS` | Execute (`0`: all rows) |
//! | `describe S\|P NAME` | Describe a statement or a portal |
//! | `call OID [ARG …]` | FunctionCall (the fastpath 'F' message) of the function OID, text arguments and result (quoted as for `bind`), then reads to ReadyForQuery |
//! | `close S\|P NAME` | Close a statement or a portal |
//! | `flush` | Flush |
//! | `sync` | Sync, then reads to ReadyForQuery |
//! | `pid` | prints `PID <backend pid>` (from BackendKeyData) |
//! | `sleep MS` | waits |
//!
//! Output lines: `PARSED`, `BOUND`, `CLOSED`, `COLUMNS a|b`, `ROW v1|v2` (`\N` for NULL),
//! `COMPLETE <tag>`, `SUSPENDED`, `NODATA`, `PARAMS <oid,…>`, `EMPTY`, `READY <I|T|E>`,
//! `RESULT <value>` for a fastpath call's result (`RESULT \N` for NULL),
//! `<SEVERITY> <sqlstate> <message>` for errors and notices (ERROR, FATAL, NOTICE, WARNING, …),
//! `NOTIFY <channel> <payload>`, `COPYOUT`, `COPYDATA <text>`, `COPYDONE`, `COPYIN`,
//! `DISCONNECTED` when the server closes the connection.

use std::fmt;
use std::io::{self, Read, Write};

pub const PROTOCOL_V3: i32 = 196_608;

/// Connection parameters from a libpq-style `key=value …` string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnParams {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub dbname: String,
    pub options: Option<String>,
    pub application_name: Option<String>,
}

impl Default for ConnParams {
    fn default() -> Self {
        ConnParams {
            host: "/var/run/postgresql".into(),
            port: 5432,
            user: "postgres".into(),
            dbname: String::new(),
            options: None,
            application_name: Some("pgwire".into()),
        }
    }
}

impl ConnParams {
    /// Where a Unix socket lives when `host` is a directory (starts with `/`).
    pub fn socket_path(&self) -> Option<String> {
        self.host.starts_with('/').then(|| format!("{}/.s.PGSQL.{}", self.host, self.port))
    }

    /// The startup parameters, in the order they are sent.
    pub fn startup_params(&self) -> Vec<(&str, &str)> {
        let mut params = vec![("user", self.user.as_str())];
        let db = if self.dbname.is_empty() { self.user.as_str() } else { self.dbname.as_str() };
        params.push(("database", db));
        if let Some(o) = &self.options {
            params.push(("options", o.as_str()));
        }
        if let Some(a) = &self.application_name {
            params.push(("application_name", a.as_str()));
        }
        params
    }
}

/// Splits a libpq-style conninfo string: `key=value` pairs separated by spaces, values in single
/// quotes may hold spaces (`\'` and `\\` escape inside them).
pub fn parse_conninfo(s: &str) -> Result<ConnParams, String> {
    let mut params = ConnParams::default();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            key.push(c);
            chars.next();
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.next() != Some('=') {
            return Err(format!("missing \"=\" after \"{key}\" in the connection string"));
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'\'') {
            chars.next();
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.push(chars.next().ok_or("unterminated quoted value")?),
                    '\'' => {
                        closed = true;
                        break;
                    }
                    c => value.push(c),
                }
            }
            if !closed {
                return Err("unterminated quoted value in the connection string".into());
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                if c == '\\' {
                    chars.next();
                    value.push(chars.next().ok_or("dangling backslash")?);
                    continue;
                }
                value.push(c);
                chars.next();
            }
        }
        match key.as_str() {
            "host" => params.host = value,
            "port" => params.port = value.parse().map_err(|_| format!("bad port \"{value}\""))?,
            "user" => params.user = value,
            "dbname" => params.dbname = value,
            "options" => params.options = Some(value),
            "application_name" => params.application_name = Some(value),
            other => return Err(format!("unknown connection parameter \"{other}\"")),
        }
    }
    Ok(params)
}

/// One script command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Query(String),
    Parse { name: String, sql: String },
    Bind { portal: String, statement: String, params: Vec<Option<String>> },
    Execute { portal: String, max_rows: i32 },
    Describe { kind: u8, name: String },
    Close { kind: u8, name: String },
    /// A fastpath function call: the function's oid and its arguments (text; `None`: NULL).
    Call { function: u32, args: Vec<Option<String>> },
    Flush,
    Sync,
    Pid,
    Sleep(u64),
}

/// `-` names the unnamed statement or portal.
fn object_name(word: &str) -> String {
    if word == "-" { String::new() } else { word.to_string() }
}

/// Splits bind parameters: whitespace-separated words; `'…'` quotes (with `''` for a quote);
/// `\N` alone is NULL.
pub fn split_params(s: &str) -> Result<Vec<Option<String>>, String> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&first) = chars.peek() else { break };
        if first == '\'' {
            chars.next();
            let mut value = String::new();
            loop {
                match chars.next() {
                    Some('\'') if chars.peek() == Some(&'\'') => {
                        chars.next();
                        value.push('\'');
                    }
                    Some('\'') => break,
                    Some(c) => value.push(c),
                    None => return Err("unterminated quoted parameter".into()),
                }
            }
            out.push(Some(value));
        } else {
            let mut word = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                word.push(c);
                chars.next();
            }
            out.push(if word == "\\N" { None } else { Some(word) });
        }
    }
    Ok(out)
}

/// What follows the first `n` whitespace-separated words of `s`.
fn after_words(s: &str, n: usize) -> &str {
    let mut rest = s.trim_start();
    for _ in 0..n {
        rest = match rest.find(char::is_whitespace) {
            Some(i) => rest[i..].trim_start(),
            None => "",
        };
    }
    rest
}

fn kind_of(word: &str) -> Result<u8, String> {
    match word {
        "S" | "s" => Ok(b'S'),
        "P" | "p" => Ok(b'P'),
        other => Err(format!("expected S or P, not \"{other}\"")),
    }
}

/// Reads one script line; `None` for blank lines and comments.
pub fn parse_command(line: &str) -> Result<Option<Command>, String> {
    let line = line.trim_end_matches(['\r', '\n']);
    let trimmed = line.trim_start();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return Ok(None);
    }
    let (word, rest) = match trimmed.find(char::is_whitespace) {
        Some(i) => (&trimmed[..i], trimmed[i..].trim_start()),
        None => (trimmed, ""),
    };
    let mut words = rest.split_whitespace();
    let mut next = |what: &str| words.next().map(str::to_string).ok_or_else(|| format!("{word}: missing {what}"));
    let command = match word {
        "query" => Command::Query(rest.to_string()),
        "parse" => {
            let (name, sql) = match rest.find(char::is_whitespace) {
                Some(i) => (&rest[..i], rest[i..].trim_start()),
                None => return Err("parse: expected NAME SQL".into()),
            };
            Command::Parse { name: object_name(name), sql: sql.to_string() }
        }
        "bind" => {
            let portal = object_name(&next("portal")?);
            let statement = object_name(&next("statement")?);
            let params = split_params(after_words(rest, 2))?;
            Command::Bind { portal, statement, params }
        }
        "execute" => {
            let portal = object_name(&next("portal")?);
            let max_rows = next("row limit")?.parse().map_err(|_| "execute: the row limit is a number".to_string())?;
            Command::Execute { portal, max_rows }
        }
        "describe" => Command::Describe { kind: kind_of(&next("S or P")?)?, name: object_name(&next("name")?) },
        "close" => Command::Close { kind: kind_of(&next("S or P")?)?, name: object_name(&next("name")?) },
        "call" => {
            let function = next("function oid")?.parse().map_err(|_| "call: the function is an oid (a number)".to_string())?;
            Command::Call { function, args: split_params(after_words(rest, 1))? }
        }
        "flush" => Command::Flush,
        "sync" => Command::Sync,
        "pid" => Command::Pid,
        "sleep" => Command::Sleep(next("milliseconds")?.parse().map_err(|_| "sleep: milliseconds".to_string())?),
        other => return Err(format!("unknown command \"{other}\"")),
    };
    Ok(Some(command))
}

// ---------------------------------------------------------------- frontend messages

fn put_cstr(buf: &mut Vec<u8>, s: &str) {
    buf.extend_from_slice(s.as_bytes());
    buf.push(0);
}

/// A typed message: type byte, length (itself included), body.
fn message(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(body.len() + 5);
    m.push(kind);
    m.extend_from_slice(&((body.len() + 4) as i32).to_be_bytes());
    m.extend_from_slice(body);
    m
}

pub fn startup_message(params: &[(&str, &str)]) -> Vec<u8> {
    let mut body = PROTOCOL_V3.to_be_bytes().to_vec();
    for (k, v) in params {
        put_cstr(&mut body, k);
        put_cstr(&mut body, v);
    }
    body.push(0);
    let mut m = ((body.len() + 4) as i32).to_be_bytes().to_vec();
    m.extend_from_slice(&body);
    m
}

pub fn query_message(sql: &str) -> Vec<u8> {
    let mut body = Vec::new();
    put_cstr(&mut body, sql);
    message(b'Q', &body)
}

pub fn parse_message(name: &str, sql: &str) -> Vec<u8> {
    let mut body = Vec::new();
    put_cstr(&mut body, name);
    put_cstr(&mut body, sql);
    body.extend_from_slice(&0i16.to_be_bytes()); // no parameter types: inferred
    message(b'P', &body)
}

pub fn bind_message(portal: &str, statement: &str, params: &[Option<String>]) -> Vec<u8> {
    let mut body = Vec::new();
    put_cstr(&mut body, portal);
    put_cstr(&mut body, statement);
    body.extend_from_slice(&0i16.to_be_bytes()); // parameter formats: all text
    body.extend_from_slice(&(params.len() as i16).to_be_bytes());
    for p in params {
        match p {
            Some(v) => {
                body.extend_from_slice(&(v.len() as i32).to_be_bytes());
                body.extend_from_slice(v.as_bytes());
            }
            None => body.extend_from_slice(&(-1i32).to_be_bytes()),
        }
    }
    body.extend_from_slice(&0i16.to_be_bytes()); // result formats: all text
    message(b'B', &body)
}

pub fn execute_message(portal: &str, max_rows: i32) -> Vec<u8> {
    let mut body = Vec::new();
    put_cstr(&mut body, portal);
    body.extend_from_slice(&max_rows.to_be_bytes());
    message(b'E', &body)
}

pub fn describe_message(kind: u8, name: &str) -> Vec<u8> {
    let mut body = vec![kind];
    put_cstr(&mut body, name);
    message(b'D', &body)
}

pub fn close_message(kind: u8, name: &str) -> Vec<u8> {
    let mut body = vec![kind];
    put_cstr(&mut body, name);
    message(b'C', &body)
}

/// FunctionCall ('F', the fastpath interface): arguments and result in text format.
pub fn function_call_message(function: u32, args: &[Option<String>]) -> Vec<u8> {
    let mut body = function.to_be_bytes().to_vec();
    body.extend_from_slice(&0i16.to_be_bytes()); // argument formats: all text
    body.extend_from_slice(&(args.len() as i16).to_be_bytes());
    for a in args {
        match a {
            Some(v) => {
                body.extend_from_slice(&(v.len() as i32).to_be_bytes());
                body.extend_from_slice(v.as_bytes());
            }
            None => body.extend_from_slice(&(-1i32).to_be_bytes()),
        }
    }
    body.extend_from_slice(&0i16.to_be_bytes()); // result format: text
    message(b'F', &body)
}

pub fn sync_message() -> Vec<u8> {
    message(b'S', &[])
}

pub fn flush_message() -> Vec<u8> {
    message(b'H', &[])
}

pub fn terminate_message() -> Vec<u8> {
    message(b'X', &[])
}

pub fn copy_done_message() -> Vec<u8> {
    message(b'c', &[])
}

// ---------------------------------------------------------------- backend messages

/// One message from the server: its type byte and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendMessage {
    pub kind: u8,
    pub body: Vec<u8>,
}

/// Reads one backend message; `Ok(None)` at end of stream.
pub fn read_message(r: &mut impl Read) -> io::Result<Option<BackendMessage>> {
    let mut head = [0u8; 5];
    match r.read_exact(&mut head[..1]) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    r.read_exact(&mut head[1..])?;
    let len = i32::from_be_bytes([head[1], head[2], head[3], head[4]]);
    if !(4..=1 << 30).contains(&len) {
        return Err(io::Error::new(io::ErrorKind::InvalidData, format!("bad message length {len}")));
    }
    let mut body = vec![0u8; len as usize - 4];
    r.read_exact(&mut body)?;
    Ok(Some(BackendMessage { kind: head[0], body }))
}

/// A cursor over a message body.
struct Body<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Body<'a> {
    fn new(data: &'a [u8]) -> Self {
        Body { data, at: 0 }
    }
    fn u8(&mut self) -> Result<u8, DecodeError> {
        let b = *self.data.get(self.at).ok_or(DecodeError::Short)?;
        self.at += 1;
        Ok(b)
    }
    fn i16(&mut self) -> Result<i16, DecodeError> {
        let s = self.data.get(self.at..self.at + 2).ok_or(DecodeError::Short)?;
        self.at += 2;
        Ok(i16::from_be_bytes([s[0], s[1]]))
    }
    fn i32(&mut self) -> Result<i32, DecodeError> {
        let s = self.data.get(self.at..self.at + 4).ok_or(DecodeError::Short)?;
        self.at += 4;
        Ok(i32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn bytes(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let s = self.data.get(self.at..self.at + n).ok_or(DecodeError::Short)?;
        self.at += n;
        Ok(s)
    }
    fn cstr(&mut self) -> Result<String, DecodeError> {
        let rest = &self.data[self.at..];
        let end = rest.iter().position(|&b| b == 0).ok_or(DecodeError::Short)?;
        self.at += end + 1;
        Ok(String::from_utf8_lossy(&rest[..end]).into_owned())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    Short,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "truncated message")
    }
}

/// The fields of an ErrorResponse or NoticeResponse, by their one-byte codes.
pub fn error_fields(body: &[u8]) -> Result<Vec<(u8, String)>, DecodeError> {
    let mut b = Body::new(body);
    let mut fields = Vec::new();
    loop {
        let code = b.u8()?;
        if code == 0 {
            return Ok(fields);
        }
        fields.push((code, b.cstr()?));
    }
}

/// Keeps a message on one line.
fn one_line(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\n', "\\n").replace('\r', "\\r")
}

/// `SEVERITY SQLSTATE message` (the non-localized severity when the server sends one).
pub fn format_error(body: &[u8]) -> Result<String, DecodeError> {
    let fields = error_fields(body)?;
    let get = |code: u8| fields.iter().find(|(c, _)| *c == code).map(|(_, v)| v.as_str());
    let severity = get(b'V').or(get(b'S')).unwrap_or("?");
    Ok(format!("{} {} {}", severity, get(b'C').unwrap_or("?????"), one_line(get(b'M').unwrap_or(""))))
}

/// A row's values: `\N` for NULL, `|` between values (a `|` or `\` inside a value is escaped).
pub fn format_row(body: &[u8]) -> Result<String, DecodeError> {
    let mut b = Body::new(body);
    let n = b.i16()?;
    let mut values = Vec::with_capacity(n.max(0) as usize);
    for _ in 0..n {
        let len = b.i32()?;
        if len < 0 {
            values.push("\\N".to_string());
        } else {
            let v = String::from_utf8_lossy(b.bytes(len as usize)?).into_owned();
            values.push(one_line(&v).replace('|', "\\|"));
        }
    }
    Ok(format!("ROW {}", values.join("|")))
}

fn format_columns(body: &[u8]) -> Result<String, DecodeError> {
    let mut b = Body::new(body);
    let n = b.i16()?;
    let mut names = Vec::new();
    for _ in 0..n {
        names.push(b.cstr()?);
        b.bytes(18)?; // table oid, column, type oid, type size, type modifier, format
    }
    Ok(format!("COLUMNS {}", names.join("|")))
}

/// What the client does with a message besides printing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    None,
    /// ReadyForQuery: the exchange is over.
    Ready,
    /// The server wants COPY data: answer CopyDone.
    CopyIn,
    /// BackendKeyData: the backend's pid.
    BackendPid(i32),
    /// Authentication: 0 is AuthenticationOk; anything else is a method this client lacks.
    Auth(i32),
}

/// The output line for a backend message (None: not printed) and what it means for the client.
pub fn describe(msg: &BackendMessage) -> Result<(Option<String>, Effect), DecodeError> {
    let body = &msg.body[..];
    let line = |s: &str| Some(s.to_string());
    Ok(match msg.kind {
        b'1' => (line("PARSED"), Effect::None),
        b'2' => (line("BOUND"), Effect::None),
        b'3' => (line("CLOSED"), Effect::None),
        b'C' => (Some(format!("COMPLETE {}", Body::new(body).cstr()?)), Effect::None),
        b'D' => (Some(format_row(body)?), Effect::None),
        b'T' => (Some(format_columns(body)?), Effect::None),
        b'E' | b'N' => (Some(format_error(body)?), Effect::None),
        b'I' => (line("EMPTY"), Effect::None),
        b'n' => (line("NODATA"), Effect::None),
        b's' => (line("SUSPENDED"), Effect::None),
        b'V' => {
            // FunctionCallResponse: the result's length (-1: NULL) and its bytes
            let mut b = Body::new(body);
            let len = b.i32()?;
            let value = if len < 0 { "\\N".to_string() } else { one_line(&String::from_utf8_lossy(b.bytes(len as usize)?)) };
            (Some(format!("RESULT {value}")), Effect::None)
        }
        b't' => {
            let mut b = Body::new(body);
            let n = b.i16()?;
            let oids: Result<Vec<String>, _> = (0..n).map(|_| b.i32().map(|o| (o as u32).to_string())).collect();
            (Some(format!("PARAMS {}", oids?.join(","))), Effect::None)
        }
        b'Z' => (Some(format!("READY {}", Body::new(body).u8()? as char)), Effect::Ready),
        b'A' => {
            let mut b = Body::new(body);
            let _pid = b.i32()?;
            let channel = b.cstr()?;
            let payload = b.cstr()?;
            (Some(format!("NOTIFY {channel} {}", one_line(&payload))), Effect::None)
        }
        b'H' => (line("COPYOUT"), Effect::None),
        b'd' => {
            let text = String::from_utf8_lossy(body);
            (Some(format!("COPYDATA {}", one_line(text.trim_end_matches('\n')))), Effect::None)
        }
        b'c' => (line("COPYDONE"), Effect::None),
        b'G' => (line("COPYIN"), Effect::CopyIn),
        b'K' => (None, Effect::BackendPid(Body::new(body).i32()?)),
        b'R' => (None, Effect::Auth(Body::new(body).i32()?)),
        b'S' => (None, Effect::None), // ParameterStatus: not part of the outcome
        other => (Some(format!("MESSAGE {}", other as char)), Effect::None),
    })
}

// ---------------------------------------------------------------- the session

#[derive(Debug)]
pub enum ClientError {
    Io(io::Error),
    Decode(DecodeError),
    Auth(i32),
    Script(String),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Io(e) => write!(f, "{e}"),
            ClientError::Decode(e) => write!(f, "{e}"),
            ClientError::Auth(code) => write!(
                f,
                "the server asks for authentication method {code}; this test client speaks trust only (AuthenticationOk)"
            ),
            ClientError::Script(e) => write!(f, "{e}"),
        }
    }
}

impl From<io::Error> for ClientError {
    fn from(e: io::Error) -> Self {
        ClientError::Io(e)
    }
}

impl From<DecodeError> for ClientError {
    fn from(e: DecodeError) -> Self {
        ClientError::Decode(e)
    }
}

/// A connection over any byte stream, writing its output lines to `out`.
pub struct Session<S: Read + Write, O: Write> {
    stream: S,
    out: O,
    pub pid: Option<i32>,
    pub disconnected: bool,
}

impl<S: Read + Write, O: Write> Session<S, O> {
    pub fn new(stream: S, out: O) -> Self {
        Session { stream, out, pid: None, disconnected: false }
    }

    /// Sends the startup message and reads to the first ReadyForQuery. Notices and errors on the
    /// way are printed; an authentication request other than AuthenticationOk is an error.
    pub fn startup(&mut self, params: &ConnParams) -> Result<(), ClientError> {
        self.stream.write_all(&startup_message(&params.startup_params()))?;
        self.stream.flush()?;
        self.read_until_ready()
    }

    fn send(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        if self.disconnected {
            return Ok(());
        }
        if let Err(e) = self.stream.write_all(bytes).and_then(|_| self.stream.flush()) {
            if matches!(e.kind(), io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset) {
                self.disconnect()?;
                return Ok(());
            }
            return Err(e.into());
        }
        Ok(())
    }

    fn disconnect(&mut self) -> Result<(), ClientError> {
        if !self.disconnected {
            self.disconnected = true;
            writeln!(self.out, "DISCONNECTED")?;
        }
        Ok(())
    }

    /// Prints every message up to and including ReadyForQuery.
    pub fn read_until_ready(&mut self) -> Result<(), ClientError> {
        while !self.disconnected {
            let msg = match read_message(&mut self.stream) {
                Ok(Some(m)) => m,
                Ok(None) => return self.disconnect(),
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset || e.kind() == io::ErrorKind::UnexpectedEof => {
                    return self.disconnect()
                }
                Err(e) => return Err(e.into()),
            };
            let (line, effect) = describe(&msg)?;
            if let Some(line) = line {
                writeln!(self.out, "{line}")?;
            }
            match effect {
                Effect::Ready => {
                    self.out.flush()?;
                    return Ok(());
                }
                Effect::CopyIn => self.send(&copy_done_message())?,
                Effect::BackendPid(pid) => self.pid = Some(pid),
                Effect::Auth(0) => {}
                Effect::Auth(code) => return Err(ClientError::Auth(code)),
                Effect::None => {}
            }
        }
        Ok(())
    }

    /// Runs one command: sends its message; `query` and `sync` read to ReadyForQuery.
    pub fn run(&mut self, command: &Command) -> Result<(), ClientError> {
        match command {
            Command::Query(sql) => {
                self.send(&query_message(sql))?;
                self.read_until_ready()
            }
            Command::Parse { name, sql } => self.send(&parse_message(name, sql)),
            Command::Bind { portal, statement, params } => self.send(&bind_message(portal, statement, params)),
            Command::Execute { portal, max_rows } => self.send(&execute_message(portal, *max_rows)),
            Command::Describe { kind, name } => self.send(&describe_message(*kind, name)),
            Command::Close { kind, name } => self.send(&close_message(*kind, name)),
            Command::Call { function, args } => {
                self.send(&function_call_message(*function, args))?;
                self.read_until_ready()
            }
            Command::Flush => self.send(&flush_message()),
            Command::Sync => {
                self.send(&sync_message())?;
                self.read_until_ready()
            }
            Command::Pid => {
                match self.pid {
                    Some(pid) => writeln!(self.out, "PID {pid}")?,
                    None => writeln!(self.out, "PID ?")?,
                }
                Ok(())
            }
            Command::Sleep(ms) => {
                std::thread::sleep(std::time::Duration::from_millis(*ms));
                Ok(())
            }
        }
    }

    /// Ends the session politely (Terminate), unless the server already did.
    pub fn terminate(&mut self) -> Result<(), ClientError> {
        if !self.disconnected {
            let _ = self.stream.write_all(&terminate_message());
            let _ = self.stream.flush();
        }
        self.out.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn be32(b: &[u8]) -> i32 {
        i32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    #[test]
    fn conninfo_with_quotes_and_defaults() {
        let p = parse_conninfo("host=/tmp/x port=5999 user=alice dbname=postgres options='-c statement_timeout=0 -c x=\\'y\\''").unwrap();
        assert_eq!(p.host, "/tmp/x");
        assert_eq!(p.port, 5999);
        assert_eq!(p.user, "alice");
        assert_eq!(p.dbname, "postgres");
        assert_eq!(p.options.as_deref(), Some("-c statement_timeout=0 -c x='y'"));
        assert_eq!(p.socket_path().as_deref(), Some("/tmp/x/.s.PGSQL.5999"));
        let q = parse_conninfo("host = 127.0.0.1 user=bob").unwrap();
        assert_eq!(q.socket_path(), None);
        assert_eq!(q.port, 5432);
        assert_eq!(q.startup_params(), vec![("user", "bob"), ("database", "bob"), ("application_name", "pgwire")]);
        assert!(parse_conninfo("host").is_err());
        assert!(parse_conninfo("options='-c a").is_err());
        assert!(parse_conninfo("sslmode=require").is_err());
        assert!(parse_conninfo("port=x").is_err());
    }

    #[test]
    fn script_commands() {
        assert_eq!(parse_command("  # comment").unwrap(), None);
        assert_eq!(parse_command("").unwrap(), None);
        assert_eq!(parse_command("query SELECT 1; SELECT 2").unwrap(), Some(Command::Query("SELECT 1; SELECT 2".into())));
        assert_eq!(
            parse_command("parse - SELECT $1::int").unwrap(),
            Some(Command::Parse { name: String::new(), sql: "SELECT $1::int".into() })
        );
        assert_eq!(
            parse_command("parse s1 DELETE FROM t WHERE id = $1").unwrap(),
            Some(Command::Parse { name: "s1".into(), sql: "DELETE FROM t WHERE id = $1".into() })
        );
        assert_eq!(
            parse_command("bind p   s1  1 \\N 'a b' 'it''s' ''").unwrap(),
            Some(Command::Bind {
                portal: "p".into(),
                statement: "s1".into(),
                params: vec![Some("1".into()), None, Some("a b".into()), Some("it's".into()), Some(String::new())]
            })
        );
        assert_eq!(
            parse_command("bind - -").unwrap(),
            Some(Command::Bind { portal: String::new(), statement: String::new(), params: vec![] })
        );
        assert_eq!(parse_command("execute p 1").unwrap(), Some(Command::Execute { portal: "p".into(), max_rows: 1 }));
        assert_eq!(parse_command("execute - 0").unwrap(), Some(Command::Execute { portal: String::new(), max_rows: 0 }));
        assert_eq!(parse_command("describe S s1").unwrap(), Some(Command::Describe { kind: b'S', name: "s1".into() }));
        assert_eq!(parse_command("close P -").unwrap(), Some(Command::Close { kind: b'P', name: String::new() }));
        assert_eq!(parse_command("sync\r\n").unwrap(), Some(Command::Sync));
        assert_eq!(parse_command("flush").unwrap(), Some(Command::Flush));
        assert_eq!(parse_command("pid").unwrap(), Some(Command::Pid));
        assert_eq!(parse_command("sleep 20").unwrap(), Some(Command::Sleep(20)));
        assert!(parse_command("parse onlyname").is_err());
        assert!(parse_command("execute p many").is_err());
        assert!(parse_command("describe X s").is_err());
        assert!(parse_command("bind p s 'open").is_err());
        assert!(parse_command("copy x").is_err());
    }

    #[test]
    fn fastpath_call_command_message_and_result() {
        assert_eq!(
            parse_command("call 2078 idle_session_timeout 0 false").unwrap(),
            Some(Command::Call {
                function: 2078,
                args: vec![Some("idle_session_timeout".into()), Some("0".into()), Some("false".into())]
            })
        );
        assert_eq!(parse_command("call 2026").unwrap(), Some(Command::Call { function: 2026, args: vec![] }));
        assert_eq!(
            parse_command("call 1 'a b' \\N ''").unwrap(),
            Some(Command::Call { function: 1, args: vec![Some("a b".into()), None, Some(String::new())] })
        );
        assert!(parse_command("call").is_err());
        assert!(parse_command("call set_config").is_err());
        assert!(parse_command("call -5").is_err());
        assert!(parse_command("call 7 'open").is_err());

        let f = function_call_message(2078, &[Some("role".into()), None]);
        assert_eq!(f[0], b'F');
        assert_eq!(be32(&f[1..5]) as usize, f.len() - 1);
        let mut expected = 2078u32.to_be_bytes().to_vec();
        expected.extend_from_slice(&[0, 0]); // argument format codes: none, all text
        expected.extend_from_slice(&[0, 2]); // two arguments
        expected.extend_from_slice(&[0, 0, 0, 4]);
        expected.extend_from_slice(b"role");
        expected.extend_from_slice(&[0xff, 0xff, 0xff, 0xff]); // NULL
        expected.extend_from_slice(&[0, 0]); // result format: text
        assert_eq!(&f[5..], &expected[..]);
        assert_eq!(function_call_message(2026, &[]), vec![b'F', 0, 0, 0, 14, 0, 0, 0x07, 0xea, 0, 0, 0, 0, 0, 0]);

        let result = BackendMessage { kind: b'V', body: [3i32.to_be_bytes().to_vec(), b"10h".to_vec()].concat() };
        assert_eq!(describe(&result).unwrap(), (Some("RESULT 10h".into()), Effect::None));
        let null = BackendMessage { kind: b'V', body: (-1i32).to_be_bytes().to_vec() };
        assert_eq!(describe(&null).unwrap().0.as_deref(), Some("RESULT \\N"));
        let multiline = BackendMessage { kind: b'V', body: [3i32.to_be_bytes().to_vec(), b"a\nb".to_vec()].concat() };
        assert_eq!(describe(&multiline).unwrap().0.as_deref(), Some("RESULT a\\nb"));
        let short = BackendMessage { kind: b'V', body: [5i32.to_be_bytes().to_vec(), b"ab".to_vec()].concat() };
        assert!(describe(&short).is_err());

        // a session: the call's result, an error and ReadyForQuery are read and printed
        let mut server = backend(b'V', &[4i32.to_be_bytes().to_vec(), b"4242".to_vec()].concat());
        server.extend(backend(b'Z', b"I"));
        server.extend(backend(b'E', b"SERROR\0VERROR\0C42501\0Mrefused\0\0"));
        server.extend(backend(b'Z', b"I"));
        let fake = Fake { input: io::Cursor::new(server), written: Vec::new() };
        let mut out = Vec::new();
        let mut s = Session::new(fake, &mut out);
        s.run(&parse_command("call 2026").unwrap().unwrap()).unwrap();
        s.run(&parse_command("call 2078 role x false").unwrap().unwrap()).unwrap();
        let written = s.stream.written.clone();
        drop(s);
        assert_eq!(String::from_utf8(out).unwrap(), "RESULT 4242\nREADY I\nERROR 42501 refused\nREADY I\n");
        let mut r = &written[..];
        let first = read_message(&mut r).unwrap().unwrap();
        assert_eq!((first.kind, &first.body[..4]), (b'F', &2026u32.to_be_bytes()[..]));
        assert_eq!(read_message(&mut r).unwrap().unwrap().kind, b'F');
        assert_eq!(read_message(&mut r).unwrap(), None);
    }

    #[test]
    fn startup_message_layout() {
        let m = startup_message(&[("user", "u"), ("database", "d")]);
        assert_eq!(be32(&m[0..4]) as usize, m.len());
        assert_eq!(be32(&m[4..8]), 196_608);
        assert_eq!(&m[8..], b"user\0u\0database\0d\0\0");
    }

    #[test]
    fn query_parse_bind_execute_layout() {
        let q = query_message("SELECT 1");
        assert_eq!(q[0], b'Q');
        assert_eq!(be32(&q[1..5]) as usize, q.len() - 1);
        assert_eq!(&q[5..], b"SELECT 1\0");

        let p = parse_message("s", "SELECT $1");
        assert_eq!(p[0], b'P');
        assert_eq!(&p[5..], b"s\0SELECT $1\0\0\0");

        let b = bind_message("", "s", &[Some("42".into()), None]);
        assert_eq!(b[0], b'B');
        assert_eq!(be32(&b[1..5]) as usize, b.len() - 1);
        let mut expected = b"\0s\0".to_vec();
        expected.extend_from_slice(&[0, 0]); // parameter format codes
        expected.extend_from_slice(&[0, 2]); // two parameters
        expected.extend_from_slice(&[0, 0, 0, 2]);
        expected.extend_from_slice(b"42");
        expected.extend_from_slice(&[0xff, 0xff, 0xff, 0xff]); // NULL
        expected.extend_from_slice(&[0, 0]); // result format codes
        assert_eq!(&b[5..], &expected[..]);

        let e = execute_message("p", 3);
        assert_eq!(e, vec![b'E', 0, 0, 0, 10, b'p', 0, 0, 0, 0, 3]);
        assert_eq!(sync_message(), vec![b'S', 0, 0, 0, 4]);
        assert_eq!(flush_message(), vec![b'H', 0, 0, 0, 4]);
        assert_eq!(terminate_message(), vec![b'X', 0, 0, 0, 4]);
        assert_eq!(describe_message(b'S', "s1"), vec![b'D', 0, 0, 0, 8, b'S', b's', b'1', 0]);
        assert_eq!(close_message(b'P', ""), vec![b'C', 0, 0, 0, 6, b'P', 0]);
    }

    fn backend(kind: u8, body: &[u8]) -> Vec<u8> {
        message(kind, body)
    }

    #[test]
    fn reads_messages_and_end_of_stream() {
        let mut bytes = backend(b'1', &[]);
        bytes.extend(backend(b'Z', b"I"));
        let mut r = &bytes[..];
        assert_eq!(read_message(&mut r).unwrap(), Some(BackendMessage { kind: b'1', body: vec![] }));
        assert_eq!(read_message(&mut r).unwrap(), Some(BackendMessage { kind: b'Z', body: b"I".to_vec() }));
        assert_eq!(read_message(&mut r).unwrap(), None);
        let bad = [b'Z', 0, 0, 0, 1];
        assert!(read_message(&mut &bad[..]).is_err());
    }

    #[test]
    fn formats_errors_rows_and_status() {
        let err = b"SERROR\0VERROR\0C42501\0Mnspg_guard: refused\nsecond line\0Dsome detail\0\0";
        assert_eq!(format_error(err).unwrap(), "ERROR 42501 nspg_guard: refused\\nsecond line");
        let notice = b"SAVISO\0VNOTICE\0C00000\0Mcapped\0\0";
        assert_eq!(format_error(notice).unwrap(), "NOTICE 00000 capped");
        let old = b"SWARNING\0C01000\0Mw\0\0"; // no V field: falls back to S
        assert_eq!(format_error(old).unwrap(), "WARNING 01000 w");
        assert!(format_error(b"SERROR").is_err());

        let mut row = 3i16.to_be_bytes().to_vec();
        row.extend_from_slice(&1i32.to_be_bytes());
        row.extend_from_slice(b"1");
        row.extend_from_slice(&(-1i32).to_be_bytes());
        row.extend_from_slice(&3i32.to_be_bytes());
        row.extend_from_slice(b"a|b");
        assert_eq!(format_row(&row).unwrap(), "ROW 1|\\N|a\\|b");
        assert!(format_row(&row[..row.len() - 1]).is_err());

        let ready = BackendMessage { kind: b'Z', body: b"T".to_vec() };
        assert_eq!(describe(&ready).unwrap(), (Some("READY T".into()), Effect::Ready));
        let complete = BackendMessage { kind: b'C', body: b"DELETE 3\0".to_vec() };
        assert_eq!(describe(&complete).unwrap().0.as_deref(), Some("COMPLETE DELETE 3"));
        let suspended = BackendMessage { kind: b's', body: vec![] };
        assert_eq!(describe(&suspended).unwrap().0.as_deref(), Some("SUSPENDED"));
        let key = BackendMessage { kind: b'K', body: [1234i32.to_be_bytes(), 99i32.to_be_bytes()].concat() };
        assert_eq!(describe(&key).unwrap(), (None, Effect::BackendPid(1234)));
        let auth_ok = BackendMessage { kind: b'R', body: 0i32.to_be_bytes().to_vec() };
        assert_eq!(describe(&auth_ok).unwrap(), (None, Effect::Auth(0)));
        let param_status = BackendMessage { kind: b'S', body: b"TimeZone\0UTC\0".to_vec() };
        assert_eq!(describe(&param_status).unwrap(), (None, Effect::None));

        let mut cols = 2i16.to_be_bytes().to_vec();
        for name in ["id", "total"] {
            cols.extend_from_slice(name.as_bytes());
            cols.push(0);
            cols.extend_from_slice(&[0u8; 18]);
        }
        let t = BackendMessage { kind: b'T', body: cols };
        assert_eq!(describe(&t).unwrap().0.as_deref(), Some("COLUMNS id|total"));
        let params = BackendMessage { kind: b't', body: [1i16.to_be_bytes().to_vec(), 23i32.to_be_bytes().to_vec()].concat() };
        assert_eq!(describe(&params).unwrap().0.as_deref(), Some("PARAMS 23"));
    }

    /// A scripted server: what the client writes is kept, what it reads comes from `input`.
    struct Fake {
        input: io::Cursor<Vec<u8>>,
        written: Vec<u8>,
    }
    impl Read for Fake {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.input.read(buf)
        }
    }
    impl Write for Fake {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.written.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn session_startup_pipeline_and_disconnect() {
        let mut server = Vec::new();
        server.extend(backend(b'R', &0i32.to_be_bytes()));
        server.extend(backend(b'S', b"server_version\x0015\0"));
        server.extend(backend(b'K', &[7i32.to_be_bytes(), 1i32.to_be_bytes()].concat()));
        server.extend(backend(b'Z', b"I"));
        // the pipeline's answers
        server.extend(backend(b'1', &[]));
        server.extend(backend(b'2', &[]));
        server.extend(backend(b'D', &[1i16.to_be_bytes().to_vec(), 1i32.to_be_bytes().to_vec(), b"x".to_vec()].concat()));
        server.extend(backend(b's', &[]));
        server.extend(backend(b'Z', b"T"));
        server.extend(backend(b'E', b"VFATAL\0C57P01\0Mbye\0\0"));
        let mut out = Vec::new();
        let fake = Fake { input: io::Cursor::new(server), written: Vec::new() };
        let mut s = Session::new(fake, &mut out);
        s.startup(&ConnParams::default()).unwrap();
        assert_eq!(s.pid, Some(7));
        for line in ["parse - SELECT 'x'", "bind - -", "execute - 1", "sync", "pid", "query SELECT 1", "query SELECT 2"] {
            s.run(&parse_command(line).unwrap().unwrap()).unwrap();
        }
        assert!(s.disconnected);
        s.terminate().unwrap();
        let written = s.stream.written.clone();
        drop(s);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "READY I\nPARSED\nBOUND\nROW x\nSUSPENDED\nREADY T\nPID 7\nFATAL 57P01 bye\nDISCONNECTED\n"
        );
        // startup, P, B, E, S, Q, then nothing more after the disconnect (no Q, no X)
        let kinds: Vec<u8> = {
            let mut r = &written[be32(&written[0..4]) as usize..];
            let mut k = Vec::new();
            while let Ok(Some(m)) = read_message(&mut r) {
                k.push(m.kind);
            }
            k
        };
        assert_eq!(kinds, b"PBESQ".to_vec());
    }

    #[test]
    fn refuses_other_authentication() {
        let server = backend(b'R', &5i32.to_be_bytes()); // MD5 password
        let fake = Fake { input: io::Cursor::new(server), written: Vec::new() };
        let mut out = Vec::new();
        let mut s = Session::new(fake, &mut out);
        match s.startup(&ConnParams::default()) {
            Err(ClientError::Auth(5)) => {}
            other => panic!("expected an authentication error, got {other:?}"),
        }
    }

    #[test]
    fn copy_in_is_answered_with_copy_done() {
        let mut server = backend(b'G', &[0, 0, 0]);
        server.extend(backend(b'C', b"COPY 0\0"));
        server.extend(backend(b'Z', b"I"));
        let fake = Fake { input: io::Cursor::new(server), written: Vec::new() };
        let mut out = Vec::new();
        let mut s = Session::new(fake, &mut out);
        s.run(&Command::Query("COPY t FROM STDIN".into())).unwrap();
        let written = s.stream.written.clone();
        drop(s);
        assert_eq!(String::from_utf8(out).unwrap(), "COPYIN\nCOMPLETE COPY 0\nREADY I\n");
        assert!(written.ends_with(&copy_done_message()));
    }
}
