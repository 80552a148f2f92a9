//! Saved captures (`.pcap`, `.pcapng`) read record by record: classic pcap through
//! libpcap, whose ordinary records are parsed by pcap-file (see `records`); pcapng by
//! pcap-file, interface by interface (see `pcapng`).

use super::pcapng::{NgNext, NgRecords};
use super::records::{Next, Records};
use super::{Frame, FrameNumber, LinkType, Timestamp};
use crate::decode::link;
use crate::error::{Error, Result};
use pcap::{Capture, Offline, Precision};
use std::path::{Path, PathBuf};

/// How reading a file ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadEnd {
    /// Every record was read.
    Complete,
    /// The file stops in the middle of a record (or is otherwise damaged from there
    /// on); everything before it was delivered. libpcap's words.
    Truncated(String),
}

impl ReadEnd {
    /// libpcap's words for where the file was cut, if it was.
    pub fn truncation(self) -> Option<String> {
        match self {
            ReadEnd::Complete => None,
            ReadEnd::Truncated(reason) => Some(reason),
        }
    }
}

/// An open capture file.
pub struct FileSource {
    reader: Reader,
    filter: Filter,
    path: PathBuf,
}

enum Reader {
    /// Classic pcap: one link type for the whole file.
    Classic { capture: Capture<Offline>, link: LinkType },
    /// pcapng: a link type for each interface.
    Ng(NgRecords),
}

/// The `-f` BPF expression, compiled for each link type it meets: a pcapng file's
/// interfaces may differ, and a BPF program is written for one link-layer header.
struct Filter {
    expr: Option<String>,
    programs: Vec<(LinkType, Option<pcap::BpfProgram>)>,
}

impl Filter {
    fn passes(&mut self, link: LinkType, data: &[u8]) -> bool {
        let Some(expr) = &self.expr else { return true };
        let at = match self.programs.iter().position(|(l, _)| *l == link) {
            Some(at) => at,
            None => {
                // An expression that means nothing on this link type (say `ether host`
                // on raw IP) lets none of its frames through, as tcpdump would refuse it.
                let program =
                    Capture::dead(pcap::Linktype(link.0)).ok().and_then(|c| c.compile(expr, true).ok());
                self.programs.push((link, program));
                self.programs.len() - 1
            }
        };
        self.programs[at].1.as_ref().is_some_and(|p| p.filter(data))
    }
}

impl FileSource {
    /// Opens `path`; `filter` is a BPF expression applied to each record, so that
    /// frame numbers still count every record of the file.
    pub fn open(path: &Path, filter: Option<&str>) -> Result<FileSource> {
        let capture = if is_stdin(path) {
            // A stream: libpcap reads it as it comes, pcap or pcapng.
            open_stdin()?
        } else {
            if let Err(e) = std::fs::metadata(path) {
                return Err(Error::Open { path: path.to_owned(), reason: e.to_string() });
            }
            match NgRecords::open(path) {
                Err(e) => return Err(Error::Open { path: path.to_owned(), reason: e.to_string() }),
                Ok(Some(Err(reason))) => return Err(Error::Open { path: path.to_owned(), reason }),
                Ok(Some(Ok(records))) => {
                    // The expression is checked once here (on Ethernet), so that a typo is
                    // an error before anything is read.
                    if let Some(expr) = filter {
                        Capture::dead(pcap::Linktype(1))
                            .and_then(|c| c.compile(expr, true))
                            .map_err(|e| Error::Filter { expr: expr.to_owned(), reason: e.to_string() })?;
                    }
                    let filter = Filter { expr: filter.map(str::to_owned), programs: Vec::new() };
                    return Ok(FileSource { reader: Reader::Ng(records), filter, path: path.to_owned() });
                }
                Ok(None) => {}
            }
            Capture::from_file_with_precision(path, Precision::Nano)
                .map_err(|e| Error::Open { path: path.to_owned(), reason: explain_open_error(&e) })?
        };
        let link = LinkType(capture.get_datalink().0);
        if !link::is_supported(link) {
            return Err(Error::UnsupportedLink {
                path: path.to_owned(),
                link: link.0,
                name: pcap::Linktype(link.0).get_name().unwrap_or_else(|_| "unknown".into()),
            });
        }
        let programs = match filter {
            Some(expr) => vec![(
                link,
                Some(
                    capture
                        .compile(expr, true)
                        .map_err(|e| Error::Filter { expr: expr.to_owned(), reason: e.to_string() })?,
                ),
            )],
            None => Vec::new(),
        };
        let filter = Filter { expr: filter.map(str::to_owned), programs };
        Ok(FileSource { reader: Reader::Classic { capture, link }, filter, path: path.to_owned() })
    }

