//! Where frames come from: saved capture files, a live interface, or frames built in tests.
//!
//! Every source hands out [`Frame`]s: the bytes of one captured record with its
//! timestamp, its 1-based record number and the capture's link type.

pub mod device_choice;
pub mod file;
pub mod kernel;
pub mod live;
pub mod netstat;
pub mod pcapng;
pub mod privilege;
pub mod procnet;
mod readbuf;
mod records;
pub mod sockdiag;
pub mod tcptable;

/// Capture time, in nanoseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Takes libpcap's `timeval` fields as they are: 64-bit on Linux, 32-bit in part
    /// or whole on macOS and Windows.
    pub fn from_secs_nanos(secs: impl Into<i64>, nanos: impl Into<i64>) -> Timestamp {
        Timestamp(secs.into().saturating_mul(1_000_000_000).saturating_add(nanos.into()))
    }

    /// Seconds elapsed since `earlier` (negative when the capture goes back in time).
    pub fn secs_since(self, earlier: Timestamp) -> f64 {
        self.0.saturating_sub(earlier.0) as f64 / 1e9
    }
}

/// The capture time as Unix seconds with all nine decimals (`1700000000.000000001`),
/// Wireshark's `frame.time_epoch`: exact, where an `f64` keeps only about 16 digits.
impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (secs, nanos) = (self.0.div_euclid(1_000_000_000), self.0.rem_euclid(1_000_000_000));
        write!(f, "{secs}.{nanos:09}")
    }
}

/// The 1-based number of a record in its capture, every record counted (Wireshark's
/// `frame.number`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct FrameNumber(pub u64);

impl std::fmt::Display for FrameNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A libpcap `LINKTYPE_*` value: what the first byte of a record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinkType(pub i32);

/// One captured record.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    pub number: FrameNumber,
    pub ts: Timestamp,
    pub link: LinkType,
    /// Bytes on the wire, as many as the capture kept (may be fewer than `wire_len`).
    pub data: &'a [u8],
    pub wire_len: u32,
}
