//! `fazt`: manage the egress allowlist and secrets, explain decisions, make
//! requests and run scripts through the policy, read the request log, and
//! take an offline tour (`fazt demo`).
//!
//! Exit status: 0 success; 1 a request was refused or failed (the code is
//! printed); 2 a usage error (nothing was written).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand};

mod commands;
mod context;
mod demo;
mod demo_server;
mod logs;
mod output;
mod remedy;

use output::Failure;

/// fazt egress: safe outbound HTTP for serverless JavaScript.
#[derive(Parser, Debug)]
#[command(
    name = "fazt",
    version,
    about,
    max_term_width = 100,
    after_long_help = "Examples:
  fazt net allow api.stripe.com
  printf %s \"$STRIPE_KEY\" | fazt secret set STRIPE_KEY --domain api.stripe.com
  fazt fetch https://api.stripe.com/v1/balance --auth STRIPE_KEY
  fazt run charge.js --app shop
  fazt net logs --follow

Every command takes the global options; the development options print a
warning whenever they are used."
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

/// The help heading of the options every command takes.
const GLOBAL: &str = "Global options";

/// The help heading of the options that weaken the policy for development.
const DEVELOPMENT: &str = "Development options (each prints a warning)";

/// Options every command takes.
#[derive(Args, Debug, Clone)]
struct Global {
    /// Database file [env: FAZT_DB; default: fazt/fazt.db in the user data dir]
    #[arg(long, global = true, value_name = "PATH", help_heading = GLOBAL)]
    db: Option<PathBuf>,
    /// Resolve HOST to IP without DNS (repeatable)
    #[arg(long, global = true, value_name = "HOST=IP", help_heading = DEVELOPMENT)]
    resolve: Vec<String>,
    /// Allow connections to this otherwise blocked range (repeatable)
    #[arg(long = "allow-range", global = true, value_name = "CIDR", help_heading = DEVELOPMENT)]
    allow_range: Vec<String>,
    /// Also trust the root certificates in this PEM file
    #[arg(long = "ca-file", global = true, value_name = "PEM", help_heading = DEVELOPMENT)]
    ca_file: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Manage the allowlist, explain decisions, read the request log
    #[command(after_long_help = "Examples:
  fazt net allow api.stripe.com
  fazt net check https://api.stripe.com/v1/charges
  fazt net logs --since 1h")]
    #[command(subcommand)]
    Net(NetCommand),
    /// Manage secrets (values are write-only)
    #[command(after_long_help = "Examples:
  printf %s \"$STRIPE_KEY\" | fazt secret set STRIPE_KEY --domain api.stripe.com
  fazt secret list")]
    #[command(subcommand)]
    Secret(SecretCommand),
    /// Make one request through the policy and transport
    #[command(after_long_help = "Examples:
  fazt fetch https://api.example.com/v1/items
  fazt fetch https://api.example.com/v1/items -X POST -H 'content-type: application/json' -d '{}'
  fazt fetch https://api.stripe.com/v1/balance --auth STRIPE_KEY --app shop")]
    Fetch(commands::FetchArgs),
    /// Run a script with fazt.net.fetch available
    #[command(after_long_help = "Examples:
  fazt run charge.js
  fazt run charge.js --app shop")]
    Run {
        /// The script file
        script: PathBuf,
        /// Run for this app
        #[arg(long)]
        app: Option<String>,
    },
    /// Show the limits in force (`*` marks a value set with `limits set`),
    /// or change them
    #[command(after_long_help = "Examples:
  fazt limits
  fazt limits --schema
  fazt limits set max_calls 10
  fazt limits reset max_calls")]
    Limits {
        /// Print the values as JSON
        #[arg(long, conflicts_with = "schema")]
        json: bool,
        /// Print the schema (label, description, unit, range) as JSON
        #[arg(long)]
        schema: bool,
        #[command(subcommand)]
        action: Option<LimitsCommand>,
    },
    /// Print a completion script for a shell
    #[command(after_long_help = "Examples:
  fazt completions bash > ~/.local/share/bash-completion/completions/fazt
  fazt completions zsh > ~/.zfunc/_fazt
  fazt completions fish > ~/.config/fish/completions/fazt.fish")]
    Completions {
        /// The shell
        shell: clap_complete::Shell,
    },
    /// An offline tour: a local TLS upstream, a secret, and SSRF attempts refused
    #[command(after_long_help = "Examples:
  fazt demo")]
    Demo,
}

