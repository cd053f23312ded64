//! Api-version 2025-06-01: the request models of the official azure-batch Python SDK 15.1.0 as
//! a JSON Schema 2020-12 (`tests/spec/2025-06-01/batch-requests.schema.json`, strict: every
//! object says `additionalProperties: false`), plus the supplement read from the same SDK for
//! the bodies its `x-routes` lack and for the list of operations
//! (`batch-requests-supplement.schema.json`).

use super::template_of;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/spec/2025-06-01");
const MAIN: &str = "batch-requests.schema.json";
const SUPPLEMENT: &str = "batch-requests-supplement.schema.json";
const API_VERSION: &str = "2025-06-01";

struct Spec {
    /// The `$defs` of both files, merged.
    defs: Value,
    /// `x-routes` of both files: a validator of the route pattern, and the model it names.
    routes: Vec<(jsonschema::Validator, String)>,
    /// `x-operations`: (method, path template).
    operations: Vec<(String, String)>,
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

fn read(name: &str) -> Value {
    let path = format!("{DIR}/{name}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn spec() -> &'static Spec {
    static SPEC: OnceLock<Spec> = OnceLock::new();
    SPEC.get_or_init(|| {
        let main = read(MAIN);
        let supplement = read(SUPPLEMENT);
        for file in [&main, &supplement] {
            assert!(
                file["title"].as_str().is_some_and(|t| t.contains(API_VERSION)),
                "the schema's api-version: {}",
                file["title"]
            );
        }
        let mut defs: Map<String, Value> = main["$defs"].as_object().expect("$defs").clone();
        for (name, model) in supplement["$defs"].as_object().expect("supplement $defs") {
            assert!(
                defs.insert(name.clone(), model.clone()).is_none(),
                "the supplement redefines {name}"
            );
        }
        let mut routes = Vec::new();
        for file in [&main, &supplement] {
            for (pattern, target) in file["x-routes"].as_object().expect("x-routes") {
                let model = target
                    .as_str()
                    .and_then(|t| t.strip_prefix("#/$defs/"))
                    .unwrap_or_else(|| panic!("x-route {pattern}: {target}"));
                assert!(defs.contains_key(model), "x-route {pattern} names no model {model}");
                // The pattern is matched with the validator's own regex engine (ECMA 262).
                let matcher = jsonschema::draft202012::new(&json!({"type": "string", "pattern": pattern}))
                    .unwrap_or_else(|e| panic!("x-route {pattern}: {e}"));
                routes.push((matcher, model.to_string()));
            }
        }
        let operations = supplement["x-operations"]
            .as_array()
            .expect("x-operations")
            .iter()
            .filter_map(Value::as_str)
            .map(|op| {
                let (method, template) = op.split_once(' ').unwrap_or_else(|| panic!("x-operation {op}"));
                (method.to_string(), template.to_string())
            })
            .collect();
        Spec {
            defs: Value::Object(defs),
            routes,
            operations,
            validators: Mutex::new(HashMap::new()),
        }
    })
}

/// The validator of one model, built once.
pub fn validator(model: &str) -> Arc<jsonschema::Validator> {
    let spec = spec();
    let mut cache = spec.validators.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(v) = cache.get(model) {
        return v.clone();
    }
    assert!(
        spec.defs.get(model).is_some(),
        "the 2025-06-01 schema has no model `{model}`"
    );
    let schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": format!("#/$defs/{model}"),
        "$defs": spec.defs,
    });
    let built = jsonschema::draft202012::options()
        .build(&schema)
        .unwrap_or_else(|e| panic!("schema for {model} does not compile: {e}"));
    let built = Arc::new(built);
    cache.insert(model.to_string(), built.clone());
    built
}

/// The operation's path template, if the SDK has `method` on `path`.
pub fn operation(method: &str, path: &str) -> Result<String, String> {
    let spec = spec();
    let template = template_of(spec.operations.iter().map(|(_, t)| t.as_str()), path)?;
    if spec.operations.iter().any(|(m, t)| m == method && t == template) {
        Ok(template.to_string())
    } else {
        Err(format!(
            "api-version {API_VERSION} has no `{method} {template}` (path `{path}`)"
        ))
    }
}

/// The model a request's body must be, by the `x-routes`.
pub fn body_model(method: &str, path: &str) -> Result<String, String> {
    operation(method, path)?;
    let route = json!(format!("{method} {path}"));
    spec()
        .routes
        .iter()
        .find(|(matcher, _)| matcher.is_valid(&route))
        .map(|(_, model)| model.clone())
        .ok_or_else(|| format!("api-version {API_VERSION} names no body for `{method} {path}`"))
}
