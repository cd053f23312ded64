//! `before_submit(task)`: the hook script may change each task instance before it is
//! planned. The task goes in as a Rhai map and must come back as one.

use crate::diagnostics::{Code, Diagnostic};
use crate::graph::{EnvVar, Pool, Task, TaskSpec};
use crate::hooks::Hooks;
use crate::source::Span;
use rhai::{Dynamic, Map};
use std::borrow::Cow;
use std::sync::Arc;

const HOOK: &str = "before_submit";
const KEYS: &[&str] = &[
    "id",
    "command",
    "container",
    "run_options",
    "display_name",
    "env",
    "retries",
    "timeout",
    "slots",
];

pub fn before_submit<'t>(
    hooks: Option<&Hooks>,
    task: &'t Task,
    pool: &Pool,
    origin: Span,
) -> Result<Cow<'t, TaskSpec>, Diagnostic> {
    let Some(hooks) = hooks.filter(|h| h.has_fn(HOOK)) else {
        return Ok(Cow::Borrowed(&task.spec));
    };
    let out = hooks.call(HOOK, vec![Dynamic::from_map(to_map(task))], origin)?;
    let wrong = |why: String| {
        Diagnostic::new(Code::BF011, origin, format!("`{HOOK}` for task `{}` {why}", task.id))
            .with_help("return the task map it was given, changed: `fn before_submit(task) { task.retries = 3; task }`")
    };
    let Some(map) = out.read_lock::<Map>().map(|m| m.clone()) else {
        return Err(wrong(format!("returned {} instead of the task map", out.type_name())));
    };
    let mut spec = task.spec.clone();
    for (key, value) in map {
        let key = key.as_str();
        if value.is_unit() && key != "id" {
            // `()` is how the map shows an attribute the workflow left unset: keep it as it was.
            continue;
        }
        let text = || {
            value
                .clone()
                .into_string()
                .map_err(|t| wrong(format!("set `{key}` to a {t}, not a string")))
        };
        let int = || {
            value
                .as_int()
                .map_err(|t| wrong(format!("set `{key}` to a {t}, not an integer")))
        };
        match key {
            "id" => {
                if text()? != *task.id {
                    return Err(wrong("changed the task's `id`; ids are fixed by the workflow".into()));
                }
            }
            "command" => spec.command = Some(text()?.into()),
            "container" => spec.container = Some(text()?.into()).filter(|c: &Arc<str>| !c.is_empty()),
            "run_options" => spec.run_options = Some(text()?.into()),
            "display_name" => spec.display_name = Some(text()?.into()),
            "retries" => spec.retries = Some(int()?),
            "timeout" => {
                spec.timeout = Some(u64::try_from(int()?).map_err(|_| wrong("set a negative `timeout`".into()))?)
            }
            "slots" => spec.slots = Some(u32::try_from(int()?).map_err(|_| wrong("set `slots` out of range".into()))?),
            "env" => spec.env = env_from(&value).map_err(wrong)?,
            other => {
                let help = crate::suggest::did_you_mean(other, KEYS.iter().copied())
                    .map_or_else(|| format!(" (it takes {})", KEYS.join(", ")), |h| format!("; {h}"));
                return Err(wrong(format!("set unknown key `{other}`{help}")));
            }
        }
    }
    validate(&spec, pool).map_err(wrong)?;
    Ok(Cow::Owned(spec))
}

/// The checker's task rules, again, for what the hook returned.
fn validate(spec: &TaskSpec, pool: &Pool) -> Result<(), String> {
    if let Some(slots) = spec.slots {
        if slots == 0 || slots > pool.task_slots() {
            return Err(format!(
                "set `slots` to {slots}; pool `{}` has 1 to {} per node",
                pool.name.value,
                pool.task_slots()
            ));
        }
    }
    if spec.retries.is_some_and(|r| r < -1) {
        return Err("set `retries` below -1 (use -1 for unlimited)".into());
    }
    match (spec.container.is_some(), pool.containers.is_some()) {
        (true, false) => {
            return Err(format!(
                "set a `container`, but pool `{}` has no `containers {{ }}`",
                pool.name.value
            ))
        }
        (false, true) => {
            return Err(format!(
                "removed the `container`, but pool `{}` runs tasks in containers",
                pool.name.value
            ))
        }
        _ => {}
    }
    if spec.container.is_none() && spec.command.as_deref().is_none_or(|c| c.trim().is_empty()) {
        return Err("left the task without a `command`".into());
    }
    Ok(())
}

fn to_map(task: &Task) -> Map {
    let s = &task.spec;
    let mut map = Map::new();
    let text = |v: &Option<Arc<str>>| v.as_deref().map_or(Dynamic::UNIT, |t| Dynamic::from(t.to_string()));
    map.insert("id".into(), Dynamic::from(task.id.to_string()));
    map.insert("command".into(), text(&s.command));
    map.insert("container".into(), text(&s.container));
    map.insert("run_options".into(), text(&s.run_options));
    map.insert("display_name".into(), text(&s.display_name));
    let mut env = Map::new();
    for var in s.env.iter() {
        env.insert(var.name.as_ref().into(), Dynamic::from(var.value.to_string()));
    }
    map.insert("env".into(), Dynamic::from_map(env));
    map.insert("retries".into(), s.retries.map_or(Dynamic::UNIT, Dynamic::from_int));
    // Seconds, so scripts can do arithmetic.
    map.insert(
        "timeout".into(),
        s.timeout.map_or(Dynamic::UNIT, |t| {
            Dynamic::from_int(i64::try_from(t).unwrap_or(i64::MAX))
        }),
    );
    map.insert(
        "slots".into(),
        s.slots.map_or(Dynamic::UNIT, |n| Dynamic::from_int(i64::from(n))),
    );
    map
}

fn env_from(value: &Dynamic) -> Result<Arc<[EnvVar]>, String> {
    let Some(map) = value.read_lock::<Map>() else {
        return Err(format!("set `env` to a {}, not a map", value.type_name()));
    };
    let mut out = Vec::with_capacity(map.len());
    for (k, v) in map.iter() {
        out.push(EnvVar {
            name: k.as_str().into(),
            value: v.to_string().into(),
        });
    }
    Ok(out.into())
}
