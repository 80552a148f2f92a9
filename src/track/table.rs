//! The connection table: which [`Conn`] a segment belongs to, by its 4-tuple, and
//! when a connection is old enough to be summarised and forgotten, so that memory
//! stays bounded on captures of any length and under a SYN flood.

use super::conn::{Conn, SETTLE_WITHIN, TrackConfig};
use super::event::{ConnId, Event, Note};
use super::state::TcpState;
use crate::decode::Segment;
use crate::source::FrameNumber;
use hashbrown::HashTable;
use hashbrown::hash_table::Entry;
use rustc_hash::{FxBuildHasher, FxHashMap};
use slab::Slab;
use std::collections::VecDeque;
use std::hash::BuildHasher;
use std::net::{SocketAddr, SocketAddrV4};

/// The hash that both directions of the 4-tuple of `a` and `b` share: the two
/// endpoints, smaller first. An IPv4 endpoint (address and port) packs into one
/// number, so a pair is hashed as two numbers instead of walking both enums and
/// each address's bytes (callgrind: 36 instructions a segment fewer, with the IPv6
/// case kept out of line).
#[inline(always)]
fn flow_hash(a: SocketAddr, b: SocketAddr) -> u64 {
    match (a, b) {
        (SocketAddr::V4(a), SocketAddr::V4(b)) => {
            let pack = |e: SocketAddrV4| (u64::from(e.ip().to_bits()) << 16) | u64::from(e.port());
            let (a, b) = (pack(a), pack(b));
            FxBuildHasher.hash_one((a.min(b), a.max(b)))
        }
        _ => flow_hash_any(a, b),
    }
}

/// [`flow_hash`] of any other pair (IPv6), out of line so that the IPv4 path stays
/// a few instructions where it is used.
#[inline(never)]
fn flow_hash_any(a: SocketAddr, b: SocketAddr) -> u64 {
    FxBuildHasher.hash_one((a.min(b), a.max(b)))
}

/// Whether `conn` is between `a` and `b`, in either direction.
fn joins(conn: &Conn, a: SocketAddr, b: SocketAddr) -> bool {
    (a == conn.client && b == conn.server) || (a == conn.server && b == conn.client)
}

/// The hash of the 4-tuple of `conn`, as [`Tracker::by_flow`] files it.
fn conn_hash(conn: &Conn) -> u64 {
    flow_hash(conn.client, conn.server)
}

/// A connection in one of the queues of [`Tracker`]: its number and its place.
///
/// A place is reused once its connection is forgotten, so the number tells whether
/// the connection there is still the one queued.
#[derive(Debug, Clone, Copy)]
struct Queued {
    id: ConnId,
    place: usize,
}

/// A segment event held back until its arrival is settled.
#[derive(Debug, Clone, Copy)]
struct Hold {
    conn: Queued,
    /// Its number among all events (see `Tracker::held_base`).
    index: u64,
    /// The number of the first event it keeps back: its own, or the opening SYN's
    /// when it is the SYN-ACK that answered it (see [`Tracker::on_segment`]).
    keep_from: u64,
    /// The capture time by which it is settled whatever comes.
    due: f64,
}

/// Whether the events of one segment are the client's reset of a SYN-ACK that
/// acknowledged its SYN: the reset that shows the SYN was an old duplicate and takes the
/// client out of the SYN-SENT it never was in.
fn shows_old_duplicate_reset(events: &[Event]) -> bool {
    let Some(Event::Segment(seg)) = events.first() else { return false };
    seg.notes.contains(&Note::OldDuplicateSyn)
        && events.iter().any(|e| {
            matches!(e, Event::Transition(t) if t.side == super::Role::Client
                && t.from == TcpState::SynSent && t.to == TcpState::Closed)
        })
}

/// The places of the connections followed, from the least to the most recently
/// active: a list linked through two arrays indexed by place, so that a segment moves
/// its connection to the end with a few stores, and the connection to retire when the
/// table is full is always at the front.
#[derive(Debug, Default)]
struct Recency {
    prev: Vec<usize>,
    next: Vec<usize>,
    /// Whether each place is in the list.
    linked: Vec<bool>,
    head: Option<usize>,
    tail: Option<usize>,
}

