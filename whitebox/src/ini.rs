//! INI files in the nova.conf (oslo.config) dialect, edited without disturbing anything else.
//!
//! The dialect: `[section]` headers (a section may appear more than once; its options merge),
//! `key = value` or `key: value` (the first `=` or `:` splits), `#` and `;` comment lines,
//! indented lines continuing the previous value, repeated keys for multi-valued options, and
//! values optionally wrapped in matching quotes. Every line that an edit does not touch is
//! kept byte for byte, comments and blank lines included.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Blank,
    Comment,
    Section(String),
    Entry { key: String, value: String },
    Continuation(String),
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Line {
    raw: String,
    kind: Kind,
    section: String,
}

/// A parsed INI document that re-serialises byte for byte when unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IniDocument {
    lines: Vec<Line>,
    newline: &'static str,
}

/// A required section or option that is missing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IniError {
    /// No such section.
    #[error("no section [{section}]")]
    NoSection {
        /// The section.
        section: String,
    },
    /// The section exists but not the option.
    #[error("no option {key} in section [{section}]")]
    NoOption {
        /// The section.
        section: String,
        /// The option.
        key: String,
    },
}

fn unquote(value: &str) -> &str {
    let bytes = value.as_bytes();
    if bytes.len() >= 2
        && bytes[0] == bytes[bytes.len() - 1]
        && (bytes[0] == b'"' || bytes[0] == b'\'')
    {
        &value[1..value.len() - 1]
    } else {
        value
    }
}

impl IniDocument {
    /// Parses `text`; never fails (lines it does not understand are kept as they are).
    pub fn parse(text: &str) -> Self {
        let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
        let mut section = String::new();
        let mut lines = Vec::new();
        let mut in_entry = false;
        for raw in text.split_inclusive('\n') {
            let content = raw.trim_end_matches(['\n', '\r']);
            let trimmed = content.trim();
            let kind = if trimmed.is_empty() {
                in_entry = false;
                Kind::Blank
            } else if trimmed.starts_with('#') || trimmed.starts_with(';') {
                Kind::Comment
            } else if in_entry && content.starts_with([' ', '\t']) {
                Kind::Continuation(trimmed.to_owned())
            } else if trimmed.starts_with('[') && trimmed.ends_with(']') {
                section = trimmed[1..trimmed.len() - 1].trim().to_owned();
                in_entry = false;
                Kind::Section(section.clone())
            } else if let Some(split) = content.find(['=', ':']) {
                in_entry = true;
                Kind::Entry {
                    key: content[..split].trim().to_owned(),
                    value: content[split + 1..].trim().to_owned(),
                }
            } else {
                in_entry = false;
                Kind::Other
            };
            lines.push(Line {
                raw: raw.to_owned(),
                kind,
                section: section.clone(),
            });
        }
        Self { lines, newline }
    }

    /// The document as text.
    pub fn render(&self) -> String {
        self.lines.iter().map(|l| l.raw.as_str()).collect()
    }

    /// The section names, in order of first appearance.
    pub fn sections(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for line in &self.lines {
            if let Kind::Section(name) = &line.kind {
                if !names.contains(name) {
                    names.push(name.clone());
                }
            }
        }
        names
    }

    /// Whether section `section` exists.
    pub fn has_section(&self, section: &str) -> bool {
        self.lines
            .iter()
            .any(|l| matches!(&l.kind, Kind::Section(s) if s == section))
    }

    fn entry_indices(&self, section: &str, key: &str) -> Vec<usize> {
        self.lines
            .iter()
            .enumerate()
            .filter(|(_, l)| {
                l.section == section && matches!(&l.kind, Kind::Entry { key: k, .. } if k == key)
            })
            .map(|(i, _)| i)
            .collect()
    }

    fn value_at(&self, index: usize) -> String {
        let Kind::Entry { value, .. } = &self.lines[index].kind else {
            return String::new();
        };
        let mut value = unquote(value).to_owned();
        for line in &self.lines[index + 1..] {
            match &line.kind {
                Kind::Continuation(more) => {
                    value.push('\n');
                    value.push_str(more);
                }
                Kind::Comment => continue,
                _ => break,
            }
        }
        value
    }

    /// The value of `key` in `section`; the last occurrence wins, as in oslo.config.
    pub fn get(&self, section: &str, key: &str) -> Option<String> {
        self.entry_indices(section, key)
            .last()
            .map(|&i| self.value_at(i))
    }

