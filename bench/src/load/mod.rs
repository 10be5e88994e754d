//! `weft-load`: a load generator for the relay server `weft-server`, and for the y-websocket
//! server as a peer, on loopback.
//!
//! The generator starts the server itself, opens R rooms × C clients (tokio-tungstenite
//! WebSockets speaking the real protocol: Weft's `Hello`/`Join`/`Update`/`Ack` through
//! `weft::sync::Session`, or the Yjs sync protocol), lets writers edit their room's text on a
//! timer, and measures on one clock — it owns every client — the latency from an edit's send to
//! its arrival at each peer and to its ack, delivered frames per second, the server's resident
//! memory (`/proc/<pid>/status`), errors, and, across `kill -9` and restart of the server,
//! acknowledged edits lost. See `bench/README.md` for the scenarios and how to read the results.

mod metrics;
mod procs;
mod results;
mod shared;
mod stats;
mod weft_client;
mod yjs_client;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio::sync::watch;

pub use results::{
    Bar, END_MARKER, RunRecord, START_MARKER, bars, final_json, merge_runs, render_section,
    write_results,
};

use procs::{Server, ServerSpec, TempDir};
use shared::{Rng, Room, ServerState, Shared, Verified};
use stats::ErrorKind;
use weft_client::ClientSpec;

use crate::{Error, Result};

/// The server under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// `weft-server` (durable: SQLite, acks after commit).
    Weft,
    /// The y-websocket server (npm `y-websocket@2`, documents in memory).
    YWebsocket,
}

impl Target {
    /// The name used in results.
    pub fn name(self) -> &'static str {
        match self {
            Target::Weft => "weft",
            Target::YWebsocket => "y-websocket",
        }
    }
}

/// A load scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// 1,000 connections over 100 rooms, one `kill -9` and restart with verification; under
    /// two minutes.
    Quick,
    /// 10,000 connections: 1,000 rooms × 10 clients, one edit per client every 2 s.
    TenK,
    /// One writer and 1,000 watchers in one room at 20 edits/s.
    Watchers,
    /// 2,000 updates/s (100 rooms × 2 clients × 10 edits/s), for the ack latency.
    Ack,
    /// 20 `kill -9` trials under 2,000 updates/s, checking every acknowledged edit after each.
    Durability,
}

impl Scenario {
    /// Every scenario, in the order `--scenario all` runs them.
    pub const ALL: [Scenario; 5] = [
        Scenario::Quick,
        Scenario::TenK,
        Scenario::Watchers,
        Scenario::Ack,
        Scenario::Durability,
    ];

    /// The name used on the command line and in results.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Quick => "quick",
            Scenario::TenK => "10k",
            Scenario::Watchers => "watchers",
            Scenario::Ack => "ack",
            Scenario::Durability => "durability",
        }
    }

    /// The scenario with this name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Whether the scenario runs against `target` (y-websocket has no durable store, so it
    /// skips the durability scenario).
    pub fn applies_to(self, target: Target) -> bool {
        !(self == Scenario::Durability && target == Target::YWebsocket)
    }

    fn plan(self, target: Target) -> Plan {
        let durable = target == Target::Weft;
        let base = Plan {
            rooms: 100,
            writers: 10,
            watchers: 0,
            interval: Duration::from_secs(1),
            warmup: Duration::from_secs(3),
            measure: Duration::from_secs(15),
            kills: 0,
            kill_after: (Duration::from_millis(500), Duration::from_millis(2000)),
            after_kills: Duration::from_secs(3),
        };
        match self {
            Scenario::Quick => Plan {
                kills: usize::from(durable),
                ..base
            },
            Scenario::TenK => Plan {
                rooms: 1000,
                interval: Duration::from_secs(2),
                warmup: Duration::from_secs(5),
                measure: Duration::from_secs(60),
                ..base
            },
            Scenario::Watchers => Plan {
                rooms: 1,
                writers: 1,
                watchers: 1000,
                interval: Duration::from_millis(50),
                measure: Duration::from_secs(30),
                ..base
            },
            Scenario::Ack => Plan {
                writers: 2,
                interval: Duration::from_millis(100),
                measure: Duration::from_secs(30),
                ..base
            },
            Scenario::Durability => Plan {
                rooms: 20,
                writers: 5,
                interval: Duration::from_millis(50),
                warmup: Duration::from_secs(2),
                measure: Duration::from_secs(10),
                kills: if durable { 20 } else { 0 },
                kill_after: (Duration::from_millis(300), Duration::from_millis(1500)),
                ..base
            },
        }
    }
}