const NONE: usize = usize::MAX;

impl Recency {
    /// Puts `place` at the end: the most recently active.
    fn touch(&mut self, place: usize) {
        if self.tail == Some(place) {
            return;
        }
        if place >= self.linked.len() {
            self.prev.resize(place + 1, NONE);
            self.next.resize(place + 1, NONE);
            self.linked.resize(place + 1, false);
        }
        self.remove(place);
        self.prev[place] = self.tail.unwrap_or(NONE);
        self.next[place] = NONE;
        match self.tail {
            Some(tail) => self.next[tail] = place,
            None => self.head = Some(place),
        }
        self.tail = Some(place);
        self.linked[place] = true;
    }

    /// Takes `place` out of the list, if it is in it.
    fn remove(&mut self, place: usize) {
        if !self.linked.get(place).copied().unwrap_or(false) {
            return;
        }
        let (prev, next) = (self.prev[place], self.next[place]);
        match prev {
            NONE => self.head = (next != NONE).then_some(next),
            p => self.next[p] = next,
        }
        match next {
            NONE => self.tail = (prev != NONE).then_some(prev),
            n => self.prev[n] = prev,
        }
        self.linked[place] = false;
    }

    /// The least recently active place.
    fn oldest(&self) -> Option<usize> {
        self.head
    }
}

/// What tcplab holds apart from the connection table, within `--max-memory`: the
/// program itself, the read buffer, the batches between its threads, the output
/// buffer (about 12 MiB for a replay of a few connections, `/usr/bin/time`), with room.
const OUTSIDE_THE_TABLE: usize = 24 << 20;

/// The most events kept waiting behind arrivals not yet settled (about 1.2 MiB of
/// them, within [`OUTSIDE_THE_TABLE`]); past it the oldest arrival is settled at once.
const MOST_HELD_EVENTS: usize = 4_096;

/// The fewest connections followed at once, whatever the budget.
const FEWEST_CONNECTIONS: usize = 1_000;

/// What one followed connection costs: its place in the slab, its entries in the
/// 4-tuple table (a place and a control byte, the table at most 7/8 full) and in the
/// order of activity, its summary event and sort entry when the input ends (all
/// connections still followed are summarised together, before the table is freed),
/// and, in the views that show segments, its sequence analysis (a heap block with
/// the allocator's header) and the timeline's mark that it was announced. A tenth more
/// for what the allocator and the hash tables' growth lose besides. On 400,000
/// connections that never close, the peak memory stays under the budget in every view
/// at 64, 128 and 256 MiB (docs/performance.md).
pub fn bytes_per_connection(detail: bool) -> usize {
    // A slab place is the connection and the word that says whether it is taken.
    let table = std::mem::size_of::<Conn>() + 8 + 9 * 8 / 7 + 17;
    let at_the_end = std::mem::size_of::<Event>() + std::mem::size_of::<(ConnId, usize)>();
    let table = table + at_the_end;
    let detail = if detail { std::mem::size_of::<super::analysis::SeqAnalysis>() + 16 + 8 } else { 0 };
    (table + detail) * 11 / 10
}

/// How many connections can be followed at once within `mib` MiB
/// ([`TrackConfig::memory_mib`]).
pub fn connections_within(mib: u64, detail: bool) -> usize {
    let budget = usize::try_from(mib).unwrap_or(usize::MAX).saturating_mul(1 << 20);
    (budget.saturating_sub(OUTSIDE_THE_TABLE) / bytes_per_connection(detail)).max(FEWEST_CONNECTIONS)
}

/// Makes room in the slab for one more connection. It grows by doubling, as a `Vec`
/// does, but never past the table's size: the last doubling would otherwise reserve
/// (and, moving the connections, touch) up to twice what the budget allows.
fn make_room(conns: &mut Slab<Conn>, max_live: usize) {
    let capacity = conns.capacity();
    if conns.len() < capacity {
        return;
    }
    // One over the cap: a new connection is counted before the oldest is retired.
    let ceiling = max_live.saturating_add(1);
    let more = capacity.max(1024).min(ceiling.saturating_sub(capacity)).max(1);
    conns.reserve_exact(more);
}

