//! Value constraints of a schema as data: what the typed decode checks beside the types.
//!
//! The generator emits one `static` table of [`Check`]s per service (and one of [`Pattern`]s);
//! a field row of a generated struct names its check by index. A check holds the JSON Schema
//! keywords that do not shape a Rust type (lengths, patterns, formats, bounds, item and
//! member counts, the constraint-only `oneOf`/`anyOf`/`allOf` members Nova writes) and, for a
//! value the types leave untyped, its whole subschema, compiled once by `jsonschema`.
//! As in JSON Schema, a keyword applies only to values of its kind: `pattern` ignores numbers.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;

use regex::Regex;

use crate::node::{Items, Members, Node, View};
use crate::schema::EmbeddedSchema;

/// A `format` the typed decode checks, with the same meaning in the jsonschema cross-check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// OpenStack's `date-time` (see [`openstack_date_time`]).
    DateTime,
    /// A hyphenated UUID (`uuid` crate).
    Uuid,
    /// An RFC 3986 URI (`fluent-uri`).
    Uri,
    /// A dotted-quad IPv4 address (`std::net`).
    Ipv4,
    /// An IPv6 address (`std::net`).
    Ipv6,
}

impl Format {
    /// Whether `text` has this format.
    pub fn accepts(self, text: &str) -> bool {
        match self {
            Format::DateTime => openstack_date_time(text),
            Format::Uuid => hyphenated_uuid(text),
            Format::Uri => fluent_uri::Uri::parse(text).is_ok(),
            Format::Ipv4 => text.parse::<Ipv4Addr>().is_ok(),
            Format::Ipv6 => text.parse::<Ipv6Addr>().is_ok(),
        }
    }

    /// The format's name in JSON Schema.
    pub fn name(self) -> &'static str {
        match self {
            Format::DateTime => "date-time",
            Format::Uuid => "uuid",
            Format::Uri => "uri",
            Format::Ipv4 => "ipv4",
            Format::Ipv6 => "ipv6",
        }
    }
}

/// OpenStack's `date-time`, as Tempest accepts it: RFC 3339, or ISO 8601 without a zone
/// (Nova writes `2026-11-23T09:37:18.146894`), `T` or a space between date and time.
pub fn openstack_date_time(text: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(text).is_ok()
        || chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").is_ok()
        || chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").is_ok()
}

/// A UUID in its hyphenated form (`8-4-4-4-12` hex digits), as JSON Schema's `uuid` means.
pub fn hyphenated_uuid(text: &str) -> bool {
    text.len() == 36 && uuid::Uuid::try_parse(text).is_ok()
}

/// A JSON scalar of an `enum` or `const`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Lit {
    /// `null`.
    Null,
    /// A boolean.
    Bool(bool),
    /// A number.
    Num(f64),
    /// A string.
    Str(&'static str),
}

impl Lit {
    fn matches(self, node: &Node) -> bool {
        match (self, node.view()) {
            (Lit::Null, View::Null) => true,
            (Lit::Bool(a), View::Bool(b)) => a == b,
            (Lit::Str(a), View::Str(b)) => a == b,
            (Lit::Num(a), _) => node.as_f64() == Some(a),
            _ => false,
        }
    }
}

/// The JSON Schema `type`s as bits of [`Check::types`].
pub mod types {
    /// `null`.
    pub const NULL: u8 = 1;
    /// `boolean`.
    pub const BOOLEAN: u8 = 2;
    /// `integer`.
    pub const INTEGER: u8 = 4;
    /// `number` (integers too).
    pub const NUMBER: u8 = 8;
    /// `string`.
    pub const STRING: u8 = 16;
    /// `array`.
    pub const ARRAY: u8 = 32;
    /// `object`.
    pub const OBJECT: u8 = 64;
}

fn type_fits(mask: u8, node: &Node) -> bool {
    let bits = match node.view() {
        View::Null => types::NULL,
        View::Bool(_) => types::BOOLEAN,
        View::Int(_) | View::UInt(_) => types::INTEGER | types::NUMBER,
        View::Float(_) => types::NUMBER,
        View::Str(_) => types::STRING,
        View::Array(_) => types::ARRAY,
        View::Object(_) => types::OBJECT,
    };
    mask & bits != 0
}

