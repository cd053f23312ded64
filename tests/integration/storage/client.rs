//! The blob client against Azurite: containers, blobs, listing, properties.

use super::{account, runtime, unique};
use crate::azurite::Azurite;
use azure_core::Bytes;

#[test]
fn creates_a_container_puts_lists_and_probes_blobs() {
    let az = Azurite::shared();
    let c = account(az).container(&unique("client"));
    let shown = format!("{c:?}");
    assert!(
        !shown.contains(crate::azurite::KEY),
        "Debug never shows the key: {shown}"
    );
    runtime().block_on(async {
        c.ensure().await.expect("created");
        c.ensure().await.expect("a second ensure is fine");
        assert_eq!(c.properties("cas/none").await.expect("probe"), None);
        c.put("a/b c.txt", Bytes::from_static(b"hello"), Some("ab12"))
            .await
            .expect("put");
        c.put("a/d.txt", Bytes::from_static(b"hi"), None).await.expect("put");
        c.put("z.txt", Bytes::from_static(b""), None)
            .await
            .expect("put an empty blob");
        let p = c.properties("a/b c.txt").await.expect("probe").expect("exists");
        assert_eq!((p.size, p.sha256.as_deref()), (5, Some("ab12")));
        let listed = c.list("a/").await.expect("list");
        let names: Vec<(&str, u64)> = listed.iter().map(|b| (b.name.as_str(), b.size)).collect();
        assert_eq!(names, vec![("a/b c.txt", 5), ("a/d.txt", 2)]);
        assert_eq!(listed[0].sha256.as_deref(), Some("ab12"));
    });
}
