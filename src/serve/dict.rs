//! The page's words, taken from the catalogue (`crate::i18n`) so that the browser says
//! what the terminal says, in English and Chinese, without a second copy of the texts.
//!
//! A message that depends on a number (a payload length, an address) is said once with
//! a sentinel value that is then replaced by a `{name}` placeholder; the page fills it in.

use crate::i18n::{HeaderField, Lang, Msg, TimeWaitRule};
use crate::track::{Note, Role, Step};
use serde_json::{Map, Value, json};
use std::net::SocketAddr;

/// Sentinels: values no real message shows, replaced by placeholders.
const LEN: u32 = 4_123_456_789;
const PORT: u16 = 65_432;
const UNTIL: f64 = 987_654.321;
const LEFT: f64 = 876_543.2;

/// Notes without numbers of their own; the others are shown by their JSON name.
const NOTES: [Note; 18] = [
    Note::ClientGuessed,
    Note::ConnectionRefused,
    Note::OldDuplicateSyn,
    Note::StraySyn,
    Note::PortsReused,
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
];

/// The dictionary for both languages, as JSON; `rule` is the run's TIME-WAIT rule.
pub fn dictionary(rule: TimeWaitRule) -> Value {
    json!({
        "time_wait_secs": rule.secs(),
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
    // TIME-WAIT's note names its holder: one text per side, `time_wait|client`.
    for side in [Role::Client, Role::Server] {
        let text = say(&Msg::NoteExplain { note: Note::TimeWait(side), port: PORT, rule, until: UNTIL });
        notes.insert(
            format!("time_wait|{}", side.name()),
            text.replace(&format!("{UNTIL:.6}"), "{until}").into(),
        );
    }
    let fields: Map<String, Value> = [
        ("Sequence", HeaderField::Sequence),
        ("Acknowledgment", HeaderField::Acknowledgment),
        ("Flags", HeaderField::Flags),
        ("Window", HeaderField::Window),
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
    json!({
        "sides": sides,
        "steps": steps,
        "explain": explain,
        "notes": notes,
        "fields": fields,
        "time_wait": say(&Msg::LadderTimeWait { rule, until: UNTIL }).replace(&until, "{until}"),
        "kernel": { "client": kernel(Role::Client), "server": kernel(Role::Server) },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sentinel_became_a_placeholder() {
        let text = dictionary(TimeWaitRule::Linux).to_string();
        for sentinel in
            [LEN.to_string(), PORT.to_string(), format!("{UNTIL:.3}"), format!("{LEFT:.1}"), "987654".into()]
        {
            assert!(!text.contains(&sentinel), "{sentinel} left in the dictionary");
        }
        assert!(text.contains("三次握手"), "the Chinese step names are the catalogue's");
        assert!(text.contains("{len}") && text.contains("{until}") && text.contains("{local}"));
    }
}
