//! Basic/Bearer `Authorization` parsing: never a panic; a Basic user and secret come back as
//! parts of what was sent.
#![no_main]

use cfl_gateway::proxy::authn::parse_authorization;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|value: &str| {
    if let Ok(presented) = parse_authorization(value) {
        assert!(!presented.secret().is_empty(), "an empty secret from {value:?}");
        if let Some(user) = presented.basic_user() {
            // The user ends at the first colon: it never holds one.
            assert!(!user.contains(':'), "a user with a colon from {value:?}");
        }
    }
});
