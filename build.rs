//! Compiles csrc/nesting.c (see its comment) against the server headers of the PostgreSQL
//! that pgrx builds for.
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=csrc/nesting.c");
    println!("cargo:rerun-if-env-changed=PGRX_PG_CONFIG_PATH");
    let pg_config = std::env::var("PGRX_PG_CONFIG_PATH").unwrap_or_else(|_| "pg_config".to_string());
    let output = Command::new(&pg_config)
        .arg("--includedir-server")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {pg_config} (set PGRX_PG_CONFIG_PATH): {e}"));
    let include = String::from_utf8_lossy(&output.stdout).trim().to_string();
    cc::Build::new().file("csrc/nesting.c").include(include).warnings(false).compile("nspg_guard_nesting");
}
