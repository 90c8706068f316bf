//! A **fake** HTTP server for faults a real service will not produce on demand: canned bodies
//! that break the schema, and broken transports (resets, silence, truncated, trickling or
//! endless bodies, redirect loops). Everything else in squall's tests runs against real
//! services.
//!
//! The server binds `127.0.0.1:0`, answers each connection once (`Connection: close`) with the
//! next fault of its script (the last one repeats), and records every request it read. Its
//! loops are bounded: an endless body stops at its cap, a silent connection after two minutes.
//!
//! ```no_run
//! # async fn demo() {
//! use squall_testing::fake::{Canned, Fault, FakeFaultServer};
//! let server = FakeFaultServer::start(vec![
//!     Fault::ResetBeforeResponse,
//!     Fault::Respond(Canned::new(200).body("{}")),
//! ])
//! .await
//! .unwrap();
//! let url = server.url("/v2.1");
//! // ... call it; then:
//! assert_eq!(server.count("GET"), 2);
//! # }
//! ```

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

/// How long a silent connection is held at most.
const SILENCE: Duration = Duration::from_secs(120);

/// A canned HTTP response.
#[derive(Debug, Clone)]
pub struct Canned {
    /// The status code.
    pub status: u16,
    /// Headers besides `Content-Length` and `Connection`.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Canned {
    /// A response with this status, no headers and no body.
    pub fn new(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// A JSON response as Nova sends it: `Content-Type: application/json` and the
    /// `OpenStack-API-Version: compute {version}` header.
    pub fn compute_json(status: u16, version: &str, body: impl Into<Vec<u8>>) -> Self {
        Self::new(status)
            .header("Content-Type", "application/json")
            .header("OpenStack-API-Version", &format!("compute {version}"))
            .body(body)
    }

    fn head(&self, content_length: Option<u64>) -> Vec<u8> {
        let mut head = format!("HTTP/1.1 {} Fake\r\nConnection: close\r\n", self.status);
        match content_length {
            Some(n) => head.push_str(&format!("Content-Length: {n}\r\n")),
            None => head.push_str("Transfer-Encoding: chunked\r\n"),
        }
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        head.into_bytes()
    }
}

/// What the server does with one request.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answers with the canned response.
    Respond(Canned),
    /// Reads the request, then resets the connection (RST) without answering.
    ResetBeforeResponse,
    /// Reads the request, then closes the connection (FIN) without answering.
    CloseBeforeResponse,
    /// Sends the head (with the full `Content-Length`) and `after` bytes of the body, then
    /// resets the connection.
    ResetMidBody {
        /// The response.
        canned: Canned,
        /// How many body bytes are sent first.
        after: usize,
    },
    /// Sends the head (with the full `Content-Length`) and `after` bytes of the body, then
    /// closes the connection cleanly: the body is shorter than declared.
    Truncate {
        /// The response.
        canned: Canned,
        /// How many body bytes are sent.
        after: usize,
    },
    /// Reads the request and never answers (until the client hangs up, or two minutes).
    Silent,
    /// Sends the head, then the body one byte every `every`.
    Trickle {
        /// The response.
        canned: Canned,
        /// The pause between two bytes.
        every: Duration,
    },
    /// Sends the head, then filler bytes (`[` repeated) until `cap` bytes or the client hangs
    /// up; with a `declared` length it is sent as `Content-Length`, else the body is chunked.
    Endless {
        /// The response head (its body is ignored).
        canned: Canned,
        /// The `Content-Length` to declare, if any.
        declared: Option<u64>,
        /// The most bytes sent.
        cap: u64,
    },
    /// Redirects (302) to the same path, forever.
    RedirectLoop,
}

/// A request the server read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenRequest {
    /// The method.
    pub method: String,
    /// The path and query.
    pub path: String,
}

/// The fake server; it stops when dropped.
#[derive(Debug)]
pub struct FakeFaultServer {
    addr: std::net::SocketAddr,
    seen: Arc<Mutex<Vec<SeenRequest>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeFaultServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeFaultServer {
    /// Answers every request with `fault`.
    pub async fn always(fault: Fault) -> std::io::Result<Self> {
        Self::start(vec![fault]).await
    }

    /// Answers request `n` with `script[n]`, and every later one with the last entry (an
    /// empty script is an error).
    pub async fn start(script: Vec<Fault>) -> std::io::Result<Self> {
        if script.is_empty() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "a fault script needs at least one entry",
            ));
        }
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(script);
        let task = {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut next = 0usize;
                while let Ok((socket, _)) = listener.accept().await {
                    let fault = script[next.min(script.len() - 1)].clone();
                    next += 1;
                    let seen = seen.clone();
                    tokio::spawn(async move {
                        let _ = serve(socket, fault, seen).await;
                    });
                }
            })
        };
        Ok(Self { addr, seen, task })
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Keeps the server running for as long as the test's runtime lives, and returns its
    /// URL for `path` (for helpers that hand out only a client).
    pub fn detach(self, path: &str) -> String {
        let url = self.url(path);
        std::mem::forget(self);
        url
    }

    /// The address the server listens on.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    /// Every request read so far.
    pub fn requests(&self) -> Vec<SeenRequest> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// How many requests with this method were read.
    pub fn count(&self, method: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.method == method)
            .count()
    }
}

