//! The page's words, taken from the catalogue (`crate::i18n`) so that the browser says
//! what the terminal says, in English and Chinese, without a second copy of the texts.
//!
//! A message that depends on a number (a payload length, an address) is said once with
//! a sentinel value that is then replaced by a `{name}` placeholder; the page fills it in.

use crate::i18n::{HeaderField, Lang, Msg, TimeWaitRule};
use crate::source::FrameNumber;
use crate::track::{Differs, Note, Role, Step, TcpState};
use serde_json::{Map, Value, json};
use std::net::SocketAddr;

/// Sentinels: values no real message shows, replaced by placeholders.
const LEN: u32 = 4_123_456_789;
const PORT: u16 = 65_432;
const UNTIL: f64 = 987_654.321;
const LEFT: f64 = 876_543.2;
const FRAME: u64 = 3_987_654_321;
const MS: f64 = 765_432.125;
/// A resend's delay in microseconds: said as `765432.1` ms or `765.432` s.
const AFTER_US: u64 = 765_432_100;
const COUNT: u32 = 3_876_543_210;
const ATTEMPT: u32 = 3_765_432_109;
/// Stand-ins for a kernel change's states: their RFC names become `{from}`, `{to}` and
/// `{shown}` (no message names them otherwise).
const FROM: TcpState = TcpState::Listen;
const TO: TcpState = TcpState::SynSent;

/// Notes without numbers of their own; those with numbers follow ([`numbered_notes`]).
const NOTES: [Note; 27] = [
    Note::ClientGuessed,
    Note::ConnectionRefused,
    Note::OldDuplicateSyn,
    Note::StraySyn,
    Note::PortsReused,
    Note::RstIgnored,
    Note::ChallengeAck,
    Note::RstChallenged,
    Note::RstCrossed,
    Note::RstAnswer,
    Note::FinInSynSent,
    Note::MergedClose,
    Note::HalfCloseData,
    Note::SimultaneousClose,
    Note::SimultaneousOpen,
    Note::SpuriousRetransmission,
    Note::OutOfOrder,
    Note::PreviousSegmentNotCaptured,
    Note::AckedUnseen,
    Note::ZeroWindow,
    Note::ZeroWindowProbe,
    Note::ZeroWindowProbeAck,
    Note::WindowFull,
    Note::WindowUpdate,
    Note::KeepAlive,
    Note::KeepAliveAck,
    Note::HeaderCut,
];

/// The dictionary for both languages, as JSON; `rule` is the run's TIME-WAIT rule.
pub fn dictionary(rule: TimeWaitRule) -> Value {
    json!({
        "time_wait_secs": rule.secs(),
        // Connection n's colour is conn_colors[n % 6], as in the terminal and the SVG.
        "conn_colors": crate::render::palette::PALETTE.iter().map(|c| c.hex).collect::<Vec<_>>(),
        // The notes whose own words replace the step's, as in the timeline.
        "told_by_note": NOTES.iter().filter(|n| n.replaces_step_words()).map(|n| n.name()).collect::<Vec<_>>(),
        "en": words(Lang::En, rule),
        "zh": words(Lang::Zh, rule),
    })
}

