//! weir's benchmarks: RFC 2544-style forwarding trials (`weir bench`) and
//! the FIB benchmark (`weir bench fib`).

pub mod fib;
