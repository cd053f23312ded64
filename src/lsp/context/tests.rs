//! The cursor contexts and declarations the scan finds in text mid-edit.

use super::*;

/// The context at the `|` of `text`.
fn at(text: &str) -> Cursor {
    let at = text.find('|').expect("a cursor");
    let text = text.replace('|', "");
    scan(&text, Some(at)).cursor.expect("a context")
}

fn want(text: &str) -> Want {
    at(text).want
}

fn path(p: &[&str]) -> Vec<String> {
    p.iter().map(|s| s.to_string()).collect()
}

#[test]
fn keys_in_nested_blocks() {
    assert_eq!(want("pool a {\n  vm|"), Want::Key(path(&["pool"])));
    assert_eq!(at("pool a {\n  vm|").word_start, 11);
    assert_eq!(
        want("pool a {\n  containers {\n    |\n  }\n}"),
        Want::Key(path(&["pool", "containers"]))
    );
    assert_eq!(
        want("job j on a {\n  task t[s in 0..2] after x {\n    |"),
        Want::Key(path(&["job", "task"]))
    );
    assert_eq!(want("pool a { vm_size = \"x\", |"), Want::Key(path(&["pool"])));
    assert_eq!(want("|"), Want::Item);
    assert_eq!(want("pool a {}\n|"), Want::Item);
}

#[test]
fn values_names_and_strings() {
    assert_eq!(
        want("pool a {\n  vm_size = \"Stan|\"\n}"),
        Want::Str {
            path: path(&["pool"]),
            key: Some("vm_size".into()),
            call: None,
            start: 22,
            end: 26,
        }
    );
    assert_eq!(
        want("pool a {\n  elevation = ad|"),
        Want::Value {
            path: path(&["pool"]),
            key: Some("elevation".into())
        }
    );
    assert_eq!(want("job j on |"), Want::Pool);
    assert_eq!(want("job j on p {\n  task b after a, |"), Want::Task(Some("j".into())));
    assert_eq!(want("job j on p {\n  after = [|"), Want::Job);
    assert_eq!(want("pool p {\n  containers { registries = [acr, |] }"), Want::Registry);
    assert_eq!(want("param n: |"), Want::Type);
    assert!(matches!(want("let x = rhai(\"se|\")"), Want::Str { call: Some(c), .. } if c == "rhai"));
    let inner = want("let x = \"a ${rhai(\"se|\")} b\"");
    assert!(
        matches!(&inner, Want::Str { call: Some(c), start: 19, .. } if c == "rhai"),
        "{inner:?}"
    );
    assert!(matches!(want("let x = \"a ${se|}\""), Want::Value { key: None, .. }));
    let c = at("job j on p {\n  task t[s in 0..2, lr in [1]] {\n    command = \"${|");
    assert_eq!(c.loop_vars, vec!["s".to_string(), "lr".to_string()]);
}

#[test]
fn declarations_survive_broken_text() {
    let text = "param n: int = 1\nlet x = \"a\nimport \"std/images\"\npool p { vm_size = }\njob j on p {\n task a { }\n task b after { \n";
    let decls = scan(text, None).decls;
    let names: Vec<(&DeclKind, &str)> = decls.iter().map(|d| (&d.kind, d.name.as_str())).collect();
    assert_eq!(names, vec![(&DeclKind::Param, "n"), (&DeclKind::Let, "x")]);
    let text =
        "param n: int = 1\nimport \"std/images\"\npool p { vm_size = }\njob j on p {\n task a { }\n task b after { \n";
    let decls = scan(text, None).decls;
    let names: Vec<(&DeclKind, &str)> = decls.iter().map(|d| (&d.kind, d.name.as_str())).collect();
    assert_eq!(
        names,
        vec![
            (&DeclKind::Param, "n"),
            (&DeclKind::Import, "images"),
            (&DeclKind::Pool, "p"),
            (&DeclKind::Job, "j"),
            (&DeclKind::Task, "a"),
            (&DeclKind::Task, "b"),
        ]
    );
    assert_eq!(decls.last().and_then(|d| d.job.as_deref()), Some("j"));
}
