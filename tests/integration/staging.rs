//! Data staging through the binary: repository inputs (a file, a folder, a glob) reach each
//! task's working directory and outputs come back into the repository, on the local target and
//! on the azure target (the fake Batch service's nodes really run the tasks, against Azurite),
//! leaving the same files; what is refused before anything is created.

use crate::azure::Azure;
use crate::azurite::Azurite;
use crate::blob_sas::unique_container;
use crate::fake_batch::Config;
use crate::fake_batch_tests::fast;
use crate::local_repo::{local_repo, LocalRepo};
use std::collections::BTreeMap;
use std::path::Path;

/// A two-sample sweep reading a file, a folder and a glob of the repository and writing a
/// folder of results and one single-file result per sample.
const ALIGN: &str = r#"workflow "align"

param samples: list<string> = ["s1", "s2"]

pool cpu {
@LINUX@
  dedicated = 1
}

job align on cpu {
  max_wall_clock = 1h

  task map[s in samples] {
    command = "/bin/sh -c 'mkdir -p out/deep && cat ${s}.fq ref/genome.fa > out/${s}.sam && ls all > out/deep/listing.txt && cat ref/idx/a.bin > summary.txt && echo aligned ${s}'"
    inputs {
      "${s}.fq" = "data/${s}.fq"
      "ref"     = "ref"
      "all/"    = "data/*.fq"
    }
    outputs {
      "out/**"      = "results/${s}/"
      "summary.txt" = "results/${s}.summary"
    }
  }
}
"#;

/// A workflow of this file with its pool filled in, for a repository without `LocalRepo`'s
/// placeholders.
fn filled(workflow: &str) -> String {
    workflow.replace("@LINUX@", crate::local_repo::LINUX)
}

/// The repository files the workflow reads.
const DATA: [(&str, &str); 5] = [
    ("data/s1.fq", "@r1\nACGT\n"),
    ("data/s2.fq", "@r2\nGGTT\n"),
    ("data/notes.txt", "not a sample\n"),
    ("ref/genome.fa", ">chr1\nACGTACGT\n"),
    ("ref/idx/a.bin", "index-bytes\n"),
];

/// What the run must leave in the repository, byte for byte.
fn expected() -> BTreeMap<String, String> {
    let mut want = BTreeMap::new();
    for (s, reads) in [("s1", "@r1\nACGT\n"), ("s2", "@r2\nGGTT\n")] {
        want.insert(format!("results/{s}/{s}.sam"), format!("{reads}>chr1\nACGTACGT\n"));
        want.insert(format!("results/{s}/deep/listing.txt"), "s1.fq\ns2.fq\n".to_string());
        want.insert(format!("results/{s}.summary"), "index-bytes\n".to_string());
    }
    want
}

/// Every file under `results/`, by path relative to the repository.
pub(crate) fn results(repo: &Path) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    for entry in walkdir::WalkDir::new(repo.join("results")).into_iter().flatten() {
        if entry.file_type().is_file() {
            let rel = entry.path().strip_prefix(repo).expect("under the repository");
            let text = std::fs::read_to_string(entry.path()).expect("a result");
            found.insert(rel.to_string_lossy().replace('\\', "/"), text);
        }
    }
    found
}