/// A `pattern` (or a `patternProperties` key pattern), compiled on first use.
#[derive(Debug)]
pub struct Pattern {
    /// The pattern as the schema writes it.
    pub source: &'static str,
    compiled: OnceLock<Option<Regex>>,
}

impl Pattern {
    /// Declares a pattern; nothing is compiled until first use.
    pub const fn new(source: &'static str) -> Self {
        Self {
            source,
            compiled: OnceLock::new(),
        }
    }

    /// Whether `text` matches (searches, as JSON Schema's `pattern` does). A pattern the
    /// `regex` crate cannot compile matches nothing, so the failure is visible.
    pub fn is_match(&self, text: &str) -> bool {
        self.compiled
            .get_or_init(|| match Regex::new(self.source) {
                Ok(re) => Some(re),
                Err(e) => {
                    tracing::error!(
                        pattern = self.source,
                        "schema pattern does not compile: {e}"
                    );
                    None
                }
            })
            .as_ref()
            .is_some_and(|re| re.is_match(text))
    }
}

/// The constraints of one value. Built in `static` tables with the `const` builder methods,
/// starting from [`Check::NONE`].
#[derive(Debug, Clone, Copy)]
pub struct Check {
    /// The JSON types allowed (bits of [`types`]); 0 leaves the type to the Rust type.
    pub types: u8,
    /// `enum` (or `const`) values; empty for none.
    pub one_value_of: &'static [Lit],
    /// `minLength` (in characters).
    pub min_length: Option<u64>,
    /// `maxLength` (in characters).
    pub max_length: Option<u64>,
    /// `pattern`.
    pub pattern: Option<&'static Pattern>,
    /// `format`.
    pub format: Option<Format>,
    /// `minimum` (exclusive when `exclusive_minimum`).
    pub minimum: Option<f64>,
    /// `maximum` (exclusive when `exclusive_maximum`).
    pub maximum: Option<f64>,
    /// Draft 4's boolean `exclusiveMinimum`.
    pub exclusive_minimum: bool,
    /// Draft 4's boolean `exclusiveMaximum`.
    pub exclusive_maximum: bool,
    /// `minItems`.
    pub min_items: Option<u64>,
    /// `maxItems`.
    pub max_items: Option<u64>,
    /// `uniqueItems`.
    pub unique_items: bool,
    /// The check of every item of an array.
    pub items: Option<&'static Check>,
    /// `minProperties`.
    pub min_properties: Option<u64>,
    /// `maxProperties`.
    pub max_properties: Option<u64>,
    /// The pattern every key of an object must match (`patternProperties` with no other key).
    pub keys: Option<&'static Pattern>,
    /// The check of every member value of an object.
    pub values: Option<&'static Check>,
    /// `allOf` of constraint-only members.
    pub all_of: &'static [&'static Check],
    /// `anyOf` of constraint-only members.
    pub any_of: &'static [&'static Check],
    /// `oneOf` of constraint-only members.
    pub one_of: &'static [&'static Check],
    /// A subschema the types do not model (an untyped value): checked whole by `jsonschema`.
    pub schema: Option<&'static EmbeddedSchema>,
}

impl Check {
    /// No constraint.
    pub const NONE: Check = Check {
        types: 0,
        one_value_of: &[],
        min_length: None,
        max_length: None,
        pattern: None,
        format: None,
        minimum: None,
        maximum: None,
        exclusive_minimum: false,
        exclusive_maximum: false,
        min_items: None,
        max_items: None,
        unique_items: false,
        items: None,
        min_properties: None,
        max_properties: None,
        keys: None,
        values: None,
        all_of: &[],
        any_of: &[],
        one_of: &[],
        schema: None,
    };

    /// `type` (bits of [`types`]).
    pub const fn types(self, types: u8) -> Self {
        Self { types, ..self }
    }

    /// `enum` or `const`.
    pub const fn among(self, values: &'static [Lit]) -> Self {
        Self {
            one_value_of: values,
            ..self
        }
    }

    /// `minLength`/`maxLength` (`None` for an absent bound).
    pub const fn len(self, min: Option<u64>, max: Option<u64>) -> Self {
        Self {
            min_length: min,
            max_length: max,
            ..self
        }
    }

