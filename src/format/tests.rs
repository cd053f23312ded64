use super::{format_text, FormatError};
use crate::source::SrcId;

/// The formatted text, checked to format to itself again.
fn fmt(text: &str) -> String {
    match format_text(SrcId(0), text) {
        Ok(out) => {
            let again = format_text(SrcId(0), &out).expect("formats again");
            assert_eq!(again, out, "not idempotent; first pass:\n{out}");
            out
        }
        Err(e) => panic!("{e:?}"),
    }
}

#[test]
fn spacing_indentation_and_alignment() {
    let src = "workflow   \"w\"\npool cpu{\nvm_size=\"Standard_D2s_v5\"\n  dedicated   = 1\n      task_slots=2\n}\n";
    let want =
        "workflow \"w\"\npool cpu {\n  vm_size    = \"Standard_D2s_v5\"\n  dedicated  = 1\n  task_slots = 2\n}\n";
    assert_eq!(fmt(src), want);
}

#[test]
fn runs_of_attributes_end_at_empty_lines_and_around_lines_that_break() {
    let src = "job j on p {\n  a = 1\n  long_name = 2\n\n  b = 3\n  env { X = \"1\" }\n  cc = 4\n  task t {\n    x = 1\n  }\n  d = [\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\", \"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"]\n  eee = 5\n}\n";
    let want = "job j on p {\n  a         = 1\n  long_name = 2\n\n  b  = 3\n  env { X = \"1\" }\n  cc = 4\n  task t {\n    x = 1\n  }\n  d = [\n    \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\n    \"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\",\n  ]\n  eee = 5\n}\n";
    assert_eq!(fmt(src), want);
}

#[test]
fn blank_lines_are_kept_to_one_and_dropped_at_the_edges() {
    let src = "\n\n\nlet a = 1\n\n\n\nlet b = 2\npool p {\n\n  x = 1\n\n\n  y = 2\n\n}\n\n\n";
    assert_eq!(fmt(src), "let a = 1\n\nlet b = 2\npool p {\n  x = 1\n\n  y = 2\n}\n");
}

#[test]
fn comments_stay_where_they_were() {
    let src = "# head\n\n# about p\npool p { # the pool\n  # first\n  a = 1 # one\n  bbb = 2     # two\n  # last\n} # after\n# end\n";
    let want = "# head\n\n# about p\npool p {  # the pool\n  # first\n  a   = 1  # one\n  bbb = 2  # two\n  # last\n}  # after\n# end\n";
    assert_eq!(fmt(src), want);
}

#[test]
fn trailing_comments_align_in_a_run() {
    let src = "pool p {\n  vm_size = \"Standard_D2s_v5\" # size\n  image = x\n  dedicated = 1 # one node\n}\n";
    let want = "pool p {\n  vm_size   = \"Standard_D2s_v5\"  # size\n  image     = x\n  dedicated = 1                  # one node\n}\n";
    assert_eq!(fmt(src), want);
}

#[test]
fn comments_inside_lists_and_calls() {
    let src = "let xs = [ # numbers\n  1, # one\n  # two next\n  2\n  # end\n]\nlet i = marketplace(\"a\", # publisher\n \"b\", \"c\")\n";
    let want = "let xs = [  # numbers\n  1,  # one\n  # two next\n  2,\n  # end\n]\nlet i = marketplace(\n  \"a\",  # publisher\n  \"b\",\n  \"c\",\n)\n";
    assert_eq!(fmt(src), want);
}

#[test]
fn long_lists_and_calls_wrap_short_ones_join() {
    let src = "let xs = [\n 1,\n 2,\n]\nlet long = [\"aaaaaaaaaaaaaaaaaaaa\", \"bbbbbbbbbbbbbbbbbbbbbbbbb\", \"cccccccccccccccccccccccc\", \"dddddddddddd\"]\n";
    let want = "let xs = [1, 2]\nlet long = [\n  \"aaaaaaaaaaaaaaaaaaaa\",\n  \"bbbbbbbbbbbbbbbbbbbbbbbbb\",\n  \"cccccccccccccccccccccccc\",\n  \"dddddddddddd\",\n]\n";
    assert_eq!(fmt(src), want);
}

