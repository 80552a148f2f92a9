//! Arbitrary bytes as a capture file, read the way `tcplab replay` reads one:
//! `FileSource::open` (libpcap), then every record through decoding and the pipeline.
//! Opening may fail and reading may end early; neither may panic or allocate without
//! bound (libFuzzer's -rss_limit_mb and -malloc_limit_mb catch that).

#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::OnceLock;
use tcplab::decode::anatomy::Anatomy;
use tcplab::decode::decode;
use tcplab::pipeline::{Pipeline, SegmentFilter};
use tcplab::render::jsonl::JsonLines;
use tcplab::render::timeline::Timeline;
use tcplab::render::{Renderer, TextStyle};
use tcplab::source::file::FileSource;
use tcplab::track::TrackConfig;

/// One file per fuzzing process, rewritten for every input (in RAM when /dev/shm exists).
fn path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let shm = PathBuf::from("/dev/shm");
        let dir = if shm.is_dir() { shm } else { std::env::temp_dir() };
        dir.join(format!("tcplab-fuzz-{}.pcap", std::process::id()))
    })
}

fuzz_target!(|data: &[u8]| {
    colored::control::set_override(false);
    let path = path();
    std::fs::write(path, data).unwrap();
    let Ok(mut source) = FileSource::open(path, None) else { return };
    let style = TextStyle {
        lang: tcplab::i18n::Lang::En,
        time_wait: tcplab::i18n::TimeWaitRule::Linux,
        timeline: true,
    };
    let mut text = Timeline::new(common::TerminalSink, style);
    let mut json = JsonLines::new(std::io::sink());
    text.begin("fuzz").unwrap();
    json.begin("fuzz").unwrap();
    let mut text_pipeline = Pipeline::new(&mut text, TrackConfig::default(), SegmentFilter::default());
    let mut json_pipeline = Pipeline::new(&mut json, TrackConfig::default(), SegmentFilter::default());
    let mut records = 0u64;
    let end = source.for_each(|frame, passes| {
        records += 1;
        assert_eq!(frame.number.0, records);
        let _ = decode(frame);
        let _ = Anatomy::of(frame);
        text_pipeline.on_frame_if(frame, passes).unwrap();
        json_pipeline.on_frame_if(frame, passes).unwrap();
        true
    });
    let truncated = end.truncation();
    let stats = text_pipeline.finish("fuzz", truncated.clone()).unwrap();
    assert_eq!(stats.frames, records);
    json_pipeline.finish("fuzz", truncated).unwrap();
});
