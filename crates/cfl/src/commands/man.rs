//! `cfl man [COMMAND]...`: the man page (roff) of cfl or of one of its commands (`cfl man auth`,
//! `cfl man auth login`), with the ENVIRONMENT, EXIT STATUS and EXAMPLES sections clap's page
//! lacks.

use std::io::Write;

use anyhow::Context;
use clap::Args;

#[derive(Args)]
pub struct ManArgs {
    /// The command whose page to print, e.g. `auth` or `auth login` (none: cfl(1) itself).
    #[arg(value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// Commands that talk to Confluence as a signed-in user (the client).
const CLIENT: &[&str] = &[
    "auth",
    "api",
    "space",
    "page",
    "search",
    "attachment",
    "label",
    "pat",
    "export",
    "publish",
    "mcp",
];
const ADMIN: &[&str] = &["token", "audit", "gateway"];
const ALL: &[&str] = &[];

/// An environment variable, and the top-level commands that read it (empty: every command).
struct Var {
    name: &'static str,
    commands: &'static [&'static str],
    meaning: &'static str,
}

const ENVIRONMENT: &[Var] = &[
    Var { name: "CFL_CONFIG_DIR", commands: CLIENT, meaning: "Where profiles (config.toml) and, without a keychain, the 0600 secrets file live. Default: the XDG config directory (~/.config/cfl)." },
    Var { name: "CFL_PROFILE", commands: CLIENT, meaning: "The profile to use when --profile is not given (else the active one)." },
    Var { name: "CONFLUENCE_URL", commands: CLIENT, meaning: "Use this site without a profile, with CONFLUENCE_PAT (Data Center) or CONFLUENCE_EMAIL and CONFLUENCE_API_TOKEN (Cloud)." },
    Var { name: "CONFLUENCE_PAT", commands: CLIENT, meaning: "A Data Center personal access token for CONFLUENCE_URL." },
    Var { name: "CONFLUENCE_EMAIL", commands: CLIENT, meaning: "The Atlassian account email for CONFLUENCE_URL (Cloud)." },
    Var { name: "CONFLUENCE_API_TOKEN", commands: CLIENT, meaning: "The Atlassian API token for CONFLUENCE_URL (Cloud)." },
    Var { name: "CONFLUENCE_DEPLOYMENT", commands: CLIENT, meaning: "cloud or dc: skip detecting which CONFLUENCE_URL is." },
    Var { name: "CFL_ATLASSIAN_AUTH_URL", commands: CLIENT, meaning: "Another auth.atlassian.com (OAuth 2.0), e.g. a test server." },
    Var { name: "CFL_API_GATEWAY_URL", commands: CLIENT, meaning: "Another api.atlassian.com (Cloud OAuth 2.0 and scoped tokens)." },
    Var { name: "JIRA_API_TOKEN", commands: &["auth"], meaning: "With --use-jira-token: the Atlassian API token a Jira CLI already uses (with JIRA_EMAIL or JIRA_USER)." },
    Var { name: "BROWSER", commands: &["auth", "gateway"], meaning: "The program that opens the consent page of a browser login." },
    Var { name: "CFL_GATEWAY_URL", commands: ADMIN, meaning: "The token gateway's base URL (default http://127.0.0.1:8080)." },
    Var { name: "CFL_ADMIN_TOKEN", commands: &["token", "audit", "serve"], meaning: "A gateway admin token. cfl token and cfl audit send it (else the session of cfl gateway login); cfl serve registers it as an admin token on start." },
    Var { name: "CFL_GATEWAY_CONFIG", commands: &["serve"], meaning: "The gateway config file (--config)." },
    Var { name: "CFL_LISTEN", commands: &["serve"], meaning: "The address the gateway listens on (--listen)." },
    Var { name: "CFL_UPSTREAM_URL", commands: &["serve"], meaning: "The Confluence base URL the gateway forwards to (--upstream)." },
    Var { name: "CFL_STORE", commands: &["serve"], meaning: "The gateway store, sqlite:PATH or postgres://... (--store)." },
    Var { name: "CFL_WORKERS", commands: &["serve"], meaning: "Threads serving requests, 0 = one per CPU (--workers)." },
    Var { name: "CFL_SIM_CONFIG", commands: &["sim"], meaning: "The simulator config file (--config)." },
    Var { name: "CFL_LOG", commands: ALL, meaning: "Log filter on stderr, e.g. debug or cfl_gateway=debug (default: info for cfl serve and cfl sim, else warn)." },
    Var { name: "CFL_LOG_FORMAT", commands: ALL, meaning: "json: logs as one JSON object a line." },
    Var { name: "NO_COLOR", commands: ALL, meaning: "Set (and not empty): no colour or bold in tables and logs. Colour is only ever used on a terminal." },
];

