//! `cfl`: safe, fast access to the Confluence REST API — client, token gateway and simulator.
//!
//! This crate is only the command line: it parses arguments (one file per command under
//! `commands/`) and hands off to the library crates that do the work.

mod commands;
mod output;
mod runtime;
mod shutdown;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

// The gateway allocates a little for every request on several threads; mimalloc does that in
// about half the time glibc's malloc takes (BENCHMARKS.md, "allocator").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "cfl", version, about, long_about = None)]
#[command(propagate_version = true)]
struct Cli {
    #[command(flatten)]
    globals: commands::Globals,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Log in to Confluence sites, switch between them, show who you are.
    #[command(subcommand)]
    Auth(commands::auth::AuthCommand),
    /// Make an authenticated request to the Confluence REST API (like `gh api`).
    Api(commands::api::ApiArgs),
    /// List spaces, or show one.
    #[command(subcommand)]
    Space(commands::space::SpaceCommand),
    /// Read, create, update, delete, list and move pages (by id, URL or SPACE:Title).
    #[command(subcommand)]
    Page(commands::page::PageCommand),
    /// Search content with CQL.
    Search(commands::search::SearchArgs),
    /// List, upload and download a page's attachments (streamed).
    #[command(subcommand)]
    Attachment(commands::attachment::AttachmentCommand),
    /// List, add and remove a page's labels.
    #[command(subcommand)]
    Label(commands::label::LabelCommand),
    /// Data Center personal access tokens: list, create (also for another user), revoke.
    Pat(commands::pat::PatArgs),
    /// Export a space or page tree to Markdown, HTML or storage-format files (incremental).
    Export(commands::export::ExportArgs),
    /// Publish a Markdown file as a page (create or update by title), or sync a directory as a page tree.
    Publish(commands::publish::PublishArgs),
    /// Serve Confluence to AI agents over the Model Context Protocol (stdio, or --http).
    Mcp(commands::mcp::McpArgs),
    /// Run the token gateway for accounts that can't log in (try `cfl serve --demo`).
    Serve(commands::serve::ServeArgs),
    /// Manage gateway tokens (admin API).
    Token(commands::token::TokenArgs),
    /// Read and verify the gateway's audit log.
    Audit(commands::audit::AuditArgs),
    /// Sign in to a gateway's admin API with its identity provider (OpenID Connect).
    Gateway(commands::gateway::GatewayCmdArgs),
    /// Run a Confluence simulator (Cloud or Data Center) for tests and demos.
    Sim(commands::sim::SimArgs),
    /// Print a shell completion script: `cfl completion bash > /etc/bash_completion.d/cfl`.
    Completion {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print a man page (roff): `cfl man | man -l -`, `cfl man auth` for a command's own page.
    Man(commands::man::ManArgs),
}

/// Logs go to stderr: `CFL_LOG` sets the filter (default `info` for servers, `warn` otherwise,
/// e.g. `CFL_LOG=cfl_gateway=debug`), `CFL_LOG_FORMAT=json` makes them one JSON object a line.
/// Colours only on a terminal, and not with `NO_COLOR` (like tables, `output.rs`).
fn init_logging(server: bool) {
    use tracing_subscriber::EnvFilter;
    let default = if server { "info,sqlx=warn" } else { "warn" };
    let filter = EnvFilter::try_from_env("CFL_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::env::var("CFL_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        builder.json().flatten_event(true).init();
    } else {
        use std::io::IsTerminal;
        let colour = std::io::stderr().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        builder.with_ansi(colour).init();
    }
}

/// Writes to stdout; a reader that went away (`cfl man | head`) is not an error.
fn print_bytes(bytes: &[u8]) -> anyhow::Result<ExitCode> {
    use std::io::Write;
    match std::io::stdout().lock().write_all(bytes) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(ExitCode::SUCCESS),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(matches!(cli.command, Command::Serve(_) | Command::Sim(_)));
    let result = match cli.command {
        Command::Serve(args) => commands::serve::run(args),
        Command::Token(args) => commands::token::run(args, &cli.globals),
        Command::Audit(args) => commands::audit::run(args),
        Command::Gateway(args) => commands::gateway::run(args),
        Command::Sim(args) => commands::sim::run(args),
        Command::Auth(cmd) => commands::auth::run(cmd, &cli.globals),
        Command::Api(args) => commands::api::run(args, &cli.globals),
        Command::Space(cmd) => commands::space::run(cmd, &cli.globals),
        Command::Page(cmd) => commands::page::run(cmd, &cli.globals),
        Command::Search(args) => commands::search::run(args, &cli.globals),
        Command::Attachment(cmd) => commands::attachment::run(cmd, &cli.globals),
        Command::Label(cmd) => commands::label::run(cmd, &cli.globals),
        Command::Pat(args) => commands::pat::run(args, &cli.globals),
        Command::Export(args) => commands::export::run(args, &cli.globals),
        Command::Publish(args) => commands::publish::run(args, &cli.globals),
        Command::Mcp(args) => commands::mcp::run(args, &cli.globals),
        Command::Completion { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "cfl", &mut out);
            print_bytes(&out)
        }
        Command::Man(args) => {
            commands::man::render(Cli::command(), &args.command).and_then(|out| print_bytes(&out))
        }
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(exit_code(&err))
        }
    }
}

