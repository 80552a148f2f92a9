//! The connection table: which [`Conn`] a segment belongs to, by its 4-tuple, and
//! when a connection is old enough to be summarised and forgotten, so that memory
//! stays bounded on captures of any length and under a SYN flood.

use super::conn::{Conn, TrackConfig};
use super::event::{ConnId, Event, Note};
use crate::decode::Segment;
use crate::source::FrameNumber;
use rustc_hash::FxHashMap;
use std::collections::VecDeque;
use std::collections::hash_map::Entry;
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

/// A connection in one of the queues of [`Tracker`]: its number and where to find it.
#[derive(Debug, Clone, Copy)]
struct Queued {
    id: ConnId,
    key: FlowKey,
}

/// The connections being followed, with what it takes to forget them in time.
///
/// Each connection is found by its 4-tuple with one lookup, since that happens for
/// every segment; the queues and the rare lookups by number carry the 4-tuple too.
/// A table of 4-tuples and one of numbers made every segment look twice: a second
/// hash, and a second place in memory to wait for.
#[derive(Debug, Default)]
pub struct Tracker {
    config: TrackConfig,
    /// The connection each 4-tuple belongs to now. Boxed, so that growing the map
    /// moves pointers, not connections.
    by_flow: FxHashMap<FlowKey, Box<Conn>>,
    /// Connections whose 4-tuple a newer one took (a SYN that reopened it), until
    /// they are forgotten in their turn.
    displaced: FxHashMap<ConnId, Box<Conn>>,
    next_id: u32,
    /// Finished connections, oldest first, with the capture time they finished.
    finished: VecDeque<(Queued, f64)>,
    /// Connections that began with an unanswered SYN, oldest first.
    half_open: VecDeque<Queued>,
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
        // Whether this segment begins a connection, and whether that takes the 4-tuple
        // of an earlier one.
        let (mut created, mut reused) = (false, false);
        let conn = match self.by_flow.entry(key) {
            Entry::Occupied(mut entry) => {
                if entry.get().is_reopened_by(seg) {
                    // A new connection on the same 4-tuple: the old one waits aside.
                    let new = self.next_id;
                    self.next_id += 1;
                    let old = entry.insert(Box::new(Conn::new(ConnId(new), seg, frame, ts)));
                    self.displaced.insert(old.id, old);
                    (created, reused) = (true, true);
                }
                entry.into_mut()
            }
            Entry::Vacant(entry) => {
                let id = ConnId(self.next_id);
                self.next_id += 1;
                created = true;
                entry.insert(Box::new(Conn::new(id, seg, frame, ts)))
            }
        };
        let id = conn.id;
        if created && seg.flags.syn() && !seg.flags.ack() {
            self.half_open.push_back(Queued { id, key });
        }
        let start = out.len();
        let was_finished = conn.is_finished();
        conn.on_segment(seg, frame, ts, &self.config, out);
        if !was_finished && conn.is_finished() {
            self.finished.push_back((Queued { id, key }, ts));
        }
        if reused && let Some(super::Event::Segment(ev)) = out.get_mut(start) {
            ev.notes.push(Note::PortsReused);
        }
        self.forget_old(ts, out);
    }

    /// The connection `queued` names, if it is still followed.
    fn find(&self, queued: Queued) -> Option<&Conn> {
        match self.by_flow.get(&queued.key) {
            Some(conn) if conn.id == queued.id => Some(conn),
            _ => self.displaced.get(&queued.id).map(|c| &**c),
        }
    }

    /// The same, to change.
    fn find_mut(&mut self, queued: Queued) -> Option<&mut Conn> {
        match self.by_flow.get_mut(&queued.key) {
            Some(conn) if conn.id == queued.id => Some(conn),
            _ => self.displaced.get_mut(&queued.id).map(|c| &mut **c),
        }
    }

    /// How many connections are followed.
    fn live(&self) -> usize {
        self.by_flow.len() + self.displaced.len()
    }

    /// Summarises and frees finished connections past their linger time or beyond
    /// the cap, and the oldest unanswered SYNs when the table is full.
    fn forget_old(&mut self, now: f64, out: &mut Vec<Event>) {
        // Only the time is read to decide: copying each entry out (its 4-tuple is most
        // of it) for every segment cost more than the test itself.
        while let Some((_, at)) = self.finished.front() {
            if self.finished.len() <= self.config.max_finished && now - at <= self.config.linger_secs {
                break;
            }
            let Some((queued, _)) = self.finished.pop_front() else { break };
            // A connection that came back to life (a late segment) is not forgotten.
            if self.find(queued).is_some_and(|c| c.is_finished()) {
                self.forget(queued, out);
            }
        }
        while self.live() > self.config.max_live {
            let Some(queued) = self.half_open.pop_front() else { break };
            if self.find(queued).is_some_and(|c| c.is_half_open()) {
                self.evicted_half_open += 1;
                self.forget(queued, out);
            }
        }
        // Keep the queue of candidates from growing without bound on normal traffic.
        if self.half_open.len() > 2 * self.config.max_live {
            let mut half_open = std::mem::take(&mut self.half_open);
            half_open.retain(|&q| self.find(q).is_some_and(|c| c.is_half_open()));
            self.half_open = half_open;
        }
    }

    fn forget(&mut self, queued: Queued, out: &mut Vec<Event>) {
        let conn = match self.by_flow.get(&queued.key) {
            Some(conn) if conn.id == queued.id => self.by_flow.remove(&queued.key),
            _ => self.displaced.remove(&queued.id),
        };
        if let Some(conn) = conn {
            out.push(Event::Connection(conn.summary()));
        }
    }

    /// Ends the TIME-WAIT of `role` in connection `conn` between `a` and `b` (its
    /// timer ran out).
    pub fn expire_time_wait(
        &mut self,
        conn: ConnId,
        (a, b): (SocketAddr, SocketAddr),
        role: super::Role,
        ts: f64,
        out: &mut Vec<Event>,
    ) {
        if let Some(c) = self.find_mut(Queued { id: conn, key: FlowKey::of_endpoints(a, b) }) {
            out.extend(c.expire_time_wait(role, ts).map(Event::Transition));
        }
    }

    /// A connection still followed (not yet summarised and freed): number `id`,
    /// between `a` and `b`.
    pub fn connection(&self, id: ConnId, (a, b): (SocketAddr, SocketAddr)) -> Option<&Conn> {
        self.find(Queued { id, key: FlowKey::of_endpoints(a, b) })
    }

    /// The connections still followed, in no particular order.
    pub fn connections(&self) -> impl Iterator<Item = &Conn> {
        self.by_flow.values().chain(self.displaced.values()).map(|c| &**c)
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
        let mut left: Vec<Box<Conn>> =
            self.by_flow.drain().map(|(_, c)| c).chain(self.displaced.drain().map(|(_, c)| c)).collect();
        left.sort_by_key(|c| c.id);
        out.extend(left.into_iter().map(|c| Event::Connection(c.summary())));
        self.finished.clear();
        self.half_open.clear();
    }
}
