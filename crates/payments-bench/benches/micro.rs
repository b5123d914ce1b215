//! Criterion micro-benchmarks: sealing a 1 KB Ktpay order, the Kupi-Kupi token, parsing each
//! inbound body (Ktpay callback, Kupi-Kupi notification, Smart Pay QR) and `Amount` formatting.
//! `cargo xtask bench` reads their medians into `summary.json`.

// `criterion_group!` defines an undocumented function.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use payments_bench::canned;
use payments_core::{Amount, RequestSigner, Secret};

fn seal(c: &mut Criterion) {
    let key = ktwidget::AppKey::from_base64(canned::KTPAY_APP_KEY).unwrap();
    let sealer = ktwidget::Sealer::new(canned::KTPAY_APP_ID, key).unwrap();
    let order = payments_bench::raw::ktpay_request_1kb();
    // The SDK's sealer: serialise, seal, base64, headers.
    c.bench_function("ktpay_seal_1kb", |b| {
        b.iter(|| sealer.sign(black_box(&order)).unwrap())
    });
}

fn token(c: &mut Criterion) {
    let signer = kupikupi::TokenSigner::new(Secret::from(canned::KUPI_SECRET));
    let params = serde_json::json!({
        "platformUid": canned::KUPI_PLATFORM_UID, "phone": 79000000001u64,
        "orderId": "order-1", "amount": 25000
    });
    let params = params.as_object().unwrap().clone();
    let secret = Secret::from(canned::KUPI_SECRET);
    c.bench_function("kupikupi_token", |b| {
        b.iter(|| kupikupi::token(black_box(&params), &secret).unwrap())
    });
    c.bench_function("kupikupi_sign_request", |b| {
        b.iter(|| signer.sign(black_box(&params)).unwrap())
    });
}

fn parse(c: &mut Criterion) {
    c.bench_function("ktpay_callback_parse", |b| {
        b.iter(|| ktwidget::CallbackHint::parse(black_box(canned::KTPAY_CALLBACK)).unwrap())
    });
    c.bench_function("kupikupi_notification_parse", |b| {
        b.iter(|| kupikupi::Notification::parse(black_box(canned::KUPI_NOTIFICATION)).unwrap())
    });
    c.bench_function("smartpay_qr_parse", |b| {
        b.iter(|| smartpay::QrCode::parse(black_box(canned::SMARTPAY_QR)).unwrap())
    });
}

fn amount(c: &mut Criterion) {
    let a = Amount::from_minor(123_456_789);
    c.bench_function("amount_format", |b| b.iter(|| black_box(a).to_string()));
}

criterion_group!(benches, seal, token, parse, amount);
criterion_main!(benches);
