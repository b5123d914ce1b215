//! The loopback comparison and the sandbox's mixed flows.
//!
//! Every scenario (one provider call) has three contenders — the SDK, raw hyper and reqwest —
//! that run in the same process against the same [`LoopbackServer`], interleaved: each round
//! runs every contender once, in an order that rotates from round to round, so that a noisy
//! neighbour on the machine costs all three alike.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use payments_core::{Amount, Secret};
use serde::Serialize;

use crate::canned;
use crate::raw::{self, BoxFut, HyperWire, RawKtpay, RawKupi, RawSmartpay, ReqwestWire, Wire};
use crate::server::LoopbackServer;

/// One call of one contender: a boxed future that does the whole call.
pub type CallFn = Arc<dyn Fn() -> BoxFut<'static, Result<(), String>> + Send + Sync>;

/// The contenders, in the names the summary uses.
pub const CONTENDERS: [&str; 3] = ["sdk", "raw_hyper", "reqwest"];

/// One provider call with its three contenders.
pub struct Scenario {
    /// `ktpay_create`, `kupikupi_init` or `smartpay_status`.
    pub name: &'static str,
    /// `(contender, call)`, in [`CONTENDERS`] order.
    pub contenders: Vec<(&'static str, CallFn)>,
}

/// How long to measure.
#[derive(Clone, Copy, Debug)]
pub struct Params {
    /// Interleaved rounds.
    pub rounds: u32,
    /// Sequential calls per contender per round (concurrency 1).
    pub c1_calls: u32,
    /// How long each contender runs at concurrency 64 per round.
    pub c64_time: Duration,
    /// The concurrency of the throughput runs.
    pub concurrency: usize,
    /// How long the sandbox's mixed flows run.
    pub sandbox_time: Duration,
}

impl Params {
    /// `--quick`: about a minute of measuring in all.
    pub fn quick() -> Self {
        Params {
            rounds: 10,
            c1_calls: 300,
            c64_time: Duration::from_millis(300),
            concurrency: 64,
            sandbox_time: Duration::from_secs(5),
        }
    }

