//! The GemPC Twin serial framing, as libccid's serial driver (`ccid_serial.c`, the
//! `libccidtwin.so` of Debian's `libccid`) speaks it, as a sans-IO codec.
//!
//! Observed in `ccid_serial.c` (`WriteSerial`, `ReadSerial`):
//!
//! - a frame is `SYNC 03`, a control byte `ACK 06`, the CCID message, and an LRC (the XOR
//!   of every byte before it, SYNC and control included);
//! - `03 15 16` (SYNC, NAK, LRC) asks the other side to send its last frame again;
//! - the reader announces a card movement outside frames as `50 02` (absent) or `50 03`
//!   (present) — `RDR_to_PC_NotifySlotChange` with its one `bmSlotICCState` byte;
//! - a T=0 reader may send single bytes `80`..`FF` as time requests;
//! - for the GemPC Twin and GemPC PinPad the driver expects an echo frame before each answer
//!   (`device.echo`), reads it at the start of **every** read, time extensions included, into
//!   the buffer meant for the answer, and ignores its content: [`SerialPort`] in echo mode
//!   therefore sends, before each frame, the command's 10-byte header with `dwLength` 0 (a
//!   whole echo of a long command, such as the PinPad's 165-byte "load strings" Escape, would
//!   overflow the driver's answer buffer);
//! - when opening, the driver first sends `PC_to_RDR_Escape 02` (get firmware) with a 2 s
//!   timeout and gives up if nothing answers, then `Escape 01 01 01` (card movements
//!   reported synchronously).

use heapless::{Deque, Vec};

use crate::Error;
use crate::message::{HEADER_LEN, total_len};

/// The frame start.
pub const SYNC: u8 = 0x03;
/// Control byte: a frame with a CCID message follows.
pub const ACK: u8 = 0x06;
/// Control byte: send your last frame again.
pub const NAK: u8 = 0x15;
/// The whole NAK frame: SYNC, NAK, LRC.
pub const NAK_FRAME: [u8; 3] = [SYNC, NAK, SYNC ^ NAK];
/// Bytes a frame adds around its message.
pub const FRAME_OVERHEAD: usize = 3;

/// XOR of `bytes`.
pub fn lrc(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0, |a, b| a ^ b)
}

/// Frames the CCID message `msg`: `03 06 msg LRC`.
///
/// ```
/// use cardwire_ccid::serial::encode_frame;
/// // ccid_serial.c WriteSerial for PC_to_RDR_GetSlotStatus, bSeq 0.
/// let mut out = [0u8; 16];
/// let frame = encode_frame(&[0x65, 0, 0, 0, 0, 0, 0, 0, 0, 0], &mut out)?;
/// assert_eq!(frame, [0x03, 0x06, 0x65, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x60]);
/// # Ok::<(), cardwire_ccid::Error>(())
/// ```
///
/// # Errors
/// [`Error::BufferTooSmall`] when `out` cannot hold the message and 3 bytes.
pub fn encode_frame<'o>(msg: &[u8], out: &'o mut [u8]) -> Result<&'o [u8], Error> {
    let needed = msg.len() + FRAME_OVERHEAD;
    let out = out
        .get_mut(..needed)
        .ok_or(Error::BufferTooSmall { needed })?;
    let (head, rest) = out.split_at_mut(2);
    head.copy_from_slice(&[SYNC, ACK]);
    let (body, tail) = rest.split_at_mut(msg.len());
    body.copy_from_slice(msg);
    let check = SYNC ^ ACK ^ lrc(msg);
    if let Some(last) = tail.first_mut() {
        *last = check;
    }
    Ok(out)
}

/// Which side decodes: the host also accepts card movements and time requests between
/// frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The reader (decodes the host's frames).
    Reader,
    /// The host (decodes the reader's frames, card movements and time requests).
    Host,
}

/// What the decoder found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<'a> {
    /// A frame with a correct LRC: the CCID message (its `dwLength` defined its end).
    Message(&'a [u8]),
    /// The peer sent a NAK frame: send the last frame again.
    Nak,
    /// A broken frame (wrong LRC or control byte, message too long for the buffer): answer
    /// with [`NAK_FRAME`].
    BadFrame,
    /// (host) A card movement: `bmSlotICCState` (`02` absent, `03` present).
    SlotChange(u8),
    /// (host) A T=0 time request byte (`80`..`FF`).
    TimeRequest(u8),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Idle,
    Control,
    Message,
    Lrc,
    NakLrc,
    Movement,
}

