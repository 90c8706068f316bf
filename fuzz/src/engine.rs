//! The mutation engine: a corpus per target, byte- and token-level mutations, novelty feedback
//! and crash handling.
//!
//! Each round picks a corpus entry (seeds first, then what was kept), applies one to four
//! mutations (bit flips, interesting bytes, inserted, deleted or duplicated ranges, splices from
//! another entry, tokens from the target's dictionary) and runs the target. An input whose
//! **outcome** (the target's signature of what happened: which error, at which pointer, which
//! branch of the result) was not seen before joins the corpus, so the search follows inputs that
//! reach new behaviour. A panic, or a broken property the target checks, is a failure: the input
//! is written to `fuzz/artifacts/<target>/crash-<hash>` and the run fails.
//!
//! A crash that kills the process (stack overflow, abort) cannot be caught in it: each target
//! runs in a worker process that first writes every input to `artifacts/<target>/.current`; the
//! supervisor renames that file to `crash-<hash>` when the worker dies by a signal, and a
//! watchdog in the worker aborts it when one input runs longer than [`HANG`].

use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One input running longer than this is a hang.
pub const HANG: Duration = Duration::from_secs(20);
/// The most inputs a corpus keeps.
const MAX_CORPUS: usize = 4096;
/// The longest input the mutations make.
const MAX_LEN: usize = 64 * 1024;

/// What a run of the target found wrong, besides a panic.
pub type Failure = String;

/// A fuzz target.
pub trait Target {
    /// Its name (`spec`, `decode`, ...), the folder of its corpus and artifacts.
    fn name(&self) -> &'static str;
    /// Seed inputs besides the checked-in corpus (e.g. built from the repository's specs).
    fn seeds(&self) -> Vec<Vec<u8>>;
    /// Tokens worth inserting (syntax of the input language).
    fn dictionary(&self) -> &'static [&'static [u8]];
    /// Runs one input: `Ok(signature)` of the outcome, or a broken property.
    fn run(&mut self, input: &[u8]) -> Result<u64, Failure>;
    /// A structural mutation of `input` that keeps it well-formed (see [`crate::tree`]), when
    /// the target's inputs have a structure; `None` to use the byte mutations.
    fn mutate_tree(&self, _input: &[u8]) -> Option<Vec<u8>> {
        None
    }
}

/// What a fuzzing session of one target did.
#[derive(Debug)]
pub struct Report {
    /// Inputs run.
    pub execs: u64,
    /// Distinct outcomes seen.
    pub outcomes: usize,
    /// Inputs in the corpus at the end.
    pub corpus: usize,
    /// The reproducer written, when the target failed.
    pub crash: Option<PathBuf>,
}

/// A stable 64-bit hash (FNV-1a) of anything hashable.
pub fn signature(value: impl Hash) -> u64 {
    struct Fnv(u64);
    impl Hasher for Fnv {
        fn finish(&self) -> u64 {
            self.0
        }
        fn write(&mut self, bytes: &[u8]) {
            for &b in bytes {
                self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
            }
        }
    }
    let mut h = Fnv(0xcbf2_9ce4_8422_2325);
    value.hash(&mut h);
    h.finish()
}

/// An error message with its digits and quoted parts blurred, so that one kind of error at one
/// place gives one outcome however the input's values differ.
pub fn shape(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(120));
    let mut in_quote = false;
    for c in message.chars().take(160) {
        match c {
            '"' | '`' => {
                in_quote = !in_quote;
                out.push('"');
            }
            _ if in_quote => {}
            '0'..='9' => {
                if !out.ends_with('#') {
                    out.push('#');
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// The corpus folder of a target.
pub fn corpus_dir(root: &Path, target: &str) -> PathBuf {
    root.join("corpus").join(target)
}

/// The artifacts folder of a target.
pub fn artifacts_dir(root: &Path, target: &str) -> PathBuf {
    root.join("artifacts").join(target)
}

fn read_corpus(dir: &Path) -> Vec<Vec<u8>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.file_name().is_none_or(|n| n != "README.md"))
        .collect();
    files.sort();
    files.iter().filter_map(|p| std::fs::read(p).ok()).collect()
}

/// Writes `input` as `crash-<hash>` under `dir`; returns its path.
pub fn save_crash(dir: &Path, input: &[u8]) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("crash-{:016x}", signature(input)));
    std::fs::write(&path, input)?;
    Ok(path)
}

/// Runs one input, turning a panic into a failure.
pub fn run_caught(target: &mut dyn Target, input: &[u8]) -> Result<u64, Failure> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| target.run(input))) {
        Ok(result) => result,
        Err(payload) => {
            let message = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "a panic".to_owned());
            Err(format!("panicked: {message}"))
        }
    }
}

