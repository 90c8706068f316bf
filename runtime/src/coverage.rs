//! Records which operation each successful call reached, at which answered version, for
//! `squall coverage`. Off unless `SQUALL_COVERAGE` names a file; then each distinct
//! `service<TAB>operation<TAB>version` line is appended to it once per process.

use std::collections::HashSet;
use std::io::Write;
use std::sync::{Mutex, OnceLock, PoisonError};

use crate::meta::OperationMeta;
use crate::version::Microversion;

/// The environment variable naming the file calls are recorded in.
pub const ENV: &str = "SQUALL_COVERAGE";

struct Recorder {
    path: std::path::PathBuf,
    seen: Mutex<HashSet<(&'static str, &'static str, Option<Microversion>)>>,
}

fn recorder() -> Option<&'static Recorder> {
    static RECORDER: OnceLock<Option<Recorder>> = OnceLock::new();
    RECORDER
        .get_or_init(|| {
            let path = std::env::var_os(ENV).filter(|p| !p.is_empty())?;
            Some(Recorder {
                path: path.into(),
                seen: Mutex::new(HashSet::new()),
            })
        })
        .as_ref()
}

/// Notes that `op` answered at `version` (a no-op unless [`ENV`] is set). A file that cannot
/// be written is logged, never fatal.
pub fn record(op: &'static OperationMeta, version: Option<Microversion>) {
    let Some(recorder) = recorder() else {
        return;
    };
    let fresh = recorder
        .seen
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert((op.service.name, op.name, version));
    if !fresh {
        return;
    }
    let version = version.map_or_else(|| "-".to_owned(), |v| v.to_string());
    let line = format!("{}\t{}\t{version}\n", op.service.name, op.name);
    let written = recorder
        .path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&recorder.path)
        })
        .and_then(|mut file| file.write_all(line.as_bytes()));
    if let Err(error) = written {
        tracing::warn!(path = %recorder.path.display(), %error, "coverage: cannot record a call");
    }
}
