//! The config loader: any TOML text is read and validated or refused with a message, never a
//! panic.
#![no_main]

use cfl_gateway::config::GatewayConfig;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(config) = toml::from_str::<GatewayConfig>(text) {
        if let Err(e) = config.validate() {
            assert!(!e.to_string().is_empty());
        }
    }
});
