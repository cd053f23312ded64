//! The online rules on hand-written facts: no Azure, no fakes.

use super::{check, supersede, wanted};
use crate::account::{
    AccountFacts, AccountInfo, CustomImage, ExistingPool, Lookup, Quotas, Sku, SupportedImage, NEEDS_READER,
};
use crate::compile::{compile_text, CompileOptions, HookSource, Surroundings};
use crate::diagnostics::{Code, Diagnostic, Severity};
use crate::graph::Workflow;
use crate::source::SourceMap;
use crate::stdlib::Date;

const TODAY: Date = Date {
    year: 2026,
    month: 11,
    day: 23,
};

fn workflow(text: &str) -> (Workflow, Vec<Diagnostic>) {
    let mut sources = SourceMap::new();
    let compiled = compile_text(
        "mem.batchflow",
        "mem",
        text.to_string(),
        |_| HookSource::None,
        |_| Surroundings::default(),
        &mut sources,
        &CompileOptions {
            today: TODAY,
            ..CompileOptions::default()
        },
    );
    let diags = compiled.diagnostics;
    (compiled.workflow.expect("a workflow"), diags)
}

fn sku(name: &str, family: &str, vcpus: u32) -> Sku {
    Sku {
        name: name.into(),
        family: family.into(),
        vcpus: Some(vcpus),
        low_priority: Some(true),
    }
}

fn image(publisher: &str, offer: &str, sku: &str, eol: Option<&str>) -> SupportedImage {
    SupportedImage {
        publisher: publisher.into(),
        offer: offer.into(),
        sku: sku.into(),
        node_agent: "batch.node.ubuntu 24.04".into(),
        verification: "verified".into(),
        capabilities: vec!["DockerCompatible".into()],
        end_of_life: eol.map(str::to_string),
    }
}

fn facts() -> AccountFacts {
    AccountFacts {
        account: Lookup::Found(AccountInfo {
            name: "acct".into(),
            id: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Batch/batchAccounts/acct".into(),
            region: "westeurope".into(),
            quotas: Quotas {
                dedicated_cores: Some(500),
                low_priority_cores: Some(100),
                per_family: vec![
                    ("standardNCADSA100v4Family".into(), 24),
                    ("standardDSv5Family".into(), 100),
                ],
                per_family_enforced: true,
                pools: Some(20),
                active_jobs: Some(100),
                user_subscription: false,
            },
        }),
        skus: Lookup::Found(vec![
            sku("Standard_NC24ads_A100_v4", "standardNCADSA100v4Family", 24),
            sku("Standard_D4s_v5", "standardDSv5Family", 4),
        ]),
        pools: Lookup::Found(vec![ExistingPool {
            id: "other".into(),
            vm_size: "Standard_D4s_v5".into(),
            dedicated_nodes: 20,
            low_priority_nodes: 0,
        }]),
        active_jobs: Lookup::Found(0),
        images: Lookup::Found(vec![
            image("microsoft-dsvm", "ubuntu-hpc", "2404", None),
            image("canonical", "ubuntu-24_04-lts", "server", Some("2026-09-30")),
        ]),
        ..AccountFacts::default()
    }
}

fn pool(size: &str, image: &str, counts: &str) -> String {
    format!(
        "workflow \"w\"\npool p {{\n  vm_size    = \"{size}\"\n  image      = {image}\n  node_agent = \"batch.node.ubuntu 24.04\"\n  {counts}\n}}\njob j on p {{\n  task t {{ command = \"x\" }}\n}}\n"
    )
}

const HPC: &str = "marketplace(\"microsoft-dsvm\", \"ubuntu-hpc\", \"2404\")";

fn codes(diags: &[Diagnostic]) -> Vec<(Code, Severity)> {
    diags.iter().map(|d| (d.code, d.severity)).collect()
}

#[test]
fn a_gpu_pool_over_its_family_quota_is_stopped_with_the_numbers() {
    let (wf, _) = workflow(&pool("Standard_NC24ads_A100_v4", HPC, "dedicated = 4"));
    let out = check(&wf, &facts(), TODAY);
    assert_eq!(codes(&out), [(Code::BF301, Severity::Error)]);
    assert!(
        out[0]
            .message
            .contains("needs 96 dedicated cores of family `standardNCADSA100v4Family` (4 nodes × 24 vCPUs)"),
        "{}",
        out[0].message
    );
    assert!(out[0].message.contains("24 free"), "{}", out[0].message);
    let (fits, _) = workflow(&pool("Standard_NC24ads_A100_v4", HPC, "dedicated = 1"));
    assert!(check(&fits, &facts(), TODAY).is_empty());
}