/// The connections being followed, with what it takes to forget them in time.
///
/// The connections live in a slab: one growing array whose places are reused once
/// their connection is forgotten. Allocating and freeing each connection on its own
/// (and sorting them at the end through their pointers) cost `--summary` a twelfth
/// of what it spent tracking; and growing a table moves places, not connections.
///
/// Each segment finds its connection with one lookup in `by_flow`, a table of places
/// alone: a place is compared by the endpoints of the connection there, which the
/// segment then needs anyway. A table that also held each 4-tuple took 72 bytes a
/// connection instead of 8; with the ten thousand finished connections kept for late
/// segments it did not stay in the cache, and the tracking thread took about a fifth
/// longer on a big capture (docs/performance.md). The queues hold places too, so
/// forgetting a connection looks nothing up but its entry in `by_flow`.
#[derive(Debug, Default)]
pub struct Tracker {
    config: TrackConfig,
    /// Every connection followed.
    conns: Slab<Conn>,
    /// The place of the connection each 4-tuple belongs to now, filed by the hash of
    /// the 4-tuple.
    by_flow: HashTable<usize>,
    /// The places of connections whose 4-tuple a newer one took (a SYN that reopened
    /// it), until they are forgotten in their turn: only a lookup by number and
    /// 4-tuple ([`Tracker::connection`]) needs them.
    displaced: FxHashMap<ConnId, usize>,
    next_id: u32,
    /// Events not yet handed out, because an earlier segment's event among them
    /// waits for its arrival to be settled (see [`Conn::settle`]); in order.
    held: VecDeque<Event>,
    /// The number, counted over the whole run, of the first event in `held`.
    held_base: u64,
    /// The held segment events whose arrival is pending, oldest first.
    holds: VecDeque<Hold>,
    /// Finished connections, oldest first, with the capture time they finished.
    finished: VecDeque<(Queued, f64)>,
    /// Every connection followed, least recently active first.
    by_activity: Recency,
    evicted_half_open: u64,
    retired: u64,
}

impl Tracker {
    pub fn new(config: TrackConfig) -> Tracker {
        let max_live = config.max_live.min(connections_within(config.memory_mib, config.detail));
        Tracker { config: TrackConfig { max_live, ..config }, ..Tracker::default() }
    }

