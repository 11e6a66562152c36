//! strom's Node.js binding (napi-rs): the native half of the `strom` npm package in `node/`.
//! It converts between JavaScript and the Rust core and holds no behaviour of its own
//! (`docs/ARCHITECTURE.md`): `node/lib/*.js` give the kafkajs-like API on top of these classes.
//!
//! - [`broker`]: `NativeBroker`, the embedded broker and its TCP listeners;
//! - [`producer`], [`consumer`], [`admin`]: the clients, over TCP or in-process;
//! - [`wire`]: records packed in one `Buffer` per call, both ways;
//! - [`error`]: the one conversion of core errors into JavaScript errors.
//!
//! Every asynchronous method returns a Promise settled from napi-rs's one tokio runtime
//! (feature `tokio_rt`), created when the addon loads, through [`error::spawn`]. Panic
//! boundaries: every exported function and method is `#[napi(catch_unwind)]` (its synchronous
//! part), and `error::spawn` runs each future as a task of its own whose panic rejects the
//! promise with an `internal` error. Offsets and timestamps cross as `BigInt`s or packed i64s,
//! never as doubles.

pub mod admin;
pub mod broker;
pub mod consumer;
pub mod error;
pub mod producer;
pub mod wire;

#[cfg(test)]
mod tests {
    /// Every exported function and method has a panic boundary: `#[napi(catch_unwind)]` for
    /// its synchronous part, and its future settles through `error::spawn`.
    #[test]
    fn every_export_has_a_panic_boundary() {
        let files = [
            ("admin.rs", include_str!("admin.rs")),
            ("broker.rs", include_str!("broker.rs")),
            ("consumer.rs", include_str!("consumer.rs")),
            ("error.rs", include_str!("error.rs")),
            ("producer.rs", include_str!("producer.rs")),
            ("wire.rs", include_str!("wire.rs")),
        ];
        let mut exports = 0;
        for (file, src) in files {
            let lines: Vec<&str> = src.lines().map(str::trim).collect();
            for (i, line) in lines.iter().enumerate() {
                let next = lines.get(i + 1).copied().unwrap_or_default();
                if line.starts_with("#[napi") && next.starts_with("pub fn") {
                    exports += 1;
                    assert!(line.contains("catch_unwind"), "{file}:{}: {next}", i + 2);
                }
                if file != "error.rs" {
                    assert!(
                        !line.contains("spawn_future"),
                        "{file}:{}: use error::spawn",
                        i + 1
                    );
                }
            }
        }
        assert!(
            exports >= 40,
            "found {exports} exports: is the check still reading them?"
        );
    }
}
