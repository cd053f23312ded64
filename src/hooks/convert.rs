//! batchflow values to Rhai values and back.

use crate::value::{format_duration, Value};
use rhai::{Array, Dynamic, Map};
use std::sync::Arc;

pub fn to_dynamic(value: &Value) -> Dynamic {
    match value {
        Value::Int(i) => Dynamic::from_int(*i),
        Value::Float(f) => Dynamic::from_float(*f),
        Value::Bool(b) => Dynamic::from_bool(*b),
        Value::Str(s) => Dynamic::from(s.to_string()),
        Value::Duration(d) => Dynamic::from(format_duration(*d)),
        Value::List(items) => Dynamic::from_array(items.iter().map(to_dynamic).collect()),
        Value::Map(entries) => {
            let mut map = Map::new();
            for (k, v) in entries.iter() {
                map.insert(k.as_str().into(), to_dynamic(v));
            }
            Dynamic::from_map(map)
        }
        Value::Range(a, b) => Dynamic::from_array((*a..*b).take(1_000_000).map(Dynamic::from_int).collect()),
        Value::Image(img) => Dynamic::from(img.to_string()),
    }
}

/// A Rhai value as a batchflow value; the error says what was returned instead.
pub fn from_dynamic(value: &Dynamic) -> Result<Value, String> {
    if value.is_unit() {
        return Err("nothing (`()`)".into());
    }
    if let Ok(i) = value.as_int() {
        return Ok(Value::Int(i));
    }
    if let Ok(f) = value.as_float() {
        return Ok(Value::Float(f));
    }
    if let Ok(b) = value.as_bool() {
        return Ok(Value::Bool(b));
    }
    if value.is_string() {
        return Ok(Value::str(value.clone().into_string().unwrap_or_default()));
    }
    if value.is_char() {
        return Ok(Value::str(value.to_string()));
    }
    if let Some(array) = value.read_lock::<Array>() {
        let items = array.iter().map(from_dynamic).collect::<Result<Vec<_>, _>>()?;
        return Ok(Value::List(Arc::from(items)));
    }
    if let Some(map) = value.read_lock::<Map>() {
        let mut entries = Vec::with_capacity(map.len());
        for (k, v) in map.iter() {
            entries.push((k.to_string(), from_dynamic(v)?));
        }
        return Ok(Value::Map(Arc::from(entries)));
    }
    Err(format!("a value of type `{}`", value.type_name()))
}