    /// `pattern`.
    pub const fn pattern(self, pattern: &'static Pattern) -> Self {
        Self {
            pattern: Some(pattern),
            ..self
        }
    }

    /// `format`.
    pub const fn format(self, format: Format) -> Self {
        Self {
            format: Some(format),
            ..self
        }
    }

    /// `minimum` (exclusive or not).
    pub const fn min(self, bound: f64, exclusive: bool) -> Self {
        Self {
            minimum: Some(bound),
            exclusive_minimum: exclusive,
            ..self
        }
    }

    /// `maximum` (exclusive or not).
    pub const fn max(self, bound: f64, exclusive: bool) -> Self {
        Self {
            maximum: Some(bound),
            exclusive_maximum: exclusive,
            ..self
        }
    }

    /// `minItems`/`maxItems` and `uniqueItems`.
    pub const fn count(self, min: Option<u64>, max: Option<u64>, unique: bool) -> Self {
        Self {
            min_items: min,
            max_items: max,
            unique_items: unique,
            ..self
        }
    }

    /// The check of every item.
    pub const fn items(self, check: &'static Check) -> Self {
        Self {
            items: Some(check),
            ..self
        }
    }

    /// `minProperties`/`maxProperties`.
    pub const fn props(self, min: Option<u64>, max: Option<u64>) -> Self {
        Self {
            min_properties: min,
            max_properties: max,
            ..self
        }
    }

    /// The pattern of every key.
    pub const fn keys(self, pattern: &'static Pattern) -> Self {
        Self {
            keys: Some(pattern),
            ..self
        }
    }

    /// The check of every member value.
    pub const fn values(self, check: &'static Check) -> Self {
        Self {
            values: Some(check),
            ..self
        }
    }

    /// `allOf` members.
    pub const fn all_of(self, members: &'static [&'static Check]) -> Self {
        Self {
            all_of: members,
            ..self
        }
    }

    /// `anyOf` members.
    pub const fn any_of(self, members: &'static [&'static Check]) -> Self {
        Self {
            any_of: members,
            ..self
        }
    }

    /// `oneOf` members.
    pub const fn one_of(self, members: &'static [&'static Check]) -> Self {
        Self {
            one_of: members,
            ..self
        }
    }

    /// A whole subschema, for a value the types leave untyped.
    pub const fn schema(self, schema: &'static EmbeddedSchema) -> Self {
        Self {
            schema: Some(schema),
            ..self
        }
    }
}

/// A violated constraint: the path below the checked value (keys and indices) and the
/// message.
#[derive(Debug, Clone, PartialEq)]
pub struct Broken {
    /// Steps from the checked value down to the offending one, as JSON pointer tokens.
    pub path: Vec<String>,
    /// What is wrong.
    pub message: String,
}

impl Broken {
    fn here(message: String) -> Self {
        Self {
            path: Vec::new(),
            message,
        }
    }

    fn below(mut self, step: String) -> Self {
        self.path.insert(0, step);
        self
    }
}

impl Check {
    /// Checks `node`, returning the first violation.
    pub fn verify(&self, node: &Node) -> Result<(), Broken> {
        if self.types != 0 && !type_fits(self.types, node) {
            return Err(Broken::here(format!(
                "{} is not of the allowed types",
                node.kind()
            )));
        }
        if !self.one_value_of.is_empty() && !self.one_value_of.iter().any(|v| v.matches(node)) {
            return Err(Broken::here(format!(
                "{} is not one of the allowed values",
                node.kind()
            )));
        }
        match node.view() {
            View::Str(text) => self.verify_str(text)?,
            View::Int(_) | View::UInt(_) | View::Float(_) => {
                self.verify_number(node.as_f64().unwrap_or(f64::NAN))?;
            }
            View::Array(items) => self.verify_array(items)?,
            View::Object(members) => self.verify_object(members)?,
            View::Null | View::Bool(_) => {}
        }
        for member in self.all_of {
            member.verify(node)?;
        }
        if !self.any_of.is_empty() && !self.any_of.iter().any(|m| m.verify(node).is_ok()) {
            return Err(Broken::here(format!(
                "{} is not valid under any of the given schemas",
                node.kind()
            )));
        }
        if !self.one_of.is_empty() {
            let fits = self
                .one_of
                .iter()
                .filter(|m| m.verify(node).is_ok())
                .count();
            if fits != 1 {
                return Err(Broken::here(format!(
                    "{} fits {fits} of the oneOf schemas, not exactly one",
                    node.kind()
                )));
            }
        }
        if let Some(schema) = self.schema {
            let value = node.to_value();
            match schema.violations(&value) {
                Ok(found) => {
                    if let Some(first) = found.into_iter().next() {
                        let path = first
                            .pointer
                            .split('/')
                            .skip(1)
                            .map(|t| t.replace("~1", "/").replace("~0", "~"))
                            .collect();
                        return Err(Broken {
                            path,
                            message: first.message,
                        });
                    }
                }
                Err(broken) => return Err(Broken::here(broken)),
            }
        }
        Ok(())
    }