/// A byte-by-byte frame decoder holding messages of up to `M` bytes.
///
/// ```
/// use cardwire_ccid::serial::{Event, FrameDecoder, Role};
/// let mut d: FrameDecoder<300> = FrameDecoder::new(Role::Reader);
/// let frame = [0x03, 0x06, 0x6B, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x6D];
/// let mut got = None;
/// for &b in &frame {
///     if let Some(Event::Message(m)) = d.push(b) {
///         got = Some(m.to_vec());
///     }
/// }
/// assert_eq!(got.as_deref(), Some(&frame[2..13]));
/// ```
#[derive(Debug, Clone)]
pub struct FrameDecoder<const M: usize> {
    role: Role,
    state: State,
    buf: Vec<u8, M>,
    check: u8,
    /// Bytes dropped outside frames.
    pub garbage: u32,
}

impl<const M: usize> FrameDecoder<M> {
    /// A decoder waiting for SYNC.
    pub fn new(role: Role) -> Self {
        Self {
            role,
            state: State::Idle,
            buf: Vec::new(),
            check: 0,
            garbage: 0,
        }
    }

    /// Forgets a partly received frame (the driver calls this when the line stayed silent
    /// in the middle of a frame).
    pub fn reset(&mut self) {
        self.state = State::Idle;
        self.buf.clear();
    }

    /// Whether a frame is partly received.
    pub fn in_frame(&self) -> bool {
        self.state != State::Idle
    }

    /// Feeds one byte.
    pub fn push(&mut self, byte: u8) -> Option<Event<'_>> {
        match self.state {
            State::Idle => match (byte, self.role) {
                (SYNC, _) => {
                    self.state = State::Control;
                    self.check = SYNC;
                    None
                }
                (0x50, Role::Host) => {
                    self.state = State::Movement;
                    None
                }
                (0x80..=0xFF, Role::Host) => Some(Event::TimeRequest(byte)),
                _ => {
                    self.garbage = self.garbage.saturating_add(1);
                    None
                }
            },
            State::Movement => {
                self.state = State::Idle;
                Some(Event::SlotChange(byte))
            }
            State::Control => {
                self.check ^= byte;
                match byte {
                    ACK => {
                        self.buf.clear();
                        self.state = State::Message;
                        None
                    }
                    NAK => {
                        self.state = State::NakLrc;
                        None
                    }
                    _ => {
                        self.state = State::Idle;
                        Some(Event::BadFrame)
                    }
                }
            }
            State::NakLrc => {
                self.state = State::Idle;
                if byte == SYNC ^ NAK {
                    Some(Event::Nak)
                } else {
                    Some(Event::BadFrame)
                }
            }
            State::Message => {
                self.check ^= byte;
                if self.buf.push(byte).is_err() {
                    self.reset();
                    return Some(Event::BadFrame);
                }
                if let Some(total) = total_len(&self.buf) {
                    if total > M {
                        self.reset();
                        return Some(Event::BadFrame);
                    }
                    if self.buf.len() >= total {
                        self.state = State::Lrc;
                    }
                }
                None
            }
            State::Lrc => {
                self.state = State::Idle;
                if self.check ^ byte == 0 {
                    Some(Event::Message(&self.buf))
                } else {
                    Some(Event::BadFrame)
                }
            }
        }
    }
}

/// The reader's side of the serial line: decodes the host's frames, answers NAKs and broken
/// frames, echoes commands when the driver expects it, and frames responses and card
/// movements. `M` is the largest frame (message + 3) in both directions.
///
/// # Driving order
/// For each byte from the host call [`SerialPort::push`]; a [`Event::Message`] goes to the
/// reader engine; then send [`SerialPort::poll_transmit`]'s bytes. Frame each engine
/// response with [`SerialPort::send_message`] and each card movement with
/// [`SerialPort::send_slot_change`], then send [`SerialPort::poll_transmit`]'s bytes again.
#[derive(Debug)]
pub struct SerialPort<const M: usize> {
    decoder: FrameDecoder<M>,
    echo: bool,
    /// The last command frame received (for the echo).
    command: Vec<u8, M>,
    /// The last frame sent (for a NAK).
    last: Vec<u8, M>,
    tx: Deque<u8, M>,
}

