//! Pool mounts through the binary: every kind in the pool body Batch gets (and in the ARM body
//! of a pool that carries a blobfuse identity), and a local run that maps each mount to the
//! folder `batchflow.toml` names, or refuses with the lines to add.

use crate::local_repo::*;
use serde_json::{json, Value};

const MOUNTS: &str = r#"workflow "mounts"
pool cpu {
@LINUX@
  dedicated = 2
  mounts {
    refdata  { azure_files = "https://refstore.file.core.windows.net/genomes", key = secret("REFSTORE_KEY"), options = "-o vers=3.0" }
    scratch  { nfs = "10.0.0.4:/exports/scratch" }
    projects { cifs = "//files.contoso.com/projects", username = "batch", password = secret("CIFS_PASSWORD") }
    reads    { blobfuse = "https://readsstore.blob.core.windows.net/runs", sas = secret("READS_SAS") }
  }
}
job j on cpu {
  task count {
    command = "/bin/sh -c 'wc -c < $AZ_BATCH_NODE_MOUNTS_DIR/refdata/GRCh38.fa > @DIR@/marks/count; ls $AZ_BATCH_NODE_MOUNTS_DIR > @DIR@/marks/listing'"
  }
}
"#;

fn plan(repo: &Repo, file: &str) -> Value {
    let out = repo.test().args(["plan", "--format", "json", file]).success();
    serde_json::from_str(&out.stdout).expect("plan JSON")
}

#[test]
fn every_kind_of_mount_reaches_the_pool_body() {
    let repo = local_repo();
    repo.workflow("mounts.batchflow", MOUNTS);
    let plan = plan(&repo, "mounts.batchflow");
    let pool = plan["steps"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["kind"] == "create-pool"))
        .expect("a create-pool step");
    assert_eq!(
        pool["body"]["mountConfiguration"],
        json!([
            {"azureFileShareConfiguration": {
                "accountName": "refstore",
                "azureFileUrl": "https://refstore.file.core.windows.net/genomes",
                "accountKey": "<secret:REFSTORE_KEY>",
                "relativeMountPath": "refdata",
                "mountOptions": "-o vers=3.0"
            }},
            {"nfsMountConfiguration": {"source": "10.0.0.4:/exports/scratch", "relativeMountPath": "scratch"}},
            {"cifsMountConfiguration": {
                "username": "batch",
                "source": "//files.contoso.com/projects",
                "relativeMountPath": "projects",
                "password": "<secret:CIFS_PASSWORD>"
            }},
            {"azureBlobFileSystemConfiguration": {
                "accountName": "readsstore",
                "containerName": "runs",
                "sasKey": "<secret:READS_SAS>",
                "relativeMountPath": "reads"
            }}
        ])
    );
}

#[test]
fn a_blobfuse_identity_makes_the_pool_an_arm_pool_that_carries_it() {
    let repo = local_repo();
    let id = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/reads";
    repo.workflow(
        "byid.batchflow",
        &format!(
            "pool cpu {{\n@LINUX@\n  dedicated = 1\n  mounts {{\n    reads {{ blobfuse = \"https://readsstore.blob.core.windows.net/runs\", identity = \"{id}\" }}\n  }}\n}}\njob j on cpu {{\n  task t {{ command = \"/bin/true\" }}\n}}\n"
        ),
    );
    let plan = plan(&repo, "byid.batchflow");
    let pool = plan["steps"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["kind"] == "create-arm-pool"))
        .expect("a create-arm-pool step");
    assert!(
        pool["body"]["identity"]["userAssignedIdentities"].get(id).is_some(),
        "{pool}"
    );
    let blob = &pool["body"]["properties"]["mountConfiguration"][0]["azureBlobFileSystemConfiguration"];
    assert_eq!(blob["identityReference"]["resourceId"], id);
    assert_eq!(blob["relativeMountPath"], "reads");
}

#[test]
fn a_local_run_without_folders_for_the_mounts_says_what_to_add() {
    let repo = local_repo();
    repo.workflow("mounts.batchflow", MOUNTS);
    repo.run(&["mounts.batchflow"])
        .stderr_contains("a local run maps each mount to a folder of this machine")
        .stderr_contains("[mounts]\nrefdata = \"/path/to/refdata\"\nscratch = \"/path/to/scratch\"")
        .status(2);
    assert!(repo.run_dirs().is_empty(), "refused before any run folder exists");
    repo.write("batchflow.toml", "[mounts]\nrefdata = \"nowhere\"\n");
    repo.run(&["mounts.batchflow"])
        .stderr_contains("which is not a folder")
        .status(2);
}

#[test]
fn a_local_run_reads_each_mount_from_its_folder() {
    let repo = local_repo();
    repo.workflow("mounts.batchflow", MOUNTS);
    repo.write("data/genomes/GRCh38.fa", ">chr1\nACGT\n");
    for folder in ["data/scratch", "data/projects", "data/reads"] {
        repo.mkdir(folder);
    }
    let scratch = repo.path().join("data/scratch").display().to_string();
    repo.write(
        "batchflow.toml",
        format!("[mounts]\nrefdata = \"data/genomes\"\nscratch = \"{scratch}\"\nprojects = \"data/projects\"\nreads = \"data/reads\"\n"),
    );
    repo.run(&["mounts.batchflow"])
        .env("REFSTORE_KEY", "k")
        .env("CIFS_PASSWORD", "p")
        .env("READS_SAS", "s")
        .success();
    assert_eq!(repo.read("marks/count").trim(), "11");
    assert_eq!(repo.read("marks/listing"), "projects\nreads\nrefdata\nscratch\n");
}
