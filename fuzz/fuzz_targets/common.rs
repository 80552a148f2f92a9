//! What the three fuzz targets share: the link types to try and a sink that checks
//! that no text view ever writes a terminal control character.

#![allow(dead_code)]

use std::io::{self, Write};
use tcplab::decode::link;
use tcplab::source::LinkType;

/// Every link type tcplab decodes; the fuzz input's first byte picks one (modulo).
pub const LINKS: [LinkType; 10] = [
    link::NULL,
    link::ETHERNET,
    link::RAW_12,
    link::RAW_14,
    link::RAW,
    link::LOOP,
    link::LINUX_SLL,
    link::IPV4,
    link::IPV6,
    link::LINUX_SLL2,
];

pub fn pick_link(selector: u8) -> LinkType {
    LINKS[usize::from(selector) % LINKS.len()]
}

/// Characters that must never reach a terminal from a text view run without colour:
/// C0 controls but the newline, DEL, C1 controls, and the bidi overrides and isolates.
pub fn is_unsafe(c: char) -> bool {
    (c.is_control() && c != '\n')
        || matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Like `std::io::sink()`, but panics (a fuzzer finding) on unsafe output.
/// Every `write!` piece is a whole `str`, so each buffer is checked as UTF-8.
pub struct TerminalSink;

impl Write for TerminalSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = std::str::from_utf8(buf).expect("a text view wrote invalid UTF-8");
        if let Some(c) = text.chars().find(|&c| is_unsafe(c)) {
            panic!("a text view wrote the control character {c:?} in {text:?}");
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
