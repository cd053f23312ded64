//! What the stdlib tables and the rule pages say about a VM size, an image, a node agent or a
//! rule, as Markdown for hovers and completion items.

use crate::diagnostics::Code;
use crate::stdlib::{Date, Effect, ImageInfo, NodeAgent, Retirement, VmSize};

pub fn vm_size(s: &VmSize, today: Date) -> String {
    let gpus = match (s.gpus, &s.gpu_model) {
        (0, None) => "no GPU".to_string(),
        (0, Some(m)) => format!("part of a GPU ({m})"),
        (n, Some(m)) => format!("{n} GPU{} ({m})", plural(n)),
        (n, None) => format!("{n} GPU{}", plural(n)),
    };
    let os = match (s.linux, s.windows) {
        (true, true) => "Linux and Windows",
        (true, false) => "Linux",
        _ => "Windows",
    };
    let mut out = format!(
        "**{}** ({} family)\n\n{} vCPU{}, {} GiB memory, {gpus}, {}; {os}",
        s.name,
        s.family,
        s.vcpus,
        plural(s.vcpus),
        s.memory_gib,
        if s.rdma { "InfiniBand (RDMA)" } else { "no InfiniBand" },
    );
    if let Some(day) = s.retired {
        let verb = if day <= today { "Retired" } else { "Retires" };
        out.push_str(&format!("\n\n{verb} on {day}"));
        if let Some(r) = &s.replacement {
            out.push_str(&format!(": Microsoft's replacement is `{r}`"));
        }
        out.push('.');
    }
    out
}

pub fn image(i: &ImageInfo, today: Date) -> String {
    let yes = |b: bool| if b { "yes" } else { "no" };
    let mut out = format!(
        "**{}/{}/{}** ({}, {})\n\n- node agent: `{}`\n- containers: {}\n- InfiniBand drivers: {}\n- GPU drivers: {}",
        i.publisher,
        i.offer,
        i.sku,
        i.os.as_str(),
        i.distribution,
        i.node_agent,
        if i.containers {
            "a Docker-compatible runtime is installed"
        } else {
            "no container runtime"
        },
        yes(i.rdma),
        yes(i.gpu_drivers),
    );
    if let Some(r) = &i.retirement {
        out.push_str(&format!("\n\n{}", retirement(r, today)));
        if let Some(to) = &i.replacement {
            out.push_str(&format!(" Move to `{to}`."));
        }
    }
    out
}

pub fn node_agent(a: &NodeAgent, today: Date) -> String {
    let mut out = format!(
        "**{}**: the Batch node agent for {} ({})",
        a.id,
        a.distribution,
        a.os.as_str()
    );
    if let Some(r) = &a.retirement {
        out.push_str(&format!("\n\n{}", retirement(r, today)));
        if let Some(to) = &a.replacement {
            out.push_str(&format!(" Move to `{to}`."));
        }
    }
    out
}

fn retirement(r: &Retirement, today: Date) -> String {
    let past = r.date <= today;
    match (r.effect, past) {
        (Effect::NoNewPools, true) => format!("End of support: {}; Batch no longer creates pools with it.", r.date),
        (Effect::NoNewPools, false) => format!(
            "End of support: {}; from then Batch creates no new pools with it.",
            r.date
        ),
        (Effect::EndOfSupport, _) => format!("End of support: {}.", r.date),
    }
}

/// A rule: its code and name, what it does, and a link to its page.
pub fn rule(code: Code) -> String {
    format!(
        "**{}** `{}` ({})\n\n{}\n\n[{} rule page]({}) · `batchflow explain {}`",
        code.as_str(),
        code.name(),
        code.default_severity().as_str(),
        what_it_does(code.doc()),
        code.as_str(),
        code.help_uri(),
        code.as_str()
    )
}

/// The paragraph under a page's `## What it does`.
fn what_it_does(page: &str) -> String {
    page.lines()
        .skip_while(|l| l.trim() != "## What it does")
        .skip(1)
        .skip_while(|l| l.trim().is_empty())
        .take_while(|l| !l.trim().is_empty() && !l.starts_with("## "))
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
}

fn plural(n: u32) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_show_their_first_paragraph_and_link() {
        let text = rule(Code::BF101);
        assert!(
            text.starts_with("**BF101** `rdma-image-on-non-rdma-size` (error)\n\n"),
            "{text}"
        );
        assert!(text.contains(Code::BF101.help_uri()), "{text}");
        assert!(!what_it_does(Code::BF101.doc()).is_empty());
    }
}
