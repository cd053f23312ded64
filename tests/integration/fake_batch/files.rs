//! The files of nodes and tasks (`GET …/nodes/{node}/files/startup/…`,
//! `GET …/tasks/{task}/files/{path}`): made up for simulated runs, read from the task folder on
//! its node for runs of `Config::run_tasks`.

use super::state::{fail, Failure};
use super::{Faults, Reply, Shared};

fn file_reply(url: String, body: Vec<u8>, modified: String) -> Reply {
    let mut reply = Reply::text(String::new());
    reply.body = body;
    reply
        .header("ocp-batch-file-isdirectory", "false".into())
        .header("ocp-batch-file-url", url)
        .header("ocp-creation-time", modified.clone())
        .header("Last-Modified", modified)
}

pub fn node_file(shared: &Shared, faults: &Faults, p: &str, n: &str, f: &str) -> Result<Reply, Failure> {
    shared.with_sim(faults, |sim, _| -> Result<Reply, Failure> {
        let i = sim.pool(p)?;
        let k = sim.find_node(i, n)?;
        let node = &sim.pools[i].nodes[k];
        let missing = || fail(404, "FileNotFound", "The specified file does not exist.");
        let Some(started) = node.start_started else {
            return Err(missing());
        };
        let text = match f.to_ascii_lowercase().as_str() {
            "stderr.txt" if node.start_fails && node.start_ended.is_some() => {
                "start task failed: disk not mounted\n".to_string()
            }
            "stderr.txt" => String::new(),
            "stdout.txt" => format!("start task on {}\n", node.id),
            _ => return Err(missing()),
        };
        let url = format!(
            "{}/pools/{}/nodes/{}/files/startup/{f}",
            shared.base, sim.pools[i].id, node.id
        );
        Ok(file_reply(url, text.into_bytes(), sim.http_time(started)))
    })
}

pub fn task_file(shared: &Shared, faults: &Faults, job: &str, task: &str, f: &str) -> Result<Reply, Failure> {
    if shared.nodes.is_some() {
        return node_task_file(shared, faults, job, task, f);
    }
    shared.with_sim(faults, |sim, now| -> Result<Reply, Failure> {
        let j = sim.job(job)?;
        let t = sim.task(j, task)?;
        let missing = || fail(404, "FileNotFound", "The specified file does not exist.");
        if !sim.task_ran(j, t) {
            return Err(missing());
        }
        let tk = &sim.jobs[j].tasks[t];
        let text = match f.to_ascii_lowercase().as_str() {
            "stdout.txt" => format!("output of {}\n", tk.id),
            "stderr.txt" => match tk.exit_code {
                Some(c) if c != 0 => format!("task failed with exit code {c}\n"),
                _ => String::new(),
            },
            _ => return Err(missing()),
        };
        let url = format!("{}/jobs/{}/tasks/{}/files/{f}", shared.base, sim.jobs[j].id, tk.id);
        Ok(file_reply(url, text.into_bytes(), sim.http_time(now)))
    })
}

/// A file of a task's folder on its node (with `run_tasks`), `f` relative to the task folder
/// (`stdout.txt`, `wd/out.csv`).
fn node_task_file(shared: &Shared, faults: &Faults, job: &str, task: &str, f: &str) -> Result<Reply, Failure> {
    let missing = || fail(404, "FileNotFound", "The specified file does not exist.");
    let (dir, url) = shared.with_sim(faults, |sim, _| -> Result<(std::path::PathBuf, String), Failure> {
        let j = sim.job(job)?;
        let t = sim.task(j, task)?;
        let dir = shared.task_dir(sim, job, task).ok_or_else(missing)?;
        let url = format!(
            "{}/jobs/{}/tasks/{}/files/{f}",
            shared.base, sim.jobs[j].id, sim.jobs[j].tasks[t].id
        );
        Ok((dir, url))
    })?;
    let path = super::node::inside(&dir, f)
        .filter(|p| p.is_file())
        .ok_or_else(missing)?;
    let body = std::fs::read(&path).map_err(|_| missing())?;
    let modified = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .map_or_else(|_| String::new(), httpdate::fmt_http_date);
    Ok(file_reply(url, body, modified))
}