    /// Every value of a repeated (multi-valued) `key`, in order.
    pub fn get_all(&self, section: &str, key: &str) -> Vec<String> {
        self.entry_indices(section, key)
            .into_iter()
            .map(|i| self.value_at(i))
            .collect()
    }

    /// The value of `key` in `section`, or an error naming what is missing.
    pub fn require(&self, section: &str, key: &str) -> Result<String, IniError> {
        if !self.has_section(section) && section != "DEFAULT" {
            return Err(IniError::NoSection {
                section: section.to_owned(),
            });
        }
        self.get(section, key).ok_or_else(|| IniError::NoOption {
            section: section.to_owned(),
            key: key.to_owned(),
        })
    }

    fn entry_line(&self, key: &str, value: &str, section: &str) -> Line {
        Line {
            raw: format!("{key} = {value}{}", self.newline),
            kind: Kind::Entry {
                key: key.to_owned(),
                value: value.to_owned(),
            },
            section: section.to_owned(),
        }
    }

    /// Removes the entry at `index` with its continuation lines; returns how many lines went.
    fn remove_entry(&mut self, index: usize) -> usize {
        let mut end = index + 1;
        while end < self.lines.len() && matches!(self.lines[end].kind, Kind::Continuation(_)) {
            end += 1;
        }
        self.lines.drain(index..end);
        end - index
    }

    fn ensure_trailing_newline(&mut self) {
        if let Some(last) = self.lines.last_mut() {
            if !last.raw.ends_with('\n') {
                last.raw.push_str(self.newline);
            }
        }
    }

    /// Where a new entry of `section` goes: after its last entry, or right after its last
    /// header; `None` when the section does not exist.
    fn insertion_point(&self, section: &str) -> Option<usize> {
        let mut point = None;
        for (i, line) in self.lines.iter().enumerate() {
            if line.section != section {
                continue;
            }
            match line.kind {
                Kind::Section(_) | Kind::Entry { .. } | Kind::Continuation(_) => {
                    point = Some(i + 1)
                }
                _ => {}
            }
        }
        point
    }

    /// Sets `key` in `section` to the values given, one line each (several values make a
    /// multi-valued option). The first existing occurrence is replaced in place and the others
    /// removed; a new key goes after the section's last option; a new section is appended.
    pub fn set_all(&mut self, section: &str, key: &str, values: &[&str]) {
        let existing = self.entry_indices(section, key);
        let at = if let Some(&first) = existing.first() {
            for &index in existing.iter().rev() {
                self.remove_entry(index);
            }
            first
        } else if let Some(point) = self.insertion_point(section) {
            if point == self.lines.len() {
                self.ensure_trailing_newline();
            }
            point
        } else {
            self.ensure_trailing_newline();
            if !self.lines.is_empty() {
                self.lines.push(Line {
                    raw: self.newline.to_owned(),
                    kind: Kind::Blank,
                    section: self
                        .lines
                        .last()
                        .map(|l| l.section.clone())
                        .unwrap_or_default(),
                });
            }
            self.lines.push(Line {
                raw: format!("[{section}]{}", self.newline),
                kind: Kind::Section(section.to_owned()),
                section: section.to_owned(),
            });
            self.lines.len()
        };
        let mut new: Vec<Line> = values
            .iter()
            .map(|v| self.entry_line(key, v, section))
            .collect();
        // An indented line right below (comments between do not end an entry) would read as
        // the new entry's continuation; a blank line keeps it what it was.
        let indented_below = self.lines[at..]
            .iter()
            .find(|l| !matches!(l.kind, Kind::Comment))
            .is_some_and(|l| l.raw.starts_with([' ', '\t']) && !matches!(l.kind, Kind::Blank));
        if indented_below && !new.is_empty() {
            new.push(Line {
                raw: self.newline.to_owned(),
                kind: Kind::Blank,
                section: section.to_owned(),
            });
        }
        self.lines.splice(at..at, new);
    }

    /// Sets `key` in `section` to `value` (see [`IniDocument::set_all`]).
    pub fn set(&mut self, section: &str, key: &str, value: &str) {
        self.set_all(section, key, &[value]);
    }

    /// Deletes every occurrence of `key` in `section`; returns whether there was one.
    pub fn delete(&mut self, section: &str, key: &str) -> bool {
        let existing = self.entry_indices(section, key);
        for &index in existing.iter().rev() {
            self.remove_entry(index);
        }
        !existing.is_empty()
    }
}

