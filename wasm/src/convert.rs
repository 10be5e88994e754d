//! Every conversion between JavaScript values and Rust values: arguments, stored values, events,
//! replica ids and errors. Nothing here panics; bad input becomes a [`WeftError`].

use std::collections::BTreeMap;
use std::rc::Rc;

use js_sys::{Array, BigInt, Function, Object, Reflect, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use weft::{Change, ContainerRef, DecodeError, Delta, Event, Kind, Len, ReplicaId, Unit, Value};

use crate::counter::CounterRef;
use crate::doc::Shared;
use crate::list::ListRef;
use crate::map::MapRef;
use crate::register::RegisterRef;
use crate::set::SetRef;
use crate::text::TextRef;

#[wasm_bindgen(raw_module = "./errors.js")]
extern "C" {
    /// The package's error class (`wasm/js/errors.js`): an `Error` subclass with a `code`.
    pub type WeftError;

    #[wasm_bindgen(constructor)]
    fn new(message: &str, code: &str) -> WeftError;
}

/// The largest integer a JS number holds exactly (2⁵³ − 1).
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// Nesting limit for values coming from JS (the engine accepts the same depth).
const MAX_DEPTH: usize = 64;

// ------------------------------------------------------------------ errors

/// A `WeftError` with a machine-readable `code` and a human-readable message.
pub(crate) fn error(code: &str, message: &str) -> JsValue {
    WeftError::new(message, code).into()
}

/// An argument of the wrong type or shape.
pub(crate) fn invalid(message: &str) -> JsValue {
    error("INVALID_ARGUMENT", message)
}

/// An edit the engine refused; the document is unchanged.
pub(crate) fn edit_error(e: weft::Error) -> JsValue {
    let code = match e {
        weft::Error::OutOfRange { .. } => "OUT_OF_RANGE",
        weft::Error::InsideChar { .. } => "INSIDE_CHARACTER",
        weft::Error::WrongKind { .. } => "WRONG_KIND",
        weft::Error::InvalidValue(_) => "INVALID_VALUE",
        weft::Error::TooLarge => "TOO_LARGE",
        _ => "EDIT_FAILED",
    };
    let message = match e {
        // JS callers count in UTF-16 code units; say so in the words they know.
        weft::Error::OutOfRange {
            index,
            len,
            unit: Unit::Utf16,
        } => {
            format!("index {index} is out of range (length {len})")
        }
        weft::Error::InsideChar {
            index,
            unit: Unit::Utf16,
        } => {
            format!("index {index} falls between the two halves of a surrogate pair")
        }
        other => other.to_string(),
    };
    error(code, &message)
}

/// A malformed or contradictory update; the document is unchanged.
pub(crate) fn decode_error(e: DecodeError) -> JsValue {
    let err = error("MALFORMED_UPDATE", &format!("malformed update: {e}"));
    // `offset` lets callers point at the bad byte; a failed set only loses that detail.
    let _ = Reflect::set(
        &err,
        &"offset".into(),
        &JsValue::from_f64(e.offset() as f64),
    );
    err
}

// ------------------------------------------------------------------ arguments

/// An index or length: a non-negative integer that fits in 32 bits (positions are UTF-16 code
/// units or list elements).
pub(crate) fn index(n: f64, what: &str) -> Result<usize, JsValue> {
    if n.is_finite() && n >= 0.0 && n.fract() == 0.0 && n <= f64::from(u32::MAX) {
        Ok(n as usize)
    } else {
        Err(error(
            "OUT_OF_RANGE",
            &format!(
                "{what} must be a non-negative integer, got {}",
                number_text(n)
            ),
        ))
    }
}

/// A number as JS prints it (formatting floats in Rust would add kilobytes to the binary).
fn number_text(n: f64) -> String {
    js_sys::Number::from(n)
        .to_string_with_radix(10)
        .map(String::from)
        .unwrap_or_default()
}

/// A function argument (a listener).
pub(crate) fn function(v: JsValue, what: &str) -> Result<Function, JsValue> {
    v.dyn_into::<Function>()
        .map_err(|v| invalid(&format!("{what} must be a function, got {}", type_name(&v))))
}

/// True when `f` is the function `v` (the same object).
pub(crate) fn same_function(f: &Function, v: &JsValue) -> bool {
    AsRef::<JsValue>::as_ref(f) == v
}

/// A string argument (anything else is refused with a clear error, not coerced).
pub(crate) fn string(v: &JsValue, what: &str) -> Result<String, JsValue> {
    v.as_string()
        .ok_or_else(|| invalid(&format!("{what} must be a string, got {}", type_name(v))))
}

/// A `Uint8Array` argument, copied into wasm memory.
pub(crate) fn bytes(v: &JsValue, what: &str) -> Result<Vec<u8>, JsValue> {
    v.dyn_ref::<Uint8Array>()
        .map(Uint8Array::to_vec)
        .ok_or_else(|| {
            invalid(&format!(
                "{what} must be a Uint8Array, got {}",
                type_name(v)
            ))
        })
}

/// A counter step: an integer within ±2⁵³ (a JS number) or any `bigint` that fits 64 bits.
pub(crate) fn counter_step(v: &JsValue) -> Result<i64, JsValue> {
    if let Some(n) = v.as_f64() {
        if n.fract() == 0.0 && n.abs() <= MAX_SAFE_INTEGER {
            return Ok(n as i64);
        }
        return Err(invalid(&format!(
            "counter steps must be integers, got {}",
            number_text(n)
        )));
    }
    if v.is_bigint() {
        return i64::try_from(BigInt::unchecked_from_js_ref(v).clone())
            .map_err(|_| invalid("counter step does not fit in 64 bits"));
    }
    if v.is_undefined() {
        return Ok(1);
    }
    Err(invalid("counter steps must be numbers or bigints"))
}

/// A replica id from `string` (decimal) or `bigint`; `undefined` means "draw a random one".
pub(crate) fn replica_id(v: &JsValue) -> Result<Option<ReplicaId>, JsValue> {
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    if let Some(s) = v.as_string() {
        return s.parse::<u64>().map(|n| Some(ReplicaId(n))).map_err(|_| {
            invalid(&format!(
                "replicaId must be a decimal u64 string, got \"{s}\""
            ))
        });
    }
    if v.is_bigint() {
        return u64::try_from(BigInt::unchecked_from_js_ref(v).clone())
            .map(|n| Some(ReplicaId(n)))
            .map_err(|_| invalid("replicaId must be between 0 and 2^64 - 1"));
    }
    Err(invalid(
        "replicaId must be a string or a bigint (a number would lose precision)",
    ))
}

/// A property of an options object (`undefined` when absent or when `options` is not an object).
pub(crate) fn option(options: &JsValue, key: &str) -> JsValue {
    if options.is_object() {
        Reflect::get(options, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
    } else {
        JsValue::UNDEFINED
    }
}

/// A transaction origin as the engine's tag: strings pass through, other values are local to JS.
pub(crate) fn origin_tag(origin: &JsValue) -> Option<String> {
    origin.as_string()
}

/// The bytes of a `Uint8Array[]` (for `mergeUpdates`).
pub(crate) fn byte_arrays(v: &JsValue) -> Result<Vec<Vec<u8>>, JsValue> {
    let arr = v
        .dyn_ref::<Array>()
        .ok_or_else(|| invalid("expected an array of Uint8Array"))?;
    // Loops rather than `collect::<Result<…>>()`: smaller in wasm.
    let mut out = Vec::new();
    for x in arr.iter() {
        let bytes = x
            .dyn_ref::<Uint8Array>()
            .ok_or_else(|| invalid("expected an array of Uint8Array"))?;
        out.push(bytes.to_vec());
    }
    Ok(out)
}

/// The kind named by `"text" | "list" | "map" | "counter" | "set" | "register"`.
pub(crate) fn kind(name: &JsValue) -> Result<Kind, JsValue> {
    let name = string(name, "kind")?;
    Ok(match name.as_str() {
        "text" => Kind::Text,
        "list" => Kind::List,
        "map" => Kind::Map,
        "counter" => Kind::Counter,
        "set" => Kind::Set,
        "register" => Kind::Register,
        other => {
            return Err(invalid(&format!(
                "unknown container kind \"{other}\" (expected text, list, map, counter, set or register)"
            )));
        }
    })
}

// ------------------------------------------------------------------ values: JS → Rust

/// A stored value from JS: `null`, booleans, numbers (integers become `Int`), bigints (64-bit),
/// strings, `Uint8Array`, arrays and plain objects of these. Object properties that are
/// `undefined` are skipped, as `JSON.stringify` does.
pub(crate) fn value(v: &JsValue) -> Result<Value, JsValue> {
    value_at(v, 0)
}

/// Several values (a JS array) for a list insert.
pub(crate) fn values(v: &JsValue) -> Result<Vec<Value>, JsValue> {
    let arr = v
        .dyn_ref::<Array>()
        .ok_or_else(|| invalid("expected an array of values"))?;
    let mut out = Vec::new();
    for x in arr.iter() {
        out.push(value(&x)?);
    }
    Ok(out)
}

fn value_at(v: &JsValue, depth: usize) -> Result<Value, JsValue> {
    if depth > MAX_DEPTH {
        return Err(error(
            "INVALID_VALUE",
            "value nested too deeply (or cyclic)",
        ));
    }
    if v.is_null() {
        return Ok(Value::Null);
    }
    if let Some(b) = v.as_bool() {
        return Ok(Value::Bool(b));
    }
    if let Some(n) = v.as_f64() {
        return Ok(if n.fract() == 0.0 && n.abs() <= MAX_SAFE_INTEGER {
            Value::Int(n as i64)
        } else {
            Value::Float(n)
        });
    }
    if let Some(s) = v.as_string() {
        return Ok(Value::String(s));
    }
    if v.is_bigint() {
        return i64::try_from(BigInt::unchecked_from_js_ref(v).clone())
            .map(Value::Int)
            .map_err(|_| error("INVALID_VALUE", "bigint values must fit in 64 bits"));
    }
    if let Some(bytes) = v.dyn_ref::<Uint8Array>() {
        return Ok(Value::Bytes(bytes.to_vec()));
    }
    if let Some(arr) = v.dyn_ref::<Array>() {
        let mut out = Vec::new();
        for x in arr.iter() {
            out.push(value_at(&x, depth + 1)?);
        }
        return Ok(Value::Array(out));
    }
    if v.is_object() && is_plain_object(v) {
        let mut out = BTreeMap::new();
        for entry in Object::entries(v.unchecked_ref()).iter() {
            let pair: Array = entry.unchecked_into();
            let (key, item) = (pair.get(0), pair.get(1));
            if item.is_undefined() {
                continue;
            }
            let key = key.as_string().unwrap_or_default();
            out.insert(key, value_at(&item, depth + 1)?);
        }
        return Ok(Value::Object(out));
    }
    Err(error(
        "INVALID_VALUE",
        &format!(
            "unsupported value of type {}: expected null, a boolean, number, bigint, string, \
             Uint8Array, array or plain object",
            type_name(v)
        ),
    ))
}

fn is_plain_object(v: &JsValue) -> bool {
    let proto = Object::get_prototype_of(v);
    proto.is_null() || proto == Object::get_prototype_of(&Object::new())
}

fn type_name(v: &JsValue) -> String {
    if v.is_undefined() {
        return "undefined".into();
    }
    if v.is_null() {
        return "null".into();
    }
    if v.as_f64().is_some() {
        return "number".into();
    }
    if v.as_bool().is_some() {
        return "boolean".into();
    }
    if v.is_string() {
        return "string".into();
    }
    if v.is_bigint() {
        return "bigint".into();
    }
    if v.is_function() {
        return "function".into();
    }
    if v.is_symbol() {
        return "symbol".into();
    }
    Reflect::get(v, &"constructor".into())
        .ok()
        .and_then(|c| Reflect::get(&c, &"name".into()).ok())
        .and_then(|n| n.as_string())
        .unwrap_or_else(|| "object".into())
}

// ------------------------------------------------------------------ values: Rust → JS

/// A value for JS. Integers within ±2⁵³ become numbers and larger ones bigints (never a lossy
/// number); nested containers become handles of `doc`.
pub(crate) fn value_to_js(v: &Value, doc: &Rc<Shared>) -> JsValue {
    match v {
        Value::Null => JsValue::NULL,
        Value::Bool(b) => JsValue::from_bool(*b),
        Value::Int(i) => int_to_js(*i),
        Value::Float(f) => JsValue::from_f64(*f),
        Value::String(s) => JsValue::from_str(s),
        Value::Bytes(b) => Uint8Array::from(b.as_slice()).into(),
        Value::Array(a) => array(a, |x| value_to_js(x, doc)).into(),
        Value::Object(o) => {
            let obj = Object::new();
            for (k, x) in o {
                // Setting a fresh plain object's own property cannot fail.
                let _ = Reflect::set(&obj, &JsValue::from_str(k), &value_to_js(x, doc));
            }
            obj.into()
        }
        Value::Container(c) => container_to_js(*c, doc),
    }
}

/// An optional value: `undefined` when absent.
pub(crate) fn opt_value_to_js(v: Option<&Value>, doc: &Rc<Shared>) -> JsValue {
    v.map_or(JsValue::UNDEFINED, |v| value_to_js(v, doc))
}

/// A list of values as a JS array.
pub(crate) fn values_to_js(vs: &[Value], doc: &Rc<Shared>) -> Array {
    array(vs, |v| value_to_js(v, doc))
}

/// A JS array of `f` of each item. A loop of `push`: in wasm, smaller than collecting into an
/// `Array` (whose `Extend` buffers), for each item type.
pub(crate) fn array<T>(items: &[T], f: impl Fn(&T) -> JsValue) -> Array {
    let out = Array::new();
    for x in items {
        out.push(&f(x));
    }
    out
}

/// A 64-bit integer: a number when exact, else a bigint.
pub(crate) fn int_to_js(i: i64) -> JsValue {
    if (i as f64).abs() <= MAX_SAFE_INTEGER {
        JsValue::from_f64(i as f64)
    } else {
        BigInt::from(i).into()
    }
}

/// The handle object of a container of `doc`.
pub(crate) fn container_to_js(c: ContainerRef, doc: &Rc<Shared>) -> JsValue {
    let doc = Rc::clone(doc);
    let handle = match c.kind() {
        Kind::Text => weft::TextRef::from_container(c).map(|h| TextRef::new(doc, h).into()),
        Kind::List => weft::ListRef::from_container(c).map(|h| ListRef::new(doc, h).into()),
        Kind::Map => weft::MapRef::from_container(c).map(|h| MapRef::new(doc, h).into()),
        Kind::Counter => {
            weft::CounterRef::from_container(c).map(|h| CounterRef::new(doc, h).into())
        }
        Kind::Set => weft::SetRef::from_container(c).map(|h| SetRef::new(doc, h).into()),
        Kind::Register => {
            weft::RegisterRef::from_container(c).map(|h| RegisterRef::new(doc, h).into())
        }
    };
    handle.unwrap_or(JsValue::NULL)
}

/// Bytes as a new `Uint8Array` (a copy out of wasm memory).
pub(crate) fn bytes_to_js(b: &[u8]) -> Uint8Array {
    Uint8Array::from(b)
}

// ------------------------------------------------------------------ events

fn set(obj: &Object, key: &str, v: &JsValue) {
    // Setting a fresh plain object's own property cannot fail.
    let _ = Reflect::set(obj, &JsValue::from_str(key), v);
}

/// A container event for JS observers: `{ target, origin, local, …change }`.
///
/// Text deltas count UTF-16 code units (`{ retain }`, `{ insert: string }`, `{ delete }`), list
/// deltas count elements; maps report `keys`, counters `delta`, sets `added`/`removed`,
/// registers `oldValue`/`newValue`.
pub(crate) fn event_to_js(ev: &Event, origin: &JsValue, doc: &Rc<Shared>) -> JsValue {
    let obj = Object::new();
    set(&obj, "target", &container_to_js(ev.target, doc));
    set(&obj, "origin", origin);
    set(&obj, "local", &JsValue::from_bool(ev.local));
    match &ev.change {
        Change::Text(delta) => {
            let ops = array(delta, |d| {
                delta_step(d, Unit::Utf16, |s| JsValue::from_str(s))
            });
            set(&obj, "delta", &ops);
        }
        Change::List(delta) => {
            let ops = array(delta, |d| {
                delta_step(d, Unit::Char, |vs| values_to_js(vs, doc).into())
            });
            set(&obj, "delta", &ops);
        }
        Change::Map(changes) => {
            let keys = array(changes, |k| {
                let c = Object::new();
                let action = match (&k.old, &k.new) {
                    (None, _) => "add",
                    (Some(_), None) => "delete",
                    (Some(_), Some(_)) => "update",
                };
                set(&c, "key", &JsValue::from_str(&k.key));
                set(&c, "action", &JsValue::from_str(action));
                set(&c, "oldValue", &opt_value_to_js(k.old.as_ref(), doc));
                set(&c, "newValue", &opt_value_to_js(k.new.as_ref(), doc));
                JsValue::from(c)
            });
            set(&obj, "keys", &keys);
        }
        Change::Counter { delta } => set(&obj, "delta", &JsValue::from_f64(*delta as f64)),
        Change::Set { added, removed } => {
            set(&obj, "added", &values_to_js(added, doc));
            set(&obj, "removed", &values_to_js(removed, doc));
        }
        Change::Register { old, new } => {
            set(&obj, "oldValue", &opt_value_to_js(old.as_ref(), doc));
            set(&obj, "newValue", &opt_value_to_js(new.as_ref(), doc));
        }
    }
    obj.into()
}

fn delta_step<T>(d: &Delta<T>, unit: Unit, insert: impl Fn(&T) -> JsValue) -> JsValue {
    let obj = Object::new();
    let len = |l: &Len| JsValue::from_f64(l.get(unit) as f64);
    match d {
        Delta::Retain(l) => set(&obj, "retain", &len(l)),
        Delta::Insert(x) => set(&obj, "insert", &insert(x)),
        Delta::Delete(l) => set(&obj, "delete", &len(l)),
    }
    obj.into()
}

/// One step of a text delta given to `applyDelta`.
pub(crate) enum DeltaOp {
    /// Skip this many UTF-16 code units.
    Retain(usize),
    /// Insert text.
    Insert(String),
    /// Delete this many UTF-16 code units.
    Delete(usize),
}

/// Parses `[{ retain: n } | { insert: string } | { delete: n }, …]` (other keys, such as
/// `attributes`, are ignored: Weft text is plain).
pub(crate) fn text_delta(v: &JsValue) -> Result<Vec<DeltaOp>, JsValue> {
    let arr = v
        .dyn_ref::<Array>()
        .ok_or_else(|| invalid("a delta must be an array"))?;
    let mut out = Vec::new();
    for step in arr.iter() {
        let get = |k: &str| option(&step, k);
        let (retain, insert, delete) = (get("retain"), get("insert"), get("delete"));
        out.push(if let Some(s) = insert.as_string() {
            DeltaOp::Insert(s)
        } else if let Some(n) = retain.as_f64() {
            DeltaOp::Retain(index(n, "retain")?)
        } else if let Some(n) = delete.as_f64() {
            DeltaOp::Delete(index(n, "delete")?)
        } else {
            return Err(invalid("each delta step must be { retain: number }, { insert: string } or { delete: number }"));
        });
    }
    Ok(out)
}

// ------------------------------------------------------------------ sync protocol

fn status_to_js(s: weft::sync::Status) -> JsValue {
    JsValue::from_str(s.as_str())
}

fn sync_event_to_js(e: &weft::sync::Event) -> JsValue {
    use weft::sync::{Access, Event};
    let obj = Object::new();
    let ty = |t: &str| set(&obj, "type", &JsValue::from_str(t));
    let s = |k: &str, v: &str| set(&obj, k, &JsValue::from_str(v));
    match e {
        Event::Connected { client, rejoin } => {
            ty("connected");
            s("client", &client.0.to_string());
            set(&obj, "rejoin", &array(rejoin, |d| JsValue::from_str(d)));
        }
        Event::Synced { doc, access } => {
            ty("synced");
            s("doc", doc);
            s(
                "access",
                if *access == Access::ReadOnly {
                    "read-only"
                } else {
                    "read-write"
                },
            );
        }
        Event::Acked { doc, batch, status } => {
            ty("acked");
            s("doc", doc);
            s("batch", &batch.0.to_string());
            set(&obj, "status", &status_to_js(*status));
        }
        Event::Presence {
            doc,
            client,
            clock,
            data,
        } => {
            ty("presence");
            s("doc", doc);
            s("client", &client.0.to_string());
            set(&obj, "clock", &JsValue::from_f64(*clock as f64));
            set(&obj, "data", &bytes_to_js(data));
        }
        Event::JoinFailed { doc, status } => {
            ty("join-failed");
            s("doc", doc);
            set(&obj, "status", &status_to_js(*status));
        }
        Event::Rejoin { doc, delay_ms } => {
            ty("rejoin");
            s("doc", doc);
            set(&obj, "delayMs", &JsValue::from_f64(f64::from(*delay_ms)));
        }
        Event::Error { status, message } => {
            ty("error");
            set(&obj, "status", &status_to_js(*status));
            s("message", message);
        }
    }
    obj.into()
}

/// `{ frames, events }` of a sync session call.
pub(crate) fn sync_output_to_js(out: &weft::sync::Output) -> JsValue {
    sync_output_object(out).into()
}

fn sync_output_object(out: &weft::sync::Output) -> Object {
    let obj = Object::new();
    set(
        &obj,
        "frames",
        &array(&out.frames, |f| bytes_to_js(f).into()),
    );
    set(&obj, "events", &array(&out.events, sync_event_to_js));
    obj
}

/// `{ batch, frames, events }` of `localUpdate`.
pub(crate) fn local_update_to_js(batch: weft::sync::BatchId, out: &weft::sync::Output) -> JsValue {
    let obj = sync_output_object(out);
    set(&obj, "batch", &JsValue::from_str(&batch.0.to_string()));
    obj.into()
}

/// The server's limits (sizes and durations: exact as numbers).
pub(crate) fn limits_to_js(l: &weft::sync::Limits) -> JsValue {
    let obj = Object::new();
    let n = |k: &str, v: u64| set(&obj, k, &JsValue::from_f64(v as f64));
    n("maxFrameBytes", l.max_frame_bytes);
    n("maxUpdateBytes", l.max_update_bytes);
    n("maxPresenceBytes", l.max_presence_bytes);
    n("presenceTimeoutMs", l.presence_timeout_ms);
    n("maxDocuments", l.max_documents);
    obj.into()
}

/// `{ kind: 'never' | 'new-token' }` or `{ kind: 'backoff', minMs, maxMs }`.
pub(crate) fn retry_to_js(r: weft::sync::Retry) -> JsValue {
    use weft::sync::Retry;
    let obj = Object::new();
    let kind = |k: &str| set(&obj, "kind", &JsValue::from_str(k));
    match r {
        Retry::Never => kind("never"),
        Retry::NewToken => kind("new-token"),
        Retry::Backoff { min_ms, max_ms } => {
            kind("backoff");
            set(&obj, "minMs", &JsValue::from_f64(f64::from(min_ms)));
            set(&obj, "maxMs", &JsValue::from_f64(f64::from(max_ms)));
        }
    }
    obj.into()
}

/// The inverse of [`retry_to_js`].
pub(crate) fn retry_from_js(v: &JsValue) -> Result<weft::sync::Retry, JsValue> {
    use weft::sync::Retry;
    let ms = |k: &str| -> Result<u32, JsValue> {
        let n = option(v, k)
            .as_f64()
            .ok_or_else(|| invalid(&format!("retry.{k} must be a number")))?;
        index(n, k).map(|n| n as u32)
    };
    match option(v, "kind").as_string().as_deref() {
        Some("never") => Ok(Retry::Never),
        Some("new-token") => Ok(Retry::NewToken),
        Some("backoff") => Ok(Retry::Backoff {
            min_ms: ms("minMs")?,
            max_ms: ms("maxMs")?,
        }),
        _ => Err(invalid(
            "retry must be { kind: 'never' | 'new-token' | 'backoff', … }",
        )),
    }
}
