//! Places the kernel's changes among the tracker's events: which connection and side
//! each belongs to, at which moment of the timeline, and whether the tracker shows the
//! same state then.
//!
//! A change is handed out just before the first segment shown with a later capture
//! time, so the timeline tells it at its moment even though the tracker holds some
//! segments back until their arrival is settled. The side is the end whose address
//! and port the socket has as its own. A connecting socket is traced before its port
//! is chosen (`sport=0`): that change waits for the new connection's first segment
//! from the same address to the same server.

use super::{KernelChange, LinuxState};
use crate::source::{FrameNumber, Timestamp};
use crate::track::{ConnId, Differs, Event, KernelState, Role, TcpState};
use rustc_hash::FxHashMap;
use std::net::SocketAddr;

/// How long a change waits, on the wall clock, for segments still on their way
/// through the capture buffer before it is shown on its own.
const SETTLE_NANOS: i64 = 50_000_000;
/// How long a change of a socket with no connection seen yet waits for one (a connect
/// whose SYNs are lost retries for longer than a minute only with unusual settings).
const UNKNOWN_NANOS: i64 = 60_000_000_000;

#[derive(Default)]
pub struct KernelMerge {
    /// Changes not yet handed out, in time order.
    queue: Vec<KernelChange>,
    /// Connections by (client, server).
    flows: FxHashMap<(SocketAddr, SocketAddr), ConnId>,
    /// Each connection's last segment shown, and its capture time.
    last: FxHashMap<ConnId, (FrameNumber, Timestamp)>,
    /// What the timeline shows for each side now.
    shown: FxHashMap<(ConnId, Role), TcpState>,
}

impl KernelMerge {
    pub fn push(&mut self, changes: impl IntoIterator<Item = KernelChange>) {
        self.queue.extend(changes);
        self.queue.sort_by_key(|c| c.time);
    }

    /// Called before `event` is shown: the changes that come before it go to `out`.
    pub fn before(&mut self, event: &Event, secs: impl Fn(Timestamp) -> f64, out: &mut Vec<Event>) {
        let Event::Segment(seg) = event else { return };
        let Some(time) = seg.time else { return };
        let (client, server) = seg.endpoints();
        // A new connection: it claims the port-less connect of its client.
        // (A SYN that reopens a 4-tuple makes a new connection on it, too.)
        let is_new = self.flows.insert((client, server), seg.conn) != Some(seg.conn);
        if is_new
            && let Some(connect) = self.queue.iter_mut().find(|c| {
                c.local.port() == 0 && c.local.ip() == client.ip() && c.remote == server && c.time <= time
            })
        {
            connect.local = client;
        }
        self.release(|c| c.time < time, Timestamp(time.0.saturating_sub(UNKNOWN_NANOS)), &secs, out);
    }

    /// Called after `event` was shown: what the timeline shows now.
    pub fn after(&mut self, event: &Event) {
        match event {
            Event::Segment(seg) => {
                if let Some(time) = seg.time {
                    self.last.insert(seg.conn, (seg.frame, time));
                }
                self.shown.insert((seg.conn, Role::Client), seg.client_state);
                self.shown.insert((seg.conn, Role::Server), seg.server_state);
            }
            Event::Transition(t) => {
                self.shown.insert((t.conn, t.side), t.to);
            }
            _ => {}
        }
    }

    /// Hands out the changes older than `now` by [`SETTLE_NANOS`] and than every
    /// segment the tracker still holds (`held`, the oldest held segment's time).
    pub fn release_due(
        &mut self,
        now: Timestamp,
        held: Option<Timestamp>,
        secs: impl Fn(Timestamp) -> f64,
        out: &mut Vec<Event>,
    ) {
        let due = Timestamp(now.0.saturating_sub(SETTLE_NANOS));
        let limit = held.map_or(due, |h| h.min(due));
        let given_up = Timestamp(now.0.saturating_sub(UNKNOWN_NANOS));
        self.release(|c| c.time < limit, given_up, &secs, out);
    }

    /// Hands out everything left (the capture is over).
    pub fn release_all(&mut self, secs: impl Fn(Timestamp) -> f64, out: &mut Vec<Event>) {
        self.release(|_| true, Timestamp(i64::MAX), &secs, out);
    }

    /// Whether `c` is a socket of a connection seen, or one that never will be (a
    /// listener's own change).
    fn knows(&self, c: &KernelChange) -> bool {
        c.is_listener()
            || self.flows.contains_key(&(c.local, c.remote))
            || self.flows.contains_key(&(c.remote, c.local))
    }

