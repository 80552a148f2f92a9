//! Tracking: segments in, conclusions out. Connections by 4-tuple, both ends' RFC 9293
//! states, relative numbers and the document's step labels.

pub mod analysis;
pub mod conn;
pub mod event;
pub mod flags;
pub mod seq;
pub mod state;
pub mod table;
pub mod zeek;

pub use conn::TrackConfig;
pub use event::{
    ConnId, ConnSummary, Differs, Direction, Event, HeaderBytes, KernelCheck, KernelState, Label, Note, Role,
    SegmentEvent, Step, Transition,
};
pub use state::TcpState;
pub use table::Tracker;
