//! Human output: aligned tables as `ip`, `birdc` or `gobgp` print them, and
//! number formats (thousands separators, SI prefixes, durations).

use std::fmt;

/// A table column: its header and how its cells align.
#[derive(Clone, Copy, Debug)]
pub enum Col {
    /// Left-aligned (names, addresses, states).
    L(&'static str),
    /// Right-aligned (numbers).
    R(&'static str),
}

impl Col {
    fn header(self) -> &'static str {
        match self {
            Col::L(h) | Col::R(h) => h,
        }
    }
}

/// Rows of text cells printed in aligned columns, two spaces apart, under
/// a header line. Empty cells print as `-`; no line has trailing spaces.
#[derive(Debug)]
pub struct Table {
    cols: Vec<Col>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these columns and no rows.
    pub fn new(cols: &[Col]) -> Self {
        Table {
            cols: cols.to_vec(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; it has one cell per column (missing cells are empty,
    /// extra ones are dropped).
    pub fn row<I, S>(&mut self, cells: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut row: Vec<String> = cells.into_iter().map(Into::into).collect();
        row.resize(self.cols.len(), String::new());
        for c in &mut row {
            if c.is_empty() {
                c.push('-');
            }
        }
        self.rows.push(row);
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = |i: usize| {
            self.rows
                .iter()
                .map(|r| r[i].chars().count())
                .chain([self.cols[i].header().len()])
                .max()
                .unwrap_or(0)
        };
        let widths: Vec<usize> = (0..self.cols.len()).map(width).collect();
        let header: Vec<String> = self.cols.iter().map(|c| c.header().into()).collect();
        for row in std::iter::once(&header).chain(&self.rows) {
            let mut line = String::new();
            for (i, (cell, col)) in row.iter().zip(&self.cols).enumerate() {
                if i > 0 {
                    line.push_str("  ");
                }
                let w = widths[i];
                match col {
                    Col::L(_) => line.push_str(&format!("{cell:<w$}")),
                    Col::R(_) => line.push_str(&format!("{cell:>w$}")),
                }
            }
            writeln!(f, "{}", line.trim_end())?;
        }
        Ok(())
    }
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A rate or size with an SI prefix and three significant digits:
/// `950`, `12.3k`, `1.23M`, `40.0G`.
pub fn si(x: f64) -> String {
    const PREFIXES: [&str; 5] = ["", "k", "M", "G", "T"];
    let mut x = x.max(0.0);
    let mut p = 0;
    while x >= 999.5 && p < PREFIXES.len() - 1 {
        x /= 1000.0;
        p += 1;
    }
    if p == 0 {
        format!("{x:.0}")
    } else if x >= 99.95 {
        format!("{x:.0}{}", PREFIXES[p])
    } else if x >= 9.995 {
        format!("{x:.1}{}", PREFIXES[p])
    } else {
        format!("{x:.2}{}", PREFIXES[p])
    }
}

/// Nanoseconds as `3d 04:05:06`, or `04:05:06` under a day.
pub fn duration_ns(ns: u64) -> String {
    let s = ns / 1_000_000_000;
    let (d, h, m, s) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    if d > 0 {
        format!("{d}d {h:02}:{m:02}:{s:02}")
    } else {
        format!("{h:02}:{m:02}:{s:02}")
    }
}

/// Strings joined with `,` (an empty list gives an empty cell).
pub fn list(items: &[String]) -> String {
    items.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_and_lines_have_no_trailing_space() {
        let mut t = Table::new(&[Col::L("NAME"), Col::R("RX-PACKETS"), Col::L("VRF")]);
        t.row(["gen0", &thousands(1_234_567), "MAIN"]);
        t.row(["tunnel-long", "5", ""]);
        assert_eq!(
            t.to_string(),
            "NAME         RX-PACKETS  VRF\n\
             gen0          1,234,567  MAIN\n\
             tunnel-long           5  -\n"
        );
    }

    #[test]
    fn width_counts_characters_not_bytes() {
        let mut t = Table::new(&[Col::L("A"), Col::L("B")]);
        t.row(["→→", "x"]);
        t.row(["abc", "y"]);
        assert_eq!(t.to_string(), "A    B\n→→   x\nabc  y\n");
    }

    #[test]
    fn short_rows_are_padded_and_an_empty_table_is_its_header() {
        let mut t = Table::new(&[Col::L("A"), Col::R("B")]);
        assert_eq!(t.to_string(), "A  B\n");
        t.row(["only"]);
        assert_eq!(t.to_string(), "A     B\nonly  -\n");
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(123_456), "123,456");
        assert_eq!(thousands(u64::MAX), "18,446,744,073,709,551,615");
    }

    #[test]
    fn si_prefixes() {
        assert_eq!(si(0.0), "0");
        assert_eq!(si(950.0), "950");
        assert_eq!(si(999.7), "1.00k");
        assert_eq!(si(12_345.0), "12.3k");
        assert_eq!(si(1_234_567.0), "1.23M");
        assert_eq!(si(148_809_523.0), "149M");
        assert_eq!(si(40e9), "40.0G");
        assert_eq!(si(-3.0), "0");
    }

    #[test]
    fn durations() {
        assert_eq!(duration_ns(0), "00:00:00");
        assert_eq!(duration_ns(3_723_000_000_000), "01:02:03");
        assert_eq!(duration_ns(90_061_000_000_000), "1d 01:01:01");
    }
}
