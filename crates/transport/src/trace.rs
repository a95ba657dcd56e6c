//! [`Traced`]: a [`Transport`] adapter that logs every APDU with its decoded meaning, with PIN
//! data redacted.
//!
//! The data field of VERIFY (`20`/`21`), CHANGE REFERENCE DATA (`24`/`25`) and RESET RETRY
//! COUNTER (`2C`/`2D`) (ISO/IEC 7816-4 §11.5.6, §11.5.7, §11.5.10) is never shown: a trace
//! line says `<PIN redacted>` and the length. A command whose bytes cannot be parsed shows only
//! its header when its INS is one of those.
//!
//! Sinks implement [`TraceSink`]; [`FmtSink`] writes lines to any [`core::fmt::Write`]
//! (no_std), `StdSink` (feature `std`) to any `std::io::Write`, and with `alloc` a
//! `Vec<String>` collects lines.

use core::fmt;

use cardwire_apdu::{Command, Ins, StatusWord};

use crate::session::carries_reference_data;
use crate::transport::{Error, ErrorKind, TransactionEnd, Transport};

/// What [`TraceEvent::Command`] shows in place of PIN data.
pub const REDACTED: &str = "<PIN redacted>";

/// Bytes as space-separated upper-case hex.
struct Hex<'a>(&'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

/// One traced event. Its [`fmt::Display`] is the trace line (without a newline).
#[non_exhaustive]
#[derive(Clone, Copy)]
pub enum TraceEvent<'a> {
    /// A command APDU going to the card.
    Command(CommandTrace<'a>),
    /// The card's response.
    Response(ResponseTrace<'a>),
    /// The transport failed.
    Failed(ErrorKind),
    /// The card was reset; its new ATR.
    Reset(&'a [u8]),
}

impl fmt::Display for TraceEvent<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TraceEvent::Command(c) => c.fmt(f),
            TraceEvent::Response(r) => r.fmt(f),
            TraceEvent::Failed(kind) => write!(f, "! {kind}"),
            TraceEvent::Reset(atr) => write!(f, "* reset, ATR {}", Hex(atr)),
        }
    }
}

impl fmt::Debug for TraceEvent<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A command APDU as the trace shows it. The raw bytes are not reachable: PIN data cannot leak
/// through this type.
#[derive(Clone, Copy)]
pub struct CommandTrace<'a> {
    bytes: &'a [u8],
}

impl<'a> CommandTrace<'a> {
    /// Wraps the bytes of a command APDU.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    /// The instruction byte, when the command has one.
    pub fn ins(&self) -> Option<Ins> {
        self.bytes.get(1).map(|b| Ins(*b))
    }

    /// Whether the data field is hidden ([`REDACTED`]).
    pub fn is_redacted(&self) -> bool {
        self.ins().is_some_and(carries_reference_data)
    }

    /// The length of the whole command APDU.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether the command is empty (a malformed APDU).
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

impl fmt::Display for CommandTrace<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redact = self.is_redacted();
        let Ok(cmd) = Command::new_checked(self.bytes) else {
            let shown = if redact {
                self.bytes.get(..4).unwrap_or(self.bytes)
            } else {
                self.bytes
            };
            write!(f, "> {} (malformed command APDU", Hex(shown))?;
            if redact {
                write!(f, ", {REDACTED}")?;
            }
            return f.write_str(")");
        };
        write!(
            f,
            "> {:02X} {:02X} {:02X} {:02X} ",
            cmd.cla().0,
            cmd.ins().0,
            cmd.p1(),
            cmd.p2()
        )?;
        match cmd.ins().name() {
            Some(name) => write!(f, "{name}")?,
            None => f.write_str("(unknown INS)")?,
        }
        write!(f, " case {}", cmd.case())?;
        if cmd.nc() > 0 {
            if redact {
                write!(f, " Lc={} data={REDACTED}", cmd.nc())?;
            } else {
                write!(f, " Lc={} data={}", cmd.nc(), Hex(cmd.data()))?;
            }
        }
        if cmd.ne() > 0 {
            write!(f, " Le={}", cmd.ne())?;
        }
        Ok(())
    }
}

