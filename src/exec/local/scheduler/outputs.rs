//! A task's output files when its process ends, as a node uploads them: staging keeps those
//! with repository destinations in the run folder and sends the rest where they name.

use super::*;

impl Sched<'_, '_> {
    /// Takes the outputs of task `t`, which ran on node `n` and exited with `exit` (`None`:
    /// killed); the error is why an upload failed, as the task's reason.
    pub(super) fn keep_outputs(&mut self, t: usize, n: usize, exit: Option<i32>) -> Result<(), String> {
        let task = &self.model.tasks[t];
        let Some(files) = self.opts.files.as_deref() else {
            return Ok(());
        };
        if task.body.output_files.is_empty() {
            return Ok(());
        }
        let job = &self.model.jobs[task.job];
        let node = &self.nodes[n].node;
        let dir = node.task_dir(&job.id, &task.body.id);
        let mut env = layout::batch_env(node, Some(&job.id), &task.body.id, &dir, self.tasks[t].attempts);
        env.extend(units::job_env(job, &task.body.environment_settings));
        let reveal = |s: &str| self.reveal(s);
        files
            .outputs(&task.body.output_files, &dir, &env, exit, &reveal)
            .map(|_| ())
            .map_err(|e| format!("its outputs could not be uploaded: {e}"))
    }
}