/// Mutates `input` in place with one to four random mutations.
fn mutate(input: &mut Vec<u8>, corpus: &[Vec<u8>], dictionary: &[&[u8]]) {
    let rounds = 1 + fastrand::usize(0..4);
    for _ in 0..rounds {
        let len = input.len();
        match fastrand::u8(0..9) {
            0 if len > 0 => {
                let i = fastrand::usize(0..len);
                input[i] ^= 1 << fastrand::u8(0..8);
            }
            1 if len > 0 => {
                const INTERESTING: &[u8] = &[0, 1, 0x7f, 0x80, 0xff, b'0', b'9', b'-', b' ', b'\n'];
                let i = fastrand::usize(0..len);
                input[i] = INTERESTING[fastrand::usize(0..INTERESTING.len())];
            }
            2 => {
                let at = fastrand::usize(0..=len);
                let n = 1 + fastrand::usize(0..8);
                let bytes: Vec<u8> = (0..n).map(|_| fastrand::u8(..)).collect();
                input.splice(at..at, bytes);
            }
            3 if len > 0 => {
                let at = fastrand::usize(0..len);
                let n = 1 + fastrand::usize(0..(len - at).min(64));
                input.drain(at..at + n);
            }
            4 if len > 0 => {
                let at = fastrand::usize(0..len);
                let n = 1 + fastrand::usize(0..(len - at).min(256));
                let copy = input[at..at + n].to_vec();
                let to = fastrand::usize(0..=len);
                input.splice(to..to, copy);
            }
            5 if !corpus.is_empty() => {
                let other = &corpus[fastrand::usize(0..corpus.len())];
                if !other.is_empty() {
                    let from = fastrand::usize(0..other.len());
                    let n = 1 + fastrand::usize(0..(other.len() - from).min(512));
                    let at = fastrand::usize(0..=len);
                    let cut = (at + fastrand::usize(0..=(len - at).min(512))).min(len);
                    input.splice(at..cut, other[from..from + n].iter().copied());
                }
            }
            6 | 7 if !dictionary.is_empty() => {
                let token = dictionary[fastrand::usize(0..dictionary.len())];
                let at = fastrand::usize(0..=len);
                if fastrand::bool() || len == 0 {
                    input.splice(at..at, token.iter().copied());
                } else {
                    let end = (at + token.len()).min(len);
                    input.splice(at..end, token.iter().copied());
                }
            }
            _ if len > 1 => {
                // Repeat a range: deep nesting, long runs.
                let at = fastrand::usize(0..len);
                let n = 1 + fastrand::usize(0..(len - at).min(16));
                let copy = input[at..at + n].to_vec();
                for _ in 0..fastrand::usize(1..32) {
                    input.splice(at..at, copy.iter().copied());
                }
            }
            _ => input.push(fastrand::u8(..)),
        }
    }
    input.truncate(MAX_LEN);
}

