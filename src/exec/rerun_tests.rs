use super::*;
use crate::exec::state::RunStatus;

fn record(tasks: &[(&str, &str, TaskState)]) -> RunState {
    RunState {
        run_id: "w-1".into(),
        workflow: "w".into(),
        file: "w.batchflow".into(),
        repo_file: None,
        params: Vec::new(),
        started: 1,
        started_ms: 1_000,
        status: RunStatus::Failed,
        owner_pid: 0,
        target: "local".into(),
        suffix: None,
        batch_jobs: Default::default(),
        rerun_of: None,
        tasks: tasks
            .iter()
            .map(|(j, t, s)| TaskRecord {
                state: *s,
                ..TaskRecord::waiting(j.to_string(), t.to_string())
            })
            .collect(),
    }
}

#[test]
fn ranges_split_around_carried_ids() {
    let r = |start, end| TaskIdRange { start, end };
    assert_eq!(split_ranges(&[r(0, 9)], &[0, 4, 9]), [r(1, 3), r(5, 8)]);
    assert_eq!(split_ranges(&[r(3, 3)], &[3]), []);
    assert_eq!(split_ranges(&[r(1, 2), r(7, 8)], &[20]), [r(1, 2), r(7, 8)]);
}

#[test]
fn carried_tasks_leave_the_collection_and_its_dependencies() {
    let body = r#"{"value":[{"id":"1","commandLine":"a"},{"id":"2","commandLine":"b"},{"id":"m","commandLine":"c","dependsOn":{"taskIds":["x","y"],"taskIdRanges":[{"start":1,"end":3}]}}]}"#;
    let carried: HashSet<&str> = ["1", "3", "x", "y"].into_iter().collect();
    let out: Value = serde_json::from_str(&collection_without(body, &carried).expect("JSON")).expect("JSON");
    let ids: Vec<&str> = out["value"]
        .as_array()
        .expect("tasks")
        .iter()
        .filter_map(|t| t["id"].as_str())
        .collect();
    assert_eq!(ids, ["2", "m"]);
    assert_eq!(
        out["value"][1]["dependsOn"],
        serde_json::json!({"taskIdRanges":[{"start":2,"end":2}]})
    );
}

#[test]
fn a_dependency_left_with_nothing_is_dropped() {
    let mut t = serde_json::json!({"id":"m","dependsOn":{"taskIds":["a"]}});
    drop_carried_deps(&mut t, &["a"].into_iter().collect());
    assert_eq!(t, serde_json::json!({"id":"m"}));
}

#[test]
fn only_carried_tasks_count_as_carried() {
    let mut st = record(&[("j", "a", TaskState::Succeeded), ("j", "b", TaskState::Failed)]);
    assert!(st.carried().is_empty());
    st.tasks[0].from = Some("w-0".into());
    assert_eq!(
        st.carried().into_iter().collect::<Vec<_>>(),
        [("j".to_string(), "a".to_string())]
    );
}
