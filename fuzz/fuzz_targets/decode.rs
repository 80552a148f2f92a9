//! Arbitrary bytes as one captured frame of every link type tcplab reads: `decode`
//! (and the header anatomy of `inspect`) must return, never panic.
//!
//! Input: the first byte picks the link type (`common::LINKS`, modulo), the rest is
//! the frame.

#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use tcplab::decode::anatomy::Anatomy;
use tcplab::decode::{Decoded, PAYLOAD_PREVIEW, decode};
use tcplab::source::{Frame, FrameNumber, Timestamp};

fuzz_target!(|input: &[u8]| {
    let Some((&selector, data)) = input.split_first() else { return };
    let frame = Frame {
        number: FrameNumber(1),
        ts: Timestamp(0),
        link: common::pick_link(selector),
        data,
        wire_len: data.len() as u32,
    };
    if let Ok(Decoded::Tcp(seg)) = decode(&frame) {
        assert!(seg.payload.len() <= PAYLOAD_PREVIEW);
        assert!(seg.payload.len() as u64 <= u64::from(seg.payload_len));
        assert!(usize::from(seg.header_len) >= 20 && seg.header_len <= 60);
        let _ = seg.seq_len();
    }
    if let Some(anatomy) = Anatomy::of(&frame) {
        assert!(anatomy.tcp_offset + anatomy.tcp_header.len() <= data.len());
    }
});