impl<const M: usize> SerialPort<M> {
    /// A port; `echo` makes it echo each command frame before every frame it sends, as the
    /// GemPC Twin and PinPad do (libccid `device.echo`).
    pub fn new(echo: bool) -> Self {
        Self {
            decoder: FrameDecoder::new(Role::Reader),
            echo,
            command: Vec::new(),
            last: Vec::new(),
            tx: Deque::new(),
        }
    }

    /// Forgets a partly received frame (silence in the middle of a frame).
    pub fn reset(&mut self) {
        self.decoder.reset();
    }

    /// Feeds one byte from the host; returns a whole CCID message when one is complete.
    pub fn push(&mut self, byte: u8) -> Option<&[u8]> {
        let event = self.decoder.push(byte)?;
        match event {
            Event::Message(msg) => {
                // The echo: the header with dwLength 0.
                self.command.clear();
                let mut header = [0u8; HEADER_LEN];
                if let Some(h) = msg.first_chunk::<HEADER_LEN>() {
                    header = *h;
                }
                if let Some(len) = header.get_mut(1..5) {
                    len.fill(0);
                }
                let mut frame = [0u8; HEADER_LEN + FRAME_OVERHEAD];
                if let Ok(f) = encode_frame(&header, &mut frame) {
                    if self.command.extend_from_slice(f).is_err() {
                        self.command.clear();
                    }
                }
                // The message stays in the decoder until the next byte.
                Some(self.decoder.buf.as_slice())
            }
            Event::Nak => {
                let last = self.last.clone();
                self.queue(&last);
                None
            }
            Event::BadFrame => {
                self.queue(&NAK_FRAME);
                None
            }
            Event::SlotChange(_) | Event::TimeRequest(_) => None,
        }
    }

    fn queue(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.tx.push_back(b).is_err() {
                break;
            }
        }
    }

    /// Frames a CCID response (after the echo of the command in echo mode).
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] when the frame (and echo) do not fit the transmit queue;
    /// nothing is queued then.
    pub fn send_message(&mut self, msg: &[u8]) -> Result<(), Error> {
        let frame_len = msg.len() + FRAME_OVERHEAD;
        let echo_len = if self.echo { self.command.len() } else { 0 };
        let room = M - self.tx.len();
        if frame_len + echo_len > room || frame_len > M {
            return Err(Error::BufferTooSmall {
                needed: frame_len + echo_len,
            });
        }
        if self.echo {
            let echo = self.command.clone();
            self.queue(&echo);
        }
        self.last.clear();
        self.last
            .resize(frame_len, 0)
            .map_err(|_| Error::BufferTooSmall { needed: frame_len })?;
        encode_frame(msg, &mut self.last)?;
        let last = self.last.clone();
        self.queue(&last);
        Ok(())
    }

    /// Announces a card movement: `50` and `bmSlotICCState` (`02` absent, `03` present).
    pub fn send_slot_change(&mut self, slot_state: u8) {
        self.queue(&[0x50, slot_state]);
    }

    /// The next bytes for the host.
    pub fn poll_transmit(&mut self, buf: &mut [u8]) -> Option<usize> {
        let mut n = 0;
        while let Some(slot) = buf.get_mut(n) {
            match self.tx.pop_front() {
                Some(b) => {
                    *slot = b;
                    n += 1;
                }
                None => break,
            }
        }
        (n > 0).then_some(n)
    }
}

/// The largest frame for messages of `dwMaxCCIDMessageLength` bytes.
pub const fn frame_len(max_message_len: usize) -> usize {
    max_message_len + FRAME_OVERHEAD
}

/// Frames sent to the reader are at least a header.
pub const MIN_FRAME: usize = HEADER_LEN + FRAME_OVERHEAD;

#[cfg(test)]
mod tests {
    use super::*;

