//! The RFC test vectors shipped in `testdata/rfc-vectors.json`.

use serde_json::Value;
use std::sync::OnceLock;

pub fn vector(name: &str) -> &'static Value {
    static ALL: OnceLock<Value> = OnceLock::new();
    let all = ALL.get_or_init(|| {
        serde_json::from_str(include_str!("../testdata/rfc-vectors.json")).expect("vectors parse")
    });
    let v = &all[name];
    assert!(!v.is_null(), "no vector named {name}");
    v
}

pub fn hex(v: &Value) -> Vec<u8> {
    crate::wire::unhex(v.as_str().expect("hex string"))
}
