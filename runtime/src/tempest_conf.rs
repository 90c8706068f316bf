//! A small reader for oslo.config INI files such as `tempest.conf`: `[section]` headers,
//! `key = value` (or `key: value`) lines, `#` and `;` comments, indented continuation lines.

use std::collections::BTreeMap;

/// A parsed INI file; later values of a repeated key win, as in oslo.config.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ini {
    sections: BTreeMap<String, BTreeMap<String, String>>,
}

impl Ini {
    /// Parses `text`; an error gives the 1-based line and the reason.
    pub fn parse(text: &str) -> Result<Self, (usize, String)> {
        let mut ini = Self::default();
        let mut section: Option<String> = None;
        let mut last_key: Option<String> = None;
        for (index, raw) in text.lines().enumerate() {
            let line_no = index + 1;
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
                continue;
            }
            if raw.starts_with([' ', '\t']) {
                if let (Some(section), Some(key)) = (&section, &last_key) {
                    if let Some(value) = ini.sections.get_mut(section).and_then(|s| s.get_mut(key))
                    {
                        value.push('\n');
                        value.push_str(trimmed);
                        continue;
                    }
                }
            }
            if let Some(name) = trimmed.strip_prefix('[') {
                let name = name
                    .strip_suffix(']')
                    .ok_or_else(|| (line_no, format!("unclosed section header {trimmed:?}")))?;
                section = Some(name.trim().to_owned());
                ini.sections.entry(name.trim().to_owned()).or_default();
                last_key = None;
                continue;
            }
            let Some(current) = &section else {
                return Err((line_no, "an option before any [section]".to_owned()));
            };
            let split = trimmed
                .find(['=', ':'])
                .ok_or_else(|| (line_no, format!("expected `key = value`, got {trimmed:?}")))?;
            let key = trimmed[..split].trim().to_owned();
            let value = trimmed[split + 1..].trim().to_owned();
            ini.sections
                .entry(current.clone())
                .or_default()
                .insert(key.clone(), value);
            last_key = Some(key);
        }
        Ok(ini)
    }

    /// The value of `option` in `section`, falling back to `[DEFAULT]`; empty values count as
    /// unset.
    pub fn get(&self, section: &str, option: &str) -> Option<&str> {
        [section, "DEFAULT"]
            .iter()
            .find_map(|s| self.sections.get(*s).and_then(|o| o.get(option)))
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// Every section and its options.
    pub fn sections(&self) -> impl Iterator<Item = (&str, &BTreeMap<String, String>)> {
        self.sections.iter().map(|(k, v)| (k.as_str(), v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_comments_defaults_and_errors() {
        let ini = Ini::parse(
            "[DEFAULT]\nregion = R\n# c\n[identity]\nuri = http://k\n  continued\n[compute]\nendpoint_type: internal\n",
        )
        .unwrap();
        assert_eq!(ini.get("identity", "uri"), Some("http://k\ncontinued"));
        assert_eq!(ini.get("compute", "endpoint_type"), Some("internal"));
        assert_eq!(ini.get("compute", "region"), Some("R"));
        assert_eq!(Ini::parse("x = 1\n").unwrap_err().0, 1);
        assert_eq!(Ini::parse("[a]\n[b\n").unwrap_err().0, 2);
        assert!(
            Ini::parse("[a]\nnovalue\n")
                .unwrap_err()
                .1
                .contains("key = value")
        );
    }
}