/// Fuzzes `target` for `duration`; the checked-in corpus is under `root/corpus/<name>`.
/// Stops at the first failure and writes its reproducer.
pub fn fuzz(target: &mut dyn Target, root: &Path, duration: Duration, seed: u64) -> Report {
    fastrand::seed(seed);
    let name = target.name();
    let artifacts = artifacts_dir(root, name);
    let _ = std::fs::create_dir_all(&artifacts);
    let current = artifacts.join(".current");
    let mut corpus = read_corpus(&corpus_dir(root, name));
    corpus.extend(target.seeds());
    if corpus.is_empty() {
        corpus.push(Vec::new());
    }
    let dictionary = target.dictionary();
    let mut seen = HashSet::new();
    let mut execs = 0u64;

    // The watchdog: aborts the worker when one input runs too long (the supervisor then keeps
    // `.current` as the reproducer).
    let started_exec = Arc::new(AtomicU64::new(0));
    let epoch = Instant::now();
    {
        let started_exec = started_exec.clone();
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(Duration::from_millis(500));
                let at = started_exec.load(Ordering::Relaxed);
                if at != 0 && epoch.elapsed().as_millis() as u64 > at + HANG.as_millis() as u64 {
                    eprintln!("squall-fuzz: one input ran longer than {HANG:?}: a hang");
                    std::process::abort();
                }
            }
        });
    }
    let run_one = |target: &mut dyn Target, input: &[u8]| {
        let _ = std::fs::write(&current, input);
        started_exec.store(epoch.elapsed().as_millis() as u64 + 1, Ordering::Relaxed);
        let result = run_caught(target, input);
        started_exec.store(0, Ordering::Relaxed);
        result
    };
    let fail = |input: &[u8], failure: &str, execs| {
        let crash = save_crash(&artifacts, input).ok();
        eprintln!(
            "squall-fuzz: {name}: FAILED after {execs} runs: {failure}\n  reproducer: {}\n  replay: cargo run -p squall-fuzz -- replay {name} {}",
            crash
                .as_deref()
                .map(Path::display)
                .map(|d| d.to_string())
                .unwrap_or_default(),
            crash
                .as_deref()
                .map(Path::display)
                .map(|d| d.to_string())
                .unwrap_or_default(),
        );
        crash
    };

    // Every seed once (as far as the time allows), then mutations until the time is up.
    let deadline = Instant::now() + duration;
    let seeds = corpus.clone();
    for input in &seeds {
        if Instant::now() >= deadline {
            break;
        }
        execs += 1;
        match run_one(target, input) {
            Ok(sig) => {
                seen.insert(sig);
            }
            Err(failure) => {
                return Report {
                    execs,
                    outcomes: seen.len(),
                    corpus: corpus.len(),
                    crash: fail(input, &failure, execs),
                };
            }
        }
    }
    let mut input = Vec::new();
    while Instant::now() < deadline {
        for _ in 0..16 {
            input.clear();
            input.extend_from_slice(&corpus[fastrand::usize(0..corpus.len())]);
            match fastrand::bool()
                .then(|| target.mutate_tree(&input))
                .flatten()
            {
                Some(tree) => {
                    input = tree;
                    if fastrand::u8(0..4) == 0 {
                        mutate(&mut input, &corpus, dictionary);
                    }
                }
                None => mutate(&mut input, &corpus, dictionary),
            }
            execs += 1;
            match run_one(target, &input) {
                Ok(sig) => {
                    if seen.insert(sig) && corpus.len() < MAX_CORPUS {
                        corpus.push(input.clone());
                    }
                }
                Err(failure) => {
                    return Report {
                        execs,
                        outcomes: seen.len(),
                        corpus: corpus.len(),
                        crash: fail(&input, &failure, execs),
                    };
                }
            }
        }
    }
    let _ = std::fs::remove_file(&current);
    Report {
        execs,
        outcomes: seen.len(),
        corpus: corpus.len(),
        crash: None,
    }
}

/// Silences the default panic message (a caught panic is reported as a failure instead) but
/// keeps the last one for the report.
pub fn quiet_panics() -> Arc<Mutex<Option<String>>> {
    let last = Arc::new(Mutex::new(None));
    let keep = last.clone();
    std::panic::set_hook(Box::new(move |info| {
        let location = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        if let Ok(mut slot) = keep.lock() {
            *slot = Some(format!("{info}{location}"));
        }
    }));
    last
}

/// Prints a line and flushes (the supervisor reads it).
pub fn say(line: &str) {
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Panics on inputs that contain `BOOM`; its seed is one mutation away.
    struct Boom;

    impl Target for Boom {
        fn name(&self) -> &'static str {
            "selftest"
        }
        fn seeds(&self) -> Vec<Vec<u8>> {
            vec![b"xxBOOxx".to_vec()]
        }
        fn dictionary(&self) -> &'static [&'static [u8]] {
            &[b"M"]
        }
        fn run(&mut self, input: &[u8]) -> Result<u64, Failure> {
            assert!(!input.windows(4).any(|w| w == b"BOOM"), "boom");
            Ok(signature(input.len()))
        }
    }

    #[test]
    fn a_panic_is_found_and_leaves_a_reproducer() {
        let root = tempfile::tempdir().unwrap();
        quiet_panics();
        let report = fuzz(&mut Boom, root.path(), Duration::from_secs(30), 3);
        let crash = report.crash.expect("the panic is found");
        assert!(crash.starts_with(root.path().join("artifacts/selftest")));
        let input = std::fs::read(&crash).unwrap();
        assert!(input.windows(4).any(|w| w == b"BOOM"), "{input:?}");
        assert!(
            matches!(run_caught(&mut Boom, &input), Err(m) if m.contains("boom")),
            "the reproducer replays"
        );
    }

    #[test]
    fn shapes_blur_values_but_keep_the_kind() {
        assert_eq!(
            shape("invalid type: integer `42`, expected a string at line 3"),
            shape("invalid type: integer `7`, expected a string at line 12")
        );
        assert_ne!(shape("missing field `a`"), shape("unknown field `a`"));
    }
}