#[test]
fn existing_pools_use_cores_and_low_priority_has_its_own_quota() {
    // 20 nodes × 4 cores of the family's 100 are in use: 21 more nodes need 84 of the 20 left.
    let (wf, _) = workflow(&pool("Standard_D4s_v5", HPC, "dedicated = 21"));
    let out = check(&wf, &facts(), TODAY);
    assert_eq!(codes(&out), [(Code::BF301, Severity::Error)]);
    assert!(out[0].message.contains("its pools use 80"), "{}", out[0].message);
    let (low, _) = workflow(&pool("Standard_D4s_v5", HPC, "low_priority = 26"));
    let out = check(&low, &facts(), TODAY);
    assert!(out[0].message.contains("104 low-priority cores"), "{}", out[0].message);
    // Not enforced per family: the total counts.
    let mut f = facts();
    if let Lookup::Found(a) = &mut f.account {
        a.quotas.per_family_enforced = false;
    }
    let (wf, _) = workflow(&pool("Standard_NC24ads_A100_v4", HPC, "dedicated = 4"));
    assert!(check(&wf, &f, TODAY).is_empty());
}

#[test]
fn an_autoscale_pool_counts_by_its_formulas_maximum() {
    let formula = "autoscale = \"$TargetDedicatedNodes = min($ActiveTasks.GetSample(1), 3);\"";
    let (wf, _) = workflow(&pool("Standard_NC24ads_A100_v4", HPC, formula));
    let out = check(&wf, &facts(), TODAY);
    assert_eq!(codes(&out), [(Code::BF301, Severity::Error)]);
}

#[test]
fn a_size_the_region_lacks_and_an_image_past_its_end_of_support() {
    let (wf, _) = workflow(&pool("Standard_HB176rs_v4", HPC, "dedicated = 1"));
    assert_eq!(codes(&check(&wf, &facts(), TODAY)), [(Code::BF304, Severity::Error)]);
    let canonical = "marketplace(\"Canonical\", \"ubuntu-24_04-lts\", \"server\")";
    let (wf, _) = workflow(&pool("Standard_D4s_v5", canonical, "dedicated = 1"));
    let out = check(&wf, &facts(), TODAY);
    assert_eq!(codes(&out), [(Code::BF305, Severity::Error)]);
    assert!(out[0].message.contains("2026-09-30"), "{}", out[0].message);
}

#[test]
fn the_live_lists_replace_the_tables_verdicts() {
    let (wf, mut offline) = workflow(&pool("Standard_D4s_v5", HPC, "dedicated = 1"));
    offline.push(Diagnostic::new(
        Code::BF116,
        wf.pools[0].attrs.or("image", wf.pools[0].name.span),
        "retired",
    ));
    supersede(&mut offline, &wf, &facts());
    assert!(!offline.iter().any(|d| d.code == Code::BF116));
}

#[test]
fn quotas_pools_and_jobs_count_what_the_account_has() {
    let mut f = facts();
    if let Lookup::Found(a) = &mut f.account {
        a.quotas.pools = Some(1);
        a.quotas.active_jobs = Some(3);
    }
    f.active_jobs = Lookup::Found(3);
    let (wf, _) = workflow(&pool("Standard_D4s_v5", HPC, "dedicated = 1"));
    let got: Vec<Code> = check(&wf, &f, TODAY).iter().map(|d| d.code).collect();
    assert_eq!(got, [Code::BF302, Code::BF303]);
}

#[test]
fn what_could_not_be_read_is_reported_not_passed() {
    let f = AccountFacts {
        account: Lookup::NotChecked(NEEDS_READER.into()),
        skus: Lookup::NotChecked(NEEDS_READER.into()),
        pools: Lookup::NotChecked(NEEDS_READER.into()),
        active_jobs: Lookup::Found(0),
        images: Lookup::Found(vec![image("microsoft-dsvm", "ubuntu-hpc", "2404", None)]),
        ..AccountFacts::default()
    };
    let (wf, _) = workflow(&pool("Standard_NC24ads_A100_v4", HPC, "dedicated = 40"));
    let out = check(&wf, &f, TODAY);
    assert_eq!(codes(&out), [(Code::BF308, Severity::Warning)]);
    assert!(
        out[0].message.ends_with("(needs Reader on the account)"),
        "{}",
        out[0].message
    );
}

#[test]
fn custom_images_and_identities_are_looked_up_by_id() {
    let image_id = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/i/versions/1.0.0";
    let identity = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/pull";
    let text = format!(
        "workflow \"w\"\nregistry acr {{\n  server = \"a.azurecr.io\"\n  identity = \"{identity}\"\n}}\npool p {{\n  vm_size = \"Standard_D4s_v5\"\n  image = gallery_image(\"{image_id}\")\n  node_agent = \"batch.node.ubuntu 24.04\"\n  dedicated = 1\n  containers {{\n    images = [\"a.azurecr.io/x:1\"]\n    registries = [acr]\n  }}\n}}\njob j on p {{\n  task t {{ container = \"a.azurecr.io/x:1\"\n command = \"x\" }}\n}}\n"
    );
    let (wf, _) = workflow(&text);
    let w = wanted(&wf);
    assert_eq!((w.custom_images.len(), w.identities.len()), (1, 1));
    let mut f = facts();
    f.custom_images.insert(
        image_id.to_ascii_lowercase(),
        Lookup::Found(CustomImage {
            regions: vec!["eastus".into()],
        }),
    );
    f.identities.insert(identity.to_ascii_lowercase(), Lookup::Missing);
    let got: Vec<Code> = check(&wf, &f, TODAY).iter().map(|d| d.code).collect();
    assert_eq!(got, [Code::BF306, Code::BF307]);
}
