//! Unit tests of `staging.rs`: placeholders, output files, deliveries, uploads.

use super::*;
use crate::repo::RepoFile;

fn map(key: &str, value: &str) -> FileMap {
    FileMap {
        path: key.into(),
        url: value.into(),
        location: Location::of(value),
        when: UploadWhen::Success,
        span: Default::default(),
    }
}

#[test]
fn container_urls() {
    assert!(is_container_url("https://acct.blob.core.windows.net/runs?<secret:SAS>"));
    assert!(is_container_url("https://acct.blob.core.windows.net/runs/"));
    assert!(!is_container_url("https://acct.blob.core.windows.net/runs/train.csv"));
    assert!(!is_container_url("https://example.org/data"));
}

#[test]
fn each_form_of_input() {
    let mut repo = RepoFacts::default();
    let file = |path: &str, rel: &str| RepoFile {
        path: path.into(),
        rel: rel.into(),
        size: 3,
    };
    repo.inputs
        .insert("data/s1.fq".into(), (Shape::File, vec![file("data/s1.fq", "s1.fq")]));
    repo.inputs.insert(
        "data/*.fq".into(),
        (
            Shape::Glob,
            vec![file("data/s1.fq", "s1.fq"), file("data/s2.fq", "s2.fq")],
        ),
    );
    let storage = StorageChoice {
        configured: true,
        ..StorageChoice::default()
    };
    let files = Files {
        repo: &repo,
        storage: &storage,
    };
    let inputs = [
        map("data/", "https://a.blob.core.windows.net/c/train.csv?<secret:SAS>"),
        map("reads.fq", "data/s1.fq"),
        map("all/", "data/*.fq"),
        map("ref/", "az://refs/hg38/"),
        map("x.bin", "az://refs/x.bin"),
    ];
    let r = resource_files(&inputs, files);
    type Shown<'a> = (Option<&'a str>, Option<&'a str>, Option<&'a str>, &'a str);
    let shown: Vec<Shown<'_>> = r
        .iter()
        .map(|f| {
            (
                f.http_url.as_deref(),
                f.storage_container_url.as_deref(),
                f.blob_prefix.as_deref(),
                f.file_path.as_str(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            (
                Some("https://a.blob.core.windows.net/c/train.csv?<secret:SAS>"),
                None,
                None,
                "data/train.csv"
            ),
            (Some("<repo:data/s1.fq>"), None, None, "reads.fq"),
            (Some("<repo:data/s1.fq>"), None, None, "all/s1.fq"),
            (Some("<repo:data/s2.fq>"), None, None, "all/s2.fq"),
            (None, Some("<container:refs>"), Some("hg38/"), "ref"),
            (Some("<blob:refs/x.bin>"), None, None, "x.bin"),
        ]
    );
    assert_eq!(uploads(&inputs, &repo).len(), 2, "data/s1.fq once");
}

#[test]
fn outputs_to_the_repository_come_back_through_the_run_prefix() {
    let repo = RepoFacts::default();
    let storage = StorageChoice {
        configured: true,
        ..StorageChoice::default()
    };
    let files = Files {
        repo: &repo,
        storage: &storage,
    };
    let outputs = [map("*.bam", "results/s1/"), map("report.html", "reports/s1.html")];
    let o = output_files(&outputs, "align", "align-0", files);
    assert_eq!(o.len(), 4, "two outputs and two logs");
    assert_eq!(
        o[0].destination.container.path.as_deref(),
        Some("runs/<run>/align/align-0/0")
    );
    assert_eq!(
        o[1].destination.container.path.as_deref(),
        Some("runs/<run>/align/align-0/1/report.html")
    );
    assert_eq!(o[0].destination.container.container_url, "<outputs:batchflow>");
    let d = deliveries(&outputs, "align", "align-0");
    assert_eq!((d[0].prefix, d[0].to.as_str()), (true, "results/s1/"));
    assert_eq!(
        (d[1].blob.as_str(), d[1].prefix),
        ("runs/<run>/align/align-0/1/report.html", false)
    );
}
