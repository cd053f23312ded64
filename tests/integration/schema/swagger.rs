//! Api-version 2024-02-01.19.0: the Batch data-plane swagger (`tests/spec/BatchService.json`)
//! as a strict JSON-schema validator (draft 4), and its paths.
//!
//! The swagger never says `additionalProperties: false`, so a misspelled field
//! (`nodeAgentSkuId`) would pass it as written: every object schema is made strict first.

use super::{is_iso8601_duration, template_of};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

const SPEC_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/spec/BatchService.json");
const API_VERSION: &str = "2024-02-01.19.0";

struct Spec {
    swagger: Value,
    /// The swagger's `definitions`, made strict (see [`strict_definitions`]).
    definitions: Value,
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

fn spec() -> &'static Spec {
    static SPEC: OnceLock<Spec> = OnceLock::new();
    SPEC.get_or_init(|| {
        let text = std::fs::read_to_string(SPEC_FILE).unwrap_or_else(|e| panic!("{SPEC_FILE}: {e}"));
        let swagger: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{SPEC_FILE}: {e}"));
        assert_eq!(swagger["info"]["version"], API_VERSION, "the schema's api-version");
        let definitions = strict_definitions(&swagger["definitions"]);
        Spec {
            swagger,
            definitions,
            validators: Mutex::new(HashMap::new()),
        }
    })
}

/// The swagger's definitions as a strict JSON schema:
/// - every schema with `properties` gets `additionalProperties: false` (unless it already says
///   what extra properties may be, as `resourceTags` does), after merging any `allOf` parts;
/// - `readOnly` properties are dropped: a request "MUST NOT" send them (swagger 2.0);
/// - `x-ms-*` and other `x-` extensions are removed;
/// - `format: int32` / `int64` become `minimum`/`maximum` (jsonschema checks `format` on strings only).
fn strict_definitions(raw: &Value) -> Value {
    let defs = raw.as_object().expect("swagger definitions are an object");
    let mut out = Map::new();
    for (name, schema) in defs {
        let mut schema = schema.clone();
        strict(&mut schema, raw);
        out.insert(name.clone(), schema);
    }
    Value::Object(out)
}

fn strict(schema: &mut Value, raw_defs: &Value) {
    let Some(obj) = schema.as_object_mut() else { return };
    obj.retain(|k, _| !k.starts_with("x-"));
    if let Some(Value::Array(parts)) = obj.remove("allOf") {
        // Batch's swagger has no allOf today; if one appears, `additionalProperties: false` on a
        // part would reject the other parts' properties, so merge the parts into one object.
        let (properties, required) = flatten_all_of(&parts, raw_defs);
        let own = obj.entry("properties").or_insert_with(|| Value::Object(Map::new()));
        if let Some(own) = own.as_object_mut() {
            for (k, v) in properties {
                own.entry(k).or_insert(v);
            }
        }
        let req = obj.entry("required").or_insert_with(|| Value::Array(Vec::new()));
        if let Some(req) = req.as_array_mut() {
            for r in required {
                if !req.contains(&r) {
                    req.push(r);
                }
            }
        }
        obj.entry("type").or_insert_with(|| json!("object"));
    }
    if let Some(Value::Object(props)) = obj.get_mut("properties") {
        let read_only: Vec<String> = props
            .iter()
            .filter(|(_, p)| p.get("readOnly") == Some(&Value::Bool(true)))
            .map(|(k, _)| k.clone())
            .collect();
        for k in &read_only {
            props.remove(k);
        }
        for p in props.values_mut() {
            strict(p, raw_defs);
        }
        if let Some(Value::Array(req)) = obj.get_mut("required") {
            req.retain(|r| !read_only.iter().any(|k| r == k));
            if req.is_empty() {
                obj.remove("required");
            }
        }
        obj.entry("additionalProperties").or_insert(Value::Bool(false));
    }
    if obj.get("type") == Some(&json!("integer")) {
        let range = match obj.get("format").and_then(Value::as_str) {
            Some("int32") => Some((i64::from(i32::MIN), i64::from(i32::MAX))),
            Some("int64") => Some((i64::MIN, i64::MAX)),
            _ => None,
        };
        if let Some((lo, hi)) = range {
            obj.entry("minimum").or_insert(json!(lo));
            obj.entry("maximum").or_insert(json!(hi));
        }
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(v) = obj.get_mut(key) {
            if v.is_object() {
                strict(v, raw_defs);
            }
        }
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(parts)) = obj.get_mut(key) {
            for p in parts {
                strict(p, raw_defs);
            }
        }
    }
}

