//! Pieces shared by the typed request readers (`openai_chat::request_typed`,
//! `openai_responses::request_typed`, `anthropic::request_typed`, `bedrock::request_typed`,
//! `cohere::request_typed`): they read a body without a `Value` tree, keep the values the pipeline
//! may edit raw with their place in the body (`body::Spans`), and take only what a tree reads the
//! same way. A reader answers `None` for
//! anything else, and the body is then read as a tree. The text-delta events of Anthropic and
//! Responses streams are read with the same pieces (`anthropic::stream`, `openai_responses::stream`).

use crate::providers::body::Spans;
use crate::providers::json;
use crate::view;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::Value;
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::ops::Range;

use crate::providers::lenient::{Object, Skip, Text};

/// `bytes` read whole as `T` (nothing but whitespace may follow); `None` for anything `T` does
/// not take.
pub fn read_whole<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Option<T> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let top = T::deserialize(&mut de).ok()?;
    de.end().ok()?;
    Some(top)
}

/// The body's top-level `model`, kept raw: its text into the view when it is a string (as the
/// tree's `string_at` reads it), and its span. `None` when a `Value` would not read it.
pub fn read_model(bytes: &[u8], raw: Option<&RawValue>, req: &mut view::Request, spans: &mut Spans) -> Option<()> {
    if let Some(raw) = raw {
        let text = match read_raw(raw)? {
            Read::Text(text) => Some(text),
            Read::Json(_) => None,
        };
        req.model = text.clone();
        spans.model = Some((span_of(bytes, raw)?, text));
    }
    Some(())
}

/// A raw value read the way a `Value` reads it: a string's text, or the value.
pub enum Read {
    Text(String),
    Json(Value),
}

impl Read {
    /// Whether this is a list of more than one content block.
    pub fn is_multi_block(&self) -> bool {
        matches!(self, Read::Json(Value::Array(blocks)) if blocks.len() > 1)
    }
}

/// Reads a kept raw value: a string literal through the per-VM cache of long ones
/// (`json::string_literal_text`), anything else as a `Value`. `None` when a `Value` would not
/// read it (kept raw values are only scanned, not checked, until they are read here), or when it
/// nests lists and objects more than `MAX_RAW_DEPTH` deep.
pub fn read_raw(raw: &RawValue) -> Option<Read> {
    let text = raw.get();
    if text.starts_with('"') {
        json::string_literal_text(text).map(Read::Text)
    } else {
        serde_json::from_str(text).ok().filter(|value| depth(value) <= MAX_RAW_DEPTH).map(Read::Json)
    }
}

/// Most nesting of lists and objects in a kept raw value. A tree reads the whole body with
/// serde_json's depth limit (128); a raw value is scanned without one and read here from depth 0
/// again, so a value nested nearly 128 deep in its own right would be taken where the tree refuses
/// the body. The readers keep raw values at most 8 levels into the body: past this depth the body
/// is left to the tree.
pub const MAX_RAW_DEPTH: usize = 64;

/// The nesting of lists and objects in `value` (a scalar: 0).
fn depth(value: &Value) -> usize {
    let inner = match value {
        Value::Array(items) => items.iter().map(depth).max(),
        Value::Object(fields) => fields.values().map(depth).max(),
        _ => return 0,
    };
    inner.unwrap_or(0).saturating_add(1)
}

/// Where `raw`, borrowed from `bytes`, lies in them.
pub fn span_of(bytes: &[u8], raw: &RawValue) -> Option<Range<usize>> {
    let start = (raw.get().as_ptr() as usize).checked_sub(bytes.as_ptr() as usize)?;
    let end = start.checked_add(raw.get().len())?;
    (end <= bytes.len()).then_some(start..end)
}

/// Just after the opening brace of a body a reader took as an object: where a new top-level
/// field goes (before the first one; the readers only take objects that have a field).
pub fn fields_start(bytes: &[u8]) -> Option<usize> {
    let brace = bytes.iter().position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))?;
    (bytes.get(brace) == Some(&b'{')).then(|| brace.checked_add(1))?
}

/// Most keys a reader takes in one object: each key is compared with the ones before it, and an
/// object with more keys than a request, a message or a block has is left to the tree, which
/// hashes them.
const MAX_KEYS: usize = 48;

/// Reads an object's keys, refusing a key given twice (a tree keeps the last; the upstream's
/// parser might keep the first) and more than `MAX_KEYS` keys. Keys are compared by their text,
/// escapes read, as a tree compares them.
#[derive(Default)]
pub struct Keys<'a> {
    seen: Vec<Cow<'a, str>>,
}

