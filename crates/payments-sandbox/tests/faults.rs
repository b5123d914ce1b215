//! Fault injection on real loopback servers, with raw TCP clients: each kind is applied as
//! documented (a forced status and a reset never reach the emulator, a delay and a truncation
//! do), and a fault expires after its `times`.
#![cfg(feature = "kupikupi")]

use std::time::{Duration, Instant};

use payments_sandbox::kupikupi::{self, Config};
use payments_sandbox::{Fault, Provider};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BALANCE: &str = "/api/v1/transfer/balance";

/// What a raw HTTP/1.1 exchange gave: the bytes read, and the read error if the connection
/// failed instead of closing.
struct Exchange {
    bytes: Vec<u8>,
    error: Option<std::io::Error>,
}

impl Exchange {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    fn status(&self) -> Option<u16> {
        self.text().get(9..12)?.parse().ok()
    }

    /// The declared Content-Length and the body length received.
    fn lengths(&self) -> (usize, usize) {
        let text = self.text();
        let (head, body) = text.split_once("\r\n\r\n").expect("a head");
        let declared = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse().ok())?
            })
            .expect("content-length");
        (declared, body.len())
    }
}

async fn post(root: &str, path: &str, body: &str) -> Exchange {
    let host = root.trim_start_matches("http://");
    let mut tcp = tokio::net::TcpStream::connect(host).await.unwrap();
    let req = format!(
        "POST {path} HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut bytes = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tcp.read(&mut buf).await {
            Ok(0) => return Exchange { bytes, error: None },
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
            Err(e) => {
                return Exchange {
                    bytes,
                    error: Some(e),
                }
            }
        }
    }
}

async fn emulator() -> kupikupi::Emulator {
    kupikupi::start(Config::default()).await.unwrap()
}

#[tokio::test]
async fn a_forced_status_never_reaches_the_emulator_and_expires_after_n() {
    let emu = emulator().await;
    let id = emu
        .faults()
        .inject(Fault::status(503).on(Provider::Kupikupi, BALANCE).times(2))
        .unwrap();
    for _ in 0..2 {
        let x = post(emu.root_url(), BALANCE, "{}").await;
        assert_eq!(x.status(), Some(503), "{}", x.text());
        assert!(
            x.text().ends_with("sandbox fault: status 503\n"),
            "{}",
            x.text()
        );
    }
    // The emulator saw none of them: its own refusal of an unsigned call is not counted.
    assert_eq!(emu.rejected_requests(), 0);
    assert!(!emu.faults().is_active(id));
    assert_eq!(emu.faults().applied(id), 2);
    // Expired: the third call reaches the emulator, which refuses the missing platform (400).
    let x = post(emu.root_url(), BALANCE, "{}").await;
    assert_eq!(x.status(), Some(400), "{}", x.text());
    assert_eq!(emu.rejected_requests(), 1);
    // Another path of the same emulator was never affected.
    let x = post(emu.root_url(), "/api/v1/transfer/init", "{}").await;
    assert_eq!(x.status(), Some(400), "{}", x.text());
    emu.shutdown().await;
}

#[tokio::test]
async fn a_reset_sends_no_answer_and_the_call_never_reaches_the_emulator() {
    let emu = emulator().await;
    let id = emu
        .faults()
        .inject(Fault::reset().on(Provider::Kupikupi, BALANCE).times(1))
        .unwrap();
    let x = post(emu.root_url(), BALANCE, "{}").await;
    assert!(x.bytes.is_empty(), "{}", x.text());
    let kind = x.error.as_ref().map(|e| e.kind());
    assert_eq!(
        kind,
        Some(std::io::ErrorKind::ConnectionReset),
        "{:?}",
        x.error
    );
    assert_eq!(emu.rejected_requests(), 0);
    assert_eq!(emu.faults().applied(id), 1);
    // Expired after one call.
    let x = post(emu.root_url(), BALANCE, "{}").await;
    assert_eq!(x.status(), Some(400), "{}", x.text());
    emu.shutdown().await;
}

