//! Command-line behaviour: exit codes, formats, the repository walk, usage errors.

use crate::support::{root, Test};

#[test]
fn json_format_is_exactly_the_documented_shape() {
    let out = Test::project()
        .args([
            "check",
            "--format",
            "json",
            "tests/fixtures/rules/BF101/fires.batchflow",
        ])
        .failure();
    let first = out
        .diagnostics()
        .into_iter()
        .find(|d| d["code"] == "BF101")
        .expect("BF101");
    let keys: Vec<&str> = first.as_object().expect("object").keys().map(String::as_str).collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        ["code", "column", "file", "help", "line", "message", "severity", "span"]
    );
    assert_eq!(first["severity"], "error");
    assert_eq!(first["file"], "tests/fixtures/rules/BF101/fires.batchflow");
    assert!(first["line"].as_u64().is_some_and(|l| l >= 1));
    assert!(first["span"]["end"].as_u64() > first["span"]["start"].as_u64());
}

#[test]
fn github_format_writes_annotations() {
    let out = Test::project()
        .args([
            "check",
            "--format",
            "github",
            "tests/fixtures/rules/BF101/fires.batchflow",
        ])
        .failure();
    let line = out.stdout.lines().find(|l| l.contains("BF101")).expect("annotation");
    assert!(
        line.starts_with("::error file=tests/fixtures/rules/BF101/fires.batchflow,line="),
        "{line}"
    );
    assert!(line.contains("title=BF101 rdma-image-on-non-rdma-size::"), "{line}");
}

#[test]
fn warnings_pass_unless_denied() {
    let file = "tests/fixtures/rules/BF107/fires.batchflow";
    Test::project().args(["check", file]).success();
    Test::project().args(["check", "--deny-warnings", file]).failure();
}

#[test]
fn usage_and_io_errors_exit_2() {
    Test::project().args(["check", "no/such/file.batchflow"]).status(2);
    Test::project().args(["frobnicate"]).status(2);
    Test::project().args(["explain", "BF999"]).status(2);
    Test::project()
        .args(["check", "examples/hello.batchflow", "--param", "novalue"])
        .status(2);
}

