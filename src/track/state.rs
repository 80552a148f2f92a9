//! The eleven connection states of RFC 9293 §3.3.2, spelled as the RFC spells them.

use serde::Serialize;
use std::fmt;

/// The state of one end of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum TcpState {
    #[serde(rename = "CLOSED")]
    Closed,
    #[serde(rename = "LISTEN")]
    Listen,
    #[serde(rename = "SYN-SENT")]
    SynSent,
    #[serde(rename = "SYN-RECEIVED")]
    SynReceived,
    #[serde(rename = "ESTABLISHED")]
    Established,
    #[serde(rename = "FIN-WAIT-1")]
    FinWait1,
    #[serde(rename = "FIN-WAIT-2")]
    FinWait2,
    #[serde(rename = "CLOSE-WAIT")]
    CloseWait,
    #[serde(rename = "CLOSING")]
    Closing,
    #[serde(rename = "LAST-ACK")]
    LastAck,
    #[serde(rename = "TIME-WAIT")]
    TimeWait,
}

impl TcpState {
    pub const ALL: [TcpState; 11] = [
        TcpState::Closed,
        TcpState::Listen,
        TcpState::SynSent,
        TcpState::SynReceived,
        TcpState::Established,
        TcpState::FinWait1,
        TcpState::FinWait2,
        TcpState::CloseWait,
        TcpState::Closing,
        TcpState::LastAck,
        TcpState::TimeWait,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TcpState::Closed => "CLOSED",
            TcpState::Listen => "LISTEN",
            TcpState::SynSent => "SYN-SENT",
            TcpState::SynReceived => "SYN-RECEIVED",
            TcpState::Established => "ESTABLISHED",
            TcpState::FinWait1 => "FIN-WAIT-1",
            TcpState::FinWait2 => "FIN-WAIT-2",
            TcpState::CloseWait => "CLOSE-WAIT",
            TcpState::Closing => "CLOSING",
            TcpState::LastAck => "LAST-ACK",
            TcpState::TimeWait => "TIME-WAIT",
        }
    }

    /// Whether RFC 9293's state diagram (Figure 5) and its text (§3.10) allow going
    /// from `self` to `to` in one step. RST aborts from any synchronised state to
    /// CLOSED, a passively opened SYN-RECEIVED falls back to LISTEN, and a FIN that
    /// arrives in SYN-RECEIVED leads to CLOSE-WAIT (§3.10.7.4).
    pub fn can_become(self, to: TcpState) -> bool {
        use TcpState::*;
        if to == Closed {
            // CLOSE from LISTEN/SYN-SENT, RST from any state, LAST-ACK's final ACK,
            // TIME-WAIT's timeout.
            return self != Closed;
        }
        matches!(
            (self, to),
            (Closed, Listen)
                | (Closed, SynSent)
                | (Listen, SynSent)
                | (Listen, SynReceived)
                | (SynSent, SynReceived)
                | (SynSent, Established)
                | (SynReceived, Established)
                | (SynReceived, Listen)
                | (SynReceived, FinWait1)
                | (Established, FinWait1)
                | (Established, CloseWait)
                | (SynReceived, CloseWait)
                | (FinWait1, FinWait2)
                | (FinWait1, Closing)
                | (FinWait1, TimeWait)
                | (FinWait2, TimeWait)
                | (CloseWait, LastAck)
                | (Closing, TimeWait)
        )
    }
}

impl fmt::Display for TcpState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_rfc_spellings() {
        let names: Vec<_> = TcpState::ALL.iter().map(|s| s.to_string()).collect();
        assert_eq!(
            names.join(" "),
            "CLOSED LISTEN SYN-SENT SYN-RECEIVED ESTABLISHED FIN-WAIT-1 FIN-WAIT-2 \
             CLOSE-WAIT CLOSING LAST-ACK TIME-WAIT"
        );
    }

    #[test]
    fn the_textbook_path_is_legal_and_shortcuts_are_not() {
        use TcpState::*;
        for (a, b) in [
            (Closed, SynSent),
            (SynSent, Established),
            (Established, FinWait1),
            (FinWait1, FinWait2),
            (FinWait2, TimeWait),
            (TimeWait, Closed),
            (Listen, SynReceived),
            (Established, CloseWait),
            (CloseWait, LastAck),
            (LastAck, Closed),
        ] {
            assert!(a.can_become(b), "{a} -> {b}");
        }
        assert!(!Closed.can_become(Established));
        assert!(!FinWait2.can_become(Established));
        assert!(!TimeWait.can_become(FinWait1));
    }
}
