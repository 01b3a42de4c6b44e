//! A classic libpcap file writer (what tcpdump `-w` writes), with
//! nanosecond timestamps, for Ethernet frames.
//!
//! ```text
//! global header (24 bytes, little-endian here, readers use the magic
//! to tell the byte order):
//!   magic 0xa1b23c4d (ns timestamps) | version 2.4 | thiszone 0 |
//!   sigfigs 0 | snaplen | linktype 1 (Ethernet)
//! per packet (16 bytes, then the captured bytes):
//!   ts_sec | ts_nsec | incl_len | orig_len
//! ```

use std::io::{self, Write};

/// Magic number of a pcap file with nanosecond timestamps.
pub const MAGIC_NS: u32 = 0xa1b2_3c4d;
/// LINKTYPE_ETHERNET.
pub const LINKTYPE_ETHERNET: u32 = 1;

/// Writes packets to a pcap file as they come.
#[derive(Debug)]
pub struct PcapWriter<W: Write> {
    out: W,
    snaplen: u32,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the global header; packets are cut to `snaplen` bytes.
    pub fn new(mut out: W, snaplen: u32) -> io::Result<Self> {
        let mut h = Vec::with_capacity(24);
        h.extend_from_slice(&MAGIC_NS.to_le_bytes());
        h.extend_from_slice(&2u16.to_le_bytes());
        h.extend_from_slice(&4u16.to_le_bytes());
        h.extend_from_slice(&0i32.to_le_bytes());
        h.extend_from_slice(&0u32.to_le_bytes());
        h.extend_from_slice(&snaplen.to_le_bytes());
        h.extend_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
        out.write_all(&h)?;
        Ok(PcapWriter { out, snaplen })
    }

    /// Appends one packet seen at `timestamp_ns` (since the Unix epoch),
    /// `orig_len` bytes long on the wire, of which `data` was captured.
    pub fn write(&mut self, timestamp_ns: u64, orig_len: u32, data: &[u8]) -> io::Result<()> {
        let incl = data.len().min(self.snaplen as usize);
        let sec = u32::try_from(timestamp_ns / 1_000_000_000).unwrap_or(u32::MAX);
        let nsec = (timestamp_ns % 1_000_000_000) as u32;
        let mut h = [0u8; 16];
        h[0..4].copy_from_slice(&sec.to_le_bytes());
        h[4..8].copy_from_slice(&nsec.to_le_bytes());
        h[8..12].copy_from_slice(&(incl as u32).to_le_bytes());
        h[12..16].copy_from_slice(&orig_len.max(incl as u32).to_le_bytes());
        self.out.write_all(&h)?;
        self.out.write_all(&data[..incl])
    }

    /// Flushes what was written so far to the file.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u32_at(b: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
    }

    #[test]
    fn file_reads_back_byte_for_byte() {
        let path = std::env::temp_dir().join(format!("weir-pcap-test-{}.pcap", std::process::id()));
        let frame: Vec<u8> = (0..100u8).collect();
        {
            let f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
            let mut w = PcapWriter::new(f, 64).unwrap();
            w.write(1_700_000_000_123_456_789, 100, &frame).unwrap();
            w.write(1_700_000_001_000_000_000, 60, &frame[..60])
                .unwrap();
            w.flush().unwrap();
        }
        let b = std::fs::read(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        assert_eq!(b.len(), 24 + 16 + 64 + 16 + 60);
        // The global header.
        assert_eq!(&b[0..4], &[0x4d, 0x3c, 0xb2, 0xa1]);
        assert_eq!(u16::from_le_bytes([b[4], b[5]]), 2);
        assert_eq!(u16::from_le_bytes([b[6], b[7]]), 4);
        assert_eq!(u32_at(&b, 8), 0);
        assert_eq!(u32_at(&b, 12), 0);
        assert_eq!(u32_at(&b, 16), 64, "snaplen");
        assert_eq!(u32_at(&b, 20), 1, "LINKTYPE_ETHERNET");
        // First packet: cut to the snaplen, the wire length kept.
        assert_eq!(u32_at(&b, 24), 1_700_000_000);
        assert_eq!(u32_at(&b, 28), 123_456_789);
        assert_eq!(u32_at(&b, 32), 64);
        assert_eq!(u32_at(&b, 36), 100);
        assert_eq!(&b[40..104], &frame[..64]);
        // Second packet: whole.
        assert_eq!(u32_at(&b, 104), 1_700_000_001);
        assert_eq!(u32_at(&b, 108), 0);
        assert_eq!(u32_at(&b, 112), 60);
        assert_eq!(u32_at(&b, 116), 60);
        assert_eq!(&b[120..], &frame[..60]);
    }

    #[test]
    fn wire_length_is_never_below_the_captured_length() {
        let mut w = PcapWriter::new(Vec::new(), 65535).unwrap();
        w.write(0, 0, &[1, 2, 3]).unwrap();
        assert_eq!(u32_at(&w.out, 24 + 8), 3);
        assert_eq!(u32_at(&w.out, 24 + 12), 3);
    }
}
