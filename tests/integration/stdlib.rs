//! Every value of every stdlib module is a current image the checker knows.

use crate::support::Test;
use batchflow::stdlib::MODULES;

/// `let NAME = ...` names of a module's text.
fn let_names(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("let "))
        .filter_map(|rest| rest.split('=').next())
        .map(|n| n.trim().to_string())
        .collect()
}

#[test]
fn every_std_images_value_makes_a_clean_pool() {
    let module = MODULES.iter().find(|m| m.path == "std/images").expect("std/images");
    let names = let_names(module.text);
    assert!(names.len() >= 6, "{names:?}");
    let mut text = String::from("import \"std/images\"\n");
    for (i, name) in names.iter().enumerate() {
        let windows = name.contains("windows");
        let containers = name.contains("container");
        text.push_str(&format!(
            "pool p{i} {{\n  vm_size = \"{}\"\n  image = images.{name}\n  dedicated = 1\n{}}}\n",
            if windows { "Standard_D4s_v5" } else { "Standard_D2s_v5" },
            if containers {
                "  containers { images = [\"ubuntu:24.04\"] }\n"
            } else {
                ""
            },
        ));
    }
    let out = Test::new()
        .write("all-images.batchflow", &text)
        .args(["check", "--format", "json", "--deny-warnings", "all-images.batchflow"])
        .success();
    assert!(out.diagnostics().is_empty(), "{:?}", out.diagnostics());
}

#[test]
fn a_misspelled_member_suggests_the_closest() {
    let out = Test::new()
        .write(
            "typo.batchflow",
            "import \"std/images\"\npool p {\n  vm_size = \"Standard_D2s_v5\"\n  image = images.ubuntu_hpc_240\n}\n",
        )
        .args(["check", "--format", "json", "typo.batchflow"])
        .run();
    let d = out.diagnostics();
    assert_eq!(d[0]["code"], "BF002", "{d:?}");
    assert!(d[0]["help"].as_str().unwrap_or("").contains("ubuntu_hpc_2404"), "{d:?}");
}
