//! A TCP proxy that resets connections (RST, not a clean close), for the faults an HTTP server
//! library cannot produce: a connection reset before the answer, or in the middle of its body.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// When a reset connection breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResetAt {
    /// After the request arrives, before any byte of the answer.
    BeforeAnswer,
    /// After this many bytes of the answer (headers included) have been passed on.
    AfterAnswerBytes(usize),
}

/// A proxy on loopback in front of `target`: its first `resets` connections are reset at `at`,
/// every later one is passed through untouched.
pub struct ResetProxy {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl ResetProxy {
    /// `target`: `http://127.0.0.1:PORT` (a test-kit server).
    pub fn start(target: &str, resets: usize, at: ResetAt) -> ResetProxy {
        let target: SocketAddr = target
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .expect("the target is http://127.0.0.1:PORT");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the reset proxy");
        let addr = listener.local_addr().expect("addr");
        let connections = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (count, stopping) = (connections.clone(), stop.clone());
        std::thread::Builder::new()
            .name("berth-reset-proxy".into())
            .spawn(move || {
                for conn in listener.incoming() {
                    if stopping.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(client) = conn else { continue };
                    let n = count.fetch_add(1, Ordering::SeqCst);
                    let reset = (n < resets).then_some(at);
                    std::thread::spawn(move || serve(client, target, reset));
                }
            })
            .expect("spawn the reset proxy");
        ResetProxy { addr, connections, stop }
    }

    /// `http://127.0.0.1:PORT` of the proxy.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for ResetProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr); // wake the accept loop
    }
}

/// Closes with RST: SO_LINGER on with a zero timeout, then close (of the last descriptor).
fn reset(stream: TcpStream) {
    let linger = libc::linger { l_onoff: 1, l_linger: 0 };
    // SAFETY: setsockopt on a socket we own, with a correctly sized `linger`.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
    drop(stream);
}

/// Reads one request's head (up to the blank line) so the reset comes after the client sent it.
fn read_request_head(client: &mut TcpStream) {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let _ = client.set_read_timeout(Some(Duration::from_secs(5)));
    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
        match client.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
}

fn serve(mut client: TcpStream, target: SocketAddr, reset_at: Option<ResetAt>) {
    if reset_at == Some(ResetAt::BeforeAnswer) {
        read_request_head(&mut client);
        reset(client);
        return;
    }
    let Ok(mut upstream) = TcpStream::connect(target) else { return reset(client) };
    let (Ok(mut client_in), Ok(mut upstream_out)) = (client.try_clone(), upstream.try_clone()) else { return };
    // Requests flow through untouched.
    let up = std::thread::spawn(move || {
        let _ = std::io::copy(&mut client_in, &mut upstream_out);
        let _ = upstream_out.shutdown(Shutdown::Write);
    });
    // Answers too, up to the reset point when there is one.
    let mut passed = 0usize;
    let mut buf = [0u8; 8192];
    loop {
        let n = match upstream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if let Some(ResetAt::AfterAnswerBytes(limit)) = reset_at {
            let room = limit.saturating_sub(passed).min(n);
            let _ = client.write_all(&buf[..room]);
            passed += room;
            if passed >= limit {
                let _ = client.flush();
                std::thread::sleep(Duration::from_millis(50)); // let the bytes leave before the RST
                let _ = upstream.shutdown(Shutdown::Both);
                // The request-copying thread holds a clone of the socket: wake it (its read ends),
                // wait for it to drop that clone, so this close is the last one and sends the RST.
                let _ = client.shutdown(Shutdown::Read);
                let _ = up.join();
                return reset(client);
            }
        } else if client.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = client.shutdown(Shutdown::Write);
    let _ = up.join();
}
