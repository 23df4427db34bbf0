//! cfl-client: everything the `cfl` commands need to talk to a Confluence site — profiles
//! (`config`), where secrets live (`secrets`), which kind of Confluence a URL is (`deployment`),
//! the resolved credential (`credentials`), the one HTTP layer (`http`), who we are (`identity`),
//! following result pages (`paginate`), the typed content API (`content`), the export engine
//! (`export`) and the OAuth / cookie sign-in methods (`oauth`).

pub mod authorize;
pub mod config;
pub mod content;
pub mod credentials;
pub mod deployment;
pub mod error;
pub mod export;
pub mod http;
pub mod identity;
pub mod login;
pub mod oauth;
pub mod paginate;
pub mod publish;
pub mod secrets;

pub use config::{Config, Method, Profile};
pub use credentials::Credential;
pub use deployment::Deployment;
pub use error::Error;
pub use http::{Client, ClientOptions};