/// Reads one request (head and `Content-Length` body); `None` when the client hung up.
async fn read_request(socket: &mut TcpStream) -> Option<SeenRequest> {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            if buf.len() > 1 << 20 {
                return None;
            }
            continue;
        };
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        let length = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
            })
            .unwrap_or(0);
        if buf.len() >= end + 4 + length {
            let mut words = head.lines().next().unwrap_or("").split(' ');
            let method = words.next().unwrap_or("").to_owned();
            let path = words.next().unwrap_or("").to_owned();
            return Some(SeenRequest { method, path });
        }
    }
}

async fn serve(
    mut socket: TcpStream,
    fault: Fault,
    seen: Arc<Mutex<Vec<SeenRequest>>>,
) -> std::io::Result<()> {
    let Some(request) = read_request(&mut socket).await else {
        return Ok(());
    };
    let path = request.path.clone();
    seen.lock().unwrap_or_else(|p| p.into_inner()).push(request);
    match fault {
        Fault::Respond(canned) => {
            socket
                .write_all(&canned.head(Some(canned.body.len() as u64)))
                .await?;
            socket.write_all(&canned.body).await?;
            socket.shutdown().await
        }
        Fault::ResetBeforeResponse => reset(socket),
        Fault::CloseBeforeResponse => socket.shutdown().await,
        Fault::ResetMidBody { canned, after } => {
            socket
                .write_all(&canned.head(Some(canned.body.len() as u64)))
                .await?;
            socket
                .write_all(&canned.body[..after.min(canned.body.len())])
                .await?;
            socket.flush().await?;
            // Let the client read what was sent before the reset discards it (a loaded
            // machine may take a while to schedule the client).
            tokio::time::sleep(Duration::from_millis(500)).await;
            reset(socket)
        }
        Fault::Truncate { canned, after } => {
            socket
                .write_all(&canned.head(Some(canned.body.len() as u64)))
                .await?;
            socket
                .write_all(&canned.body[..after.min(canned.body.len())])
                .await?;
            socket.shutdown().await
        }
        Fault::Silent => {
            // Wait until the client hangs up (a read of 0 bytes or an error), or give up.
            let mut byte = [0u8; 1];
            let _ = tokio::time::timeout(SILENCE, socket.read(&mut byte)).await;
            Ok(())
        }
        Fault::Trickle { canned, every } => {
            socket
                .write_all(&canned.head(Some(canned.body.len() as u64)))
                .await?;
            for byte in &canned.body {
                socket.write_all(std::slice::from_ref(byte)).await?;
                socket.flush().await?;
                tokio::time::sleep(every).await;
            }
            socket.shutdown().await
        }
        Fault::Endless {
            canned,
            declared,
            cap,
        } => {
            socket.write_all(&canned.head(declared)).await?;
            let filler = vec![b'['; 64 * 1024];
            let mut sent = 0u64;
            while sent < cap {
                let n = filler
                    .len()
                    .min(usize::try_from(cap - sent).unwrap_or(usize::MAX));
                if declared.is_some() {
                    socket.write_all(&filler[..n]).await?;
                } else {
                    socket.write_all(format!("{n:x}\r\n").as_bytes()).await?;
                    socket.write_all(&filler[..n]).await?;
                    socket.write_all(b"\r\n").await?;
                }
                sent += n as u64;
            }
            if declared.is_none() {
                socket.write_all(b"0\r\n\r\n").await?;
            }
            socket.shutdown().await
        }
        Fault::RedirectLoop => {
            let canned = Canned::new(302).header("Location", &path);
            socket.write_all(&canned.head(Some(0))).await?;
            socket.shutdown().await
        }
    }
}

/// Closes with a reset (RST) instead of a clean close.
fn reset(socket: TcpStream) -> std::io::Result<()> {
    socket.set_zero_linger()?;
    drop(socket);
    Ok(())
}

/// A URL on which nothing listens: a port bound to learn a free one, then released (connection
/// refused).
pub fn refused_url(path: &str) -> std::io::Result<String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    drop(listener);
    Ok(format!("http://{addr}{path}"))
}

/// A listener that never accepts and whose accept queue is full, so a new connection's SYN is
/// dropped and connecting times out. Dropping it closes everything.
#[derive(Debug)]
pub struct Unaccepting {
    addr: std::net::SocketAddr,
    _listener: TcpListener,
    _fillers: Vec<TcpStream>,
}

impl Unaccepting {
    /// Binds `127.0.0.1:0` with a backlog of one and fills the queue.
    pub async fn start() -> std::io::Result<Self> {
        let socket = TcpSocket::new_v4()?;
        socket.bind(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))?;
        let addr = socket.local_addr()?;
        let listener = socket.listen(1)?;
        let mut fillers = Vec::new();
        // Connect until one attempt hangs: the queue is then full.
        for _ in 0..8 {
            match tokio::time::timeout(Duration::from_millis(200), TcpStream::connect(addr)).await {
                Ok(Ok(stream)) => fillers.push(stream),
                _ => break,
            }
        }
        Ok(Self {
            addr,
            _listener: listener,
            _fillers: fillers,
        })
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}
