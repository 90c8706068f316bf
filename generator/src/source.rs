//! Spec files as loaded from disk: their text, a map from JSON pointers to lines, and
//! diagnostics that point into them.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// A problem in a spec, located by file, line and JSON pointer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The spec file.
    pub file: PathBuf,
    /// The 1-based line, when known.
    pub line: Option<usize>,
    /// A JSON pointer into the file's document (`/changes/1/path`).
    pub pointer: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        let pointer = if self.pointer.is_empty() {
            "/"
        } else {
            &self.pointer
        };
        write!(f, ": {pointer}: {}", self.message)
    }
}

/// One loaded YAML file.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Its path, as given (relative paths stay relative, for readable messages).
    pub path: PathBuf,
    /// Its document, as JSON.
    pub value: serde_json::Value,
    lines: HashMap<String, usize>,
}

impl SourceFile {
    /// Reads and parses a YAML file; syntax errors carry the file and line.
    pub fn load(path: &Path) -> Result<Self, Diagnostic> {
        let bytes = std::fs::read(path).map_err(|e| Diagnostic {
            file: path.to_owned(),
            line: None,
            pointer: String::new(),
            message: format!("cannot read: {e}"),
        })?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            Diagnostic {
                file: path.to_owned(),
                line: Some(valid.iter().filter(|&&b| b == b'\n').count() + 1),
                pointer: String::new(),
                message: format!("not UTF-8: {}", e.utf8_error()),
            }
        })?;
        Self::parse(path, &text)
    }

    /// Parses YAML text that came from `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Self, Diagnostic> {
        let value: serde_json::Value = serde_yaml::from_str(text).map_err(|e| Diagnostic {
            file: path.to_owned(),
            // serde_yaml gives no location for some errors (a second document, recursion or
            // alias-expansion limits): point at the second document's start when there is
            // one, else at the top of the file.
            line: Some(
                e.location()
                    .map(|l| l.line())
                    .or_else(|| second_document_line(text))
                    .unwrap_or(1),
            ),
            pointer: String::new(),
            message: format!("YAML syntax: {e}"),
        })?;
        let value = if value.is_null() {
            serde_json::Value::Object(Default::default())
        } else {
            value
        };
        Ok(Self {
            path: path.to_owned(),
            value,
            lines: line_index(text),
        })
    }

    /// The line of the node at `pointer`, or of its nearest ancestor that has one; line 1
    /// for an empty document.
    pub fn line_of(&self, pointer: &str) -> Option<usize> {
        let mut current = pointer;
        loop {
            if let Some(line) = self.lines.get(current) {
                return Some(*line);
            }
            match current.rfind('/') {
                Some(cut) => current = &current[..cut],
                None => return Some(1),
            }
        }
    }

    /// A diagnostic at `pointer` in this file.
    pub fn diagnostic(&self, pointer: &str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            file: self.path.clone(),
            line: self.line_of(pointer),
            pointer: pointer.to_owned(),
            message: message.into(),
        }
    }
}

/// Escapes one JSON-pointer segment.
pub fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// Joins a pointer and a segment.
pub fn child(pointer: &str, segment: &str) -> String {
    format!("{pointer}/{}", escape(segment))
}

enum Frame {
    Map {
        pointer: String,
        key: Option<String>,
    },
    Seq {
        pointer: String,
        index: usize,
    },
}

/// Walks the YAML events and records the line where each node starts, by JSON pointer.
struct LineIndexer {
    stack: Vec<Frame>,
    lines: HashMap<String, usize>,
}

impl LineIndexer {
    /// The pointer of the node that starts now, advancing the parent's position. `None` when the
    /// event is a mapping key.
    fn next_node(&mut self, scalar: Option<&str>) -> Option<String> {
        match self.stack.last_mut() {
            None => Some(String::new()),
            Some(Frame::Seq { pointer, index }) => {
                let p = child(pointer, &index.to_string());
                *index += 1;
                Some(p)
            }
            Some(Frame::Map { pointer, key }) => match key.take() {
                Some(k) => Some(child(pointer, &k)),
                None => {
                    *key = Some(scalar.unwrap_or_default().to_owned());
                    None
                }
            },
        }
    }
}

