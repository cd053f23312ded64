//! Command-line behaviour: exit codes, formats, the repository walk, usage errors.

use crate::support::{root, Bf};

#[test]
fn json_format_is_exactly_the_documented_shape() {
    let out = Bf::new()
        .args([
            "check",
            "--format",
            "json",
            "tests/fixtures/rules/BF101/fires.batchflow",
        ])
        .run();
    assert_eq!(out.code, 1);
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
    let out = Bf::new()
        .args([
            "check",
            "--format",
            "github",
            "tests/fixtures/rules/BF101/fires.batchflow",
        ])
        .run();
    assert_eq!(out.code, 1);
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
    assert_eq!(Bf::new().args(["check", file]).run().code, 0);
    assert_eq!(Bf::new().args(["check", "--deny-warnings", file]).run().code, 1);
}

#[test]
fn usage_and_io_errors_exit_2() {
    assert_eq!(Bf::new().args(["check", "no/such/file.batchflow"]).run().code, 2);
    assert_eq!(Bf::new().args(["frobnicate"]).run().code, 2);
    assert_eq!(Bf::new().args(["explain", "BF999"]).run().code, 2);
    let bad_param = Bf::new()
        .args(["check", "examples/hello.batchflow", "--param", "novalue"])
        .run();
    assert_eq!(bad_param.code, 2, "{}", bad_param.stderr);
}

