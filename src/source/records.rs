//! Classic pcap records parsed by `pcap-file` out of one large read buffer.
//!
//! libpcap reads a record with two `fread`s and copies it once more; for a capture of
//! millions of small packets that was a sixth of everything `--summary` did. Here
//! pcap-file's zero-copy parser splits records out of a 1 MiB buffer, and only the
//! ordinary case is taken: a classic pcap file (micro- or nanosecond, either byte
//! order, version 2.4) whose records are whole, within the snap length and with sane
//! timestamps. At the first record that is anything else (and at a damaged end), it
//! says so, and [`FileSource`](super::file::FileSource) lets libpcap take over from
//! that record, so that odd files are read, and reported, exactly as libpcap reads
//! them.

use super::readbuf::ReadBuf;
use pcap_file::PcapError;
use pcap_file::TsResolution;
use pcap_file::pcap::PcapParser;
use std::fs::File;
use std::io::Read;
use std::path::Path;

/// Bytes read from the file at a time; larger than any record within the snap length.
const CHUNK: usize = 1 << 20;
/// libpcap's largest snap length for the link types tcplab reads.
const MAX_SNAPLEN: u32 = 262_144;

/// One record: when, how long on the wire, and the bytes kept.
pub struct Record<'a> {
    pub secs: i64,
    pub nanos: i64,
    pub wire_len: u32,
    pub data: &'a [u8],
}

/// What the next read found.
pub enum Next<'a> {
    Record(Record<'a>),
    /// The file ended cleanly, after a whole record.
    End,
    /// Not an ordinary record (or an error): libpcap should read from here on.
    HandOver,
}

pub struct Records {
    input: ReadBuf,
    parser: PcapParser,
    nanosecond: bool,
    snaplen: u32,
}

impl Records {
    /// A reader positioned at the first record, or `None` when the file is not an
    /// ordinary classic pcap (pcapng, another version, an odd snap length…).
    pub fn open(path: &Path) -> Option<Records> {
        let mut file = File::open(path).ok()?;
        let mut header = [0u8; 24];
        file.read_exact(&mut header).ok()?;
        // pcap-file knows the four magic numbers (pcapng's is none of them); the
        // version and snap length are checked here, since libpcap is stricter.
        let (_, parser) = PcapParser::new(&header).ok()?;
        let h = parser.header();
        if (h.version_major, h.version_minor) != (2, 4) || h.snaplen == 0 || h.snaplen > MAX_SNAPLEN {
            return None;
        }
        let nanosecond = h.ts_resolution == TsResolution::NanoSecond;
        Some(Records { input: ReadBuf::new(file, CHUNK), parser, nanosecond, snaplen: h.snaplen })
    }

    pub fn next(&mut self) -> Next<'_> {
        // pcap-file answers IncompleteBuffer until the whole record is buffered; a
        // record that still does not fit a full buffer is beyond any snap length.
        let packet = loop {
            // The fields, not `unread()`: the packet borrows the buffer alone, so that
            // the position can move on below.
            let (pos, end) = (self.input.pos, self.input.end);
            match self.parser.next_raw_packet(&self.input.buf[pos..end]) {
                Ok((_, packet)) => break packet,
                Err(PcapError::IncompleteBuffer) => match self.input.refill() {
                    Ok(true) => {}
                    Ok(false) if self.input.unread().is_empty() => return Next::End,
                    _ => return Next::HandOver,
                },
                Err(_) => return Next::HandOver,
            }
        };
        let frac_limit = if self.nanosecond { 1_000_000_000 } else { 1_000_000 };
        // libpcap reads times as signed 32-bit numbers and cuts records beyond the
        // snap length: leave such records to it.
        if packet.ts_sec > i32::MAX as u32 || packet.ts_frac >= frac_limit || packet.incl_len > self.snaplen {
            return Next::HandOver;
        }
        // The record is borrowed from `buf`; its bytes are found again by length so
        // that the borrow of the parser's answer ends here.
        let start = self.input.pos + 16;
        let len = packet.incl_len as usize;
        self.input.pos = start + len;
        Next::Record(Record {
            secs: i64::from(packet.ts_sec),
            nanos: if self.nanosecond { i64::from(packet.ts_frac) } else { i64::from(packet.ts_frac) * 1000 },
            wire_len: packet.orig_len,
            data: &self.input.buf[start..start + len],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A classic pcap of three records in either byte order and time resolution.
    fn pcap(big_endian: bool, nanosecond: bool) -> Vec<u8> {
        let u32b = |v: u32| if big_endian { v.to_be_bytes() } else { v.to_le_bytes() };
        let u16b = |v: u16| if big_endian { v.to_be_bytes() } else { v.to_le_bytes() };
        let mut out = Vec::new();
        out.extend(u32b(if nanosecond { 0xa1b2_3c4d } else { 0xa1b2_c3d4 }));
        out.extend(u16b(2));
        out.extend(u16b(4));
        out.extend([0; 8]);
        out.extend(u32b(65535));
        out.extend(u32b(1));
        for i in 0..3u32 {
            let data = vec![i as u8; 20 + i as usize];
            for word in [1_700_000_000 + i, 999 * (i + 1), data.len() as u32, 60] {
                out.extend(u32b(word));
            }
            out.extend(&data);
        }
        out
    }

    /// What libpcap makes of the same file: (secs, nanos, wire length, bytes).
    fn by_libpcap(path: &Path) -> Vec<(i64, i64, u32, Vec<u8>)> {
        // timeval's fields are narrower than i64 on some systems (macOS, Windows).
        fn wide(field: impl Into<i64>) -> i64 {
            field.into()
        }
        let mut capture = pcap::Capture::from_file_with_precision(path, pcap::Precision::Nano).unwrap();
        let mut all = Vec::new();
        while let Ok(p) = capture.next_packet() {
            all.push((wide(p.header.ts.tv_sec), wide(p.header.ts.tv_usec), p.header.len, p.data.to_vec()));
        }
        all
    }

    #[test]
    fn records_are_read_as_libpcap_reads_them() {
        for (big_endian, nanosecond) in [(false, false), (false, true), (true, false), (true, true)] {
            let mut file = tempfile::NamedTempFile::new().unwrap();
            std::io::Write::write_all(&mut file, &pcap(big_endian, nanosecond)).unwrap();
            let mut records = Records::open(file.path()).expect("an ordinary pcap");
            let mut ours = Vec::new();
            while let Next::Record(r) = records.next() {
                ours.push((r.secs, r.nanos, r.wire_len, r.data.to_vec()));
            }
            assert!(matches!(records.next(), Next::End));
            assert_eq!(ours, by_libpcap(file.path()), "big-endian {big_endian}, ns {nanosecond}");
        }
    }

    #[test]
    fn a_cut_record_is_handed_to_libpcap() {
        let mut bytes = pcap(false, false);
        bytes.truncate(bytes.len() - 5);
        let mut file = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut file, &bytes).unwrap();
        let mut records = Records::open(file.path()).unwrap();
        assert!(matches!(records.next(), Next::Record(_)));
        assert!(matches!(records.next(), Next::Record(_)));
        assert!(matches!(records.next(), Next::HandOver));
    }
}
