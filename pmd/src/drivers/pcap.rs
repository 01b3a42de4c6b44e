//! `pcap`: replay a capture as input and write what leaves as a capture.
//!
//! A pcap port reads a classic libpcap file (not pcapng) at open, whole,
//! into memory, so `rx_burst` only copies frames into pool buffers and does
//! no I/O; queue 0 replays it once, `n` times or forever ([`Repeat`]); the
//! other queues receive nothing. Every queue writes what it transmits to
//! one output file, one record per packet.
//!
//! This driver is for debugging and golden tests (pcap in, pcap out), not
//! for speed: the queues share the output file through a mutex, and
//! records are written through a `BufWriter` that is flushed by
//! [`Port::flush`], [`PcapPort::finish`] and on drop.
//!
//! VLAN tags: the other drivers strip 802.1Q tags out of the data
//! ([`Buf::vlan`]), but a tagged frame in the input file is replayed as it
//! is, tag in the data. On output, a packet with a [`Buf::vlan`] is written with the tag re-inserted after the MAC addresses, as it
//! would appear on a wire.
//!
//! File format (all fields in the byte order the magic number reveals):
//!
//! ```text
//!  global header (24 bytes)            record header (16 bytes)
//!  +0  magic      a1b2c3d4 (µs)        +0   seconds
//!                 a1b23c4d (ns)        +4   microseconds or nanoseconds
//!  +4  version    2.4                  +8   captured length
//!  +8  thiszone, sigfigs (ignored)     +12  original length
//!  +16 snaplen                         +16  captured bytes ...
//!  +20 link type  1 = Ethernet
//! ```
//!
//! Files are written little-endian with microsecond timestamps.

use crate::buf::{Buf, Burst, Pool};
use crate::port::Port;
use crate::stats::QueueStats;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

/// Magic number of a file with microsecond timestamps.
pub const MAGIC_USEC: u32 = 0xa1b2_c3d4;
/// Magic number of a file with nanosecond timestamps.
pub const MAGIC_NSEC: u32 = 0xa1b2_3c4d;
/// The only link type read and written: Ethernet.
pub const LINKTYPE_ETHERNET: u32 = 1;
/// Largest captured length accepted in a record (libpcap's maximum
/// snapshot length).
pub const MAX_CAPLEN: u32 = 262_144;
/// Snapshot length written in output files.
pub const SNAPLEN: u32 = 65_535;
const GLOBAL_HEADER: usize = 24;
const RECORD_HEADER: usize = 16;
/// First four bytes of a pcapng file (its section header block type).
const PCAPNG_MAGIC: u32 = 0x0a0d_0d0a;
/// Link-type field: the frames include their FCS.
const LINKTYPE_FCS_FLAG: u32 = 1 << 26;

/// What is wrong with the contents of a capture.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PcapFormatError {
    /// Shorter than the 24-byte global header.
    #[error("{0} bytes is too short for a pcap file header")]
    TooShort(usize),
    /// A pcapng file.
    #[error("pcapng is not supported: convert the file with `editcap -F pcap`")]
    Pcapng,
    /// Not a libpcap magic number.
    #[error("magic number {0:#010x} is not that of a classic pcap file")]
    BadMagic(u32),
    /// A major version other than 2.
    #[error("pcap version {0}.{1} is not supported (2.x is)")]
    Version(u16, u16),
    /// A link type other than Ethernet.
    #[error("link type {0} is not supported: only Ethernet (1) captures are")]
    LinkType(u32),
    /// Ethernet frames that include their FCS.
    #[error("captures whose frames include the FCS are not supported")]
    Fcs,
    /// The file ends inside a record header.
    #[error("record {index} at offset {offset}: the file ends inside its header")]
    TruncatedHeader {
        /// Index of the record (from 0).
        index: usize,
        /// Offset of its header in the file.
        offset: usize,
    },
    /// The file ends inside a record's data.
    #[error(
        "record {index} at offset {offset}: {caplen} bytes captured but {left} left in the file"
    )]
    TruncatedData {
        /// Index of the record (from 0).
        index: usize,
        /// Offset of its header in the file.
        offset: usize,
        /// Captured length the header claims.
        caplen: u32,
        /// Bytes left after the header.
        left: usize,
    },
    /// A captured length above [`MAX_CAPLEN`].
    #[error("record {index} at offset {offset}: captured length {caplen} exceeds {MAX_CAPLEN}")]
    TooLong {
        /// Index of the record (from 0).
        index: usize,
        /// Offset of its header in the file.
        offset: usize,
        /// Captured length the header claims.
        caplen: u32,
    },
}