    fn verify_str(&self, text: &str) -> Result<(), Broken> {
        if self.min_length.is_some() || self.max_length.is_some() {
            // Characters are counted only when the byte length leaves the answer open: a
            // character takes one to four bytes.
            let bytes = text.len() as u64;
            let chars = || text.chars().count() as u64;
            if let Some(min) = self.min_length
                && bytes < min.saturating_mul(4)
                && (bytes < min || chars() < min)
            {
                return Err(Broken::here(format!(
                    "{text:?} is shorter than {min} characters"
                )));
            }
            if let Some(max) = self.max_length
                && bytes > max
                && chars() > max
            {
                return Err(Broken::here(format!(
                    "{text:?} is longer than {max} characters"
                )));
            }
        }
        if let Some(pattern) = self.pattern
            && !pattern.is_match(text)
        {
            return Err(Broken::here(format!(
                "{text:?} does not match {:?}",
                pattern.source
            )));
        }
        if let Some(format) = self.format
            && !format.accepts(text)
        {
            return Err(Broken::here(format!(
                "{text:?} is not a {:?}",
                format.name()
            )));
        }
        Ok(())
    }

    fn verify_number(&self, n: f64) -> Result<(), Broken> {
        if let Some(min) = self.minimum {
            let below = if self.exclusive_minimum {
                n <= min
            } else {
                n < min
            };
            if below {
                return Err(Broken::here(format!(
                    "{n} is less than the minimum of {min}"
                )));
            }
        }
        if let Some(max) = self.maximum {
            let above = if self.exclusive_maximum {
                n >= max
            } else {
                n > max
            };
            if above {
                return Err(Broken::here(format!(
                    "{n} is greater than the maximum of {max}"
                )));
            }
        }
        Ok(())
    }

    fn verify_array(&self, items: Items<'_>) -> Result<(), Broken> {
        let n = items.len() as u64;
        if let Some(min) = self.min_items
            && n < min
        {
            return Err(Broken::here(format!("{n} items are fewer than {min}")));
        }
        if let Some(max) = self.max_items
            && n > max
        {
            return Err(Broken::here(format!("{n} items are more than {max}")));
        }
        if self.unique_items {
            for (i, item) in items.iter().enumerate() {
                if items.iter().take(i).any(|earlier| earlier == item) {
                    return Err(Broken::here("the items are not unique".to_owned()));
                }
            }
        }
        if let Some(check) = self.items {
            for (i, item) in items.iter().enumerate() {
                check.verify(item).map_err(|b| b.below(i.to_string()))?;
            }
        }
        Ok(())
    }

