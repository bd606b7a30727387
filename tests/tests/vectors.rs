//! The shared vectors load, and each file holds both kinds of case its
//! readers check: a loader that silently dropped a kind would leave every
//! layer's test of it checking nothing.

use fazt_tests::vectors;

#[test]
fn every_vector_file_loads_with_both_kinds_of_case() {
    let urls = vectors::urls();
    let refused = urls.iter().filter(|c| c.refusal().is_some()).count();
    let accepted = urls.iter().filter(|c| c.canonical.is_some()).count();
    assert!(refused > 50 && accepted > 20, "{refused} {accepted}");
    assert_eq!(refused + accepted, urls.len());

    let ips = vectors::ips();
    let global = ips.iter().filter(|c| c.is_global()).count();
    assert!(
        global > 20 && ips.len() - global > 50,
        "{global} {}",
        ips.len()
    );
    assert!(ips.iter().any(|c| c.ip.is_ipv6() && !c.is_global()));

    let entries = vectors::entries();
    assert!(entries.iter().any(|c| c.display.is_some()));
    assert!(entries.iter().any(|c| c.error.is_some()));

    let matches = vectors::matches();
    assert!(!matches.entries.is_empty());
    assert!(matches.cases.iter().any(|c| c.entry.is_some()));
    assert!(matches.cases.iter().any(|c| c.code.is_some()));
}
