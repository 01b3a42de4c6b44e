//! A progress bar on stderr for long runs: redrawn in place on a
//! terminal, silent otherwise (logs and CI stay clean).

use std::io::{IsTerminal, Write};
use std::time::Instant;

/// Progress over an estimated number of trials.
pub struct Progress {
    total: usize,
    done: usize,
    start: Instant,
    enabled: bool,
    label: String,
}

impl Progress {
    /// A bar expecting about `total` trials; drawn only if stderr is a
    /// terminal and `enabled`.
    pub fn new(total: usize, enabled: bool) -> Progress {
        Progress {
            total: total.max(1),
            done: 0,
            start: Instant::now(),
            enabled: enabled && std::io::stderr().is_terminal(),
            label: String::new(),
        }
    }

    /// Say what is being measured now.
    pub fn label(&mut self, label: impl Into<String>) {
        self.label = label.into();
        self.draw();
    }

    /// One more trial done.
    pub fn tick(&mut self) {
        self.done += 1;
        self.draw();
    }

    /// Grow the estimate (the search took more trials than expected).
    pub fn extend(&mut self, more: usize) {
        self.total += more;
    }

    fn draw(&self) {
        if !self.enabled {
            return;
        }
        let frac = (self.done as f64 / self.total as f64).min(0.99);
        let width = 30;
        let fill = (frac * width as f64) as usize;
        let secs = self.start.elapsed().as_secs();
        let eta = if self.done > 0 {
            let per = self.start.elapsed().as_secs_f64() / self.done as f64;
            format!(
                " eta ~{}s",
                (per * self.total.saturating_sub(self.done) as f64) as u64
            )
        } else {
            String::new()
        };
        let mut e = std::io::stderr().lock();
        let _ = write!(
            e,
            "\r\x1b[K[{}{}] {:>3}% {}:{:02}{} {}",
            "#".repeat(fill),
            ".".repeat(width - fill),
            (frac * 100.0) as u32,
            secs / 60,
            secs % 60,
            eta,
            self.label
        );
        let _ = e.flush();
    }

    /// Erase the bar.
    pub fn finish(&self) {
        if self.enabled {
            let _ = write!(std::io::stderr(), "\r\x1b[K");
        }
    }
}
