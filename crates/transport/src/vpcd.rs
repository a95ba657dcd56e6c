//! Serving a [`CardHandler`] as a card in a real pcscd, through the vsmartcard `vpcd` driver.
//!
//! Debian's `vsmartcard-vpcd` package is a pcscd reader driver that forwards everything a
//! PC/SC application sends to a card emulator over TCP. Each message in either direction is a
//! 2-byte big-endian length followed by that many bytes. A 1-byte message from the driver is a
//! control code ([`Control`]): `00` power off, `01` power on, `02` reset, `04` get ATR (answered
//! with the ATR, or with an empty message when no card is inserted); anything longer is a
//! command APDU, answered with the response APDU. [`Session`] is that protocol without I/O.
//!
//! Two ways to meet the driver:
//! - [`Server`]: the driver's *reversed* mode. A reader.conf.d entry with
//!   `DEVICENAME 127.0.0.1:PORT` (see [`reader_conf`]) makes the driver connect to us, so
//!   nothing listens on a public interface. The driver opens two slots, on `PORT` and
//!   `PORT + 1`, and pcscd aborts at start-up if either connection fails, so the server listens
//!   on both with a card in each. With the driver packaged in Debian (vsmartcard 3.3), pcscd
//!   also aborts as soon as a connection drops, so in this mode a card stays inserted while
//!   pcscd runs.
//! - [`connect`]: the driver's default mode (`DEVICENAME /dev/null:PORT`, see
//!   [`reader_conf_listening`]): the driver listens and we connect; closing the connection
//!   removes the card and connecting again re-inserts it. The driver listens on all
//!   interfaces, so use it in a private network namespace.
//!
//! `docs/PCSC.md` records what was learnt running pcscd with this driver.
//!
//! ```no_run
//! use cardwire_transport::vpcd::{Server, reader_conf};
//! # use cardwire_transport::CardHandler;
//! # struct MyCard;
//! # impl CardHandler for MyCard {
//! #     fn atr(&self) -> &[u8] { &[0x3B, 0x80, 0x80, 0x01, 0x01] }
//! #     fn power_on(&mut self) {}
//! #     fn power_off(&mut self) {}
//! #     fn process(&mut self, _: &[u8], r: &mut [u8]) -> usize { r[..2].copy_from_slice(&[0x90, 0]); 2 }
//! # }
//! let server = Server::bind(35_990)?;
//! std::fs::write("/tmp/readers/cardwire", reader_conf("cardwire vpcd", server.port()))?;
//! let running = server.spawn([MyCard, MyCard])?;
//! // ... `pcscd --foreground -c /tmp/readers` now shows "cardwire vpcd 00 00" with MyCard ...
//! running.shutdown();
//! # Ok::<(), std::io::Error>(())
//! ```

use std::io::{self, ErrorKind as IoErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::string::String;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};
use std::vec;
use std::vec::Vec;
use std::{eprintln, format};

use crate::CardHandler;

/// The largest message the 2-byte length prefix can carry.
pub const MAX_MESSAGE_LEN: usize = 0xFFFF;

/// The path of the vpcd driver installed by Debian's `vsmartcard-vpcd` package.
pub const DRIVER_PATH: &str = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so";

/// How long the rest of a message may take once its length has arrived.
const MESSAGE_TIMEOUT: Duration = Duration::from_secs(5);
/// How often a waiting connection looks at the shutdown flag.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// A 1-byte control message from the driver (vsmartcard `vpcd.h`, `VPCD_CTRL_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Control(pub u8);

impl Control {
    /// Power removed from the card.
    pub const POWER_OFF: Self = Self(0x00);
    /// Power applied (cold reset).
    pub const POWER_ON: Self = Self(0x01);
    /// Warm reset.
    pub const RESET: Self = Self(0x02);
    /// Asks for the ATR; answered with the ATR, or an empty message when no card is inserted.
    pub const GET_ATR: Self = Self(0x04);
}

/// One message from the driver, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request<'a> {
    /// A 1-byte control message.
    Control(Control),
    /// A command APDU (any message longer than one byte, passed on as it is).
    Apdu(&'a [u8]),
    /// An empty message; the driver never sends one, it is ignored.
    Empty,
}

