//! Header anatomy: the document's Figure 1 (the TCP header, 32 bits wide) filled with
//! one real segment, then what each field is for, the IP fields that matter, and the
//! frame's bytes with the TCP header marked.

use crate::decode::anatomy::Anatomy;
use crate::i18n::{HeaderField, Lang, Msg};
use crate::track::SegmentEvent;
use crate::track::flags::TcpFlags;
use colored::Colorize;
use etherparse::{TcpOptionElement, TcpOptionsIterator};
use std::io::{self, Write};

/// Everything the view shows about one segment.
pub struct Inspection<'a> {
    pub event: &'a SegmentEvent,
    pub anatomy: &'a Anatomy,
    /// The frame's captured bytes.
    pub bytes: &'a [u8],
    pub wire_len: u32,
    /// The window-scale shift in force for the sender, if negotiated.
    pub window_shift: Option<u8>,
}

pub fn write(out: &mut impl Write, lang: Lang, view: &Inspection<'_>, color: bool) -> io::Result<()> {
    let say = |m: &Msg<'_>| lang.text(m);
    let ev = view.event;
    let a = view.anatomy;
    writeln!(
        out,
        "{}",
        say(&Msg::InspectTitle {
            frame: ev.frame.0,
            src: ev.src,
            dst: ev.dst,
            wire_len: view.wire_len,
            captured: view.bytes.len(),
            step: ev.step,
            label: &ev.label
        })
        .bold()
    )?;
    writeln!(out, "{}\n", say(&Msg::IpFacts(a.ip.clone())))?;

    // Figure 1, filled in.
    let name = |f: HeaderField| say(&Msg::FieldName(f));
    let rel = |raw: u32, rel: Option<u32>| say(&Msg::RelativeValue { raw, rel });
    let ack_value =
        if ev.flags.ack() { rel(ev.ack_raw.0, ev.ack) } else { say(&Msg::AckNotValid { raw: ev.ack_raw.0 }) };
    let words = a.data_offset_words();
    writeln!(out, " 0                   1                   2                   3")?;
    writeln!(out, " 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1")?;
    let rule16 = "+-------------------------------+-------------------------------+";
    let rule32 = "+---------------------------------------------------------------+";
    writeln!(out, "{rule16}")?;
    writeln!(
        out,
        "{}",
        cells(&[
            (16, format!("{} {}", name(HeaderField::SourcePort), a.source_port())),
            (16, format!("{} {}", name(HeaderField::DestinationPort), a.destination_port())),
        ])
    )?;
    writeln!(out, "{rule16}")?;
    writeln!(
        out,
        "{}",
        cells(&[(32, format!("{} {}", name(HeaderField::Sequence), rel(ev.seq_raw.0, Some(ev.seq))))])
    )?;
    writeln!(out, "{rule32}")?;
    writeln!(out, "{}", cells(&[(32, format!("{} {ack_value}", name(HeaderField::Acknowledgment)))]))?;
    writeln!(out, "+-------+-------+-+-+-+-+-+-+-+-+-------------------------------+")?;
    let flag_names: Vec<(usize, String)> =
        TcpFlags::NAMES.iter().map(|(_, n)| (1, n[..1].to_string())).collect();
    let flag_bits: Vec<(usize, String)> =
        TcpFlags::NAMES.iter().map(|(bit, _)| (1, u8::from(a.flags() & bit != 0).to_string())).collect();
    let mut names = vec![(4, "Off".to_string()), (4, "Rsv".to_string())];
    names.extend(flag_names);
    names.push((16, name(HeaderField::Window)));
    let mut values = vec![(4, words.to_string()), (4, a.reserved_bits().to_string())];
    values.extend(flag_bits);
    values.push((16, a.window().to_string()));
    writeln!(out, "{}", cells(&names))?;
    writeln!(out, "{}", cells(&values))?;
    writeln!(out, "+-------+-------+-+-+-+-+-+-+-+-+-------------------------------+")?;
    writeln!(
        out,
        "{}",
        cells(&[
            (16, format!("{} 0x{:04x}", name(HeaderField::Checksum), a.checksum())),
            (16, format!("{} {}", name(HeaderField::UrgentPointer), a.urgent_pointer())),
        ])
    )?;
    writeln!(out, "{rule16}")?;
    let options = describe_options(lang, a.options());
    let options_text =
        format!("{} ({} B): {}", name(HeaderField::Options), a.options().len(), options.join(", "));
    for line in super::wrap(&options_text, 61) {
        writeln!(out, "{}", cells(&[(32, line.to_string())]))?;
    }
    writeln!(out, "{rule32}")?;
    writeln!(out, "{}", cells(&[(32, format!("{} ({} B)", name(HeaderField::Data), ev.len))]))?;
    writeln!(out, "{rule32}\n")?;

    // What each field is for.
    let scaled = view.window_shift.filter(|_| !ev.flags.syn()).map(|s| (u32::from(a.window()) << s, s));
    let field_lines: Vec<(HeaderField, String)> = vec![
        (HeaderField::SourcePort, a.source_port().to_string()),
        (HeaderField::DestinationPort, a.destination_port().to_string()),
        (HeaderField::Sequence, rel(ev.seq_raw.0, Some(ev.seq))),
        (HeaderField::Acknowledgment, ack_value.clone()),
        (HeaderField::DataOffset, say(&Msg::DataOffsetValue { words })),
        (HeaderField::Reserved, a.reserved_bits().to_string()),
        (HeaderField::Flags, TcpFlags(a.flags()).to_string()),
        (HeaderField::Window, say(&Msg::WindowValue { raw: a.window(), scaled })),
        (HeaderField::Checksum, format!("0x{:04x}", a.checksum())),
        (HeaderField::UrgentPointer, a.urgent_pointer().to_string()),
        (HeaderField::Options, if options.is_empty() { "-".into() } else { options.join(", ") }),
        (HeaderField::Data, format!("{} B", ev.len)),
    ];
    for (field, value) in field_lines {
        let label = name(field);
        let pad = " ".repeat(22usize.saturating_sub(textwrap::core::display_width(&label)));
        let head = format!("{label}{pad}{value}");
        writeln!(out, "{}", head.bold())?;
        for line in super::wrap(&say(&Msg::FieldExplain(field)), 74) {
            writeln!(out, "    {line}")?;
        }
        if field == HeaderField::Flags {
            for (_, flag) in TcpFlags::NAMES.iter().rev().filter(|(bit, _)| a.flags() & bit != 0) {
                writeln!(out, "    {flag}=1: {}", say(&Msg::FlagExplain(flag)))?;
            }
        }
    }

    // The bytes, TCP header marked.
    writeln!(
        out,
        "\n{}",
        say(&Msg::HexTitle { start: a.tcp_offset, end: a.tcp_offset + a.tcp_header.len() })
    )?;
    let tcp = a.tcp_offset..a.tcp_offset + a.tcp_header.len();
    for (row, chunk) in view.bytes.chunks(16).enumerate() {
        let start = row * 16;
        let mut hex = String::new();
        let mut marks = String::new();
        for (i, b) in chunk.iter().enumerate() {
            let cell = format!("{b:02x}");
            let inside = tcp.contains(&(start + i));
            if inside && color {
                hex += &cell.black().on_yellow().to_string();
            } else {
                hex += &cell;
            }
            hex.push(' ');
            marks += if inside { "^^ " } else { "   " };
        }
        let pad = "   ".repeat(16 - chunk.len());
        let ascii: String =
            chunk.iter().map(|&b| if b.is_ascii_graphic() || b == b' ' { b as char } else { '.' }).collect();
        writeln!(out, "{start:04x}  {hex}{pad} {ascii}")?;
        if !color && marks.contains('^') {
            writeln!(out, "      {}", marks.trim_end())?;
        }
    }
    Ok(())
}

