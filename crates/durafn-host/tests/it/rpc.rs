//! The local RPC endpoint of a real app process: keyless on 127.0.0.1 and ::1, out of reach
//! from any other address even when the public listener is on one, its peer check, its port
//! setting, and switching it off.

use crate::process;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::Command;

use durafn_host::KeyScope;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use process::{AppProcess, M, command, exchange, http, key};

/// A non-loopback IPv4 address of this machine, from `ip -o -4 addr show scope global`.
fn global_ipv4() -> Option<Ipv4Addr> {
    let out = Command::new("ip")
        .args(["-o", "-4", "addr", "show", "scope", "global"])
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            words.find(|w| *w == "inet")?;
            words.next()?.split('/').next()?.parse::<Ipv4Addr>().ok()
        })
        .find(|a| !a.is_loopback())
}

fn rpc_addr(app: &AppProcess) -> SocketAddr {
    let base = app
        .rpc_base
        .as_deref()
        .expect("the local RPC endpoint is on");
    let authority = base
        .strip_prefix("http://")
        .and_then(|r| r.split('/').next())
        .expect("a URL");
    authority.parse().expect("an address")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rpc_endpoint_is_keyless_on_loopback_and_closed_to_everything_else() {
    let Some(public) = global_ipv4() else {
        assert!(
            !durafn_testenv::in_ci(),
            "CI=true but this machine has no non-loopback IPv4 address to test from"
        );
        println!("skipped: no non-loopback IPv4 address (see `ip -o -4 addr show scope global`)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut cmd = command(dir.path(), &data);
    cmd.arg("--host").arg(public.to_string());
    let app = AppProcess::spawn(cmd);
    assert_eq!(app.addr.ip(), IpAddr::V4(public), "the public listener");
    let rpc = rpc_addr(&app);
    assert!(rpc.ip().is_loopback(), "{rpc}");
    let list = format!("{M}/instances/");

    // Keyless on loopback, on both families; the public listener still wants its key.
    let r = http(rpc, "GET", &list, &[], b"").await;
    assert_eq!((r.status, r.text()), (200, "[]".to_string()));
    let v6 = SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, rpc.port()));
    match TcpStream::connect(v6).await {
        Ok(stream) => {
            let r = exchange(stream, &v6.to_string(), "GET", &list, &[], b"")
                .await
                .expect("a response on ::1");
            assert_eq!(r.status, 200);
        }
        Err(e) => {
            // CI machines have ::1, so there the check must run; elsewhere it may be absent.
            assert!(
                !durafn_testenv::in_ci(),
                "::1 refused a connection in CI: {e}"
            );
            println!("no IPv6 loopback here ({e}); ::1 not checked");
        }
    }
    assert_eq!(http(app.addr, "GET", &list, &[], b"").await.status, 401);
    let system = key(&data, KeyScope::System, "durabletask_extension");
    let r = http(app.addr, "GET", &list, &[("x-functions-key", &system)], b"").await;
    assert_eq!(r.status, 200);
    // The binding names the loopback endpoint, ending in '/'.
    let binding: serde_json::Value =
        serde_json::from_str(&process::binding(&app, &data).await).unwrap();
    assert_eq!(
        binding["rpcBaseUrl"],
        format!("http://127.0.0.1:{}{M}/", rpc.port())
    );

    // From the machine's other address the port is not even open.
    let from_outside = TcpStream::connect((public, rpc.port())).await;
    assert!(
        matches!(&from_outside, Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused),
        "{public}:{} must refuse connections: {from_outside:?}",
        rpc.port()
    );

    // A connection that reaches the loopback listener from a non-loopback source address (as a
    // port forward or route_localnet would let one) is closed before anything is read.
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((public, 0))).unwrap();
    let mut stream = socket.connect(rpc).await.expect("the kernel connects it");
    let request = format!("GET {list} HTTP/1.1\r\nHost: {rpc}\r\nConnection: close\r\n\r\n");
    let _ = stream.write_all(request.as_bytes()).await;
    let mut answer = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut answer),
    )
    .await
    .expect("the connection is closed, not left open");
    assert!(
        answer.is_empty(),
        "nothing is answered to {public}: {:?} {read:?}",
        String::from_utf8_lossy(&answer)
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !app.stderr_lines().iter().any(|l| {
        l.contains("refused a connection to the local RPC endpoint")
            && l.contains(&public.to_string())
    }) {
        assert!(
            std::time::Instant::now() < deadline,
            "the refusal is logged: {:?}",
            app.stderr_lines()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rpc_port_is_configurable_free_by_default_and_can_be_switched_off() {
    let dir = tempfile::tempdir().unwrap();
    // Two hosts side by side each get a free port.
    let a = AppProcess::start(&dir.path().join("a"), &dir.path().join("a/data"));
    let b = AppProcess::start(&dir.path().join("b"), &dir.path().join("b/data"));
    assert_ne!(rpc_addr(&a).port(), rpc_addr(&b).port());
    drop((a, b));

    // A chosen port, by flag and by app setting.
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cmd = command(&dir.path().join("c"), &dir.path().join("c/data"));
    cmd.arg("--rpc-port").arg(free.to_string());
    let c = AppProcess::spawn(cmd);
    assert_eq!(rpc_addr(&c).port(), free);
    drop(c);
    let mut cmd = command(&dir.path().join("d"), &dir.path().join("d/data"));
    cmd.env("DURAFN_RPC_PORT", free.to_string());
    let d = AppProcess::spawn(cmd);
    assert_eq!(rpc_addr(&d).port(), free);
    drop(d);

    // Switched off in host.json: no listener, no rpcBaseUrl.
    let root = dir.path().join("e");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(
        root.join("host.json"),
        r#"{"version": "2.0", "extensions": {"durableTask": {"localRpcEndpointEnabled": false}}}"#,
    )
    .unwrap();
    let data = root.join("data");
    let e = AppProcess::start(&root, &data);
    assert_eq!(e.rpc_base, None);
    assert!(
        e.banner
            .iter()
            .any(|l| l.contains("local RPC endpoint switched off")),
        "{:?}",
        e.banner
    );
    let binding: serde_json::Value =
        serde_json::from_str(&process::binding(&e, &data).await).unwrap();
    assert!(binding.get("rpcBaseUrl").is_none(), "{binding}");
    assert!(binding["baseUrl"].is_string());
}