impl<'a> Request<'a> {
    /// Decodes a message body (after its length prefix).
    pub fn parse(message: &'a [u8]) -> Self {
        match message {
            [] => Request::Empty,
            [code] => Request::Control(Control(*code)),
            apdu => Request::Apdu(apdu),
        }
    }
}

/// The card side of one vpcd connection, without any I/O: feed it each message from the
/// driver, send back what it returns.
#[derive(Debug)]
pub struct Session<H> {
    card: H,
}

impl<H: CardHandler> Session<H> {
    /// A session serving `card`.
    pub fn new(card: H) -> Self {
        Self { card }
    }

    /// The card.
    pub fn card(&self) -> &H {
        &self.card
    }

    /// Gives the card back.
    pub fn into_card(self) -> H {
        self.card
    }

    /// Whether the card is inserted: a handler whose [`CardHandler::atr`] is empty is
    /// treated as removed (the driver reports an empty ATR to pcscd as "no card").
    pub fn is_present(&self) -> bool {
        !self.card.atr().is_empty()
    }

    /// Handles one message, writing the reply body into `out`.
    ///
    /// Returns the reply body (to be sent with its length prefix), or `None` when the message
    /// needs no reply (power and reset events). `out` should hold [`MAX_MESSAGE_LEN`] bytes;
    /// a response that does not fit (a misbehaving handler) is replaced by status `6F00`
    /// (ISO/IEC 7816-4 §5.6: no precise diagnosis). An unknown control code gets no reply,
    /// as the driver expects none.
    pub fn handle<'o>(&mut self, message: &[u8], out: &'o mut [u8]) -> Option<&'o [u8]> {
        match Request::parse(message) {
            Request::Empty => None,
            Request::Control(Control::GET_ATR) => {
                let atr = self.card.atr();
                let n = atr.len().min(out.len());
                let dst = out.get_mut(..n)?;
                dst.copy_from_slice(atr.get(..n)?);
                Some(dst)
            }
            Request::Control(control) => {
                match control {
                    Control::POWER_OFF => self.card.power_off(),
                    Control::POWER_ON => self.card.power_on(),
                    Control::RESET => self.card.reset(),
                    _ => {}
                }
                None
            }
            Request::Apdu(apdu) => {
                let n = self.card.process(apdu, out);
                if (2..=out.len()).contains(&n) {
                    out.get(..n)
                } else {
                    internal_error(out)
                }
            }
        }
    }
}

fn internal_error(out: &mut [u8]) -> Option<&[u8]> {
    let sw = out.get_mut(..2)?;
    sw.copy_from_slice(&[0x6F, 0x00]);
    Some(sw)
}

/// The reader.conf.d entry that makes pcscd's vpcd driver connect to a [`Server`] on
/// `127.0.0.1:port` (and `port + 1` for the second slot).
///
/// pcscd names the readers `"<friendly_name> 00 00"` and `"<friendly_name> 00 01"`. Write the
/// text into a directory of its own and start `pcscd --foreground -c DIR`; see
/// `docs/PCSC.md`.
pub fn reader_conf(friendly_name: &str, port: u16) -> String {
    format!(
        "# cardwire: serve a card to pcscd through vsmartcard's vpcd driver (reversed mode:\n\
         # the driver connects to 127.0.0.1:{port} and :{next}).\n\
         FRIENDLYNAME \"{friendly_name}\"\n\
         DEVICENAME   127.0.0.1:{port}\n\
         LIBPATH      {DRIVER_PATH}\n",
        next = port.wrapping_add(1),
    )
}

/// The reader.conf.d entry for the driver's default mode: it listens on `port` (all
/// interfaces) and [`connect`] connects to it. pcscd names the reader
/// `"<friendly_name> 00 00"`.
pub fn reader_conf_listening(friendly_name: &str, port: u16) -> String {
    format!(
        "# cardwire: vsmartcard's vpcd driver listening on port {port} (all interfaces: run\n\
         # pcscd in a private network namespace).\n\
         FRIENDLYNAME \"{friendly_name}\"\n\
         DEVICENAME   /dev/null:{port}\n\
         LIBPATH      {DRIVER_PATH}\n"
    )
}

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
    message: Vec<u8>,
    reply: Vec<u8>,
}

