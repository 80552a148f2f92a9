//! The progress bar of a long replay: how far into the file, packets, connections
//! and packets per second, on stderr.
//!
//! It is shown only where someone watches it and nothing else is drawn over it:
//! stderr is a terminal, stdout is not (the timeline or summary goes to a file or a
//! pipe), the replay is not paced (`--step`, `--quiz` and `--speed` talk on stderr),
//! and the file is big enough to take a while. It is redrawn every few thousand
//! packets, so that following it costs one comparison per packet.

use crate::i18n::{Lang, Msg};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

/// Files smaller than this replay in a blink; no bar.
pub const MIN_FILE_BYTES: u64 = 16 << 20;

/// Packets between two updates.
const EVERY: u64 = 4096;

/// Size of the classic pcap file header and of each record header: the bar counts
/// them so that it reaches the file's end (pcapng blocks are a little bigger, so
/// there it stops a little short).
const FILE_HEADER: u64 = 24;
const RECORD_HEADER: u64 = 16;

/// Whether a replay should show a bar, from where its output goes.
pub fn wanted(paced: bool) -> bool {
    !paced && std::io::stderr().is_terminal() && !std::io::stdout().is_terminal()
}

/// The bar of one file, or nothing.
pub struct Progress {
    bar: Option<ProgressBar>,
    lang: Lang,
    frames: u64,
    bytes: u64,
    next_update: u64,
}

impl Progress {
    /// A bar for a file of `size` bytes when `wanted` and the file is big.
    pub fn new(size: u64, wanted: bool, lang: Lang) -> Progress {
        let bar = (wanted && size >= MIN_FILE_BYTES).then(|| {
            let style =
                ProgressStyle::with_template("{spinner} [{wide_bar}] {percent:>3}% {binary_bytes} · {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> ");
            ProgressBar::with_draw_target(Some(size), ProgressDrawTarget::stderr()).with_style(style)
        });
        Progress { bar, lang, frames: 0, bytes: FILE_HEADER, next_update: EVERY }
    }

    /// Counts one record of `captured` bytes; every [`EVERY`] records the bar is
    /// redrawn with the number of connections `connections` gives.
    #[inline]
    pub fn record(&mut self, captured: usize, connections: impl FnOnce() -> u64) {
        self.frames += 1;
        self.bytes += RECORD_HEADER + captured as u64;
        if self.frames >= self.next_update {
            self.next_update = self.frames + EVERY;
            self.update(connections());
        }
    }

    fn update(&self, connections: u64) {
        let Some(bar) = &self.bar else { return };
        let secs = bar.elapsed().as_secs_f64();
        let per_sec = if secs > 0.0 { self.frames as f64 / secs } else { 0.0 };
        bar.set_position(self.bytes.min(bar.length().unwrap_or(u64::MAX)));
        bar.set_message(self.lang.text(&Msg::Progress { frames: self.frames, connections, per_sec }));
    }

    /// Removes the bar: what the replay printed is what stays.
    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}