/// A response APDU as the trace shows it.
#[derive(Clone, Copy)]
pub struct ResponseTrace<'a> {
    bytes: &'a [u8],
}

impl<'a> ResponseTrace<'a> {
    /// Wraps the bytes of a response APDU.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    /// The status word, when the response has one.
    pub fn sw(&self) -> Option<StatusWord> {
        match self.bytes {
            [.., sw1, sw2] => Some(StatusWord::new(*sw1, *sw2)),
            _ => None,
        }
    }
}

impl fmt::Display for ResponseTrace<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some((data, _)) = self.bytes.split_last_chunk::<2>() else {
            return write!(f, "< {} (malformed: no status word)", Hex(self.bytes));
        };
        let sw = StatusWord::new(
            self.bytes.get(data.len()).copied().unwrap_or(0),
            self.bytes.get(data.len() + 1).copied().unwrap_or(0),
        );
        f.write_str("< ")?;
        if !data.is_empty() {
            write!(f, "{} ({} bytes) ", Hex(data), data.len())?;
        }
        write!(f, "{sw} {}", sw.description())
    }
}

/// Where a [`Traced`] transport sends its events.
pub trait TraceSink {
    /// Records one event.
    fn record(&mut self, event: &TraceEvent<'_>);
}

impl<K: TraceSink + ?Sized> TraceSink for &mut K {
    fn record(&mut self, event: &TraceEvent<'_>) {
        (**self).record(event);
    }
}

/// Writes one line per event to a [`fmt::Write`] (a UART logger, a `heapless::String`, ...).
/// A write error is ignored: tracing never fails a transmission.
#[derive(Debug, Clone, Default)]
pub struct FmtSink<W>(pub W);

impl<W: fmt::Write> TraceSink for FmtSink<W> {
    fn record(&mut self, event: &TraceEvent<'_>) {
        // Tracing must not change the outcome of a transmission.
        let _ = writeln!(self.0, "{event}");
    }
}

/// Collects one line per event.
#[cfg(feature = "alloc")]
impl TraceSink for alloc::vec::Vec<alloc::string::String> {
    fn record(&mut self, event: &TraceEvent<'_>) {
        use alloc::string::ToString;
        self.push(event.to_string());
    }
}

/// Writes one line per event to a [`std::io::Write`] (standard error by default).
#[cfg(feature = "std")]
#[derive(Debug)]
pub struct StdSink<W: std::io::Write>(pub W);

#[cfg(feature = "std")]
impl StdSink<std::io::Stderr> {
    /// A sink writing to standard error.
    pub fn stderr() -> Self {
        Self(std::io::stderr())
    }
}

#[cfg(feature = "std")]
impl<W: std::io::Write> TraceSink for StdSink<W> {
    fn record(&mut self, event: &TraceEvent<'_>) {
        // Tracing must not change the outcome of a transmission.
        let _ = writeln!(self.0, "{event}");
    }
}

/// Wraps a transport and reports every command, response, failure and reset to a sink.
///
/// ```
/// use cardwire_transport::{FmtSink, Replay, Traced, Transport};
/// let transcript = [0, 0, 2, 0x63, 0xC2];
/// let mut log = String::new();
/// let mut t = Traced::new(Replay::new(&transcript)?, FmtSink(&mut log));
/// let mut buf = [0u8; 8];
/// t.transmit(&[0x00, 0x20, 0x00, 0x81, 0x04, b'1', b'2', b'3', b'4'], &mut buf)?;
/// drop(t);
/// assert!(log.contains("VERIFY"));
/// assert!(log.contains("<PIN redacted>"));
/// assert!(!log.contains("31 32 33 34"));
/// assert!(log.contains("63C2"));
/// # Ok::<(), cardwire_transport::ErrorKind>(())
/// ```
#[derive(Debug, Clone)]
pub struct Traced<T, K> {
    inner: T,
    sink: K,
}

impl<T: Transport, K: TraceSink> Traced<T, K> {
    /// Wraps `inner`, reporting to `sink`.
    pub fn new(inner: T, sink: K) -> Self {
        Self { inner, sink }
    }

