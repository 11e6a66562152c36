//! `include/strom.h` is generated from this crate by cbindgen and checked in; this test
//! regenerates it and fails when the checked-in file differs, so the header never goes
//! stale. `STROM_UPDATE_HEADER=1 cargo test -p strom-c --test header` rewrites it.

use std::path::Path;

#[test]
fn checked_in_header_is_up_to_date() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let header = crate_dir.join("../../include/strom.h");
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("reading cbindgen.toml");
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen could not generate the header")
        .write(&mut generated);
    let generated = String::from_utf8(generated).expect("the header is UTF-8");
    if std::env::var_os("STROM_UPDATE_HEADER").is_some() {
        std::fs::write(&header, &generated).expect("writing include/strom.h");
        return;
    }
    let checked_in = std::fs::read_to_string(&header).unwrap_or_default();
    assert!(
        checked_in == generated,
        "include/strom.h is stale: run `STROM_UPDATE_HEADER=1 cargo test -p strom-c --test \
         header` and commit the result"
    );
}