    /// Hands out the changes that are `due`. One whose connection has no segment yet
    /// (a connect whose first SYNs are lost, or not captured yet, or a connect still
    /// without its port) waits for it, unless it happened before `given_up`.
    fn release(
        &mut self,
        due: impl Fn(&KernelChange) -> bool,
        given_up: Timestamp,
        secs: &impl Fn(Timestamp) -> f64,
        out: &mut Vec<Event>,
    ) {
        let mut kept = Vec::new();
        for change in std::mem::take(&mut self.queue) {
            if due(&change) && (self.knows(&change) || change.time < given_up) {
                out.push(Event::KernelState(self.place(&change, secs)));
            } else {
                kept.push(change);
            }
        }
        self.queue = kept;
    }

    fn place(&self, c: &KernelChange, secs: &impl Fn(Timestamp) -> f64) -> KernelState {
        let found = if c.is_listener() {
            None
        } else if let Some(&conn) = self.flows.get(&(c.local, c.remote)) {
            Some((conn, Role::Client))
        } else {
            self.flows.get(&(c.remote, c.local)).map(|&conn| (conn, Role::Server))
        };
        let after = found
            .and_then(|(conn, _)| self.last.get(&conn))
            .map(|&(frame, at)| (frame, (c.time.0 - at.0) as f64 / 1e6));
        let shown =
            found.map(|(conn, side)| self.shown.get(&(conn, side)).copied().unwrap_or(TcpState::Closed));
        let differs = shown.and_then(|shown| differs(c, shown));
        KernelState {
            conn: found.map(|f| f.0),
            side: found.map(|f| f.1),
            local: c.local,
            remote: c.remote,
            from: c.from,
            to: c.to,
            ts: secs(c.time),
            time: c.time,
            after,
            source: c.source,
            shown,
            differs,
        }
    }
}

/// Whether, and why, the kernel's change differs from what the timeline shows (`shown`)
/// for that side at the change's moment.
fn differs(c: &KernelChange, shown: TcpState) -> Option<Differs> {
    let to = c.to.rfc();
    if to == shown {
        return None;
    }
    // The side's own call (connect, close): the segment that shows it follows at once,
    // and the timeline moves the side there with it.
    let own_call = matches!(
        (c.from, c.to),
        (LinuxState::Close, LinuxState::SynSent)
            | (LinuxState::Established, LinuxState::FinWait1)
            | (LinuxState::CloseWait, LinuxState::LastAck)
    );
    if own_call && shown == c.from.rfc() {
        return None;
    }
    Some(match (c.from, c.to) {
        (LinuxState::Listen, LinuxState::SynRecv) => Differs::RequestSocket,
        (_, LinuxState::Close) if shown == TcpState::TimeWait => Differs::TimeWaitSocket,
        _ => Differs::NotOnWire,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kstate::KernelSource;

    fn change(from: LinuxState, to: LinuxState) -> KernelChange {
        KernelChange {
            time: Timestamp(0),
            local: "127.0.0.1:8080".parse().unwrap(),
            remote: "127.0.0.1:40000".parse().unwrap(),
            from,
            to,
            source: KernelSource::Tracepoint,
        }
    }

    #[test]
    fn the_same_state_agrees() {
        let c = change(LinuxState::Established, LinuxState::CloseWait);
        assert_eq!(differs(&c, TcpState::CloseWait), None);
    }

    #[test]
    fn a_sides_own_call_agrees_until_its_segment_shows_it() {
        let c = change(LinuxState::Established, LinuxState::FinWait1);
        assert_eq!(differs(&c, TcpState::Established), None);
        let c = change(LinuxState::Close, LinuxState::SynSent);
        assert_eq!(differs(&c, TcpState::Closed), None);
    }

    #[test]
    fn linuxs_own_ways_are_named() {
        let c = change(LinuxState::Listen, LinuxState::SynRecv);
        assert_eq!(differs(&c, TcpState::Established), Some(Differs::RequestSocket));
        let c = change(LinuxState::FinWait2, LinuxState::Close);
        assert_eq!(differs(&c, TcpState::TimeWait), Some(Differs::TimeWaitSocket));
        let c = change(LinuxState::Established, LinuxState::CloseWait);
        assert_eq!(differs(&c, TcpState::Established), Some(Differs::NotOnWire));
    }

    #[test]
    fn a_listeners_own_change_is_no_connections() {
        let mut merge = KernelMerge::default();
        let mut listen = change(LinuxState::Close, LinuxState::Listen);
        listen.remote = "0.0.0.0:0".parse().unwrap();
        merge.push([listen]);
        let mut out = Vec::new();
        merge.release_all(|_| 0.0, &mut out);
        let [Event::KernelState(k)] = out.as_slice() else { panic!("{out:?}") };
        assert_eq!((k.conn, k.side, k.differs), (None, None, None));
    }
}