#[test]
fn a_local_run_reads_repository_files_and_brings_its_outputs_back() {
    let repo = local_repo();
    for (path, text) in DATA {
        repo.write(path, text);
    }
    repo.workflow("align.batchflow", ALIGN);
    let out = repo.run(&["align.batchflow"]).success();
    assert!(
        out.stderr.contains("brought back 6 output files into the repository"),
        "{}",
        out.stderr
    );
    assert_eq!(results(repo.path()), expected());
    // The repository's own files are untouched.
    for (path, text) in DATA {
        assert_eq!(std::fs::read_to_string(repo.path().join(path)).expect("data"), text);
    }

    // `fetch` brings them back again from the run folder, all or by task.
    std::fs::remove_dir_all(repo.path().join("results")).expect("results removed");
    let one = repo.test().args(["fetch", "latest", "align/map-1"]).success();
    assert!(one.stdout.contains("align/map-1  results/s2/s2.sam"), "{}", one.stdout);
    let want: BTreeMap<String, String> = expected().into_iter().filter(|(k, _)| k.contains("s2")).collect();
    assert_eq!(results(repo.path()), want);
    let all = repo.test().args(["fetch", "latest"]).success();
    assert!(all.stderr.contains("brought back 6 files of 2 tasks"), "{}", all.stderr);
    assert_eq!(results(repo.path()), expected());
    let unknown = repo.test().args(["fetch", "latest", "nope"]).failure();
    assert!(
        unknown
            .stderr
            .contains("`nope` has no outputs that go to the repository"),
        "{}",
        unknown.stderr
    );
}

/// An account whose nodes run the tasks, with Azurite as its storage (a container of the
/// test's own), and the repository's data files.
fn azure_with_storage() -> (Azure, String) {
    let az = Azurite::shared();
    let azure = Azure::new(Config {
        run_tasks: true,
        node_ca_pem: az.ca_pem().map(str::to_string),
        ..fast()
    });
    for (path, text) in DATA {
        azure.write(path, text);
    }
    let container = unique_container("staging");
    azure.write("batchflow.toml", &format!("[storage]\ncontainer = \"{container}\"\n"));
    azure.write("align.batchflow", &filled(ALIGN));
    (azure, container)
}

fn run_with_storage(azure: &Azure, args: &[&str]) -> crate::support::Output {
    let mut all = vec!["run", "--target", "azure"];
    all.extend_from_slice(args);
    azure
        .bf()
        .env("AZURE_STORAGE_CONNECTION_STRING", Azurite::shared().connection_string())
        .args(all)
        .run()
}

