//! Unit tests of `cache_key`: what changes a key, what does not, and what is never cached.

use super::*;
use std::cell::RefCell;

const WORKFLOW: &str = r#"workflow "mem"
pool cpu {
  vm_size    = "Standard_D2s_v5"
  image      = marketplace("Canonical", "ubuntu-24_04-lts", "server")
  node_agent = "batch.node.ubuntu 24.04"
  dedicated  = 1
}
job sweep on cpu {
  env { MODE = "fast" }
  task t[i in 0..3] {
    command = "/bin/sh -c 'echo ${i} > out.txt'"
    inputs  { "ref/" = "az://refs/hg38/" }
    outputs { "out.txt" = "az://results/t-${i}/out.txt" }
  }
  task gather after t {
    command = "/bin/sh -c 'cat'"
    inputs  { "." = "az://results/" }
    outputs { "all.txt" = "az://results/all.txt" }
  }
  task quiet { command = "/bin/true" }
  task sent {
    command = "/bin/true"
    outputs { "x" = "https://a.blob.core.windows.net/c?${secret(\"SAS\")}" }
  }
}
job report on cpu {
  after = sweep
  task r {
    command = "/bin/true"
    outputs { "r.txt" = "az://results/r.txt" }
  }
}
"#;

fn plan_of(text: &str) -> Plan {
    crate::compile::testing::plan_of(text, storage())
}

fn storage() -> crate::plan::StorageChoice {
    crate::plan::StorageChoice {
        configured: true,
        account: Some("acct".into()),
        ..Default::default()
    }
}

/// Blob listings as given; every call recorded.
#[derive(Default)]
struct Seen {
    blobs: HashMap<String, String>,
    images: HashMap<String, String>,
    asked: RefCell<Vec<String>>,
}

impl Contents for Seen {
    fn file(&self, path: &str) -> Option<String> {
        Some(format!("file:{path}"))
    }
    fn image(&self, name: &str) -> Option<String> {
        self.images.get(name).cloned()
    }
    fn blobs(&self, container: &str, prefix: &str, _exact: bool) -> Option<String> {
        let name = format!("{container}/{prefix}");
        self.asked.borrow_mut().push(name.clone());
        self.blobs.get(&name).cloned()
    }
}

fn by_task(keys: &[TaskKey]) -> HashMap<String, &TaskKey> {
    keys.iter().map(|k| (format!("{}/{}", k.job, k.task), k)).collect()
}

#[test]
fn keys_are_stable_and_follow_inputs_downstream() {
    let plan = plan_of(WORKFLOW);
    let before = Seen {
        blobs: [("refs/hg38/".to_string(), "v1".to_string())].into(),
        ..Default::default()
    };
    let a = keys(&plan, &TaskGraph::of(&plan), &before);
    let b = keys(&plan_of(WORKFLOW), &TaskGraph::of(&plan_of(WORKFLOW)), &before);
    let (a, b) = (by_task(&a), by_task(&b));
    assert_eq!(a.len(), 7, "{:?}", a.keys());
    for (name, k) in &a {
        assert_eq!(k.key, b[name].key, "{name}");
        assert_eq!(k.key.len(), 64);
    }
    // Only blobs no task writes are asked about: `az://results/` is written by `t`.
    assert_eq!(*before.asked.borrow(), ["refs/hg38/"; 6], "three readers, keyed twice");
    let after = Seen {
        blobs: [("refs/hg38/".to_string(), "v2".to_string())].into(),
        ..Default::default()
    };
    let c = keys(&plan, &TaskGraph::of(&plan), &after);
    let c = by_task(&c);
    for name in ["sweep/t-0", "sweep/t-2", "sweep/gather", "report/r"] {
        assert_ne!(
            a[name].key, c[name].key,
            "{name} reads the changed blobs or comes after"
        );
    }
    for name in ["sweep/quiet", "sweep/sent"] {
        assert_eq!(a[name].key, c[name].key, "{name} does not");
    }
}