    /// Follows one segment; what it shows is appended to `out`, and so are the
    /// summaries of connections this makes old enough to forget.
    pub fn on_segment(&mut self, seg: &Segment, frame: FrameNumber, ts: f64, out: &mut Vec<Event>) {
        // Whether this segment begins a connection that takes the 4-tuple of an
        // earlier one.
        let mut reused = false;
        let conns = &self.conns;
        let entry = self.by_flow.entry(
            flow_hash(seg.src, seg.dst),
            |&place| joins(&conns[place], seg.src, seg.dst),
            |&place| conn_hash(&conns[place]),
        );
        let place = match entry {
            Entry::Occupied(mut entry) => {
                let place = *entry.get();
                if self.conns[place].is_reopened_by(seg) {
                    // A new connection on the same 4-tuple: the old one waits aside.
                    make_room(&mut self.conns, self.config.max_live);
                    let new = self.conns.insert(Conn::new(ConnId(self.next_id), seg, frame, ts));
                    self.next_id += 1;
                    *entry.get_mut() = new;
                    self.displaced.insert(self.conns[place].id, place);
                    reused = true;
                    new
                } else {
                    place
                }
            }
            Entry::Vacant(entry) => {
                let id = ConnId(self.next_id);
                self.next_id += 1;
                make_room(&mut self.conns, self.config.max_live);
                let place = self.conns.insert(Conn::new(id, seg, frame, ts));
                entry.insert(place);
                place
            }
        };
        self.by_activity.touch(place);
        let conn = &mut self.conns[place];
        let queued = Queued { id: conn.id, place };
        let start = out.len();
        let was_finished = conn.is_finished();
        let outcome = conn.on_segment(seg, frame, ts, &self.config, out);
        let now_finished = conn.is_finished();
        let ended = outcome.settled.and_then(|settled| self.show_settled(queued.id, settled));
        if !was_finished && now_finished {
            self.finished.push_back((queued, ts));
        }
        if reused && let Some(super::Event::Segment(ev)) = out.get_mut(start) {
            ev.notes.push(Note::PortsReused);
        }
        if outcome.pending && self.config.detail {
            let index = self.held_base + self.held.len() as u64;
            let hold = Hold { conn: queued, index, keep_from: index, due: ts + SETTLE_WITHIN };
            match ended {
                // A SYN-ACK answering the SYN that opened the connection keeps that SYN
                // held with it, in its place: only the client's answer tells whether a
                // socket of the client's sent that SYN or it was an old duplicate.
                Some((at, syn)) if self.answers_opening_syn(syn, out.get(start)) => {
                    self.holds.insert(at, Hold { keep_from: syn.keep_from, ..hold });
                }
                _ => self.holds.push_back(hold),
            }
        }
        // Only while the opening SYN is still held with its SYN-ACK: a SYN settled
        // otherwise (answered by a reset) has been shown already, and stays as shown.
        let stray_from = match ended {
            Some((_, hold))
                if hold.keep_from < hold.index
                    && shows_old_duplicate_reset(out.get(start..).unwrap_or_default()) =>
            {
                Some(hold.keep_from)
            }
            _ => None,
        };
        self.forget_old(ts, out);
        // Behind anything still held, in order.
        if !self.held.is_empty() || !self.holds.is_empty() {
            self.held.extend(out.drain(start..));
        }
        if let Some(from) = stray_from {
            self.unsend_stray_syn(queued.id, from);
        }
        self.settle_due(ts, out);
    }

    /// Settles the arrivals that have waited long enough by capture time `now`, and
    /// hands out the events no longer held back.
    pub fn settle_due(&mut self, now: f64, out: &mut Vec<Event>) {
        while let Some(&hold) = self.holds.front() {
            // Also settled before its time when too many events wait behind the holds:
            // a flood of SYNs arrives within the second an arrival may wait, and every
            // event behind the first would be kept (700 MiB for a million SYNs).
            let crowded = self.held.len() > MOST_HELD_EVENTS;
            if hold.due > now && !crowded {
                break;
            }
            let was_finished = self.find(hold.conn).is_some_and(|c| c.is_finished());
            self.settle(hold.conn);
            // A reset taken for want of an answer can end the connection.
            if !was_finished && self.find(hold.conn).is_some_and(|c| c.is_finished()) {
                self.finished.push_back((hold.conn, now));
            }
            if crowded {
                self.release(out);
            }
        }
        self.release(out);
    }

    /// Settles the pending arrival of connection `queued`, if it has one, and shows
    /// what it changed on the segment held back for it.
    fn settle(&mut self, queued: Queued) {
        let config = self.config;
        let settled =
            self.conns.get_mut(queued.place).filter(|c| c.id == queued.id).and_then(|c| c.settle(&config));
        match settled {
            Some(settled) => {
                self.show_settled(queued.id, settled);
            }
            // Forgotten already: nothing to add to its event. It is most often the
            // oldest hold (settled because its time ran out or the queue is full),
            // taken without a pass over the others.
            None if self.holds.front().is_some_and(|h| h.conn.id == queued.id) => {
                self.holds.pop_front();
            }
            None => self.holds.retain(|h| h.conn.id != queued.id),
        }
    }

