//! `batchflow ssh` against the fake Batch service: the node a task ran on, a node by its id,
//! the first node of the run's pool; the node user added for an hour with the public key (its
//! body checked against the api-version's schema by the fake), the remote login settings read,
//! `ssh` run (a stand-in that records its arguments and connects nowhere), and the user deleted
//! after the session; `--print`; Remote Desktop details for a Windows node; the refusals.

use crate::azure::{show, Azure};
use crate::fake_batch::{Config, NodeUserSeen};

const LINUX: &str = r#"workflow "login"
pool cpu {
  vm_size    = "Standard_D2s_v5"
  image      = marketplace("Canonical", "ubuntu-24_04-lts", "server")
  node_agent = "batch.node.ubuntu 24.04"
  dedicated  = 2
}
job work on cpu {
  task prepare { command = "/bin/true" }
  task train after prepare { command = "/bin/true" }
}
"#;

const WINDOWS: &str = r#"workflow "render"
pool win {
  vm_size   = "Standard_D4s_v5"
  image     = "MicrosoftWindowsServer:windowsserver2022:2022-datacenter"
  dedicated = 1
}
job frames on win {
  task frame { command = "cmd /c echo frame" }
}
"#;

/// A stand-in `ssh`: writes its arguments, one a line, to `ssh-args` beside it.
const STAND_IN: &str = "#!/bin/sh\nfor a in \"$@\"; do echo \"$a\"; done > \"$(dirname \"$0\")/ssh-args\"\n";

/// An account with a finished run of `text` whose pools were kept, a public key, and the
/// stand-in ssh; the run's id. (The pre-flight is skipped: the fake account's image list
/// has no Windows Server image.)
fn kept_run(text: &str) -> (Azure, String) {
    let az = Azure::new(Config::default());
    let file = az.write("w.batchflow", text);
    let out = az.run(&[&file, "--keep-pools", "--no-preflight"]);
    assert_eq!(out.code, 0, "{}", show(&out));
    az.write(
        "keys/me.pub",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBatchflowTestKeyOnly me@laptop\n",
    );
    std::fs::write(az.path().join("ssh"), STAND_IN).expect("the stand-in");
    make_executable(&az.path().join("ssh"));
    let run = az
        .run_dir()
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .expect("a run id");
    (az, run)
}

