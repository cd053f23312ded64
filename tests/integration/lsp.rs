//! `batchflow lsp`, capability by capability, through JSON-RPC to the real binary.

use crate::lsp_client::{pos, Client};
use crate::support::root;
use serde_json::{json, Value};

fn fixture(code: &str, which: &str) -> String {
    std::fs::read_to_string(root().join(format!("tests/fixtures/rules/{code}/{which}.batchflow"))).expect("fixture")
}

const SWEEP: &str = r#"workflow "sweep"

param seeds: int = 3
let lrs = [0.1, 0.01]

pool gpu {
  vm_size    = "Standard_NC4as_T4_v3"
  image      = marketplace("microsoft-dsvm", "ubuntu-hpc", "2404")
  node_agent = "batch.node.ubuntu 24.04"
  dedicated  = 1
}

job train on gpu {
  task prepare {
    command = "/bin/sh -c 'echo prepare'"
  }

  task fit[s in 0..seeds, lr in lrs] after prepare {
    command = "/bin/sh -c 'echo ${s} ${lr} ${rhai("tag", s)}'"
  }

  task report after fit {
    command = "/bin/sh -c 'echo ${seeds}'"
  }
}
"#;

const HOOKS: &str = "fn tag(s) {\n  \"seed-\" + s\n}\n\nfn label(n) {\n  tag(n) // not tag(x)\n}\n";

/// A server with SWEEP open as pipelines/sweep.batchflow and its hook script beside it.
fn sweep() -> (Client, String) {
    let client = Client::start();
    client.repo.write("pipelines/sweep.rhai", HOOKS);
    let mut client = client;
    let uri = client.open("pipelines/sweep.batchflow", SWEEP);
    assert_eq!(client.codes(&uri), Vec::<String>::new());
    (client, uri)
}

#[test]
fn diagnostics_are_checks_with_rule_links_and_related_locations() {
    let mut c = Client::start();
    let uri = c.open("pipelines/bad.batchflow", &fixture("BF101", "fires"));
    let diags = c.diagnostics(&uri);
    let d = diags.iter().find(|d| d["code"] == "BF101").expect("BF101");
    assert_eq!(d["severity"], 1);
    assert_eq!(d["source"], "batchflow");
    let href = d["codeDescription"]["href"].as_str().expect("a link");
    assert!(href.ends_with("/blob/main/docs/rules/BF101.md"), "{href}");
    assert!(d["message"].as_str().is_some_and(|m| m.contains("\nhelp: ")), "{d}");
    let related = d["relatedInformation"].as_array().expect("related locations");
    assert_eq!(related[0]["location"]["uri"], json!(uri));
    assert_eq!(related[0]["message"], "no RDMA on this size");
    // The fix typed in: the diagnostics go.
    c.change(&uri, 2, &fixture("BF101", "passes"));
    assert_eq!(c.codes(&uri), Vec::<String>::new());
    c.stop();
}

#[test]
fn hover_shows_sizes_images_names_and_rules() {
    let (mut c, uri) = sweep();
    let hover = |c: &mut Client, (l, ch): (u32, u32)| -> String {
        let h = c.at("textDocument/hover", &uri, l, ch);
        h["contents"]["value"].as_str().unwrap_or("").to_string()
    };
    let size = hover(&mut c, pos(SWEEP, "vm_size", "Standard", 3));
    assert!(
        size.contains("4 vCPUs, 28 GiB memory, 1 GPU (NVIDIA Tesla T4 16GB)"),
        "{size}"
    );
    let image = hover(&mut c, pos(SWEEP, "image", "marketplace", 2));
    assert!(image.contains("node agent: `batch.node.ubuntu 24.04`"), "{image}");
    assert!(image.contains("a Docker-compatible runtime"), "{image}");
    let param = hover(&mut c, pos(SWEEP, "echo ${seeds}", "seeds", 1));
    assert!(
        param.contains("param seeds: int = 3") && param.contains("int: `3`"),
        "{param}"
    );
    let list = hover(&mut c, pos(SWEEP, "let lrs", "lrs", 0));
    assert!(list.contains("list: `[0.1, 0.01]`"), "{list}");
    let agent = hover(&mut c, pos(SWEEP, "node_agent", "batch", 2));
    assert!(agent.contains("the Batch node agent for ubuntu 24.04"), "{agent}");
    // A rule code: where a rule reports, and written in a comment.
    let text = format!("# see BF120\n{}", fixture("BF120", "fires"));
    let bad = c.open("pipelines/retired.batchflow", &text);
    assert!(c.codes(&bad).contains(&"BF120".to_string()));
    let at_size = c.at("textDocument/hover", &bad, pos(&text, "vm_size", "Standard", 1).0, 20);
    let md = at_size["contents"]["value"].as_str().unwrap_or("");
    assert!(
        md.contains("Retired on 2025-09-30") && md.contains("**BF120** `retired-vm-size`"),
        "{md}"
    );
    let comment = c.at("textDocument/hover", &bad, 0, 8);
    assert!(
        comment["contents"]["value"]
            .as_str()
            .is_some_and(|m| m.starts_with("**BF120**")),
        "{comment}"
    );
    c.stop();
}

