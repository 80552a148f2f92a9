//! tshark's TCP analysis flags and the names tcplab gives them, for the tests that hold
//! tcplab's expert notes to tshark (`tshark_expert.rs`, `tshark_corpus.rs`).

/// tshark's analysis fields and the names tcplab gives them in JSON `notes`.
pub const FIELDS: [(&str, &str); 15] = [
    ("tcp.analysis.retransmission", "retransmission"),
    ("tcp.analysis.fast_retransmission", "fast_retransmission"),
    ("tcp.analysis.spurious_retransmission", "spurious_retransmission"),
    ("tcp.analysis.out_of_order", "out_of_order"),
    ("tcp.analysis.duplicate_ack", "dup_ack"),
    ("tcp.analysis.lost_segment", "previous_segment_not_captured"),
    ("tcp.analysis.ack_lost_segment", "acked_unseen"),
    ("tcp.analysis.zero_window", "zero_window"),
    ("tcp.analysis.zero_window_probe", "zero_window_probe"),
    ("tcp.analysis.zero_window_probe_ack", "zero_window_probe_ack"),
    ("tcp.analysis.window_full", "window_full"),
    ("tcp.analysis.window_update", "window_update"),
    ("tcp.analysis.keep_alive", "keep_alive"),
    ("tcp.analysis.keep_alive_ack", "keep_alive_ack"),
    ("tcp.analysis.reused_ports", "ports_reused"),
];
