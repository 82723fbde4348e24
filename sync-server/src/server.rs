//! The HTTP side: the axum router (`/v1/sync`, `/healthz`, `/metrics`,
//! static files), and serving with graceful shutdown.

use std::future::Future;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::extract::{State, WebSocketUpgrade};
use axum::http::Extensions;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};

use crate::config::Config;
use crate::error::RelayError;
use crate::hub::Hubs;
use crate::log_store::LogStore;
use crate::metrics::Metrics;
use crate::sockets::{HANDSHAKE_HEADROOM, Listener, SocketInfo, SocketLimits, Sockets};
use crate::store::Health;

/// How long shutdown waits for connections to close.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Initial read and write buffer of each websocket.
const SOCKET_BUFFER: usize = 16 * 1024;

/// Shared by every request and connection.
#[derive(Debug)]
pub struct AppState {
    pub config: Config,
    pub hubs: Arc<Hubs>,
    pub metrics: Arc<Metrics>,
    /// Becomes `true` when the relay shuts down.
    pub shutdown: watch::Receiver<bool>,
    closed: Notify,
}

impl AppState {
    pub fn new(config: Config, store: Arc<dyn LogStore>, shutdown: watch::Receiver<bool>) -> Self {
        let metrics = Arc::new(Metrics::default());
        AppState {
            config,
            hubs: Arc::new(Hubs::new(store, Arc::clone(&metrics))),
            metrics,
            shutdown,
            closed: Notify::new(),
        }
    }

    pub(crate) fn connection_closed(&self) {
        self.metrics.connections.fetch_sub(1, Ordering::AcqRel);
        self.closed.notify_waiters();
    }

    /// Waits until no connection is open, or `timeout`.
    pub async fn drain(&self, timeout: Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let closed = self.closed.notified();
            if self.metrics.connections.load(Ordering::Acquire) <= 0 {
                return;
            }
            if tokio::time::timeout_at(deadline, closed).await.is_err() {
                tracing::warn!("connections still open after the shutdown deadline");
                return;
            }
        }
    }
}

/// The relay's routes.
pub fn app(state: Arc<AppState>) -> Router {
    let router = Router::new()
        .route("/v1/sync", get(sync))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics));
    let router = if state.config.web_dir.is_some() {
        router.fallback(get(static_file))
    } else {
        router
    };
    router.with_state(state)
}

async fn sync(
    ws: WebSocketUpgrade,
    State(app): State<Arc<AppState>>,
    extensions: Extensions,
) -> Response {
    let max = app.config.limits.max_message_bytes;
    // Served by `serve`, every socket is counted (`sockets.rs`): this one
    // is a websocket now, off the handshake clock.
    let socket = extensions
        .get::<ConnectInfo<SocketInfo>>()
        .map(|ConnectInfo(info)| info.clone());
    // Buffers start small (a relay holds thousands of sockets) and grow
    // for large messages.
    ws.max_message_size(max)
        .max_frame_size(max)
        .read_buffer_size(SOCKET_BUFFER)
        .write_buffer_size(SOCKET_BUFFER)
        .on_upgrade(move |ws| {
            if let Some(info) = socket {
                info.became_websocket();
            }
            crate::connection::run(ws, app)
        })
}

async fn healthz(State(app): State<Arc<AppState>>) -> Response {
    match app.hubs.store().health() {
        Health::Ok => (StatusCode::OK, "ok").into_response(),
        Health::Failing => (
            StatusCode::SERVICE_UNAVAILABLE,
            "store failing: writes are refused until a commit succeeds",
        )
            .into_response(),
        Health::Broken => (
            StatusCode::SERVICE_UNAVAILABLE,
            "store broken: writes are refused until the relay restarts",
        )
            .into_response(),
    }
}

async fn metrics(State(app): State<Arc<AppState>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        app.metrics.render(app.hubs.store().stats()),
    )
        .into_response()
}

async fn static_file(State(app): State<Arc<AppState>>, uri: Uri) -> Response {
    let Some(root) = app.config.web_dir.clone() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let Some(path) = static_path(&root, uri.path()) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mime = content_type(&path);
    match tokio::task::spawn_blocking(move || std::fs::read(path)).await {
        Ok(Ok(bytes)) => ([(header::CONTENT_TYPE, mime)], bytes).into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The file under `root` for a request path; `None` for anything that could
/// leave `root`.
fn static_path(root: &Path, request: &str) -> Option<PathBuf> {
    let mut path = root.to_path_buf();
    let rel = request.trim_start_matches('/');
    for c in Path::new(rel).components() {
        match c {
            Component::Normal(part) => path.push(part),
            Component::CurDir => {}
            _ => return None,
        }
    }
    if rel.is_empty() || rel.ends_with('/') {
        path.push("index.html");
    }
    Some(path)
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Serves until `stop` resolves, then shuts down gracefully: stop accepting,
/// tell every connection to close (1001), wait for them (commits in flight
/// finish first), then commit what is queued and close the store.
pub async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    shutdown_tx: watch::Sender<bool>,
    stop: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RelayError> {
    let router = app(Arc::clone(&state));
    let limits = &state.config.limits;
    let sockets = Sockets::new(
        SocketLimits {
            max_sockets: limits.max_connections + HANDSHAKE_HEADROOM,
            handshake_timeout: limits.handshake_timeout,
        },
        Arc::clone(&state.metrics),
    );
    let listener = Listener::new(listener, sockets);
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketInfo>(),
    )
    .with_graceful_shutdown(async move {
        stop.await;
        tracing::info!("shutting down");
        let _ = shutdown_tx.send(true);
    })
    .await?;
    state.drain(DRAIN_TIMEOUT).await;
    let store = Arc::clone(state.hubs.store());
    tokio::task::spawn_blocking(move || store.close())
        .await
        .map_err(|e| RelayError::Io(std::io::Error::other(e)))?;
    tracing::info!("stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_paths_stay_under_the_root() {
        let root = Path::new("/srv/web");
        assert_eq!(static_path(root, "/"), Some(root.join("index.html")));
        assert_eq!(
            static_path(root, "/pkg/app.wasm"),
            Some(root.join("pkg/app.wasm"))
        );
        assert_eq!(static_path(root, "/../etc/passwd"), None);
        assert_eq!(static_path(root, "/a/../../b"), None);
        assert_eq!(content_type(Path::new("x.wasm")), "application/wasm");
    }
}
