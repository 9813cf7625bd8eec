//! Typed, borrowed reading of upstream answers with the tolerance of the `Value` accessors in
//! `json`: a field of the wrong type reads as absent instead of failing the whole body. Used
//! where a body is read whole on the request path (a routed answer): no `Value` tree, no hashed
//! maps, strings borrowed from the body unless they carry escapes.
//!
//! Values the reader skips are still read the way a `Value` reads them ([`Skip`]: UTF-8,
//! surrogate escapes, numbers, nesting depth), so a body is readable here exactly when it is
//! readable as a `Value`; serde's `IgnoredAny` skips without those checks.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

/// The visitor methods of every JSON value that is not the one looked for: each reads as `$none`
/// (arrays and objects are consumed, unread).
macro_rules! otherwise {
    ($none:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($none)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($none)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($none)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($none)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($none)
        }
    };
}

/// `otherwise!` for strings.
macro_rules! not_a_string {
    ($none:expr) => {
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok($none)
        }
    };
}

/// `otherwise!` for arrays.
macro_rules! not_an_array {
    ($none:expr) => {
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<Skip>()?.is_some() {}
            Ok($none)
        }
    };
}

/// `otherwise!` for objects.
macro_rules! not_an_object {
    ($none:expr) => {
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<Skip, Skip>()?.is_some() {}
            Ok($none)
        }
    };
}

/// A string field: `Some` when the value is a string, `None` for anything else (skipped).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Text<'a>(pub Option<Cow<'a, str>>);

impl<'a> Text<'a> {
    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Text<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Owned(v.to_owned()))))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Owned(v))))
            }
            otherwise!(Text(None));
            not_an_array!(Text(None));
            not_an_object!(Text(None));
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// An array of objects: the entries that are objects, read as `T` (whose fields should be
/// lenient too); entries of another type are skipped, and a value that is not an array reads as
/// empty.
#[derive(Debug, Clone, PartialEq)]
pub struct Objects<T>(pub Vec<T>);

impl<T> Default for Objects<T> {
    fn default() -> Self {
        Objects(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Objects<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let entries = d.deserialize_any(EntriesVisitor(PhantomData))?;
        Ok(Objects(entries.unwrap_or_default().into_iter().flatten().collect()))
    }
}

/// One value that is read as `T` when it is an object and skipped otherwise.
#[derive(Debug, Clone, PartialEq)]
pub struct Object<T>(pub Option<T>);

impl<T> Default for Object<T> {
    fn default() -> Self {
        Object(None)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Object<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(|t| Object(Some(t)))
            }
            otherwise!(Object(None));
            not_a_string!(Object(None));
            not_an_array!(Object(None));
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// Any JSON value, read and dropped. Unlike serde's `IgnoredAny` it reads strings as strings
/// (valid UTF-8, no lone surrogate escapes) and goes through the deserializer's depth limit, as a
/// `Value` does; it keeps nothing.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Skip;

impl<'de> Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Skip;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Skip, E> {
                Ok(Skip)
            }
            otherwise!(Skip);
            not_an_array!(Skip);
            not_an_object!(Skip);
        }
        d.deserialize_any(V)
    }
}