#[tokio::test]
async fn a_truncated_answer_is_cut_after_the_emulator_handled_the_call() {
    let emu = emulator().await;
    emu.faults()
        .inject(Fault::truncate().on(Provider::Kupikupi, BALANCE).times(1))
        .unwrap();
    let x = post(emu.root_url(), BALANCE, "{}").await;
    assert_eq!(x.status(), Some(400), "{}", x.text());
    let (declared, got) = x.lengths();
    assert!(declared > 0);
    assert_eq!(got, declared / 2, "{}", x.text());
    // The emulator handled it (and counted its refusal).
    assert_eq!(emu.rejected_requests(), 1);
    // Expired: the next answer is whole.
    let x = post(emu.root_url(), BALANCE, "{}").await;
    let (declared, got) = x.lengths();
    assert_eq!(got, declared, "{}", x.text());
    assert!(x.error.is_none());
    emu.shutdown().await;
}

#[tokio::test]
async fn a_delay_holds_the_answer_then_passes_the_call_on() {
    let emu = emulator().await;
    let delay = Duration::from_millis(300);
    let id = emu
        .faults()
        .inject(Fault::delay(delay).on(Provider::Kupikupi, BALANCE).times(1))
        .unwrap();
    let started = Instant::now();
    let x = post(emu.root_url(), BALANCE, "{}").await;
    // A lower bound only: a sleep never ends early, however slow the machine.
    assert!(started.elapsed() >= delay);
    assert_eq!(x.status(), Some(400), "{}", x.text());
    assert_eq!(emu.rejected_requests(), 1);
    // Expired: a second call is not delayed by it.
    post(emu.root_url(), BALANCE, "{}").await;
    assert_eq!(emu.faults().applied(id), 1);
    assert!(!emu.faults().is_active(id));
    emu.shutdown().await;
}

#[cfg(feature = "ktwidget")]
#[tokio::test]
async fn every_kth_call_and_wildcards_on_the_sandbox_table() {
    use payments_sandbox::{Sandbox, SandboxConfig};
    let sandbox = Sandbox::start(
        SandboxConfig::default().with_fault(
            Fault::status(502)
                .on(Provider::Ktwidget, "/api/v1/merchant-widget/payment/*")
                .every(2)
                .times(2),
        ),
    )
    .await
    .unwrap();
    let kt = &sandbox.info().ktwidget.api_base;
    let kk = &sandbox.info().kupikupi.api_base;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let x = post(kt, "/api/v1/merchant-widget/payment/abc/cancel", "{}").await;
        statuses.push(
            post(kt, "/api/v1/merchant-widget/payment/abc", "")
                .await
                .status(),
        );
        // `*` is one segment: the cancel call (two segments more) is never faulted.
        assert_ne!(x.status(), Some(502));
    }
    let s = |n| Some(n);
    let real = statuses[0];
    assert_ne!(real, s(502));
    assert_eq!(statuses, [real, s(502), real, s(502), real, real]);
    // The table is the sandbox's: a Kupi-Kupi fault injected later applies to Kupi-Kupi only.
    let id = sandbox
        .faults()
        .inject(Fault::status(429).on(Provider::Kupikupi, "*"))
        .unwrap();
    assert_eq!(post(kk, BALANCE, "{}").await.status(), Some(429));
    assert_ne!(
        post(kt, "/api/v1/merchant-widget/payment/abc", "")
            .await
            .status(),
        Some(429)
    );
    assert!(sandbox.faults().remove(id));
    assert_eq!(post(kk, BALANCE, "{}").await.status(), Some(400));
    // An invalid fault in the configuration is refused at start.
    let err = Sandbox::start(
        SandboxConfig::default().with_fault(Fault::reset().on(Provider::Kupikupi, "no-slash")),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("no-slash"), "{err}");
    sandbox.shutdown().await;
}