#[derive(Subcommand, Debug)]
enum NetCommand {
    /// Allow a host (`api.example.com`, `*.example.com`, optional `:port`)
    Allow(commands::AllowArgs),
    /// List allowlist entries
    #[command(after_long_help = "Examples:
  fazt net list
  fazt net list --app shop --json")]
    List {
        /// Only this app's entries (and the global ones)
        #[arg(long)]
        app: Option<String>,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Remove an allowlist entry
    #[command(after_long_help = "Examples:
  fazt net remove api.example.com
  fazt net remove '*.example.com' --app shop")]
    Remove {
        /// The entry, as it was allowed
        host: String,
        /// The app it belongs to (global when omitted)
        #[arg(long)]
        app: Option<String>,
    },
    /// Explain whether a URL would be allowed, step by step (no request is sent)
    #[command(after_long_help = "Examples:
  fazt net check https://api.stripe.com/v1/charges
  fazt net check http://169.254.169.254/ --json")]
    Check {
        /// The URL
        url: String,
        /// Check for this app
        #[arg(long)]
        app: Option<String>,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Show recent requests
    Logs(logs::LogsArgs),
    /// Per-host statistics
    #[command(after_long_help = "Examples:
  fazt net stats
  fazt net stats --json")]
    Stats {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
enum LimitsCommand {
    /// Set a limit (checked against its range); every later command uses it
    #[command(after_long_help = "Examples:
  fazt limits set max_calls 10
  fazt limits set call_timeout_ms 2000")]
    Set {
        /// The limit's name, as `fazt limits` lists it
        name: String,
        /// The new value, in the limit's unit
        value: u64,
    },
    /// Back to the default: one limit, or all of them
    #[command(after_long_help = "Examples:
  fazt limits reset max_calls
  fazt limits reset")]
    Reset {
        /// The limit's name; all limits when omitted
        name: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
enum SecretCommand {
    /// Store a secret; the value is read from stdin (or a no-echo prompt)
    Set(commands::SecretSetArgs),
    /// List secrets, values masked
    #[command(after_long_help = "Examples:
  fazt secret list
  fazt secret list --app shop --json")]
    List {
        /// Only this app's secrets (and the global ones)
        #[arg(long)]
        app: Option<String>,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Remove a secret
    #[command(after_long_help = "Examples:
  fazt secret remove STRIPE_KEY
  fazt secret remove STRIPE_KEY --app shop")]
    Remove {
        /// The secret's name
        name: String,
        /// The app it belongs to (global when omitted)
        #[arg(long)]
        app: Option<String>,
    },
}

fn main() -> ExitCode {
    // The process holds secret values in memory: no core file may carry
    // them to disk.
    disable_core_dumps();
    // A worker for an isolated script run: runs it and exits.
    fazt_js::worker::run_if_worker();
    // While the process has one thread: the bytecode-cache setting lives in
    // the environment, and engine flags are read when runtimes are made.
    fazt_js::prepare_engine();
    // Script runtimes restore from the snapshot build.rs made with this
    // same fazt-js (compiled in, never read from disk).
    fazt_js::use_startup_snapshot(include_bytes!(concat!(env!("OUT_DIR"), "/startup.snap")));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => f.report(),
    }
}

fn dispatch(cli: Cli) -> Result<(), Failure> {
    let g = &cli.global;
    match cli.command {
        Command::Net(NetCommand::Allow(a)) => commands::allow(g, &a),
        Command::Net(NetCommand::List { app, json }) => commands::list(g, app.as_deref(), json),
        Command::Net(NetCommand::Remove { host, app }) => {
            commands::remove(g, &host, app.as_deref())
        }
        Command::Net(NetCommand::Check { url, app, json }) => {
            commands::check(g, &url, app.as_deref(), json)
        }
        Command::Net(NetCommand::Logs(a)) => logs::logs(g, &a),
        Command::Net(NetCommand::Stats { json }) => commands::stats(g, json),
        Command::Secret(SecretCommand::Set(a)) => commands::secret_set(g, &a),
        Command::Secret(SecretCommand::List { app, json }) => {
            commands::secret_list(g, app.as_deref(), json)
        }
        Command::Secret(SecretCommand::Remove { name, app }) => {
            commands::secret_remove(g, &name, app.as_deref())
        }
        Command::Fetch(a) => commands::fetch(g, &a),
        Command::Run { script, app } => commands::run(g, &script, app.as_deref()),
        Command::Limits {
            action: Some(LimitsCommand::Set { name, value }),
            ..
        } => commands::limits_set(g, &name, value),
        Command::Limits {
            action: Some(LimitsCommand::Reset { name }),
            ..
        } => commands::limits_reset(g, name.as_deref()),
        Command::Limits {
            json,
            schema,
            action: None,
        } => commands::limits(g, json, schema),
        Command::Demo => demo::run(),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "fazt", &mut script);
            output::print_bytes(&script)
        }
    }
}

/// Sets the core file size limit to zero, soft and hard, so that neither
/// this process nor anything it starts writes a core dump. Best effort: a
/// platform without the limit keeps its default.
fn disable_core_dumps() {
    #[cfg(unix)]
    {
        use rustix::process::{setrlimit, Resource, Rlimit};
        let _ = setrlimit(
            Resource::Core,
            Rlimit {
                current: Some(0),
                maximum: Some(0),
            },
        );
    }
}
