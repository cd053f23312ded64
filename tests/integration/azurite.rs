//! Azurite, Microsoft's storage emulator, as the tests' real blob service: `azurite-blob` from
//! `tools/azurite/` (version pinned by its `package.json` and lock file; installed by its
//! `install.sh` on first use when missing), on a port of 127.0.0.1 the OS picks
//! (`--blobPort 0`, read back from its "listens on" line), in memory, killed when the test ends.
//! No `--skipApiVersionCheck`: Azurite 3.37.0 accepts the `x-ms-version` (2026-04-06) the Rust
//! storage crates send.
//!
//! Two flavours: plain HTTP with the emulator's well-known account key ([`Azurite::start`]),
//! and HTTPS with `--oauth basic` ([`Azurite::start_https`]), which accepts bearer tokens and
//! issues user delegation keys; its certificate is made at start by rcgen and handed to the
//! client through [`Azurite::ca_file`] / [`Azurite::ca_pem`].
//!
//! Azurite runs under `sh`, which kills it as soon as its stdin closes: on drop, and also when
//! the test binary dies without unwinding, so no emulator outlives the tests. [`Azurite::shared`]
//! is one instance per test process for tests that need no fresh service (each uses its own
//! container).

use crate::support::root;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The emulator's account and key (public: the same in every Azurite).
pub const ACCOUNT: &str = "devstoreaccount1";
pub const KEY: &str = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

pub struct Azurite {
    child: Child,
    /// Closing it makes `sh` kill Azurite.
    stdin: Option<ChildStdin>,
    pub port: u16,
    https: bool,
    /// Holds the certificate and Azurite's workspace.
    dir: tempfile::TempDir,
    ca_pem: Option<String>,
}

impl Azurite {
    /// Azurite over HTTP with shared key and SAS authentication.
    pub fn start() -> Azurite {
        Azurite::launch(false)
    }

    /// Azurite over HTTPS with `--oauth basic`: bearer tokens (see [`token`]) are accepted
    /// and Get User Delegation Key works.
    pub fn start_https() -> Azurite {
        Azurite::launch(true)
    }

