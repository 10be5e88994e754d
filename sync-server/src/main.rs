//! `weft-server`: parses flags (or their environment variables), sets up logging, binds the
//! port, prints the URL and serves until SIGTERM or Ctrl-C.

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;
use weft_server::config::{Config, LogFormat};

fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
    tracing::info!("shutdown signal received");
}

fn main() -> ExitCode {
    let config = Config::parse();
    init_tracing(config.log_format);
    let threads = match config.tuning.worker_threads {
        0 => std::thread::available_parallelism().map_or(1, usize::from),
        n => n,
    };
    let runtime = if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    };
    match runtime {
        Ok(runtime) => runtime.block_on(serve(config)),
        Err(error) => {
            tracing::error!(%error, "cannot start the runtime");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> ExitCode {
    let listener = match tokio::net::TcpListener::bind(config.bind).await {
        Ok(l) => l,
        Err(error) => {
            tracing::error!(bind = %config.bind, %error, "cannot listen");
            return ExitCode::FAILURE;
        }
    };
    let addr = match listener.local_addr() {
        Ok(a) => a,
        Err(error) => {
            tracing::error!(%error, "cannot read the bound address");
            return ExitCode::FAILURE;
        }
    };
    if !config.auth_enabled() {
        tracing::warn!("no --auth-secret: OPEN DEV MODE, anyone can read and write every document");
        eprintln!(
            "\n  !!! weft-server is in OPEN DEV MODE: no --auth-secret (WEFT_AUTH_SECRET) is set,\n  \
             !!! so anyone who can reach it can read and write every document.\n"
        );
    }
    if config.allowed_origins.is_empty() {
        tracing::info!("no --allowed-origins: WebSockets from every origin are accepted");
    }
    tracing::info!(
        %addr,
        data_dir = %config.data_dir.display(),
        static_dir = ?config.static_dir,
        pkg_dir = ?config.pkg_dir,
        "weft-server listening"
    );
    println!("Weft server listening on http://{addr}/");
    match weft_server::run(config, listener, shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "server failed");
            ExitCode::FAILURE
        }
    }
}