/// Errors of the pcap driver; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum PcapError {
    /// Reading or writing the file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The input file is not a capture the driver reads.
    #[error("{}: {source}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        source: PcapFormatError,
    },
    /// A port needs at least one queue.
    #[error("a pcap port needs at least one queue")]
    NoQueues,
}

/// One record of a capture, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PcapRecord {
    /// Timestamp, seconds.
    pub ts_sec: u32,
    /// Timestamp, nanoseconds within the second (microsecond files are
    /// scaled up; saturates for malformed values).
    pub ts_nsec: u32,
    /// Length of the frame on the wire.
    pub orig_len: u32,
    /// The captured bytes.
    pub data: Vec<u8>,
}

/// One record of a capture, borrowed from the file's bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordRef<'a> {
    /// Timestamp, seconds.
    pub ts_sec: u32,
    /// Timestamp, nanoseconds within the second.
    pub ts_nsec: u32,
    /// Length of the frame on the wire.
    pub orig_len: u32,
    /// The captured bytes.
    pub data: &'a [u8],
}

impl RecordRef<'_> {
    /// An owned copy.
    pub fn to_owned(&self) -> PcapRecord {
        PcapRecord {
            ts_sec: self.ts_sec,
            ts_nsec: self.ts_nsec,
            orig_len: self.orig_len,
            data: self.data.to_vec(),
        }
    }
}

/// An iterator over the records of a capture in memory; it stops after the
/// first error.
#[derive(Clone, Debug)]
pub struct Records<'a> {
    bytes: &'a [u8],
    offset: usize,
    index: usize,
    big_endian: bool,
    nanos: bool,
    failed: bool,
}

/// Check the global header of a capture and iterate over its records.
pub fn records(bytes: &[u8]) -> Result<Records<'_>, PcapFormatError> {
    let Some(h) = bytes.first_chunk::<GLOBAL_HEADER>() else {
        if bytes.len() >= 4
            && u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) == PCAPNG_MAGIC
        {
            return Err(PcapFormatError::Pcapng);
        }
        return Err(PcapFormatError::TooShort(bytes.len()));
    };
    let magic = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
    let (big_endian, nanos) = match magic {
        MAGIC_USEC => (false, false),
        MAGIC_NSEC => (false, true),
        m if m.swap_bytes() == MAGIC_USEC => (true, false),
        m if m.swap_bytes() == MAGIC_NSEC => (true, true),
        PCAPNG_MAGIC => return Err(PcapFormatError::Pcapng),
        m => return Err(PcapFormatError::BadMagic(m)),
    };
    let u16_at = |o: usize| {
        let b = [h[o], h[o + 1]];
        if big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        }
    };
    let (major, minor) = (u16_at(4), u16_at(6));
    if major != 2 {
        return Err(PcapFormatError::Version(major, minor));
    }
    let network = read_u32(&h[20..24], big_endian);
    if network & 0xffff != LINKTYPE_ETHERNET {
        return Err(PcapFormatError::LinkType(network & 0xffff));
    }
    if network & LINKTYPE_FCS_FLAG != 0 {
        return Err(PcapFormatError::Fcs);
    }
    Ok(Records {
        bytes,
        offset: GLOBAL_HEADER,
        index: 0,
        big_endian,
        nanos,
        failed: false,
    })
}

