//! Log setup: `tracing` events to stderr, as text or JSON lines.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Level used when neither `level` nor `RUST_LOG` says otherwise.
pub const DEFAULT_LEVEL: &str = "info";

/// Send `tracing` events to stderr: one JSON object per line if `json`,
/// else readable text. What is logged comes from `level` (a level such as
/// `"debug"`, or any `RUST_LOG`-style filter such as `"info,ctrl=trace"`)
/// if given, else from `RUST_LOG`, else [`DEFAULT_LEVEL`]; a filter that
/// does not parse falls back to [`DEFAULT_LEVEL`], with a warning.
///
/// Only the first call in a process installs anything (the global
/// subscriber can be set once); later calls are ignored. Returns whether
/// this call installed it.
pub fn init_logging(json: bool, level: Option<&str>) -> bool {
    let (filter, bad) = filter(level, std::env::var("RUST_LOG").ok().as_deref());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let installed = if json {
        builder.json().try_init().is_ok()
    } else {
        builder.try_init().is_ok()
    };
    if installed {
        if let Some((spec, e)) = bad {
            tracing::warn!("log filter {spec:?} ignored ({e}); logging at {DEFAULT_LEVEL}");
        }
    }
    installed
}

/// The filter from `level`, else `env`, else the default; with the spec
/// that did not parse and why, if one did not.
fn filter<'a>(
    level: Option<&'a str>,
    env: Option<&'a str>,
) -> (EnvFilter, Option<(String, String)>) {
    let given = |s: Option<&'a str>| s.map(str::trim).filter(|s| !s.is_empty());
    let spec = given(level).or(given(env)).unwrap_or(DEFAULT_LEVEL);
    match EnvFilter::try_new(spec) {
        Ok(f) => (f, None),
        Err(e) => (
            EnvFilter::new(DEFAULT_LEVEL),
            Some((spec.to_owned(), e.to_string())),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_precedence() {
        let show = |l, e| filter(l, e).0.to_string();
        assert_eq!(show(None, None), "info");
        assert_eq!(show(None, Some("debug")), "debug");
        assert_eq!(show(Some("warn"), Some("debug")), "warn");
        assert_eq!(show(Some(" "), Some("trace")), "trace");
        let (f, bad) = filter(Some("ctrl=nonsense=1"), None);
        assert_eq!(f.to_string(), "info");
        assert_eq!(bad.unwrap().0, "ctrl=nonsense=1");
    }

    #[test]
    fn second_call_is_ignored() {
        // The first call may or may not win (another test may have set a
        // subscriber); the second never does, and neither panics.
        let _ = init_logging(false, Some("info"));
        assert!(!init_logging(true, None));
        tracing::info!("logging works");
    }
}
