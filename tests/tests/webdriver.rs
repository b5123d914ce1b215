//! The WebDriver client against a page of our own on 127.0.0.1: type, click, follow a redirect,
//! take a screenshot.

use axum::response::{Html, Redirect};
use axum::routing::{get, post};
use axum::{Form, Router};
use payments_e2e::webdriver::{browser_or_skip, Browser};
use std::collections::HashMap;
use std::time::Duration;

#[tokio::test]
async fn fills_a_form_and_follows_the_redirect() {
    if !browser_or_skip() {
        return;
    }
    let router = Router::new()
        .route(
            "/form",
            get(|| async {
                Html(
                    r#"<html><body><form method="post" action="/submit">
                    <input id="code" name="code"><button id="go" type="submit">Go</button>
                    </form></body></html>"#,
                )
            }),
        )
        .route(
            "/submit",
            post(|Form(f): Form<HashMap<String, String>>| async move {
                Redirect::to(&format!(
                    "/done?code={}",
                    f.get("code").cloned().unwrap_or_default()
                ))
            }),
        )
        .route("/done", get(|| async { Html("<p id='ok'>done</p>") }));
    let server = payments_sandbox::serve("127.0.0.1:0".parse().unwrap(), router, None)
        .await
        .unwrap();
    let browser = Browser::start().await.unwrap();
    browser
        .goto(&format!("{}/form", server.base_url()))
        .await
        .unwrap();
    browser.type_into("#code", "1234").await.unwrap();
    browser.click("#go").await.unwrap();
    let url = browser
        .wait_for_url(Duration::from_secs(10), |u| u.contains("/done"))
        .await
        .unwrap();
    assert!(url.ends_with("/done?code=1234"), "{url}");
    assert!(browser.source().await.unwrap().contains("done"));
    let png = browser.screenshot().await.unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    browser.quit().await;
    server.shutdown().await;
}