/// What a scenario does.
#[derive(Clone, Copy, Debug)]
struct Plan {
    rooms: usize,
    /// Writers per room.
    writers: usize,
    /// Watchers (clients that only receive) per room.
    watchers: usize,
    /// Time between a writer's edits.
    interval: Duration,
    /// Editing before measuring.
    warmup: Duration,
    /// The measured window.
    measure: Duration,
    /// `kill -9` trials after the measured window.
    kills: usize,
    /// Editing time before each kill (uniform in the range).
    kill_after: (Duration, Duration),
    /// Editing after the last restart, before the final verification.
    after_kills: Duration,
}

impl Plan {
    fn clients(&self) -> usize {
        self.rooms * (self.writers + self.watchers)
    }
}

/// Settings of a run.
#[derive(Clone, Debug)]
pub struct Options {
    /// The `weft-server` executable.
    pub weft_server: PathBuf,
    /// The y-websocket server executable (`node_modules/.bin/y-websocket`).
    pub y_websocket: PathBuf,
    /// Overrides the measured window's length.
    pub measure: Option<Duration>,
    /// Overrides the number of rooms.
    pub rooms: Option<usize>,
    /// Where temporary data directories go (the system's temporary directory by default).
    /// Weft's commits are fsynced there, so it should be a real disk, not tmpfs.
    pub data_parent: Option<PathBuf>,
    /// Seed for timer phases, jitter and kill times.
    pub seed: u64,
    /// Print progress lines to standard error.
    pub progress: bool,
    /// The command line that started the run, as recorded in results.
    pub command: String,
}

/// Open files each process needs beyond one per connection (verification connections, the
/// metrics scrape, logs, the store's files)…
const FD_NEEDED_SPARE: u64 = 256;
/// …and the margin the generator asks for when it raises its limit.
const FD_WANTED_SPARE: u64 = 1024;
/// Handshakes under way at once during a ramp.
const CONCURRENT_HANDSHAKES: usize = 128;
/// Waiting for late deliveries and acks gives up after this long without progress…
const STALL: Duration = Duration::from_secs(15);
/// …or after this long in all.
const SETTLE_MAX: Duration = Duration::from_secs(180);

fn err(e: impl std::fmt::Display) -> Error {
    Error::new(e.to_string())
}

/// Polls `f` every 50 ms until it holds or `within` passes; whether it held.
async fn wait_until(within: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `remaining()` is zero, or stops falling for [`STALL`], or [`SETTLE_MAX`] passes;
/// returns what remains.
async fn settle(mut remaining: impl FnMut() -> u64) -> u64 {
    let start = Instant::now();
    let mut best = remaining();
    let mut progress = Instant::now();
    while best > 0 && progress.elapsed() < STALL && start.elapsed() < SETTLE_MAX {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = remaining();
        if now < best {
            best = now;
            progress = Instant::now();
        }
    }
    best
}

/// The client tasks of a run, aborted when dropped (also when the run fails).
struct Tasks(Vec<tokio::task::JoinHandle<()>>);

impl Drop for Tasks {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}

/// Runs `f` on the blocking pool (process start, kill, restart).
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(err)
}

