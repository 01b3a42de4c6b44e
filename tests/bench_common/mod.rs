//! What the `weir bench` end-to-end tests share (`tests/bench.rs`,
//! `tests/bench_stalls.rs`).

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

/// The weir binary under test, run from the repository root.
pub fn weir() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_weir"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

/// A file of this test process in the temporary directory.
pub fn tmp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("weir-bench-{}-{name}", std::process::id()))
}

/// The number at JSON pointer `path` of `v` (panics, showing `v`, when it
/// is missing).
pub fn f(v: &Value, path: &str) -> f64 {
    v.pointer(path)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("{path} missing or not a number in {v:#}"))
}
