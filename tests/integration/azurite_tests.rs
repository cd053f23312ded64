//! Tests of the Azurite test support (`azurite.rs`): both flavours start, answer and die with
//! their handle; the HTTPS one trusts its own certificate and takes bearer tokens.

use crate::azurite::{token, Azurite};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

#[test]
fn http_azurite_answers_and_refuses_anonymous_listing() {
    let az = Azurite::shared();
    let url = format!("{}?comp=list", az.blob_endpoint());
    let status = runtime().block_on(async {
        reqwest::Client::new()
            .get(&url)
            .header("x-ms-version", "2026-04-06")
            .send()
            .await
            .expect("Azurite answers")
            .status()
            .as_u16()
    });
    assert_eq!(status, 403, "an anonymous List Containers is refused");
}

#[test]
fn dropping_the_handle_stops_azurite() {
    let az = Azurite::start();
    let addr = SocketAddr::from(([127, 0, 0, 1], az.port));
    assert!(TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok());
    drop(az);
    assert!(
        TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err(),
        "nothing listens on the port once the handle is dropped"
    );
}

#[test]
fn https_azurite_takes_bearer_tokens_and_issues_user_delegation_keys() {
    let az = Azurite::shared_https();
    let pem = az.ca_pem().expect("an HTTPS instance has a certificate");
    let file = az.ca_file().expect("the certificate as a file");
    assert_eq!(std::fs::read_to_string(file).expect("the certificate file"), pem);
    assert!(az.connection_string().contains("BlobEndpoint=https://127.0.0.1:"));
    let cert = reqwest::Certificate::from_pem(pem.as_bytes()).expect("a PEM certificate");
    let http = reqwest::Client::builder()
        .add_root_certificate(cert)
        .build()
        .expect("an HTTP client");
    use azure_core::time::{to_rfc3339, Duration as Span, OffsetDateTime};
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).expect("whole seconds");
    let fmt = |t: OffsetDateTime| to_rfc3339(&t);
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><KeyInfo><Start>{}</Start><Expiry>{}</Expiry></KeyInfo>",
        fmt(now),
        fmt(now + Span::hours(1))
    );
    let url = format!("{}?restype=service&comp=userdelegationkey", az.blob_endpoint());
    let (status, text) = runtime().block_on(async {
        let r = http
            .post(&url)
            .header("x-ms-version", "2026-04-06")
            .header("authorization", format!("Bearer {}", token()))
            .body(body)
            .send()
            .await
            .expect("Azurite answers over HTTPS");
        (r.status().as_u16(), r.text().await.unwrap_or_default())
    });
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("<Value>"), "a user delegation key: {text}");
}