impl MarkedEventReceiver for LineIndexer {
    fn on_event(&mut self, event: Event, mark: Marker) {
        let line = mark.line();
        match event {
            Event::Scalar(text, ..) => {
                if let Some(p) = self.next_node(Some(&text)) {
                    self.lines.entry(p).or_insert(line);
                }
            }
            Event::Alias(_) => {
                if let Some(p) = self.next_node(None) {
                    self.lines.entry(p).or_insert(line);
                }
            }
            Event::MappingStart(..) => {
                let p = self.next_node(None).unwrap_or_default();
                self.lines.entry(p.clone()).or_insert(line);
                self.stack.push(Frame::Map {
                    pointer: p,
                    key: None,
                });
            }
            Event::SequenceStart(..) => {
                let p = self.next_node(None).unwrap_or_default();
                self.lines.entry(p.clone()).or_insert(line);
                self.stack.push(Frame::Seq {
                    pointer: p,
                    index: 0,
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            _ => {}
        }
    }
}

/// The line where the second YAML document of `text` starts, if it has one.
fn second_document_line(text: &str) -> Option<usize> {
    struct Documents(Vec<usize>);
    impl MarkedEventReceiver for Documents {
        fn on_event(&mut self, event: Event, mark: Marker) {
            if matches!(event, Event::DocumentStart) {
                self.0.push(mark.line());
            }
        }
    }
    let mut documents = Documents(Vec::new());
    // Events up to a syntax error are enough.
    let _ = Parser::new_from_str(text).load(&mut documents, true);
    documents.0.get(1).copied()
}

fn line_index(text: &str) -> HashMap<String, usize> {
    let mut indexer = LineIndexer {
        stack: Vec::new(),
        lines: HashMap::new(),
    };
    // A syntax error here was already reported by serde_yaml; a partial index is fine.
    let _ = Parser::new_from_str(text).load(&mut indexer, false);
    indexer.lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_by_pointer() {
        let text = "a: 1\nb:\n  - x\n  - {c: 2}\nd/e: 3\n";
        let file = SourceFile::parse(Path::new("t.yaml"), text).unwrap();
        assert_eq!(file.line_of("/a"), Some(1));
        assert_eq!(file.line_of("/b/0"), Some(3));
        assert_eq!(file.line_of("/b/1/c"), Some(4));
        assert_eq!(file.line_of("/d~1e"), Some(5));
        assert_eq!(file.line_of("/b/1/missing"), Some(4));
    }

    #[test]
    fn a_second_document_is_reported_at_its_line() {
        let text = "a: 1\nb: 2\n---\nc: 3\n";
        let err = SourceFile::parse(Path::new("two.yaml"), text).unwrap_err();
        assert!(err.message.contains("more than one document"), "{err}");
        assert_eq!(err.line, Some(3), "{err}");
        let err = SourceFile::parse(Path::new("two.yaml"), "--- 1\n--- 2\n").unwrap_err();
        assert_eq!(err.line, Some(2), "{err}");
    }

    #[test]
    fn invalid_utf8_is_reported_at_its_line() {
        let dir = std::env::temp_dir().join(format!("squall-utf8-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bad.yaml");
        std::fs::write(&path, b"a: 1\nb: 2\nc: \xff\n").unwrap();
        let err = SourceFile::load(&path).unwrap_err();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(err.line, Some(3), "{err}");
        assert!(err.message.starts_with("not UTF-8"), "{err}");
    }

    #[test]
    fn an_empty_document_points_at_line_one() {
        let file = SourceFile::parse(Path::new("empty.yaml"), "# nothing\n").unwrap();
        assert_eq!(file.line_of("/operations/x"), Some(1));
    }

    #[test]
    fn syntax_errors_have_lines() {
        let err = SourceFile::parse(Path::new("bad.yaml"), "a: 1\nb: [1, 2\nc: 3\n").unwrap_err();
        assert!(err.line.is_some(), "{err}");
        assert!(err.to_string().starts_with("bad.yaml:"), "{err}");
    }
}
