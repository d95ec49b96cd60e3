//! `void play`: serves the browser playground (www/ with the wasm bundle in www/pkg) on
//! 127.0.0.1 until Ctrl-C or SIGTERM.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use tower_http::services::ServeDir;

use super::{CliResult, Failure, bad};

/// Files the page cannot start without, relative to www/.
const BUNDLE: [&str; 3] = ["index.html", "pkg/void_web.js", "pkg/void_web_bg.wasm"];

#[derive(clap::Args, Debug)]
pub struct PlayArgs {
    /// Port to listen on at 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Serve the playground only, without starting a local native cluster.
    #[arg(long)]
    pub no_cluster: bool,
}

/// Where to look for www/: the current directory, then the workspace the binary was
/// built in (`target/<profile>/void` → `../../www`).
fn candidates(cwd: Option<&Path>, exe: Option<&Path>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(cwd) = cwd {
        out.push(cwd.join("www"));
    }
    if let Some(dir) = exe.and_then(Path::parent) {
        out.push(dir.join("..").join("..").join("www"));
    }
    out
}

/// The first candidate holding index.html; then checks that the wasm bundle was built.
fn find_www(candidates: &[PathBuf]) -> Result<PathBuf, String> {
    let Some(www) = candidates.iter().find(|d| d.join("index.html").is_file()) else {
        let looked: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
        return Err(format!(
            "no playground files found (looked for index.html in {}); run `void play` from the Void \
             workspace, or build everything with `cargo xtask play`",
            looked.join(", ")
        ));
    };
    let missing: Vec<&str> = BUNDLE.iter().copied().filter(|f| !www.join(f).is_file()).collect();
    if !missing.is_empty() {
        return Err(format!(
            "the web bundle is not built: {} missing in {}; run `cargo xtask play` (or `cargo xtask build-web`)",
            missing.join(", "),
            www.display()
        ));
    }
    // `target/release/../../www` reads better resolved.
    Ok(std::fs::canonicalize(www).unwrap_or_else(|_| www.clone()))
}

pub fn run(args: PlayArgs) -> CliResult {
    let cwd = std::env::current_dir().ok();
    let exe = std::env::current_exe().ok();
    let www = find_www(&candidates(cwd.as_deref(), exe.as_deref())).map_err(bad)?;
    // Bind before starting the live cluster: a taken port is the user's to change, and
    // should be reported at once.
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, args.port));
    let listener = std::net::TcpListener::bind(addr).map_err(|e| {
        let why = format!("--port {}: cannot listen on {addr}: {e}", args.port);
        match e.kind() {
            std::io::ErrorKind::AddrInUse | std::io::ErrorKind::PermissionDenied => {
                bad(format!("{why} (another program may use it; pick another --port, or 0 for any free one)"))
            }
            _ => Failure::Other(anyhow::anyhow!(why)),
        }
    })?;
    listener.set_nonblocking(true).context("setting up the listener")?;
    let live = if args.no_cluster { None } else { Some(super::live::LiveCluster::start()?) };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let live = live.map(std::sync::Arc::new);
    let served = runtime.block_on(serve(www, listener, live.clone()));
    if let Some(l) = live {
        l.stop();
    }
    served?;
    Ok(ExitCode::SUCCESS)
}

async fn serve(
    www: PathBuf,
    listener: std::net::TcpListener,
    live: Option<std::sync::Arc<super::live::LiveCluster>>,
) -> Result<(), Failure> {
    let listener = tokio::net::TcpListener::from_std(listener).context("registering the listener")?;
    let bound = listener.local_addr().context("reading the bound address")?;
    let mut app = axum::Router::new();
    if let Some(l) = live {
        app = app.nest("/live", super::live::router(l));
    }
    let app = app.fallback_service(ServeDir::new(&www));
    outln!("Void playground: http://{bound}/");
    eprintln!("serving {} — Ctrl-C stops", www.display());
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("serving the playground")?;
    eprintln!("void play: stopped");
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        // If the handler cannot be installed, only SIGTERM (or a kill) stops the server.
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
        () = ctrl_c => {},
        () = term => {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("void-play-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn touch(path: &Path) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, b"x").unwrap();
    }

    #[test]
    fn looks_in_the_current_directory_then_next_to_the_workspace_of_the_binary() {
        let found = candidates(Some(Path::new("/w")), Some(Path::new("/ws/target/release/void")));
        assert_eq!(found, vec![PathBuf::from("/w/www"), PathBuf::from("/ws/target/release/../../www")]);
    }

    #[test]
    fn a_built_bundle_is_found() {
        let dir = scratch("built");
        for f in BUNDLE {
            touch(&dir.join("www").join(f));
        }
        let www = find_www(&[dir.join("nowhere"), dir.join("www")]).unwrap();
        assert_eq!(www, std::fs::canonicalize(dir.join("www")).unwrap());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_missing_bundle_says_how_to_build_it() {
        let dir = scratch("unbuilt");
        touch(&dir.join("www").join("index.html"));
        let err = find_www(&[dir.join("www")]).unwrap_err();
        assert!(err.contains("pkg/void_web.js") && err.contains("cargo xtask play"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn no_www_anywhere_names_the_places_looked_at() {
        let dir = scratch("empty");
        let err = find_www(&[dir.join("www")]).unwrap_err();
        assert!(err.contains(&dir.join("www").display().to_string()), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
