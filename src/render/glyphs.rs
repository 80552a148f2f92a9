//! Chinese in the SVG, drawn: each label with Chinese in it becomes the outlines of its
//! glyphs (a `<path>`, the words kept in its `<title>`), taken when the SVG is written
//! from a CJK font found on this machine. The picture then looks the same on a
//! projector's laptop with no CJK font, where text would show as boxes. Without such a
//! font the labels stay text (and `replay` says so in one line). No font ships with
//! tcplab: WenQuanYi Micro Hei, Noto Sans CJK and the systems' own are used where they
//! are installed.

use std::fmt::Write as _;

/// Where CJK fonts are installed on Debian/Ubuntu, Fedora, macOS and Windows, in order.
/// `TCPLAB_CJK_FONT` names another file (or `none`, for no outlines at all).
const CANDIDATES: [&str; 7] = [
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "C:\\Windows\\Fonts\\msyh.ttc",
];

/// A font with Chinese glyphs, read whole (the first face of a collection).
pub struct CjkFont {
    data: Vec<u8>,
}

/// Where a label's x is: its start, middle or end (SVG's `text-anchor`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    Start,
    Middle,
    End,
}

impl CjkFont {
    /// The first usable CJK font: `TCPLAB_CJK_FONT`, else the usual places.
    pub fn find() -> Option<CjkFont> {
        match std::env::var("TCPLAB_CJK_FONT") {
            Ok(path) if path == "none" => None,
            Ok(path) => CjkFont::open(&path),
            Err(_) => CANDIDATES.iter().find_map(|path| CjkFont::open(path)),
        }
    }

    fn open(path: &str) -> Option<CjkFont> {
        let data = std::fs::read(path).ok()?;
        let face = ttf_parser::Face::parse(&data, 0).ok()?;
        // A font for Chinese has the document's words in it.
        face.glyph_index('握')?;
        Some(CjkFont { data })
    }

    /// The outlines of `text` at `size` px on the baseline `y`, placed by `anchor`
    /// around `x` and, with `length`, squeezed or stretched to that many px (as SVG's
    /// `textLength` does): path data in the SVG's own coordinates. `None` when a
    /// character has no glyph in this font.
    pub fn outline(
        &self,
        text: &str,
        (x, y): (f64, f64),
        size: f64,
        anchor: Anchor,
        length: Option<f64>,
    ) -> Option<String> {
        let face = ttf_parser::Face::parse(&self.data, 0).ok()?;
        let scale = size / f64::from(face.units_per_em());
        let glyphs: Vec<ttf_parser::GlyphId> =
            text.chars().map(|c| face.glyph_index(c)).collect::<Option<_>>()?;
        let advance = |g| f64::from(face.glyph_hor_advance(g).unwrap_or(0)) * scale;
        let natural: f64 = glyphs.iter().map(|&g| advance(g)).sum();
        let squeeze = match length {
            Some(len) if natural > 0.0 => len / natural,
            _ => 1.0,
        };
        let width = natural * squeeze;
        let left = match anchor {
            Anchor::Start => x,
            Anchor::Middle => x - width / 2.0,
            Anchor::End => x - width,
        };
        let mut pen = Pen { d: String::new(), x: left, y, sx: scale * squeeze, sy: scale };
        for g in glyphs {
            face.outline_glyph(g, &mut pen);
            pen.x += advance(g) * squeeze;
        }
        Some(pen.d)
    }
}

/// Writes a glyph's outline as path data, from font units to the SVG's pixels.
struct Pen {
    d: String,
    /// Where the glyph's origin is, in the SVG.
    x: f64,
    y: f64,
    sx: f64,
    sy: f64,
}

impl Pen {
    fn point(&mut self, x: f32, y: f32) {
        let _ =
            write!(self.d, "{:.1} {:.1} ", self.x + f64::from(x) * self.sx, self.y - f64::from(y) * self.sy);
    }
}

impl ttf_parser::OutlineBuilder for Pen {
    fn move_to(&mut self, x: f32, y: f32) {
        self.d.push('M');
        self.point(x, y);
    }
    fn line_to(&mut self, x: f32, y: f32) {
        self.d.push('L');
        self.point(x, y);
    }
    fn quad_to(&mut self, x1: f32, y1: f32, x: f32, y: f32) {
        self.d.push('Q');
        self.point(x1, y1);
        self.point(x, y);
    }
    fn curve_to(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, x: f32, y: f32) {
        self.d.push('C');
        self.point(x1, y1);
        self.point(x2, y2);
        self.point(x, y);
    }
    fn close(&mut self) {
        self.d.push_str("Z ");
    }
}

