//! A TCP forwarder on loopback in front of an HTTP service (moto's Secrets
//! Manager) that lets requests through until a given call has been answered,
//! then holds the next request for ever: a function process that waits there
//! has made that call and not the next one, a deterministic kill point for a
//! step that talks only to Secrets Manager (finishSecret: its AWSCURRENT move
//! done, its AWSPENDING removal not). Plain HTTP/1.1 only; a request's first
//! bytes start a chunk of their own, as the SDK writes them.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::thread;

pub struct RequestGate {
    pub port: u16,
    state: Arc<GateState>,
}

struct GateState {
    marker: String,
    /// Requests carrying the marker seen so far (on every connection).
    seen: AtomicU32,
    after: u32,
    held: AtomicBool,
}

impl RequestGate {
    /// Forwards to `127.0.0.1:target_port`; once `after` requests containing
    /// `marker` (e.g. `secretsmanager.UpdateSecretVersionStage`) went through,
    /// the next request is held and never forwarded.
    pub fn start(target_port: u16, marker: &str, after: u32) -> RequestGate {
        let listener = TcpListener::bind("127.0.0.1:0").expect("request gate: bind");
        let port = listener.local_addr().expect("request gate: address").port();
        let target = SocketAddr::from(([127, 0, 0, 1], target_port));
        let state = Arc::new(GateState {
            marker: marker.to_string(),
            seen: AtomicU32::new(0),
            after,
            held: AtomicBool::new(false),
        });
        let shared = Arc::clone(&state);
        thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(target) else {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                };
                let (Ok(mut c_read), Ok(mut s_write), Ok(mut s_read), Ok(mut c_write)) = (
                    client.try_clone(),
                    server.try_clone(),
                    server.try_clone(),
                    client.try_clone(),
                ) else {
                    continue;
                };
                let state = Arc::clone(&shared);
                thread::spawn(move || {
                    let mut buf = vec![0u8; 64 * 1024];
                    while let Ok(n) = c_read.read(&mut buf) {
                        if n == 0 {
                            break;
                        }
                        let chunk = String::from_utf8_lossy(&buf[..n]);
                        let starts_request = chunk.starts_with("POST ") || chunk.starts_with("GET ");
                        if starts_request && state.seen.load(Ordering::SeqCst) >= state.after {
                            state.held.store(true, Ordering::SeqCst);
                            // Held: read on (so the client sees no error) but forward nothing.
                            while matches!(c_read.read(&mut buf), Ok(n) if n > 0) {}
                            break;
                        }
                        if chunk.contains(state.marker.as_str()) {
                            state.seen.fetch_add(1, Ordering::SeqCst);
                        }
                        if s_write.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = s_write.shutdown(Shutdown::Write);
                });
                thread::spawn(move || {
                    let _ = std::io::copy(&mut s_read, &mut c_write);
                    let _ = c_write.shutdown(Shutdown::Write);
                });
            }
        });
        RequestGate { port, state }
    }

    /// Whether a request is being held (the client waits at the gate).
    pub fn holding(&self) -> bool {
        self.state.held.load(Ordering::SeqCst)
    }
}
