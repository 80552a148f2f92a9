//! A JSON object written straight into a byte buffer, as serde_json would write it.
//!
//! Segment, transition and connection lines are nearly all of a big capture's JSON
//! lines. Through serde's derive, every key and every string went through serde_json's
//! general escaping loop and every piece was its own small copy: that was most of the
//! rendering thread's time (`perf`, 400,000 connections). Here keys are written whole,
//! names that are known ASCII words are copied as they are, integers come from `itoa`
//! and floats from `zmij` (serde_json's own float writer), and any other string is
//! escaped by serde_json's rules, so the text is the same byte for byte.

use crate::source::Timestamp;

/// One object being written; [`JsonObject::end`] closes it and ends the line.
pub struct JsonObject<'a> {
    out: &'a mut Vec<u8>,
    /// No field written yet (a nested object's first key takes no comma).
    empty: bool,
}

impl<'a> JsonObject<'a> {
    /// Starts `{"type":"<kind>"` in `out`.
    pub fn start(out: &'a mut Vec<u8>, kind: &'static str) -> JsonObject<'a> {
        out.extend_from_slice(b"{\"type\":\"");
        out.extend_from_slice(kind.as_bytes());
        out.push(b'"');
        JsonObject { out, empty: false }
    }

    /// `,"key":`. Keys are the contract's own field names: plain ASCII. Inlined, as
    /// the small writers below are, so that each key's copy has a length known where it
    /// is written and needs no call to `memcpy`.
    #[inline(always)]
    fn key(&mut self, key: &'static str) -> &mut Vec<u8> {
        self.out.extend_from_slice(if self.empty { b"\"" } else { b",\"" });
        self.empty = false;
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
        self.out
    }

    #[inline(always)]
    pub fn uint(&mut self, key: &'static str, value: u64) -> &mut Self {
        let out = self.key(key);
        out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
        self
    }

    #[inline(always)]
    pub fn opt_uint(&mut self, key: &'static str, value: Option<u64>) -> &mut Self {
        match value {
            Some(value) => self.uint(key, value),
            None => self.null(key),
        }
    }

    /// A float as serde_json writes one: shortest digits, `null` when not finite.
    #[inline(always)]
    pub fn float(&mut self, key: &'static str, value: f64) -> &mut Self {
        let out = self.key(key);
        if value.is_finite() {
            out.extend_from_slice(zmij::Buffer::new().format_finite(value).as_bytes());
        } else {
            out.extend_from_slice(b"null");
        }
        self
    }

    #[inline(always)]
    pub fn opt_float(&mut self, key: &'static str, value: Option<f64>) -> &mut Self {
        match value {
            Some(value) => self.float(key, value),
            None => self.null(key),
        }
    }

    #[inline(always)]
    pub fn bool(&mut self, key: &'static str, value: bool) -> &mut Self {
        let out = self.key(key);
        out.extend_from_slice(if value { b"true" } else { b"false" });
        self
    }

    #[inline(always)]
    pub fn null(&mut self, key: &'static str) -> &mut Self {
        self.key(key).extend_from_slice(b"null");
        self
    }

    /// A string from the program's own vocabulary (a state, a flag, a direction): a
    /// word with nothing to escape, copied as it is.
    #[inline(always)]
    pub fn name(&mut self, key: &'static str, value: &'static str) -> &mut Self {
        debug_assert!(value.bytes().all(|b| ESCAPE[usize::from(b)] == 0), "{value:?} needs escaping");
        let out = self.key(key);
        out.push(b'"');
        out.extend_from_slice(value.as_bytes());
        out.push(b'"');
        self
    }

    #[inline(always)]
    pub fn opt_name(&mut self, key: &'static str, value: Option<&'static str>) -> &mut Self {
        match value {
            Some(value) => self.name(key, value),
            None => self.null(key),
        }
    }

    /// Any string, escaped as serde_json escapes it.
    #[inline(always)]
    pub fn text(&mut self, key: &'static str, value: &str) -> &mut Self {
        let out = self.key(key);
        push_string(out, value);
        self
    }

    /// A list of names (`["SYN","ACK"]`).
    pub fn names(&mut self, key: &'static str, values: impl Iterator<Item = &'static str>) -> &mut Self {
        let out = self.key(key);
        out.push(b'[');
        for (i, value) in values.enumerate() {
            if i > 0 {
                out.push(b',');
            }
            debug_assert!(value.bytes().all(|b| ESCAPE[usize::from(b)] == 0));
            out.push(b'"');
            out.extend_from_slice(value.as_bytes());
            out.push(b'"');
        }
        out.push(b']');
        self
    }

    /// A list of any strings, each escaped.
    pub fn texts<'s>(&mut self, key: &'static str, values: impl Iterator<Item = &'s str>) -> &mut Self {
        let out = self.key(key);
        out.push(b'[');
        for (i, value) in values.enumerate() {
            if i > 0 {
                out.push(b',');
            }
            push_string(out, value);
        }
        out.push(b']');
        self
    }

    /// An object inside this one, its fields written by `fields`.
    pub fn object(&mut self, key: &'static str, fields: impl FnOnce(&mut JsonObject)) -> &mut Self {
        let out = self.key(key);
        out.push(b'{');
        let mut inner = JsonObject { out, empty: true };
        fields(&mut inner);
        inner.out.push(b'}');
        self
    }

    /// A socket address as text (`"10.0.0.1:80"`, `"[::1]:80"`).
    #[inline(always)]
    pub fn address(&mut self, key: &'static str, value: std::net::SocketAddr) -> &mut Self {
        let out = self.key(key);
        out.push(b'"');
        crate::numfmt::Addr(value).push_to_bytes(out);
        out.push(b'"');
        self
    }

    /// The exact capture time as a string of Unix seconds with nine decimals, as the
    /// timestamp's `Display` writes it; `null` when unknown.
    #[inline(always)]
    pub fn time(&mut self, key: &'static str, value: Option<Timestamp>) -> &mut Self {
        let Some(Timestamp(nanos)) = value else { return self.null(key) };
        let out = self.key(key);
        let (secs, fraction) = (nanos.div_euclid(1_000_000_000), nanos.rem_euclid(1_000_000_000));
        let mut itoa = itoa::Buffer::new();
        out.push(b'"');
        out.extend_from_slice(itoa.format(secs).as_bytes());
        out.push(b'.');
        // 10⁹ plus the fraction is a 1 and then exactly nine digits, leading zeros kept.
        out.extend_from_slice(&itoa.format(1_000_000_000 + fraction).as_bytes()[1..]);
        out.push(b'"');
        self
    }

    /// A value written by its `Display` (a step name), as a string. Its text must need
    /// no escaping, as the contract's words do not.
    pub fn display(&mut self, key: &'static str, value: impl std::fmt::Display) -> &mut Self {
        use std::io::Write as _;
        let out = self.key(key);
        out.push(b'"');
        let _ = write!(out, "{value}");
        out.push(b'"');
        self
    }

    /// Closes the object and ends the line.
    pub fn end(&mut self) {
        self.out.extend_from_slice(b"}\n");
    }
}

