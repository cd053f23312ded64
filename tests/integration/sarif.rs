//! `check --format sarif`: a SARIF 2.1.0 log valid against the OASIS schema
//! (`tests/spec/sarif-schema-2.1.0.json`, formats checked too), each rule reported on with its
//! page as help text and its published page as help URI.

use crate::support::{root, Test};
use serde_json::Value;

fn validator() -> jsonschema::Validator {
    let path = root().join("tests/spec/sarif-schema-2.1.0.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("schema")).expect("schema JSON");
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .should_validate_formats(true)
        .build(&schema)
        .expect("the SARIF schema compiles")
}

fn sarif(args: &[&str]) -> (i32, Value) {
    let out = Test::project().args(["check", "--format", "sarif"]).args(args).run();
    let log: Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}{}", out.stdout, out.stderr));
    let errors: Vec<String> = validator()
        .iter_errors(&log)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "not SARIF 2.1.0:\n{}", errors.join("\n"));
    (out.code, log)
}

#[test]
fn every_rule_fixture_gives_a_valid_log_with_each_rule_and_its_page() {
    let (code, log) = sarif(&["tests/fixtures/rules"]);
    assert_eq!(code, 1);
    assert_eq!(log["version"], "2.1.0");
    let run = &log["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "batchflow");
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    // Every rule whose fixture fires on a plain `check` (no account, environment or arguments
    // beside it) is in the log.
    let ids: Vec<&str> = rules.iter().filter_map(|r| r["id"].as_str()).collect();
    for code in batchflow::diagnostics::Code::ALL {
        let dir = root().join("tests/fixtures/rules").join(code.as_str());
        let plain = ["account.json", "env", "args"].iter().all(|f| !dir.join(f).exists());
        if plain && dir.join("fires.batchflow").exists() {
            assert!(ids.contains(&code.as_str()), "{} is not in the log", code.as_str());
        }
    }
    for rule in rules {
        let id = rule["id"].as_str().expect("id");
        let page = std::fs::read_to_string(root().join(format!("docs/rules/{id}.md"))).expect("rule page");
        assert_eq!(rule["help"]["text"], page.as_str(), "{id}");
        let uri = rule["helpUri"].as_str().expect("helpUri");
        assert!(
            uri.starts_with("https://") && uri.ends_with(&format!("/blob/main/docs/rules/{id}.md")),
            "{uri}"
        );
        assert!(
            !rule["shortDescription"]["text"].as_str().unwrap_or("").is_empty(),
            "{id}"
        );
    }
    let results = run["results"].as_array().expect("results");
    assert!(
        results.iter().any(|r| r["relatedLocations"].is_array()),
        "labels become related locations"
    );
    for r in results {
        let index = r["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(rules[index]["id"], r["ruleId"]);
        let loc = &r["locations"][0]["physicalLocation"];
        assert_eq!(loc["artifactLocation"]["uriBaseId"], "%SRCROOT%");
        assert!(loc["artifactLocation"]["uri"]
            .as_str()
            .expect("uri")
            .starts_with("tests/fixtures/rules/"));
        assert!(loc["region"]["startLine"].as_u64().expect("line") >= 1);
        assert!(["error", "warning", "note"].contains(&r["level"].as_str().expect("level")));
    }
}

#[test]
fn a_clean_check_is_a_valid_log_without_results() {
    let (code, log) = sarif(&["examples/hello.batchflow"]);
    assert_eq!(code, 0);
    assert_eq!(log["runs"][0]["results"], serde_json::json!([]));
    assert_eq!(log["runs"][0]["tool"]["driver"]["rules"], serde_json::json!([]));
}

#[test]
fn odd_file_names_become_valid_uris() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("my flow #1 é.batchflow");
    std::fs::write(&file, "pool p {\n  vm_size = \"Standard_D2s_v5\"\n}\n").expect("write");
    let (code, log) = sarif(&[file.to_str().expect("utf-8 path")]);
    assert_eq!(code, 1);
    let uri = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        .as_str()
        .expect("uri");
    assert!(
        uri.starts_with("file:///") && uri.ends_with("/my%20flow%20%231%20%C3%A9.batchflow"),
        "{uri}"
    );
}

#[test]
fn the_schema_is_strict_enough_to_catch_mistakes() {
    let v = validator();
    let base = |rule: Value, level: &str| {
        serde_json::json!({
            "version": "2.1.0",
            "runs": [{ "tool": { "driver": { "name": "batchflow", "rules": [rule] } },
                       "results": [{ "ruleId": "BF101", "level": level, "message": { "text": "m" } }] }]
        })
    };
    assert!(v.is_valid(&base(
        serde_json::json!({ "id": "BF101", "helpUri": "https://x/y.md" }),
        "error"
    )));
    assert!(!v.is_valid(&base(
        serde_json::json!({ "id": "BF101", "helpUri": "https://x/y.md" }),
        "info"
    )));
    assert!(!v.is_valid(&base(
        serde_json::json!({ "id": "BF101", "helpUri": "not a uri" }),
        "error"
    )));
    assert!(!v.is_valid(&base(serde_json::json!({ "helpUri": "https://x/y.md" }), "error")));
}
