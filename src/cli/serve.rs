//! `triagegate serve`: runs until Ctrl-C or SIGTERM, then drains requests in flight.

use std::process::ExitCode;

use crate::app::App;
use crate::config::Config;

pub async fn serve(config: Config) -> anyhow::Result<ExitCode> {
    let app = App::build(config).await?;
    tracing::info!(addr = %app.local_addr(), "listening");
    eprintln!("triagegate listening on http://{}", app.local_addr());
    app.run_until_stopped(shutdown_signal()).await?;
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