/// One grid row: each cell `bits` wide (two columns a bit), its text centred.
fn cells(cells: &[(usize, String)]) -> String {
    let mut row = String::from("|");
    for (bits, text) in cells {
        let inner = bits * 2 - 1;
        let text = if textwrap::core::display_width(text) > inner {
            text.chars().take(inner).collect::<String>()
        } else {
            text.clone()
        };
        let free = inner.saturating_sub(textwrap::core::display_width(&text));
        row += &format!("{}{text}{}|", " ".repeat(free / 2), " ".repeat(free - free / 2));
    }
    row
}

/// Each option in the options area, in order, decoded.
pub(crate) fn describe_options(lang: Lang, raw: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    for element in TcpOptionsIterator::from_slice(raw) {
        out.push(match element {
            Ok(TcpOptionElement::Noop) => "NOP".to_string(),
            Ok(TcpOptionElement::MaximumSegmentSize(mss)) => format!("MSS {mss}"),
            Ok(TcpOptionElement::WindowScale(shift)) => format!("WS {shift} (×{})", 1u32 << shift.min(14)),
            Ok(TcpOptionElement::SelectiveAcknowledgementPermitted) => "SACK_PERM".to_string(),
            Ok(TcpOptionElement::SelectiveAcknowledgement(first, rest)) => {
                let blocks: Vec<String> = std::iter::once(first)
                    .chain(rest.iter().flatten().copied())
                    .map(|(l, r)| format!("{l}-{r}"))
                    .collect();
                format!("SACK {}", blocks.join(" "))
            }
            Ok(TcpOptionElement::Timestamp(val, ecr)) => format!("TS val {val} ecr {ecr}"),
            Err(_) => {
                out.push(lang.text(&Msg::OptionsMalformed));
                break;
            }
        });
    }
    out
}
