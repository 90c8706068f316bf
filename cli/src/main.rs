//! `squall`: validate a captured response, see what the tests covered, export a microversion as
//! OpenAPI 3.1, describe what a version changed. Exit codes: 0 fine, 1 invalid body, 2 bad
//! arguments, 3 unreadable file or broken specs.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use squall_cli::{CliError, coverage, openapi, table, validate};

#[derive(Parser)]
#[command(
    name = "squall",
    version,
    about = "Typed, microversion-aware OpenStack API tools"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Decode a captured response body strictly at a microversion; list every violation with
    /// its JSON pointer. Exit 0 valid, 1 invalid, 2 bad arguments.
    Validate {
        /// The service (`compute`, `placement`, `baremetal`).
        service: String,
        /// The operation's name (`show_server`), or METHOD PATH (`GET /servers/{id}` or a
        /// concrete path), then the version (`2.79`, `latest`), then the body file (`-` or
        /// nothing for standard input).
        #[arg(num_args = 2..=4, required = true)]
        args: Vec<String>,
        /// Also check that this HTTP status is a success status of that version.
        #[arg(long)]
        status: Option<u16>,
    },
    /// Operations × version spans per service, marked with what the test suite reached.
    Coverage {
        /// The calls file the runtime wrote (`SQUALL_COVERAGE`).
        #[arg(long, default_value = coverage::DEFAULT_CALLS)]
        calls: PathBuf,
        /// Only this service.
        #[arg(long)]
        service: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// One microversion of a service as an OpenAPI 3.1 document (JSON).
    Openapi {
        /// The service.
        service: String,
        /// The microversion (`2.79`, `latest`).
        version: String,
        /// The specs directory (default `$SQUALL_SPECS` or the bundled `specs/`).
        #[arg(long)]
        specs: Option<PathBuf>,
        /// Write to this file instead of standard output.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// What changed between two versions of a service, in words (as `squall-gen diff`).
    Diff {
        /// The service.
        service: String,
        /// The older version.
        from: String,
        /// The newer version.
        to: String,
        /// The specs directory (default `$SQUALL_SPECS` or the bundled `specs/`).
        #[arg(long)]
        specs: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{error}");
            ExitCode::from(error.exit_code())
        }
    }
}

fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Validate {
            service,
            args,
            status,
        } => {
            let table = table(&service)?;
            // METHOD PATH VERSION [FILE] or NAME VERSION [FILE].
            let is_route = args.len() >= 3 && args[1].starts_with('/');
            let (operation, rest) = args.split_at(if is_route { 2 } else { 1 });
            let (version, file) = match rest {
                [version] => (version, None),
                [version, file] => (version, Some(file.as_str())),
                _ => {
                    return Err(CliError::Usage(
                        "usage: squall validate <service> <operation|METHOD PATH> <version> [file|-]"
                            .to_owned(),
                    ));
                }
            };
            let version = validate::parse_version(table, version)?;
            let entry = validate::lookup(table, operation, version)?;
            let body = read_body(file)?;
            let valid = validate::validate(entry, version, status, body.into())?;
            println!(
                "valid: {} at {} ({})\n{}",
                valid.operation, valid.version, valid.schema, valid.typed
            );
        }
        Command::Coverage {
            calls,
            service,
            format,
        } => {
            let recorded = coverage::Calls::load(&calls)?;
            let tables: Vec<_> = match &service {
                Some(name) => vec![table(name)?],
                None => squall_clients::TABLES.to_vec(),
            };
            let matrix: Vec<_> = tables
                .iter()
                .map(|t| coverage::matrix(t, &recorded))
                .collect();
            match format {
                Format::Text => print!("{}", coverage::render_text(&matrix)),
                Format::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&matrix)
                        .map_err(|e| CliError::Io(e.to_string()))?
                ),
            }
        }
        Command::Openapi {
            service,
            version,
            specs,
            output,
        } => {
            let specs = specs.unwrap_or_else(squall_cli::default_specs);
            let document = openapi::document(&specs, &service, &version)?;
            let text =
                serde_json::to_string_pretty(&document).map_err(|e| CliError::Io(e.to_string()))?;
            match output {
                Some(path) => std::fs::write(&path, text + "\n")
                    .map_err(|e| CliError::Io(format!("{}: {e}", path.display())))?,
                None => println!("{text}"),
            }
        }
        Command::Diff {
            service,
            from,
            to,
            specs,
        } => {
            let specs = specs.unwrap_or_else(squall_cli::default_specs);
            let loaded = squall_gen::resolve::load_service(&specs.join(&service))
                .map_err(|e| CliError::Io(e.to_string()))?;
            let (from, to) = (
                openapi::parse(&loaded, &from)?,
                openapi::parse(&loaded, &to)?,
            );
            let lines = squall_gen::diff::describe(&loaded, from, to);
            if lines.is_empty() {
                println!("no changes between {from} and {to}");
            }
            for line in lines {
                println!("{line}");
            }
        }
    }
    Ok(())
}

fn read_body(file: Option<&str>) -> Result<Vec<u8>, CliError> {
    match file {
        None | Some("-") => {
            let mut body = Vec::new();
            std::io::stdin()
                .read_to_end(&mut body)
                .map_err(|e| CliError::Io(format!("standard input: {e}")))?;
            Ok(body)
        }
        Some(path) => std::fs::read(path).map_err(|e| CliError::Io(format!("{path}: {e}"))),
    }
}