#[test]
fn one_line_blocks_stay_on_one_line_if_they_fit() {
    let src = "job j on p {\n  env {A=\"1\" B=\"2\";}\n  inputs {\n    \"a\" = \"https://x/a\"\n  }\n  outputs { \"out/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/*.pt\" = \"https://storage.blob.core.windows.net/container/prefix?sas\" }\n  task t { command = \"x\" }\n}\n";
    let want = "job j on p {\n  env { A = \"1\", B = \"2\" }\n  inputs {\n    \"a\" = \"https://x/a\"\n  }\n  outputs {\n    \"out/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/*.pt\" = \"https://storage.blob.core.windows.net/container/prefix?sas\"\n  }\n  task t { command = \"x\" }\n}\n";
    assert_eq!(fmt(src), want);
}

#[test]
fn strings_numbers_and_durations_are_written_as_they_were() {
    let src = "let a = r#\"C:\\x \"q\"\"#\nlet b = \"x\\ty ${ f( 1 ,2) # c\n } \\$z\"\nlet c = 1.50\nlet d = 90m\nlet e = -0\nlet f = \"two\nlines\"\nlet g = \\\"esc\\\"\n";
    // Multi-line strings stay in their run: their first line aligns.
    assert_eq!(
        fmt("pool p {\n  a = 1\n  long = r\"x\ny\"\n}\n"),
        "pool p {\n  a    = 1\n  long = r\"x\ny\"\n}\n"
    );
    assert_eq!(fmt(src), src);
}

#[test]
fn headers_sums_ranges_and_parentheses() {
    let src = "param  xs :list < list<int> >=[[1]]\nimport \"std/images\"   as   img\nhooks=\"h.rhai\"\njob j   on p{\ntask t [ s in 0 .. n+1 , lr in lrs , ] after a , b{command=\"a\"+( b + c )+ (d)}\n}\n";
    let want = "param xs: list<list<int>> = [[1]]\nimport \"std/images\" as img\nhooks = \"h.rhai\"\njob j on p {\n  task t[s in 0..n + 1, lr in lrs] after a, b { command = \"a\" + (b + c) + (d) }\n}\n";
    assert_eq!(fmt(src), want);
}

#[test]
fn long_sums_break_before_plus() {
    let src = "let cmd = \"python train.py --data prepared \" + flags + \" --output runs/seed-and-learning-rate \" + suffix\n";
    let want = "let cmd = \"python train.py --data prepared \"\n  + flags\n  + \" --output runs/seed-and-learning-rate \"\n  + suffix\n";
    assert_eq!(fmt(src), want);
}

#[test]
fn maps_empty_blocks_and_named_arguments() {
    let src = "let m = {a=1,bb=2}\nlet n = {\nx = [ ]\n}\npool p { }\nlet i = marketplace(publisher=\"p\",offer=\"o\",sku=\"s\")\n";
    let want = "let m = { a = 1, bb = 2 }\nlet n = {\n  x = []\n}\npool p {}\nlet i = marketplace(publisher = \"p\", offer = \"o\", sku = \"s\")\n";
    assert_eq!(fmt(src), want);
}

#[test]
fn empty_and_comment_only_files() {
    assert_eq!(fmt(""), "");
    assert_eq!(fmt("\n\n  \n"), "");
    assert_eq!(fmt("# only\n\n\n# comments   \n"), "# only\n\n# comments\n");
}

#[test]
fn syntax_errors_are_refused() {
    match format_text(SrcId(0), "pool p {\n  a = \n}\n") {
        Err(FormatError::Syntax(d)) => assert_eq!(d.code, crate::diagnostics::Code::BF001),
        other => panic!("{other:?}"),
    }
}
