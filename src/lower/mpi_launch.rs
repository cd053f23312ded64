//! The command lines the MPI launch helper writes: the launcher around a multi-instance task's
//! command and a coordination command that waits for the nodes. `docs/mpi.md` explains every
//! part with its source (the Batch multi-instance article, Azure's "Set up MPI for HPC", the
//! azhpc-images scripts that build the `ubuntu-hpc` images, the Open MPI and Intel MPI
//! references); a change here is a change there.

use crate::graph::{EnvVar, Mpi};

/// How long the coordination command waits for one node's SSH port: 60 tries, 5 s apart.
const TRIES: u32 = 60;

/// The environment module of each MPI on the Ubuntu-HPC image, for images the stdlib table
/// (`stdlib/mpi-modules.csv`) does not know, such as a custom image built from it.
pub fn default_module(mpi: Mpi) -> &'static str {
    match mpi {
        Mpi::Hpcx => "mpi/hpcx",
        Mpi::OpenMpi => "mpi/openmpi",
        Mpi::IntelMpi => "mpi/impi-2021",
    }
}

/// What the launcher starts: `nodes` x `per_node` processes of `program`, with `module`
/// loaded and `env` passed on to every process.
#[derive(Clone, Copy)]
pub struct Launch<'a> {
    pub mpi: Mpi,
    pub module: &'a str,
    pub nodes: u32,
    pub per_node: u32,
    pub program: &'a str,
    pub env: &'a [EnvVar],
}

/// The primary's command line: load the MPI's module, then start the processes on the nodes
/// of `$AZ_BATCH_HOST_LIST`.
pub fn application(l: &Launch<'_>) -> String {
    let Launch {
        mpi,
        module,
        nodes,
        per_node,
        program,
        env,
    } = *l;
    let total = u64::from(nodes) * u64::from(per_node);
    let names: Vec<&str> = env.iter().map(|v| &*v.name).filter(|n| is_variable_name(n)).collect();
    let launch = match mpi {
        Mpi::Hpcx | Mpi::OpenMpi => {
            let mut line = format!(
                "mpirun -np {total} --host ${{AZ_BATCH_HOST_LIST//,/:{per_node},}}:{per_node} --map-by ppr:{per_node}:node --bind-to core -mca pml ucx"
            );
            if mpi == Mpi::OpenMpi {
                line.push_str(" --mca btl ^vader,tcp,openib");
            }
            line.push_str(" -x LD_LIBRARY_PATH");
            for name in &names {
                line.push_str(" -x ");
                line.push_str(name);
            }
            line
        }
        Mpi::IntelMpi => {
            let mut line = format!(
                "mpirun -n {total} -ppn {per_node} -hosts $AZ_BATCH_HOST_LIST -genv I_MPI_FABRICS shm:ofi -genv FI_PROVIDER mlx"
            );
            if !names.is_empty() {
                line.push_str(" -genvlist ");
                line.push_str(&names.join(","));
            }
            line
        }
    };
    let script = format!("source /etc/profile.d/modules.sh && module load {module} && {launch} {program}");
    format!("/bin/bash -c {}", single_quoted(&script))
}

/// The coordination command every node runs before the primary starts: wait until each node
/// of the task answers on port 22, where the MPI launchers start their daemons over SSH; then
/// the user's own `coordination`, if any.
pub fn coordination(then: Option<&str>) -> String {
    let mut script = format!(
        "for h in ${{AZ_BATCH_HOST_LIST//,/ }}; do n=0; until timeout 5 bash -c \"</dev/tcp/$h/22\" 2>/dev/null; do n=$((n+1)); if [ $n -ge {TRIES} ]; then echo \"node $h does not answer on port 22\" >&2; exit 1; fi; sleep 5; done; done"
    );
    if let Some(then) = then {
        script.push_str(" && ");
        script.push_str(then);
    }
    format!("/bin/bash -c {}", single_quoted(&script))
}

/// `text` as one POSIX shell word: in single quotes, each `'` written `'\''`.
fn single_quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// Names a shell and the MPI launchers take as a variable: `[A-Za-z_][A-Za-z0-9_]*`.
fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn env(names: &[&str]) -> Vec<EnvVar> {
        names
            .iter()
            .map(|n| EnvVar {
                name: Arc::from(*n),
                value: Arc::from("x"),
            })
            .collect()
    }

    fn launch(mpi: Mpi, nodes: u32, per_node: u32, program: &str, env: &[EnvVar]) -> String {
        application(&Launch {
            mpi,
            module: default_module(mpi),
            nodes,
            per_node,
            program,
            env,
        })
    }

    #[test]
    fn hpcx_starts_every_process_over_ucx_with_the_env() {
        let line = launch(Mpi::Hpcx, 4, 120, "./solver -i case.cfg", &env(&["SEED", "bad name"]));
        assert_eq!(
            line,
            "/bin/bash -c 'source /etc/profile.d/modules.sh && module load mpi/hpcx && mpirun -np 480 --host ${AZ_BATCH_HOST_LIST//,/:120,}:120 --map-by ppr:120:node --bind-to core -mca pml ucx -x LD_LIBRARY_PATH -x SEED ./solver -i case.cfg'"
        );
    }

    #[test]
    fn open_mpi_leaves_out_the_other_transports() {
        let line = launch(Mpi::OpenMpi, 2, 8, "osu_latency", &[]);
        assert!(line.contains("module load mpi/openmpi && mpirun -np 16 "), "{line}");
        assert!(
            line.contains("-mca pml ucx --mca btl ^vader,tcp,openib -x LD_LIBRARY_PATH osu_latency"),
            "{line}"
        );
    }

    #[test]
    fn intel_mpi_places_processes_per_host_over_mlx() {
        let line = launch(Mpi::IntelMpi, 2, 96, "IMB-MPI1 pingpong", &env(&["A", "B"]));
        assert_eq!(
            line,
            "/bin/bash -c 'source /etc/profile.d/modules.sh && module load mpi/impi-2021 && mpirun -n 192 -ppn 96 -hosts $AZ_BATCH_HOST_LIST -genv I_MPI_FABRICS shm:ofi -genv FI_PROVIDER mlx -genvlist A,B IMB-MPI1 pingpong'"
        );
    }

    #[test]
    fn quotes_in_the_program_stay_one_word() {
        let line = launch(Mpi::Hpcx, 1, 1, "echo 'hi there'", &[]);
        assert!(line.ends_with("echo '\\''hi there'\\'''"), "{line}");
    }

    #[test]
    fn coordination_waits_then_runs_the_users_command() {
        let alone = coordination(None);
        assert!(
            alone.starts_with("/bin/bash -c 'for h in ${AZ_BATCH_HOST_LIST//,/ }; do"),
            "{alone}"
        );
        assert!(
            alone.contains("</dev/tcp/$h/22") && alone.ends_with("done; done'"),
            "{alone}"
        );
        let then = coordination(Some("/bin/bash -c 'mkdir -p x'"));
        assert!(
            then.ends_with("done; done && /bin/bash -c '\\''mkdir -p x'\\'''"),
            "{then}"
        );
    }
}
