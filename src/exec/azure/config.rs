//! Which Batch account to talk to and how: `batchflow.toml` at the repository root, then the
//! Azure CLI's environment variables `AZURE_BATCH_ENDPOINT`, `AZURE_BATCH_ACCOUNT` and
//! `AZURE_BATCH_ACCESS_KEY`, which override it.

use crate::exec::cloud::auth::{Credentials, Entra, EntraSource, SharedKey};
use crate::exec::error::RunError;
use std::collections::HashMap;
use std::path::Path;

pub use crate::settings::{File, TargetSection};

/// The resolved target.
#[derive(Debug)]
pub struct Target {
    pub endpoint: String,
    pub account: String,
    pub auth: Credentials,
}

/// Reads `batchflow.toml` in `root`, if there is one.
pub fn read_file(root: &Path) -> Result<File, RunError> {
    crate::settings::read(root).map_err(RunError::Config)
}

/// `text` as a URL that keys and tokens may travel to: https, or plain http to a service on
/// this machine (the fakes the tests run). `what` names it in the error.
pub fn secure_url(text: &str, what: &str) -> Result<reqwest::Url, RunError> {
    let url = reqwest::Url::parse(text).map_err(|e| RunError::Config(format!("{what} `{text}` is not a URL: {e}")))?;
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
        return Err(RunError::Config(format!("{what} `{text}` must be https://")));
    }
    Ok(url)
}

/// The account's name: given, or the first label of the endpoint's host.
fn account_from(endpoint: &str) -> Option<String> {
    let host = endpoint.split("://").nth(1)?.split(['/', ':']).next()?;
    let first = host.split('.').next()?;
    (!first.is_empty() && host.contains('.')).then(|| first.to_string())
}

/// For a command about an earlier run (`--resume`, `status`, `cancel`, `logs`): the endpoint it
/// ran on, unless `AZURE_BATCH_ENDPOINT` names one (which must then be the same).
pub fn default_endpoint(env: &mut HashMap<String, String>, recorded: &str) {
    let unset = env.get("AZURE_BATCH_ENDPOINT").is_none_or(|v| v.trim().is_empty());
    if unset {
        env.insert("AZURE_BATCH_ENDPOINT".into(), recorded.to_string());
    }
}

