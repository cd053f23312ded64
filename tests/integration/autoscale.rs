//! BF224 through the binary: a problem in an autoscale formula points at the token inside
//! the string literal, through `\n` and `\"` escapes and raw strings, and at the `autoscale`
//! attribute when the formula is computed.

use crate::support::Test;

const WORKFLOW: &str = r####"workflow "spans"

let cap = 10

pool escaped {
  vm_size    = "Standard_D4s_v5"
  image      = marketplace("Canonical", "ubuntu-24_04-lts", "server")
  node_agent = "batch.node.ubuntu 24.04"
  autoscale  = "$t = time(\"Mon, 23 Nov 2026 09:00:00 GMT\");\n$TargetDedicatedNodes = $PendingTask.GetSample(1);"
}

pool raw {
  vm_size    = "Standard_D4s_v5"
  image      = marketplace("Canonical", "ubuntu-24_04-lts", "server")
  node_agent = "batch.node.ubuntu 24.04"
  autoscale  = r##"
    // a "quoted" comment
    $TargetDedicatedNodes = avg($ActiveTasks.GetSamples(TimeInterval_Minute * 15));
  "##
}

pool computed {
  vm_size    = "Standard_D4s_v5"
  image      = marketplace("Canonical", "ubuntu-24_04-lts", "server")
  node_agent = "batch.node.ubuntu 24.04"
  autoscale  = "$TargetDedicatedNodes = min(${cap}, $RunningTask.GetSample(1));"
}

job etl on escaped {
  task extract {
    command = "python3 extract.py"
  }
}
"####;

#[test]
fn formula_problems_point_inside_the_literal_or_at_the_attribute() {
    let out = Test::new()
        .write("spans.batchflow", WORKFLOW)
        .args(["check", "--format", "json", "spans.batchflow"])
        .failure();
    let pointed: Vec<(String, &str)> = out
        .diagnostics()
        .iter()
        .map(|d| {
            let start = d["span"]["start"].as_u64().unwrap_or_default() as usize;
            let end = d["span"]["end"].as_u64().unwrap_or_default() as usize;
            (
                d["code"].as_str().unwrap_or_default().to_string(),
                WORKFLOW.get(start..end).unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        pointed,
        [
            ("BF224".to_string(), "$PendingTask"),
            ("BF224".to_string(), "GetSamples"),
            (
                "BF224".to_string(),
                "autoscale  = \"$TargetDedicatedNodes = min(${cap}, $RunningTask.GetSample(1));\""
            ),
        ]
    );
}
