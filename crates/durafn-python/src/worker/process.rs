//! Starting one worker process: a private socket, the child, `hello`, `init`.
//!
//! The socket lives in a fresh directory only this user can open (mode `0700`) and accepts one
//! connection, whose peer must be the child just started (checked with `SO_PEERCRED`). The
//! child's stdout and stderr are read line by line and logged as its console: they carry what
//! bypasses the worker's own logging, such as the traceback of an interpreter that dies.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::net::UnixListener;
use tokio::process::{Child, Command};

use super::connection::{Connection, log_frame};
use super::options::{StartError, WorkerOptions};
use crate::channel::{encode, read_frame};
use crate::protocol::{FunctionInfo, Incoming, Init, PROTOCOL_VERSION, Packages, WorkerError};

/// How long a worker may take to connect and load the app.
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// The last lines a worker printed, for the message of a worker that fails to start.
#[derive(Clone, Default)]
pub(crate) struct ConsoleTail(Arc<Mutex<VecDeque<String>>>);

impl ConsoleTail {
    const LINES: usize = 30;

    fn push(&self, line: String) {
        let mut lines = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if lines.len() == Self::LINES {
            lines.pop_front();
        }
        lines.push_back(line);
    }

    pub(crate) fn text(&self) -> String {
        let lines = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        lines.iter().cloned().collect::<Vec<_>>().join("\n")
    }
}

/// What `hello` and `initResult` said.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The worker's process id.
    pub pid: u32,
    /// The interpreter's version.
    pub python: String,
    /// The versions of the app's packages.
    pub packages: Packages,
    /// `v1` or `v2`.
    pub programming_model: Option<String>,
    /// Every function, loaded or not.
    pub functions: Vec<FunctionInfo>,
    /// Why the app as a whole could not be loaded.
    pub error: Option<WorkerError>,
}

/// A started, initialised worker.
pub(crate) struct Launched {
    pub(crate) child: Child,
    pub(crate) connection: Arc<Connection>,
    pub(crate) loaded: Loaded,
}

/// A directory for the socket that is removed when dropped.
struct SocketDir(PathBuf);

impl SocketDir {
    fn create() -> std::io::Result<Self> {
        use std::os::unix::fs::DirBuilderExt;
        let mut random = [0u8; 8];
        getrandom::fill(&mut random).map_err(|e| std::io::Error::other(e.to_string()))?;
        let name: String = random.iter().map(|b| format!("{b:02x}")).collect();
        // A short base: a socket path may not exceed about a hundred bytes.
        let base = std::env::var_os("XDG_RUNTIME_DIR")
            .map(PathBuf::from)
            .filter(|p| p.is_dir() && p.as_os_str().len() < 60)
            .unwrap_or_else(std::env::temp_dir);
        let dir = base.join(format!("durafn-{name}"));
        std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
        Ok(Self(dir))
    }
}

impl Drop for SocketDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn python_path(package_dir: &Path) -> std::ffi::OsString {
    let mut path = package_dir.as_os_str().to_owned();
    if let Some(existing) = std::env::var_os("PYTHONPATH").filter(|p| !p.is_empty()) {
        path.push(":");
        path.push(existing);
    }
    path
}

fn console(stream: impl AsyncRead + Unpin + Send + 'static, pid: u32, tail: ConsoleTail) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            tracing::info!(target: "durafn::python", pid, category = "worker console", "{line}");
            tail.push(line);
        }
    });
}

