//! The FIB benchmark (`weir bench fib`).
