//! Benchmark harness (RFC 2544-style trials); see issue 4.