#[test]
fn the_command_changes_the_key_and_the_job_environment_too() {
    let seen = Seen::default();
    let a = keys(&plan_of(WORKFLOW), &TaskGraph::of(&plan_of(WORKFLOW)), &seen);
    let changed = WORKFLOW.replace("echo ${i} > out.txt", "echo ${i}! > out.txt");
    let b = keys(&plan_of(&changed), &TaskGraph::of(&plan_of(&changed)), &seen);
    let (a, b) = (by_task(&a), by_task(&b));
    assert_ne!(a["sweep/t-1"].key, b["sweep/t-1"].key);
    assert_ne!(a["sweep/gather"].key, b["sweep/gather"].key);
    assert_eq!(a["sweep/quiet"].key, b["sweep/quiet"].key);
    let env = WORKFLOW.replace("MODE = \"fast\"", "MODE = \"slow\"");
    let c = keys(&plan_of(&env), &TaskGraph::of(&plan_of(&env)), &seen);
    let c = by_task(&c);
    assert_ne!(a["sweep/quiet"].key, c["sweep/quiet"].key);
}

#[test]
fn what_is_never_cached_and_what_is_checked() {
    let mut plan = plan_of(WORKFLOW);
    plan.uncached.push(("sweep".into(), "t-2".into()));
    let k = keys(&plan, &TaskGraph::of(&plan), &Seen::default());
    let k = by_task(&k);
    assert_eq!(k["sweep/quiet"].cacheable, Err(Uncached::NoOutputs));
    assert_eq!(k["sweep/sent"].cacheable, Err(Uncached::UrlOutput));
    assert_eq!(k["sweep/t-2"].cacheable, Err(Uncached::TurnedOff));
    assert_eq!(k["sweep/t-1"].cacheable, Ok(()));
    assert_eq!(
        k["sweep/t-1"].outputs,
        [Output::Blob {
            container: "results".into(),
            path: "t-1/out.txt".into(),
            prefix: false
        }]
    );
    let mut up = k["sweep/gather"].upstream.clone();
    up.sort();
    assert_eq!(up.len(), 3);
    assert!(k["report/r"].upstream.is_empty());
    assert_eq!(k["report/r"].after_jobs, ["sweep"], "every task of `sweep`");
}

#[test]
fn blob_inputs_leave_out_what_tasks_write() {
    let plan = plan_of(WORKFLOW);
    let inputs = blob_inputs(&plan, &TaskGraph::of(&plan));
    assert_eq!(
        inputs,
        [BlobInput {
            container: "refs".into(),
            prefix: "hg38/".into(),
            exact: false
        }]
    );
}

#[test]
fn an_image_counts_by_the_digest_its_registry_gives() {
    let text = r#"workflow "img"
import "std/images"
pool box {
  vm_size   = "Standard_D4s_v5"
  image     = images.linux_containers
  dedicated = 1
  containers { images = ["python:3.12-slim"] }
}
job j on box {
  task t {
    container = "python:3.12-slim"
    command   = "python3 -c 'print(1)'"
    outputs   { "o.txt" = "az://results/o.txt" }
  }
}
"#;
    let plan = plan_of(text);
    assert_eq!(images(&plan, &TaskGraph::of(&plan)), ["python:3.12-slim"]);
    let at = |digest: Option<&str>| {
        let seen = Seen {
            images: digest
                .map(|d| ("python:3.12-slim".to_string(), d.to_string()))
                .into_iter()
                .collect(),
            ..Default::default()
        };
        keys(&plan, &TaskGraph::of(&plan), &seen).remove(0).key
    };
    let (none, one, other) = (at(None), at(Some("sha256:aa")), at(Some("sha256:bb")));
    assert_ne!(none, one, "a digest the registry gives is part of the key");
    assert_ne!(one, other, "a tag that moved to another image changes the key");
    assert_eq!(one, at(Some("sha256:aa")));
}
