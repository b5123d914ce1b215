//! Every provider builder forwards the proxy choice to core's `HttpClientBuilder`: an explicit
//! proxy is a transport setting, so it is refused beside a transport of one's own, and a proxy
//! URL with credentials never shows in the refusal. (Core's own tests drive a real loopback
//! CONNECT proxy; this checks the three builders reach it.)

use std::sync::Arc;

use payments_core::{HttpTransport, Transport};

fn transport() -> Arc<dyn Transport> {
    Arc::new(HttpTransport::builder().build().expect("transport"))
}

fn proxy() -> payments_core::Proxy {
    payments_core::Proxy::all("http://user:s3cr3t@127.0.0.1:9").expect("proxy")
}

#[test]
fn each_provider_builder_forwards_the_proxy() {
    let keys = ktwidget::Keypair::generate();
    let kt = ktwidget::Client::builder()
        .app_id("app")
        .app_key(keys.app_key())
        .proxy(proxy())
        .transport(transport())
        .build()
        .expect_err("a proxy beside a transport of one's own is refused");
    let kt = kt.invalid().expect("Invalid");
    assert!(kt.is_about("transport"), "{kt}");
    assert!(!kt.to_string().contains("s3cr3t"), "{kt}");

    let kk = kupikupi::Client::builder()
        .platform_uid("uid")
        .secret_key(kupikupi::Secret::from("key".to_owned()))
        .proxy(proxy())
        .transport(transport())
        .build()
        .expect_err("refused");
    assert!(kk.invalid().expect("Invalid").is_about("transport"), "{kk}");

    let sp = smartpay::Client::builder()
        .credentials("login", smartpay::Secret::from("pw".to_owned()))
        .proxy(proxy())
        .transport(transport())
        .build()
        .expect_err("refused");
    assert!(sp.invalid().expect("Invalid").is_about("transport"), "{sp}");

    // Without the transport, the same builders accept the proxy (and no_proxy()).
    assert!(kupikupi::Client::builder()
        .platform_uid("uid")
        .secret_key(kupikupi::Secret::from("key".to_owned()))
        .proxy(proxy())
        .build()
        .is_ok());
    assert!(smartpay::Client::builder()
        .credentials("login", smartpay::Secret::from("pw".to_owned()))
        .no_proxy()
        .build()
        .is_ok());
}
