//! The command line: clap's raw arguments, and their validation into the options the library
//! runs with (ripgrep's low-level/high-level split).

use crate::diag::Severity;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "fleetward",
    version,
    about = "Enforce one security policy across every service of a Rust monorepo",
    long_about = "fleetward walks a monorepo, finds every Cargo workspace, service and shared \
library, and checks all of them against one policy (fleetward.toml): RustSec advisories for \
every lockfile, with the services each finding affects.\n\n\
Exit status: 0 no finding at or above --fail-on, 1 at least one, 2 fleetward could not do its job.",
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check every service of the fleet against the policy
    Check(CheckArgs),
    /// Audit every lockfile against the RustSec advisory database (`check --only advisories`)
    Audit(CheckArgs),
    /// List the fleet: every package, whether it is a service or a library, its workspace and lockfile
    Services(ServicesArgs),
    /// List every HTTP and gRPC route of every service, and how each is protected
    Routes(RoutesArgs),
    /// List the rules, or explain one
    Rules(RulesArgs),
    /// Write a commented starter fleetward.toml
    Init(InitArgs),
    /// Record today's findings and coverage per service, for `check --baseline FILE` and `[coverage] no_drop`
    Baseline(BaselineArgs),
    /// Combine the JSON or SARIF outputs of `check --shard K/N` (all N shards) into the report of one full run
    Merge(MergeArgs),
    /// Fetch or describe the RustSec advisory database
    Db(DbArgs),
    /// Install the git pre-commit hook that runs `fleetward check --staged`
    Hook(HookArgs),
    /// Plan the upgrades that fix vulnerable dependencies; apply them, or open one pull request per workspace
    Fix(FixArgs),
}

#[derive(Debug, Args)]
pub struct FixArgs {
    /// Directory to fix (the repository root, or any directory inside it)
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Edit the manifests and run `cargo update --precise` per lockfile, then re-audit
    #[arg(long)]
    pub apply: bool,
    /// Push one branch per workspace (`fleetward/fix/<workspace>`) and open or update its pull request on GitHub
    #[arg(long, conflicts_with = "apply")]
    pub open_pr: bool,
    /// The git remote to push to (with --open-pr)
    #[arg(long, value_name = "NAME", default_value = "origin", requires = "open_pr")]
    pub remote: String,
    /// The branch the pull requests target (with --open-pr; default: the current branch)
    #[arg(long, value_name = "BRANCH", requires = "open_pr")]
    pub base: Option<String>,
    /// Let --apply edit files that have uncommitted changes
    #[arg(long, requires = "apply")]
    pub allow_dirty: bool,
    /// Plan from the advisories' patched ranges only, without reading any registry index
    #[arg(long)]
    pub no_index: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t = ListFormat::Human)]
    pub format: ListFormat,
    /// Policy file (default: fleetward.toml found by walking up from PATH)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Advisory database directory (default: $FLEETWARD_ADVISORY_DB, the policy's `db`, then ~/.cargo/advisory-db)
    #[arg(long, value_name = "DIR")]
    pub advisory_db: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct HookArgs {
    #[command(subcommand)]
    pub action: HookAction,
}