fn make_executable(path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

fn ssh(az: &Azure, args: &[&str]) -> crate::support::Output {
    let stand_in = az.path().join("ssh");
    let key = az.path().join("keys/me.pub");
    let key = key.to_str().expect("utf-8");
    let mut all = vec!["ssh"];
    all.extend_from_slice(args);
    all.extend(["--key", key]);
    az.bf().env("BATCHFLOW_SSH", &stand_in).args(all).run()
}

fn users(az: &Azure) -> Vec<NodeUserSeen> {
    az.fake.snapshot().node_users
}

#[test]
fn ssh_logs_in_to_the_node_a_task_ran_on_and_deletes_the_user_after() {
    let (az, run) = kept_run(LINUX);
    let out = ssh(&az, &[&run, "train"]);
    assert_eq!(out.code, 0, "{}", show(&out));
    let users = users(&az);
    assert_eq!(users.len(), 1, "{users:?}");
    let user = &users[0];
    assert!(user.deleted, "the user is deleted after the session");
    assert_eq!(user.pool, "cpu");
    let name = user.body["name"].as_str().expect("a name");
    assert!(name.starts_with("bf-"), "{name}");
    assert_eq!(user.body["isAdmin"], true);
    assert_eq!(
        user.body["sshPublicKey"],
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBatchflowTestKeyOnly me@laptop"
    );
    assert!(user.body["expiryTime"].as_str().is_some_and(|t| t.ends_with('Z')));
    // The node the task ran on, as Batch says (the job's Batch id is the run's own).
    let state = std::fs::read_to_string(az.run_dir().join("state.json")).expect("the run's state");
    let state: serde_json::Value = serde_json::from_str(&state).expect("state JSON");
    let job = state["batch_jobs"]["work"].as_str().expect("the job's Batch id");
    let task = crate::fake_batch_tests::Client::new(&az.fake)
        .get(&format!("/jobs/{job}/tasks/train"))
        .json();
    assert_eq!(task["nodeInfo"]["nodeId"], user.node.as_str(), "{task}");
    assert_eq!(az.fake.snapshot().schema_errors, Vec::<String>::new());
    let args = std::fs::read_to_string(az.path().join("ssh-args")).expect("ssh ran");
    let args: Vec<&str> = args.lines().collect();
    assert_eq!(args[0], "-p");
    assert!(args[1].parse::<u16>().is_ok_and(|p| p >= 50000), "{args:?}");
    assert!(args.contains(&"StrictHostKeyChecking=accept-new"), "{args:?}");
    assert!(
        args.iter()
            .any(|a| a.starts_with("UserKnownHostsFile=") && a.ends_with("known_hosts")),
        "{args:?}"
    );
    assert_eq!(args.last(), Some(&format!("{name}@127.0.0.1").as_str()));
    assert!(out.stderr.contains("logging in to node `"), "{}", out.stderr);
}

#[test]
fn print_adds_the_user_and_prints_the_command_and_a_node_can_be_named() {
    let (az, run) = kept_run(LINUX);
    let out = ssh(&az, &[&run, "--print"]);
    assert_eq!(out.code, 0, "{}", show(&out));
    assert!(!az.path().join("ssh-args").exists(), "--print runs nothing");
    let users = users(&az);
    assert_eq!(users.len(), 1);
    assert!(!users[0].deleted, "with --print the user lives until it expires");
    let name = users[0].body["name"].as_str().expect("a name");
    assert!(out.stdout.contains(&format!("{name}@127.0.0.1")), "{}", out.stdout);
    assert!(out.stdout.contains(" -p 5000"), "{}", out.stdout);
    assert!(out.stderr.contains("expires at"), "{}", out.stderr);
    // The first node of the pool, named by its id this time.
    let node = users[0].node.clone();
    let again = ssh(&az, &[&run, &node]);
    assert_eq!(again.code, 0, "{}", show(&again));
    let users = self::users(&az);
    assert_eq!(users.len(), 2);
    assert_eq!(users[1].node, node);
}

#[test]
fn a_windows_node_gets_remote_desktop_details_and_a_password() {
    let (az, run) = kept_run(WINDOWS);
    let out = ssh(&az, &[&run, "frame"]);
    assert_eq!(out.code, 0, "{}", show(&out));
    assert!(
        out.stdout
            .contains("runs Windows: connect with Remote Desktop to 127.0.0.1:5000"),
        "{}",
        out.stdout
    );
    let users = users(&az);
    assert_eq!(users.len(), 1);
    let body = &users[0].body;
    assert!(body.get("sshPublicKey").is_none(), "{body}");
    let password = body["password"].as_str().expect("a password");
    assert!(out.stdout.contains(password), "{}", out.stdout);
    assert!(!users[0].deleted);
    assert!(!az.path().join("ssh-args").exists());
}

#[test]
fn refusals_say_what_to_do() {
    let (az, run) = kept_run(LINUX);
    let out = ssh(&az, &[&run, "nothing-here"]);
    assert_eq!(out.code, 2, "{}", show(&out));
    assert!(out.stderr.contains("is neither a task of run"), "{}", out.stderr);
    let no_key = az
        .bf()
        .env("BATCHFLOW_SSH", az.path().join("ssh"))
        .args(["ssh", &run, "--key", "keys/missing.pub"])
        .run();
    assert_eq!(no_key.code, 2, "{}", show(&no_key));
    assert!(no_key.stderr.contains("ssh-keygen -t ed25519"), "{}", no_key.stderr);
    assert!(users(&az).is_empty(), "nothing added when refused");
}

#[test]
fn a_local_run_has_no_nodes_to_log_in_to() {
    let repo = crate::support::Repo::new();
    repo.write("w.batchflow", LINUX);
    repo.test().args(["run", "w.batchflow"]).success();
    repo.test()
        .args(["ssh", "latest"])
        .stderr_contains("ran on this machine")
        .status(2);
}
