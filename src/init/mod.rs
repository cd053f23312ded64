//! `batchflow init`'s content, pure: the workflow templates, the commented `batchflow.toml`,
//! and the `.gitignore` line for the run folders. The CLI decides where they go.

use std::fmt;

/// The workflows `init` starts a repository with. Each one checks without a warning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Template {
    /// A sweep and a fan-in on one Linux node, runnable on this machine.
    Hello,
    /// Every seed with every rate, params to override, retries and a report.
    Sweep,
    /// Container tasks on a GPU pool, the image prefetched.
    Gpu,
    /// One MPI task across InfiniBand nodes (multi-instance).
    Mpi,
    /// Container tasks from a public registry.
    Containers,
}

impl Template {
    pub const ALL: [Template; 5] = [
        Template::Hello,
        Template::Sweep,
        Template::Gpu,
        Template::Mpi,
        Template::Containers,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Template::Hello => "hello",
            Template::Sweep => "sweep",
            Template::Gpu => "gpu",
            Template::Mpi => "mpi",
            Template::Containers => "containers",
        }
    }

    /// The template as written, a workflow named after the template.
    pub fn text(self) -> &'static str {
        match self {
            Template::Hello => include_str!("templates/hello.batchflow"),
            Template::Sweep => include_str!("templates/sweep.batchflow"),
            Template::Gpu => include_str!("templates/gpu.batchflow"),
            Template::Mpi => include_str!("templates/mpi.batchflow"),
            Template::Containers => include_str!("templates/containers.batchflow"),
        }
    }

    /// The workflow `pipelines/NAME.batchflow` starts as: the template with its name.
    pub fn workflow(self, name: &str) -> String {
        let own = self.name();
        self.text()
            .replacen(&format!("workflow \"{own}\""), &format!("workflow \"{name}\""), 1)
            .replace(
                &format!("pipelines/{own}.batchflow"),
                &format!("pipelines/{name}.batchflow"),
            )
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `batchflow.toml` with every setting commented out.
pub const CONFIG: &str = include_str!("batchflow.toml");

/// What `.gitignore` must hold so runs stay out of version control.
pub const IGNORED: &str = ".batchflow/";

/// A workflow name fit for a file name and a run folder, or why not.
pub fn check_name(name: &str) -> Result<(), String> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if name.is_empty() || name.len() > 64 || !name.chars().all(ok_char) || name.starts_with('-') {
        return Err(format!(
            "`{name}` cannot name a workflow: use up to 64 letters, digits, `-` and `_`, not starting with `-`"
        ));
    }
    Ok(())
}

/// The `.gitignore` to write so it ignores the run folders, or `None` when it already does.
pub fn gitignore(existing: Option<&str>) -> Option<String> {
    let text = existing.unwrap_or("");
    let ignored = text
        .lines()
        .map(str::trim)
        .any(|l| matches!(l, ".batchflow" | ".batchflow/" | "/.batchflow" | "/.batchflow/"));
    if ignored {
        return None;
    }
    let mut out = text.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str("# batchflow's run folders (state, plans, task output)\n");
    out.push_str(IGNORED);
    out.push('\n');
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::format_text;
    use crate::source::SrcId;

    #[test]
    fn templates_are_named_after_the_workflow_and_formatted() {
        for t in Template::ALL {
            let text = t.workflow("climate-2");
            assert!(text.contains("workflow \"climate-2\""), "{t}");
            assert!(!text.contains(&format!("pipelines/{t}.batchflow")), "{t}");
            let formatted = format_text(SrcId(0), t.text()).expect("parses");
            assert_eq!(formatted, t.text(), "{t} is not in `batchflow fmt` layout");
        }
    }

    #[test]
    fn names_fit_files() {
        assert!(check_name("train_v2-gpu").is_ok());
        for bad in ["", "a b", "../x", "-x", "naïve", &"x".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn gitignore_gains_one_line_once() {
        assert_eq!(
            gitignore(None).as_deref(),
            Some("# batchflow's run folders (state, plans, task output)\n.batchflow/\n")
        );
        let added = gitignore(Some("target")).expect("added");
        assert!(added.starts_with("target\n# batchflow"), "{added}");
        assert_eq!(gitignore(Some(&added)), None);
        assert_eq!(gitignore(Some("/.batchflow\n")), None);
    }
}
