//! The connection table: which [`Conn`] a segment belongs to, by its 4-tuple, and
//! when a connection is old enough to be summarised and forgotten, so that memory
//! stays bounded on captures of any length and under a SYN flood.

use super::conn::{Conn, TrackConfig};
use super::event::{ConnId, Event, Note};
use crate::decode::Segment;
use crate::source::FrameNumber;
use rustc_hash::FxHashMap;
use slab::Slab;
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
///
/// The connections themselves live in a slab: one growing array whose places are
/// reused once their connection is forgotten, and the tables hold places in it.
/// Allocating and freeing each connection on its own (and sorting them at the end
/// through their pointers) cost `--summary` a twelfth of what it spent tracking;
/// and growing a table moves places, not connections.
#[derive(Debug, Default)]
pub struct Tracker {
    config: TrackConfig,
    /// Every connection followed.
    conns: Slab<Conn>,
    /// The place of the connection each 4-tuple belongs to now.
    by_flow: FxHashMap<FlowKey, usize>,
    /// The places of connections whose 4-tuple a newer one took (a SYN that reopened
    /// it), until they are forgotten in their turn.
    displaced: FxHashMap<ConnId, usize>,
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
        // Whether this segment begins a connection, and whether that takes the 4-tuple
        // of an earlier one.
        let (mut created, mut reused) = (false, false);
        let place = match self.by_flow.entry(FlowKey::of(seg)) {
            Entry::Occupied(mut entry) => {
                let place = *entry.get();
                if self.conns[place].is_reopened_by(seg) {
                    // A new connection on the same 4-tuple: the old one waits aside.
                    let new = self.conns.insert(Conn::new(ConnId(self.next_id), seg, frame, ts));
                    self.next_id += 1;
                    self.displaced.insert(self.conns[place].id, entry.insert(new));
                    (created, reused) = (true, true);
                    new
                } else {
                    place
                }
            }
            Entry::Vacant(entry) => {
                let id = ConnId(self.next_id);
                self.next_id += 1;
                created = true;
                *entry.insert(self.conns.insert(Conn::new(id, seg, frame, ts)))
            }
        };
        let conn = &mut self.conns[place];
        let id = conn.id;
        // The key is made again for the queues, which take few segments: keeping it
        // at hand across the connection's work cost every segment more.
        if created && seg.flags.syn() && !seg.flags.ack() {
            self.half_open.push_back(Queued { id, key: FlowKey::of(seg) });
        }
        let start = out.len();
        let was_finished = conn.is_finished();
        conn.on_segment(seg, frame, ts, &self.config, out);
        if !was_finished && conn.is_finished() {
            self.finished.push_back((Queued { id, key: FlowKey::of(seg) }, ts));
        }
        if reused && let Some(super::Event::Segment(ev)) = out.get_mut(start) {
            ev.notes.push(Note::PortsReused);
        }
        self.forget_old(ts, out);
    }

    /// The place of the connection `queued` names, if it is still followed.
    fn place(&self, queued: Queued) -> Option<usize> {
        match self.by_flow.get(&queued.key) {
            Some(&place) if self.conns[place].id == queued.id => Some(place),
            _ => self.displaced.get(&queued.id).copied(),
        }
    }

    /// The connection `queued` names, if it is still followed.
    fn find(&self, queued: Queued) -> Option<&Conn> {
        self.place(queued).map(|place| &self.conns[place])
    }

    /// How many connections are followed.
    fn live(&self) -> usize {
        self.conns.len()
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
        let Some(place) = self.place(queued) else { return };
        // It holds its 4-tuple still, or waits aside since a newer one took it.
        if self.by_flow.get(&queued.key) == Some(&place) {
            self.by_flow.remove(&queued.key);
        } else {
            self.displaced.remove(&queued.id);
        }
        out.push(Event::Connection(self.conns.remove(place).summary()));
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
        if let Some(place) = self.place(Queued { id: conn, key: FlowKey::of_endpoints(a, b) }) {
            out.extend(self.conns[place].expire_time_wait(role, ts).map(Event::Transition));
        }
    }

    /// A connection still followed (not yet summarised and freed): number `id`,
    /// between `a` and `b`.
    pub fn connection(&self, id: ConnId, (a, b): (SocketAddr, SocketAddr)) -> Option<&Conn> {
        self.find(Queued { id, key: FlowKey::of_endpoints(a, b) })
    }

    /// The connections still followed, in no particular order.
    pub fn connections(&self) -> impl Iterator<Item = &Conn> {
        self.conns.iter().map(|(_, c)| c)
    }

    /// Whether segments and transitions come out, or only summaries.
    pub fn shows_segments(&self) -> bool {
        self.config.detail
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
        // Numbers and places are sorted, not the connections, which are large. The slab
        // keeps connections about in the order they began: when none was forgotten,
        // in order, which the sort sees in one pass.
        let mut left: Vec<(ConnId, usize)> = self.conns.iter().map(|(place, c)| (c.id, place)).collect();
        left.sort_unstable_by_key(|&(id, _)| id);
        out.extend(left.into_iter().map(|(_, place)| Event::Connection(self.conns[place].summary())));
        self.conns.clear();
        self.by_flow.clear();
        self.displaced.clear();
        self.finished.clear();
        self.half_open.clear();
    }
}
