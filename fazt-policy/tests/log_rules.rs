//! The log field rule: bounded, no control characters.

use fazt_policy::{log_field, LOG_FIELD_MAX};

#[test]
fn log_fields_are_bounded_and_printable() {
    let long = "é".repeat(LOG_FIELD_MAX);
    let kept = log_field(&long);
    assert!(kept.ends_with("... [truncated]"));
    assert!(kept.len() <= LOG_FIELD_MAX + "... [truncated]".len());
    for (given, logged) in [
        ("/v1/items", "/v1/items"),
        (
            "GET\n1795674476140 -  GET  /\u{1b}[2K",
            "GET?1795674476140 -  GET  /?[2K",
        ),
        ("tab\there", "tab?here"),
        ("", ""),
    ] {
        assert_eq!(log_field(given), logged, "{given:?}");
    }
}
