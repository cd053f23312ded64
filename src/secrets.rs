//! `<secret:NAME>` placeholders: plans and run folders carry them; only the run itself reads
//! the values, from the environment, when it sends or starts something.

use std::collections::HashMap;

const OPEN: &str = "<secret:";

/// The secrets a text names, each once, in order.
pub fn names(text: &str) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(OPEN) {
        let after = &rest[i + OPEN.len()..];
        let Some(end) = after.find('>') else { break };
        let name = &after[..end];
        if !out.contains(&name) {
            out.push(name);
        }
        rest = &after[end..];
    }
    out
}

/// How a value goes into the text.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    /// As it is (a command line, an environment value).
    Plain,
    /// Inside a JSON string (a request body).
    Json,
}

/// The text with every placeholder replaced by its value.
pub fn reveal(text: &str, values: &HashMap<String, String>, escape: Escape) -> Result<String, String> {
    if !text.contains(OPEN) {
        return Ok(text.to_string());
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(OPEN) {
        out.push_str(&rest[..i]);
        let after = &rest[i + OPEN.len()..];
        let Some(end) = after.find('>') else {
            out.push_str(&rest[i..]);
            return Ok(out);
        };
        let name = &after[..end];
        let value = values
            .get(name)
            .ok_or_else(|| format!("secret `{name}` is not set in the environment"))?;
        match escape {
            Escape::Plain => out.push_str(value),
            Escape::Json => {
                let quoted = serde_json::Value::String(value.clone()).to_string();
                out.push_str(&quoted[1..quoted.len() - 1]);
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> HashMap<String, String> {
        HashMap::from([("SAS".to_string(), "sv=1&sig=a\"b".to_string())])
    }

    #[test]
    fn names_each_once() {
        assert_eq!(names("a <secret:X> b <secret:Y> <secret:X>"), vec!["X", "Y"]);
        assert!(names("no placeholders").is_empty());
    }

    #[test]
    fn reveals_plain_and_json() {
        let v = values();
        assert_eq!(
            reveal("u?<secret:SAS>", &v, Escape::Plain).as_deref(),
            Ok("u?sv=1&sig=a\"b")
        );
        let json = reveal(r#"{"url":"u?<secret:SAS>"}"#, &v, Escape::Json).unwrap_or_default();
        let parsed: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(parsed["url"], "u?sv=1&sig=a\"b");
    }

    #[test]
    fn a_missing_secret_is_named() {
        let err = reveal("<secret:NOPE>", &values(), Escape::Plain).expect_err("an unknown secret is refused");
        assert!(err.contains("NOPE"), "{err}");
    }
}