    /// Adds what settling an arrival changed to the segment events held back for it:
    /// the transitions after the segment they belong to (see
    /// [`super::conn::Settled`]), and the new states of the ends they changed on that
    /// segment's row and the connection's rows after it. The hold ends; returns it,
    /// with the place it had among the holds.
    fn show_settled(&mut self, conn: ConnId, settled: super::conn::Settled) -> Option<(usize, Hold)> {
        let at = self.holds.iter().position(|h| h.conn.id == conn)?;
        let hold = self.holds.remove(at)?;
        let ended = Some((at, hold));
        let held_row = (hold.index - self.held_base) as usize;
        let is_row =
            |e: &Event| matches!(e, Event::Segment(ev) if ev.conn == conn && ev.frame == settled.frame);
        let Some(row) = (held_row..self.held.len()).find(|&i| is_row(&self.held[i])) else { return ended };
        let Some(Event::Segment(ev)) = self.held.get_mut(row) else { return ended };
        // The changes happen at that segment's time.
        let ts = ev.ts;
        ev.notes.extend(
            settled.changes.iter().filter(|c| c.2 == super::TcpState::TimeWait).map(|c| Note::TimeWait(c.0)),
        );
        ev.notes.extend(settled.note);
        if settled.changes.is_empty() {
            return ended;
        }
        for event in self.held.range_mut(row..) {
            if let Event::Segment(ev) = event
                && ev.conn == conn
            {
                for &(side, _, to) in &settled.changes {
                    match side {
                        super::Role::Client => ev.client_state = to,
                        super::Role::Server => ev.server_state = to,
                    }
                }
            }
        }
        // After the segment's own transitions.
        let mut at = row + 1;
        while matches!(self.held.get(at), Some(Event::Transition(t)) if t.conn == conn && t.frame == settled.frame)
        {
            at += 1;
        }
        let added = settled.changes.len();
        for (i, &(side, from, to)) in settled.changes.iter().enumerate() {
            let transition = super::Transition { conn, frame: settled.frame, ts, time: None, side, from, to };
            self.held.insert(at + i, Event::Transition(transition));
        }
        // The held events from there on moved.
        let moved_from = self.held_base + at as u64;
        for later in self.holds.iter_mut() {
            if later.index >= moved_from {
                later.index += added as u64;
            }
            if later.keep_from >= moved_from {
                later.keep_from += added as u64;
            }
        }
        ended
    }

    /// Whether `next`, the event of a segment whose arrival is now pending, is the
    /// SYN-ACK that answers the bare SYN whose hold `syn` just ended.
    fn answers_opening_syn(&self, syn: Hold, next: Option<&Event>) -> bool {
        let held = self.held.get((syn.index - self.held_base) as usize);
        matches!(
            (held, next),
            (Some(Event::Segment(s)), Some(Event::Segment(a)))
                if s.flags.syn() && !s.flags.ack() && a.flags.syn() && a.flags.ack() && s.conn == a.conn
        )
    }

    /// The client reset the SYN-ACK as an old duplicate's answer (RFC 9293 Figure 8):
    /// no socket of the client's sent the SYN that opened connection `conn`, so its
    /// events from number `from` on (still held) take back the client's SYN-SENT. The
    /// SYN is marked as a stray segment; its own note tells the rest.
    ///
    /// Only a SYN-SENT that this SYN began, and that lasted until the reset, is taken
    /// back: the client's first transition from the SYN on must be the SYN's own CLOSED
    /// → SYN-SENT, and the next the reset's SYN-SENT → CLOSED, so that without both the
    /// client stays CLOSED where it was CLOSED before. A SYN sent again after one
    /// already handed out, or sent while the client was in another state (the SYN-ACK
    /// then reopened the connection, closing the client and putting it in SYN-SENT on
    /// its own row), leaves a SYN-SENT begun before the SYN or a state other than
    /// CLOSED before it: the events stay as they are, and the reset's note tells the
    /// story.
    fn unsend_stray_syn(&mut self, conn: ConnId, from: u64) {
        use super::Role::Client;
        let first = (from - self.held_base) as usize;
        let Some(Event::Segment(syn)) = self.held.get(first) else { return };
        if syn.conn != conn {
            return;
        }
        let syn_frame = syn.frame;
        let client_change = |event: &Event| match event {
            Event::Transition(t) if t.conn == conn && t.side == Client => Some((t.frame, t.from, t.to)),
            _ => None,
        };
        let mut changes =
            (first..self.held.len()).filter_map(|i| client_change(&self.held[i]).map(|change| (i, change)));
        let (Some((open, opened)), Some((close, closed))) = (changes.next(), changes.next()) else { return };
        if opened != (syn_frame, TcpState::Closed, TcpState::SynSent)
            || (closed.1, closed.2) != (TcpState::SynSent, TcpState::Closed)
        {
            return;
        }
        // Between the two the client was in SYN-SENT on every row: now it stays CLOSED.
        for event in self.held.range_mut(first..close) {
            if let Event::Segment(ev) = event
                && ev.conn == conn
            {
                ev.client_state = TcpState::Closed;
            }
        }
        if let Some(Event::Segment(ev)) = self.held.get_mut(first) {
            ev.notes.push(Note::StraySyn);
        }
        self.held.remove(close);
        self.held.remove(open);
        // The holds after the two transitions taken out move back (a hold is a
        // segment's event, never one of them).
        let base = self.held_base;
        let shift = |n: &mut u64| {
            let place = (*n - base) as usize;
            *n -= u64::from(place > open) + u64::from(place > close);
        };
        for hold in self.holds.iter_mut() {
            shift(&mut hold.index);
            shift(&mut hold.keep_from);
        }
    }

