//! Arbitrary bytes as a sequence of frames through the whole pipeline (decode, track,
//! render) with every renderer, then `finish`: no panic, text views never write a
//! control character (colour is off), and JSON lines are each valid JSON.
//!
//! Input: byte 0 picks the link type (`common::LINKS`, modulo); byte 1 holds options
//! (bit 0 Chinese, bits 1-2 the TIME-WAIT rule, bit 3 expire TIME-WAITs as live capture
//! does, bit 4 tiny tracker limits so that eviction runs, bit 5 every third frame fails
//! the capture filter); then frames, each a 6-byte header (length u16 LE, time step i32
//! LE in microseconds) and that many bytes (fewer at the end of the input).

#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use std::io::Write;
use tcplab::i18n::{Lang, TimeWaitRule};
use tcplab::pipeline::{Pipeline, SegmentFilter};
use tcplab::render::jsonl::JsonLines;
use tcplab::render::ladder::{Glyphs, Ladder};
use tcplab::render::timeline::Timeline;
use tcplab::render::{Both, Renderer, TextStyle};
use tcplab::source::{Frame, FrameNumber, LinkType, Timestamp};
use tcplab::track::TrackConfig;

struct Input<'a> {
    link: LinkType,
    options: u8,
    frames: Vec<(Timestamp, &'a [u8])>,
}

fn parse(input: &[u8]) -> Option<Input<'_>> {
    let (&selector, rest) = input.split_first()?;
    let (&options, mut rest) = rest.split_first()?;
    let mut frames = Vec::new();
    let mut ts = 1_700_000_000_000_000_000i64;
    while rest.len() >= 6 {
        let len = usize::from(u16::from_le_bytes([rest[0], rest[1]]));
        let step = i32::from_le_bytes([rest[2], rest[3], rest[4], rest[5]]);
        ts = ts.saturating_add(i64::from(step) * 1000);
        let data = &rest[6..];
        let data = &data[..len.min(data.len())];
        frames.push((Timestamp(ts), data));
        rest = &rest[6 + data.len()..];
    }
    Some(Input { link: common::pick_link(selector), options, frames })
}

fn replay(input: &Input<'_>, renderer: &mut dyn Renderer) {
    let o = input.options;
    let mut config = TrackConfig { time_wait_secs: rule(o).secs(), ..TrackConfig::default() };
    if o & 0x10 != 0 {
        config.linger_secs = 1.0;
        config.max_finished = 2;
        config.max_live = 4;
    }
    renderer.begin("fuzz").unwrap();
    let mut pipeline = Pipeline::new(renderer, config, SegmentFilter::default());
    for (i, &(ts, data)) in input.frames.iter().enumerate() {
        let frame = Frame {
            number: FrameNumber(i as u64 + 1),
            ts,
            link: input.link,
            data,
            wire_len: data.len() as u32,
        };
        let passes = o & 0x20 == 0 || i % 3 != 2;
        pipeline.on_frame_if(&frame, passes).unwrap();
        if o & 0x08 != 0 {
            for entered in pipeline.take_time_waits() {
                pipeline.expire_time_wait(&entered, ts).unwrap();
            }
            pipeline.flush().unwrap();
        }
    }
    let truncated = (o & 0x40 != 0).then(|| "truncated dump file".to_string());
    let stats = pipeline.finish("fuzz", truncated).unwrap();
    assert_eq!(stats.frames, input.frames.len() as u64);
}

fn rule(options: u8) -> TimeWaitRule {
    match (options >> 1) & 3 {
        0 => TimeWaitRule::Linux,
        1 => TimeWaitRule::Rfc,
        2 => TimeWaitRule::Custom(0.0),
        _ => TimeWaitRule::Custom(0.5),
    }
}

fuzz_target!(|bytes: &[u8]| {
    let Some(input) = parse(bytes) else { return };
    colored::control::set_override(false);
    let lang = if input.options & 1 != 0 { Lang::Zh } else { Lang::En };
    let style = TextStyle { lang, time_wait: rule(input.options), timeline: true };
    let summary = TextStyle { timeline: false, ..style };

    replay(&input, &mut Timeline::new(common::TerminalSink, style));
    replay(&input, &mut Timeline::new(common::TerminalSink, summary));
    replay(
        &input,
        &mut Both(
            Ladder::new(common::TerminalSink, style, Glyphs::UNICODE),
            Timeline::new(common::TerminalSink, summary),
        ),
    );
    replay(&input, &mut Ladder::new(common::TerminalSink, style, Glyphs::ASCII));

    let mut json = Vec::new();
    replay(&input, &mut JsonLines::new(&mut json));
    let mut sink = std::io::sink();
    for line in json.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let value: serde_json::Value = serde_json::from_slice(line).expect("a JSON line that does not parse");
        assert!(value.get("type").is_some(), "a JSON line without a type");
        sink.write_all(line).unwrap();
    }
});
