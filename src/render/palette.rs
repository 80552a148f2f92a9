//! Each connection's own colour, the same in every view: the terminal's tag, the
//! ladder's lanes, the SVG's band and the web page.
//!
//! The colours are six of Okabe and Ito's eight ("Color Universal Design", 2008),
//! chosen to stay apart for the common colour-vision deficiencies; their black is
//! left out (it is the text's colour) and so is their yellow (unreadable on white
//! paper and slides). Connection `n` takes colour `n mod 6`, so neighbours in time
//! always differ; a seventh connection shares the first's colour, and its `[n]` tag
//! tells them apart.

use crate::track::ConnId;
use colored::{ColoredString, Colorize};

/// One colour, as the SVG and the page write it and as a 256-colour terminal shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnColor {
    /// Okabe–Ito's name for it.
    pub name: &'static str,
    /// `#rrggbb`, for the SVG and the page.
    pub hex: &'static str,
    /// The nearest of the xterm 256-colour cube: every terminal in use shows these,
    /// where 24-bit colour would fall back to the 16 basic colours (which would make
    /// several of these one) on a terminal that does not announce it.
    pub ansi256: u8,
}

/// The palette, in the order connections take it.
pub const PALETTE: [ConnColor; 6] = [
    ConnColor { name: "blue", hex: "#0072B2", ansi256: 25 },
    ConnColor { name: "orange", hex: "#E69F00", ansi256: 178 },
    ConnColor { name: "bluish green", hex: "#009E73", ansi256: 36 },
    ConnColor { name: "vermillion", hex: "#D55E00", ansi256: 166 },
    ConnColor { name: "sky blue", hex: "#56B4E9", ansi256: 74 },
    ConnColor { name: "reddish purple", hex: "#CC79A7", ansi256: 175 },
];

/// The colour of connection `conn`, fixed by its number alone: the same in every
/// view, and the same however the capture is cut or replayed.
pub fn color_of(conn: ConnId) -> ConnColor {
    PALETTE[conn.0 as usize % PALETTE.len()]
}

/// `text` painted in connection `conn`'s colour (plain when colour is off: the
/// `colored` crate decides, as for every other painted text).
pub fn paint(conn: ConnId, text: &str) -> ColoredString {
    text.color(colored::Color::AnsiColor(color_of(conn).ansi256))
}

/// A connection's tag as every text view writes it: `[3]`, with the number the
/// JSON lines give it (`"conn":3`) and its header names (`connection 3`).
pub fn tag(conn: ConnId) -> String {
    let mut tag = String::new();
    push_tag(&mut tag, conn);
    tag
}

/// Appends [`tag`] to `buf`, written in place with itoa: a replay of many connections
/// writes one on every segment's step line.
pub fn push_tag(buf: &mut String, conn: ConnId) {
    buf.push('[');
    buf.push_str(itoa::Buffer::new().format(conn.0));
    buf.push(']');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbours_never_share_a_colour_and_the_cycle_is_fixed() {
        for n in 0..60u32 {
            assert_ne!(color_of(ConnId(n)), color_of(ConnId(n + 1)), "connections {n} and {}", n + 1);
            assert_eq!(color_of(ConnId(n)), color_of(ConnId(n + PALETTE.len() as u32)));
        }
        assert_eq!(color_of(ConnId(0)).hex, "#0072B2");
        assert_eq!(color_of(ConnId(3)).hex, "#D55E00");
    }

    #[test]
    fn the_palette_is_okabe_ito_without_black_and_yellow() {
        // Okabe & Ito (2008), the eight colours as published.
        let okabe_ito =
            ["#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7"];
        for c in PALETTE {
            assert!(okabe_ito.contains(&c.hex), "{} is not one of Okabe–Ito's", c.hex);
            assert!(c.hex != "#000000" && c.hex != "#F0E442", "{} reads badly on white", c.name);
        }
        let mut hexes: Vec<&str> = PALETTE.iter().map(|c| c.hex).collect();
        hexes.dedup();
        assert_eq!(hexes.len(), PALETTE.len());
    }

    #[test]
    fn each_terminal_colour_is_the_nearest_of_the_256_colour_cube() {
        // xterm's 6×6×6 cube: levels 0, 95, 135, 175, 215, 255.
        let levels = [0u8, 95, 135, 175, 215, 255];
        let cube = |code: u8| {
            let i = code - 16;
            [levels[(i / 36) as usize], levels[(i / 6 % 6) as usize], levels[(i % 6) as usize]]
        };
        let rgb = |hex: &str| {
            let v = u32::from_str_radix(&hex[1..], 16).unwrap();
            [(v >> 16) as u8, (v >> 8) as u8, v as u8]
        };
        let dist = |a: [u8; 3], b: [u8; 3]| -> i32 {
            a.iter().zip(b).map(|(&x, y)| (i32::from(x) - i32::from(y)).pow(2)).sum()
        };
        for c in PALETTE {
            let want = rgb(c.hex);
            // Bluish green lies exactly between 35 and 36: either is the nearest.
            let nearest = (16..=231u8).map(|code| dist(cube(code), want)).min().unwrap();
            assert_eq!(dist(cube(c.ansi256), want), nearest, "{}: {:?} has a nearer colour", c.name, want);
        }
    }
}
