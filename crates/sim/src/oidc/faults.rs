//! Faults armed for the next ID tokens (`/__sim/oidc/faults`): what is wrong with them, and how many.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenFault {
    UnknownKid,
    BadSignature,
    WrongIss,
    WrongAud,
    Expired,
    WrongNonce,
}

#[derive(Debug, Default, Serialize)]
pub struct ArmedFaults {
    pub(super) fault: Option<TokenFault>,
    pub(super) remaining: u32,
}

impl ArmedFaults {
    /// The fault for the token being issued now, counting it down.
    pub fn take(&mut self) -> Option<TokenFault> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let fault = self.fault;
        if self.remaining == 0 {
            self.fault = None;
        }
        fault
    }
}