#[test]
fn an_azure_run_uploads_by_content_and_leaves_the_same_files_as_a_local_run() {
    let (azure, _container) = azure_with_storage();
    let out = run_with_storage(&azure, &["align.batchflow"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    // Four distinct files are read (the glob's two are the samples themselves).
    assert!(out.stderr.contains("inputs: 4 files sent"), "{}", out.stderr);
    assert!(
        out.stderr.contains("brought back 6 output files into the repository"),
        "{}",
        out.stderr
    );
    assert_eq!(results(azure.path()), expected());
    // The logs outlive the pool: read from storage, with Batch unreachable.
    let logs = azure
        .bf()
        .env("AZURE_STORAGE_CONNECTION_STRING", Azurite::shared().connection_string())
        .env("AZURE_BATCH_ENDPOINT", "http://127.0.0.1:9")
        .args(["logs", "latest", "map-1"])
        .run();
    assert_eq!(
        (logs.code, logs.stdout.as_str()),
        (0, "aligned s2\n"),
        "{}",
        logs.stderr
    );
    // And `fetch` brings the results back from storage again.
    std::fs::remove_dir_all(azure.path().join("results")).expect("results removed");
    let fetched = azure
        .bf()
        .env("AZURE_STORAGE_CONNECTION_STRING", Azurite::shared().connection_string())
        .args(["fetch", "latest"])
        .run();
    assert_eq!(fetched.code, 0, "{}", fetched.stderr);
    assert_eq!(results(azure.path()), expected());
    let snap = azure.fake.snapshot();
    assert!(snap.schema_errors.is_empty(), "{:#?}", snap.schema_errors);
    // No SAS reached the run folder.
    for entry in walkdir::WalkDir::new(azure.run_dir()).into_iter().flatten() {
        if entry.file_type().is_file() {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            assert!(!text.contains("sig="), "{} holds a SAS", entry.path().display());
        }
    }

    // A second run sends nothing: every file is in storage by its content already.
    std::fs::remove_dir_all(azure.path().join("results")).expect("results removed");
    let again = run_with_storage(&azure, &["align.batchflow"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again
            .stderr
            .contains("inputs: 0 files sent (0 B), 4 already in storage"),
        "{}",
        again.stderr
    );
    assert_eq!(results(azure.path()), expected());
}

#[test]
fn an_azure_run_with_repository_files_and_no_storage_is_refused_before_anything_is_created() {
    let (azure, _container) = azure_with_storage();
    std::fs::remove_file(azure.path().join("batchflow.toml")).expect("no storage");
    let out = azure.run(&["align.batchflow"]);
    assert_ne!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("moves files from or into the repository, which a run on Batch does through a storage account, and none is configured"),
        "{}",
        out.stderr
    );
    let snap = azure.fake.snapshot();
    assert!(snap.pools.is_empty(), "{:?}", snap.pools);
    // Refused before the run folder is made: there is no run to resume or clean.
    let runs = std::fs::read_dir(azure.path().join(".batchflow/runs")).map_or(0, Iterator::count);
    assert_eq!(runs, 0, "{}", out.stderr);
    assert!(!out.stderr.contains("done:"), "{}", out.stderr);
}

#[test]
fn a_missing_repository_input_stops_the_check_at_its_value() {
    let repo = local_repo();
    for (path, text) in DATA.iter().filter(|(p, _)| *p != "data/s2.fq") {
        repo.write(path, text);
    }
    repo.workflow("align.batchflow", ALIGN);
    let out = repo.run(&["align.batchflow"]).failure();
    assert!(out.stderr.contains("BF225"), "{}", out.stderr);
    assert!(out.stderr.contains("data/s2.fq"), "{}", out.stderr);
    assert!(repo.run_dirs().is_empty());
}

#[test]
fn the_plan_shows_what_is_uploaded_and_brought_back_with_sizes_and_no_sas() {
    let repo = local_repo();
    for (path, text) in DATA {
        repo.write(path, text);
    }
    repo.workflow("align.batchflow", ALIGN);
    let out = repo.test().args(["plan", "align.batchflow"]).success();
    for line in [
        "upload-inputs      PUT   container `batchflow`, by content",
        "4 repository files, 45 B",
        "data/s1.fq     9 B",
        "ref/idx/a.bin  12 B",
        "bring-back         GET   container `batchflow`",
        "align/map-1: runs/<run>/align/map-1/0/** -> results/s2/",
        "align/map-0: runs/<run>/align/map-0/1/summary.txt -> results/s1.summary",
    ] {
        assert!(out.stdout.contains(line), "no `{line}` in:\n{}", out.stdout);
    }
    assert!(!out.stdout.contains("sig="), "{}", out.stdout);
}

#[test]
fn a_resumed_run_whose_input_changed_size_is_refused_naming_the_file() {
    let repo = local_repo();
    repo.write("data/s1.fq", "@r1\nACGT\n");
    repo.workflow(
        "gate.batchflow",
        r#"pool cpu {
@LINUX@
  dedicated = 1
}
job j on cpu {
  task t {
    command = "/bin/sh -c 'test -f @DIR@/go && cat s1.fq > out.txt'"
    inputs { "s1.fq" = "data/s1.fq" }
    outputs { "out.txt" = "results/out.txt" }
  }
}
"#,
    );
    repo.run(&["gate.batchflow"]).failure();
    repo.write("go", "");
    repo.write("data/s1.fq", "@r1\nACGTACGT\n");
    let refused = repo.run(&["gate.batchflow", "--resume"]).status(2);
    assert!(
        refused
            .stderr
            .contains("the input `data/s1.fq` changed since the workflow was checked (9 bytes then, 13 now)"),
        "{}",
        refused.stderr
    );
    assert!(!repo.path().join("results/out.txt").exists());
    repo.write("data/s1.fq", "@r1\nTTTT\n");
    repo.run(&["gate.batchflow", "--resume"]).success();
    assert_eq!(
        std::fs::read_to_string(repo.path().join("results/out.txt")).expect("out.txt"),
        "@r1\nTTTT\n"
    );
}

#[test]
fn a_local_run_reads_and_writes_az_paths_through_the_configured_storage() {
    let az = Azurite::shared();
    let blobs = crate::blob_sas::Blobs::new(az);
    let data = unique_container("data");
    blobs.create_container(&data);
    blobs.put(&data, "ref/genome.fa", b">chr1\nACGT\n");
    blobs.put(&data, "samples/a.fq", b"@a\n");
    blobs.put(&data, "samples/b.fq", b"@b\n");
    let repo = local_repo();
    let workflow = r#"pool cpu {
@LINUX@
  dedicated = 1
}
job j on cpu {
  task t {
    command = "/bin/sh -c 'mkdir -p out && cat genome.fa > out/copy.fa && ls reads > out/reads.txt'"
    inputs {
      "genome.fa" = "az://DATA/ref/genome.fa"
      "reads/"    = "az://DATA/samples/"
    }
    outputs { "out/*" = "az://DATA/results/" }
  }
}
"#
    .replace("DATA", &data);
    repo.workflow("blobs.batchflow", &workflow);
    // Without storage, the check names what to set.
    let refused = repo.run(&["blobs.batchflow"]).failure();
    assert!(refused.stderr.contains("BF228"), "{}", refused.stderr);
    repo.run(&["blobs.batchflow"])
        .env("AZURE_STORAGE_CONNECTION_STRING", az.connection_string())
        .success();
    // A container prefix keeps the whole blob name under the input's folder, as on Batch.
    assert_eq!(blobs.text(&data, "results/copy.fa"), ">chr1\nACGT\n");
    assert_eq!(blobs.text(&data, "results/reads.txt"), "samples\n");
}

