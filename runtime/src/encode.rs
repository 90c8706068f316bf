//! Encoding of the generated request-side types: each writes its fields into a JSON object,
//! one plain line per field, instead of a derived `Serialize` per type.

use serde::Serialize;
use serde_json::{Map, Value};

/// A generated struct that can be sent: it writes its fields (and its base's).
pub trait Encode {
    /// Writes the fields into `w`.
    fn encode(&self, w: &mut Writer);
}

/// The object being written by an [`Encode`] impl.
#[derive(Debug, Default)]
pub struct Writer {
    map: Map<String, Value>,
    error: Option<String>,
}

impl Writer {
    /// A required field (a `None` of a nullable field is written as `null`).
    pub fn req<T: Serialize + ?Sized>(&mut self, name: &'static str, value: &T) {
        match serde_json::to_value(value) {
            Ok(v) => {
                self.map.insert(name.to_owned(), v);
            }
            Err(e) => {
                self.error.get_or_insert_with(|| format!("{name}: {e}"));
            }
        }
    }

    /// An optional field: `None` is left out.
    pub fn opt<T: Serialize>(&mut self, name: &'static str, value: &Option<T>) {
        if let Some(value) = value {
            self.req(name, value);
        }
    }

    /// An optional, nullable field: `None` is left out.
    pub fn nullable<T: Serialize>(&mut self, name: &'static str, value: &Option<T>) {
        self.opt(name, value);
    }

    /// Encodes a value into a JSON object.
    pub fn to_value<T: Encode + ?Sized>(value: &T) -> Result<Value, String> {
        let mut w = Writer::default();
        value.encode(&mut w);
        match w.error {
            Some(e) => Err(e),
            None => Ok(Value::Object(w.map)),
        }
    }
}

/// Implements `Serialize` for generated structs through their [`Encode`] impl.
#[macro_export]
macro_rules! encodable {
    ($($t:ty),* $(,)?) => {$(
        impl $crate::serde::Serialize for $t {
            fn serialize<S: $crate::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match $crate::encode::Writer::to_value(self) {
                    Ok(value) => $crate::serde::Serialize::serialize(&value, s),
                    Err(e) => Err(<S::Error as $crate::serde::ser::Error>::custom(e)),
                }
            }
        }
    )*};
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Base {
        name: String,
    }

    struct Extended {
        description: Option<String>,
        flag: Option<bool>,
        base: Base,
    }

    impl Encode for Base {
        fn encode(&self, w: &mut Writer) {
            w.req("name", &self.name);
        }
    }

    impl Encode for Extended {
        fn encode(&self, w: &mut Writer) {
            w.opt("description", &self.description);
            w.opt("flag", &self.flag);
            self.base.encode(w);
        }
    }

    crate::encodable!(Extended);

    #[test]
    fn fields_and_base_are_written_and_none_is_left_out() {
        let value = Extended {
            description: Some("d".into()),
            flag: None,
            base: Base { name: "n".into() },
        };
        assert_eq!(
            serde_json::to_value(&value).unwrap(),
            json!({"description": "d", "name": "n"})
        );
    }
}