/// Whether `text` has Chinese (or other wide) characters that a Latin font lacks.
pub fn has_cjk(text: &str) -> bool {
    text.chars().any(|c| ('\u{2e80}'..='\u{9fff}').contains(&c) || ('\u{ff00}'..='\u{ffef}').contains(&c))
}

/// Replaces each one-line `<text …>label</text>` of `svg` that has Chinese in it by
/// the outlines of its glyphs, in the same colour (bold as a stroke of that colour),
/// the label itself kept in a `<title>`. Labels the font cannot draw stay text.
pub fn draw_cjk(svg: &str, font: &CjkFont) -> String {
    let mut out = String::with_capacity(svg.len() * 4);
    for line in svg.split_inclusive('\n') {
        match text_element(line).filter(|t| has_cjk(&t.label)).and_then(|t| t.drawn(font)) {
            Some(path) => {
                out.push_str(&path);
                out.push('\n');
            }
            None => out.push_str(line),
        }
    }
    out
}

/// One `<text>` element as svg.rs writes it: its attributes and its label.
struct TextElement<'a> {
    attrs: &'a str,
    /// The label, its XML escapes as written.
    escaped: &'a str,
    label: String,
}

fn text_element(line: &str) -> Option<TextElement<'_>> {
    let rest = line.trim_end().strip_prefix("<text ")?.strip_suffix("</text>")?;
    let (attrs, escaped) = rest.split_once('>')?;
    let label =
        escaped.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&amp;", "&");
    Some(TextElement { attrs, escaped, label })
}

impl TextElement<'_> {
    fn attr(&self, name: &str) -> Option<&str> {
        let start = self.attrs.find(&format!("{name}=\""))? + name.len() + 2;
        let len = self.attrs[start..].find('"')?;
        Some(&self.attrs[start..start + len])
    }

    fn number(&self, name: &str) -> Option<f64> {
        self.attr(name)?.parse().ok()
    }

    fn drawn(&self, font: &CjkFont) -> Option<String> {
        let anchor = match self.attr("text-anchor") {
            Some("middle") => Anchor::Middle,
            Some("end") => Anchor::End,
            _ => Anchor::Start,
        };
        let size = self.number("font-size")?;
        let d = font.outline(
            &self.label,
            (self.number("x")?, self.number("y")?),
            size,
            anchor,
            self.number("textLength"),
        )?;
        let fill = self.attr("fill").unwrap_or("#000");
        let bold = match self.attr("font-weight") {
            Some("bold") => format!(r#" stroke="{fill}" stroke-width="{:.2}""#, size / 28.0),
            _ => String::new(),
        };
        Some(format!(
            r#"<path d="{}" fill="{fill}"{bold}><title>{}</title></path>"#,
            d.trim_end(),
            self.escaped
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_label_is_read_back_from_its_element() {
        let line = r##"<text x="480" y="40" font-size="13" fill="#555" text-anchor="middle">第一次握手 &amp; SYN</text>"##;
        let t = text_element(line).unwrap();
        assert_eq!(t.label, "第一次握手 & SYN");
        assert_eq!(
            (t.number("x"), t.attr("text-anchor"), t.attr("fill")),
            (Some(480.0), Some("middle"), Some("#555"))
        );
        assert!(has_cjk(&t.label) && !has_cjk("SYN=1 seq=x → ESTABLISHED"));
    }

    #[test]
    fn outlines_stand_where_the_text_would() {
        let Some(font) = CjkFont::find() else {
            eprintln!("no CJK font on this machine: outlines not checked here");
            return;
        };
        let d = font.outline("握手", (100.0, 50.0), 20.0, Anchor::Middle, None).unwrap();
        let numbers: Vec<f64> =
            d.split(|c: char| c.is_ascii_alphabetic() || c == ' ').filter_map(|n| n.parse().ok()).collect();
        let xs: Vec<f64> = numbers.iter().step_by(2).copied().collect();
        let ys: Vec<f64> = numbers.iter().skip(1).step_by(2).copied().collect();
        let (min_x, max_x) = xs.iter().fold((f64::MAX, f64::MIN), |(a, b), &x| (a.min(x), b.max(x)));
        // Two glyphs of about one em each, centred on x = 100, above the baseline.
        assert!(min_x > 75.0 && min_x < 100.0 && max_x > 100.0 && max_x < 125.0, "{min_x}..{max_x}");
        assert!(ys.iter().all(|&y| y > 25.0 && y < 56.0), "{ys:?}");
        let squeezed = font.outline("握手", (100.0, 50.0), 20.0, Anchor::Start, Some(20.0)).unwrap();
        assert_ne!(squeezed, d);
    }
}