/// Exit codes: (code, meaning, the top-level commands it applies to; empty = all).
const EXIT_STATUS: &[(u8, &str, &[&str])] = &[
    (0, "Success.", ALL),
    (1, "Failure; the reason is on stderr. cfl export: a page failed (run it again to fetch just those). cfl audit verify: the audit chain is broken. cfl serve --check-config: the config is not ready.", ALL),
    (2, "Usage error: an unknown flag, a missing argument or a value not in its set.", ALL),
    (4, "The credential was refused (HTTP 401): log in again (cfl auth login).", CLIENT),
];

/// Examples, each under the command it runs (matched by prefix).
const EXAMPLES: &[(&str, &str)] = &[
    ("cfl auth login", "Log in to Cloud with an API token read from stdin:\ncfl auth login --site https://example.atlassian.net --method api-token --email me@example.com --token-stdin"),
    ("cfl auth login", "Log in to Data Center with a personal access token, as profile dc:\ncfl auth login --site https://wiki.example.com --method pat --token-stdin --profile dc"),
    ("cfl auth status", "Who each profile's server says we are:\ncfl auth status"),
    ("cfl auth token", "The Authorization header value, for scripts:\ncfl auth token"),
    ("cfl api", "Any REST call, relative to the profile's API base:\ncfl api /rest/api/space"),
    ("cfl api", "Follow every page of a search:\ncfl api --paginate /rest/api/content/search -X GET -f cql='space = DEV'"),
    ("cfl space list", "Every space, as JSON:\ncfl space list --limit 0 --json"),
    ("cfl page get", "A page by SPACE:Title, its storage-format body only:\ncfl page get 'DEV:Release notes' --body"),
    ("cfl page update", "Replace a page's body from a file (cfl sends version+1):\ncfl page update 123 --body-file p.html"),
    ("cfl search", "CQL, every result page followed:\ncfl search 'space = DEV and label = runbook' --limit 500"),
    ("cfl attachment upload", "Upload files to page 123 (streamed):\ncfl attachment upload 123 report.pdf"),
    ("cfl attachment download", "Download an attachment:\ncfl attachment download 123 report.pdf -o ~/Downloads"),
    ("cfl label add", "Label a page:\ncfl label add 123 runbook ops"),
    ("cfl pat create", "A Data Center PAT for a passwordless user, printed once:\ncfl pat create --for svc-reports --name ci --days 90"),
    ("cfl export", "A whole space as Markdown (run again: only what changed):\ncfl export DEV --out ~/wiki/DEV"),
    ("cfl publish", "Create or update a page from Markdown:\ncfl publish notes/release.md --space DEV --parent 'Release notes'"),
    ("cfl mcp", "Serve Confluence to an AI agent over stdio, read-only, two spaces (an mcpServers entry runs this):\ncfl mcp --profile work --read-only --spaces DEV,DOCS"),
    ("cfl mcp", "The same over MCP's streamable HTTP at http://127.0.0.1:8765/mcp:\ncfl mcp --http 127.0.0.1:8765"),
    ("cfl serve", "Try the gateway in front of a simulated Confluence:\ncfl serve --demo"),
    ("cfl serve", "Run the gateway (relative paths in the config are relative to the file):\ncfl serve --config /etc/cfl/gateway.toml"),
    ("cfl serve", "Check a config without starting:\ncfl serve --config /etc/cfl/gateway.toml --check-config"),
    ("cfl serve", "Every admin token lost: make a new one (recorded in the audit log):\ncfl serve --config /etc/cfl/gateway.toml --new-admin-token"),
    ("cfl token create", "A 90-day token for svc-reports, read-only on spaces and content:\ncfl token create --label reports --user svc-reports --days 90 --restrict '[get].*/rest/api/(content|space).*'"),
    ("cfl token list", "Tokens with uses, last use and expiry:\ncfl token list"),
    ("cfl token revoke", "Refuse a token from the very next request:\ncfl token revoke tok_..."),
    ("cfl gateway login", "Sign in to a gateway's admin API with its identity provider (no admin token needed):\ncfl gateway login --gateway https://gateway.example.com"),
    ("cfl gateway whoami", "Who the admin API sees, with the role and until when:\ncfl gateway whoami"),
    ("cfl audit list", "Recent refusals:\ncfl audit list --decision deny"),
    ("cfl audit verify", "Check the audit chain through the gateway, or in the store itself:\ncfl audit verify\ncfl audit verify --store sqlite:/var/lib/cfl/gateway.sqlite"),
    ("cfl sim", "A simulated Data Center on a free port:\ncfl sim --config examples/sim-dc.toml --listen 127.0.0.1:0"),
    ("cfl completion", "Bash completions:\ncfl completion bash > /etc/bash_completion.d/cfl"),
    ("cfl man", "A command's page:\ncfl man auth | man -l -"),
];

