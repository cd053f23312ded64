//! How a local run runs command lines: as Batch does, without a shell. Quotes group words;
//! `$VAR`, globs, pipes and redirections reach the program as written; a command line that
//! starts a shell gets one; a program that is not found fails its task, not the run.

use crate::local_repo::*;

#[test]
fn arguments_reach_the_program_as_written_without_a_shell() {
    let repo = local_repo();
    let file = repo.workflow(
        "literal.batchflow",
        r#"pool cpu {
@LINUX@
  dedicated = 1
}
job j on cpu {
  task args { command = "printf [%s] $HOME \"two words\" 'single quoted' > out.txt * ~ a|b && #x" }
}
"#,
    );
    repo.run(&[file.to_str().expect("utf-8")]).success();
    let dir = task_dir(&repo.only_run(), "cpu-node-0", "j", "args");
    let printed = std::fs::read_to_string(dir.join("stdout.txt")).expect("stdout.txt");
    assert_eq!(
        printed,
        "[$HOME][two words][single quoted][>][out.txt][*][~][a|b][&&][#x]"
    );
    // `>` was an argument: no file was written.
    assert!(!dir.join("wd/out.txt").exists());
}

#[test]
fn a_command_line_that_starts_a_shell_gets_one() {
    let repo = local_repo();
    repo.workflow(
        "shell.batchflow",
        r#"pool cpu {
@LINUX@
  dedicated = 1
}
job j on cpu {
  task by_path { command = "/bin/sh -c 'echo $AZ_BATCH_TASK_ID | tr a-z A-Z > out.txt && cat out.txt'" }
  task by_name { command = "sh -c \"echo $AZ_BATCH_JOB_ID; exit 0\"" }
}
"#,
    );
    repo.run(&["shell.batchflow", "--jobs", "1"]).success();
    let run = repo.only_run();
    let stdout = |task: &str| {
        std::fs::read_to_string(task_dir(&run, "cpu-node-0", "j", task).join("stdout.txt")).expect("stdout.txt")
    };
    assert_eq!(stdout("by_path"), "BY_PATH\n");
    assert_eq!(stdout("by_name"), "j\n");
}

#[test]
fn a_program_that_is_not_found_fails_its_task_with_127_and_says_why() {
    let repo = local_repo();
    repo.workflow(
        "missing.batchflow",
        r#"pool cpu {
@LINUX@
  dedicated = 1
}
job j on cpu {
  task ghost { command = "no-such-command-bf-xyz --flag" }
  task piped { command = "no-such-command-bf-xyz $HOME | cat" }
  task builtin { command = "cd /tmp" }
  task fine { command = "true" }
}
"#,
    );
    let out = repo.run(&["missing.batchflow", "--quiet", "--jobs", "1"]).failure();
    let r = row(&out, "j/ghost");
    assert!(r.contains("failed") && r.contains(" 127 "), "{r}");
    assert!(
        r.contains("program `no-such-command-bf-xyz` was not found on the PATH"),
        "{r}"
    );
    let st = state(&repo.only_run());
    assert_eq!(record(&st, "ghost")["exit_code"], 127);
    assert_eq!(task_state(&st, "fine"), "succeeded");
    // The full reason, with the hint, is in the task's stderr.txt and in state.json.
    let stderr = std::fs::read_to_string(task_dir(&repo.only_run(), "cpu-node-0", "j", "piped").join("stderr.txt"))
        .expect("stderr.txt");
    assert!(
        stderr.contains("Batch runs command lines without a shell, so `$HOME` reaches the program as written"),
        "{stderr}"
    );
    let why = record(&st, "builtin")["reason"].as_str().unwrap_or("").to_string();
    assert!(why.contains("`cd` is part of a shell"), "{why}");
}

#[test]
fn a_multi_instance_task_runs_its_coordination_command_first_without_a_shell() {
    let repo = local_repo();
    repo.workflow(
        "mpi.batchflow",
        r#"pool cpu {
@LINUX@
  dedicated  = 2
  inter_node = true
}
job j on cpu {
  task m {
    multi_instance { nodes = 2; coordination = "/bin/sh -c 'echo coordinated > coord.txt'" }
    command = "cat coord.txt"
  }
}
"#,
    );
    repo.run(&["mpi.batchflow"]).success();
    let dir = task_dir(&repo.only_run(), "cpu-node-0", "j", "m");
    assert_eq!(
        std::fs::read_to_string(dir.join("stdout.txt")).expect("stdout.txt"),
        "coordinated\n"
    );
}
