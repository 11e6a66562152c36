//! Client-supplied strings in log lines: escaped and truncated.
//!
//! Topic names, group ids, client ids and member ids come off the wire, and so do error
//! messages that quote them. Written raw, a newline in a topic name forges a log line and a
//! 1 MiB group id becomes a 1 MiB line per request. [`escape`] wraps any `Display` so that
//! control and other non-printable characters come out as Rust's `escape_debug` writes them
//! (`\n`, `\u{1b}`; backslashes doubled, so an escape cannot be faked), and only the first
//! [`MAX_LOGGED_BYTES`] bytes of it are written, followed by a marker with the full length.
//!
//! Quotes are left alone (unlike `escape_debug`): strom's own messages quote names, and a
//! quote cannot end a log line.

use std::fmt::{self, Display, Write};

/// How many bytes of one value a log line shows: room for any valid Kafka topic name (249)
/// and a message around it, not for a hostile one.
pub const MAX_LOGGED_BYTES: usize = 512;

/// `value`, escaped and cut at [`MAX_LOGGED_BYTES`] when displayed.
pub fn escape<T: Display>(value: T) -> Escaped<T> {
    escape_max(value, MAX_LOGGED_BYTES)
}

/// [`escape`] with another bound (in bytes of the original text).
pub fn escape_max<T: Display>(value: T, max_bytes: usize) -> Escaped<T> {
    Escaped { value, max_bytes }
}

/// See [`escape`].
#[derive(Debug, Clone, Copy)]
pub struct Escaped<T> {
    value: T,
    max_bytes: usize,
}

impl<T: Display> Display for Escaped<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = Limited {
            out: f,
            max_bytes: self.max_bytes,
            shown: 0,
            total: 0,
            cut: false,
        };
        write!(out, "{}", self.value)?;
        let (shown, total) = (out.shown, out.total);
        if total > shown {
            write!(f, "…[{total} bytes]")?;
        }
        Ok(())
    }
}

/// Escapes what is written through it and drops what comes after the bound, counting it.
struct Limited<'a, 'b> {
    out: &'a mut fmt::Formatter<'b>,
    max_bytes: usize,
    /// Bytes of the original text written (escaped) and seen.
    shown: usize,
    total: usize,
    cut: bool,
}

impl Write for Limited<'_, '_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            self.total += c.len_utf8();
            if self.cut || self.shown + c.len_utf8() > self.max_bytes {
                // Keep counting the rest for the marker; nothing after the cut is shown.
                self.cut = true;
                continue;
            }
            self.shown += c.len_utf8();
            match c {
                '"' | '\'' => self.out.write_char(c)?,
                c => write!(self.out, "{}", c.escape_debug())?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_control_characters_and_backslashes() {
        let s = escape("topic\nINFO forged line\r\t\u{1b}[31m\\n'q\"").to_string();
        assert_eq!(s, "topic\\nINFO forged line\\r\\t\\u{1b}[31m\\\\n'q\"");
        assert!(!s.contains('\n'));
        // Unicode line and paragraph separators, and bidi overrides, are not printable either.
        let s = escape("a\u{2028}b\u{202e}c").to_string();
        assert_eq!(s, "a\\u{2028}b\\u{202e}c");
        assert_eq!(
            escape("plain-topic.name_1 ünïcödé").to_string(),
            "plain-topic.name_1 ünïcödé"
        );
    }

    #[test]
    fn truncates_with_the_original_length() {
        let big = "g".repeat(1 << 20);
        let s = escape(&big).to_string();
        assert_eq!(
            s,
            format!("{}…[1048576 bytes]", "g".repeat(MAX_LOGGED_BYTES))
        );
        let s = escape_max("ab\ncd", 3).to_string();
        assert_eq!(s, "ab\\n…[5 bytes]");
        // Never cuts inside a character.
        assert_eq!(escape_max("ééa", 3).to_string(), "é…[5 bytes]");
        assert_eq!(escape_max("abc", 3).to_string(), "abc");
    }

    #[test]
    fn wraps_any_display() {
        let e = std::io::Error::other("bad name 'x\ny'");
        assert_eq!(escape(&e).to_string(), "bad name 'x\\ny'");
        assert_eq!(escape(7).to_string(), "7");
    }
}