pub fn resolve(file: &File, env: &HashMap<String, String>) -> Result<Target, RunError> {
    let get = |k: &str| env.get(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let endpoint = get("AZURE_BATCH_ENDPOINT").or_else(|| file.target.endpoint.clone()).ok_or_else(|| {
        RunError::Config("no Batch account: set AZURE_BATCH_ENDPOINT (https://ACCOUNT.REGION.batch.azure.com), or `endpoint` under [target] in batchflow.toml".into())
    })?;
    let endpoint = if endpoint.contains("://") {
        endpoint
    } else {
        format!("https://{endpoint}")
    };
    secure_url(&endpoint, "the Batch endpoint")?;
    let account = get("AZURE_BATCH_ACCOUNT")
        .or_else(|| file.target.account.clone())
        .or_else(|| account_from(&endpoint))
        .ok_or_else(|| RunError::Config("cannot tell the Batch account's name: set AZURE_BATCH_ACCOUNT".into()))?;
    let wanted = file.target.auth.as_deref().map(str::to_ascii_lowercase);
    let auth = match (get("AZURE_BATCH_ACCESS_KEY"), wanted.as_deref()) {
        (_, Some("managed-identity")) => Credentials::Entra(Entra::from_env(env, EntraSource::ManagedIdentity)?),
        (Some(_), Some("entra")) => Credentials::Entra(Entra::from_env(env, EntraSource::FromEnvironment)?),
        (Some(key), Some("shared-key") | None) => Credentials::SharedKey(SharedKey::new(&account, &key)?),
        (None, Some("shared-key")) => {
            return Err(RunError::Config(
                "batchflow.toml asks for shared-key auth, but AZURE_BATCH_ACCESS_KEY is not set".into(),
            ))
        }
        (None, Some("entra") | None) => Credentials::Entra(Entra::from_env(env, EntraSource::FromEnvironment)?),
        (_, Some(other)) => {
            return Err(RunError::Config(format!(
                "batchflow.toml: auth `{other}` is not `entra`, `managed-identity` or `shared-key`"
            )))
        }
    };
    Ok(Target {
        endpoint,
        account,
        auth,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn environment_overrides_the_file_and_a_key_means_shared_key() {
        let file: File =
            toml::from_str("[target]\nendpoint = \"https://a.westeurope.batch.azure.com\"\n").expect("toml");
        let t = resolve(
            &file,
            &env(&[
                ("AZURE_BATCH_ENDPOINT", "http://127.0.0.1:9"),
                ("AZURE_BATCH_ACCOUNT", "fake"),
                ("AZURE_BATCH_ACCESS_KEY", "a2V5"),
            ]),
        )
        .expect("target");
        assert_eq!(
            (t.endpoint.as_str(), t.account.as_str()),
            ("http://127.0.0.1:9", "fake")
        );
        assert!(matches!(t.auth, Credentials::SharedKey(_)));
        let t = resolve(&file, &env(&[("AZURE_BATCH_ACCESS_KEY", "a2V5")])).expect("target");
        assert_eq!(t.account, "a");
    }

    fn entra_source(file: &str, pairs: &[(&str, &str)]) -> Result<&'static str, String> {
        let file: File = toml::from_str(file).map_err(|e| e.to_string())?;
        let mut all = vec![("AZURE_BATCH_ENDPOINT", "https://a.westeurope.batch.azure.com")];
        all.extend_from_slice(pairs);
        match resolve(&file, &env(&all)).map_err(|e| e.to_string())?.auth {
            Credentials::Entra(e) => Ok(e.source),
            Credentials::SharedKey(_) => Ok("shared key"),
        }
    }

    #[test]
    fn the_entra_credential_is_the_one_the_settings_point_at() {
        let tenant = ("AZURE_TENANT_ID", "72f988bf-86f1-41af-91ab-2d7cd011db47");
        let client = ("AZURE_CLIENT_ID", "c0ffee00-0000-4000-8000-000000000001");
        let secret = ("AZURE_CLIENT_SECRET", "s3cret");
        // The workload identity credential reads its token file when it is made.
        let file = tempfile::NamedTempFile::new().expect("a temporary file");
        std::fs::write(file.path(), "eyJhbGciOiJSUzI1NiJ9.e30.c2ln").expect("a token file");
        let path = file.path().display().to_string();
        let token_file = ("AZURE_FEDERATED_TOKEN_FILE", path.as_str());
        let key = ("AZURE_BATCH_ACCESS_KEY", "a2V5");
        let mi = "[target]\nauth = \"managed-identity\"\n";
        // (batchflow.toml, environment, the credential used)
        type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str);
        let cases: [Case<'_>; 7] = [
            ("", vec![], "developer tools (az login)"),
            (
                "",
                vec![tenant, client, secret],
                "client secret (AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET)",
            ),
            (
                "",
                vec![tenant, client, token_file],
                "workload identity (AZURE_FEDERATED_TOKEN_FILE)",
            ),
            (
                "",
                vec![
                    ("IDENTITY_ENDPOINT", "http://127.0.0.1:41741/msi/token"),
                    ("IDENTITY_HEADER", "h"),
                ],
                "managed identity",
            ),
            (mi, vec![key], "managed identity (batchflow.toml)"),
            (
                mi,
                vec![client, ("BATCHFLOW_ACCESS_TOKEN", "t")],
                "BATCHFLOW_ACCESS_TOKEN",
            ),
            ("", vec![key, tenant, client, secret], "shared key"),
        ];
        for (file, pairs, want) in cases {
            assert_eq!(entra_source(file, &pairs).as_deref(), Ok(want), "{file} {pairs:?}");
        }
        let err = entra_source("[target]\nauth = \"password\"\n", &[key]).expect_err("unknown auth");
        assert!(err.contains("`entra`, `managed-identity` or `shared-key`"), "{err}");
    }

    #[test]
    fn missing_settings_say_what_to_set() {
        let err = resolve(&File::default(), &env(&[])).expect_err("no endpoint");
        assert!(err.to_string().contains("AZURE_BATCH_ENDPOINT"), "{err}");
        let file: File =
            toml::from_str("[target]\nendpoint = \"a.b.batch.azure.com\"\nauth = \"shared-key\"\n").expect("toml");
        assert!(resolve(&file, &env(&[]))
            .expect_err("no key")
            .to_string()
            .contains("AZURE_BATCH_ACCESS_KEY"));
        assert!(toml::from_str::<File>("[target]\nendpont = \"x\"\n").is_err());
        let plain = env(&[
            ("AZURE_BATCH_ENDPOINT", "http://a.b.batch.azure.com"),
            ("AZURE_BATCH_ACCESS_KEY", "a2V5"),
        ]);
        assert!(resolve(&File::default(), &plain)
            .expect_err("http")
            .to_string()
            .contains("https"));
    }
}