    /// Hands every record to `each` in file order, with whether it passes the filter,
    /// until `each` returns `false`. Records that fail the filter still count: frame
    /// numbers and times stay those of the file.
    pub fn for_each(&mut self, mut each: impl FnMut(&Frame<'_>, bool) -> bool) -> ReadEnd {
        let (capture, link) = match &mut self.reader {
            Reader::Classic { capture, link } => (capture, *link),
            Reader::Ng(records) => return for_each_ng(records, &mut self.filter, each),
        };
        let filter = &mut self.filter;
        let mut number = 0u64;
        // Standard input is a stream that libpcap already reads from.
        let records = if is_stdin(&self.path) { None } else { Records::open(&self.path) };
        if let Some(mut records) = records {
            loop {
                match records.next() {
                    Next::Record(record) => {
                        number += 1;
                        let passes = filter.passes(link, record.data);
                        let frame = Frame {
                            number: FrameNumber(number),
                            ts: Timestamp::from_secs_nanos(record.secs, record.nanos),
                            link,
                            data: record.data,
                            wire_len: record.wire_len,
                        };
                        if !each(&frame, passes) {
                            return ReadEnd::Complete;
                        }
                    }
                    Next::End => return ReadEnd::Complete,
                    Next::HandOver => break,
                }
            }
        }
        // libpcap reads the rest: it first passes over the records already delivered.
        let mut skip = number;
        loop {
            match capture.next_packet() {
                Ok(_) if skip > 0 => skip -= 1,
                Ok(packet) => {
                    number += 1;
                    let passes = filter.passes(link, packet.data);
                    let ts = Timestamp::from_secs_nanos(packet.header.ts.tv_sec, packet.header.ts.tv_usec);
                    let frame = Frame {
                        number: FrameNumber(number),
                        ts,
                        link,
                        data: packet.data,
                        wire_len: packet.header.len,
                    };
                    if !each(&frame, passes) {
                        return ReadEnd::Complete;
                    }
                }
                Err(pcap::Error::NoMorePackets) => return ReadEnd::Complete,
                Err(e) => return ReadEnd::Truncated(e.to_string()),
            }
        }
    }
}

/// `-` names standard input, as it does for tcpdump (`tcpdump -w - | tcplab replay -`).
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// A capture read from standard input as it arrives.
#[cfg(unix)]
fn open_stdin() -> Result<Capture<Offline>> {
    use std::os::fd::{AsFd, IntoRawFd};
    let stdin = Path::new("(standard input)");
    let fd = std::io::stdin()
        .as_fd()
        .try_clone_to_owned()
        .map_err(|e| Error::Open { path: stdin.to_owned(), reason: e.to_string() })?
        .into_raw_fd();
    // SAFETY: `fd` is a fresh duplicate of standard input that nothing else owns;
    // libpcap closes it with the capture.
    unsafe { Capture::from_raw_fd_with_precision(fd, Precision::Nano) }
        .map_err(|e| Error::Open { path: stdin.to_owned(), reason: explain_open_error(&e) })
}

#[cfg(not(unix))]
fn open_stdin() -> Result<Capture<Offline>> {
    Err(Error::Open {
        path: "(standard input)".into(),
        reason: "reading a capture from standard input works on Unix only; save it to a file first".into(),
    })
}

/// [`FileSource::for_each`] for pcapng: each record with its own interface's link type.
fn for_each_ng(
    records: &mut NgRecords,
    filter: &mut Filter,
    mut each: impl FnMut(&Frame<'_>, bool) -> bool,
) -> ReadEnd {
    let mut number = 0u64;
    loop {
        match records.next_record() {
            NgNext::Record(record) => {
                number += 1;
                let passes = filter.passes(record.link, record.data);
                let frame = Frame {
                    number: FrameNumber(number),
                    ts: record.ts,
                    link: record.link,
                    data: record.data,
                    wire_len: record.wire_len,
                };
                if !each(&frame, passes) {
                    return ReadEnd::Complete;
                }
            }
            NgNext::End => return ReadEnd::Complete,
            NgNext::Damaged(why) => return ReadEnd::Truncated(why),
        }
    }
}

fn explain_open_error(e: &pcap::Error) -> String {
    let text = e.to_string();
    if text.contains("unknown file format") {
        "not a pcap or pcapng capture (unknown file format)".to_string()
    } else if text.contains("truncated") {
        format!("the file ends inside its header ({text})")
    } else {
        text
    }
}