    /// The events held back until an arrival is settled, in order.
    pub fn held(&self) -> impl Iterator<Item = &Event> {
        self.held.iter()
    }

    /// Hands out the held events before the first one still waiting.
    fn release(&mut self, out: &mut Vec<Event>) {
        let upto = self.holds.front().map_or(self.held.len(), |h| (h.keep_from - self.held_base) as usize);
        if upto > 0 {
            out.extend(self.held.drain(..upto));
            self.held_base += upto as u64;
        }
    }

    /// The connection `queued` names, if it is still followed.
    fn find(&self, queued: Queued) -> Option<&Conn> {
        self.conns.get(queued.place).filter(|c| c.id == queued.id)
    }

    /// The place of connection `id` between `a` and `b`, if it is still followed.
    fn place_of(&self, id: ConnId, a: SocketAddr, b: SocketAddr) -> Option<usize> {
        let hash = flow_hash(a, b);
        match self.by_flow.find(hash, |&place| joins(&self.conns[place], a, b)) {
            Some(&place) if self.conns[place].id == id => Some(place),
            _ => self.displaced.get(&id).copied(),
        }
    }

    /// How many connections are followed.
    fn live(&self) -> usize {
        self.conns.len()
    }

    /// Summarises and frees finished connections past their linger time or beyond
    /// the cap, and the least recently active connections when the table is full.
    fn forget_old(&mut self, now: f64, out: &mut Vec<Event>) {
        while let Some(&(queued, at)) = self.finished.front() {
            if self.finished.len() <= self.config.max_finished && now - at <= self.config.linger_secs {
                break;
            }
            self.finished.pop_front();
            // A connection that came back to life (a late segment) is not forgotten.
            if self.find(queued).is_some_and(|c| c.is_finished()) {
                self.forget(queued, out);
            }
        }
        while self.live() > self.config.max_live {
            self.retire_for_space(out);
        }
    }

    /// Summarises and frees the least recently active connection, whatever its
    /// state: the table is full. An unanswered SYN is counted as such (a SYN flood
    /// fills the table with them); any other connection is reported complete,
    /// marked as retired.
    fn retire_for_space(&mut self, out: &mut Vec<Event>) {
        let Some(place) = self.by_activity.oldest() else { return };
        let conn = &self.conns[place];
        let queued = Queued { id: conn.id, place };
        if conn.is_half_open() {
            self.evicted_half_open += 1;
            self.forget(queued, out);
        } else {
            self.retired += 1;
            self.forget(queued, out);
            if let Some(Event::Connection(summary)) = out.last_mut() {
                summary.retired = true;
            }
        }
    }

    /// Summarises and frees the connection `queued` names, which is still followed.
    fn forget(&mut self, queued: Queued, out: &mut Vec<Event>) {
        self.settle(queued);
        // It holds its 4-tuple still, or waits aside since a newer one took it.
        let place = queued.place;
        if let Ok(entry) = self.by_flow.find_entry(conn_hash(&self.conns[place]), |&p| p == place) {
            entry.remove();
        } else {
            self.displaced.remove(&queued.id);
        }
        self.by_activity.remove(place);
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
        if let Some(place) = self.place_of(conn, a, b) {
            out.extend(self.conns[place].expire_time_wait(role, ts).map(Event::Transition));
        }
    }

