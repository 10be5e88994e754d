//! Crash safety: `kill -9` the server binary while clients stream updates, restart it, and
//! check that every acknowledged update survived — many rounds on one data directory.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use weft::sync::{BatchId, Status};

use crate::common::{Client, TempDir, WAIT};

struct Process {
    child: Child,
    addr: SocketAddr,
}

impl Process {
    /// Starts the built binary on a free port and waits for the URL it prints.
    fn start(data_dir: &std::path::Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_weft-server"))
            .args(["--bind", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn weft-server");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(url) = line.split("http://").nth(1) {
                    let _ = tx.send(url.trim_end_matches('/').to_owned());
                }
            }
        });
        let host = rx.recv_timeout(WAIT).expect("server prints its URL");
        let addr = host.parse().expect("URL has host:port");
        Self { child, addr }
    }

    fn kill9(mut self) {
        self.child.kill().expect("SIGKILL");
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_loses_no_acknowledged_update() {
    let dir = TempDir::new("kill9");
    const ROUNDS: usize = 6;
    const CLIENTS: usize = 3;
    let mut acked_markers: Vec<String> = Vec::new();
    let mut total_sent = 0;

    for round in 0..ROUNDS {
        let server = Process::start(dir.path());
        let url = format!("ws://{}/ws", server.addr);
        // Writers stream edits until the server dies under them.
        let mut tasks = Vec::new();
        for c in 0..CLIENTS {
            let url = url.clone();
            tasks.push(tokio::spawn(async move {
                let mut client = Client::connect(&url, None).await;
                client.join("durable").await;
                let mut markers: HashMap<BatchId, String> = HashMap::new();
                for i in 0.. {
                    let marker = format!("<r{round}c{c}u{i}>");
                    let batch = client.edit("durable", &marker).await;
                    markers.insert(batch, marker);
                    client.pump_for(Duration::from_millis(2)).await;
                    if client.closed.is_some() || i >= 5_000 {
                        break;
                    }
                }
                let acked: Vec<String> = markers
                    .iter()
                    .filter(|(b, _)| client.acked.get(*b) == Some(&Status::Ok))
                    .map(|(_, m)| m.clone())
                    .collect();
                (acked, markers.len())
            }));
        }
        // Let them stream, then crash the server mid-flight.
        tokio::time::sleep(Duration::from_millis(250 + 70 * round as u64)).await;
        server.kill9();
        for t in tasks {
            let (acked, sent) = t.await.expect("writer");
            total_sent += sent;
            acked_markers.extend(acked);
        }

        // Restart on the same data and read everything back.
        let server = Process::start(dir.path());
        let mut reader = Client::connect(&format!("ws://{}/ws", server.addr), None).await;
        reader.join("durable").await;
        let text = reader.text("durable");
        let missing: Vec<&String> = acked_markers
            .iter()
            .filter(|m| !text.contains(*m))
            .collect();
        assert!(
            missing.is_empty(),
            "round {round}: {} acknowledged updates lost, e.g. {:?}",
            missing.len(),
            missing.first()
        );
        reader.close().await;
        server.kill9();
    }
    assert!(
        acked_markers.len() > ROUNDS * CLIENTS,
        "the test acknowledged too little to mean anything ({} of {total_sent})",
        acked_markers.len()
    );
}