fn read_u32(b: &[u8], big_endian: bool) -> u32 {
    let b = [b[0], b[1], b[2], b[3]];
    if big_endian {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    }
}

impl Records<'_> {
    /// True if the file has nanosecond timestamps.
    pub fn nanos(&self) -> bool {
        self.nanos
    }

    /// True if the file is big-endian.
    pub fn big_endian(&self) -> bool {
        self.big_endian
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<RecordRef<'a>, PcapFormatError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.offset == self.bytes.len() {
            return None;
        }
        let (index, offset) = (self.index, self.offset);
        let rest = &self.bytes[offset..];
        let res = (|| {
            let h = rest
                .first_chunk::<RECORD_HEADER>()
                .ok_or(PcapFormatError::TruncatedHeader { index, offset })?;
            let field = |i: usize| read_u32(&h[i * 4..i * 4 + 4], self.big_endian);
            let (ts_sec, frac, caplen, orig_len) = (field(0), field(1), field(2), field(3));
            if caplen > MAX_CAPLEN {
                return Err(PcapFormatError::TooLong {
                    index,
                    offset,
                    caplen,
                });
            }
            let left = rest.len() - RECORD_HEADER;
            let data = rest[RECORD_HEADER..].get(..caplen as usize).ok_or(
                PcapFormatError::TruncatedData {
                    index,
                    offset,
                    caplen,
                    left,
                },
            )?;
            let ts_nsec = if self.nanos {
                frac
            } else {
                frac.saturating_mul(1000)
            };
            Ok(RecordRef {
                ts_sec,
                ts_nsec,
                orig_len,
                data,
            })
        })();
        match &res {
            Ok(r) => {
                self.offset += RECORD_HEADER + r.data.len();
                self.index += 1;
            }
            Err(_) => self.failed = true,
        }
        Some(res)
    }
}

/// Parse a whole capture (Ethernet, classic libpcap, either byte order and
/// timestamp resolution). Never panics, whatever the input.
pub fn read_pcap(bytes: &[u8]) -> Result<Vec<PcapRecord>, PcapFormatError> {
    records(bytes)?.map(|r| r.map(|r| r.to_owned())).collect()
}

/// The global header of the files this driver writes.
fn file_header() -> [u8; GLOBAL_HEADER] {
    let mut h = [0u8; GLOBAL_HEADER];
    h[0..4].copy_from_slice(&MAGIC_USEC.to_le_bytes());
    h[4..6].copy_from_slice(&2u16.to_le_bytes());
    h[6..8].copy_from_slice(&4u16.to_le_bytes());
    h[16..20].copy_from_slice(&SNAPLEN.to_le_bytes());
    h[20..24].copy_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
    h
}

/// The deterministic timestamp of record `index`: `index` microseconds
/// after the epoch (seconds 0, microseconds = index, below a million).
fn deterministic_ts(index: u64) -> (u32, u32) {
    ((index / 1_000_000) as u32, (index % 1_000_000) as u32)
}

/// Write one record: `frame`, with an 802.1Q tag of `tci` inserted after
/// the MAC addresses if given.
fn write_record(
    w: &mut impl Write,
    ts: (u32, u32),
    frame: &[u8],
    tci: Option<u16>,
) -> io::Result<()> {
    let tci = tci.filter(|_| frame.len() >= 12);
    let len = (frame.len() + if tci.is_some() { 4 } else { 0 }) as u32;
    let mut h = [0u8; RECORD_HEADER];
    h[0..4].copy_from_slice(&ts.0.to_le_bytes());
    h[4..8].copy_from_slice(&ts.1.to_le_bytes());
    h[8..12].copy_from_slice(&len.to_le_bytes());
    h[12..16].copy_from_slice(&len.to_le_bytes());
    w.write_all(&h)?;
    match tci {
        Some(tci) => {
            let [hi, lo] = tci.to_be_bytes();
            w.write_all(&frame[..12])?;
            w.write_all(&[0x81, 0x00, hi, lo])?;
            w.write_all(&frame[12..])
        }
        None => w.write_all(frame),
    }
}