/// The server refused the credential (as gh does): logging in again is the fix.
const EXIT_CREDENTIAL_REFUSED: u8 = 4;

/// The one place an error becomes an exit code, for every command (`cfl man` lists them). It
/// looks at the error's type, never its text; 2 (usage) is clap's own.
fn exit_code(err: &anyhow::Error) -> u8 {
    // The cfl-client error anywhere in the chain (under any context added on the way).
    match err
        .chain()
        .find_map(|c| c.downcast_ref::<cfl_client::Error>())
    {
        Some(e) if e.credential_refused() => EXIT_CREDENTIAL_REFUSED,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every argument of every command, as `cfl a b --flag` (or `cfl a b <ARG>`), that has no
    /// help text.
    fn without_help(cmd: &clap::Command, path: &str, found: &mut Vec<String>) {
        for arg in cmd.get_arguments() {
            let builtin = matches!(arg.get_id().as_str(), "help" | "version");
            if builtin || arg.is_hide_set() || arg.get_help().is_some() {
                continue;
            }
            let name = match arg.get_long() {
                Some(long) => format!("--{long}"),
                None => format!("<{}>", arg.get_id()),
            };
            found.push(format!("{path} {name}"));
        }
        for sub in cmd.get_subcommands() {
            without_help(sub, &format!("{path} {}", sub.get_name()), found);
        }
    }

    #[test]
    fn every_argument_of_every_command_has_help() {
        let mut cmd = Cli::command();
        cmd.build();
        let mut found = Vec::new();
        without_help(&cmd, "cfl", &mut found);
        assert!(
            found.is_empty(),
            "arguments without help text:\n{}",
            found.join("\n")
        );
    }

    #[test]
    fn every_error_variant_has_its_exit_code() {
        use cfl_client::Error;
        let http = |status| Error::Http {
            status,
            explanation: format!("HTTP {status}"),
        };
        let cases = [
            (http(401), 4),
            (http(403), 1),
            (http(404), 1),
            (http(410), 1),
            (http(429), 1),
            (
                Error::Conflict {
                    id: "1".into(),
                    sent: 2,
                    server: "now 3".into(),
                },
                1,
            ),
            (Error::NotFound("no page".into()), 1),
            (Error::Invalid("HTTP 401".into()), 1),
            (Error::Request("HTTP 401".into()), 1),
            (
                Error::io("cannot write x", std::io::Error::other("disk full")),
                1,
            ),
            (Error::RateLimited("answered 429 5 time(s)".into()), 1),
            (
                Error::Grant {
                    refusal: cfl_client::oauth::token::Refusal::Grant,
                    message: "HTTP 401 invalid_grant".into(),
                },
                1,
            ),
            (
                Error::Context {
                    message: "reading page 1".into(),
                    source: Box::new(http(401)),
                },
                4,
            ),
            (
                Error::Context {
                    message: "reading page 1".into(),
                    source: Box::new(http(404)),
                },
                1,
            ),
            (
                Error::PagesFailed {
                    failed: 2,
                    credential_refused: true,
                },
                4,
            ),
            (
                Error::PagesFailed {
                    failed: 2,
                    credential_refused: false,
                },
                1,
            ),
        ];
        for (e, code) in cases {
            let text = e.to_string();
            // Context added on the way up does not hide the type.
            let err = anyhow::Error::new(e).context("while doing something");
            assert_eq!(exit_code(&err), code, "{text}");
        }
        assert_eq!(exit_code(&anyhow::anyhow!("HTTP 401 Unauthorized")), 1);
    }

    #[test]
    fn the_cli_is_well_formed() {
        Cli::command().debug_assert();
    }
}
