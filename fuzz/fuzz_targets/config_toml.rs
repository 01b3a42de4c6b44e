//! The config parser and validator: any text is either a config or a list
//! of diagnostics with positions inside the text, never a panic.
#![no_main]

use ctrl::config::{Config, Env};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Config::from_str_with(text, Path::new("fuzz.toml"), &Env { cpus: 4 }) {
        Ok(cfg) => {
            let _ = cfg.to_string();
        }
        Err(e) => {
            let lines = text.lines().count().max(1);
            for d in &e.diagnostics {
                assert!(d.line <= lines + 1, "line {} of {}", d.line, lines);
            }
            let _ = e.to_string();
        }
    }
});