/// Runs one scenario against one server and returns its record. Every process it starts is
/// killed before it returns, also when it fails or its future is dropped.
pub async fn run(scenario: Scenario, target: Target, opts: &Options) -> Result<RunRecord> {
    let mut plan = scenario.plan(target);
    if let Some(rooms) = opts.rooms {
        plan.rooms = rooms;
    }
    if let Some(m) = opts.measure {
        plan.measure = m;
    }
    let started = Instant::now();
    let label = format!("{}/{}", scenario.name(), target.name());
    let say = |msg: String| {
        if opts.progress {
            eprintln!("[{label} {:6.1}s] {msg}", started.elapsed().as_secs_f64());
        }
    };
    let total = plan.clients();
    let nofile = procs::raise_nofile(total as u64 + FD_WANTED_SPARE).map_err(err)?;
    if let Some(why) = procs::nofile_problem(nofile, total as u64 + FD_NEEDED_SPARE, total) {
        return Err(Error::new(why));
    }
    let tmp = TempDir::new(opts.data_parent.as_deref(), scenario.name()).map_err(err)?;
    let spec = ServerSpec {
        target,
        bin: match target {
            Target::Weft => opts.weft_server.clone(),
            Target::YWebsocket => opts.y_websocket.clone(),
        },
        data_dir: tmp.path().join("data"),
        log: tmp.path().join("server.log"),
    };
    let mut server = blocking(move || Server::start(spec, None))
        .await?
        .map_err(err)?;
    let addr = server.addr();
    say(format!("server up at {addr} (pid {:?})", server.pid()));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let baseline = server.mem().map_or(0, |m| m.rss);

    let (srv_tx, srv_rx) = watch::channel(ServerState {
        addr,
        up: true,
        epoch: 0,
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let sh = Arc::new(Shared::new(srv_rx, stop_rx, CONCURRENT_HANDSHAKES));
    let rooms: Vec<Arc<Room>> = (0..plan.rooms)
        .map(|i| {
            Arc::new(Room::new(
                format!("load-{}-{i}", scenario.name()),
                plan.writers + plan.watchers,
            ))
        })
        .collect();

    // Clients, interleaved across rooms so a partial ramp still spreads over every room.
    let mut rng = Rng::new(opts.seed);
    let mut tasks = Tasks(Vec::with_capacity(total));
    let per_room = plan.writers + plan.watchers;
    for j in 0..per_room {
        for room in &rooms {
            let spec = ClientSpec {
                id: u32::try_from(tasks.0.len()).unwrap_or(u32::MAX),
                writer: j < plan.writers,
                interval: plan.interval,
                seed: rng.next_u64(),
            };
            let sh = Arc::clone(&sh);
            let room = Arc::clone(room);
            tasks.0.push(match target {
                Target::Weft => tokio::spawn(weft_client::run(sh, room, spec)),
                Target::YWebsocket => tokio::spawn(yjs_client::run(sh, room, spec)),
            });
        }
    }
    let ramp_timeout = Duration::from_secs(30) + Duration::from_millis(10 * total as u64);
    let all_synced = wait_until(ramp_timeout, || {
        sh.synced.load(Ordering::Relaxed) >= total as i64
    })
    .await;
    let ramp_s = started.elapsed().as_secs_f64();
    say(format!(
        "{} of {total} clients connected and synced{}",
        sh.synced.load(Ordering::Relaxed),
        if all_synced { "" } else { " (ramp timed out)" }
    ));

    // Warm up, then measure.
    sh.editing.store(true, Ordering::Relaxed);
    let mut peak = server.mem().unwrap_or_default();
    let warm_end = Instant::now() + plan.warmup;
    while Instant::now() < warm_end {
        tokio::time::sleep(Duration::from_millis(250)).await;
        peak.rss = peak.rss.max(server.mem().map_or(0, |m| m.rss));
    }
    if target == Target::Weft
        && sh.counts.acked.load(Ordering::Relaxed) == 0
        && sh.errors.get(ErrorKind::AckRejected) > 0
    {
        return Err(Error::new(format!(
            "the server rejected every update ({} rejections, none acknowledged): is {} built \
             from the same engine version as weft-load?",
            sh.errors.get(ErrorKind::AckRejected),
            opts.weft_server.display()
        )));
    }
    let scrape = move || {
        (target == Target::Weft)
            .then(|| metrics::scrape(addr))
            .flatten()
    };
    let metrics0 = blocking(scrape).await?;
    sh.tracking.store(true, Ordering::Relaxed);
    let window_start = Instant::now();
    let frames_before = sh.counts.window_frames.load(Ordering::Relaxed);
    let sent_before = sh.counts.edits_sent.load(Ordering::Relaxed);
    let mut held = sh.connected.load(Ordering::Relaxed);
    let server_cpu0 = server.cpu().unwrap_or_default();
    let own_cpu0 = procs::own_cpu().unwrap_or_default();
    let server_sched0 = server.sched().unwrap_or_default();
    let own_sched0 = procs::sched_of("self").unwrap_or_default();
    let machine0 = procs::machine_cpu().unwrap_or_default();
    let mut next_report = Instant::now() + Duration::from_secs(10);
    let mut last_hist = sh.delivery.snapshot();
    while window_start.elapsed() < plan.measure {
        tokio::time::sleep(Duration::from_millis(250)).await;
        held = held.min(sh.connected.load(Ordering::Relaxed));
        if let Some(m) = server.mem() {
            peak.rss = peak.rss.max(m.rss);
            peak.hwm = peak.hwm.max(m.hwm);
        }
        if Instant::now() >= next_report {
            next_report += Duration::from_secs(10);
            let hist = sh.delivery.snapshot();
            say(format!(
                "{} connected; delivery p50/p99 over the last 10 s {:?}/{:?} ms; server RSS {:.1} MiB",
                sh.connected.load(Ordering::Relaxed),
                stats::quantile_between(&last_hist, &hist, 0.5),
                stats::quantile_between(&last_hist, &hist, 0.99),
                peak.rss as f64 / 1048576.0
            ));
            last_hist = hist;
        }
    }
    sh.tracking.store(false, Ordering::Relaxed);
    let window = window_start.elapsed().as_secs_f64();
    let metrics1 = blocking(scrape).await?;
    let server_quantile = |name: &str| match (&metrics0, &metrics1) {
        (Some(a), Some(b)) => metrics::quantile_ms(a, b, name, 0.99),
        _ => None,
    };
    let server_ack_p99 = server_quantile("weft_ack_latency_seconds");
    let commit_p99 = server_quantile("weft_commit_duration_seconds");
    let cpu_pct = |now: Option<Duration>, before: Duration| {
        now.map_or(0.0, |c| {
            c.saturating_sub(before).as_secs_f64() / window * 100.0
        })
    };
    let server_cpu = cpu_pct(server.cpu(), server_cpu0);
    let own_cpu = cpu_pct(procs::own_cpu(), own_cpu0);
    // Everything else the machine ran meanwhile (other processes compete for the same cores).
    let other_cpu = procs::machine_cpu().map_or(0.0, |(busy, _)| {
        (busy.saturating_sub(machine0.0).as_secs_f64() / window * 100.0 - server_cpu - own_cpu)
            .max(0.0)
    });
    let frames = sh.counts.window_frames.load(Ordering::Relaxed) - frames_before;
    let sent = sh.counts.edits_sent.load(Ordering::Relaxed) - sent_before;
    // Time the processes were runnable but had no CPU: high when other work competes for it.
    let wait_pct = |now: Option<procs::Sched>, before: procs::Sched| {
        now.map_or(0.0, |s| s.since(before).wait.as_secs_f64() / window * 100.0)
    };
    let server_wait = wait_pct(server.sched(), server_sched0);
    let own_wait = wait_pct(procs::sched_of("self"), own_sched0);
    let generator_rss = procs::own_mem().map_or(0, |m| m.rss);
    say(format!(
        "measured {window:.1} s: {sent} edits, {} acked, {frames} frames delivered, p99 delivery {:?} ms, p99 ack {:?} ms (server side {server_ack_p99:?}, commit {commit_p99:?}), errors {:?}, CPU server {server_cpu:.0} % generator {own_cpu:.0} % other processes {other_cpu:.0} %, waiting for a CPU: server {server_wait:.0} % generator {own_wait:.0} %",
        sh.counts.acked.load(Ordering::Relaxed),
        sh.delivery.quantile_ms(0.99),
        sh.ack.quantile_ms(0.99),
        sh.errors.by_kind()
    ));
    // Late deliveries and acks still count (in the latencies); only what never arrives within
    // the drain time is an error.
    let left = settle(|| {
        let acks = sh
            .counts
            .tracked_sent
            .load(Ordering::Relaxed)
            .saturating_sub(
                sh.counts.tracked_acked.load(Ordering::Relaxed)
                    + sh.errors.get(ErrorKind::AckRejected),
            );
        acks + rooms.iter().map(|r| r.awaiting()).sum::<u64>()
    })
    .await;
    if left > 0 {
        say(format!(
            "{left} tracked deliveries and acks never arrived (no progress for {} s)",
            STALL.as_secs()
        ));
    }
    let missed: u64 = rooms.iter().map(|r| r.take_missed()).sum();
    sh.errors.add(ErrorKind::MissedDelivery, missed);
    let tracked = sh.counts.tracked_sent.load(Ordering::Relaxed);
    let tracked_acked = sh.counts.tracked_acked.load(Ordering::Relaxed);
    let rejected = sh.errors.get(ErrorKind::AckRejected);
    sh.errors.add(
        ErrorKind::MissingAck,
        tracked.saturating_sub(tracked_acked + rejected),
    );

    // Kill -9 trials: after each, check the restarted server holds every acked edit before
    // any client reconnects (a reconnecting client would resend what it has).
    let mut lost = 0;
    let mut verified = 0;
    for trial in 0..plan.kills {
        let (lo, hi) = plan.kill_after;
        tokio::time::sleep(lo + rng.below(hi.saturating_sub(lo))).await;
        srv_tx.send_modify(|s| s.up = false);
        let (s, ()) = blocking(move || {
            server.kill9();
            (server, ())
        })
        .await?;
        server = s;
        let all_gone = wait_until(Duration::from_secs(10), || {
            sh.connected.load(Ordering::Relaxed) == 0
        })
        .await;
        if !all_gone {
            return Err(Error::new(format!(
                "{} connections still open 10 s after kill -9",
                sh.connected.load(Ordering::Relaxed)
            )));
        }
        let acked: Vec<Vec<u64>> = rooms.iter().map(|r| r.acked_tokens()).collect();
        let (s, restarted) = blocking(move || {
            let r = server.restart();
            (server, r)
        })
        .await?;
        server = s;
        restarted.map_err(err)?;
        let v = weft_client::verify(addr, &rooms, &acked)
            .await
            .map_err(err)?;
        lost += v.missing;
        verified += v.checked;
        sh.errors.add(ErrorKind::Duplicate, v.duplicates);
        say(format!(
            "kill -9 #{}: {} acked edits checked after restart, {} missing",
            trial + 1,
            v.checked,
            v.missing
        ));
        srv_tx.send_modify(|s| {
            s.up = true;
            s.epoch += 1;
        });
        if !wait_until(Duration::from_secs(60), || {
            sh.synced.load(Ordering::Relaxed) >= total as i64
        })
        .await
        {
            say(format!(
                "only {} of {total} clients resynced after restart",
                sh.synced.load(Ordering::Relaxed)
            ));
        }
    }
    if plan.kills > 0 {
        tokio::time::sleep(plan.after_kills).await;
    }

    // Stop editing, let every edit be acknowledged, and check the final documents.
    sh.editing.store(false, Ordering::Relaxed);
    let left = settle(|| u64::try_from(sh.unacked.load(Ordering::Relaxed)).unwrap_or(0)).await;
    if left > 0 {
        say(format!(
            "{left} edits still unacknowledged after editing stopped (no progress for {} s)",
            STALL.as_secs()
        ));
    }
    let acked: Vec<Vec<u64>> = rooms.iter().map(|r| r.acked_tokens()).collect();
    let fin: Verified = match target {
        Target::Weft => weft_client::verify(addr, &rooms, &acked).await,
        Target::YWebsocket => yjs_client::verify(addr, &rooms, &acked).await,
    }
    .map_err(err)?;
    lost += fin.missing;
    verified += fin.checked;
    sh.errors.add(ErrorKind::Duplicate, fin.duplicates);
    say(format!(
        "final check: {} acked edits, {} missing, {} duplicated",
        fin.checked, fin.missing, fin.duplicates
    ));
    if let Some(m) = server.mem() {
        peak.hwm = peak.hwm.max(m.hwm);
    }

    // Stop the clients, then the server.
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(
        Duration::from_secs(10),
        futures_util::future::join_all(tasks.0.iter_mut()),
    )
    .await;
    drop(tasks);
    blocking(move || drop(server)).await?;
    drop(tmp);

    let held = u64::try_from(held.max(0)).unwrap_or(0);
    let ack_kind = match target {
        Target::Weft => "durable ack",
        Target::YWebsocket => "echo (not stored)",
    };
    Ok(RunRecord {
        scenario: scenario.name().into(),
        target: target.name().into(),
        date: procs::utc_date(),
        command: opts.command.clone(),
        connections: held,
        connections_planned: total as u64,
        rooms: plan.rooms as u64,
        writers_per_room: plan.writers as u64,
        watchers_per_room: plan.watchers as u64,
        edit_interval_ms: plan.interval.as_secs_f64() * 1000.0,
        ramp_s,
        measure_s: window,
        edits_sent: sent,
        edits_per_s: sent as f64 / window,
        tracked_edits: tracked,
        delivered_frames: frames,
        delivered_frames_per_s: frames as f64 / window,
        p50_delivery_ms: sh.delivery.quantile_ms(0.5),
        p99_delivery_ms: sh.delivery.quantile_ms(0.99),
        max_delivery_ms: sh.delivery.max_ms(),
        ack_kind: ack_kind.into(),
        p50_ack_ms: sh.ack.quantile_ms(0.5),
        p99_ack_ms: sh.ack.quantile_ms(0.99),
        max_ack_ms: sh.ack.max_ms(),
        errors: sh.errors.total(),
        error_kinds: sh.errors.by_kind(),
        kill_trials: plan.kills as u64,
        lost_acked: lost,
        verified_updates: verified,
        server_rss_baseline_bytes: baseline,
        server_rss_bytes: peak.rss,
        server_hwm_bytes: peak.hwm,
        memory_per_connection_bytes: peak
            .rss
            .saturating_sub(baseline)
            .checked_div(held)
            .unwrap_or(0),
        generator_rss_bytes: generator_rss,
        server_cpu_pct: server_cpu,
        generator_cpu_pct: own_cpu,
        server_cpu_wait_pct: server_wait,
        generator_cpu_wait_pct: own_wait,
        other_cpu_pct: other_cpu,
        server_ack_p99_ms: server_ack_p99,
        server_commit_p99_ms: commit_p99,
        run_time_s: started.elapsed().as_secs_f64(),
    })
}