impl Buffers {
    fn new() -> Self {
        Self {
            message: vec![0; MAX_MESSAGE_LEN],
            reply: vec![0; 2 + MAX_MESSAGE_LEN],
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
        let mut header = [0u8; 2];
        if !read_full(&mut stream, &mut header, stop, true)? {
            return Ok(());
        }
        acknowledge_now(&stream);
        let len = usize::from(u16::from_be_bytes(header));
        let body = buffers
            .message
            .get_mut(..len)
            .ok_or_else(|| io::Error::new(IoErrorKind::InvalidData, "message too long"))?;
        if !read_full(&mut stream, body, stop, false)? {
            return Ok(());
        }
        let (len_field, out) = buffers.reply.split_at_mut(2);
        let Some(answer) = session.handle(body, out) else {
            continue;
        };
        let n = answer.len();
        let n16 = u16::try_from(n)
            .map_err(|_| io::Error::new(IoErrorKind::InvalidData, "reply too long"))?;
        len_field.copy_from_slice(&n16.to_be_bytes());
        let frame = buffers
            .reply
            .get(..2 + n)
            .ok_or_else(|| io::Error::new(IoErrorKind::InvalidData, "reply too long"))?;
        // One write per reply: with TCP_NODELAY it leaves at once as one segment.
        stream.write_all(frame)?;
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

    /// A card answering `9000` with the command echoed, counting power events.
    struct Echo {
        powered: u32,
        resets: u32,
    }

    impl CardHandler for Echo {
        fn atr(&self) -> &[u8] {
            // A minimal direct-convention ATR with T=1 and no historical bytes.
            &[0x3B, 0x80, 0x80, 0x01, 0x01]
        }
        fn power_on(&mut self) {
            self.powered += 1;
        }
        fn power_off(&mut self) {}
        fn reset(&mut self) {
            self.resets += 1;
        }
        fn process(&mut self, command: &[u8], response: &mut [u8]) -> usize {
            let n = command.len();
            response[..n].copy_from_slice(command);
            response[n..n + 2].copy_from_slice(&[0x90, 0x00]);
            n + 2
        }
    }

    fn echo() -> Echo {
        Echo {
            powered: 0,
            resets: 0,
        }
    }

    #[test]
    fn requests_decode_by_length() {
        assert_eq!(Request::parse(&[]), Request::Empty);
        assert_eq!(Request::parse(&[4]), Request::Control(Control::GET_ATR));
        assert_eq!(Request::parse(&[0, 0xA4]), Request::Apdu(&[0, 0xA4]));
    }

    #[test]
    fn session_answers_atr_and_apdus_and_not_power_events() {
        let mut session = Session::new(echo());
        let mut out = vec![0u8; MAX_MESSAGE_LEN];
        assert_eq!(
            session.handle(&[4], &mut out),
            Some(&[0x3B, 0x80, 0x80, 0x01, 0x01][..])
        );
        assert_eq!(session.handle(&[1], &mut out), None);
        assert_eq!(session.handle(&[2], &mut out), None);
        assert_eq!(session.handle(&[0x42], &mut out), None);
        assert_eq!(
            session.handle(&[0, 0xB0, 0, 0], &mut out),
            Some(&[0, 0xB0, 0, 0, 0x90, 0][..])
        );
        let card = session.card();
        assert_eq!((card.powered, card.resets), (1, 1));
    }

    #[test]
    fn oversized_handler_answer_becomes_6f00() {
        struct Liar;
        impl CardHandler for Liar {
            fn atr(&self) -> &[u8] {
                &[0x3B, 0x00]
            }
            fn power_on(&mut self) {}
            fn power_off(&mut self) {}
            fn process(&mut self, _: &[u8], _: &mut [u8]) -> usize {
                usize::MAX
            }
        }
        let mut session = Session::new(Liar);
        let mut out = [0u8; 258];
        assert_eq!(
            session.handle(&[0, 0, 0, 0], &mut out),
            Some(&[0x6F, 0][..])
        );
    }

    #[test]
    fn reader_conf_names_both_ports_by_loopback() {
        let conf = reader_conf("cardwire test", 35_990);
        assert!(conf.contains("FRIENDLYNAME \"cardwire test\""));
        assert!(conf.contains("DEVICENAME   127.0.0.1:35990"));
        assert!(conf.contains(DRIVER_PATH));
    }

    #[test]
    fn port_65535_is_refused() {
        let err = Server::bind(u16::MAX).unwrap_err();
        assert_eq!(err.kind(), IoErrorKind::InvalidInput);
    }
}
