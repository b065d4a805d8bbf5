//! A GP result's feature set streamed from its HTTP body into a converter (a file
//! writer, Arrow batches) running on its own thread, in bounded memory: the body
//! goes through a channel as it arrives and the converter reads it as `Read`.

use std::io::Read;
use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use gp_transport::{Transport, TransportExt};

use crate::error::Error;
use crate::wire;

/// One attempt to read the result resource at `url` (`f=json&returnType=data`)
/// through `convert`, given the body as a reader and the (redacted) URL to name it
/// by. An error answer is decoded and reported; a body that does not parse is a
/// [`Error::Protocol`] (corrupted on the way: worth asking again). The converter's
/// `Ok(None)` (not readable in one pass) is passed on.
pub(crate) async fn stream_result<T, F>(
    transport: &Arc<dyn Transport>,
    url: &str,
    convert: F,
) -> Result<Option<T>, Error>
where
    T: Send + 'static,
    F: FnOnce(ChannelReader, &str) -> gp_features::Result<Option<T>> + Send + 'static,
{
    let url = url.to_string();
    let resp = transport
        .get_streaming(&url, &[("f", "json"), ("returnType", "data")])
        .await?;
    let status = resp.status().as_u16();
    let mut body = resp.into_body();
    let first = body.next().await.transpose()?.unwrap_or_default();
    if !(200..300).contains(&status) || gp_model::ServerError::may_be_envelope(&first) {
        // An error (small): read up to 1 MiB of it and let the JSON path say what.
        let mut all = first.to_vec();
        while all.len() < 1 << 20
            && let Some(c) = body.next().await.transpose()?
        {
            all.extend_from_slice(&c);
        }
        let r = http::Response::builder()
            .status(status)
            .body(Bytes::from(all))
            .map_err(|e| Error::Protocol {
                url: wire::redact(&url),
                status,
                message: e.to_string(),
            })?;
        let _: gp_model::ResultParameter = wire::answer("result parameter", &url, r)?;
        return Err(Error::Protocol {
            url: wire::redact(&url),
            status,
            message: "the answer is not a feature set".into(),
        });
    }
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    let source = wire::redact(&url);
    let worker = std::thread::Builder::new()
        .name("gp-stream".into())
        .spawn(move || {
            let reader = ChannelReader {
                rx,
                cur: Bytes::new(),
                ended: false,
            };
            convert(reader, &source)
        })
        .map_err(|e| Error::Config {
            message: format!("cannot start the converting thread: {e}"),
        })?;
    let feed = Feed {
        tx: Some(tx),
        worker: Some(worker),
    };
    let mut failed = None;
    if feed.send(Msg::Data(first)).await {
        while let Some(chunk) = body.next().await {
            match chunk {
                Ok(c) => {
                    if !feed.send(Msg::Data(c)).await {
                        break;
                    }
                }
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        if failed.is_none() {
            feed.send(Msg::End).await;
        }
    }
    let converted = feed.finish().await;
    if let Some(e) = failed {
        return Err(e.into());
    }
    match converted {
        Some(Ok(r)) => Ok(r),
        // The body did not parse: corrupted on the way, as the server wrote it
        // it was JSON. Said as a bad answer, so it is asked for again.
        Some(Err(gp_features::Error::Format {
            path: p, message, ..
        })) if p.as_os_str() == std::ffi::OsStr::new(&wire::redact(&url)) => Err(Error::Protocol {
            url: wire::redact(&url),
            status: 200,
            message,
        }),
        Some(Err(e)) => Err(e.into()),
        None => Err(Error::Config {
            message: "the converting thread stopped unexpectedly".into(),
        }),
    }
}

/// A part of the body, or its end.
enum Msg {
    Data(Bytes),
    End,
}

/// The HTTP body as a `Read` for the converting thread. A channel closed without
/// [`Msg::End`] (the download failed or was stopped) is an error, so the converter
/// drops its temporary files.
pub(crate) struct ChannelReader {
    rx: tokio::sync::mpsc::Receiver<Msg>,
    cur: Bytes,
    ended: bool,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.cur.is_empty() {
            if self.ended {
                return Ok(0);
            }
            match self.rx.blocking_recv() {
                Some(Msg::Data(b)) => self.cur = b,
                Some(Msg::End) => self.ended = true,
                None => {
                    return Err(std::io::Error::other("the download stopped before its end"));
                }
            }
        }
        let n = buf.len().min(self.cur.len());
        buf[..n].copy_from_slice(&self.cur[..n]);
        let _ = self.cur.split_to(n);
        Ok(n)
    }
}

/// The converting thread and the sender that feeds it. Dropped early (an error, or
/// the future dropped on Ctrl-C), it closes the channel and waits for the thread,
/// which then fails and removes its temporary files.
struct Feed<T> {
    tx: Option<tokio::sync::mpsc::Sender<Msg>>,
    worker: Option<std::thread::JoinHandle<gp_features::Result<Option<T>>>>,
}

impl<T> Feed<T> {
    async fn send(&self, m: Msg) -> bool {
        match &self.tx {
            Some(tx) => tx.send(m).await.is_ok(),
            None => false,
        }
    }

    async fn finish(mut self) -> Option<gp_features::Result<Option<T>>>
    where
        T: Send + 'static,
    {
        self.tx = None;
        let worker = self.worker.take()?;
        tokio::task::spawn_blocking(move || worker.join().ok())
            .await
            .ok()
            .flatten()
    }
}

impl<T> Drop for Feed<T> {
    fn drop(&mut self) {
        self.tx = None;
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}
