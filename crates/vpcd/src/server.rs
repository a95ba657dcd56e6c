//! [`Server`] and [`connect`]: serving card handlers to the vpcd driver over TCP.

use std::eprintln;
use std::io::{self, ErrorKind as IoErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};
use std::vec;
use std::vec::Vec;

use bytes::BytesMut;
use cardwire_transport::card_side::CardHandler;

#[cfg(doc)]
use crate::conf::{reader_conf, reader_conf_listening};
use crate::message::{Frame, MAX_MESSAGE_LEN};
use crate::session::Session;

/// How long the rest of a message may take once its length has arrived.
const MESSAGE_TIMEOUT: Duration = Duration::from_secs(5);
/// How often a waiting connection looks at the shutdown flag.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Listeners for both slots of a vpcd reader in the driver's reversed mode, bound to loopback.
#[derive(Debug)]
pub struct Server {
    listeners: [TcpListener; 2],
    port: u16,
}

impl Server {
    /// Listens on `127.0.0.1:port` and `127.0.0.1:port + 1`.
    ///
    /// # Errors
    /// The I/O error of binding either port (for example, already in use), or
    /// [`io::ErrorKind::InvalidInput`] for port 65535 (no room for the second slot).
    pub fn bind(port: u16) -> io::Result<Self> {
        let next = port.checked_add(1).ok_or_else(|| {
            io::Error::new(
                IoErrorKind::InvalidInput,
                "vpcd needs two ports: PORT and PORT+1",
            )
        })?;
        let first = TcpListener::bind((Ipv4Addr::LOCALHOST, port))?;
        let second = TcpListener::bind((Ipv4Addr::LOCALHOST, next))?;
        Ok(Self {
            listeners: [first, second],
            port,
        })
    }

    /// Listens on two consecutive free loopback ports chosen by the system.
    ///
    /// # Errors
    /// The I/O error of binding, after a few attempts.
    pub fn bind_any() -> io::Result<Self> {
        let mut last = io::Error::new(IoErrorKind::AddrInUse, "no two free consecutive ports");
        for _ in 0..16 {
            let probe = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
            let port = probe.local_addr()?.port();
            drop(probe);
            match Self::bind(port) {
                Ok(server) => return Ok(server),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// The first slot's port (the second is one more).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves a card in each slot, each on its own thread, until [`Running::shutdown`].
    ///
    /// Each slot accepts one driver connection at a time; when the driver disconnects the slot
    /// waits for it to connect again, keeping the card's state. Connections get
    /// `TCP_NODELAY` and acknowledge at once (see [`MAX_MESSAGE_LEN`] for the size bound).
    ///
    /// Both slots hold a card: the Debian driver (vsmartcard 3.3) cannot take an empty slot or
    /// a removed card in this mode, see [`connect`] and `docs/PCSC.md`.
    ///
    /// # Errors
    /// The I/O error of spawning a thread or reading a listener's address.
    pub fn spawn<H: CardHandler + Send + 'static>(self, cards: [H; 2]) -> io::Result<Running<H>> {
        let stop = Arc::new(AtomicBool::new(false));
        let mut wake = Vec::with_capacity(2);
        let mut threads = Vec::with_capacity(2);
        for (index, (listener, card)) in self.listeners.into_iter().zip(cards).enumerate() {
            wake.push(listener.local_addr()?);
            let stop = Arc::clone(&stop);
            let thread = thread::Builder::new()
                .name(format!("vpcd-slot-{index}"))
                .spawn(move || serve_listener(&listener, Session::new(card), &stop, index))?;
            threads.push(thread);
        }
        Ok(Running {
            stop,
            port: self.port,
            wake,
            threads,
        })
    }
}

/// Connects `card` to a vpcd driver in its default mode (the driver listens, on `addr`), and
/// serves it on a thread until [`Running::shutdown`].
///
/// This is the mode in which a card can be removed and re-inserted: while the handler's
/// [`CardHandler::atr`] is empty the card is out, the connection is closed, and the driver
/// reports the slot empty; once the ATR is back the thread connects again and pcscd sees
/// the card inserted. It retries every 100 ms while the driver is not listening.
///
/// The driver listens on all interfaces in this mode (it cannot be told otherwise), so run
/// pcscd in a private network namespace (`unshare --net`), as `.ci/steps/50-pcsc.sh` does.
///
/// # Errors
/// The I/O error of spawning the thread.
pub fn connect<H: CardHandler + Send + 'static>(
    addr: SocketAddr,
    card: H,
) -> io::Result<Running<H>> {
    let stop = Arc::new(AtomicBool::new(false));
    let thread_stop = Arc::clone(&stop);
    let thread = thread::Builder::new()
        .name("vpcd-client".into())
        .spawn(move || serve_client(addr, Session::new(card), &thread_stop))?;
    Ok(Running {
        stop,
        port: addr.port(),
        wake: Vec::new(),
        threads: vec![thread],
    })
}

/// A running [`Server`] or [`connect`]ed card; dropping it shuts it down.
#[derive(Debug)]
pub struct Running<H> {
    stop: Arc<AtomicBool>,
    port: u16,
    wake: Vec<SocketAddr>,
    threads: Vec<JoinHandle<H>>,
}

impl<H> Running<H> {
    /// The (first) port served or connected to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops serving, closes the connections and gives the cards back (an entry is `None`
    /// when its thread panicked, which only a panicking handler can cause).
    pub fn shutdown(mut self) -> Vec<Option<H>> {
        self.stop_threads()
    }

