//! tcplab: see TCP at work.
//!
//! Frames come from a saved capture or a live interface (`source`), are decoded once
//! into owned TCP segments (`decode`), followed connection by connection with the
//! RFC 9293 state of both ends (`track`), and shown as an annotated timeline, a
//! summary or JSON lines (`render`) in English or Chinese (`i18n`), or drawn
//! by a web page (`serve`). `pipeline` ties
//! one capture's stages together; a replay runs them on three threads joined by
//! `relay`s (reading and decoding, tracking, rendering), live capture on one. Each
//! command lives in its own module.

pub mod chat;
pub mod cli;
pub mod commands;
pub mod decode;
pub mod error;
pub mod i18n;
pub mod inspect;
pub mod kstate;
pub mod lab;
pub mod live;
pub mod manpage;
pub mod numfmt;
pub mod pipeline;
pub mod progress;
pub mod relay;
pub mod render;
pub mod replay;
pub mod serve;
pub mod source;
pub mod track;
pub mod watch;

pub use error::{Error, Result};