/// Encode frames as a capture in memory, with deterministic timestamps
/// (record `i` at `i` µs).
pub fn encode_pcap(frames: &[&[u8]]) -> Vec<u8> {
    let mut out = file_header().to_vec();
    for (i, f) in frames.iter().enumerate() {
        let _ = write_record(&mut out, deterministic_ts(i as u64), f, None);
    }
    out
}

/// Write frames to a capture file, with deterministic timestamps (record
/// `i` at `i` µs); for tests and golden files.
pub fn write_pcap(path: impl AsRef<Path>, frames: &[&[u8]]) -> Result<(), PcapError> {
    let path = path.as_ref();
    std::fs::write(path, encode_pcap(frames)).map_err(|source| PcapError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Read a capture file whole.
pub fn read_pcap_file(path: impl AsRef<Path>) -> Result<Vec<PcapRecord>, PcapError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| PcapError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    read_pcap(&bytes).map_err(|source| PcapError::Format {
        path: path.to_path_buf(),
        source,
    })
}

/// How many times queue 0 replays the input file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Repeat {
    /// Once.
    #[default]
    Once,
    /// This many times in all (`Times(0)` sends nothing).
    Times(u64),
    /// Until the port is closed.
    Forever,
}

/// Configuration of a pcap port.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PcapConfig {
    /// Capture to replay as received traffic (queue 0 only).
    pub rx: Option<PathBuf>,
    /// Capture to write transmitted packets to (created or truncated);
    /// without one, transmitted packets are dropped and counted in
    /// `tx_dropped`.
    pub tx: Option<PathBuf>,
    /// How often to replay `rx`.
    pub repeat: Repeat,
    /// Write timestamps `0.000000`, `0.000001`, ... (record index in
    /// microseconds) instead of the system clock, for golden files.
    pub deterministic: bool,
}

/// The input of queue 0: every frame of the file, back to back.
#[derive(Debug)]
struct Replay {
    bytes: Vec<u8>,
    /// (offset, length) of each frame in `bytes`.
    frames: Vec<(usize, usize)>,
    next: usize,
    /// Passes over `frames` still to make, counting the current one
    /// (`None`: forever).
    passes: Option<u64>,
}

impl Replay {
    fn new(file: &[u8], repeat: Repeat) -> Result<Self, PcapFormatError> {
        let mut bytes = Vec::new();
        let mut frames = Vec::new();
        for r in records(file)? {
            let r = r?;
            frames.push((bytes.len(), r.data.len()));
            bytes.extend_from_slice(r.data);
        }
        let passes = match repeat {
            Repeat::Once => Some(1),
            Repeat::Times(n) => Some(n),
            Repeat::Forever => None,
        };
        Ok(Replay {
            bytes,
            frames,
            next: 0,
            passes,
        })
    }

    fn done(&self) -> bool {
        self.frames.is_empty() || self.passes == Some(0)
    }

    /// The frame to send next, if any (not consumed).
    fn peek(&self) -> Option<&[u8]> {
        if self.done() {
            return None;
        }
        let (off, len) = self.frames[self.next];
        Some(&self.bytes[off..off + len])
    }

    fn advance(&mut self) {
        self.next += 1;
        if self.next == self.frames.len() {
            self.next = 0;
            if let Some(p) = &mut self.passes {
                *p -= 1;
            }
        }
    }
}

/// The output file shared by the queues of a port.
#[derive(Debug)]
struct Writer {
    path: PathBuf,
    w: BufWriter<File>,
    /// Records written (the next deterministic timestamp).
    index: u64,
    deterministic: bool,
    /// The first write error, reported by [`PcapPort::finish`].
    error: Option<io::Error>,
}

