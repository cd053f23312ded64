//! `examples/genomics.batchflow` end to end, as written: its sweep reads each sample's reads,
//! a reference folder and its script from `examples/data/genomics/`, a fan-in merges the
//! per-sample counts, and every result comes back under `results/genomics/`; the local target
//! and the azure target (the fake Batch service's nodes running the tasks, Azurite as storage)
//! leave the same bytes.

use crate::azure::Azure;
use crate::azurite::Azurite;
use crate::blob_sas::unique_container;
use crate::fake_batch::Config;
use crate::fake_batch_tests::fast;
use crate::local_repo::local_repo;
use crate::staging::results;
use crate::support::{root, Repo};
use std::collections::BTreeMap;

const WORKFLOW: &str = "examples/genomics.batchflow";
const DATA: &str = "examples/data/genomics";

/// The example and its data, by path relative to the project (which is their repository).
fn example_files() -> Vec<(String, Vec<u8>)> {
    let project = root();
    let mut files = vec![(
        WORKFLOW.to_string(),
        std::fs::read(project.join(WORKFLOW)).expect("the example"),
    )];
    for entry in walkdir::WalkDir::new(project.join(DATA)).sort_by_file_name() {
        let entry = entry.expect("a data file");
        if entry.file_type().is_file() {
            let rel = entry.path().strip_prefix(&project).expect("under the project");
            let bytes = std::fs::read(entry.path()).expect("readable");
            files.push((rel.to_string_lossy().replace('\\', "/"), bytes));
        }
    }
    files
}

/// What the run must leave in the repository, byte for byte.
fn expected() -> BTreeMap<String, String> {
    let mut want = BTreeMap::new();
    let mut put = |path: &str, text: &str| {
        want.insert(format!("results/genomics/{path}"), text.to_string());
    };
    put("s1/s1.hits.tsv", "s1.r1\tchr1\t1\ns1.r2\tchr1\t22\ns1.r3\tchr2\t13\n");
    put("s1/s1.counts.tsv", "s1\tchr1\t2\ns1\tchr2\t1\n");
    put("s2/s2.hits.tsv", "s2.r1\tchr2\t1\ns2.r2\tchr2\t26\ns2.r3\t*\t0\n");
    put("s2/s2.counts.tsv", "s2\t*\t1\ns2\tchr2\t2\n");
    put("s3/s3.hits.tsv", "s3.r1\tchr1\t13\ns3.r2\tchr1\t30\n");
    put("s3/s3.counts.tsv", "s3\tchr1\t2\n");
    put(
        "summary.tsv",
        "sample\tcontig\treads\ns1\tchr1\t2\ns1\tchr2\t1\ns2\t*\t1\ns2\tchr2\t2\ns3\tchr1\t2\n",
    );
    want
}

/// A run on this machine, in a repository holding the example as the project does.
fn local_results() -> BTreeMap<String, String> {
    let repo: Repo = local_repo();
    for (path, bytes) in example_files() {
        repo.write(&path, bytes);
    }
    let out = repo.test().args(["run", WORKFLOW]).success();
    assert!(
        out.stderr.contains("brought back 7 output files into the repository"),
        "{}",
        out.stderr
    );
    results(repo.path())
}

/// A run on the fake Batch service, whose nodes run the tasks, with Azurite as its storage.
fn azure_results() -> BTreeMap<String, String> {
    let az = Azurite::shared();
    let azure = Azure::new(Config {
        run_tasks: true,
        node_ca_pem: az.ca_pem().map(str::to_string),
        ..fast()
    });
    for (path, bytes) in example_files() {
        let text = String::from_utf8(bytes).expect("the example's files are text");
        azure.write(&path, &text);
    }
    let container = unique_container("genomics");
    azure.write("batchflow.toml", &format!("[storage]\ncontainer = \"{container}\"\n"));
    let out = azure
        .bf()
        .env("AZURE_STORAGE_CONNECTION_STRING", az.connection_string())
        .args(["run", "--target", "azure", WORKFLOW])
        .run();
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    // Six distinct files: two scripts, three samples' reads, the reference.
    assert!(out.stderr.contains("inputs: 6 files sent"), "{}", out.stderr);
    assert!(
        out.stderr.contains("brought back 7 output files into the repository"),
        "{}",
        out.stderr
    );
    let snap = azure.fake.snapshot();
    assert!(snap.schema_errors.is_empty(), "{:#?}", snap.schema_errors);
    results(azure.path())
}

#[test]
fn the_genomics_example_runs_locally_and_on_batch_with_the_same_results() {
    let local = local_results();
    assert_eq!(local, expected());
    let azure = azure_results();
    assert_eq!(azure, local, "the azure target left other files than the local one");
}
