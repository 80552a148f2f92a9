//! The connection table: which [`Conn`] a segment belongs to, by its 4-tuple, and
//! when a connection is old enough to be summarised and forgotten, so that memory
//! stays bounded on captures of any length and under a SYN flood.

use super::conn::{Conn, TrackConfig};
use super::event::{ConnId, Event, Note};
use crate::decode::Segment;
use crate::source::FrameNumber;
use rustc_hash::FxHashMap;
use std::collections::VecDeque;
use std::net::SocketAddr;

/// Both endpoints, in a fixed order so that both directions find the same entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct FlowKey(SocketAddr, SocketAddr);

impl FlowKey {
    fn of(seg: &Segment) -> FlowKey {
        FlowKey::of_endpoints(seg.src, seg.dst)
    }

    fn of_endpoints(a: SocketAddr, b: SocketAddr) -> FlowKey {
        if a <= b { FlowKey(a, b) } else { FlowKey(b, a) }
    }
}

/// The connections being followed, with what it takes to forget them in time.
#[derive(Debug, Default)]
pub struct Tracker {
    config: TrackConfig,
    by_flow: FxHashMap<FlowKey, ConnId>,
    /// Boxed, so that growing the map moves pointers, not connections.
    live: FxHashMap<ConnId, Box<Conn>>,
    next_id: u32,
    /// Finished connections, oldest first, with the capture time they finished.
    finished: VecDeque<(ConnId, f64)>,
    /// Connections that began with an unanswered SYN, oldest first.
    half_open: VecDeque<ConnId>,
    evicted_half_open: u64,
}

impl Tracker {
    pub fn new(config: TrackConfig) -> Tracker {
        Tracker { config, ..Tracker::default() }
    }

    /// Follows one segment; what it shows is appended to `out`, and so are the
    /// summaries of connections this makes old enough to forget.
    pub fn on_segment(&mut self, seg: &Segment, frame: FrameNumber, ts: f64, out: &mut Vec<Event>) {
        let key = FlowKey::of(seg);
        let existing = self.by_flow.get(&key).copied();
        // One lookup of the connection for the common case, a segment of one already
        // followed; a new connection (or a SYN that reopens the 4-tuple) is made here.
        let followed = existing
            .and_then(|id| self.live.get_mut(&id).map(|conn| (id, conn)))
            .filter(|(_, conn)| !conn.is_reopened_by(seg));
        let (id, conn) = match followed {
            Some(found) => found,
            None => {
                let id = ConnId(self.next_id);
                self.next_id += 1;
                self.by_flow.insert(key, id);
                if seg.flags.syn() && !seg.flags.ack() {
                    self.half_open.push_back(id);
                }
                let conn = self.live.entry(id).insert_entry(Box::new(Conn::new(id, seg, frame, ts)));
                (id, conn.into_mut())
            }
        };
        let start = out.len();
        let was_finished = conn.is_finished();
        conn.on_segment(seg, frame, ts, &self.config, out);
        if !was_finished && conn.is_finished() {
            self.finished.push_back((id, ts));
        }
        if existing.is_some()
            && existing != Some(id)
            && let Some(super::Event::Segment(ev)) = out.get_mut(start)
        {
            ev.notes.push(Note::PortsReused);
        }
        self.forget_old(ts, out);
    }

    /// Summarises and frees finished connections past their linger time or beyond
    /// the cap, and the oldest unanswered SYNs when the table is full.
    fn forget_old(&mut self, now: f64, out: &mut Vec<Event>) {
        while let Some(&(id, at)) = self.finished.front() {
            if self.finished.len() <= self.config.max_finished && now - at <= self.config.linger_secs {
                break;
            }
            self.finished.pop_front();
            // A connection that came back to life (a late segment) is not forgotten.
            if self.live.get(&id).is_some_and(|c| c.is_finished()) {
                self.forget(id, out);
            }
        }
        while self.live.len() > self.config.max_live {
            let Some(id) = self.half_open.pop_front() else { break };
            if self.live.get(&id).is_some_and(|c| c.is_half_open()) {
                self.evicted_half_open += 1;
                self.forget(id, out);
            }
        }
        // Keep the queue of candidates from growing without bound on normal traffic.
        if self.half_open.len() > 2 * self.config.max_live {
            let live = &self.live;
            self.half_open.retain(|id| live.get(id).is_some_and(|c| c.is_half_open()));
        }
    }

    fn forget(&mut self, id: ConnId, out: &mut Vec<Event>) {
        if let Some(conn) = self.live.remove(&id) {
            let key = FlowKey::of_endpoints(conn.client, conn.server);
            if self.by_flow.get(&key) == Some(&id) {
                self.by_flow.remove(&key);
            }
            out.push(Event::Connection(conn.summary()));
        }
    }

    /// Ends the TIME-WAIT of `role` in connection `conn` (its timer ran out).
    pub fn expire_time_wait(&mut self, conn: ConnId, role: super::Role, ts: f64, out: &mut Vec<Event>) {
        if let Some(c) = self.live.get_mut(&conn) {
            out.extend(c.expire_time_wait(role, ts).map(Event::Transition));
        }
    }

    /// A connection still followed (not yet summarised and freed).
    pub fn connection(&self, id: ConnId) -> Option<&Conn> {
        self.live.get(&id).map(|c| &**c)
    }

    /// The connections still followed, in no particular order.
    pub fn connections(&self) -> impl Iterator<Item = &Conn> {
        self.live.values().map(|c| &**c)
    }

    /// How many connections were seen in all.
    pub fn seen(&self) -> u64 {
        u64::from(self.next_id)
    }

    /// How many unanswered SYNs were forgotten because the table was full.
    pub fn evicted_half_open(&self) -> u64 {
        self.evicted_half_open
    }

    /// The summaries of the connections still followed, in order, at the end of the input.
    pub fn finish(&mut self, out: &mut Vec<Event>) {
        let mut ids: Vec<ConnId> = self.live.keys().copied().collect();
        ids.sort();
        for id in ids {
            self.forget(id, out);
        }
        self.finished.clear();
        self.half_open.clear();
    }
}