    /// A connection still followed (not yet summarised and freed): number `id`,
    /// between `a` and `b`.
    pub fn connection(&self, id: ConnId, (a, b): (SocketAddr, SocketAddr)) -> Option<&Conn> {
        self.place_of(id, a, b).map(|place| &self.conns[place])
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

    /// How many other connections were retired, still open, because the table was
    /// full.
    pub fn retired(&self) -> u64 {
        self.retired
    }

    /// The summaries of the connections still followed, in order, at the end of the input.
    pub fn finish(&mut self, out: &mut Vec<Event>) {
        // Nothing more will settle what is pending.
        let pending: Vec<Queued> = self
            .conns
            .iter()
            .filter(|(_, c)| c.is_pending())
            .map(|(place, c)| Queued { id: c.id, place })
            .collect();
        for queued in pending {
            self.settle(queued);
        }
        self.release(out);
        // Numbers and places are sorted, not the connections, which are large. The slab
        // keeps connections about in the order they began: when none was forgotten,
        // in order, which the sort sees in one pass.
        let mut left: Vec<(ConnId, usize)> = self.conns.iter().map(|(place, c)| (c.id, place)).collect();
        left.sort_unstable_by_key(|&(id, _)| id);
        // Exactly: grown by doubling, the last summaries could take twice their room.
        out.reserve_exact(left.len());
        out.extend(left.into_iter().map(|(_, place)| Event::Connection(self.conns[place].summary())));
        self.conns.clear();
        self.by_flow.clear();
        self.displaced.clear();
        self.finished.clear();
        self.by_activity = Recency::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn v4() -> impl Strategy<Value = SocketAddr> {
        (any::<[u8; 4]>(), any::<u16>()).prop_map(|(ip, port)| SocketAddr::from((ip, port)))
    }

    fn v6() -> impl Strategy<Value = SocketAddr> {
        (any::<[u8; 16]>(), any::<u16>()).prop_map(|(ip, port)| SocketAddr::from((ip, port)))
    }

    #[test]
    fn the_table_grows_with_the_budget_and_shrinks_with_detail() {
        assert!(connections_within(256, true) < connections_within(256, false));
        assert!(connections_within(128, true) < connections_within(256, true));
        // 256 MiB holds about 200,000 connections with their sequence analysis.
        assert!(
            (150_000..300_000).contains(&connections_within(256, true)),
            "{}",
            connections_within(256, true)
        );
        assert_eq!(connections_within(1, true), FEWEST_CONNECTIONS);
    }

    #[test]
    fn a_connection_is_the_size_the_docs_give() {
        // docs/performance.md ("What bounds memory") gives it, and the connection
        // counts within --max-memory there follow from it.
        assert_eq!(std::mem::size_of::<Conn>(), 424);
    }

    proptest! {
        /// Both directions of a 4-tuple are filed together, IPv4 or IPv6.
        #[test]
        fn both_directions_hash_alike(a in prop_oneof![v4(), v6()], b in prop_oneof![v4(), v6()]) {
            prop_assert_eq!(flow_hash(a, b), flow_hash(b, a));
        }

        /// An IPv4 endpoint packs whole: changing one bit of its address or of its
        /// port files the 4-tuple elsewhere.
        #[test]
        fn an_ipv4_endpoint_packs_without_loss(a in v4(), b in v4(), bit in 0u32..48) {
            let SocketAddr::V4(v4) = b else { unreachable!() };
            let c = if bit < 32 {
                SocketAddr::from((std::net::Ipv4Addr::from_bits(v4.ip().to_bits() ^ (1 << bit)), v4.port()))
            } else {
                SocketAddr::from((*v4.ip(), v4.port() ^ (1 << (bit - 32))))
            };
            prop_assume!(c != a);
            prop_assert_ne!(flow_hash(a, b), flow_hash(a, c));
        }
    }
}