fn words(lang: Lang, rule: TimeWaitRule) -> Value {
    let say = |m: &Msg<'_>| lang.text(m);
    let sides: Map<String, Value> =
        [Role::Client, Role::Server].iter().map(|&r| (r.name().into(), say(&Msg::Side(r)).into())).collect();
    let steps: Map<String, Value> =
        Step::ALL.iter().map(|&s| (s.to_string(), say(&Msg::StepName(s)).into())).collect();
    let mut explain = Map::new();
    for step in Step::ALL {
        for sender in [Role::Client, Role::Server] {
            let text = say(&Msg::StepExplain { step, sender, len: LEN }).replace(&LEN.to_string(), "{len}");
            explain.insert(format!("{step}|{}", sender.name()), text.into());
        }
    }
    let mut notes: Map<String, Value> = NOTES
        .iter()
        .map(|&note| {
            let text = say(&Msg::NoteExplain { note, port: PORT, rule, until: UNTIL });
            (note.name().into(), text.replace(&PORT.to_string(), "{port}").into())
        })
        .collect();
    numbered_notes(&mut notes, &say);
    // TIME-WAIT's note names its holder: one text per side, `time_wait|client`.
    for side in [Role::Client, Role::Server] {
        let text = say(&Msg::NoteExplain { note: Note::TimeWait(side), port: PORT, rule, until: UNTIL });
        notes.insert(
            format!("time_wait|{}", side.name()),
            text.replace(&format!("{UNTIL:.6}"), "{until}").into(),
        );
    }
    let fields: Map<String, Value> = [
        ("SourcePort", HeaderField::SourcePort),
        ("DestinationPort", HeaderField::DestinationPort),
        ("Sequence", HeaderField::Sequence),
        ("Acknowledgment", HeaderField::Acknowledgment),
        ("DataOffset", HeaderField::DataOffset),
        ("Flags", HeaderField::Flags),
        ("Window", HeaderField::Window),
        ("Checksum", HeaderField::Checksum),
        ("UrgentPointer", HeaderField::UrgentPointer),
        ("Options", HeaderField::Options),
    ]
    .iter()
    .map(|&(key, field)| (key.into(), say(&Msg::FieldName(field)).into()))
    .collect();
    let until = format!("{UNTIL:.3}");
    let local: SocketAddr = ([192, 0, 2, 1], 1).into();
    let remote: SocketAddr = ([192, 0, 2, 2], 2).into();
    let kernel = |side| {
        say(&Msg::KernelTimeWait { side, local, remote, left: Some(LEFT) })
            .replace(&local.to_string(), "{local}")
            .replace(&remote.to_string(), "{remote}")
            .replace(&format!("{LEFT:.1}"), "{left}")
    };
    // `--kernel`'s changes: after a frame, or before the connection's first segment; and
    // why tcplab shows another state at that moment, per reason and side.
    let mut kernel_state = Map::new();
    let mut differs = Map::new();
    for side in [Role::Client, Role::Server] {
        let change = |after| {
            say(&Msg::KernelState { side, from: FROM, to: TO, after })
                .replace(FROM.name(), "{from}")
                .replace(TO.name(), "{to}")
                .replace(&FRAME.to_string(), "{frame}")
                .replace(&format!("{MS:.3}"), "{ms}")
        };
        kernel_state.insert(format!("after|{}", side.name()), change(Some((FRAME, MS))).into());
        kernel_state.insert(format!("before|{}", side.name()), change(None).into());
        for why in [Differs::RequestSocket, Differs::TimeWaitSocket, Differs::NotOnWire] {
            let text = say(&Msg::KernelDiffers { why, side, shown_at: FROM }).replace(FROM.name(), "{shown}");
            differs.insert(format!("{}|{}", why.name(), side.name()), text.into());
        }
    }
    json!({
        "sides": sides,
        "steps": steps,
        "explain": explain,
        "notes": notes,
        "fields": fields,
        "time_wait": say(&Msg::LadderTimeWait { rule, until: UNTIL }).replace(&until, "{until}"),
        "kernel": { "client": kernel(Role::Client), "server": kernel(Role::Server) },
        "kernel_state": kernel_state,
        "differs": differs,
    })
}

/// The notes that carry numbers, with placeholders the page fills from the segment's
/// `retransmission`, `syn_retransmission` and `dup_ack` objects: `{of}`, `{ms}`,
/// `{attempt}`, `{s}`, `{count}`.
fn numbered_notes(notes: &mut Map<String, Value>, say: &impl Fn(&Msg<'_>) -> String) {
    let frame = FrameNumber(FRAME);
    let placeholders = |text: String| {
        text.replace(&FRAME.to_string(), "{of}")
            .replace(&format!("{:.1}", AFTER_US as f64 / 1e3), "{ms}")
            .replace(&format!("{:.3}", AFTER_US as f64 / 1e6), "{s}")
            .replace(&COUNT.to_string(), "{count}")
            .replace(&ATTEMPT.to_string(), "{attempt}")
    };
    for note in [
        Note::Retransmission { of: frame, after_us: AFTER_US },
        Note::FastRetransmission { of: frame },
        Note::SynRetransmission { attempt: ATTEMPT, after_us: AFTER_US },
        Note::DupAck { of: frame, count: COUNT },
    ] {
        let text = say(&Msg::NoteExplain { note, port: PORT, rule: TimeWaitRule::Linux, until: UNTIL });
        notes.insert(note.name().into(), placeholders(text).into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sentinel_became_a_placeholder() {
        let text = dictionary(TimeWaitRule::Linux).to_string();
        for sentinel in [
            LEN.to_string(),
            PORT.to_string(),
            format!("{UNTIL:.3}"),
            format!("{LEFT:.1}"),
            "987654".into(),
            FRAME.to_string(),
            COUNT.to_string(),
            ATTEMPT.to_string(),
            "765432".into(),
            "765.432".into(),
        ] {
            assert!(!text.contains(&sentinel), "{sentinel} left in the dictionary");
        }
        assert!(text.contains("三次握手"), "the Chinese step names are the catalogue's");
        assert!(text.contains("{len}") && text.contains("{until}") && text.contains("{local}"));
        // The kernel's words name states only by their placeholders (other texts name
        // states of their own).
        let kernel = dictionary(TimeWaitRule::Linux)["en"]["kernel_state"].to_string();
        assert!(!kernel.contains(FROM.name()) && !kernel.contains(TO.name()), "{kernel}");
        for placeholder in
            ["{from}", "{to}", "{frame}", "{ms}", "{shown}", "{of}", "{s}", "{attempt}", "{count}"]
        {
            assert!(text.contains(placeholder), "{placeholder} missing from the kernel's words");
        }
    }
}
