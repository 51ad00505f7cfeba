//! Connection strings read the way libpq reads them (`conninfo_parse`, `conninfo_uri_parse` in
//! fe-connect.c), to tell whether a string handed to the server carries a password: `key =
//! value` pairs with single quotes and backslash escapes, and `postgres[ql]://` URIs with
//! percent-encoding (user info `user:password@`, query `?password=…` however encoded).
//! Lenient where libpq gives up: pairs read before a syntax error still count, since the text
//! is in the statement either way.

/// Keys whose value is a secret (libpq's `password` and `sslpassword`, and any other key with
/// "pass" in it, e.g. a driver's own spelling).
pub fn is_secret_key(key: &str) -> bool {
    key.to_ascii_lowercase().contains("pass")
}

/// The `key = value` pairs of a connection string, as far as they parse.
pub fn pairs(conninfo: &str) -> Vec<(String, String)> {
    let trimmed = conninfo.trim_start();
    if let Some(rest) = ["postgresql://", "postgres://"]
        .iter()
        .find_map(|p| trimmed.get(..p.len()).filter(|head| head.eq_ignore_ascii_case(p)).map(|_| &trimmed[p.len()..]))
    {
        return uri_pairs(rest);
    }
    key_value_pairs(conninfo)
}

/// Does the text, read as a connection string, carry a non-empty secret? (The tests' shorthand.)
#[cfg(test)]
fn has_secret(conninfo: &str) -> bool {
    !secret_values(conninfo).is_empty()
}

/// The non-empty secrets of the text read as a connection string.
pub fn secret_values(conninfo: &str) -> Vec<String> {
    pairs(conninfo).into_iter().filter(|(k, v)| is_secret_key(k) && !v.is_empty()).map(|(_, v)| v).collect()
}

fn key_value_pairs(s: &str) -> Vec<(String, String)> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= b.len() {
            return out;
        }
        // the key: up to `=` or whitespace
        let key_start = i;
        while i < b.len() && b[i] != b'=' && !b[i].is_ascii_whitespace() {
            i += 1;
        }
        let key = String::from_utf8_lossy(&b[key_start..i]).into_owned();
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if b.get(i) != Some(&b'=') {
            return out;
        }
        i += 1;
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = Vec::new();
        if b.get(i) == Some(&b'\'') {
            i += 1;
            let mut closed = false;
            while i < b.len() {
                match b[i] {
                    b'\\' if i + 1 < b.len() => {
                        value.push(b[i + 1]);
                        i += 2;
                    }
                    b'\'' => {
                        i += 1;
                        closed = true;
                        break;
                    }
                    c => {
                        value.push(c);
                        i += 1;
                    }
                }
            }
            out.push((key, String::from_utf8_lossy(&value).into_owned()));
            if !closed {
                return out;
            }
        } else {
            while i < b.len() && !b[i].is_ascii_whitespace() {
                if b[i] == b'\\' && i + 1 < b.len() {
                    value.push(b[i + 1]);
                    i += 2;
                } else {
                    value.push(b[i]);
                    i += 1;
                }
            }
            out.push((key, String::from_utf8_lossy(&value).into_owned()));
        }
    }
}

/// `%XX` decoded; a bad escape keeps the text as written (libpq rejects the URI then, but the
/// text is still there).
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' {
            if let (Some(h), Some(l)) = (b.get(i + 1).and_then(|&c| hex(c)), b.get(i + 2).and_then(|&c| hex(c))) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// After the scheme: `[user[:password]@]hosts[/dbname][?key=value&…]`.
fn uri_pairs(rest: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    // libpq looks for '@' before the first '/' or '?' that ends the authority
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    if let Some(at) = authority.rfind('@') {
        let userinfo = &authority[..at];
        match userinfo.split_once(':') {
            Some((user, password)) => {
                out.push(("user".into(), percent_decode(user)));
                out.push(("password".into(), percent_decode(password)));
            }
            None => out.push(("user".into(), percent_decode(userinfo))),
        }
    }
    if let Some(q) = rest.find('?') {
        for param in rest[q + 1..].split('&') {
            let (k, v) = param.split_once('=').unwrap_or((param, ""));
            out.push((percent_decode(k), percent_decode(v)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_value_like_libpq() {
        assert_eq!(
            pairs(r"host=db  password = 'a \'b\\ c' user=x\ y"),
            vec![("host".into(), "db".into()), ("password".into(), r"a 'b\ c".into()), ("user".into(), "x y".into())]
        );
        assert!(has_secret("dbname=x password=hunter2"));
        assert!(has_secret("sslpassword=k"));
        assert!(!has_secret("password="));
        assert!(!has_secret("host=db user=app"));
        // a syntax error after the password: libpq refuses, the text still holds it
        assert!(has_secret("password=hunter2 bogus"));
        assert!(has_secret("password='unterminated"));
    }

    #[test]
    fn uris_like_libpq() {
        assert!(has_secret("postgresql://app:hunter2@db:5432/x"));
        assert!(has_secret("postgres://app:hun%74er2@db"));
        assert!(has_secret("POSTGRESQL://db/x?pass%77ord=hunter2"));
        assert!(has_secret("postgresql:///x?sslmode=require&password=hunter2"));
        assert!(!has_secret("postgresql://app@db/x?sslmode=require"));
        assert_eq!(pairs("postgresql://a%40b:p%3Aq@h"), vec![("user".into(), "a@b".into()), ("password".into(), "p:q".into())]);
    }

    #[test]
    fn any_text_is_read_without_panic() {
        for s in ["'", "\\", "=", "a=", "a='\\", "postgresql://", "postgresql://@?&=%", "postgres://%e9%", "é=é"] {
            let _ = pairs(s);
        }
    }
}