    fn stop_threads(&mut self) -> Vec<Option<H>> {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the threads blocked in accept().
        for addr in &self.wake {
            let _ = TcpStream::connect_timeout(addr, Duration::from_secs(1));
        }
        self.threads.drain(..).map(|t| t.join().ok()).collect()
    }
}

impl<H> Drop for Running<H> {
    fn drop(&mut self) {
        if !self.threads.is_empty() {
            self.stop_threads();
        }
    }
}

fn serve_listener<H: CardHandler>(
    listener: &TcpListener,
    mut session: Session<H>,
    stop: &AtomicBool,
    index: usize,
) -> H {
    let mut buffers = Buffers::new();
    while !stop.load(Ordering::SeqCst) {
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(e) => {
                eprintln!("vpcd slot {index}: accept failed: {e}");
                thread::sleep(POLL_INTERVAL);
                continue;
            }
        };
        if stop.load(Ordering::SeqCst) {
            break;
        }
        report(
            serve_connection(stream, &mut session, stop, &mut buffers),
            index,
        );
    }
    session.into_card()
}

fn serve_client<H: CardHandler>(addr: SocketAddr, mut session: Session<H>, stop: &AtomicBool) -> H {
    let mut buffers = Buffers::new();
    while !stop.load(Ordering::SeqCst) {
        if !session.is_present() {
            thread::sleep(POLL_INTERVAL);
            continue;
        }
        match TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
            Ok(stream) => report(
                serve_connection(stream, &mut session, stop, &mut buffers),
                0,
            ),
            // The driver is not listening (yet): pcscd not started, or restarting.
            Err(_) => thread::sleep(POLL_INTERVAL),
        }
    }
    session.into_card()
}

fn report(result: io::Result<()>, index: usize) {
    if let Err(e) = result {
        // The driver went away (pcscd stopped): expected, wait for it to return.
        if !matches!(
            e.kind(),
            IoErrorKind::UnexpectedEof
                | IoErrorKind::ConnectionReset
                | IoErrorKind::BrokenPipe
                | IoErrorKind::ConnectionAborted
        ) {
            eprintln!("vpcd slot {index}: connection dropped: {e}");
        }
    }
}

/// One message in, one reply out: allocated once per slot, bounded by the length prefix.
struct Buffers {
    /// The message body read from the driver.
    message: Vec<u8>,
    /// The handler's answer.
    answer: Vec<u8>,
    /// The length-prefixed reply frame, written in one piece.
    frame: BytesMut,
}

