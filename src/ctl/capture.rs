//! `weir ctl capture`: packets of one port, streamed from the router into
//! a pcap file (or stdout), until --count packets or Ctrl-C.

use super::client::Session;
use super::pcap::PcapWriter;
use super::Global;
use anyhow::{Context, Result};
use ctrl::api::filter;
use ctrl::api::proto::capture_request::Direction;
use ctrl::api::proto::{CaptureFilter, CaptureRequest};
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Which packets of the port to capture.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Dir {
    /// Received on the port.
    Rx,
    /// Sent on the port.
    Tx,
    /// Both.
    Both,
}

/// The arguments of `weir ctl capture`.
#[derive(Debug, clap::Args)]
pub struct CaptureArgs {
    /// The port (interface) to capture on.
    port: String,
    /// The pcap file to write; `-` writes to stdout (e.g. into `tshark -r -`).
    #[arg(short = 'w', long = "write", value_name = "FILE")]
    write: PathBuf,
    /// Stop after this many packets (0: until Ctrl-C).
    #[arg(long, short = 'c', default_value_t = 0, value_name = "N")]
    count: u64,
    /// Bytes of each packet to keep.
    #[arg(long, short = 's', default_value_t = 65535, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=262_144))]
    snaplen: u32,
    /// Packets received, sent, or both.
    #[arg(long, value_enum, default_value_t = Dir::Both)]
    direction: Dir,
    /// Which packets, e.g. `src 10.0.0.0/8 and dst 10.1.2.3 and proto udp
    /// and vlan 10` (terms: src, dst, host PREFIX; proto tcp|udp|icmp|gre|N;
    /// vlan ID; joined with `and`).
    #[arg(long, value_name = "EXPR", value_parser = filter::parse)]
    filter: Option<CaptureFilter>,
}

impl Dir {
    fn name(self) -> &'static str {
        match self {
            Dir::Rx => "rx",
            Dir::Tx => "tx",
            Dir::Both => "rx and tx",
        }
    }
}

impl CaptureArgs {
    fn request(&self) -> CaptureRequest {
        let direction = match self.direction {
            Dir::Rx => Direction::Rx,
            Dir::Tx => Direction::Tx,
            Dir::Both => Direction::Both,
        };
        CaptureRequest {
            interface: self.port.clone(),
            direction: direction as i32,
            count: self.count,
            snaplen: self.snaplen,
            filter: self.filter.clone(),
        }
    }

    fn to_stdout(&self) -> bool {
        self.write.as_os_str() == "-"
    }

    fn output(&self) -> Result<Box<dyn Write>> {
        if self.to_stdout() {
            return Ok(Box::new(io::stdout().lock()));
        }
        let f = std::fs::File::create(&self.write)
            .with_context(|| format!("creating {}", self.write.display()))?;
        Ok(Box::new(io::BufWriter::new(f)))
    }
}

/// How a capture ended.
enum End {
    /// --count packets were written, or the router ended the stream.
    Done,
    /// Ctrl-C.
    Interrupted,
    /// The reader of stdout went away.
    BrokenPipe,
}

/// `weir ctl capture`.
pub async fn run(g: &Global, args: &CaptureArgs) -> Result<ExitCode> {
    let session = Session::open(&g.conn).await?;
    let mut out =
        PcapWriter::new(args.output()?, args.snaplen).context("writing the pcap header")?;
    let req = args.request();
    let mut stream = session
        .call("Capture", |mut c| async move { c.capture(req).await })
        .await?;
    eprintln!(
        "weir: capturing on {} ({}), Ctrl-C stops",
        args.port,
        args.direction.name()
    );
    let (mut packets, mut dropped) = (0u64, 0u64);
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let end = loop {
        let msg = tokio::select! {
            _ = &mut ctrl_c => break End::Interrupted,
            m = stream.message() => m,
        };
        let p = match msg {
            Ok(Some(p)) => p,
            Ok(None) => break End::Done,
            Err(s) => {
                out.flush().ok();
                summary(packets, dropped);
                return Err(session.error("Capture", &s));
            }
        };
        dropped += p.dropped;
        let written = out.write(p.timestamp_ns, p.length, &p.data).and_then(|()| {
            // Piped output goes out packet by packet, as tcpdump -U.
            if args.to_stdout() {
                out.flush()
            } else {
                Ok(())
            }
        });
        match written {
            Ok(()) => packets += 1,
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => break End::BrokenPipe,
            Err(e) => return Err(e).context(format!("writing {}", args.write.display())),
        }
        if args.count > 0 && packets >= args.count {
            break End::Done;
        }
    };
    if !matches!(end, End::BrokenPipe) {
        out.flush()
            .with_context(|| format!("writing {}", args.write.display()))?;
    }
    if matches!(end, End::Interrupted) {
        eprintln!();
    }
    summary(packets, dropped);
    Ok(ExitCode::SUCCESS)
}

fn summary(packets: u64, dropped: u64) {
    eprintln!(
        "weir: {packets} packet{} captured, {dropped} dropped by the router",
        if packets == 1 { "" } else { "s" }
    );
}
