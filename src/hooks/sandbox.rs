//! The Rhai engine configuration: what a hook script may and may not do.

use rhai::Engine;
use std::sync::{Arc, Mutex};

/// Bounds on one call of a hook function.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_operations: u64,
    pub max_call_levels: usize,
    pub max_string_size: usize,
    pub max_array_size: usize,
    pub max_map_size: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_operations: 2_000_000,
            max_call_levels: 48,
            max_string_size: 1 << 20,
            max_array_size: 2_000_000,
            max_map_size: 10_000,
        }
    }
}

/// A Rhai engine with the standard packages (strings, arrays, maps, maths) and nothing that
/// reaches the outside world: Rhai has no file, network or process access of its own, `eval`
/// is switched off, and `print`/`debug`/`log` go to a log the caller reads.
pub fn engine(limits: Limits, log: Arc<Mutex<Vec<String>>>) -> Engine {
    let mut engine = Engine::new();
    engine
        .set_max_operations(limits.max_operations)
        .set_max_call_levels(limits.max_call_levels)
        .set_max_expr_depths(64, 32)
        .set_max_string_size(limits.max_string_size)
        .set_max_array_size(limits.max_array_size)
        .set_max_map_size(limits.max_map_size)
        .set_max_modules(0)
        .set_max_variables(10_000)
        .set_max_functions(1_000);
    engine.disable_symbol("eval");
    let print_log = Arc::clone(&log);
    engine.on_print(move |text| {
        if let Ok(mut l) = print_log.lock() {
            l.push(text.to_string());
        }
    });
    let debug_log = Arc::clone(&log);
    engine.on_debug(move |text, _, _| {
        if let Ok(mut l) = debug_log.lock() {
            l.push(text.to_string());
        }
    });
    engine.register_fn("log", move |text: &str| {
        if let Ok(mut l) = log.lock() {
            l.push(text.to_string());
        }
    });
    engine
}