impl fmt::Display for IniDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for line in &self.lines {
            f.write_str(&line.raw)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONF: &str = "# nova.conf\n[DEFAULT]\ndebug = False\n; a comment\ntransport_url = rabbit://a:b@c:5672/\n\n[pci]\npassthrough_whitelist = {\"vendor_id\": \"8086\"}\npassthrough_whitelist = {\"vendor_id\": \"15b3\"}\n\n[compute]\ncpu_dedicated_set = \"2-7\"\nlong = one\n  two\n# trailing comment\n";

    #[test]
    fn round_trips_byte_for_byte() {
        let doc = IniDocument::parse(CONF);
        assert_eq!(doc.render(), CONF);
        let crlf = CONF.replace('\n', "\r\n");
        assert_eq!(IniDocument::parse(&crlf).render(), crlf);
    }

    #[test]
    fn reads_values_repeated_keys_and_continuations() {
        let doc = IniDocument::parse(CONF);
        assert_eq!(
            doc.get("DEFAULT", "transport_url").as_deref(),
            Some("rabbit://a:b@c:5672/")
        );
        assert_eq!(
            doc.get("compute", "cpu_dedicated_set").as_deref(),
            Some("2-7")
        );
        assert_eq!(doc.get("compute", "long").as_deref(), Some("one\ntwo"));
        assert_eq!(doc.get_all("pci", "passthrough_whitelist").len(), 2);
        assert_eq!(doc.sections(), vec!["DEFAULT", "pci", "compute"]);
        assert_eq!(
            doc.require("libvirt", "cpu_mode"),
            Err(IniError::NoSection {
                section: "libvirt".into()
            })
        );
        assert!(matches!(
            doc.require("compute", "x"),
            Err(IniError::NoOption { .. })
        ));
    }

    #[test]
    fn edits_touch_only_their_lines() {
        let mut doc = IniDocument::parse(CONF);
        doc.set("DEFAULT", "debug", "True");
        doc.set("compute", "cpu_shared_set", "0-1");
        doc.set("libvirt", "cpu_mode", "host-passthrough");
        assert!(doc.delete("compute", "long"));
        assert!(!doc.delete("compute", "long"));
        doc.set_all("pci", "passthrough_whitelist", &["a", "b", "c"]);
        let text = doc.render();
        assert!(
            text.starts_with("# nova.conf\n[DEFAULT]\ndebug = True\n; a comment\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "cpu_dedicated_set = \"2-7\"\ncpu_shared_set = 0-1\n# trailing comment\n"
            ),
            "{text}"
        );
        assert!(
            text.ends_with("# trailing comment\n\n[libvirt]\ncpu_mode = host-passthrough\n"),
            "{text}"
        );
        assert!(!text.contains("two"));
        assert_eq!(
            doc.get_all("pci", "passthrough_whitelist"),
            vec!["a", "b", "c"]
        );
        let reparsed = IniDocument::parse(&text);
        assert_eq!(
            reparsed.get("libvirt", "cpu_mode").as_deref(),
            Some("host-passthrough")
        );
    }

    #[test]
    fn a_new_option_does_not_adopt_an_indented_stray_line() {
        // Found by the `ini` fuzz target: the new option went right after the header, and the
        // indented line below it became the option's continuation.
        let mut doc = IniDocument::parse("[s]\n    stray\nafter\n");
        doc.set("s", "key", "value");
        let text = doc.render();
        let again = IniDocument::parse(&text);
        assert_eq!(again.get("s", "key").as_deref(), Some("value"), "{text:?}");
        assert_eq!(text, "[s]\nkey = value\n\n    stray\nafter\n");
        // Nor an indented section header (which reads as a header only outside an entry).
        let mut doc = IniDocument::parse("[s]\n  [t]\nx = 1\n");
        doc.set("s", "key", "value");
        let again = IniDocument::parse(&doc.render());
        assert_eq!(again.get("s", "key").as_deref(), Some("value"));
        assert_eq!(again.get("t", "x").as_deref(), Some("1"));
        // Nor one below a comment (a comment does not end an entry).
        let mut doc = IniDocument::parse("[s]\n# note\n  stray\n");
        doc.set("s", "key", "value");
        let again = IniDocument::parse(&doc.render());
        assert_eq!(again.get("s", "key").as_deref(), Some("value"));
    }

    #[test]
    fn appends_to_a_file_without_final_newline() {
        let mut doc = IniDocument::parse("[a]\nx = 1");
        doc.set("a", "y", "2");
        assert_eq!(doc.render(), "[a]\nx = 1\ny = 2\n");
    }
}
