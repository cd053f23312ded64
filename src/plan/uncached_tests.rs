//! Unit tests of `Plan::uncached`: every instance of a `cache = false` declaration, in plan
//! order, under the job name the plan's steps use.

const TWO_JOBS: &str = r#"
import "std/images"

pool cpu {
  vm_size   = "Standard_D4s_v5"
  image     = images.ubuntu_2404
  dedicated = 1
}

job prepare on cpu {
  task fetch {
    command = "/bin/sh -c 'curl -o data.csv https://example.org/data.csv'"
    cache   = false
  }
}

job train on cpu {
  after = prepare
  task report after fit {
    command = "python3 report.py"
    cache   = false
  }
  task fit[s in 0..3] {
    command = "python3 fit.py --seed ${s}"
    cache   = false
  }
  task plot {
    command = "python3 plot.py"
    cache   = true
  }
  task score { command = "python3 score.py" }
}
"#;

fn plan_of(text: &str) -> super::Plan {
    crate::compile::testing::plan_of(text, Default::default())
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(j, t)| (j.to_string(), t.to_string())).collect()
}

#[test]
fn every_instance_of_an_uncached_declaration_in_plan_order() {
    let plan = plan_of(TWO_JOBS);
    // `fit` goes before `report`, which depends on it, as in the collections.
    let want = pairs(&[
        ("prepare", "fetch"),
        ("train", "fit-0"),
        ("train", "fit-1"),
        ("train", "fit-2"),
        ("train", "report"),
    ]);
    assert_eq!(plan.uncached, want);
    let jobs: Vec<&str> = plan.steps.iter().filter_map(|s| s.kind.job()).collect();
    assert!(plan.uncached.iter().all(|(j, _)| jobs.contains(&j.as_str())));
}

#[test]
fn nothing_uncached_leaves_the_field_out_of_the_json() {
    let plan = plan_of(&TWO_JOBS.replace("cache   = false", "cache = true"));
    assert!(plan.uncached.is_empty());
    let json = serde_json::to_value(&plan).expect("plan JSON");
    assert!(json.get("uncached").is_none());
    let json = serde_json::to_value(plan_of(TWO_JOBS)).expect("plan JSON");
    assert_eq!(json["uncached"][0], serde_json::json!(["prepare", "fetch"]));
}