#[test]
fn check_without_paths_walks_up_to_the_repository_pipelines() {
    let repo = tempfile::tempdir().expect("tempdir");
    let pipelines = repo.path().join("pipelines/nested");
    std::fs::create_dir_all(&pipelines).expect("mkdir");
    std::fs::copy(
        root().join("examples/hello.batchflow"),
        pipelines.join("hello.batchflow"),
    )
    .expect("copy");
    std::fs::copy(
        root().join("tests/fixtures/rules/BF101/fires.batchflow"),
        repo.path().join("pipelines/bad.batchflow"),
    )
    .expect("copy");
    let deep = repo.path().join("src/deep");
    std::fs::create_dir_all(&deep).expect("mkdir");
    let out = Bf::new().args(["check", "--format", "json"]).current_dir(&deep).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    let files: Vec<String> = out
        .diagnostics()
        .iter()
        .map(|d| d["file"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(
        files.iter().all(|f| f.ends_with("pipelines/bad.batchflow")),
        "{files:?}"
    );
    let human = Bf::new().args(["check"]).current_dir(&deep).run();
    assert!(human.stderr.contains("checked 2 files"), "{}", human.stderr);
}

#[test]
fn check_outside_a_repository_is_a_usage_error() {
    let empty = tempfile::tempdir().expect("tempdir");
    let out = Bf::new().args(["check"]).current_dir(empty.path()).run();
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("no repository"), "{}", out.stderr);
}

#[test]
fn params_override_defaults_and_bad_ones_are_bf010() {
    let sweep = "examples/gpu-sweep.batchflow";
    let out = Bf::new()
        .args(["plan", "--format", "json", sweep, "--param", "seeds=2"])
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let bad = Bf::new()
        .args(["check", "--format", "json", sweep, "--param", "seeds=many"])
        .run();
    assert_eq!(bad.codes(), ["BF010"]);
    let unknown = Bf::new()
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
    let out = Bf::new().args(["explain"]).run();
    assert_eq!(out.code, 0);
    for code in batchflow::diagnostics::Code::ALL {
        assert!(out.stdout.contains(code.as_str()), "{code}");
    }
}

#[test]
fn graph_draws_dot_and_mermaid() {
    let dot = Bf::new().args(["graph", "examples/gpu-sweep.batchflow"]).run();
    assert_eq!(dot.code, 0, "{}", dot.stderr);
    assert!(dot.stdout.starts_with("digraph \"gpu-sweep\" {"), "{}", dot.stdout);
    assert!(dot.stdout.contains("instances"), "sweeps are collapsed: {}", dot.stdout);
    let mermaid = Bf::new()
        .args([
            "graph",
            "--format",
            "mermaid",
            "--instances",
            "examples/gpu-sweep.batchflow",
        ])
        .run();
    assert_eq!(mermaid.code, 0);
    assert!(mermaid.stdout.starts_with("flowchart LR"));
    assert!(mermaid.stdout.contains("train-7-2"), "instances are drawn");
}

#[test]
fn plan_refuses_a_workflow_with_errors() {
    let out = Bf::new()
        .args(["plan", "tests/fixtures/rules/BF101/fires.batchflow"])
        .run();
    assert_eq!(out.code, 1);
    assert!(out.stdout.is_empty());
    assert!(out.stderr.contains("BF101"), "{}", out.stderr);
}

#[test]
fn plan_names_the_api_version_in_both_of_batchs_forms_and_refuses_others() {
    let hello = "examples/hello.batchflow";
    let plan = |extra: &[&str]| {
        Bf::new()
            .args(["plan", "--format", "json", hello])
            .args(extra.iter().copied())
            .run()
    };
    let default = plan(&[]);
    assert_eq!(default.code, 0, "{}", default.stderr);
    assert!(
        default
            .stdout
            .starts_with(r#"{"workflow":"hello","api_version":"2025-06-01","#),
        "{}",
        default.stdout
    );
    assert!(default.stderr.is_empty(), "{}", default.stderr);
    let old = plan(&["--api-version", "2024-02-01.19.0"]);
    assert_eq!(old.code, 0, "{}", old.stderr);
    assert!(
        old.stdout.contains(r#""api_version":"2024-02-01.19.0""#),
        "{}",
        old.stdout
    );
    assert!(old.stderr.is_empty(), "{}", old.stderr);
    // The same requests either way.
    let steps = |out: &str| out.split_once(r#""steps":"#).map(|(_, s)| s.to_string());
    assert_eq!(steps(&default.stdout), steps(&old.stdout));
    let text = Bf::new().args(["plan", hello]).run();
    assert!(
        text.stdout.starts_with("plan for `hello` (api-version 2025-06-01):"),
        "{}",
        text.stdout
    );

    let untested = plan(&["--api-version", "2026-08-01"]);
    assert_eq!(untested.code, 0, "{}", untested.stderr);
    assert!(
        untested
            .stderr
            .contains("note: the request bodies are tested against api-versions 2025-06-01 and 2024-02-01.19.0 only"),
        "{}",
        untested.stderr
    );
    for bad in ["2025-06", "2024-02-01.19", "v2025-06-01", "2025-13-01"] {
        let out = plan(&["--api-version", bad]);
        assert_eq!(out.code, 2, "{bad}: {}", out.stderr);
        assert!(out.stdout.is_empty());
        assert!(
            out.stderr.contains(&format!("error: --api-version: `{bad}` is not a Batch api-version: they are named like `2025-06-01` (the default), or `2024-02-01.19.0` before 2025")),
            "{}",
            out.stderr
        );
    }
}

#[test]
fn a_closed_pipe_is_not_a_crash() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("big.batchflow");
    std::fs::write(
        &file,
        "pool p {\n  vm_size = \"Standard_D2s_v5\"\n  image = marketplace(\"Canonical\", \"ubuntu-24_04-lts\", \"server\")\n  dedicated = 1\n}\n\
         job j on p {\n  task t[i in 0..20000] { command = \"echo ${i}\" }\n}\n",
    )
    .expect("write");
    let bin = env!("CARGO_BIN_EXE_batchflow");
    for args in ["graph --instances", "plan --format json", "plan"] {
        // Far more output than a pipe buffers, read by something that stops after 10 bytes.
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
        let mut args = vec!["run", "examples/hello.batchflow"];
        args.extend(extra.iter().copied());
        let out = Bf::new().args(args.clone()).run();
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(message), "{args:?}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "{args:?}: {}", out.stdout);
    }
    let zero = Bf::new()
        .args([
            "run",
            "examples/hello.batchflow",
            "--target",
            "azure",
            "--max-in-flight",
            "0",
        ])
        .run();
    assert_eq!(zero.code, 2, "{}", zero.stderr);
}
