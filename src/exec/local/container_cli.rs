//! Which docker-compatible CLI runs container tasks: `--container-cli`, then
//! `BATCHFLOW_CONTAINER_CLI`, then `docker`, then `podman` on the `PATH`.

use crate::exec::error::RunError;
use std::path::{Path, PathBuf};

/// Finds a program on the `PATH` (or takes a path as given).
/// The result is absolute: tasks run in their own working directories, where a relative
/// path would name something else.
pub fn which(program: &str, path_var: Option<&str>) -> Option<PathBuf> {
    let found = if program.contains('/') {
        let p = PathBuf::from(program);
        is_executable(&p).then_some(p)
    } else {
        path_var?
            .split(':')
            .filter(|d| !d.is_empty())
            .map(|d| Path::new(d).join(program))
            .find(|p| is_executable(p))
    }?;
    std::path::absolute(&found).ok()
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The CLI to use: an explicit choice must exist; otherwise the first of docker, podman.
pub fn resolve(
    explicit: Option<&str>,
    env_choice: Option<&str>,
    path_var: Option<&str>,
) -> Result<Option<PathBuf>, RunError> {
    if let Some(choice) = explicit.or(env_choice).filter(|c| !c.trim().is_empty()) {
        return which(choice, path_var)
            .map(Some)
            .ok_or_else(|| RunError::Refused(format!("container CLI `{choice}` was not found or is not executable")));
    }
    Ok(["docker", "podman"].iter().find_map(|p| which(p, path_var)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_choices_must_exist() {
        assert!(resolve(Some("/no/such/cli"), None, Some("/usr/bin")).is_err());
        assert!(matches!(resolve(None, None, Some("/nonexistent")), Ok(None)));
        assert!(resolve(None, Some("sh"), Some("/bin:/usr/bin")).is_ok_and(|p| p.is_some()));
    }
}
