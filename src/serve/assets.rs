//! The page's files, built into the binary from `src/serve/page/`, and the two ways
//! they are delivered: one by one from the server, or put together into one HTML file.

use serde_json::Value;
use sha2::{Digest, Sha256};

pub const INDEX: &str = include_str!("page/index.html");
pub const APP: &str = include_str!("page/app.js");
pub const STYLE: &str = include_str!("page/style.css");

/// The served page's policy: scripts and styles only from the server's own files, and
/// the event stream the only thing it may connect to.
pub const SERVED_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; img-src 'self' data: blob:; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

/// The page as the server sends it: its script and style are separate files.
pub fn served_index() -> String {
    INDEX.replace("<!--CSP-->", "").replace("<!--DATA-->", "")
}

/// JSON made safe inside a `<script>` element: a `<` can only stand inside a JSON
/// string, where `\u003c` means the same, so no payload can close the element.
fn script_safe(json: &str) -> String {
    json.replace('<', "\\u003c")
}

/// The base64 SHA-256 of an inline element, as a CSP source (`'sha256-…'`).
fn csp_hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    format!("'sha256-{}'", base64(&digest))
}

fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// One self-contained file: the page with its style and script inline, the events
/// (JSON lines, `docs/json.md`) and the dictionary embedded as data. Its policy allows
/// exactly that script and style and no network access at all.
pub fn html_file(events: &str, dict: &Value) -> String {
    let csp = format!(
        "default-src 'none'; script-src {}; style-src {}; img-src data: blob:; base-uri 'none'; \
         form-action 'none'",
        csp_hash(APP),
        csp_hash(STYLE)
    );
    let data = format!(
        "<script type=\"application/json\" id=\"dict\">{}</script>\n\
         <script type=\"application/json\" id=\"events\">\n{}</script>",
        script_safe(&dict.to_string()),
        script_safe(events)
    );
    INDEX
        .replace("<!--CSP-->", &format!("<meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">"))
        .replace("<link rel=\"stylesheet\" href=\"style.css\">", &format!("<style>{STYLE}</style>"))
        .replace("<script src=\"app.js\"></script>", &format!("<script>{APP}</script>"))
        .replace("<!--DATA-->", &data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_rfc_examples() {
        for (plain, coded) in
            [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foobar", "Zm9vYmFy")]
        {
            assert_eq!(base64(plain.as_bytes()), coded);
        }
    }

    #[test]
    fn embedded_json_cannot_close_its_element() {
        let line = serde_json::json!({"source": "</script><img src=x onerror=alert(1)>"}).to_string();
        let page = html_file(&line, &serde_json::json!({}));
        assert!(!page.contains("</script><img"));
        assert_eq!(page.matches("<script").count(), page.matches("</script>").count());
    }

    #[test]
    fn the_file_inlines_its_script_and_style() {
        let page = html_file("", &serde_json::json!({}));
        assert!(!page.contains("src=\"app.js\"") && !page.contains("href=\"style.css\""));
        assert!(page.contains(&csp_hash(APP)) && page.contains("default-src 'none'"));
    }
}