    // ccid_serial.c OpenSerialByName: PC_to_RDR_Escape 02 (get firmware), bSeq 0.
    const ESCAPE_02: [u8; 14] = [
        0x03, 0x06, 0x6B, 0x01, 0, 0, 0, 0x00, 0x00, 0, 0, 0, 0x02, 0x6D,
    ];

    fn feed<const M: usize>(
        d: &mut FrameDecoder<M>,
        bytes: &[u8],
    ) -> std::vec::Vec<std::string::String> {
        let mut out = std::vec::Vec::new();
        for &b in bytes {
            if let Some(e) = d.push(b) {
                out.push(std::format!("{e:?}"));
            }
        }
        out
    }

    #[test]
    fn decodes_libccid_frames() {
        assert_eq!(lrc(&ESCAPE_02), 0);
        let mut d: FrameDecoder<300> = FrameDecoder::new(Role::Reader);
        let events = feed(&mut d, &ESCAPE_02);
        assert_eq!(events.len(), 1);
        assert!(events[0].starts_with("Message([107, 1, 0"));
        // Wrong LRC.
        let mut bad = ESCAPE_02;
        bad[13] ^= 1;
        assert_eq!(feed(&mut d, &bad), ["BadFrame"]);
        // NAK frame (ccid_serial.c: "03 15 16").
        assert_eq!(feed(&mut d, &NAK_FRAME), ["Nak"]);
        // Garbage before SYNC is skipped.
        assert_eq!(
            feed(&mut d, &[0x00, 0x42]),
            std::vec::Vec::<std::string::String>::new()
        );
        assert_eq!(d.garbage, 2);
        // A message announcing more than the buffer holds.
        let mut small: FrameDecoder<20> = FrameDecoder::new(Role::Reader);
        let huge = [0x03, 0x06, 0x6F, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(feed(&mut small, &huge), ["BadFrame"]);
    }

    #[test]
    fn host_side_sees_movements_and_time_requests() {
        let mut d: FrameDecoder<300> = FrameDecoder::new(Role::Host);
        assert_eq!(
            feed(&mut d, &[0x50, 0x03, 0x80]),
            ["SlotChange(3)", "TimeRequest(128)"]
        );
        let mut out = [0u8; 32];
        let frame = encode_frame(&[0x81, 0, 0, 0, 0, 0, 0, 0x01, 0, 0], &mut out).unwrap();
        let events = feed(&mut d, frame);
        assert_eq!(events.len(), 1);
    }

    #[test]
    fn port_echoes_answers_naks_and_resends() {
        let mut p: SerialPort<300> = SerialPort::new(true);
        let mut msg = None;
        for &b in &ESCAPE_02 {
            if let Some(m) = p.push(b) {
                msg = Some(m.to_vec());
            }
        }
        assert_eq!(msg.as_deref(), Some(&ESCAPE_02[2..13]));
        let rsp = [0x83, 2, 0, 0, 0, 0, 0, 0, 0, 0, b'O', b'K'];
        p.send_message(&rsp).unwrap();
        let mut out = [0u8; 64];
        let n = p.poll_transmit(&mut out).unwrap();
        // The echo first (the header, dwLength 0), then the answer.
        assert_eq!(
            &out[..13],
            [0x03, 0x06, 0x6B, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x6E]
        );
        assert_eq!(&out[13..15], [0x03, 0x06]);
        assert_eq!(&out[15..27], rsp);
        assert_eq!(lrc(&out[13..n]), 0);
        // The host NAKs: the answer again, without the echo.
        for &b in &NAK_FRAME {
            assert!(p.push(b).is_none());
        }
        let n2 = p.poll_transmit(&mut out).unwrap();
        assert_eq!(n2, n - 13);
        // A broken frame: NAK.
        for &b in &[0x03, 0x07] {
            p.push(b);
        }
        let n3 = p.poll_transmit(&mut out).unwrap();
        assert_eq!(&out[..n3], NAK_FRAME);
        p.send_slot_change(0x02);
        let n4 = p.poll_transmit(&mut out).unwrap();
        assert_eq!(&out[..n4], [0x50, 0x02]);
    }
}