/// What serde_json writes for each byte of a string: 0 for the byte itself, else the
/// letter of its short escape, or `u` for `\u00XX`.
const ESCAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = b'u';
        b += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0a] = b'n';
    table[0x0c] = b'f';
    table[0x0d] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

/// `value` as a JSON string, quotes included, escaped as serde_json does.
pub fn push_string(out: &mut Vec<u8>, value: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let bytes = value.as_bytes();
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape = ESCAPE[usize::from(b)];
        if escape == 0 {
            continue;
        }
        out.extend_from_slice(&bytes[run..i]);
        run = i + 1;
        match escape {
            b'u' => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xf)],
            ]),
            letter => out.extend_from_slice(&[b'\\', letter]),
        }
    }
    out.extend_from_slice(&bytes[run..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn one(write: impl FnOnce(&mut JsonObject)) -> String {
        let mut out = Vec::new();
        let mut object = JsonObject::start(&mut out, "t");
        write(&mut object);
        object.end();
        String::from_utf8(out).unwrap()
    }

    proptest! {
        #[test]
        fn strings_are_escaped_as_serde_json_escapes_them(s in any::<String>()) {
            let mut out = Vec::new();
            push_string(&mut out, &s);
            prop_assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(&s).unwrap());
        }

        #[test]
        fn floats_are_written_as_serde_json_writes_them(x in any::<f64>()) {
            let line = one(|o| { o.float("x", x); });
            let expected = format!("{{\"type\":\"t\",\"x\":{}}}\n", serde_json::to_string(&x).unwrap());
            prop_assert_eq!(line, expected);
        }

        #[test]
        fn times_are_written_as_their_display(nanos in any::<i64>()) {
            let line = one(|o| { o.time("time", Some(Timestamp(nanos))); });
            prop_assert_eq!(line, format!("{{\"type\":\"t\",\"time\":\"{}\"}}\n", Timestamp(nanos)));
        }

        #[test]
        fn addresses_are_written_as_their_display(v4 in any::<std::net::SocketAddrV4>(), v6 in any::<std::net::SocketAddrV6>()) {
            for addr in [std::net::SocketAddr::V4(v4), std::net::SocketAddr::V6(v6)] {
                let line = one(|o| { o.address("a", addr); });
                prop_assert_eq!(line, format!("{{\"type\":\"t\",\"a\":\"{addr}\"}}\n"));
            }
        }
    }

    #[test]
    fn an_object_reads_back_as_json() {
        let line = one(|o| {
            o.uint("n", 7)
                .opt_uint("none", None)
                .bool("yes", true)
                .name("state", "TIME-WAIT")
                .opt_name("by", Some("client"))
                .names("flags", ["SYN", "ACK"].into_iter())
                .names("notes", std::iter::empty())
                .text("path", "a \"b\"\n")
                .opt_float("rtt", Some(0.5))
                .display("step", "handshake 1/3")
                .object("dup_ack", |o| {
                    o.uint("of_frame", 3).uint("count", 1);
                })
                .texts("options", ["MSS 1460", "x\ty"].into_iter());
        });
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"type": "t", "n": 7, "none": null, "yes": true, "state": "TIME-WAIT",
                "by": "client", "flags": ["SYN", "ACK"], "notes": [], "path": "a \"b\"\n",
                "rtt": 0.5, "step": "handshake 1/3", "dup_ack": {"of_frame": 3, "count": 1},
                "options": ["MSS 1460", "x\ty"]})
        );
    }
}