    /// The wrapped transport.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    /// The wrapped transport, mutably (bytes sent through it directly are not traced).
    pub fn inner_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// The sink.
    pub fn sink(&self) -> &K {
        &self.sink
    }

    /// The sink, mutably.
    pub fn sink_mut(&mut self) -> &mut K {
        &mut self.sink
    }

    /// Gives the transport and the sink back.
    pub fn into_parts(self) -> (T, K) {
        (self.inner, self.sink)
    }
}

impl<T: Transport, K: TraceSink> Transport for Traced<T, K> {
    type Error = T::Error;

    fn transmit<'b>(
        &mut self,
        command: &[u8],
        response: &'b mut [u8],
    ) -> Result<&'b [u8], T::Error> {
        self.sink
            .record(&TraceEvent::Command(CommandTrace::new(command)));
        match self.inner.transmit(command, response) {
            Ok(rsp) => {
                self.sink
                    .record(&TraceEvent::Response(ResponseTrace::new(rsp)));
                Ok(rsp)
            }
            Err(e) => {
                self.sink.record(&TraceEvent::Failed(e.kind()));
                Err(e)
            }
        }
    }

    fn atr(&self) -> &[u8] {
        self.inner.atr()
    }

    fn protocol(&self) -> Option<crate::Protocol> {
        self.inner.protocol()
    }

    fn reset(&mut self) -> Result<(), T::Error> {
        match self.inner.reset() {
            Ok(()) => {
                self.sink.record(&TraceEvent::Reset(self.inner.atr()));
                Ok(())
            }
            Err(e) => {
                self.sink.record(&TraceEvent::Failed(e.kind()));
                Err(e)
            }
        }
    }

    /// Forwards to the inner transport; the commands inside are traced too.
    fn transaction(
        &mut self,
        body: &mut dyn FnMut(&mut dyn Transport<Error = T::Error>) -> TransactionEnd,
    ) -> Result<(), T::Error> {
        // Both the transport and the sink are seen as trait objects inside, so that a
        // transaction nested in this one has the same type (and the types do not grow).
        let sink: &mut dyn TraceSink = &mut self.sink;
        self.inner.transaction(&mut |inner| {
            let mut traced = Traced {
                inner,
                sink: &mut *sink,
            };
            body(&mut traced)
        })
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::string::String;

    use super::*;

    fn line(event: TraceEvent<'_>) -> String {
        use std::string::ToString;
        event.to_string()
    }

    #[test]
    fn commands_are_decoded() {
        // SELECT by AID (ISO/IEC 7816-4 §11.2.2), case 4 short.
        let select = [0x00, 0xA4, 0x04, 0x00, 0x02, 0xA0, 0x00, 0x00];
        assert_eq!(
            line(TraceEvent::Command(CommandTrace::new(&select))),
            "> 00 A4 04 00 SELECT case 4S Lc=2 data=A0 00 Le=256"
        );
        assert_eq!(
            line(TraceEvent::Response(ResponseTrace::new(&[0x6A, 0x82]))),
            std::format!("< 6A82 {}", StatusWord(0x6A82).description())
        );
    }

    #[test]
    fn every_pin_instruction_is_redacted_even_when_malformed() {
        for ins in [0x20u8, 0x21, 0x24, 0x25, 0x2C, 0x2D] {
            let good = [0x00, ins, 0x00, 0x81, 0x04, 0x31, 0x32, 0x33, 0x34];
            let bad = [0x00, ins, 0x00, 0x81, 0x09, 0x31, 0x32, 0x33, 0x34];
            for bytes in [&good[..], &bad[..]] {
                let text = line(TraceEvent::Command(CommandTrace::new(bytes)));
                assert!(text.contains(REDACTED), "{text}");
                assert!(!text.contains("31"), "{text}");
            }
        }
    }

    #[test]
    fn malformed_responses_are_shown_not_panicked_on() {
        assert_eq!(
            line(TraceEvent::Response(ResponseTrace::new(&[0x90]))),
            "< 90 (malformed: no status word)"
        );
    }
}
