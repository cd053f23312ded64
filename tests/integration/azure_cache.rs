//! The task cache on Azure Batch (the fake service's nodes running the tasks, Azurite as
//! storage): an unchanged second run sends nothing (no job, no pool) and says `cached`; the
//! index in storage serves a machine without the local copy; a changed input sends exactly
//! what is downstream of it. And storage that refuses: the cache is off with a note, and the
//! run goes on.

use crate::azure::{batch_ids, Azure};
use crate::azurite::Azurite;
use crate::blob_sas::unique_container;
use crate::fake_batch::Config;
use crate::fake_batch_tests::fast;
use crate::storage_proxy::{Faults, Proxy};
use crate::support::{Output, Repo};
use serde_json::Value;

const WORKFLOW: &str = r#"workflow "azcache"

pool cpu {
  vm_size    = "Standard_D2s_v5"
  image      = marketplace("Canonical", "ubuntu-24_04-lts", "server")
  node_agent = "batch.node.ubuntu 24.04"
  dedicated  = 1
  task_slots = 2
}

job j on cpu {
  task up[s in ["a", "b", "c"]] {
    command = "/bin/sh -c 'tr a-z A-Z < in.txt > up.txt'"
    inputs  { "in.txt" = "data/${s}.txt" }
    outputs { "up.txt" = "results/${s}.txt" }
  }

  task all after up {
    command = "/bin/sh -c 'echo merged > all.txt'"
    outputs { "all.txt" = "az://CONTAINER/shared/all.txt" }
  }
}
"#;

struct Setup {
    azure: Azure,
    storage: String,
}

fn setup() -> Setup {
    let az = Azurite::shared();
    let azure = Azure::new(Config {
        run_tasks: true,
        node_ca_pem: az.ca_pem().map(str::to_string),
        ..fast()
    });
    let container = unique_container("cache");
    azure.write("w.batchflow", &WORKFLOW.replace("CONTAINER", &container));
    azure.write("batchflow.toml", &format!("[storage]\ncontainer = \"{container}\"\n"));
    for s in ["a", "b", "c"] {
        azure.write(&format!("data/{s}.txt"), &format!("sample {s}\n"));
    }
    Setup {
        azure,
        storage: az.connection_string(),
    }
}

impl Setup {
    fn run(&self) -> (Value, Output) {
        let out = self
            .azure
            .bf()
            .env("AZURE_STORAGE_CONNECTION_STRING", &self.storage)
            .args(["run", "--target", "azure", "w.batchflow", "--format", "json"])
            .run();
        assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
        (serde_json::from_str(&out.stdout).expect("summary JSON"), out)
    }
}

/// The task ids the service saw in Batch job `id`, sorted.
fn task_ids(snap: &crate::fake_batch::Snapshot, id: &str) -> Vec<String> {
    snap.tasks
        .get(id)
        .map(|t| t.keys().cloned().collect())
        .unwrap_or_default()
}

#[test]
fn an_unchanged_run_on_batch_sends_nothing_and_a_changed_input_sends_its_downstream() {
    let s = setup();
    let (first, _) = s.run();
    assert_eq!(first["counts"]["cached"], 0);
    let pools = s.azure.fake.snapshot().pools.len();

    let (second, out) = s.run();
    assert_eq!(second["counts"]["cached"], 4, "{}", out.stderr);
    let snap = s.azure.fake.snapshot();
    assert_eq!(batch_ids(&snap, "j").len(), 1, "no job for a run with nothing to run");
    assert_eq!(snap.pools.len(), pools, "no pool either");
    assert!(snap.schema_errors.is_empty(), "{:#?}", snap.schema_errors);

    // Another machine: no local copy of the index; the one in storage serves.
    std::fs::remove_dir_all(s.azure.path().join(".batchflow/cache")).expect("the local copy removed");
    let (third, out) = s.run();
    assert_eq!(third["counts"]["cached"], 4, "{}", out.stderr);
    assert!(
        s.azure.path().join(".batchflow/cache/azcache.json").is_file(),
        "the local copy is written again"
    );

    // One input changes: its task and the fan-in run, in a job of their own.
    s.azure.write("data/b.txt", "sample b, corrected\n");
    let (fourth, out) = s.run();
    assert_eq!(fourth["counts"]["cached"], 2, "{}", out.stderr);
    let snap = s.azure.fake.snapshot();
    let jobs = batch_ids(&snap, "j");
    assert_eq!(jobs.len(), 2, "{jobs:?}");
    assert_eq!(task_ids(&snap, &jobs[1]), ["all", "up-1"]);
    let sent = &snap.tasks[&jobs[1]];
    assert!(
        sent["all"].depends_on == ["up-1"],
        "carried ids leave dependsOn: {:?}",
        sent["all"].depends_on
    );
    assert_eq!(
        std::fs::read_to_string(s.azure.path().join("results/b.txt")).expect("brought back"),
        "SAMPLE B, CORRECTED\n"
    );
}