fn labels(items: &Value) -> Vec<String> {
    items
        .as_array()
        .map(|a| {
            a.iter()
                .map(|i| i["label"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn completion_knows_blocks_values_and_names() {
    let (mut c, uri) = sweep();
    let edit = |c: &mut Client, version: i64, text: &str, line_with: &str, needle: &str, shift: u32| {
        c.change(&uri, version, text);
        let (l, ch) = pos(text, line_with, needle, shift);
        let items = c.at("textDocument/completion", &uri, l, ch);
        labels(&items)
    };
    // A half-typed attribute in a pool: the file does not parse, the pool's names come anyway.
    let text = SWEEP.replace("  dedicated  = 1\n", "  dedicated  = 1\n  low\n");
    let got = edit(&mut c, 2, &text, "  low", "low", 3);
    assert!(
        got.contains(&"low_priority".to_string()) && got.contains(&"start_task".to_string()),
        "{got:?}"
    );
    let text = SWEEP.replace("\"Standard_NC4as_T4_v3\"", "\"Standard_HB");
    let got = edit(&mut c, 3, &text, "vm_size", "HB", 2);
    assert!(got.contains(&"Standard_HB120rs_v3".to_string()), "{got:?}");
    assert!(
        !got.iter().any(|s| s == "Standard_NC6s_v3"),
        "a retired size is offered"
    );
    let text = SWEEP.replace("job train on gpu", "job train on ");
    assert_eq!(edit(&mut c, 4, &text, "job train on", "on", 3), ["gpu"]);
    let text = SWEEP.replace("task report after fit", "task report after p");
    assert_eq!(
        edit(&mut c, 5, &text, "task report", "after p", 7),
        ["prepare", "fit", "report"]
    );
    let text = SWEEP.replace("node_agent = \"batch.node.ubuntu 24.04\"", "node_agent = ");
    let got = edit(&mut c, 6, &text, "node_agent", "=", 2);
    assert!(got.contains(&"batch.node.ubuntu 24.04".to_string()), "{got:?}");
    let text = SWEEP.replace("rhai(\"tag\", s)", "rhai(\"t\", s)");
    assert_eq!(edit(&mut c, 7, &text, "rhai(", "rhai(\"t", 7), ["tag", "label"]);
    let text = SWEEP.replace(
        "  image      = marketplace(\"microsoft-dsvm\", \"ubuntu-hpc\", \"2404\")",
        "  image      = ",
    );
    let got = edit(&mut c, 8, &text, "  image", "=", 2);
    assert!(
        got.contains(&"marketplace(\"Canonical\", \"ubuntu-24_04-lts\", \"server\")".to_string()),
        "{got:?}"
    );
    // A task's `cache` and its two values.
    let text = SWEEP.replace(
        "    command = \"/bin/sh -c 'echo prepare'\"\n",
        "    command = \"/bin/sh -c 'echo prepare'\"\n    cac\n",
    );
    let got = edit(&mut c, 9, &text, "    cac", "cac", 3);
    assert!(got.contains(&"cache".to_string()), "{got:?}");
    let text = SWEEP.replace(
        "    command = \"/bin/sh -c 'echo prepare'\"\n",
        "    command = \"/bin/sh -c 'echo prepare'\"\n    cache = \n",
    );
    assert_eq!(edit(&mut c, 10, &text, "    cache", "=", 2), ["true", "false"]);
    c.stop();
}

#[test]
fn definitions_and_references_reach_names_tasks_and_hook_functions() {
    let (mut c, uri) = sweep();
    let (l, ch) = pos(SWEEP, "task report after fit", "fit", 1);
    let def = c.at("textDocument/definition", &uri, l, ch);
    assert_eq!(def["range"]["start"], json!({ "line": 17, "character": 7 }), "{def}");
    let refs = c.at("textDocument/references", &uri, 2, 7);
    assert_eq!(refs.as_array().map(Vec::len), Some(3), "{refs}");
    let (l, ch) = pos(SWEEP, "job train on gpu", "gpu", 0);
    let pool = c.at("textDocument/definition", &uri, l, ch);
    assert_eq!(pool["range"]["start"]["line"], 5);
    let (l, ch) = pos(SWEEP, "rhai(", "tag", 1);
    let hook = c.at("textDocument/definition", &uri, l, ch);
    let hook_uri = hook["uri"].as_str().expect("a location");
    assert!(hook_uri.ends_with("/pipelines/sweep.rhai"), "{hook}");
    assert_eq!(hook["range"]["start"], json!({ "line": 0, "character": 3 }));
    c.stop();
}

fn rename(c: &mut Client, uri: &str, (l, ch): (u32, u32), new_name: &str) -> Value {
    c.request(
        "textDocument/rename",
        json!({ "textDocument": { "uri": uri }, "position": { "line": l, "character": ch }, "newName": new_name }),
    )
}

#[test]
fn rename_changes_every_use_in_the_workflow_and_its_hook_script() {
    let (mut c, uri) = sweep();
    let edit = rename(&mut c, &uri, pos(SWEEP, "task prepare", "prepare", 2), "setup");
    let edits = edit["result"]["changes"][uri.as_str()]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(edits.len(), 2, "{edit}");
    assert!(edits.iter().all(|e| e["newText"] == "setup"));
    let bad_name = rename(&mut c, &uri, (2, 7), "2x");
    assert!(bad_name.get("error").is_some(), "{bad_name}");
    // A hook function: the `rhai("...")` call here, the declaration and the calls in the script.
    let at_hook = pos(SWEEP, "rhai(", "tag", 1);
    let edit = rename(&mut c, &uri, at_hook, "seed_tag");
    let changes = &edit["result"]["changes"];
    let script = changes
        .as_object()
        .and_then(|m| m.keys().find(|k| k.ends_with("/pipelines/sweep.rhai")).cloned())
        .unwrap_or_else(|| panic!("no edits in the script: {edit}"));
    let applied = crate::lsp::apply(HOOKS, &changes[script.as_str()]);
    assert_eq!(
        applied,
        "fn seed_tag(s) {\n  \"seed-\" + s\n}\n\nfn label(n) {\n  seed_tag(n) // not tag(x)\n}\n"
    );
    let applied = crate::lsp::apply(SWEEP, &changes[uri.as_str()]);
    assert!(applied.contains("${rhai(\"seed_tag\", s)}"), "{applied}");
    // References reach the script: its declaration, the call here, the call in `label`.
    let refs = c.at("textDocument/references", &uri, at_hook.0, at_hook.1);
    assert_eq!(refs.as_array().map(Vec::len), Some(3), "{refs}");
    for (name, why) in [("seed-tag", "not a Rhai function name"), ("label", "already declares")] {
        let refused = rename(&mut c, &uri, at_hook, name);
        assert!(
            refused["error"]["message"].as_str().is_some_and(|m| m.contains(why)),
            "{refused}"
        );
    }
    // A script named with `hooks =` may serve other workflows: renamed there, not from here.
    c.repo.write("pipelines/shared.rhai", HOOKS);
    let text = "hooks = \"shared.rhai\"\nlet x = rhai(\"tag\", 1)\n";
    let named = c.open("pipelines/named.batchflow", text);
    assert_eq!(c.codes(&named), Vec::<String>::new());
    let refused = rename(&mut c, &named, pos(text, "rhai(", "tag", 1), "seed_tag");
    assert!(
        refused["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("other workflows")),
        "{refused}"
    );
    c.stop();
}

#[test]
fn outline_lists_items_with_their_tasks() {
    let (mut c, uri) = sweep();
    let symbols = c.result("textDocument/documentSymbol", json!({ "textDocument": { "uri": uri } }));
    let names = labels_of(&symbols, "name");
    assert_eq!(names, ["seeds", "lrs", "gpu", "train"]);
    let job = &symbols[3];
    assert_eq!(job["detail"], "on gpu");
    assert_eq!(labels_of(&job["children"], "name"), ["prepare", "fit", "report"]);
    c.stop();
}

fn labels_of(items: &Value, key: &str) -> Vec<String> {
    items
        .as_array()
        .map(|a| a.iter().map(|i| i[key].as_str().unwrap_or("").to_string()).collect())
        .unwrap_or_default()
}

#[test]
fn formatting_gives_what_fmt_writes() {
    let mut c = Client::start();
    let messy = "pool p {\nvm_size=\"Standard_D2s_v5\"\n      image = marketplace(\"Canonical\",\"ubuntu-24_04-lts\",\"server\")\ndedicated=1}\n";
    let uri = c.open("pipelines/messy.batchflow", messy);
    let edits = c.result(
        "textDocument/formatting",
        json!({ "textDocument": { "uri": uri }, "options": { "tabSize": 2, "insertSpaces": true } }),
    );
    let formatted = apply(messy, &edits);
    let path = c.repo.write("pipelines/messy.batchflow", messy);
    c.repo.test().arg("fmt").arg(&path).success();
    assert_eq!(formatted, c.repo.read("pipelines/messy.batchflow"));
    c.stop();
}

/// Applies non-overlapping text edits (line/character in UTF-16, here ASCII) to `text`.
pub fn apply(text: &str, edits: &Value) -> String {
    let offset = |p: &Value| -> usize {
        let line = p["line"].as_u64().unwrap_or(0) as usize;
        let ch = p["character"].as_u64().unwrap_or(0) as usize;
        let start: usize = text.split_inclusive('\n').take(line).map(str::len).sum();
        start + ch
    };
    let mut edits: Vec<&Value> = edits.as_array().map(|a| a.iter().collect()).unwrap_or_default();
    edits.sort_by_key(|e| std::cmp::Reverse(offset(&e["range"]["start"])));
    let mut out = text.to_string();
    for e in edits {
        let (s, t) = (offset(&e["range"]["start"]), offset(&e["range"]["end"]));
        out.replace_range(s..t, e["newText"].as_str().unwrap_or(""));
    }
    out
}

#[test]
fn quick_fixes_apply_what_the_help_says() {
    let mut c = Client::start();
    for (code, want) in [
        ("BF105", "node_agent = \"batch.node.windows amd64\""),
        ("BF120", "vm_size    = \"Standard_NC40ads_H100_v5\""),
        ("BF101", "marketplace(\"microsoft-dsvm\", \"ubuntu-hpc\", \"2404\")"),
        ("BF102", "marketplace(\"microsoft-dsvm\", \"ubuntu-hpc\", \"2404\")"),
        ("BF116", "node_agent = \"batch.node.ubuntu 24.04\""),
        ("BF008", "timeout"),
        ("BF002", "after extract"),
    ] {
        let text = fixture(code, "fires");
        let uri = c.open(&format!("pipelines/{code}.batchflow"), &text);
        let diags = c.diagnostics(&uri);
        let d = diags.iter().find(|d| d["code"] == code).expect("the rule fires");
        let actions = c.result(
            "textDocument/codeAction",
            json!({ "textDocument": { "uri": uri }, "range": d["range"], "context": { "diagnostics": [d] } }),
        );
        let action = actions
            .as_array()
            .and_then(|a| a.iter().find(|x| x["diagnostics"][0]["code"] == code))
            .unwrap_or_else(|| panic!("{code}: no fix in {actions}"));
        let fixed = apply(&text, &action["edit"]["changes"][uri.as_str()]);
        assert!(fixed.contains(want), "{code}: {fixed}");
        c.change(&uri, 2, &fixed);
        let after = c.codes(&uri);
        assert!(
            !after.contains(&code.to_string()),
            "{code} still fires after its fix: {after:?}"
        );
        // A fix never writes a retired image or size.
        assert!(!after.iter().any(|a| a == "BF116" || a == "BF120"), "{code}: {after:?}");
    }
    c.stop();
}
