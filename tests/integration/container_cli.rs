//! The container CLI of a local run: a daemon that does not answer is found before anything
//! starts (exit 2, with the CLI's own message), and a task whose CLI fails shows the CLI's own
//! error line as its reason, not the pointer to `--help` that follows it.

use crate::local_repo::*;

const BOXES: &str = r#"workflow "boxes"
pool gpu {
@CONTAINER_HOST@
  dedicated = 1
  containers { images = ["@IMAGE@"] }
}
job j on gpu {
  task box {
    container = "@IMAGE@"
    command   = "/bin/sh -c 'echo inside'"
  }
}
"#;

/// A stand-in docker whose daemon is down: every command fails as docker's does.
const DAEMON_DOWN: &str = r#"#!/bin/sh
echo "Client:" 
echo " Version:    27.3.1"
echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2
exit 1
"#;

/// A stand-in docker whose daemon answers `info` but refuses to pull the image on `run`.
const PULL_DENIED: &str = r#"#!/bin/sh
if [ "$1" = info ]; then echo "Server Version: 27.3.1"; exit 0; fi
echo "Unable to find image 'docker.io/library/busybox:1.36' locally" >&2
echo "docker: Error response from daemon: pull access denied for busybox, repository does not exist or may require 'docker login'." >&2
echo "See 'docker run --help'." >&2
exit 125
"#;

#[test]
fn a_docker_daemon_that_does_not_answer_is_refused_before_anything_starts() {
    let repo = local_repo();
    repo.workflow("boxes.batchflow", BOXES);
    let cli = repo.script("bin/docker", DAEMON_DOWN);
    repo.run(&["boxes.batchflow", "--container-cli", cli.to_str().expect("utf-8")])
        .stderr_contains(format!("`{} info` failed", cli.display()))
        .stderr_contains(
            "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?",
        )
        .status(2);
    assert!(
        repo.run_dirs().is_empty(),
        "a run folder was made: {:?}",
        repo.run_dirs()
    );
}

#[test]
fn a_task_whose_container_cli_fails_shows_the_clis_own_error_line() {
    let repo = local_repo();
    repo.workflow("boxes.batchflow", BOXES);
    let cli = repo.script("bin/docker", PULL_DENIED);
    let out = repo
        .run(&["boxes.batchflow", "--container-cli", cli.to_str().expect("utf-8")])
        .failure();
    let box_row = row(&out, "j/box");
    assert!(
        box_row.contains("exited with 125: docker: Error response from daemon: pull access denied for busybox"),
        "{}",
        show(&out)
    );
    assert!(!out.stdout.contains("See 'docker run --help'"), "{}", show(&out));
}
