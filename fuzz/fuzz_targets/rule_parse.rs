//! The restriction-rule parser: any text parses or is refused with a message, never a panic, and
//! what parses can be checked against a request.
#![no_main]

use cfl_gateway::restrict::{RequestView, RuleSet};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    match RuleSet::parse(text) {
        Ok(rules) => {
            let view = RequestView {
                method: "GET",
                path: "/rest/api/content",
                query: Some("spaceKey=DEV"),
            };
            let _ = rules.check(&view);
            let _ = rules.check_with_body(&view, Some(&serde_json::json!({"space": {"key": "DEV"}})));
        }
        Err(e) => assert!(!e.message.is_empty(), "an empty error for {text:?}"),
    }
});

