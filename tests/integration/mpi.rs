//! The MPI launch helper through the binary: the task body Batch gets (the launcher around the
//! command, the coordination command that waits for the nodes, `nodes = pool`), the lines
//! `plan` prints, and the example that uses it.

use crate::support::Repo;
use serde_json::Value;

const MPI: &str = r#"workflow "mpi"
pool hpc {
  vm_size    = "Standard_HB120rs_v3"
  image      = marketplace("microsoft-dsvm", "ubuntu-hpc", "2404")
  dedicated  = 3
  inter_node = true
}
job j on hpc {
  env { OMP_NUM_THREADS = "1" }
  task solve {
    elevation = admin
    scope     = pool
    command   = "solver -i case.cfg"
    env { UCX_TLS = "rc" }
    multi_instance {
      nodes              = pool
      mpi                = MPI_LIBRARY
      processes_per_node = 4
      coordination       = "touch ready"
    }
  }
}
"#;

/// The body of task `solve` in the plan of `MPI` with `library` as its MPI.
fn solve_body(library: &str) -> Value {
    let repo = Repo::new();
    repo.write("mpi.batchflow", MPI.replace("MPI_LIBRARY", library));
    let out = repo
        .test()
        .args(["plan", "--format", "json", "mpi.batchflow"])
        .success();
    let plan: Value = serde_json::from_str(&out.stdout).expect("plan JSON");
    plan["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["kind"] == "add-tasks")
        .flat_map(|s| s["body"]["value"].as_array().cloned().unwrap_or_default())
        .find(|t| t["id"] == "solve")
        .expect("task `solve` in an add-tasks body")
}

const WAIT: &str = "/bin/bash -c 'for h in ${AZ_BATCH_HOST_LIST//,/ }; do n=0; until timeout 5 bash -c \"</dev/tcp/$h/22\" 2>/dev/null; do";

#[test]
fn hpcx_launches_over_ucx_on_every_node_of_the_pool_after_the_nodes_answer() {
    let task = solve_body("hpcx");
    let mi = &task["multiInstanceSettings"];
    assert_eq!(mi["numberOfInstances"], 3, "`nodes = pool` takes the pool's 3 nodes");
    let coordination = mi["coordinationCommandLine"].as_str().expect("a coordination command");
    assert!(coordination.starts_with(WAIT), "{coordination}");
    assert!(coordination.ends_with("done; done && touch ready'"), "{coordination}");
    let command = task["commandLine"].as_str().expect("a command line");
    assert_eq!(
        command,
        "/bin/bash -c 'source /etc/profile.d/modules.sh && module load mpi/hpcx && mpirun -np 12 \
         --host ${AZ_BATCH_HOST_LIST//,/:4,}:4 --map-by ppr:4:node --bind-to core -mca pml ucx \
         -x LD_LIBRARY_PATH -x OMP_NUM_THREADS -x UCX_TLS solver -i case.cfg'"
    );
}

#[test]
fn open_mpi_and_intel_mpi_get_their_own_launchers() {
    let open = solve_body("openmpi");
    let line = open["commandLine"].as_str().expect("a command line");
    assert!(line.contains("module load mpi/openmpi && mpirun -np 12 "), "{line}");
    assert!(line.contains("--mca btl ^vader,tcp,openib"), "{line}");
    let intel = solve_body("\"intelmpi\"");
    let line = intel["commandLine"].as_str().expect("a command line");
    assert!(
        line.contains(
            "module load mpi/impi-2021 && mpirun -n 12 -ppn 4 -hosts $AZ_BATCH_HOST_LIST -genv I_MPI_FABRICS shm:ofi -genv FI_PROVIDER mlx"
        ),
        "{line}"
    );
    assert!(
        line.contains("-genvlist OMP_NUM_THREADS,UCX_TLS solver -i case.cfg'"),
        "{line}"
    );
}

#[test]
fn plan_prints_both_generated_lines() {
    let repo = Repo::new();
    repo.write("mpi.batchflow", MPI.replace("MPI_LIBRARY", "hpcx"));
    let out = repo.test().args(["plan", "mpi.batchflow"]).success();
    assert!(
        out.stdout
            .contains("`solve`: hpcx on 3 nodes x 4 processes (batchflow explain mpi)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("command: /bin/bash -c 'source /etc/profile.d/modules.sh"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains(&format!("coordination: {WAIT}")), "{}", out.stdout);
}

#[test]
fn the_guide_explains_the_generated_lines() {
    let out = Repo::new().test().args(["explain", "mpi"]).success();
    for part in ["AZ_BATCH_HOST_LIST", "--map-by ppr", "I_MPI_FABRICS", "/dev/tcp"] {
        assert!(out.stdout.contains(part), "`batchflow explain mpi` lacks {part}");
    }
}
