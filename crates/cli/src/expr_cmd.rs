//! `provisio expr`: evaluate or check an attribute-mapping expression from the command line.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::Subcommand;
use provisio_expr::{check, parse, Outcome, Program, SystemEnvironment};
use serde_json::{json, Map, Value};

#[derive(Subcommand)]
pub enum ExprCommand {
    /// Evaluate EXPRESSION over a source object; print {"value": …} (a date as Entra writes
    /// it, "M/d/yyyy h:mm:ss tt" in UTC), or {"ignored": true} when IgnoreFlowIfNullOrEmpty
    /// suppresses the flow.
    Eval {
        /// The expression, e.g. 'Join(" ", [givenName], [surname])'.
        expression: String,
        /// The source object: a JSON file with one object (attribute names case-insensitive).
        #[arg(long)]
        input: Option<PathBuf>,
        /// The tenant's default domain, for DefaultDomain().
        #[arg(long)]
        default_domain: Option<String>,
    },
    /// Parse and check EXPRESSION without evaluating it; print "ok" or the errors.
    Check {
        expression: String,
        /// The source object's attribute names, comma-separated.
        #[arg(long, value_delimiter = ',', conflicts_with = "input")]
        attributes: Option<Vec<String>>,
        /// Take the attribute names from this JSON object's keys.
        #[arg(long)]
        input: Option<PathBuf>,
    },
}

fn read_object(path: &Path) -> anyhow::Result<Map<String, Value>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    match serde_json::from_str(&text).with_context(|| format!("reading {}", path.display()))? {
        Value::Object(object) => Ok(object),
        _ => bail!("{}: expected a JSON object", path.display()),
    }
}

/// An expression that does not parse, check or evaluate is the user's input, not a failure of
/// provisio: its message goes to stderr as it is (no backtrace), and the exit status is 1.
fn reject(message: impl std::fmt::Display) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1)
}

pub fn run(command: ExprCommand) -> anyhow::Result<()> {
    match command {
        ExprCommand::Eval {
            expression,
            input,
            default_domain,
        } => {
            let object = match input {
                Some(path) => read_object(&path)?,
                None => Map::new(),
            };
            let program = Program::compile(&expression).unwrap_or_else(|error| reject(error));
            let mut env = SystemEnvironment::default();
            env.default_domain = default_domain;
            let outcome = program
                .evaluate(&object, &env)
                .unwrap_or_else(|error| reject(error));
            let output = match outcome {
                Outcome::Value(value) => json!({ "value": value.to_json() }),
                Outcome::Ignored => json!({ "ignored": true }),
            };
            println!("{output}");
            Ok(())
        }
        ExprCommand::Check {
            expression,
            attributes,
            input,
        } => {
            let names: Option<Vec<String>> = match (attributes, input) {
                (Some(names), _) => Some(names.into_iter().map(|n| n.trim().to_string()).collect()),
                (None, Some(path)) => Some(read_object(&path)?.keys().cloned().collect()),
                (None, None) => None,
            };
            let names: Option<Vec<&str>> = names
                .as_ref()
                .map(|names| names.iter().map(String::as_str).collect());
            let tree = parse(&expression).unwrap_or_else(|error| reject(error));
            let errors = check(&tree, &expression, names.as_deref());
            if errors.is_empty() {
                println!("ok");
                return Ok(());
            }
            let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
            reject(lines.join("\nerror: "))
        }
    }
}
