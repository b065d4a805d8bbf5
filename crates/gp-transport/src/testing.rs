//! A scripted HTTP/1.1 server on loopback for tests (`test-util` feature): every
//! request is recorded and answered by a closure, with the faults real networks
//! have: a connection reset after the request was read, a body cut short, a body
//! that stalls, any status, HTML instead of JSON. Unlike [`crate::MockTransport`] it
//! is reached through real sockets, so the HTTP client's own behaviour is tested.
//!
//! ```
//! # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
//! # async fn main() -> std::io::Result<()> {
//! use gp_transport::testing::{Reply, ScriptedServer};
//! let server = ScriptedServer::start(|req| match req.path.as_str() {
//!     "/ok" => Reply::json(r#"{"a": 1}"#),
//!     _ => Reply::Reset,
//! })
//! .await?;
//! let body = reqwest::get(server.url("/ok")).await.unwrap().text().await.unwrap();
//! assert_eq!(body, r#"{"a": 1}"#);
//! assert!(reqwest::get(server.url("/gone")).await.is_err());
//! assert_eq!(server.requests().len(), 2);
//! # Ok(()) }
//! ```

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One request as the server read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// `GET`, `POST`...
    pub method: String,
    /// The path, percent-encoded as sent.
    pub path: String,
    /// The query string (without `?`).
    pub query: String,
    /// Headers, names lower-case.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Recorded {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text.
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// How to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reply {
    /// A whole answer.
    Answer {
        /// Status.
        status: u16,
        /// Content type.
        content_type: String,
        /// Body.
        body: Vec<u8>,
    },
    /// Read the request, then close the connection without answering.
    Reset,
    /// Announce the whole body's length, send its first `send` bytes, close.
    Truncated {
        /// Status.
        status: u16,
        /// Body (announced whole).
        body: Vec<u8>,
        /// Bytes actually sent.
        send: usize,
    },
    /// Announce the whole body, send its first `send` bytes, then send nothing more
    /// for `stall` before closing.
    Stall {
        /// Body (announced whole).
        body: Vec<u8>,
        /// Bytes sent before the stall.
        send: usize,
        /// How long nothing comes.
        stall: Duration,
    },
}

impl Reply {
    /// 200 with a JSON body.
    pub fn json(body: impl Into<String>) -> Reply {
        Reply::Answer {
            status: 200,
            content_type: "application/json".into(),
            body: body.into().into_bytes(),
        }
    }

    /// `status` with a body of `content_type`.
    pub fn with(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
        Reply::Answer {
            status,
            content_type: content_type.into(),
            body: body.into(),
        }
    }
}

type Handler = dyn Fn(&Recorded) -> Reply + Send + Sync;

/// The server; stops when dropped.
#[derive(Debug)]
pub struct ScriptedServer {
    addr: std::net::SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
    task: tokio::task::JoinHandle<()>,
}

impl ScriptedServer {
    /// Starts on a free loopback port; `handler` answers each request. Needs a
    /// multi-threaded tokio runtime when the test blocks (runs a command).
    pub async fn start(
        handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static,
    ) -> std::io::Result<ScriptedServer> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let requests = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let rec = requests.clone();
        let task = tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let (handler, rec) = (handler.clone(), rec.clone());
                tokio::spawn(async move {
                    let _ = serve(sock, handler.as_ref(), &rec).await;
                });
            }
        });
        Ok(ScriptedServer {
            addr,
            requests,
            task,
        })
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// How many requests had a path ending in `suffix`.
    pub fn count(&self, suffix: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.path.ends_with(suffix))
            .count()
    }
}

impl Drop for ScriptedServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(
    mut sock: TcpStream,
    handler: &Handler,
    rec: &Mutex<Vec<Recorded>>,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let head_end = loop {
        let mut chunk = [0u8; 4096];
        let n = sock.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 1 << 20 {
            return Ok(());
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split(' ');
    let method = first.next().unwrap_or_default().to_string();
    let target = first.next().unwrap_or_default();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < len {
        let mut chunk = vec![0u8; (len - body.len()).min(1 << 16)];
        let n = sock.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let r = Recorded {
        method,
        path: path.to_string(),
        query: query.to_string(),
        headers,
        body,
    };
    rec.lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(r.clone());
    let head = |status: u16, ct: &str, len: usize| {
        format!(
            "HTTP/1.1 {status} X\r\ncontent-type: {ct}\r\ncontent-length: {len}\r\nconnection: close\r\n\r\n"
        )
    };
    match handler(&r) {
        Reply::Answer {
            status,
            content_type,
            body,
        } => {
            sock.write_all(head(status, &content_type, body.len()).as_bytes())
                .await?;
            sock.write_all(&body).await?;
        }
        Reply::Reset => {}
        Reply::Truncated { status, body, send } => {
            sock.write_all(head(status, "application/json", body.len()).as_bytes())
                .await?;
            sock.write_all(&body[..send.min(body.len())]).await?;
        }
        Reply::Stall { body, send, stall } => {
            sock.write_all(head(200, "application/json", body.len()).as_bytes())
                .await?;
            sock.write_all(&body[..send.min(body.len())]).await?;
            sock.flush().await?;
            tokio::time::sleep(stall).await;
        }
    }
    sock.flush().await?;
    let _ = sock.shutdown().await;
    Ok(())
}