#[test]
fn check_without_paths_walks_up_to_the_repository_pipelines() {
    let read = |rel: &str| std::fs::read(root().join(rel)).expect("a checked-in workflow");
    let repo = Test::empty()
        .write("pipelines/nested/hello.batchflow", read("examples/hello.batchflow"))
        .write(
            "pipelines/bad.batchflow",
            read("tests/fixtures/rules/BF101/fires.batchflow"),
        )
        .mkdir("src/deep")
        .repo();
    let out = repo
        .test()
        .args(["check", "--format", "json"])
        .current_dir("src/deep")
        .failure();
    let files: Vec<String> = out
        .diagnostics()
        .iter()
        .map(|d| d["file"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(
        files.iter().all(|f| f.ends_with("pipelines/bad.batchflow")),
        "{files:?}"
    );
    repo.test()
        .args(["check"])
        .current_dir("src/deep")
        .stderr_contains("checked 2 files")
        .run();
}

#[test]
fn check_outside_a_repository_is_a_usage_error() {
    Test::empty().args(["check"]).stderr_contains("no repository").status(2);
}

#[test]
fn params_override_defaults_and_bad_ones_are_bf010() {
    let sweep = "examples/gpu-sweep.batchflow";
    Test::project()
        .args(["plan", "--format", "json", sweep, "--param", "seeds=2"])
        .success();
    let bad = Test::project()
        .args(["check", "--format", "json", sweep, "--param", "seeds=many"])
        .run();
    assert_eq!(bad.codes(), ["BF010"]);
    let unknown = Test::project()
        .args(["check", "--format", "json", sweep, "--param", "sedes=2"])
        .run();
    let d = unknown.diagnostics();
    assert_eq!(d[0]["code"], "BF010");
    assert!(
        d[0]["help"].as_str().unwrap_or("").contains("did you mean `seeds`"),
        "{d:?}"
    );
}

#[test]
fn explain_without_a_code_lists_every_rule() {
    let out = Test::project().args(["explain"]).success();
    for code in batchflow::diagnostics::Code::ALL {
        assert!(out.stdout.contains(code.as_str()), "{code}");
    }
}

#[test]
fn graph_draws_dot_and_mermaid() {
    let dot = Test::project()
        .args(["graph", "examples/gpu-sweep.batchflow"])
        .success();
    assert!(dot.stdout.starts_with("digraph \"gpu-sweep\" {"), "{}", dot.stdout);
    assert!(dot.stdout.contains("instances"), "sweeps are collapsed: {}", dot.stdout);
    let mermaid = Test::project()
        .args([
            "graph",
            "--format",
            "mermaid",
            "--instances",
            "examples/gpu-sweep.batchflow",
        ])
        .success();
    assert!(mermaid.stdout.starts_with("flowchart LR"));
    assert!(mermaid.stdout.contains("train-7-2"), "instances are drawn");
}

#[test]
fn plan_refuses_a_workflow_with_errors() {
    Test::project()
        .args(["plan", "tests/fixtures/rules/BF101/fires.batchflow"])
        .stdout("")
        .stderr_contains("BF101")
        .failure();
}

#[test]
fn plan_names_the_api_version_in_both_of_batchs_forms_and_refuses_others() {
    let hello = "examples/hello.batchflow";
    let plan = |extra: &[&str]| {
        Test::project()
            .args(["plan", "--format", "json", hello])
            .args(extra.iter().copied())
    };
    let default = plan(&[]).stderr("").success();
    assert!(
        default
            .stdout
            .starts_with(r#"{"workflow":"hello","api_version":"2025-06-01","#),
        "{}",
        default.stdout
    );
    let old = plan(&["--api-version", "2024-02-01.19.0"])
        .stdout_contains(r#""api_version":"2024-02-01.19.0""#)
        .stderr("")
        .success();
    // The same requests either way.
    let steps = |out: &str| out.split_once(r#""steps":"#).map(|(_, s)| s.to_string());
    assert_eq!(steps(&default.stdout), steps(&old.stdout));
    let text = Test::project().args(["plan", hello]).success();
    assert!(
        text.stdout.starts_with("plan for `hello` (api-version 2025-06-01):"),
        "{}",
        text.stdout
    );

    plan(&["--api-version", "2026-08-01"])
        .stderr_contains("note: the request bodies are tested against api-versions 2025-06-01 and 2024-02-01.19.0 only")
        .success();
    for bad in ["2025-06", "2024-02-01.19", "v2025-06-01", "2025-13-01"] {
        plan(&["--api-version", bad])
            .stdout("")
            .stderr_contains(format!("error: --api-version: `{bad}` is not a Batch api-version: they are named like `2025-06-01` (the default), or `2024-02-01.19.0` before 2025"))
            .status(2);
    }
}

#[test]
fn a_closed_pipe_is_not_a_crash() {
    let repo = Test::empty()
        .write(
            "big.batchflow",
            "pool p {\n  vm_size = \"Standard_D2s_v5\"\n  image = marketplace(\"Canonical\", \"ubuntu-24_04-lts\", \"server\")\n  dedicated = 1\n}\n\
             job j on p {\n  task t[i in 0..20000] { command = \"echo ${i}\" }\n}\n",
        )
        .repo();
    let file = repo.path().join("big.batchflow");
    let bin = env!("CARGO_BIN_EXE_batchflow");
    for args in ["graph --instances", "plan --format json", "plan"] {
        // Far more output than a pipe buffers, read by something that stops after 10 bytes:
        // the shell pipe is the point, so this runs bash rather than the builder.
        let script = format!(
            "'{bin}' {args} '{}' | head -c 10 >/dev/null; exit ${{PIPESTATUS[0]}}",
            file.display()
        );
        let status = std::process::Command::new("bash")
            .args(["-c", &script])
            .status()
            .expect("bash");
        assert_eq!(status.code(), Some(0), "{args}");
    }
}

#[test]
fn run_options_of_the_other_target_are_refused_before_anything_starts() {
    let cases = [
        (
            vec!["--keep-pools"],
            "--keep-pools does not apply to this run: it is for `--target azure`",
        ),
        (
            vec!["--max-in-flight", "4"],
            "--max-in-flight does not apply to this run",
        ),
        (
            vec!["--api-version", "2024-02-01.19.0"],
            "--api-version does not apply to this run: it is for `--target azure`",
        ),
        (
            vec!["--target", "azure", "--jobs", "2"],
            "--jobs does not apply to this run: on Azure Batch",
        ),
        (
            vec!["--target", "azure", "--container-cli", "podman"],
            "--container-cli does not apply",
        ),
    ];
    for (extra, message) in cases {
        Test::project()
            .args(["run", "examples/hello.batchflow"])
            .args(extra)
            .stdout("")
            .stderr_contains(message)
            .status(2);
    }
    Test::project()
        .args([
            "run",
            "examples/hello.batchflow",
            "--target",
            "azure",
            "--max-in-flight",
            "0",
        ])
        .status(2);
}

/// `cache = false` reaches the plan as `uncached`: every instance, by the job name the steps
/// use; `fmt` rewrites the attribute's spacing and the plan still says the same.
#[test]
fn plan_lists_the_instances_of_an_uncached_task_and_fmt_keeps_them() {
    const MESSY: &str = "workflow \"w\"\npool cpu {\n  vm_size = \"Standard_D2s_v5\"\n  image = marketplace(\"Canonical\", \"ubuntu-24_04-lts\", \"server\")\n  node_agent = \"batch.node.ubuntu 24.04\"\n  dedicated = 1\n}\njob fetch on cpu {\n  task get[i in 0..3] {\n    command = \"/bin/sh -c 'date > now.txt'\"\n    outputs { \"now.txt\" = \"results/${i}/\" }\n    cache=false\n  }\n  task keep after get { command = \"/bin/true\" }\n}\n";
    let plan = |t: crate::support::Test| {
        let out = t.args(["plan", "--format", "json", "pipelines/w.batchflow"]).success();
        serde_json::from_str::<serde_json::Value>(&out.stdout).expect("plan JSON")
    };
    let test = Test::new().write("pipelines/w.batchflow", MESSY);
    let repo = test.repo();
    let before = plan(test);
    assert_eq!(
        before["uncached"],
        serde_json::json!([["fetch", "get-0"], ["fetch", "get-1"], ["fetch", "get-2"]])
    );
    let jobs: Vec<&str> = before["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter(|s| s["kind"] == "add-tasks")
        .filter_map(|s| s["job"].as_str())
        .collect();
    assert_eq!(jobs, ["fetch"]);
    repo.test().args(["fmt", "pipelines/w.batchflow"]).success();
    assert!(repo.read("pipelines/w.batchflow").contains("    cache   = false\n"));
    assert_eq!(plan(repo.test())["uncached"], before["uncached"]);
}
