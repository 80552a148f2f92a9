//! The connection table: which [`Conn`] a segment belongs to, by its 4-tuple.

use super::conn::{Conn, TrackConfig};
use super::event::{ConnId, Event, Note};
use crate::decode::Segment;
use crate::source::FrameNumber;
use std::collections::HashMap;
use std::net::SocketAddr;

/// Both endpoints, in a fixed order so that both directions find the same entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct FlowKey(SocketAddr, SocketAddr);

impl FlowKey {
    fn of(seg: &Segment) -> FlowKey {
        if seg.src <= seg.dst { FlowKey(seg.src, seg.dst) } else { FlowKey(seg.dst, seg.src) }
    }
}

/// Every connection seen, in order of first appearance.
#[derive(Debug, Default)]
pub struct Tracker {
    config: TrackConfig,
    by_flow: HashMap<FlowKey, usize>,
    conns: Vec<Conn>,
}

impl Tracker {
    pub fn new(config: TrackConfig) -> Tracker {
        Tracker { config, by_flow: HashMap::new(), conns: Vec::new() }
    }

    pub fn config(&self) -> &TrackConfig {
        &self.config
    }

    /// Follows one segment; what it shows is appended to `out`.
    pub fn on_segment(&mut self, seg: &Segment, frame: FrameNumber, ts: f64, out: &mut Vec<Event>) {
        let key = FlowKey::of(seg);
        let existing = self.by_flow.get(&key).copied();
        let index = match existing {
            Some(i) if !self.conns[i].is_reopened_by(seg) => i,
            _ => {
                let id = ConnId(self.conns.len() as u32);
                self.conns.push(Conn::new(id, seg, frame, ts));
                self.by_flow.insert(key, self.conns.len() - 1);
                self.conns.len() - 1
            }
        };
        let start = out.len();
        let cfg = self.config;
        self.conns[index].on_segment(seg, frame, ts, &cfg, out);
        if existing.is_some()
            && existing != Some(index)
            && let Some(super::Event::Segment(ev)) = out.get_mut(start)
        {
            ev.notes.push(Note::PortsReused);
        }
    }

    /// Ends the TIME-WAIT of `role` in connection `conn` (its timer ran out).
    pub fn expire_time_wait(&mut self, conn: ConnId, role: super::Role, ts: f64, out: &mut Vec<Event>) {
        if let Some(c) = self.conns.get_mut(conn.0 as usize) {
            out.extend(c.expire_time_wait(role, ts).map(Event::Transition));
        }
    }

    pub fn connections(&self) -> &[Conn] {
        &self.conns
    }

    /// The summaries of all connections, in order, for the end of the input.
    pub fn finish(&self, out: &mut Vec<Event>) {
        out.extend(self.conns.iter().map(|c| Event::Connection(c.summary())));
    }
}
