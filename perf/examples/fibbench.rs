//! `weir bench fib` without the weir binary:
//! `cargo run --release -p perf --example fibbench -- --prefixes 565000`.

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    perf::fib::cli_main(&args)
}
