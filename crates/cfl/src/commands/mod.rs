//! One module per top-level command.

pub mod audit;
pub mod demo;
pub mod gateway_admin;
pub mod serve;
pub mod sim;
pub mod token;
