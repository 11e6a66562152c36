//! How `strom consume` prints a record: a kcat-like format string, or one JSON object per line.
//!
//! Format placeholders: `%k` key, `%v` value, `%p` partition, `%o` offset, `%t` timestamp (ms),
//! `%T` topic, `%h` headers (`name=value` joined by `,`; a null value prints the name alone),
//! `%K` key length and `%S` value length (-1 for null), `%%` a percent sign; escapes `\n`,
//! `\t`, `\r`, `\\`. Null keys and values print as nothing. Note `%t`/`%T` are swapped
//! relative to kcat (there `%t` is the topic).
//!
//! JSON: `{"topic","partition","offset","timestamp","timestamp_type","key","value","headers"}`
//! where `headers` is a list of `{"key","value"}` (names may repeat). A key, value or header
//! value is a JSON string when it is valid UTF-8, `null` when absent, and otherwise an object
//! `{"base64": "..."}` holding its bytes in standard base64: a string is always the exact text.

use super::super::common::base64;
use bytes::Bytes;
use serde_json::{json, Value};
use strom::client::ConsumerRecord;
use strom::records::fetched::TimestampType;

/// One part of a parsed format string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Text(Vec<u8>),
    Key,
    Value,
    Partition,
    Offset,
    Timestamp,
    Topic,
    Headers,
    KeyLen,
    ValueLen,
}

/// Parses a format string; an unknown `%x` is an error naming the known placeholders.
pub fn parse(format: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut text = Vec::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        match c {
            '%' => {
                let next = chars.next();
                let piece = match next {
                    Some('k') => Piece::Key,
                    Some('v') => Piece::Value,
                    Some('p') => Piece::Partition,
                    Some('o') => Piece::Offset,
                    Some('t') => Piece::Timestamp,
                    Some('T') => Piece::Topic,
                    Some('h') => Piece::Headers,
                    Some('K') => Piece::KeyLen,
                    Some('S') => Piece::ValueLen,
                    Some('%') => {
                        text.push(b'%');
                        continue;
                    }
                    other => {
                        return Err(format!(
                            "unknown placeholder %{} in --format (use %k key, %v value, %p partition, \
                             %o offset, %t timestamp, %T topic, %h headers, %K/%S key/value length, %% a percent sign)",
                            other.map(String::from).unwrap_or_default()
                        ))
                    }
                };
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(piece);
            }
            '\\' => match chars.next() {
                Some('n') => text.push(b'\n'),
                Some('t') => text.push(b'\t'),
                Some('r') => text.push(b'\r'),
                Some('\\') => text.push(b'\\'),
                Some(other) => {
                    text.push(b'\\');
                    push_char(&mut text, other);
                }
                None => text.push(b'\\'),
            },
            c => push_char(&mut text, c),
        }
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

fn push_char(out: &mut Vec<u8>, c: char) {
    let mut buf = [0u8; 4];
    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
}

/// Appends `r` rendered with `pieces` to `out`.
pub fn render(pieces: &[Piece], r: &ConsumerRecord, out: &mut Vec<u8>) {
    let len = |b: &Option<Bytes>| b.as_ref().map_or(-1, |b| b.len() as i64);
    for piece in pieces {
        match piece {
            Piece::Text(t) => out.extend_from_slice(t),
            Piece::Key => out.extend_from_slice(r.key.as_deref().unwrap_or_default()),
            Piece::Value => out.extend_from_slice(r.value.as_deref().unwrap_or_default()),
            Piece::Partition => out.extend_from_slice(r.partition.to_string().as_bytes()),
            Piece::Offset => out.extend_from_slice(r.offset.to_string().as_bytes()),
            Piece::Timestamp => out.extend_from_slice(r.timestamp.to_string().as_bytes()),
            Piece::Topic => out.extend_from_slice(r.topic.as_bytes()),
            Piece::KeyLen => out.extend_from_slice(len(&r.key).to_string().as_bytes()),
            Piece::ValueLen => out.extend_from_slice(len(&r.value).to_string().as_bytes()),
            Piece::Headers => {
                for (i, (name, value)) in r.headers.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(name.as_bytes());
                    if let Some(v) = value {
                        out.push(b'=');
                        out.extend_from_slice(v);
                    }
                }
            }
        }
    }
}

/// The JSON object of one record (see the module docs for the shape).
pub fn json(r: &ConsumerRecord) -> Value {
    json!({
        "topic": r.topic.as_ref(),
        "partition": r.partition,
        "offset": r.offset,
        "timestamp": r.timestamp,
        "timestamp_type": match r.timestamp_type {
            TimestampType::Create => "create",
            TimestampType::LogAppend => "log_append",
        },
        "key": bytes(r.key.as_deref()),
        "value": bytes(r.value.as_deref()),
        "headers": r.headers.iter().map(|(k, v)| json!({"key": k, "value": bytes(v.as_deref())})).collect::<Vec<_>>(),
    })
}

/// Text as a string, other bytes as `{"base64": ...}`, absent as null.
fn bytes(b: Option<&[u8]>) -> Value {
    match b {
        None => Value::Null,
        Some(b) => match std::str::from_utf8(b) {
            Ok(s) => Value::String(s.to_string()),
            Err(_) => json!({ "base64": base64(b) }),
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::sync::Arc;

    fn record() -> ConsumerRecord {
        ConsumerRecord {
            topic: Arc::from("t"),
            partition: 2,
            offset: 7,
            timestamp: 1000,
            timestamp_type: TimestampType::Create,
            key: Some(Bytes::from_static(b"k")),
            value: Some(Bytes::from_static(&[0xff, 0x00])),
            headers: vec![
                ("a".into(), Some(Bytes::from_static(b"1"))),
                ("b".into(), None),
            ],
            leader_epoch: None,
        }
    }

    #[test]
    fn formats_every_placeholder() {
        let pieces = parse("%T/%p@%o %t [%k] %K %S %h 100%%\\n").unwrap();
        let mut out = Vec::new();
        render(&pieces, &record(), &mut out);
        assert_eq!(out, b"t/2@7 1000 [k] 1 2 a=1,b 100%\n");
        assert!(parse("%x").unwrap_err().contains("%x"));
        assert!(parse("%").is_err());
        assert_eq!(
            parse("a\\qb").unwrap(),
            vec![Piece::Text(b"a\\qb".to_vec())]
        );
    }

    #[test]
    fn json_uses_base64_only_for_bytes_that_are_not_text() {
        let v = json(&record());
        assert_eq!(v["key"], "k");
        assert_eq!(v["value"], json!({"base64": "/wA="}));
        assert_eq!(v["headers"][1], json!({"key": "b", "value": null}));
        assert_eq!(v["timestamp_type"], "create");
    }
}