#[derive(Debug, Subcommand)]
pub enum HookAction {
    /// Write .git/hooks/pre-commit (or core.hooksPath's) to check what is being committed
    Install {
        /// A directory of the repository
        #[arg(default_value = ".")]
        path: PathBuf,
        /// Replace a pre-commit hook that fleetward did not write
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
    Sarif,
    Github,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Human,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// What a run scans and how: shared by `check`, `audit` and `baseline`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Root of the monorepo to check
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Policy file (default: fleetward.toml found upward from PATH)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Advisory database directory (default: $FLEETWARD_ADVISORY_DB, the policy's `db`, then ~/.cargo/advisory-db)
    #[arg(long, value_name = "DIR")]
    pub advisory_db: Option<PathBuf>,
    /// Run only these checks
    #[arg(long, value_delimiter = ',', value_name = "CHECK,..")]
    pub only: Vec<String>,
    /// Skip these checks
    #[arg(long, value_delimiter = ',', value_name = "CHECK,..")]
    pub skip: Vec<String>,
    /// A coverage report to read (LCOV, Cobertura XML, llvm-cov JSON or tarpaulin JSON); repeat for several
    #[arg(long = "coverage", value_name = "FILE")]
    pub coverage: Vec<PathBuf>,
    /// Number of threads (default: number of CPUs)
    #[arg(short = 'j', long, value_name = "N")]
    pub threads: Option<usize>,
    /// Do not read or write the source checks' result cache
    #[arg(long, conflicts_with = "cache_dir")]
    pub no_cache: bool,
    /// Cache directory (default: $FLEETWARD_CACHE_DIR, else the platform's cache directory)
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Check only the services that files changed since the merge base of REF and the work
    /// tree touch, and the services that depend on them (git)
    #[arg(long, value_name = "REF", conflicts_with_all = ["staged", "shard"])]
    pub changed_since: Option<String>,
    /// Check the content staged in the git index (what `git commit` would record), only for the
    /// services the staged changes touch and their dependents
    #[arg(long, conflicts_with = "shard")]
    pub staged: bool,
    /// Check only shard K of N: the fleet's packages split evenly by work, for a CI matrix
    /// (combine the outputs with `fleetward merge`)
    #[arg(long, value_name = "K/N", value_parser = parse_shard)]
    pub shard: Option<(u32, u32)>,
    /// Print timings per phase to standard error
    #[arg(short, long)]
    pub verbose: bool,
}

fn parse_shard(s: &str) -> Result<(u32, u32), String> {
    crate::scope::parse_shard(s)
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub scan: ScanArgs,
    /// Report format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Write the report to FILE instead of standard output
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit 1 when a finding has at least this severity (default: the policy's fail_on, else medium)
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<Severity>,
    /// Compare with a baseline written by `fleetward baseline`: only new findings fail the run
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Colour in human output
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Print only the summary line (human format)
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct BaselineArgs {
    #[command(flatten)]
    pub scan: ScanArgs,
    /// The baseline file to write
    #[arg(short = 'o', long = "output", value_name = "FILE", required = true)]
    pub output: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MergeFormat {
    Json,
    Sarif,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The outputs of `fleetward check --shard K/N --format FORMAT`, one for every K of one N
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// The format of the shard outputs and of the merged report
    #[arg(long, value_enum)]
    pub format: MergeFormat,
    /// Write the merged report to FILE instead of standard output
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ServicesArgs {
    /// Root of the monorepo
    #[arg(default_value = ".")]
    pub path: PathBuf,
    #[arg(long, value_enum, default_value_t = ListFormat::Human)]
    pub format: ListFormat,
    /// Policy file (default: fleetward.toml found upward from PATH)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RoutesArgs {
    /// Root of the monorepo
    #[arg(default_value = ".")]
    pub path: PathBuf,
    #[arg(long, value_enum, default_value_t = ListFormat::Human)]
    pub format: ListFormat,
    /// Policy file (default: fleetward.toml found upward from PATH)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print the auth-looking extractors and middleware the policy does not name yet
    #[arg(long)]
    pub suggest_policy: bool,
    /// Also list routers that no served root reaches
    #[arg(long)]
    pub all_routers: bool,
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    /// Explain this rule (e.g. advisories/vulnerability)
    pub rule: Option<String>,
    #[arg(long, value_enum, default_value_t = ListFormat::Human)]
    pub format: ListFormat,
    /// Policy file whose own rules are listed too (default: fleetward.toml found upward from
    /// the current directory)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Directory to write fleetward.toml into
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Overwrite an existing fleetward.toml
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct DbArgs {
    #[command(subcommand)]
    pub action: DbAction,
    /// Advisory database directory (default: $FLEETWARD_ADVISORY_DB, then ~/.cargo/advisory-db)
    #[arg(long, global = true, value_name = "DIR")]
    pub advisory_db: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum DbAction {
    /// Clone the advisory database, or update an existing clone, with git
    Fetch {
        /// Repository to clone from
        #[arg(long, env = "FLEETWARD_ADVISORY_DB_URL", default_value = crate::db::DEFAULT_URL)]
        url: String,
    },
    /// Print the database's commit, date and advisory count
    Info,
}
