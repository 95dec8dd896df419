//! A one-request HTTP server on 127.0.0.1 for the alert tests: a std `TcpListener` on port 0
//! in a thread that answers the first request with the status it was given and hands the
//! request back, or nothing when none came before the test stopped it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// A request as it arrived.
#[derive(Debug)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

pub struct OneRequest {
    pub port: u16,
    stop: Arc<AtomicBool>,
    thread: JoinHandle<std::io::Result<Option<Request>>>,
}

impl OneRequest {
    /// Listens now; the first request is answered with `status` and `body`.
    pub fn start(status: u16, body: &'static str) -> std::io::Result<OneRequest> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        // Polled, so the thread can stop when the test is done with it.
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::spawn(move || loop {
            match listener.accept() {
                Ok((stream, _)) => return serve(stream, status, body).map(Some),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if stopped.load(Ordering::SeqCst) {
                        return Ok(None);
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(e) => return Err(e),
            }
        });
        Ok(OneRequest { port, stop, thread })
    }

    /// The request it got (call once the client has exited: it waited for the answer).
    pub fn finish(self) -> Result<Option<Request>, String> {
        self.stop.store(true, Ordering::SeqCst);
        self.thread
            .join()
            .map_err(|_| "the server thread panicked".to_string())?
            .map_err(|e| format!("the server: {e}"))
    }
}

fn serve(stream: TcpStream, status: u16, body: &str) -> std::io::Result<Request> {
    stream.set_nonblocking(false)?;
    // A client that stops halfway must not hang the suite.
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut words = line.split_whitespace();
    let method = words.next().unwrap_or_default().to_string();
    let path = words.next().unwrap_or_default().to_string();
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header)?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    let length = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut content = vec![0; length];
    reader.read_exact(&mut content)?;
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {status} {}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        if status < 300 { "OK" } else { "Error" },
        body.len()
    )?;
    stream.flush()?;
    Ok(Request {
        method,
        path,
        headers,
        body: content,
    })
}
