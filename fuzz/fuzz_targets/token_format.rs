//! The token format check: never a panic, and a generated secret always has the right shape.
#![no_main]

use cfl_gateway::secret::{shape, Secret, Shape};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|candidate: &str| {
    let _ = shape(candidate);
    if candidate.is_empty() {
        let fresh = Secret::generate();
        assert!(shape(fresh.expose()) == Shape::Valid);
    }
});
