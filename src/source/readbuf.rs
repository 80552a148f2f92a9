//! A capture file read through one large buffer, for the parsers that split records
//! out of it in place (classic pcap in `records`, pcapng in `pcapng`).

use std::fs::File;
use std::io::Read;

/// The file and its buffer; the unread bytes are `buf[pos..end]`.
pub(super) struct ReadBuf {
    pub file: File,
    pub buf: Vec<u8>,
    pub pos: usize,
    pub end: usize,
}

impl ReadBuf {
    pub fn new(file: File, capacity: usize) -> ReadBuf {
        ReadBuf { file, buf: vec![0; capacity], pos: 0, end: 0 }
    }

    /// The bytes read and not yet taken.
    pub fn unread(&self) -> &[u8] {
        &self.buf[self.pos..self.end]
    }

    /// Moves the unread bytes to the front and reads until the buffer is full or the
    /// file ends; returns whether anything new was read.
    pub fn refill(&mut self) -> std::io::Result<bool> {
        self.buf.copy_within(self.pos..self.end, 0);
        self.end -= self.pos;
        self.pos = 0;
        let before = self.end;
        while self.end < self.buf.len() {
            match self.file.read(&mut self.buf[self.end..]) {
                Ok(0) => break,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.end > before)
    }

    /// Like [`ReadBuf::refill`], doubling the buffer first (up to `most` bytes) when
    /// the unread bytes fill it: a record larger than the buffer still fits.
    pub fn grow_and_refill(&mut self, most: usize) -> std::io::Result<bool> {
        if self.pos == 0 && self.end == self.buf.len() {
            let bigger = (self.buf.len() * 2).min(most);
            self.buf.resize(bigger, 0);
        }
        self.refill()
    }
}