impl Buffers {
    fn new() -> Self {
        Self {
            message: vec![0; MAX_MESSAGE_LEN],
            answer: vec![0; MAX_MESSAGE_LEN],
            frame: BytesMut::with_capacity(Frame::HEADER_LEN + MAX_MESSAGE_LEN),
        }
    }
}

/// Serves one driver connection until it closes, fails, the card is removed, or the server
/// stops.
fn serve_connection<H: CardHandler>(
    mut stream: TcpStream,
    session: &mut Session<H>,
    stop: &AtomicBool,
    buffers: &mut Buffers,
) -> io::Result<()> {
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(POLL_INTERVAL))?;
    stream.set_write_timeout(Some(MESSAGE_TIMEOUT))?;
    loop {
        let mut header = [0u8; Frame::HEADER_LEN];
        if !read_full(&mut stream, &mut header, stop, true)? {
            return Ok(());
        }
        acknowledge_now(&stream);
        let len = Frame::body_len(header);
        let body = buffers
            .message
            .get_mut(..len)
            .ok_or_else(|| io::Error::new(IoErrorKind::InvalidData, "message too long"))?;
        if !read_full(&mut stream, body, stop, false)? {
            return Ok(());
        }
        let Some(answer) = session.handle(body, &mut buffers.answer) else {
            continue;
        };
        let n = answer.len();
        buffers.frame.clear();
        Frame::encode(answer, &mut buffers.frame)
            .map_err(|e| io::Error::new(IoErrorKind::InvalidData, e))?;
        // One write per reply: with TCP_NODELAY it leaves at once as one segment.
        stream.write_all(&buffers.frame)?;
        if n == 0 {
            // An empty ATR: no card. The driver then closes the connection itself (and waits
            // in recv(MSG_WAITALL) for the 0-byte body until it does); closing our end too
            // ends the wait. See docs/PCSC.md.
            return Ok(());
        }
    }
}

/// Sends the ACK for what has been read at once instead of delaying it (Linux `TCP_QUICKACK`).
///
/// The vpcd driver writes a message's length and its body with two `send` calls and leaves
/// Nagle's algorithm on, so the body waits until the length is acknowledged; a delayed ACK
/// would stall every message by about 40 ms (measured: 43 ms per APDU through pcscd).
fn acknowledge_now(stream: &TcpStream) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        // Best effort: if the option cannot be set, the exchange is slower, not wrong.
        let _ = socket2::SockRef::from(stream).set_tcp_quickack(true);
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let _ = stream;
}

/// Fills `buf` from the stream. Returns `Ok(false)` when the server is stopping, or when the
/// peer closed the connection cleanly between messages (`idle` and nothing read yet).
fn read_full(
    stream: &mut TcpStream,
    buf: &mut [u8],
    stop: &AtomicBool,
    idle: bool,
) -> io::Result<bool> {
    let mut filled = 0;
    let mut deadline = (!idle).then(|| Instant::now() + MESSAGE_TIMEOUT);
    while filled < buf.len() {
        let rest = buf.get_mut(filled..).unwrap_or_default();
        match stream.read(rest) {
            Ok(0) if filled == 0 && idle => return Ok(false),
            Ok(0) => return Err(IoErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                filled += n;
                deadline.get_or_insert_with(|| Instant::now() + MESSAGE_TIMEOUT);
            }
            Err(e) if matches!(e.kind(), IoErrorKind::WouldBlock | IoErrorKind::TimedOut) => {
                if stop.load(Ordering::SeqCst) {
                    return Ok(false);
                }
                if deadline.is_some_and(|d| Instant::now() > d) {
                    return Err(io::Error::new(
                        IoErrorKind::TimedOut,
                        "the driver stopped in the middle of a message",
                    ));
                }
            }
            Err(e) if e.kind() == IoErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_65535_is_refused() {
        let err = Server::bind(u16::MAX).unwrap_err();
        assert_eq!(err.kind(), IoErrorKind::InvalidInput);
    }
}
