//! A TCP proxy on loopback that holds every chunk of bytes for a fixed delay in
//! each direction, as between availability zones (about 0.5 ms each way), so
//! the bench can show what a round trip between the clusters costs. AWS gives
//! "single-digit millisecond latency" between the AZs of a Region
//! (https://docs.aws.amazon.com/whitepapers/latest/aws-fault-isolation-boundaries/availability-zones.html);
//! 1 ms per round trip is the low end of that, so the figures are a floor.
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
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

pub struct DelayProxy {
    pub port: u16,
    pub delay: Duration,
}

impl DelayProxy {
    /// Listens on 127.0.0.1 (a free port) and forwards every connection to
    /// `127.0.0.1:target_port`, adding `delay` each way. Runs for the process's life.
    pub fn start(target_port: u16, delay: Duration) -> DelayProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("delay proxy: bind 127.0.0.1:0");
        let port = listener.local_addr().expect("delay proxy: local address").port();
        let target = SocketAddr::from(([127, 0, 0, 1], target_port));
        thread::spawn(move || {
            for client in listener.incoming().flatten() {
                match TcpStream::connect(target) {
                    Ok(server) => splice(client, server, delay),
                    Err(e) => {
                        eprintln!("delay proxy: cannot reach 127.0.0.1:{target_port}: {e}");
                        let _ = client.shutdown(Shutdown::Both);
                    }
                }
            }
        });
        DelayProxy { port, delay }
    }
}

fn splice(client: TcpStream, server: TcpStream, delay: Duration) {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    if let (Ok(c2), Ok(s2)) = (client.try_clone(), server.try_clone()) {
        one_way(client, s2, delay);
        one_way(server, c2, delay);
    }
}

fn one_way(mut from: TcpStream, mut to: TcpStream, delay: Duration) {
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
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