/// Starts a worker and loads the app in it.
pub(crate) async fn launch(options: &WorkerOptions) -> Result<Launched, StartError> {
    let dir = SocketDir::create()
        .map_err(|e| StartError::Io("creating the worker's socket directory".into(), e))?;
    let socket = dir.0.join("w.sock");
    let listener = UnixListener::bind(&socket)
        .map_err(|e| StartError::Io(format!("listening on {}", socket.display()), e))?;
    let mut command = Command::new(&options.python);
    command
        .args(["-m", "durafn_worker"])
        .env("PYTHONPATH", python_path(&options.package_dir))
        .env("DURAFN_WORKER_SOCKET", &socket)
        .env_remove("DURAFN_WORKER_FD")
        .current_dir(&options.script_root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn().map_err(|e| StartError::Spawn {
        python: options.python.display().to_string(),
        source: e,
    })?;
    let pid = child.id().unwrap_or_default();
    let tail = ConsoleTail::default();
    if let Some(out) = child.stdout.take() {
        console(out, pid, tail.clone());
    }
    if let Some(err) = child.stderr.take() {
        console(err, pid, tail.clone());
    }
    let started = tokio::time::timeout(START_TIMEOUT, connect_and_init(options, &listener, pid));
    let result = tokio::select! {
        r = started => r.unwrap_or(Err(StartError::Timeout(START_TIMEOUT))),
        status = child.wait() => Err(StartError::Exited {
            status: status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string()),
            console: String::new(),
        }),
    };
    drop(listener);
    drop(dir);
    match result {
        Ok((connection, loaded)) => Ok(Launched {
            child,
            connection,
            loaded,
        }),
        Err(e) => {
            let _ = child.start_kill();
            let _ = child.wait().await;
            // Give the console readers a moment to drain what the dying worker printed.
            tokio::task::yield_now().await;
            Err(e.with_console(tail.text()))
        }
    }
}

async fn connect_and_init(
    options: &WorkerOptions,
    listener: &UnixListener,
    pid: u32,
) -> Result<(Arc<Connection>, Loaded), StartError> {
    let (stream, _) = listener
        .accept()
        .await
        .map_err(|e| StartError::Io("accepting the worker's connection".into(), e))?;
    let peer = stream
        .peer_cred()
        .map_err(|e| StartError::Io("reading the worker's credentials".into(), e))?;
    if peer.pid().is_some_and(|p| p as u32 != pid) {
        return Err(StartError::Protocol(format!(
            "the socket was connected by process {:?}, not by the worker ({pid})",
            peer.pid()
        )));
    }
    let (mut reader, writer) = Connection::split(stream);
    let hello = next_frame(&mut reader).await?;
    if hello.kind != "hello" {
        return Err(StartError::Protocol(format!(
            "the worker's first frame is {:?}, not hello",
            hello.kind
        )));
    }
    if hello.protocol_version != Some(PROTOCOL_VERSION) {
        return Err(StartError::Protocol(format!(
            "the worker speaks protocol version {:?}; this host speaks {PROTOCOL_VERSION}",
            hello.protocol_version
        )));
    }
    let packages = hello.packages.clone().unwrap_or_default();
    if packages.azure_functions.is_none() {
        return Err(StartError::MissingPackage {
            python: options.python.display().to_string(),
            package: "azure-functions",
        });
    }
    let script_root = options.script_root.to_string_lossy();
    let init = Init {
        kind: "init",
        id: "init",
        protocol_version: PROTOCOL_VERSION,
        script_root: &script_root,
        app_settings: &options.app_settings,
        functions: &options.functions,
    };
    let frame = encode(&init).map_err(|e| StartError::Protocol(e.to_string()))?;
    let mut writer = writer;
    crate::channel::write_frame(&mut writer, &frame)
        .await
        .map_err(|e| StartError::Io("sending init to the worker".into(), e))?;
    let result = loop {
        let frame = next_frame(&mut reader).await?;
        match frame.kind.as_str() {
            "initResult" => break frame,
            "log" => log_frame(
                None,
                frame.level.as_deref().unwrap_or("Information"),
                frame.category.as_deref().unwrap_or(""),
                frame.message.as_deref().unwrap_or(""),
            ),
            "protocolError" => {
                return Err(StartError::Protocol(
                    frame
                        .message
                        .unwrap_or_else(|| "the worker refused init".into()),
                ));
            }
            _ => {}
        }
    };
    let loaded = Loaded {
        pid,
        python: hello.python.clone().unwrap_or_default(),
        packages,
        programming_model: result.programming_model.clone(),
        functions: result.functions.clone().unwrap_or_default(),
        error: result.error.clone(),
    };
    tracing::info!(
        target: "durafn::python",
        pid,
        python = %loaded.python,
        worker = hello.worker_version.as_deref().unwrap_or(""),
        model = loaded.programming_model.as_deref().unwrap_or(""),
        "Python worker started (pid {pid})"
    );
    Ok((Connection::spawn(pid, reader, writer), loaded))
}

async fn next_frame(reader: &mut tokio::net::unix::OwnedReadHalf) -> Result<Incoming, StartError> {
    read_frame(reader)
        .await
        .map_err(|e| StartError::Protocol(e.to_string()))
}
