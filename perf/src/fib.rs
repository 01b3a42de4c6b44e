//! The FIB benchmark (`weir bench fib`).

/// Entry point of `weir bench fib ARGS...`: every argument after `fib` is
/// passed through unparsed. Placeholder until the FIB benchmark lands.
pub fn cli_main(_args: &[String]) -> anyhow::Result<()> {
    anyhow::bail!("weir bench fib: not built yet")
}