/// The page of `root`'s command at `path` (e.g. `["auth", "login"]`).
pub fn render(root: clap::Command, path: &[String]) -> anyhow::Result<Vec<u8>> {
    let mut cmd = root;
    cmd.build();
    let mut names = vec!["cfl".to_string()];
    for name in path {
        let sub = cmd.find_subcommand(name).cloned().with_context(|| {
            let known: Vec<&str> = cmd
                .get_subcommands()
                .filter(|c| !c.is_hide_set())
                .map(|c| c.get_name())
                .collect();
            format!(
                "`{} {name}` is not a command; pages exist for: {}",
                names.join(" "),
                known.join(", ")
            )
        })?;
        names.push(sub.get_name().to_string());
        cmd = sub;
    }
    if cmd.get_version().is_none() {
        // clap's own `help` command has none; every page ends with the version.
        cmd = cmd.version(env!("CARGO_PKG_VERSION"));
    }
    let title = names.join("-");
    let man = clap_mangen::Man::new(cmd.clone())
        .title(title)
        .source(concat!("cfl ", env!("CARGO_PKG_VERSION")));
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut out)?;
    }
    if cmd.has_subcommands() {
        man.render_subcommands_section(&mut out)?;
    }
    if cmd.get_after_long_help().is_some() || cmd.get_after_help().is_some() {
        man.render_extra_section(&mut out)?;
    }
    let top = names.get(1).map(String::as_str);
    extra_sections(&mut out, top, &names.join(" "))?;
    man.render_version_section(&mut out)?;
    Ok(out)
}

fn applies(commands: &[&str], top: Option<&str>) -> bool {
    match top {
        None => true,
        Some(top) => commands.is_empty() || commands.contains(&top),
    }
}

/// ENVIRONMENT, EXIT STATUS and EXAMPLES for the page of `full` (`cfl auth login`), whose
/// top-level command is `top` (none: cfl itself).
fn extra_sections(out: &mut Vec<u8>, top: Option<&str>, full: &str) -> std::io::Result<()> {
    writeln!(out, ".SH ENVIRONMENT")?;
    for v in ENVIRONMENT.iter().filter(|v| applies(v.commands, top)) {
        writeln!(out, ".TP\n\\fB{}\\fR\n{}", text(v.name), text(v.meaning))?;
    }
    writeln!(out, ".SH \"EXIT STATUS\"")?;
    for (code, meaning, commands) in EXIT_STATUS {
        if applies(commands, top) {
            writeln!(out, ".TP\n\\fB{code}\\fR\n{}", text(meaning))?;
        }
    }
    let mut examples: Vec<&str> = EXAMPLES
        .iter()
        .filter(|(cmd, _)| top.is_none() || is_under(cmd, full))
        .map(|(_, e)| *e)
        .collect();
    if examples.is_empty() {
        // A verb without examples of its own: its command's.
        let parent = full.rsplit_once(' ').map_or(full, |(p, _)| p);
        examples = EXAMPLES
            .iter()
            .filter(|(cmd, _)| is_under(cmd, parent))
            .map(|(_, e)| *e)
            .collect();
    }
    if top.is_none() {
        examples.truncate(8);
    }
    writeln!(out, ".SH EXAMPLES")?;
    for e in examples {
        let (what, lines) = e.split_once('\n').unwrap_or((e, ""));
        writeln!(out, ".PP\n{}\n.PP\n.RS 4\n.nf", text(what))?;
        for line in lines.lines() {
            writeln!(out, "{}", text(line))?;
        }
        writeln!(out, ".fi\n.RE")?;
    }
    Ok(())
}

/// Whether the example command `cmd` runs `full` or one of its subcommands.
fn is_under(cmd: &str, full: &str) -> bool {
    cmd == full || cmd.starts_with(&format!("{full} ")) || full.starts_with(&format!("{cmd} "))
}

/// Text as roff shows it literally: backslashes and hyphens escaped, and a line never starting
/// with a control character.
fn text(s: &str) -> String {
    let escaped = s.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with(['.', '\'']) {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roff_text_is_literal() {
        assert_eq!(text(".x -f a\\b"), "\\&.x \\-f a\\eb");
        assert_eq!(text("'q'"), "\\&'q'");
    }

    #[test]
    fn examples_match_their_command_and_its_verbs() {
        assert!(is_under("cfl auth login", "cfl auth"));
        assert!(is_under("cfl auth login", "cfl auth login"));
        assert!(!is_under("cfl auth login", "cfl auth status"));
        assert!(!is_under("cfl api", "cfl attachment"));
    }
}
