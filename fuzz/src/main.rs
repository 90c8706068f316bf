//! squall-fuzz: mutation fuzzing of squall's parsers on the stable toolchain (see
//! `fuzz/README.md`).
//!
//! ```text
//! squall-fuzz run [--seconds N] [--seed S] [TARGET...]   each target for N s (default 20), in a worker process
//! squall-fuzz replay TARGET FILE                          one input, e.g. a reproducer
//! squall-fuzz list                                        the targets
//! ```

mod engine;
mod targets;
mod tree;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("run") => run(&args[1..]),
        Some("worker") => worker(&args[1..]),
        Some("replay") => replay(&args[1..]),
        Some("list") => {
            for name in targets::NAMES {
                println!("{name}");
            }
            Ok(())
        }
        _ => Err("usage: squall-fuzz run [--seconds N] [--seed S] [TARGET...] | replay TARGET FILE | list".to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("squall-fuzz: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The supervisor: each target in its own worker process, one after the other.
fn run(args: &[String]) -> Result<(), String> {
    let mut seconds = 20u64;
    let mut seed = None;
    let mut names = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => {
                seconds = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .ok_or("--seconds needs a number")?;
            }
            "--seed" => {
                seed = Some(
                    args.next()
                        .and_then(|s| s.parse::<u64>().ok())
                        .ok_or("--seed needs a number")?,
                );
            }
            name => names.push(name.to_owned()),
        }
    }
    if names.is_empty() {
        names = targets::NAMES.iter().map(|s| (*s).to_owned()).collect();
    }
    let seed = seed.unwrap_or_else(|| fastrand::u64(..));
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut failed = Vec::new();
    for name in &names {
        targets::by_name(name, &root()).map_err(|e| e.to_string())?;
        let status = Command::new(&exe)
            .args(["worker", name, &seconds.to_string(), &seed.to_string()])
            .status()
            .map_err(|e| format!("{name}: cannot start the worker: {e}"))?;
        if status.success() {
            continue;
        }
        failed.push(name.clone());
        // A worker killed by a signal (stack overflow, abort, hang) left its input in .current.
        let artifacts = engine::artifacts_dir(&root(), name);
        let current = artifacts.join(".current");
        if let Ok(input) = std::fs::read(&current) {
            use std::os::unix::process::ExitStatusExt;
            if status.signal().is_some() {
                let crash = engine::save_crash(&artifacts, &input).map_err(|e| e.to_string())?;
                eprintln!(
                    "squall-fuzz: {name}: the worker died ({status}); reproducer: {}",
                    crash.display()
                );
            }
            let _ = std::fs::remove_file(&current);
        }
    }
    println!(
        "squall-fuzz: seed {seed}; {} of {} targets passed",
        names.len() - failed.len(),
        names.len()
    );
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "failed: {} (reproducers in fuzz/artifacts/)",
            failed.join(", ")
        ))
    }
}

/// One target, fuzzed in this process.
fn worker(args: &[String]) -> Result<(), String> {
    let [name, seconds, seed] = args else {
        return Err("worker TARGET SECONDS SEED".to_owned());
    };
    let seconds: u64 = seconds.parse().map_err(|_| "seconds")?;
    let seed: u64 = seed.parse().map_err(|_| "seed")?;
    let mut target = targets::by_name(name, &root())?;
    engine::quiet_panics();
    let report = engine::fuzz(target.as_mut(), &root(), Duration::from_secs(seconds), seed);
    let extra = if *name == "decode" {
        format!(", {} decoders", targets::decoder_count())
    } else {
        String::new()
    };
    engine::say(&format!(
        "squall-fuzz: {name}: {} runs in {seconds} s, {} distinct outcomes, corpus {}{extra}",
        report.execs, report.outcomes, report.corpus
    ));
    match report.crash {
        None => Ok(()),
        Some(path) => Err(format!("{name}: failed; reproducer {}", path.display())),
    }
}

/// Runs one input and reports its outcome.
fn replay(args: &[String]) -> Result<(), String> {
    let [name, file] = args else {
        return Err("replay TARGET FILE".to_owned());
    };
    let mut target = targets::by_name(name, &root())?;
    let input = std::fs::read(Path::new(file)).map_err(|e| format!("{file}: {e}"))?;
    let last_panic = engine::quiet_panics();
    match engine::run_caught(target.as_mut(), &input) {
        Ok(outcome) => {
            println!("{name}: passes (outcome {outcome:016x})");
            Ok(())
        }
        Err(failure) => {
            if let Some(panic) = last_panic.lock().ok().and_then(|p| p.clone()) {
                eprintln!("{panic}");
            }
            Err(format!("{name}: {failure}"))
        }
    }
}
