//! A TCP proxy on loopback that holds every chunk of bytes for a fixed delay in
//! each direction, as between availability zones (about 0.5 ms each way), so
//! the bench can show what a round trip between the clusters costs. AWS gives
//! "single-digit millisecond latency" between the AZs of a Region
//! (https://docs.aws.amazon.com/whitepapers/latest/aws-fault-isolation-boundaries/availability-zones.html);
//! 1 ms per round trip is the low end of that, so the figures are a floor.
//!
//! It also cuts connections, for the fault tests: [`DelayProxy::cut_after`]
//! drops a connection (both sockets shut, as a failed middlebox or a network
//! partition does) once it has carried more than a given number of bytes from
//! the server, so a test can let the TLS handshake and login through and cut
//! the connection in the middle of a fetch.
//!
//! Each direction of a connection has a reader thread and a writer thread: the
//! reader stamps each chunk with the time it may leave, the writer sleeps until
//! then. Threads rather than tokio tasks because tokio's timer has a resolution
//! of one millisecond, twice the delay being simulated; `thread::sleep` is
//! accurate to tens of microseconds on Linux. Bytes keep their order and
//! chunks pipeline (a chunk's delay starts when it is read, not when the
//! previous one is written), as on a real link.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

pub struct DelayProxy {
    pub port: u16,
    pub delay: Duration,
    faults: Arc<Faults>,
}

/// What the proxy does to connections besides delaying them; read at every
/// chunk, so a change applies to live connections too.
struct Faults {
    /// A connection that has carried more than this many bytes from the server is cut.
    cut_after: AtomicU64,
    /// Connections cut so far.
    cuts: AtomicU64,
}

impl DelayProxy {
    /// Listens on 127.0.0.1 (a free port) and forwards every connection to
    /// `127.0.0.1:target_port`, adding `delay` each way. Runs for the process's life.
    pub fn start(target_port: u16, delay: Duration) -> DelayProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("delay proxy: bind 127.0.0.1:0");
        let port = listener.local_addr().expect("delay proxy: local address").port();
        let target = SocketAddr::from(([127, 0, 0, 1], target_port));
        let faults = Arc::new(Faults {
            cut_after: AtomicU64::new(u64::MAX),
            cuts: AtomicU64::new(0),
        });
        let shared = Arc::clone(&faults);
        thread::spawn(move || {
            for client in listener.incoming().flatten() {
                match TcpStream::connect(target) {
                    Ok(server) => splice(client, server, delay, &shared),
                    Err(e) => {
                        eprintln!("delay proxy: cannot reach 127.0.0.1:{target_port}: {e}");
                        let _ = client.shutdown(Shutdown::Both);
                    }
                }
            }
        });
        DelayProxy { port, delay, faults }
    }

    /// From now on, cuts every connection (live ones included) once it has
    /// carried more than `bytes` from the server: the chunk that crosses the
    /// mark is dropped and both sockets are shut.
    pub fn cut_after(&self, bytes: u64) {
        self.faults.cut_after.store(bytes, Ordering::SeqCst);
    }

    /// Stops cutting: connections made from now on are carried whole.
    pub fn heal(&self) {
        self.cut_after(u64::MAX);
    }

    /// How many connections the proxy has cut.
    pub fn cuts(&self) -> u64 {
        self.faults.cuts.load(Ordering::SeqCst)
    }
}

fn splice(client: TcpStream, server: TcpStream, delay: Duration, faults: &Arc<Faults>) {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    if let (Ok(c2), Ok(s2), Ok(c3)) = (client.try_clone(), server.try_clone(), client.try_clone()) {
        one_way(client, s2, delay, None);
        one_way(server, c2, delay, Some((c3, Arc::clone(faults))));
    }
}

/// Relays `from` to `to` with the delay. `cut`: this is the server's direction;
/// the client's socket is shut with the server's when the connection is cut.
fn one_way(mut from: TcpStream, mut to: TcpStream, delay: Duration, cut: Option<(TcpStream, Arc<Faults>)>) {
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        let mut carried: u64 = 0;
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    carried += n as u64;
                    if let Some((client, faults)) = &cut {
                        if carried > faults.cut_after.load(Ordering::SeqCst) {
                            faults.cuts.fetch_add(1, Ordering::SeqCst);
                            let _ = from.shutdown(Shutdown::Both);
                            let _ = client.shutdown(Shutdown::Both);
                            break;
                        }
                    }
                    if tx.send((Instant::now() + delay, buf[..n].to_vec())).is_err() {
                        break;
                    }
                }
            }
        }
        // Dropping tx ends the writer once it has sent what was read.
    });
    thread::spawn(move || {
        for (due, bytes) in rx {
            let now = Instant::now();
            if due > now {
                thread::sleep(due - now);
            }
            if to.write_all(&bytes).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}
