//! Restriction matching: tables of requests that must pass or be refused, and property tests for
//! the parser and the normaliser.

use super::normalize::PathError;
use super::*;
use proptest::prelude::*;
use serde_json::json;

fn view<'a>(method: &'a str, path: &'a str, query: Option<&'a str>) -> RequestView<'a> {
    RequestView {
        method,
        path,
        query,
    }
}

/// Normalises like the proxy does, then checks.
fn decide(rules: &RuleSet, method: &str, target: &str) -> Result<Decision, PathError> {
    let t = normalize(target)?;
    Ok(rules.check(&view(method, &t.path, t.query.as_deref())))
}

const ALLOW: Decision = Decision::Allow { rule: Some(1) };

#[test]
fn no_rules_allows_everything() {
    let rules = RuleSet::parse("").unwrap();
    assert_eq!(
        rules.check(&view("DELETE", "/rest/api/content/1", None)),
        Decision::Allow { rule: None }
    );
}

#[test]
fn extender_example_payload() {
    let rules = RuleSet::parse("[post].*/rest/api/space/EXTENDER/property.*").unwrap();
    assert_eq!(
        decide(&rules, "POST", "/rest/api/space/EXTENDER/property").unwrap(),
        ALLOW
    );
    assert_eq!(
        decide(
            &rules,
            "post",
            "/confluence/rest/api/space/EXTENDER/property/x"
        )
        .unwrap(),
        ALLOW
    );
    assert_eq!(
        decide(&rules, "GET", "/rest/api/space/EXTENDER/property").unwrap(),
        Decision::Deny
    );
    assert_eq!(
        decide(&rules, "POST", "/rest/api/space/OTHER/property").unwrap(),
        Decision::Deny
    );
}

/// Path tricks against a rule that allows reading one space only: each must be refused (the
/// normaliser errors) or be matched as the resource it really reaches.
#[test]
fn path_tricks_cannot_slip_past_a_rule() {
    let rules = RuleSet::parse("[get]/rest/api/space/DEV(/.*)?").unwrap();
    let allowed = [
        "/rest/api/space/DEV",
        "/rest/api/space/%44EV",
        "/rest//api/space/DEV/",
        "/rest/api/space/DEV;x=1",
        "/rest/api/space/DEV/content?",
    ];
    for t in allowed {
        assert_eq!(decide(&rules, "GET", t), Ok(ALLOW), "{t} should be allowed");
    }
    let denied = [
        "/rest/api/space/DEV/../HR",     // really /rest/api/space/HR
        "/rest/api/space/DEV/%2e%2e/HR", // the same, encoded
        "/rest/api/space/DEV/..;/HR",    // Tomcat strips ;, then ..
        "/rest/api/space/dev",           // case matters on the server: not the same space key
        "/REST/api/space/DEV",           // not the path Confluence serves
        "/rest/api/space/HR?x=/rest/api/space/DEV",
        "/rest/api/space/HR;/rest/api/space/DEV",
    ];
    for t in denied {
        assert_eq!(
            decide(&rules, "GET", t),
            Ok(Decision::Deny),
            "{t} must be refused"
        );
    }
    let ambiguous = [
        "/rest/api/space/DEV%2f..%2fHR",
        "/rest/api/space/DEV%5c..%5cHR",
        "/rest/api/space/DEV#/../HR",
        "/rest/api/space/DEV/%ff",
        "/rest/api/space/DEV/../../../../..",
    ];
    for t in ambiguous {
        assert!(
            decide(&rules, "GET", t).is_err(),
            "{t} must be refused as ambiguous"
        );
    }
}

#[test]
fn anchoring_is_strict() {
    let rules = RuleSet::parse("/rest/api/space").unwrap();
    assert_eq!(decide(&rules, "GET", "/rest/api/space").unwrap(), ALLOW);
    assert_eq!(
        decide(&rules, "GET", "/rest/api/space/DEV").unwrap(),
        Decision::Deny
    );
    assert_eq!(
        decide(&rules, "GET", "/x/rest/api/space").unwrap(),
        Decision::Deny
    );
}

#[test]
fn query_conditions_need_every_value_to_match() {
    let rules = RuleSet::parse("[get]/rest/api/content[QueryParam::spaceKey==DEV]").unwrap();
    assert_eq!(
        decide(&rules, "GET", "/rest/api/content?spaceKey=DEV").unwrap(),
        ALLOW
    );
    assert_eq!(
        decide(&rules, "GET", "/rest/api/content?spaceKey=%44EV&limit=5").unwrap(),
        ALLOW
    );
    for t in [
        "/rest/api/content",
        "/rest/api/content?spaceKey=HR",
        "/rest/api/content?spaceKey=DEV&spaceKey=HR",
        "/rest/api/content?spaceKey=DEVX",
        "/rest/api/content?spacekey=DEV",
    ] {
        assert_eq!(decide(&rules, "GET", t).unwrap(), Decision::Deny, "{t}");
    }
}

