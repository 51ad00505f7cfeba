//! `pgwire "host=… port=… user=… dbname=… options=…" < script` — see the library's docs for the
//! script and the output. Exit status: 0 when the script ran (server errors are output, not
//! failures), 2 for a bad command line, script or connection, 3 for an I/O error or a timeout
//! (PGWIRE_TIMEOUT seconds without an answer, 60 by default).

use pgwire::{parse_command, parse_conninfo, ClientError, Session};
use std::io::{self, BufRead, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::process::exit;
use std::time::Duration;

enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.flush(),
            Stream::Unix(s) => s.flush(),
        }
    }
}

fn die(status: i32, message: impl std::fmt::Display) -> ! {
    let _ = io::stdout().flush();
    eprintln!("pgwire: {message}");
    exit(status)
}

fn status_of(e: &ClientError) -> i32 {
    match e {
        ClientError::Io(_) | ClientError::Decode(_) => 3,
        ClientError::Auth(_) | ClientError::Script(_) => 2,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 2 || args[1] == "-h" || args[1] == "--help" {
        die(2, "usage: pgwire \"host=… port=… user=… dbname=… [options=…] [application_name=…]\" < script");
    }
    let params = parse_conninfo(&args[1]).unwrap_or_else(|e| die(2, e));
    let timeout = std::env::var("PGWIRE_TIMEOUT").ok().and_then(|t| t.parse().ok()).unwrap_or(60u64);
    let timeout = Some(Duration::from_secs(timeout.max(1)));
    let stream = match params.socket_path() {
        Some(path) => UnixStream::connect(&path)
            .and_then(|s| s.set_read_timeout(timeout).map(|_| Stream::Unix(s)))
            .unwrap_or_else(|e| die(2, format!("cannot connect to {path}: {e}"))),
        None => TcpStream::connect((params.host.as_str(), params.port))
            .and_then(|s| {
                s.set_nodelay(true)?;
                s.set_read_timeout(timeout).map(|_| Stream::Tcp(s))
            })
            .unwrap_or_else(|e| die(2, format!("cannot connect to {}:{}: {e}", params.host, params.port))),
    };
    let stdout = io::stdout();
    let mut session = Session::new(stream, stdout.lock());
    if let Err(e) = session.startup(&params) {
        die(status_of(&e), e);
    }
    for (n, line) in io::stdin().lock().lines().enumerate() {
        let line = line.unwrap_or_else(|e| die(3, e));
        let command = match parse_command(&line) {
            Ok(Some(c)) => c,
            Ok(None) => continue,
            Err(e) => die(2, format!("script line {}: {e}", n + 1)),
        };
        if let Err(e) = session.run(&command) {
            die(status_of(&e), format!("script line {}: {e}", n + 1));
        }
        if session.disconnected {
            break;
        }
    }
    if let Err(e) = session.terminate() {
        die(status_of(&e), e);
    }
}