/// A task that fails and sends its logs home whatever happens.
const FAILING: &str = r#"workflow "failing"

pool cpu {
@LINUX@
  dedicated = 1
}

job j on cpu {
  task t {
    command = "/bin/sh -c 'echo partial > part.txt; echo oops >&2; exit 3'"
    outputs {
      "../std*.txt" = { to = "logs/t/", when = always }
      "part.txt"    = "results/part.txt"
    }
  }
}
"#;

#[test]
fn a_failed_task_brings_back_the_outputs_it_sends_always_and_not_the_others() {
    let repo = local_repo();
    repo.workflow("failing.batchflow", FAILING);
    repo.run(&["failing.batchflow"]).failure();
    assert_eq!(
        std::fs::read_to_string(repo.path().join("logs/t/stderr.txt")).expect("stderr brought back"),
        "oops\n"
    );
    assert!(!repo.path().join("results/part.txt").exists());

    let (azure, _container) = azure_with_storage();
    azure.write("failing.batchflow", &filled(FAILING));
    let out = run_with_storage(&azure, &["failing.batchflow"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        std::fs::read_to_string(azure.path().join("logs/t/stderr.txt")).expect("stderr brought back"),
        "oops\n"
    );
    assert!(!azure.path().join("results/part.txt").exists());
}

#[test]
fn a_local_run_uploads_outputs_to_a_container_url_empty_files_too() {
    use crate::blob_sas::{service_sas, FUTURE};
    let az = Azurite::shared();
    let blobs = crate::blob_sas::Blobs::new(az);
    let out = unique_container("urlout");
    blobs.create_container(&out);
    let url = blobs.container_url(&out, &service_sas(&out, None, "cw", FUTURE));
    let repo = local_repo();
    let workflow = r#"pool cpu {
@LINUX@
  dedicated = 1
}
job j on cpu {
  task t {
    command = "/bin/sh -c 'echo full > full.txt && : > empty.txt'"
    outputs { "*.txt" = "${secret(\"OUT_URL\")}" }
  }
}
"#;
    repo.workflow("url.batchflow", workflow);
    repo.run(&["url.batchflow"]).env("OUT_URL", &url).success();
    assert_eq!(blobs.text(&out, "full.txt"), "full\n");
    assert_eq!(blobs.text(&out, "empty.txt"), "");
}