/// The properties and required names of `allOf` parts, following `$ref`s into the definitions.
fn flatten_all_of(parts: &[Value], raw_defs: &Value) -> (Map<String, Value>, Vec<Value>) {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for part in parts {
        let resolved = match part.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let name = r
                    .strip_prefix("#/definitions/")
                    .unwrap_or_else(|| panic!("allOf $ref {r}"));
                raw_defs
                    .get(name)
                    .unwrap_or_else(|| panic!("allOf names unknown definition {name}"))
                    .clone()
            }
            None => part.clone(),
        };
        if let Some(Value::Array(inner)) = resolved.get("allOf") {
            let (p, r) = flatten_all_of(inner, raw_defs);
            properties.extend(p);
            required.extend(r);
        }
        if let Some(Value::Object(p)) = resolved.get("properties") {
            properties.extend(p.clone());
        }
        if let Some(Value::Array(r)) = resolved.get("required") {
            required.extend(r.iter().cloned());
        }
    }
    (properties, required)
}

/// The validator of one swagger definition, built once.
pub fn validator(definition: &str) -> Arc<jsonschema::Validator> {
    let spec = spec();
    let mut cache = spec.validators.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(v) = cache.get(definition) {
        return v.clone();
    }
    assert!(
        spec.definitions.get(definition).is_some(),
        "the swagger has no definition `{definition}`"
    );
    let schema = json!({
        "$schema": "http://json-schema.org/draft-04/schema#",
        "$ref": format!("#/definitions/{definition}"),
        "definitions": spec.definitions,
    });
    let built = jsonschema::draft4::options()
        .should_validate_formats(true)
        .with_format("duration", is_iso8601_duration)
        .build(&schema)
        .unwrap_or_else(|e| panic!("schema for {definition} does not compile: {e}"));
    let built = Arc::new(built);
    cache.insert(definition.to_string(), built.clone());
    built
}

/// The swagger operation for a method and a concrete path (`/jobs/sweep/addtaskcollection`),
/// with its path template.
pub fn operation(method: &str, path: &str) -> Result<(String, &'static Value), String> {
    let paths = spec().swagger["paths"].as_object().expect("swagger paths");
    let template = template_of(paths.keys().map(String::as_str), path)?;
    let op = &paths[template][method.to_ascii_lowercase()];
    if !op.is_object() {
        return Err(format!("the Batch API has no `{method} {template}` (path `{path}`)"));
    }
    Ok((template.to_string(), op))
}

/// The definition a request's body must be: the `$ref` of the operation's body parameter.
pub fn body_definition(method: &str, path: &str) -> Result<String, String> {
    let (template, op) = operation(method, path)?;
    let spec = spec();
    let mut params: Vec<&Value> = Vec::new();
    for list in [
        &op["parameters"],
        &spec.swagger["paths"][template.as_str()]["parameters"],
    ] {
        params.extend(list.as_array().into_iter().flatten());
    }
    for p in params {
        let p = match p.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let name = r
                    .strip_prefix("#/parameters/")
                    .ok_or_else(|| format!("parameter $ref {r}"))?;
                &spec.swagger["parameters"][name]
            }
            None => p,
        };
        if p["in"] == "body" {
            let r = p["schema"]["$ref"]
                .as_str()
                .ok_or_else(|| format!("`{method} {template}`: body without $ref"))?;
            return r
                .strip_prefix("#/definitions/")
                .map(str::to_string)
                .ok_or_else(|| format!("`{method} {template}`: body $ref {r}"));
        }
    }
    Err(format!("`{method} {template}` takes no body"))
}
