//! From the kernel's monotonic clock to the capture's clock. The tracepoint stamps its
//! events with `CLOCK_MONOTONIC` (the instance's `trace_clock` is set to `mono`);
//! libpcap stamps packets with `CLOCK_REALTIME`. Both count the same ticks and differ
//! by an offset that only a step of the wall clock (`settimeofday`, an NTP step)
//! changes, so the offset is measured once, at the start.

use crate::source::Timestamp;

/// `CLOCK_REALTIME − CLOCK_MONOTONIC`, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonoToReal(pub i64);

impl MonoToReal {
    /// Measures the offset: the monotonic clock read between two reads of the wall
    /// clock, the tightest of a few tries, so that it is exact to about a microsecond.
    #[cfg(unix)]
    pub fn measure() -> MonoToReal {
        // `time_t` and `c_long` are 32 bits on some targets: the conversions are kept.
        #[allow(clippy::useless_conversion)]
        let read = |clock| {
            let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
            // SAFETY: `ts` is a valid timespec for the call to fill.
            unsafe { libc::clock_gettime(clock, &mut ts) };
            i64::from(ts.tv_sec).saturating_mul(1_000_000_000).saturating_add(i64::from(ts.tv_nsec))
        };
        let mut best = (i64::MAX, 0);
        for _ in 0..5 {
            let before = read(libc::CLOCK_REALTIME);
            let mono = read(libc::CLOCK_MONOTONIC);
            let after = read(libc::CLOCK_REALTIME);
            let gap = after - before;
            if gap < best.0 {
                best = (gap, before + gap / 2 - mono);
            }
        }
        MonoToReal(best.1)
    }

    /// A monotonic reading, in nanoseconds, on the capture's clock.
    pub fn real(self, mono_nanos: i64) -> Timestamp {
        Timestamp(mono_nanos.saturating_add(self.0))
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn the_offset_maps_now_to_now() {
        let offset = MonoToReal::measure();
        let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: as above.
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
        let mono = ts.tv_sec * 1_000_000_000 + ts.tv_nsec;
        let wall =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as i64;
        assert!((offset.real(mono).0 - wall).abs() < 5_000_000);
    }
}