#[test]
fn json_conditions_ask_for_the_body_then_decide() {
    let rules = RuleSet::parse(
        "[get].*\n[post]/rest/api/content[JsonData::space.key==DEV][JsonData::type==page]",
    )
    .unwrap();
    let req = view("POST", "/rest/api/content", None);
    assert_eq!(rules.check(&view("GET", "/rest/api/content", None)), ALLOW);
    assert_eq!(rules.check(&req), Decision::NeedsBody);
    let good = json!({"type": "page", "space": {"key": "DEV"}, "title": "x"});
    let bad = json!({"type": "page", "space": {"key": "HR"}});
    let missing = json!({"type": "page"});
    assert_eq!(
        rules.check_with_body(&req, Some(&good)),
        Decision::Allow { rule: Some(2) }
    );
    assert_eq!(rules.check_with_body(&req, Some(&bad)), Decision::Deny);
    assert_eq!(rules.check_with_body(&req, Some(&missing)), Decision::Deny);
    assert_eq!(rules.check_with_body(&req, None), Decision::Deny);
}

#[test]
fn json_arrays_must_all_match() {
    let rules = RuleSet::parse("[post].*[JsonData::labels==ok-.*]").unwrap();
    let req = view("POST", "/x", None);
    assert_eq!(
        rules.check_with_body(&req, Some(&json!({"labels": ["ok-a", "ok-b"]}))),
        ALLOW
    );
    assert_eq!(
        rules.check_with_body(&req, Some(&json!({"labels": ["ok-a", "evil"]}))),
        Decision::Deny
    );
    assert_eq!(
        rules.check_with_body(&req, Some(&json!({"labels": []}))),
        Decision::Deny
    );
}

#[test]
fn bad_rules_name_the_line() {
    let err = RuleSet::parse("[get].*\n[get]/rest/(unclosed").unwrap_err();
    assert_eq!(err.line, 2);
    assert!(err.to_string().contains("invalid URL regex"), "{err}");
    let err = RuleSet::parse(".*[QueryParam::a==(]").unwrap_err();
    assert!(err.to_string().contains("condition regex"), "{err}");
}

/// The regex error shows the admin's own text with the caret under their mistake, not the
/// `^(?:…)$` the matcher wraps it in.
#[test]
fn a_regex_error_points_into_the_rule_as_written() {
    for (rule, regex, at) in [
        ("[get]/rest/x{", "/rest/x{", '{'),
        ("/rest/(unclosed", "/rest/(unclosed", '('),
        ("/a[QueryParam::q==v{]", "v{", '{'),
    ] {
        let message = RuleSet::parse(rule).unwrap_err().to_string();
        let lines: Vec<&str> = message.lines().collect();
        let shown = lines
            .iter()
            .position(|l| l.ends_with("regex parse error:"))
            .map(|i| (lines[i + 1], lines[i + 2]))
            .unwrap_or_else(|| panic!("{message}"));
        let indent = shown.0.len() - shown.0.trim_start().len();
        assert_eq!(&shown.0[indent..], regex, "{message}");
        let caret = shown.1.find('^').unwrap() - indent;
        assert_eq!(regex[caret..].chars().next(), Some(at), "{message}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    /// The parser never panics, whatever an admin pastes.
    #[test]
    fn parser_never_panics(text in "\\PC{0,80}") {
        let _ = RuleSet::parse(&text);
    }

    /// Normalisation never panics, is idempotent, and its output has no dot segments, no
    /// doubled slashes, no path parameters and no encoded unreserved characters.
    #[test]
    fn normaliser_is_idempotent_and_canonical(
        segs in proptest::collection::vec(
            prop_oneof![
                Just(".".to_string()), Just("..".to_string()), Just("".to_string()),
                Just("%2e".to_string()), Just("%2E%2e".to_string()), Just("a;b=c".to_string()),
                Just("%41".to_string()), Just("%20".to_string()), "[a-zA-Z0-9_~-]{1,6}",
                Just("%2f".to_string()), Just("%c3%a9".to_string()), Just("%ff".to_string()),
            ],
            0..8,
        ),
        query in proptest::option::of("[a-z=&%0-9]{0,10}"),
    ) {
        let mut target = format!("/{}", segs.join("/"));
        if let Some(q) = &query { target.push('?'); target.push_str(q); }
        if let Ok(t) = normalize(&target) {
            let again = normalize(&t.path).expect("a normalised path normalises again");
            prop_assert_eq!(&again.path, &t.path);
            prop_assert!(!t.path.contains("//"));
            prop_assert!(!t.path.contains(';'));
            prop_assert!(!t.path.split('/').any(|s| s == "." || s == ".."));
            let lower = t.path.to_ascii_lowercase();
            prop_assert!(!lower.contains("%2e") && !lower.contains("%41") && !lower.contains("%2f"));
        }
    }

    /// A rule allowing one prefix never allows a path that normalises outside it.
    #[test]
    fn prefix_rule_never_allows_outside(segs in proptest::collection::vec(
        prop_oneof![Just("..".to_string()), Just("%2e%2e".to_string()), Just("HR".to_string()),
                    Just("DEV".to_string()), Just("x".to_string()), Just("..;".to_string())], 0..6)) {
        let rules = RuleSet::parse("/rest/api/space/DEV(/.*)?").unwrap();
        let target = format!("/rest/api/space/DEV/{}", segs.join("/"));
        if let Ok(t) = normalize(&target) {
            let allowed = matches!(rules.check(&view("GET", &t.path, None)), Decision::Allow { .. });
            prop_assert_eq!(allowed, t.path == "/rest/api/space/DEV" || t.path.starts_with("/rest/api/space/DEV/"));
        }
    }
}
