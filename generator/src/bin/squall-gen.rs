//! The squall-gen command line: generate, check, diff, schema.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use squall_gen::{Generator, version::Version};

/// squall's client generator: OpenStack API specs per microversion -> typed Rust clients.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// The spec tree.
    #[arg(long, global = true, default_value = "specs")]
    specs: PathBuf,
    /// The generated crate's source directory.
    #[arg(long, global = true, default_value = "generated/src")]
    out: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Regenerate the clients and print a summary.
    Generate,
    /// Fail, with a summary, when the generated code differs from what the specs produce.
    Check,
    /// Describe what changes between two microversions of a service.
    Diff {
        /// The service (`compute`).
        service: String,
        /// The older version.
        from: String,
        /// The newer version.
        to: String,
    },
    /// Print the JSON Schema of the spec format.
    Schema,
    /// Import a service's own API declaration (a dump from scripts/dump/) plus its overlay into
    /// specs/<service>/; with --check, only prove that specs/ already holds exactly that.
    Import {
        /// The service (`compute`): its folder under --specs.
        service: String,
        /// The dump (`target/squall-dump/compute.json`).
        #[arg(long)]
        dump: PathBuf,
        /// The overlay; default <specs>/<service>/overlay.yaml when it exists.
        #[arg(long)]
        overlay: Option<PathBuf>,
        /// Write nothing; fail when specs/ differs from dump + overlay.
        #[arg(long)]
        check: bool,
    },
}

fn run(cli: Cli) -> Result<(), String> {
    let generator = Generator::new(&cli.specs).out_dir(&cli.out);
    match cli.command {
        Command::Generate => {
            let generated = generator.write().map_err(|e| e.to_string())?;
            println!("{generated}");
        }
        Command::Check => {
            let generated = generator.check().map_err(|e| e.to_string())?;
            println!("generated code is fresh ({} files)", generated.files.len());
        }
        Command::Diff { service, from, to } => {
            let parse =
                |t: &str| Version::parse(t).ok_or_else(|| format!("invalid microversion {t:?}"));
            let (from, to) = (parse(&from)?, parse(&to)?);
            let loaded = squall_gen::resolve::load_service(&cli.specs.join(&service))
                .map_err(|e| e.to_string())?;
            let lines = squall_gen::diff::describe(&loaded, from, to);
            if lines.is_empty() {
                println!("no changes between {from} and {to}");
            }
            for line in lines {
                println!("{line}");
            }
        }
        Command::Schema => print!("{}", squall_gen::spec::format_schema()),
        Command::Import {
            service,
            dump,
            overlay,
            check,
        } => {
            let options = squall_gen::import::Options {
                service,
                dump,
                specs: cli.specs.clone(),
                overlay,
            };
            if check {
                let report = squall_gen::import::check(&options).map_err(|e| e.to_string())?;
                println!("{report}\nspecs/{} matches dump + overlay", options.service);
            } else {
                let report = squall_gen::import::write(&options).map_err(|e| e.to_string())?;
                println!(
                    "{report}\n{} files written, {} stale files deleted",
                    report.written, report.deleted
                );
            }
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