    fn verify_object(&self, members: Members<'_>) -> Result<(), Broken> {
        let n = members.len() as u64;
        if let Some(min) = self.min_properties
            && n < min
        {
            return Err(Broken::here(format!("{n} properties are fewer than {min}")));
        }
        if let Some(max) = self.max_properties
            && n > max
        {
            return Err(Broken::here(format!("{n} properties are more than {max}")));
        }
        if let Some(keys) = self.keys
            && let Some((key, _)) = members.iter().find(|(k, _)| !keys.is_match(k))
        {
            return Err(Broken::here(format!(
                "the key {key:?} does not match {:?}",
                keys.source
            )));
        }
        if let Some(check) = self.values {
            for (key, value) in members.iter() {
                check.verify(value).map_err(|b| b.below(key.to_owned()))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static PATTERNS: [Pattern; 2] = [
        Pattern::new("^[a-zA-Z0-9-_:. ]{1,255}$"),
        Pattern::new("^[_\\-\\@\\. a-zA-Z0-9]+$"),
    ];
    static CHECKS: [Check; 6] = [
        Check::NONE.len(Some(1), Some(5)).pattern(&PATTERNS[1]),
        Check::NONE.format(Format::Ipv4),
        Check::NONE.format(Format::Ipv6),
        Check::NONE.one_of(&[&CHECKS[1], &CHECKS[2]]),
        Check::NONE
            .keys(&PATTERNS[0])
            .values(&CHECKS[0])
            .count(None, Some(1), false),
        Check::NONE.len(Some(2), Some(3)),
    ];

    fn verify(check: &Check, json: &str) -> Result<(), Broken> {
        check.verify(&Node::parse(json.as_bytes()).unwrap())
    }

    #[test]
    fn strings_lengths_patterns_and_formats() {
        assert!(verify(&CHECKS[0], r#""a.b""#).is_ok());
        assert!(
            verify(&CHECKS[0], r#""""#)
                .unwrap_err()
                .message
                .contains("shorter")
        );
        assert!(
            verify(&CHECKS[0], r#""abcdef""#)
                .unwrap_err()
                .message
                .contains("longer")
        );
        assert!(
            verify(&CHECKS[0], r#""a/b""#)
                .unwrap_err()
                .message
                .contains("match")
        );
        assert!(verify(&CHECKS[0], "7").is_ok(), "a pattern ignores numbers");
        // Lengths count characters, not bytes.
        for (text, fits) in [
            ("é", false),
            ("éé", true),
            ("ab", true),
            ("ééé", true),
            ("abcd", false),
            ("😀😀😀", true),
            ("😀😀😀😀", false),
            ("a", false),
        ] {
            let json = format!("{text:?}");
            assert_eq!(verify(&CHECKS[5], &json).is_ok(), fits, "{text}");
        }
        assert!(verify(&CHECKS[3], r#""10.0.0.1""#).is_ok());
        assert!(verify(&CHECKS[3], r#""::1""#).is_ok());
        assert!(verify(&CHECKS[3], r#""10.0.0""#).is_err());
    }

    #[test]
    fn maps_check_keys_and_values_with_pointers() {
        assert!(verify(&CHECKS[4], r#"{"hw:cpu_policy": "a"}"#).is_ok());
        assert!(
            verify(&CHECKS[4], r#"{"a/b": "x"}"#)
                .unwrap_err()
                .message
                .contains("key")
        );
        let broken = verify(&CHECKS[4], r#"{"k": "x/y"}"#).unwrap_err();
        assert_eq!(broken.path, ["k"]);
        let check = Check::NONE.count(Some(1), Some(2), true).min(0.0, true);
        assert!(verify(&check, "[]").is_err());
        assert!(
            verify(&check, "[1, 1]")
                .unwrap_err()
                .message
                .contains("unique")
        );
        assert!(verify(&check, "0").is_err(), "exclusive minimum");
    }

    #[test]
    fn date_times_as_openstack_writes_them() {
        for ok in [
            "2026-11-23T09:37:18.146894",
            "2014-05-07T12:06:13Z",
            "2026-11-23T09:37:18+01:00",
            "2026-11-23 09:37:18",
        ] {
            assert!(openstack_date_time(ok), "{ok}");
        }
        for bad in [
            "2026-11-23",
            "yesterday",
            "2026-11-23T09:37:18.",
            "2026-11-23T09:37:18+1",
            "2026-13-23T09:37:18",
        ] {
            assert!(!openstack_date_time(bad), "{bad}");
        }
        assert!(hyphenated_uuid("8c6f6a1e-52d1-4c56-9a3b-6a4a3a2b1c0d"));
        assert!(!hyphenated_uuid("8c6f6a1e52d14c569a3b6a4a3a2b1c0d"));
    }
}