impl Writer {
    fn flush(&mut self) {
        if let Err(e) = self.w.flush() {
            self.error.get_or_insert(e);
        }
    }
}

/// One queue of a pcap port.
pub struct PcapPort<P: Pool> {
    pool: P,
    queue: usize,
    stats: Arc<QueueStats>,
    input: Option<Replay>,
    output: Option<Arc<Mutex<Writer>>>,
}

impl<P: Pool> std::fmt::Debug for PcapPort<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PcapPort")
            .field("queue", &self.queue)
            .field("frames", &self.input.as_ref().map(|r| r.frames.len()))
            .field("output", &self.output.is_some())
            .finish_non_exhaustive()
    }
}

/// Open a pcap port of `queues` queues: read `cfg.rx` whole (queue 0
/// replays it) and create `cfg.tx` (every queue writes to it).
pub fn open<P: Pool>(
    cfg: &PcapConfig,
    queues: usize,
    pool: P,
) -> Result<Vec<PcapPort<P>>, PcapError> {
    if queues == 0 {
        return Err(PcapError::NoQueues);
    }
    let input = match &cfg.rx {
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|source| PcapError::Io {
                path: path.clone(),
                source,
            })?;
            Some(
                Replay::new(&bytes, cfg.repeat).map_err(|source| PcapError::Format {
                    path: path.clone(),
                    source,
                })?,
            )
        }
        None => None,
    };
    let output = match &cfg.tx {
        Some(path) => {
            let io_err = |source| PcapError::Io {
                path: path.clone(),
                source,
            };
            let mut w = BufWriter::new(File::create(path).map_err(io_err)?);
            w.write_all(&file_header()).map_err(io_err)?;
            Some(Arc::new(Mutex::new(Writer {
                path: path.clone(),
                w,
                index: 0,
                deterministic: cfg.deterministic,
                error: None,
            })))
        }
        None => None,
    };
    let mut input = input;
    Ok((0..queues)
        .map(|q| PcapPort {
            pool: pool.clone(),
            queue: q,
            stats: Arc::default(),
            input: if q == 0 { input.take() } else { None },
            output: output.clone(),
        })
        .collect())
}

impl<P: Pool> PcapPort<P> {
    /// True once this queue has nothing (more) to replay.
    pub fn rx_done(&self) -> bool {
        match &self.input {
            Some(r) => r.done(),
            None => true,
        }
    }

    /// Flush the output and report the first write error, if any.
    pub fn finish(&mut self) -> Result<(), PcapError> {
        let Some(out) = &self.output else {
            return Ok(());
        };
        let mut w = lock(out);
        w.flush();
        match w.error.take() {
            Some(source) => Err(PcapError::Io {
                path: w.path.clone(),
                source,
            }),
            None => Ok(()),
        }
    }
}

