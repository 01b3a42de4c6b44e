//! Diagnostics: what is wrong with a config, and where.
//!
//! Checks work on byte spans ([`RawDiag`]); at the end the spans are turned
//! into 1-based line and column numbers ([`SourceMap`]) and the result is a
//! [`ConfigError`] listing every problem, one per line, as compilers do:
//!
//! ```text
//! examples/bad.toml:14:9: interface[1] (gen1).vrf: unknown VRF "FOO" (defined: default, MAIN, BGP)
//! 1 error; nothing was applied
//! ```

use std::fmt;
use std::ops::Range;
use std::path::PathBuf;

/// One problem found in a config file, with where it is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    /// The config file, as it was named to [`Config::load`](super::Config::load)
    /// or [`Config::from_str`](super::Config::from_str).
    pub file: PathBuf,
    /// 1-based line; 0 when the problem is with the file as a whole (it
    /// could not be read).
    pub line: usize,
    /// 1-based column, counted in characters; 0 together with `line`.
    pub col: usize,
    /// Path of the field at fault, e.g. `interface[1] (gen1).vrf` (array
    /// indices are 0-based, in file order, followed by the element's name
    /// where it has one); empty for TOML syntax errors and unreadable files.
    pub field: String,
    /// What is wrong, in one line.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.file.display())?;
        if self.line > 0 {
            write!(f, "{}:{}:", self.line, self.col)?;
        }
        if !self.field.is_empty() {
            write!(f, " {}:", self.field)?;
        }
        write!(f, " {}", self.message)
    }
}

/// A rejected config: every problem found in it, in file order.
///
/// Its `Display` prints one [`Diagnostic`] per line and then a summary line,
/// `N errors; nothing was applied`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The problems, sorted by position in the file; never empty.
    pub diagnostics: Vec<Diagnostic>,
}

impl ConfigError {
    /// Whether any diagnostic's message contains `needle` (handy in tests
    /// and tools).
    pub fn mentions(&self, needle: &str) -> bool {
        self.diagnostics.iter().any(|d| d.message.contains(needle))
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.diagnostics {
            writeln!(f, "{d}")?;
        }
        let n = self.diagnostics.len();
        write!(
            f,
            "{n} error{}; nothing was applied",
            if n == 1 { "" } else { "s" }
        )
    }
}

impl std::error::Error for ConfigError {}

/// A problem located by byte span, before line numbers are known.
#[derive(Debug, Clone)]
pub(crate) struct RawDiag {
    pub span: Range<usize>,
    pub field: String,
    pub message: String,
}

/// Byte offset → (line, column), both 1-based; columns count characters.
pub(crate) struct SourceMap<'a> {
    text: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> SourceMap<'a> {
    pub fn new(text: &'a str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        SourceMap { text, line_starts }
    }

    /// The line and column of byte `offset` (clamped to the text).
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.line_starts.partition_point(|&s| s <= offset);
        let start = self.line_starts[line - 1];
        let col = self.text[start..offset].chars().count() + 1;
        (line, col)
    }

    /// The 1-based line of byte `offset`.
    pub fn line(&self, offset: usize) -> usize {
        self.position(offset).0
    }
}

/// Turn located problems into a [`ConfigError`] (sorted by position).
pub(crate) fn into_error(
    file: &std::path::Path,
    text: &str,
    mut diags: Vec<RawDiag>,
) -> ConfigError {
    diags.sort_by_key(|d| d.span.start);
    let map = SourceMap::new(text);
    let diagnostics = diags
        .into_iter()
        .map(|d| {
            let (line, col) = map.position(d.span.start);
            Diagnostic {
                file: file.to_path_buf(),
                line,
                col,
                field: d.field,
                message: d.message,
            }
        })
        .collect();
    ConfigError { diagnostics }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_count_chars() {
        let m = SourceMap::new("ab\n\u{e9}x = 1\n");
        assert_eq!(m.position(0), (1, 1));
        assert_eq!(m.position(1), (1, 2));
        assert_eq!(m.position(3), (2, 1));
        // 'x' follows a two-byte character: byte 5, column 2.
        assert_eq!(m.position(5), (2, 2));
        assert_eq!(m.position(100), (3, 1));
    }

    #[test]
    fn summary_line_counts() {
        let d = Diagnostic {
            file: "a.toml".into(),
            line: 2,
            col: 3,
            field: "workers.cores".into(),
            message: "empty".into(),
        };
        let e = ConfigError {
            diagnostics: vec![d.clone()],
        };
        assert_eq!(
            e.to_string(),
            "a.toml:2:3: workers.cores: empty\n1 error; nothing was applied"
        );
        let e = ConfigError {
            diagnostics: vec![
                d.clone(),
                Diagnostic {
                    line: 0,
                    col: 0,
                    field: String::new(),
                    ..d
                },
            ],
        };
        assert!(e
            .to_string()
            .ends_with("a.toml: empty\n2 errors; nothing was applied"));
    }
}