/// A count field read like `Value::as_u64`: a non-negative integer, 0 for anything else.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Count(pub u64);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Count;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Count, E> {
                Ok(Count(0))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Count, E> {
                Ok(Count(u64::try_from(v).unwrap_or(0)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Count, E> {
                Ok(Count(v))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Count, E> {
                Ok(Count(0))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Count, E> {
                Ok(Count(0))
            }
            not_a_string!(Count(0));
            not_an_array!(Count(0));
            not_an_object!(Count(0));
        }
        d.deserialize_any(V)
    }
}

/// An array's entries in order, each read as `T` when it is an object and `None` otherwise (the
/// entry is still there: `first()` is the array's first entry, whatever it is); a value that is
/// not an array reads as empty.
#[derive(Debug, Clone, PartialEq)]
pub struct Entries<T>(pub Vec<Option<T>>);

impl<T> Default for Entries<T> {
    fn default() -> Self {
        Entries(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Entries<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(EntriesVisitor(PhantomData)).map(|list| Entries(list.unwrap_or_default()))
    }
}

/// The entries of an array (`Some`), or `None` for any other value.
struct EntriesVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for EntriesVisitor<T> {
    type Value = Option<Vec<Option<T>>>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(Object(entry)) = seq.next_element::<Object<T>>()? {
            out.push(entry);
        }
        Ok(Some(out))
    }
    otherwise!(None);
    not_a_string!(None);
    not_an_object!(None);
}

/// Message content as chat APIs send it: a string, or an array of parts (each read as `T` when
/// it is an object); anything else reads as `Neither`.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum StrOrParts<'a, T> {
    Str(Cow<'a, str>),
    Parts(Vec<Option<T>>),
    #[default]
    Neither,
}

impl<'de: 'a, 'a, T: Deserialize<'de>> Deserialize<'de> for StrOrParts<'a, T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a, T>(PhantomData<(&'a (), T)>);
        impl<'de: 'a, 'a, T: Deserialize<'de>> Visitor<'de> for V<'a, T> {
            type Value = StrOrParts<'a, T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(StrOrParts::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(StrOrParts::Str(Cow::Owned(v.to_owned())))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                EntriesVisitor(PhantomData).visit_seq(seq).map(|list| StrOrParts::Parts(list.unwrap_or_default()))
            }
            otherwise!(StrOrParts::Neither);
            not_an_object!(StrOrParts::Neither);
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// A struct read from a JSON object like a `Value`'s accessors read it: every field is optional
/// (its type's default when absent), a repeated key keeps its last value, and unknown keys are
/// read with [`Skip`]. Field types should be lenient themselves (`Text`, `Count`, `Object`, …).
/// Use it inside [`Object`], which routes only objects to it.
macro_rules! lenient_object {
    ($(#[$meta:meta])* $vis:vis struct $name:ident $(<$lt:lifetime>)? { $($(#[$fmeta:meta])* $field:ident: $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Default)]
        $vis struct $name $(<$lt>)? { $($(#[$fmeta])* pub $field: $ty),* }

        impl<'de $(: $lt, $lt)?> serde::Deserialize<'de> for $name $(<$lt>)? {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V<T>(std::marker::PhantomData<T>);
                impl<'de $(: $lt, $lt)?> serde::de::Visitor<'de> for V<$name $(<$lt>)?> {
                    type Value = $name $(<$lt>)?;
                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        f.write_str("a JSON object")
                    }
                    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                        let mut out = <$name $(<$lt>)?>::default();
                        while let Some(key) = map.next_key::<$crate::providers::lenient::Text<'_>>()? {
                            match key.as_deref() {
                                $(Some(stringify!($field)) => out.$field = map.next_value()?,)*
                                _ => {
                                    map.next_value::<$crate::providers::lenient::Skip>()?;
                                }
                            }
                        }
                        Ok(out)
                    }
                }
                d.deserialize_map(V(std::marker::PhantomData))
            }
        }
    };
}
pub(crate) use lenient_object;

/// Parses a whole body as `T`; `Err` carries serde's message (never body text).
pub fn parse<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, String> {
    serde_json::from_slice(bytes).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Default, Debug, PartialEq)]
    struct Block<'a> {
        #[serde(default, borrow)]
        text: Text<'a>,
    }

    #[derive(Deserialize, Default, Debug, PartialEq)]
    struct Body<'a> {
        #[serde(default, borrow)]
        name: Text<'a>,
        #[serde(default, borrow)]
        blocks: Objects<Block<'a>>,
    }

    fn read(json: &str) -> Body<'_> {
        parse::<Object<Body<'_>>>(json.as_bytes()).unwrap().0.unwrap_or_default()
    }

    #[test]
    fn fields_of_the_wrong_type_read_as_absent_instead_of_failing_the_body() {
        for name in ["1", "true", "null", "[1,{\"a\":2}]", "{\"a\":[1]}", "2.5"] {
            let json = format!(r#"{{"name": {name}, "blocks": [{{"text": "kept"}}]}}"#);
            let body = read(&json);
            assert_eq!(body.name, Text(None), "{name}");
            assert_eq!(body.blocks.0.len(), 1, "{name}: the rest of the body is still read");
        }
        for blocks in ["1", "\"x\"", "{\"text\":\"a\"}", "null"] {
            let json = format!(r#"{{"blocks": {blocks}}}"#);
            assert!(read(&json).blocks.0.is_empty(), "{blocks}");
        }
    }

    #[test]
    fn array_entries_that_are_not_objects_are_skipped() {
        let body = read(r#"{"blocks": [1, "a", null, [2], {"text": "one"}, {"text": 3}, {"text": "two"}]}"#);
        let texts: Vec<Option<&str>> = body.blocks.0.iter().map(|b| b.text.as_deref()).collect();
        assert_eq!(texts, [Some("one"), None, Some("two")]);
    }

    #[test]
    fn strings_are_borrowed_unless_they_carry_escapes() {
        let body = read(r#"{"name": "plain", "blocks": [{"text": "line\nbreak \u00e9"}]}"#);
        assert!(matches!(body.name.0, Some(Cow::Borrowed("plain"))));
        assert_eq!(body.blocks.0[0].text.as_deref(), Some("line\nbreak é"));
    }

    #[test]
    fn a_body_that_is_not_an_object_reads_as_empty_and_broken_json_is_an_error() {
        assert_eq!(read(r#"["a", [{"text": "b"}]]"#), Body::default());
        assert!(parse::<Object<Body<'_>>>(b"{\"name\": \"a\"").is_err());
        assert!(parse::<Object<Body<'_>>>(b"{\"name\": \"a\"} trailing").is_err());
    }
}