    /// One HTTP instance for the whole test process.
    pub fn shared() -> &'static Azurite {
        static SHARED: OnceLock<Azurite> = OnceLock::new();
        SHARED.get_or_init(Azurite::start)
    }

    /// One HTTPS `--oauth basic` instance for the whole test process.
    pub fn shared_https() -> &'static Azurite {
        static SHARED: OnceLock<Azurite> = OnceLock::new();
        SHARED.get_or_init(Azurite::start_https)
    }

    /// `http(s)://127.0.0.1:PORT/devstoreaccount1`: the emulator's path-style blob endpoint.
    pub fn blob_endpoint(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}/{ACCOUNT}", self.port)
    }

    /// The connection string the Azure CLI would be given for this emulator.
    pub fn connection_string(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!(
            "DefaultEndpointsProtocol={scheme};AccountName={ACCOUNT};AccountKey={KEY};BlobEndpoint={};",
            self.blob_endpoint()
        )
    }

    /// The PEM certificate an HTTPS instance serves (to trust it); None over HTTP.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// The same certificate as a file, for a child process's `SSL_CERT_FILE`.
    pub fn ca_file(&self) -> Option<PathBuf> {
        self.ca_pem.as_ref().map(|_| self.dir.path().join("cert.pem"))
    }

    fn launch(https: bool) -> Azurite {
        let bin = ensure_installed();
        let dir = tempfile::tempdir().expect("a temporary folder for Azurite");
        let mut args: Vec<String> = [
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            "0",
            "--inMemoryPersistence",
            "--silent",
            "--disableTelemetry",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut ca_pem = None;
        if https {
            let (cert, key) = self_signed_certificate();
            let (cert_file, key_file) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
            std::fs::write(&cert_file, &cert).expect("write the certificate");
            std::fs::write(&key_file, key).expect("write the key");
            for a in [
                "--cert",
                &cert_file.display().to_string(),
                "--key",
                &key_file.display().to_string(),
            ] {
                args.push(a.to_string());
            }
            args.extend(["--oauth".to_string(), "basic".to_string()]);
            ca_pem = Some(cert);
        }
        // A reader waits on the test's pipe (fd 3: a background job's stdin would be /dev/null)
        // and kills Azurite when it closes; `sh` itself exits when Azurite does, so an Azurite
        // that dies at start ends its stdout and the test sees its output at once.
        let script = r#"exec 3<&0; bin="$1"; shift; "$bin" "$@" </dev/null & pid=$!; (read -r _ <&3; kill "$pid") >/dev/null 2>&1 & wait "$pid""#;
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg("sh")
            .arg(&bin)
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.path().join("stderr.txt")).expect("Azurite's stderr file"))
            // In memory, Azurite writes nothing; its working folder is the temporary one anyway.
            .current_dir(dir.path())
            .spawn()
            .expect("start sh for azurite-blob");
        let stdin = child.stdin.take();
        let port = wait_for_port(&mut child, &dir.path().join("stderr.txt"));
        let mut az = Azurite {
            child,
            stdin,
            port,
            https,
            dir,
            ca_pem,
        };
        az.wait_until_it_answers();
        az
    }

    fn wait_until_it_answers(&mut self) {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(
                Instant::now() < deadline,
                "Azurite does not answer on port {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Azurite {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads Azurite's stdout up to "successfully listens on http(s)://127.0.0.1:PORT"; the rest
/// of its output is drained by a thread so Azurite never blocks on a full pipe.
fn wait_for_port(child: &mut Child, stderr: &Path) -> u16 {
    let stdout = child.stdout.take().expect("Azurite's stdout");
    let (tx, rx) = std::sync::mpsc::channel::<Result<u16, String>>();
    std::thread::spawn(move || {
        let mut seen = String::new();
        let mut lines = BufReader::new(stdout).lines();
        for line in lines.by_ref().map_while(Result::ok) {
            seen.push_str(&line);
            seen.push('\n');
            let port = line
                .split("successfully listens on ")
                .nth(1)
                .and_then(|url| url.trim().rsplit(':').next())
                .and_then(|p| p.trim_end_matches('/').parse::<u16>().ok());
            if let Some(port) = port {
                let _ = tx.send(Ok(port));
                lines.for_each(drop);
                return;
            }
        }
        let _ = tx.send(Err(seen));
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(Ok(port)) => port,
        Ok(Err(out)) => {
            let err = std::fs::read_to_string(stderr).unwrap_or_default();
            panic!("Azurite stopped before listening.\nstdout:\n{out}\nstderr:\n{err}")
        }
        Err(_) => panic!("Azurite did not start listening within 60 s"),
    }
}

/// `tools/azurite/node_modules/.bin/azurite-blob`, installed by `tools/azurite/install.sh`
/// (run once per test process: it returns at once when the pinned version is there, and runs
/// `npm ci` on a fresh clone, so a bare `cargo test` works).
pub fn ensure_installed() -> PathBuf {
    static INSTALLED: OnceLock<PathBuf> = OnceLock::new();
    INSTALLED
        .get_or_init(|| {
            let tools = root().join("tools/azurite");
            let out = Command::new("sh")
                .arg(tools.join("install.sh"))
                .output()
                .expect("sh runs tools/azurite/install.sh");
            assert!(
                out.status.success(),
                "tools/azurite/install.sh failed (Azurite needs Node.js and npm):\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            tools.join("node_modules/.bin/azurite-blob")
        })
        .clone()
}

/// A self-signed certificate for 127.0.0.1 and localhost, and its key, as PEM.
fn self_signed_certificate() -> (String, String) {
    let names = vec!["127.0.0.1".to_string(), "localhost".to_string()];
    let cert = rcgen::generate_simple_self_signed(names).expect("a self-signed certificate");
    (cert.cert.pem(), cert.signing_key.serialize_pem())
}

/// A bearer token Azurite's `--oauth basic` accepts: a JWT for the storage audience from an
/// Entra issuer, valid for an hour. Azurite checks its claims, not its signature.
pub fn token() -> String {
    use base64::Engine;
    let b64 = |v: &serde_json::Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs();
    let tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    let header = serde_json::json!({"alg": "RS256", "typ": "JWT"});
    let claims = serde_json::json!({
        "aud": "https://storage.azure.com",
        "iss": format!("https://sts.windows.net/{tenant}/"),
        "iat": now - 60,
        "nbf": now - 60,
        "exp": now + 3600,
        "oid": "11059fcc-5514-4800-b5f8-49808b9cfab6",
        "tid": tenant,
        "appid": "batchflow-tests",
    });
    format!("{}.{}.c2lnbmF0dXJl", b64(&header), b64(&claims))
}