impl<'a> Keys<'a> {
    pub fn next<'de: 'a, A: MapAccess<'de>>(&mut self, map: &mut A) -> Result<Option<Cow<'a, str>>, A::Error> {
        let Some(Key(key)) = map.next_key::<Key<'a>>()? else { return Ok(None) };
        if self.seen.len() >= MAX_KEYS || self.seen.contains(&key) {
            return Err(de::Error::custom("a key given twice, or too many keys"));
        }
        self.seen.push(key.clone());
        Ok(Some(key))
    }
}

/// An object key, borrowed when it has no escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Key<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Key<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'a>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'a>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V(PhantomData))
    }
}

/// An array whose every entry is read as `T` (an entry `T` refuses fails the whole read).
pub struct List<T>(pub Vec<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for List<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = List<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<List<T>, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = seq.next_element::<T>()? {
                    entries.push(entry);
                }
                Ok(List(entries))
            }
        }
        d.deserialize_seq(V(PhantomData))
    }
}

/// Content as the chat-style APIs send it: a string, a list whose every entry is read as `T` (an
/// entry `T` refuses fails the whole read), or any other value (read, unused).
pub enum StrOrList<T> {
    Text(String),
    List(Vec<T>),
    Other,
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for StrOrList<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = StrOrList<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or a list")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<StrOrList<T>, E> {
                Ok(StrOrList::Text(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<StrOrList<T>, E> {
                Ok(StrOrList::Text(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<StrOrList<T>, A::Error> {
                List::<T>::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(|l| StrOrList::List(l.0))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StrOrList<T>, A::Error> {
                while map.next_entry::<Skip, Skip>()?.is_some() {}
                Ok(StrOrList::Other)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<StrOrList<T>, E> {
                Ok(StrOrList::Other)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<StrOrList<T>, E> {
                Ok(StrOrList::Other)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<StrOrList<T>, E> {
                Ok(StrOrList::Other)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<StrOrList<T>, E> {
                Ok(StrOrList::Other)
            }
            fn visit_unit<E: de::Error>(self) -> Result<StrOrList<T>, E> {
                Ok(StrOrList::Other)
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// A value read as a tree reads it and written as the compact text `Value::to_string` gives it
/// (`view::JsonText`), without building the tree: each scalar is written by serde_json's own
/// serializer, objects keep their key order. An object with a key given twice (a tree keeps the
/// last value in the first key's place) or more than `MAX_KEYS` keys fails the read, so the body
/// is read as a tree.
pub struct Compact(pub String);

impl<'de> Deserialize<'de> for Compact {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // A typical tool schema's size, so most are written without growing the buffer.
        let mut out = Vec::with_capacity(256);
        de::DeserializeSeed::deserialize(WriteInto::new(&mut out), d)?;
        // Only serde_json's serializer wrote it: UTF-8 by construction.
        String::from_utf8(out).map(Compact).map_err(|_| de::Error::custom("compact JSON text"))
    }
}

/// Writes the value it reads into the buffer, after `lead` (a separator) when there is a value.
struct WriteInto<'o> {
    out: &'o mut Vec<u8>,
    lead: Option<u8>,
}

impl<'o> WriteInto<'o> {
    fn new(out: &'o mut Vec<u8>) -> Self {
        WriteInto { out, lead: None }
    }

    fn scalar<T: serde::Serialize + ?Sized, E: de::Error>(self, value: &T) -> Result<(), E> {
        serde_json::to_writer(self.out, value).map_err(|_| E::custom("a value that cannot be written"))
    }
}

impl<'de> de::DeserializeSeed<'de> for WriteInto<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        if let Some(byte) = self.lead {
            self.out.push(byte);
        }
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for WriteInto<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.scalar(&v)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.scalar(&v)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.scalar(&v)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        // As a tree keeps it: a float JSON cannot hold is null.
        match serde_json::Number::from_f64(v) {
            Some(n) => self.scalar(&n),
            None => self.scalar(&()),
        }
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.scalar(v)
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.scalar(&())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.out.push(b'[');
        let mut lead = None;
        while seq.next_element_seed(WriteInto { out: &mut *self.out, lead })?.is_some() {
            lead = Some(b',');
        }
        self.out.push(b']');
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.out.push(b'{');
        let mut keys = Keys::default();
        while let Some(key) = keys.next(&mut map)? {
            // serde_json's own marker of a raw value, which a tree reads as the JSON text it holds.
            if key == "$serde_json::private::RawValue" {
                return Err(de::Error::custom("serde_json's raw value marker"));
            }
            if keys.seen.len() > 1 {
                self.out.push(b',');
            }
            WriteInto::new(&mut *self.out).scalar::<str, A::Error>(&key)?;
            map.next_value_seed(WriteInto { out: &mut *self.out, lead: Some(b':') })?;
        }
        self.out.push(b'}');
        Ok(())
    }
}

/// `impl Deserialize` for a struct read field by field. Either `$read(&mut self, key, &mut map)`
/// reads the value of `key` (and skips what it does not read), or the arms given, each an
/// expression on `$this` (the struct), `$key_name` (the key) and `$map` (the `MapAccess`), read theirs and every other
/// key is skipped (read as a tree reads it, `lenient::Skip`); keys go through [`Keys`].
macro_rules! object_reader {
    ($ty:ident, $expecting:literal, |$this:ident, $key_name:ident, $map:ident| { $($key:pat => $body:expr),* $(,)? }) => {
        impl<'a> $ty<'a> {
            fn read_field<'de: 'a, A: serde::de::MapAccess<'de>>(
                &mut self,
                $key_name: &str,
                $map: &mut A,
            ) -> Result<(), A::Error> {
                let $this = self;
                match $key_name {
                    $($key => {
                        $body;
                    })*
                    _ => {
                        $map.next_value::<$crate::providers::lenient::Skip>()?;
                    }
                }
                Ok(())
            }
        }
        $crate::providers::typed::object_reader!($ty, $expecting, read_field);
    };
    ($ty:ident, $expecting:literal, $read:ident) => {
        impl<'de: 'a, 'a> serde::Deserialize<'de> for $ty<'a> {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V<'a>(std::marker::PhantomData<&'a ()>);
                impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
                    type Value = $ty<'a>;
                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<$ty<'a>, A::Error> {
                        let mut out = $ty::default();
                        let mut keys = $crate::providers::typed::Keys::default();
                        while let Some(key) = keys.next(&mut map)? {
                            out.$read(key.as_ref(), &mut map)?;
                        }
                        Ok(out)
                    }
                }
                d.deserialize_map(V(std::marker::PhantomData))
            }
        }
    };
}
pub(crate) use object_reader;

/// One tool declaration, or the function inside one, of any API: every key a declaration uses
/// in one reader (one piece of code in the module for all of them), each API taking the fields its
/// tree reader takes: Chat Completions `{type, function | custom: {name, description,
/// parameters}}` and legacy `functions[]`, Cohere `{function: {…}}`, Anthropic `{name,
/// description, input_schema}`, Responses `{type, name, description, parameters}`. Schemas are
/// kept as compact JSON text. A key another API uses is read too, as strictly (a key given twice
/// fails the read, and the body is read as a tree), and then not used.
#[derive(Default)]
pub struct Declaration<'a> {
    pub kind: Text<'a>,
    pub name: Text<'a>,
    pub description: Text<'a>,
    pub parameters: Option<Compact>,
    pub input_schema: Option<Compact>,
    pub function: Object<Box<Declaration<'a>>>,
    pub custom: Object<Box<Declaration<'a>>>,
}

object_reader!(Declaration, "a tool object", |this, key, map| {
    "type" => this.kind = map.next_value()?,
    "name" => this.name = map.next_value()?,
    "description" => this.description = map.next_value()?,
    "parameters" => this.parameters = Some(map.next_value()?),
    "input_schema" => this.input_schema = Some(map.next_value()?),
    "function" => this.function = map.next_value()?,
    "custom" => this.custom = map.next_value()?,
});

impl Declaration<'_> {
    /// The declaration with this `schema`, as a tree reads it: a string `name` or none.
    pub fn decl(self, custom: bool, schema: Option<Compact>) -> Option<view::ToolDecl> {
        Some(view::ToolDecl {
            name: self.name.0?.into_owned(),
            custom,
            description: self.description.0.map(Cow::into_owned),
            parameters: schema.map(|s| view::JsonText::from_compact(s.0)),
        })
    }

    /// A function's declaration (`{name, description, parameters}`); a custom tool (free-form
    /// input) has no schema.
    pub fn function_decl(mut self, custom: bool) -> Option<view::ToolDecl> {
        let schema = if custom { None } else { self.parameters.take() };
        self.decl(custom, schema)
    }
}
