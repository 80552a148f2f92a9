//! Classic pcap records read straight from the file through one large buffer.
//!
//! libpcap reads a record with two `fread`s and copies it once more; for a capture of
//! millions of small packets that was a sixth of everything `--summary` did. This
//! reader takes only the ordinary case: a classic pcap file (micro- or nanosecond,
//! either byte order, version 2.4) whose records are whole, within the snap length
//! and with sane timestamps. At the first record that is anything else (and at a
//! damaged end), it says so, and [`FileSource`](super::file::FileSource) lets libpcap
//! take over from that record, so that odd files are read, and reported, exactly as
//! libpcap reads them.

use std::fs::File;
use std::io::Read;
use std::path::Path;

/// Bytes read from the file at a time.
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
    file: File,
    buf: Vec<u8>,
    /// The unread bytes are `buf[pos..end]`.
    pos: usize,
    end: usize,
    swapped: bool,
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
        let word = |at: usize| [header[at], header[at + 1], header[at + 2], header[at + 3]];
        let (swapped, nanosecond) = match u32::from_le_bytes(word(0)) {
            0xa1b2_c3d4 => (false, false),
            0xa1b2_3c4d => (false, true),
            0xd4c3_b2a1 => (true, false),
            0x4d3c_b2a1 => (true, true),
            _ => return None,
        };
        // `swapped`: the file's byte order is not this machine's (little-endian) one.
        let u32_at = |at: usize| {
            if swapped { u32::from_be_bytes(word(at)) } else { u32::from_le_bytes(word(at)) }
        };
        let version = u32_at(4);
        let (major, minor) = if swapped {
            (u16::from_be_bytes([header[4], header[5]]), u16::from_be_bytes([header[6], header[7]]))
        } else {
            (version as u16, (version >> 16) as u16)
        };
        let snaplen = u32_at(16);
        if (major, minor) != (2, 4) || snaplen == 0 || snaplen > MAX_SNAPLEN {
            return None;
        }
        Some(Records { file, buf: vec![0; CHUNK], pos: 0, end: 0, swapped, nanosecond, snaplen })
    }

    /// Makes at least `want` unread bytes available if the file has them; returns how
    /// many there are (fewer at the end of the file).
    fn fill(&mut self, want: usize) -> std::io::Result<usize> {
        if self.end - self.pos >= want {
            return Ok(self.end - self.pos);
        }
        self.buf.copy_within(self.pos..self.end, 0);
        self.end -= self.pos;
        self.pos = 0;
        if self.buf.len() < want {
            self.buf.resize(want, 0);
        }
        while self.end < want {
            match self.file.read(&mut self.buf[self.end..]) {
                Ok(0) => break,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.end)
    }

    pub fn next(&mut self) -> Next<'_> {
        match self.fill(16) {
            Ok(0) => return Next::End,
            Ok(n) if n >= 16 => {}
            _ => return Next::HandOver,
        }
        let h = &self.buf[self.pos..self.pos + 16];
        let field = |i: usize| {
            let bytes = [h[i * 4], h[i * 4 + 1], h[i * 4 + 2], h[i * 4 + 3]];
            if self.swapped { u32::from_be_bytes(bytes) } else { u32::from_le_bytes(bytes) }
        };
        let (secs, frac, caplen, wire_len) = (field(0), field(1), field(2), field(3));
        let frac_limit = if self.nanosecond { 1_000_000_000 } else { 1_000_000 };
        // libpcap reads times as signed 32-bit numbers and cuts records beyond the
        // snap length: leave such records to it.
        if secs > i32::MAX as u32 || frac >= frac_limit || caplen > self.snaplen {
            return Next::HandOver;
        }
        let total = 16 + caplen as usize;
        match self.fill(total) {
            Ok(n) if n >= total => {}
            _ => return Next::HandOver,
        }
        let start = self.pos + 16;
        self.pos += total;
        Next::Record(Record {
            secs: i64::from(secs),
            nanos: if self.nanosecond { i64::from(frac) } else { i64::from(frac) * 1000 },
            wire_len,
            data: &self.buf[start..start + caplen as usize],
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
        let mut capture = pcap::Capture::from_file_with_precision(path, pcap::Precision::Nano).unwrap();
        let mut all = Vec::new();
        while let Ok(p) = capture.next_packet() {
            all.push((p.header.ts.tv_sec, p.header.ts.tv_usec, p.header.len, p.data.to_vec()));
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