fn lock(m: &Mutex<Writer>) -> MutexGuard<'_, Writer> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl<P: Pool> Port<P> for PcapPort<P> {
    fn rx_burst(&mut self, out: &mut Burst<P::Buf>) -> usize {
        let Some(replay) = &mut self.input else {
            return 0;
        };
        let (mut n, mut bytes, mut errors) = (0, 0, 0);
        while !out.is_full() {
            let Some(frame) = replay.peek() else { break };
            if frame.is_empty() || frame.len() > self.pool.data_room() {
                errors += 1;
                replay.advance();
                continue;
            }
            let Some(mut b) = self.pool.alloc() else {
                break;
            };
            if let Some(d) = b.set_len(frame.len()) {
                d.copy_from_slice(frame);
            }
            b.meta_mut().queue = self.queue as u16;
            bytes += frame.len();
            replay.advance();
            out.push(b);
            n += 1;
        }
        if n > 0 {
            self.stats.rx_packets.add(n as u64);
            self.stats.rx_bytes.add(bytes as u64);
        }
        if errors > 0 {
            self.stats.rx_errors.add(errors);
        }
        n
    }

    fn tx_burst(&mut self, pkts: &mut Burst<P::Buf>) -> usize {
        let n = pkts.len();
        if n == 0 {
            return 0;
        }
        let Some(out) = &self.output else {
            pkts.clear();
            self.stats.tx_dropped.add(n as u64);
            return 0;
        };
        let mut w = lock(out);
        let now = if w.deterministic {
            None
        } else {
            let d = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            Some((d.as_secs() as u32, d.subsec_micros()))
        };
        let (mut sent, mut bytes) = (0, 0);
        for p in pkts.iter() {
            let tci = p.vlan();
            let ts = now.unwrap_or_else(|| deterministic_ts(w.index));
            match write_record(&mut w.w, ts, p.data(), tci) {
                Ok(()) => {
                    w.index += 1;
                    sent += 1;
                    bytes += p.len();
                }
                Err(e) => {
                    w.error.get_or_insert(e);
                }
            }
        }
        drop(w);
        pkts.clear();
        self.stats.tx_packets.add(sent as u64);
        self.stats.tx_bytes.add(bytes as u64);
        if sent < n {
            self.stats.tx_dropped.add((n - sent) as u64);
        }
        sent
    }

    fn flush(&mut self) {
        if let Some(out) = &self.output {
            lock(out).flush();
        }
    }

    fn stats(&self) -> &Arc<QueueStats> {
        &self.stats
    }
}

impl<P: Pool> Drop for PcapPort<P> {
    fn drop(&mut self) {
        if let Some(out) = &self.output {
            lock(out).flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_headers() {
        assert_eq!(read_pcap(&[]), Err(PcapFormatError::TooShort(0)));
        let mut h = file_header();
        assert_eq!(read_pcap(&h), Ok(vec![]));
        h[20] = 113; // Linux cooked capture
        assert_eq!(read_pcap(&h), Err(PcapFormatError::LinkType(113)));
        h[20] = 1;
        h[23] = 0x04; // FCS flag
        assert_eq!(read_pcap(&h), Err(PcapFormatError::Fcs));
        let mut h = file_header();
        h[4] = 3;
        assert_eq!(read_pcap(&h), Err(PcapFormatError::Version(3, 4)));
        let mut ng = [0u8; 28];
        ng[..4].copy_from_slice(&PCAPNG_MAGIC.to_le_bytes());
        assert_eq!(read_pcap(&ng), Err(PcapFormatError::Pcapng));
        assert_eq!(read_pcap(&[0; 24]), Err(PcapFormatError::BadMagic(0)));
    }

    #[test]
    fn truncation_is_an_error_at_every_length() {
        let f1 = [1u8; 60];
        let f2 = [2u8; 70];
        let file = encode_pcap(&[&f1, &f2]);
        assert_eq!(read_pcap(&file).unwrap().len(), 2);
        for cut in 0..file.len() {
            let whole = cut == GLOBAL_HEADER || cut == GLOBAL_HEADER + RECORD_HEADER + 60;
            assert_eq!(read_pcap(&file[..cut]).is_ok(), whole, "cut at {cut}");
        }
        let mut huge = file.clone();
        huge[GLOBAL_HEADER + 8..GLOBAL_HEADER + 12]
            .copy_from_slice(&(MAX_CAPLEN + 1).to_le_bytes());
        assert!(matches!(
            read_pcap(&huge),
            Err(PcapFormatError::TooLong { index: 0, .. })
        ));
    }

    #[test]
    fn record_insertion_of_a_tag() {
        let mut out = Vec::new();
        let frame: Vec<u8> = (0..20).collect();
        write_record(&mut out, (1, 2), &frame, Some(0x2064)).unwrap();
        assert_eq!(&out[8..12], &24u32.to_le_bytes());
        assert_eq!(&out[16..28], &frame[..12]);
        assert_eq!(&out[28..32], &[0x81, 0x00, 0x20, 0x64]);
        assert_eq!(&out[32..], &frame[12..]);
    }
}
