//! The server harness against hostile clients, with real TCP clients on 127.0.0.1: a stalled
//! request head is cut off, and the connection cap holds.

use std::time::Duration;

use axum::routing::get;
use axum::Router;
use payments_sandbox::server::{serve_with_limits, InvalidLimits, Limits, RunningServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long a test waits for the server to close a stalled connection. Far above the 200 ms
/// head timeout, so only a server without the timeout fails it.
const CUT_OFF_WITHIN: Duration = Duration::from_secs(10);

async fn server(limits: Limits) -> RunningServer {
    let router = Router::new().route("/ping", get(|| async { "pong" }));
    serve_with_limits("127.0.0.1:0".parse().unwrap(), router, None, limits)
        .await
        .unwrap()
}

fn short_head_timeout() -> Limits {
    Limits::new(Duration::from_millis(200), 16).unwrap()
}

/// Sends `bytes`, then reads until the server closes the connection. Returns what was read, or
/// `None` if the connection was still open after [`CUT_OFF_WITHIN`].
async fn send_and_wait_for_close(stream: &mut TcpStream, bytes: &[u8]) -> Option<String> {
    stream.write_all(bytes).await.unwrap();
    let mut out = Vec::new();
    let read = tokio::time::timeout(CUT_OFF_WITHIN, async {
        let mut buf = [0u8; 1024];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    read.ok()
        .map(|()| String::from_utf8_lossy(&out).into_owned())
}

const PING: &[u8] = b"GET /ping HTTP/1.1\r\nhost: x\r\n\r\n";

#[tokio::test]
async fn half_a_request_head_then_a_stall_is_cut_off() {
    let server = server(short_head_timeout()).await;
    let mut tcp = TcpStream::connect(server.addr()).await.unwrap();
    let got = send_and_wait_for_close(&mut tcp, b"GET /ping HTTP/1.1\r\nhost: x\r\nx-slow: ")
        .await
        .expect("the server closes a connection whose head stalls");
    assert!(!got.contains("pong"), "{got}");
    server.shutdown().await;
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_cut_off() {
    let server = server(short_head_timeout()).await;
    let mut tcp = TcpStream::connect(server.addr()).await.unwrap();
    let got = send_and_wait_for_close(&mut tcp, b"").await;
    assert_eq!(got.as_deref(), Some(""), "closed without an answer");
    server.shutdown().await;
}

#[tokio::test]
async fn half_an_http2_preface_then_a_stall_is_cut_off() {
    let server = server(short_head_timeout()).await;
    let mut tcp = TcpStream::connect(server.addr()).await.unwrap();
    let got = send_and_wait_for_close(&mut tcp, b"PRI * HTTP/2.0\r\n").await;
    assert_eq!(got.as_deref(), Some(""), "closed without an answer");
    server.shutdown().await;
}

#[tokio::test]
async fn a_stalled_second_head_on_a_kept_alive_connection_is_cut_off() {
    let server = server(short_head_timeout()).await;
    let mut tcp = TcpStream::connect(server.addr()).await.unwrap();
    tcp.write_all(PING).await.unwrap();
    let mut first = vec![0u8; 1024];
    let n = tcp.read(&mut first).await.unwrap();
    let first = String::from_utf8_lossy(&first[..n]).into_owned();
    assert!(
        first.starts_with("HTTP/1.1 200") && first.ends_with("pong"),
        "{first}"
    );
    let got = send_and_wait_for_close(&mut tcp, b"GET /ping HTTP/1.1\r\nho")
        .await
        .expect("the server closes a kept-alive connection whose next head stalls");
    assert!(!got.contains("pong"), "{got}");
    server.shutdown().await;
}

#[tokio::test]
async fn a_whole_head_within_the_timeout_is_served() {
    let server = server(short_head_timeout()).await;
    let mut tcp = TcpStream::connect(server.addr()).await.unwrap();
    let got = send_and_wait_for_close(
        &mut tcp,
        b"GET /ping HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    )
    .await
    .unwrap();
    assert!(
        got.starts_with("HTTP/1.1 200") && got.ends_with("pong"),
        "{got}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn no_more_connections_than_the_cap_are_served() {
    // A long head timeout, so that only the cap holds the third client back.
    let server = server(Limits::new(Duration::from_secs(30), 2).unwrap()).await;
    let idle_1 = TcpStream::connect(server.addr()).await.unwrap();
    let idle_2 = TcpStream::connect(server.addr()).await.unwrap();
    // The kernel completes the third handshake (the backlog), but the server does not serve it
    // while the two idle connections hold both slots.
    let mut third = TcpStream::connect(server.addr()).await.unwrap();
    third.write_all(PING).await.unwrap();
    let mut buf = [0u8; 1024];
    let early = tokio::time::timeout(Duration::from_millis(500), third.read(&mut buf)).await;
    assert!(
        early.is_err(),
        "a third connection was served beyond the cap of 2"
    );
    // One slot frees: the waiting client is served.
    drop(idle_1);
    let n = tokio::time::timeout(CUT_OFF_WITHIN, third.read(&mut buf))
        .await
        .expect("served once a slot is free")
        .unwrap();
    let got = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");
    drop(idle_2);
    server.shutdown().await;
}

#[test]
fn limits_are_checked_when_built() {
    assert_eq!(
        Limits::new(Duration::ZERO, 1),
        Err(InvalidLimits::HeaderReadTimeout(Duration::ZERO))
    );
    assert!(Limits::new(Duration::from_millis(30_001), 1).is_err());
    assert!(Limits::new(Duration::from_secs(30), 1).is_ok());
    assert_eq!(
        Limits::new(Duration::from_secs(1), 0),
        Err(InvalidLimits::MaxConnections(0))
    );
    assert!(Limits::new(Duration::from_secs(1), usize::MAX).is_err());
    let default = Limits::default();
    assert!(default.header_read_timeout() <= Limits::MAX_HEADER_READ_TIMEOUT);
    assert!(default.max_connections() >= 1);
    assert!(InvalidLimits::MaxConnections(0)
        .to_string()
        .contains("connection cap"));
}