    /// The full run: a few minutes.
    pub fn full() -> Self {
        Params {
            rounds: 30,
            c1_calls: 1000,
            c64_time: Duration::from_millis(500),
            concurrency: 64,
            sandbox_time: Duration::from_secs(20),
        }
    }
}

/// What one contender measured in one scenario.
#[derive(Clone, Debug, Serialize)]
pub struct Measured {
    /// The contender.
    pub contender: &'static str,
    /// Median latency at concurrency 1, in ns.
    pub median_ns: u64,
    /// 99th percentile latency at concurrency 1, in ns.
    pub p99_ns: u64,
    /// Median latency at concurrency 1 in each round, in ns (the ratios pair them round by
    /// round).
    pub median_rounds: Vec<u64>,
    /// Calls per second at concurrency 64 (all rounds pooled).
    pub throughput: f64,
    /// Calls per second at concurrency 64, per round (the ratios pair them round by round).
    pub throughput_rounds: Vec<f64>,
    /// Calls that failed (must be 0).
    pub errors: u64,
}

/// One scenario's results.
#[derive(Clone, Debug, Serialize)]
pub struct ScenarioResult {
    /// The scenario.
    pub name: &'static str,
    /// Per contender, in [`CONTENDERS`] order.
    pub measured: Vec<Measured>,
}

fn call<F, Fut>(f: F) -> CallFn
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send + 'static,
{
    Arc::new(move || Box::pin(f()))
}

fn ktpay_contender<W: Wire>(wire: W, base: &str) -> Result<CallFn, raw::BoxError> {
    let client = Arc::new(RawKtpay::new(
        wire,
        base,
        canned::KTPAY_APP_ID,
        canned::KTPAY_APP_KEY,
    )?);
    let order = Arc::new(raw::ktpay_request_1kb());
    Ok(call(move || {
        let (client, order) = (client.clone(), order.clone());
        async move {
            client
                .create(&order)
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        }
    }))
}

fn kupi_contender<W: Wire>(wire: W, base: &str) -> CallFn {
    let client = Arc::new(RawKupi::new(
        wire,
        &format!("{base}{}", canned::KUPI_BASE_PATH),
        canned::KUPI_PLATFORM_UID,
        canned::KUPI_SECRET,
    ));
    call(move || {
        let client = client.clone();
        async move {
            client
                .init(79000000001, "order-1", 25_000)
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        }
    })
}

async fn smartpay_contender<W: Wire>(wire: W, base: &str) -> Result<CallFn, raw::BoxError> {
    let client =
        Arc::new(RawSmartpay::connect(wire, base, "kassa-0001", "kassa-password-1").await?);
    Ok(call(move || {
        let client = client.clone();
        async move {
            client
                .status(canned::SMARTPAY_PURCHASE_ID)
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        }
    }))
}

/// Builds the three scenarios against `server`. Call within the client runtime.
pub async fn scenarios(server: &LoopbackServer) -> Result<Vec<Scenario>, raw::BoxError> {
    let base = server.base_url();

    let kt = ktwidget::Client::builder()
        .app_id(canned::KTPAY_APP_ID)
        .app_key_base64(canned::KTPAY_APP_KEY)
        .environment(ktwidget::Environment::Custom(base.parse()?))
        .allow_plain_http_to_loopback()
        .build()?;
    let order = Arc::new(canned::ktpay_order_1kb());
    let sdk_kt = call(move || {
        let (kt, order) = (kt.clone(), order.clone());
        async move {
            kt.create_payment(&order)
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        }
    });

    let kk = kupikupi::Client::builder()
        .platform_uid(canned::KUPI_PLATFORM_UID)
        .secret_key(Secret::from(canned::KUPI_SECRET))
        .base_url(format!("{base}{}", canned::KUPI_BASE_PATH))
        .allow_plain_http_to_loopback()
        .build()?;
    let phone = kupikupi::Phone::new("79000000001")?;
    let order_id = kupikupi::OrderId::new("order-1")?;
    let amount = kupikupi::TransferAmount::from_minor(25_000)?;
    let sdk_kk = call(move || {
        let (kk, phone, order_id) = (kk.clone(), phone, order_id.clone());
        async move {
            kk.init(&phone, &order_id, amount)
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        }
    });

    let sp = smartpay::Client::builder()
        .environment(smartpay::Environment::Custom(base.parse()?))
        .allow_plain_http_to_loopback()
        .credentials("kassa-0001", Secret::from("kassa-password-1"))
        .build()?;
    sp.auth().await?;
    let sdk_sp = call(move || {
        let sp = sp.clone();
        async move {
            sp.purchase_status(canned::SMARTPAY_PURCHASE_ID)
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        }
    });

    let core_transport = Arc::new(payments_core::HttpTransport::builder().build()?);
    let diag = std::env::var_os("PAYMENTS_BENCH_DIAG").is_some();
    let mut kupi = vec![
        ("sdk", sdk_kk),
        ("raw_hyper", kupi_contender(HyperWire::default(), &base)),
        ("reqwest", kupi_contender(ReqwestWire::default(), &base)),
    ];
    if diag {
        kupi.push((
            "core_transport",
            kupi_contender(raw::CoreTransportWire(core_transport.clone()), &base),
        ));
        kupi.push((
            "core_client",
            kupi_contender(
                raw::CoreClientWire(payments_core::HttpClient::with_transport(core_transport)),
                &base,
            ),
        ));
    }
    let mut sp_contenders = vec![
        ("sdk", sdk_sp),
        (
            "raw_hyper",
            smartpay_contender(HyperWire::default(), &base).await?,
        ),
        (
            "reqwest",
            smartpay_contender(ReqwestWire::default(), &base).await?,
        ),
    ];
    if diag {
        let t = Arc::new(payments_core::HttpTransport::builder().build()?);
        sp_contenders.push((
            "core_transport",
            smartpay_contender(raw::CoreTransportWire(t.clone()), &base).await?,
        ));
        sp_contenders.push((
            "core_client",
            smartpay_contender(
                raw::CoreClientWire(payments_core::HttpClient::with_transport(t)),
                &base,
            )
            .await?,
        ));
    }
    Ok(vec![
        Scenario {
            name: "ktpay_create",
            contenders: vec![
                ("sdk", sdk_kt),
                ("raw_hyper", ktpay_contender(HyperWire::default(), &base)?),
                ("reqwest", ktpay_contender(ReqwestWire::default(), &base)?),
            ],
        },
        Scenario {
            name: "kupikupi_init",
            contenders: kupi,
        },
        Scenario {
            name: "smartpay_status",
            contenders: sp_contenders,
        },
    ])
}

async fn c1(call: &CallFn, n: u32, out: &mut Vec<u64>, errors: &mut u64) {
    for _ in 0..n {
        let t = Instant::now();
        let r = call().await;
        out.push(t.elapsed().as_nanos() as u64);
        if r.is_err() {
            *errors += 1;
        }
    }
}

/// Into how many slices each client's concurrency-64 time of a round is cut, the clients taking
/// turns slice by slice.
const C64_SLICES: u32 = 6;

/// Runs `call` at `concurrency` for `time`; returns (calls done, errors, elapsed).
async fn saturate(call: &CallFn, concurrency: usize, time: Duration) -> (u64, u64, Duration) {
    let done = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + time;
    let mut tasks = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let (call, done, errors) = (call.clone(), done.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                if call().await.is_err() {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    (
        done.load(Ordering::Relaxed),
        errors.load(Ordering::Relaxed),
        start.elapsed(),
    )
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

/// Measures one scenario, interleaving its contenders.
pub async fn measure(s: &Scenario, p: Params) -> ScenarioResult {
    let n = s.contenders.len();
    // Warm up: fill every pool, touch every code path.
    for (_, call) in &s.contenders {
        let _ = saturate(call, p.concurrency, Duration::from_millis(200)).await;
        let mut sink = Vec::new();
        c1(call, 50, &mut sink, &mut 0).await;
    }
    let mut lat: Vec<Vec<u64>> = vec![Vec::new(); n];
    let mut errs = vec![0u64; n];
    let mut calls = vec![0u64; n];
    let mut time = vec![Duration::ZERO; n];
    let mut per_round: Vec<Vec<f64>> = vec![Vec::new(); n];
    let mut medians: Vec<Vec<u64>> = vec![Vec::new(); n];
    for round in 0..p.rounds as usize {
        // Concurrency 1, interleaved call by call (the order rotating every call), so that
        // the machine's changing state (a neighbour's load, the vCPU's wake-up latency, which
        // moves a single call by ±50% here) falls on every client alike.
        let mut this_round = vec![Vec::with_capacity(p.c1_calls as usize); n];
        for j in 0..p.c1_calls as usize {
            for k in 0..n {
                let i = (round + j + k) % n;
                c1(&s.contenders[i].1, 1, &mut this_round[i], &mut errs[i]).await;
            }
        }
        for (i, mut samples) in this_round.into_iter().enumerate() {
            lat[i].extend_from_slice(&samples);
            samples.sort_unstable();
            medians[i].push(percentile(&samples, 0.5));
        }
        // Concurrency 64, interleaved in short slices (the order rotating every slice) for
        // the same reason.
        let slice = p.c64_time / C64_SLICES;
        let mut round_calls = vec![0u64; n];
        let mut round_time = vec![Duration::ZERO; n];
        for j in 0..C64_SLICES as usize {
            for k in 0..n {
                let i = (round + n - k + j) % n;
                let (done, e, elapsed) = saturate(&s.contenders[i].1, p.concurrency, slice).await;
                round_calls[i] += done;
                round_time[i] += elapsed;
                errs[i] += e;
            }
        }
        for i in 0..n {
            calls[i] += round_calls[i];
            time[i] += round_time[i];
            per_round[i].push(round_calls[i] as f64 / round_time[i].as_secs_f64().max(1e-9));
        }
    }
    let measured = (0..n)
        .map(|i| {
            lat[i].sort_unstable();
            Measured {
                contender: s.contenders[i].0,
                median_ns: percentile(&lat[i], 0.5),
                p99_ns: percentile(&lat[i], 0.99),
                throughput: calls[i] as f64 / time[i].as_secs_f64().max(1e-9),
                throughput_rounds: std::mem::take(&mut per_round[i]),
                median_rounds: std::mem::take(&mut medians[i]),
                errors: errs[i],
            }
        })
        .collect();
    ScenarioResult {
        name: s.name,
        measured,
    }
}

/// Runs the whole loopback comparison: a server thread with one worker, and the clients on a
/// runtime with one worker.
///
/// `only` restricts the run to the named scenarios (all when empty).
pub fn run_loopback(p: Params, only: &[String]) -> Result<Vec<ScenarioResult>, raw::BoxError> {
    let server = LoopbackServer::start()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let results = rt.block_on(async {
        let scenarios = scenarios(&server).await?;
        let mut out = Vec::new();
        for s in scenarios
            .iter()
            .filter(|s| only.is_empty() || only.iter().any(|o| o == s.name))
        {
            eprintln!("  loopback: {} ...", s.name);
            out.push(measure(s, p).await);
        }
        Ok::<_, raw::BoxError>(out)
    })?;
    Ok(results)
}

/// Runs one contender of one scenario alone at concurrency 64 for `time` (for a profiler such
/// as `perf record` or `valgrind --tool=callgrind`); returns the calls it completed and the time
/// they took.
pub fn run_alone(
    scenario: &str,
    contender: &str,
    time: Duration,
) -> Result<(u64, Duration), raw::BoxError> {
    let server = LoopbackServer::start()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let scenarios = scenarios(&server).await?;
        let call = scenarios
            .iter()
            .find(|s| s.name == scenario)
            .and_then(|s| s.contenders.iter().find(|c| c.0 == contender))
            .map(|c| c.1.clone())
            .ok_or("no such scenario or contender")?;
        let (done, _, elapsed) = saturate(&call, 64, time).await;
        Ok((done, elapsed))
    })
}

/// The sandbox's mixed load: `workers` concurrent loops, each running full flows in turn —
/// Ktpay (create → pay on the widget → status), Kupi-Kupi (balance → init → checkout) and Smart
/// Pay (commit → release → poll to success → confirm), against the three emulators on
/// 127.0.0.1 (Smart Pay over mutual TLS). Returns completed flows per second.
pub fn run_sandbox(time: Duration, workers: usize) -> Result<(f64, u64), raw::BoxError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        use payments_sandbox::{ktwidget as skt, kupikupi as skk, smartpay as ssp};
        let kt_emu = skt::start(skt::Config::default()).await?;
        let kk_emu = skk::start(skk::Config::default()).await?;
        let sp_emu =
            ssp::start(ssp::Config::default().with_processing(Duration::from_millis(1))).await?;

        let kt = ktwidget::Client::builder()
            .app_id(kt_emu.app_id())
            .app_key_base64(&kt_emu.app_key_base64())
            .environment(ktwidget::Environment::Custom(kt_emu.base_url().parse()?))
            .allow_plain_http_to_loopback()
            .build()?;
        let kk = kupikupi::Client::builder()
            .platform_uid(kk_emu.platform_uid())
            .secret_key(Secret::from(kk_emu.secret_key()))
            .base_url(kk_emu.base_url())
            .allow_plain_http_to_loopback()
            .build()?;
        let certs = sp_emu.certificates();
        let (login, password) = sp_emu.credentials();
        let sp = smartpay::Client::builder()
            .environment(smartpay::Environment::Custom(sp_emu.base_url().parse()?))
            .client_identity_pem(
                certs.client_cert_pem.clone(),
                Secret::from(certs.client_key_pem.clone()),
            )
            .ca_pem(certs.ca_pem.clone())
            .credentials(login, Secret::from(password))
            .poll_policy(
                smartpay::DEFAULT_POLL_POLICY
                    .to_builder()
                    .interval(Duration::from_millis(2))
                    .max_interval(Duration::from_millis(10))
                    .build()?,
            )
            .build()?;
        let ids = Arc::new(smartpay::KassaIdGenerator::new());
        let kt_emu = Arc::new(kt_emu);
        let done = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let seq = Arc::new(AtomicU64::new(0));
        let start = Instant::now();
        let deadline = start + time;
        let mut tasks = Vec::new();
        for w in 0..workers {
            let (kt, kk, sp, ids, kt_emu) = (
                kt.clone(),
                kk.clone(),
                sp.clone(),
                ids.clone(),
                kt_emu.clone(),
            );
            let (done, failed, seq) = (done.clone(), failed.clone(), seq.clone());
            tasks.push(tokio::spawn(async move {
                let mut i = w;
                while Instant::now() < deadline {
                    let n = seq.fetch_add(1, Ordering::Relaxed);
                    let ok = match i % 3 {
                        0 => ktpay_flow(&kt, &kt_emu, n).await,
                        1 => kupi_flow(&kk, n).await,
                        _ => smartpay_flow(&sp, &ids, n).await,
                    };
                    match ok {
                        Ok(()) => done.fetch_add(1, Ordering::Relaxed),
                        Err(e) => {
                            if failed.fetch_add(1, Ordering::Relaxed) < 3 {
                                eprintln!("  sandbox flow failed: {e}");
                            }
                            0
                        }
                    };
                    i += 1;
                }
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
        let elapsed = start.elapsed().as_secs_f64();
        sp_emu.shutdown().await;
        kk_emu.shutdown().await;
        if let Ok(e) = Arc::try_unwrap(kt_emu) {
            e.shutdown().await;
        }
        Ok((
            done.load(Ordering::Relaxed) as f64 / elapsed,
            failed.load(Ordering::Relaxed),
        ))
    })
}

async fn ktpay_flow(
    kt: &ktwidget::Client,
    emu: &payments_sandbox::ktwidget::Emulator,
    n: u64,
) -> Result<(), raw::BoxError> {
    let order = ktwidget::Order::builder(format!("flow-{n}"), Amount::from_minor(10_050 + n % 100))
        .description("sandbox flow")
        .build()?;
    let created = kt.create_payment(&order).await?;
    emu.pay(
        created.transaction_hash.as_str(),
        payments_sandbox::ktwidget::CARD_SUCCESS,
    )?;
    let status = kt.payment_status(&created.transaction_hash).await?;
    if !status.status.status.is_completed() {
        return Err("the Ktpay payment did not complete".into());
    }
    Ok(())
}

async fn kupi_flow(kk: &kupikupi::Client, n: u64) -> Result<(), raw::BoxError> {
    let phone = kupikupi::Phone::new("79000000001")?;
    let order = kupikupi::OrderId::new(format!("flow-{n}"))?;
    let amount = kupikupi::TransferAmount::from_minor(100 + n % 100)?;
    kk.balance(&phone).await?;
    kk.init(&phone, &order, amount).await?;
    kk.checkout(&order, amount).await?;
    Ok(())
}

async fn smartpay_flow(
    sp: &smartpay::Client,
    ids: &smartpay::KassaIdGenerator,
    n: u64,
) -> Result<(), raw::BoxError> {
    use base64::Engine as _;
    // Each purchase needs its own one-time code.
    let otp = base64::engine::general_purpose::STANDARD.encode(format!("otp.{n}.1700000000"));
    let qr = smartpay::QrCode::from_parts(&format!("7000{n}"), &otp, "c2lnbmF0dXJl")?;
    let committed = sp.commit_code(&qr, &ids.next_id()).await?;
    let mut released = committed.release(Amount::from_minor(125_050)).await?;
    let outcome = released.wait_for_status(Duration::from_secs(10)).await?;
    if outcome != smartpay::PurchaseOutcome::Paid {
        return Err(format!("Smart Pay purchase ended {outcome:?}").into());
    }
    released.confirm().await?;
    Ok(())
}
