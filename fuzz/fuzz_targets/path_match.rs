//! The path normaliser and the matcher: never a panic; a normal form is its own normal form; a
//! forwarded path has no dot segment, encoded separator or double encoding; a rule that allows
//! one prefix never allows a path outside it.
#![no_main]

use std::sync::OnceLock;

use cfl_gateway::restrict::{normalize, Decision, RequestView, RuleSet};
use libfuzzer_sys::fuzz_target;

fn rules() -> &'static RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(|| {
        RuleSet::parse("[get]/rest/api/space/DEV(/.*)?\n[get]/rest/api/content[QueryParam::spaceKey==DEV]")
            .expect("the fuzz target's rules parse")
    })
}

fuzz_target!(|target: &str| {
    let Ok(t) = normalize(target) else { return };
    let again = normalize(&t.path).expect("a normal form normalises");
    assert_eq!(again.path, t.path, "normalising twice changed {target:?}");
    for segment in t.path.split('/') {
        assert!(segment != "." && segment != "..", "dot segment in {:?}", t.path);
        let lower = segment.to_ascii_lowercase();
        assert!(
            !lower.contains("%2f") && !lower.contains("%5c") && !lower.contains("%3b"),
            "encoded separator in {:?}",
            t.path
        );
    }
    let decision = rules().check(&RequestView {
        method: "GET",
        path: &t.path,
        query: t.query.as_deref(),
    });
    if decision != Decision::Deny {
        assert!(
            t.path == "/rest/api/space/DEV"
                || t.path.starts_with("/rest/api/space/DEV/")
                || t.path == "/rest/api/content",
            "{:?} allowed outside the rules' prefixes",
            t.path
        );
    }
});