#[test]
fn storage_that_refuses_turns_the_cache_off_and_the_run_goes_on() {
    let az = Azurite::shared();
    let proxy = Proxy::start(&format!("http://127.0.0.1:{}", az.port));
    let repo = Repo::new();
    let text = WORKFLOW.replace(
        "    outputs { \"all.txt\" = \"az://CONTAINER/shared/all.txt\" }\n",
        "    outputs { \"all.txt\" = \"results/all.txt\" }\n",
    );
    repo.write("w.batchflow", text);
    repo.write(
        "batchflow.toml",
        format!("[storage]\ncontainer = \"{}\"\n", unique_container("down")),
    );
    for s in ["a", "b", "c"] {
        repo.write(format!("data/{s}.txt"), format!("sample {s}\n"));
    }
    let run = || {
        let out = repo
            .test()
            .env("AZURE_STORAGE_CONNECTION_STRING", proxy.connection_string())
            .args(["run", "w.batchflow", "--format", "json"])
            .success();
        let summary: Value = serde_json::from_str(&out.stdout).expect("summary JSON");
        (summary, out)
    };
    let (first, _) = run();
    assert_eq!(first["counts"]["succeeded"], 4);
    let (second, _) = run();
    assert_eq!(second["counts"]["cached"], 4, "storage shares the index");
    proxy.set(Faults {
        deny: Some("AuthorizationPermissionMismatch".into()),
        ..Faults::default()
    });
    let (third, out) = run();
    assert_eq!(third["counts"]["cached"], 0);
    assert_eq!(third["counts"]["succeeded"], 4);
    assert!(
        out.stderr
            .contains("the task cache is off for this run: its index in storage cannot be read"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("only this machine's copy has this run's tasks"),
        "{}",
        out.stderr
    );
}

#[test]
fn the_index_in_storage_is_written_only_over_the_copy_that_was_read() {
    use batchflow::exec::cache::index::{read_remote, write_remote, Entry, Found, Index};
    use batchflow::exec::cloud::blob::StorageAccount;
    let env = std::collections::HashMap::from([(
        "AZURE_STORAGE_CONNECTION_STRING".to_string(),
        Azurite::shared().connection_string(),
    )]);
    let account = StorageAccount::from_env(&env).expect("parses").expect("an account");
    let c = account.container(&unique_container("index"));
    let entry = |key: &str| Entry {
        key: key.into(),
        job: "j".into(),
        task: "t".into(),
        run: "r".into(),
        at: 1,
        files: Vec::new(),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(async {
        let (found, etag) = read_remote(&c, "w").await.expect("read");
        assert!(matches!(found, Found::Missing) && etag.is_none());
        let one = Index::new(vec![entry("a")]);
        assert!(write_remote(&c, "w", &one, None).await.expect("written"));
        // Another machine that also saw no index: refused, not overwritten.
        assert!(!write_remote(&c, "w", &Index::new(vec![entry("b")]), None)
            .await
            .expect("asked"));
        let (found, etag) = read_remote(&c, "w").await.expect("read");
        assert!(
            matches!(&found, Found::Read(i) if i.entries == [entry("a")]),
            "{found:?}"
        );
        let etag = etag.expect("an ETag");
        assert!(
            write_remote(&c, "w", &Index::new(vec![entry("a"), entry("c")]), Some(&etag))
                .await
                .expect("written")
        );
        // The ETag read before that write is stale now.
        assert!(!write_remote(&c, "w", &Index::new(vec![entry("d")]), Some(&etag))
            .await
            .expect("asked"));
        let (found, _) = read_remote(&c, "w").await.expect("read");
        assert!(matches!(&found, Found::Read(i) if i.entries.len() == 2), "{found:?}");
    });
}
