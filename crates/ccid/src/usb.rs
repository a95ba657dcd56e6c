//! The CCID class for the [`usb_device`] stack (feature `usb-device`): one interface (class
//! `0B`), the class descriptor, a bulk-OUT, a bulk-IN and an interrupt-IN endpoint, and the
//! class-specific requests ABORT, GET_CLOCK_FREQUENCIES and GET_DATA_RATES (USB CCID Rev 1.1
//! §3, §5.1-§5.3).
//!
//! The class only moves bytes: [`CcidClass::pump`] hands each complete bulk-OUT message to a
//! [`Reader`] and sends what the reader answers, so the reader engine stays sans-IO. The
//! packet work is done by two plain state machines tested without a bus:
//! [`BulkOutAssembler`] (a message ends when `dwLength` bytes of data have arrived, or at a
//! short packet, §5.2) and [`BulkInSender`] (full packets, then a short or zero-length packet
//! to end the message).
//!
//! ```ignore
//! let mut ccid: CcidClass<'_, _, 271> = CcidClass::new(&usb_alloc, &descriptor)?;
//! let mut usb = UsbDeviceBuilder::new(&usb_alloc, UsbVidPid(0x1209, 0x0001)).build();
//! loop {
//!     usb.poll(&mut [&mut ccid]);
//!     ccid.pump(&mut reader, now());
//! }
//! ```

use usb_device::class_prelude::{
    ControlIn, ControlOut, DescriptorWriter, EndpointAddress, EndpointIn, EndpointOut,
    EndpointType, InterfaceNumber, UsbBus, UsbBusAllocator, UsbClass, UsbError, control,
};

use crate::descriptor::{DESCRIPTOR_LEN, DESCRIPTOR_TYPE, ReaderDescriptor};
use crate::engine::Reader;
use cardwire_link::Instant;

/// `bInterfaceClass` of a smart card device (CCID Rev 1.1 §4.3, Table 4.3-1).
pub const INTERFACE_CLASS: u8 = 0x0B;
/// `bInterfaceSubClass` (§4.3: `00`).
pub const INTERFACE_SUBCLASS: u8 = 0x00;
/// `bInterfaceProtocol`: `00`, bulk transfers with the optional interrupt-IN (§4.3).
pub const INTERFACE_PROTOCOL: u8 = 0x00;
/// The packet size of the bulk endpoints (full speed).
pub const BULK_PACKET: usize = 64;
/// The interrupt-IN packet size: a `NotifySlotChange` for one slot is 2 bytes, a
/// `HardwareError` 4 (§6.3); 8 leaves room.
pub const INTERRUPT_PACKET: u16 = 8;
/// The interrupt-IN polling interval in frames (ms at full speed).
pub const INTERRUPT_INTERVAL: u8 = 16;

/// A class-specific request (CCID Rev 1.1 §5.3, Table 5.3-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClassRequest(pub u8);

impl ClassRequest {
    /// `ABORT` (host to device, `wValue` = bSeq << 8 | bSlot, §5.3.1).
    pub const ABORT: Self = Self(0x01);
    /// `GET_CLOCK_FREQUENCIES` (device to host, an array of 4-byte clock frequencies in kHz,
    /// §5.3.2).
    pub const GET_CLOCK_FREQUENCIES: Self = Self(0x02);
    /// `GET_DATA_RATES` (device to host, an array of 4-byte data rates in bit/s, §5.3.3).
    pub const GET_DATA_RATES: Self = Self(0x03);
}

/// The answer to GET_CLOCK_FREQUENCIES or GET_DATA_RATES for `descriptor`, written into
/// `out`; `None` for another request. The reader supports the default value and, when it
/// differs, the maximum (`dwDefaultClock`/`dwMaximumClock`, `dwDataRate`/`dwMaxDataRate`),
/// each as a little-endian `u32` (§5.3.2, §5.3.3).
pub fn class_in_answer(
    request: ClassRequest,
    descriptor: &ReaderDescriptor,
    out: &mut [u8; 8],
) -> Option<usize> {
    let (default, max) = match request {
        ClassRequest::GET_CLOCK_FREQUENCIES => {
            (descriptor.default_clock_khz, descriptor.maximum_clock_khz)
        }
        ClassRequest::GET_DATA_RATES => (descriptor.data_rate, descriptor.max_data_rate),
        _ => return None,
    };
    let (first, second) = out.split_at_mut(4);
    first.copy_from_slice(&default.to_le_bytes());
    if max == default {
        return Some(4);
    }
    second.copy_from_slice(&max.to_le_bytes());
    Some(8)
}

/// Collects bulk-OUT packets into one CCID message (§5.2: the message ends when its 10-byte
/// header and `dwLength` data bytes have arrived; a short packet also ends it). Bytes beyond
/// `M` are dropped: the reader then sees a message shorter than `dwLength` announces and
/// answers it with an error.
#[derive(Debug)]
pub struct BulkOutAssembler<const M: usize> {
    buf: [u8; M],
    len: usize,
    /// Bytes received for the message, kept beyond `M`.
    received: usize,
    complete: bool,
}

impl<const M: usize> Default for BulkOutAssembler<M> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const M: usize> BulkOutAssembler<M> {
    /// An empty assembler.
    pub const fn new() -> Self {
        Self {
            buf: [0; M],
            len: 0,
            received: 0,
            complete: false,
        }
    }

    /// Takes one packet of at most `max_packet` bytes; whether the message is complete.
    /// Packets that arrive while a complete message waits are ignored (take it first).
    pub fn push_packet(&mut self, packet: &[u8], max_packet: usize) -> bool {
        if self.complete {
            return true;
        }
        for &b in packet {
            if let Some(slot) = self.buf.get_mut(self.len) {
                *slot = b;
                self.len += 1;
            }
        }
        self.received = self.received.saturating_add(packet.len());
        let announced = match self.buf.get(1..5) {
            Some(&[a, b, c, d]) if self.received >= 10 => {
                Some(10usize.saturating_add(u32::from_le_bytes([a, b, c, d]) as usize))
            }
            _ => None,
        };
        self.complete = packet.len() < max_packet || announced.is_some_and(|n| self.received >= n);
        self.complete
    }

    /// The complete message, if any.
    pub fn message(&self) -> Option<&[u8]> {
        if self.complete {
            self.buf.get(..self.len)
        } else {
            None
        }
    }

    /// Forgets the message (after handing it on, or on a bus reset).
    pub fn clear(&mut self) {
        self.len = 0;
        self.received = 0;
        self.complete = false;
    }
}

/// Sends one bulk-IN message as packets: full packets, then the rest, or a zero-length
/// packet when the message is a multiple of the packet size (USB 2.0 §5.8.3).
#[derive(Debug)]
pub struct BulkInSender<const M: usize> {
    buf: [u8; M],
    len: usize,
    pos: usize,
    /// Whether the ending short (or zero-length) packet has been handed out.
    ended: bool,
}

impl<const M: usize> Default for BulkInSender<M> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const M: usize> BulkInSender<M> {
    /// An idle sender.
    pub const fn new() -> Self {
        Self {
            buf: [0; M],
            len: 0,
            pos: 0,
            ended: true,
        }
    }

    /// Whether a message is being sent.
    pub fn is_busy(&self) -> bool {
        !self.ended
    }

    /// Starts a message produced by `fill` into the buffer (which returns its length);
    /// nothing happens when busy or when `fill` produces nothing.
    pub fn load(&mut self, fill: impl FnOnce(&mut [u8]) -> Option<usize>) -> bool {
        if self.is_busy() {
            return false;
        }
        match fill(&mut self.buf) {
            Some(n) if n > 0 => {
                self.len = n.min(M);
                self.pos = 0;
                self.ended = false;
                true
            }
            _ => false,
        }
    }

    /// The next packet to write, at most `max_packet` bytes (possibly empty: the ending
    /// zero-length packet); `None` when idle.
    pub fn next_packet(&self, max_packet: usize) -> Option<&[u8]> {
        if self.ended {
            return None;
        }
        let end = self.len.min(self.pos.saturating_add(max_packet));
        self.buf.get(self.pos..end)
    }

    /// The packet from [`Self::next_packet`] was accepted by the endpoint.
    pub fn advance(&mut self, written: usize, max_packet: usize) {
        self.pos = self.pos.saturating_add(written).min(self.len);
        if written < max_packet {
            self.ended = true;
        }
    }

    /// Drops the message (bus reset).
    pub fn clear(&mut self) {
        self.len = 0;
        self.pos = 0;
        self.ended = true;
    }
}

/// The CCID class: `M` is the largest message in either direction
/// (`dwMaxCCIDMessageLength`).
pub struct CcidClass<'a, B: UsbBus, const M: usize> {
    interface: InterfaceNumber,
    bulk_out: EndpointOut<'a, B>,
    bulk_in: EndpointIn<'a, B>,
    interrupt_in: EndpointIn<'a, B>,
    descriptor: ReaderDescriptor,
    class_descriptor: [u8; DESCRIPTOR_LEN],
    out: BulkOutAssembler<M>,
    sender: BulkInSender<M>,
    /// A packet was written to bulk-IN and awaits completion.
    in_flight: bool,
    /// An interrupt-IN message waiting for the endpoint, and whether one is in flight.
    interrupt: Option<[u8; 2]>,
    interrupt_in_flight: bool,
    /// ABORT class request received: (slot, seq).
    abort: Option<(u8, u8)>,
}

impl<B: UsbBus, const M: usize> core::fmt::Debug for CcidClass<'_, B, M> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CcidClass")
            .field("descriptor", &self.descriptor)
            .field("abort", &self.abort)
            .finish_non_exhaustive()
    }
}

impl<'a, B: UsbBus, const M: usize> CcidClass<'a, B, M> {
    /// Allocates the interface and endpoints for a reader announcing `descriptor`.
    ///
    /// # Errors
    /// [`UsbError::ParseError`] when the descriptor is invalid
    /// ([`ReaderDescriptor::validate`]) or announces messages longer than `M`; the bus's
    /// allocation errors ([`UsbError::EndpointOverflow`], ...).
    pub fn new(
        alloc: &'a UsbBusAllocator<B>,
        descriptor: &ReaderDescriptor,
    ) -> Result<Self, UsbError> {
        let class_descriptor = descriptor.to_bytes().map_err(|_| UsbError::ParseError)?;
        if usize::try_from(descriptor.max_message_len).map_or(true, |n| n > M) {
            return Err(UsbError::ParseError);
        }
        let packet = BULK_PACKET as u16;
        Ok(Self {
            interface: alloc.interface(),
            bulk_out: alloc.alloc(None, EndpointType::Bulk, packet, 0)?,
            bulk_in: alloc.alloc(None, EndpointType::Bulk, packet, 0)?,
            interrupt_in: alloc.alloc(
                None,
                EndpointType::Interrupt,
                INTERRUPT_PACKET,
                INTERRUPT_INTERVAL,
            )?,
            descriptor: *descriptor,
            class_descriptor,
            out: BulkOutAssembler::new(),
            sender: BulkInSender::new(),
            in_flight: false,
            interrupt: None,
            interrupt_in_flight: false,
            abort: None,
        })
    }

    /// Moves messages between the bus and `reader`: a pending ABORT request, a complete
    /// bulk-OUT message, the reader's next bulk-IN answer and its interrupt message. Call it
    /// after each `UsbDevice::poll` and whenever the reader may have something to say.
    pub fn pump<const N: usize>(&mut self, reader: &mut Reader<N>, now: Instant) {
        if let Some((slot, seq)) = self.abort.take() {
            reader.handle_control_abort(now, slot, seq);
        }
        self.read_out();
        if let Some(msg) = self.out.message() {
            reader.handle_message(now, msg);
            self.out.clear();
            self.read_out();
        }
        if !self.sender.is_busy() {
            self.sender
                .load(|buf| reader.poll_response(buf).map(<[u8]>::len));
        }
        self.write_in();
        if self.interrupt.is_none() {
            self.interrupt = reader.poll_interrupt();
        }
        self.write_interrupt();
    }

    fn read_out(&mut self) {
        if self.out.message().is_some() {
            return;
        }
        let mut packet = [0u8; BULK_PACKET];
        while let Ok(n) = self.bulk_out.read(&mut packet) {
            if self
                .out
                .push_packet(packet.get(..n).unwrap_or(&[]), BULK_PACKET)
            {
                break;
            }
        }
    }

    fn write_in(&mut self) {
        if self.in_flight {
            return;
        }
        let Some(packet) = self.sender.next_packet(BULK_PACKET) else {
            return;
        };
        if let Ok(n) = self.bulk_in.write(packet) {
            self.in_flight = true;
            self.sender.advance(n, BULK_PACKET);
        }
    }

    fn write_interrupt(&mut self) {
        if self.interrupt_in_flight {
            return;
        }
        if let Some(msg) = self.interrupt {
            if self.interrupt_in.write(&msg).is_ok() {
                self.interrupt = None;
                self.interrupt_in_flight = true;
            }
        }
    }

    fn is_ours(&self, req: &control::Request) -> bool {
        req.request_type == control::RequestType::Class
            && req.recipient == control::Recipient::Interface
            && req.index == u16::from(u8::from(self.interface))
    }
}

impl<B: UsbBus, const M: usize> UsbClass<B> for CcidClass<'_, B, M> {
    fn get_configuration_descriptors(
        &self,
        writer: &mut DescriptorWriter,
    ) -> usb_device::Result<()> {
        writer.interface(
            self.interface,
            INTERFACE_CLASS,
            INTERFACE_SUBCLASS,
            INTERFACE_PROTOCOL,
        )?;
        // The functional descriptor follows the interface descriptor (§5.1); the writer adds
        // bLength and bDescriptorType.
        writer.write(
            DESCRIPTOR_TYPE,
            self.class_descriptor.get(2..).unwrap_or(&[]),
        )?;
        writer.endpoint(&self.bulk_out)?;
        writer.endpoint(&self.bulk_in)?;
        writer.endpoint(&self.interrupt_in)
    }

    fn reset(&mut self) {
        self.out.clear();
        self.sender.clear();
        self.in_flight = false;
        self.interrupt_in_flight = false;
        self.abort = None;
    }

    fn control_out(&mut self, xfer: ControlOut<B>) {
        let req = *xfer.request();
        if !self.is_ours(&req) {
            return;
        }
        if req.request == ClassRequest::ABORT.0 {
            let [slot, seq] = req.value.to_le_bytes();
            self.abort = Some((slot, seq));
            let _ = xfer.accept();
        } else {
            let _ = xfer.reject();
        }
    }

    fn control_in(&mut self, xfer: ControlIn<B>) {
        let req = *xfer.request();
        if !self.is_ours(&req) {
            return;
        }
        let mut answer = [0u8; 8];
        match class_in_answer(ClassRequest(req.request), &self.descriptor, &mut answer) {
            Some(n) => {
                let _ = xfer.accept_with(answer.get(..n).unwrap_or(&[]));
            }
            None => {
                let _ = xfer.reject();
            }
        }
    }

    fn endpoint_out(&mut self, addr: EndpointAddress) {
        if addr == self.bulk_out.address() {
            self.read_out();
        }
    }

    fn endpoint_in_complete(&mut self, addr: EndpointAddress) {
        if addr == self.bulk_in.address() {
            self.in_flight = false;
            self.write_in();
        } else if addr == self.interrupt_in.address() {
            self.interrupt_in_flight = false;
            self.write_interrupt();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PC_to_RDR_XfrBlock with `n` data bytes.
    fn xfr(n: usize) -> std::vec::Vec<u8> {
        let mut m = std::vec![0x6F];
        m.extend_from_slice(&(n as u32).to_le_bytes());
        m.extend_from_slice(&[0, 1, 0, 0, 0]);
        m.extend((0..n).map(|i| i as u8));
        m
    }

    #[test]
    fn a_message_of_several_packets_ends_at_dw_length() {
        // 10 + 118 = 128 bytes: two full packets and no short one (the host sends no
        // zero-length packet, §5.2: the length is known from dwLength).
        let m = xfr(118);
        let mut a: BulkOutAssembler<271> = BulkOutAssembler::new();
        assert!(!a.push_packet(&m[..64], 64));
        assert_eq!(a.message(), None);
        assert!(a.push_packet(&m[64..], 64));
        assert_eq!(a.message(), Some(&m[..]));
        // A packet while the message waits is ignored.
        assert!(a.push_packet(&[1, 2, 3], 64));
        assert_eq!(a.message(), Some(&m[..]));
        a.clear();
        assert_eq!(a.message(), None);
    }

    #[test]
    fn a_short_packet_ends_a_message_and_oversize_is_cut() {
        let mut a: BulkOutAssembler<271> = BulkOutAssembler::new();
        assert!(a.push_packet(&[0x65, 0, 0, 0, 0, 0, 2, 0, 0, 0], 64));
        assert_eq!(a.message().unwrap().len(), 10);
        // 400 announced, buffer of 271: the first 271 bytes are kept.
        let m = xfr(390);
        let mut a: BulkOutAssembler<271> = BulkOutAssembler::new();
        let mut done = false;
        for chunk in m.chunks(64) {
            done = a.push_packet(chunk, 64);
        }
        assert!(done);
        assert_eq!(a.message(), Some(&m[..271]));
    }

    #[test]
    fn bulk_in_packets_end_with_a_short_or_zero_length_packet() {
        let mut s: BulkInSender<271> = BulkInSender::new();
        assert!(s.load(|buf| {
            buf[..128].fill(0xAB);
            Some(128)
        }));
        assert!(!s.load(|_| Some(5)), "busy");
        let mut sizes = std::vec::Vec::new();
        while let Some(p) = s.next_packet(64) {
            let n = p.len();
            sizes.push(n);
            s.advance(n, 64);
        }
        assert_eq!(sizes, [64, 64, 0]);
        assert!(s.load(|_| Some(70)));
        let mut sizes = std::vec::Vec::new();
        while let Some(p) = s.next_packet(64) {
            let n = p.len();
            sizes.push(n);
            s.advance(n, 64);
        }
        assert_eq!(sizes, [64, 6]);
        assert!(!s.load(|_| None));
        assert!(!s.is_busy());
    }

    #[test]
    fn clock_and_data_rate_answers() {
        // ReaderDescriptor::default: 4 MHz default and maximum; 10 752 bit/s default,
        // 344 086 bit/s maximum.
        let d = ReaderDescriptor::default();
        let mut out = [0u8; 8];
        assert_eq!(
            class_in_answer(ClassRequest::GET_CLOCK_FREQUENCIES, &d, &mut out),
            Some(4)
        );
        assert_eq!(out[..4], 4000u32.to_le_bytes());
        assert_eq!(
            class_in_answer(ClassRequest::GET_DATA_RATES, &d, &mut out),
            Some(8)
        );
        assert_eq!(out[..4], 10_752u32.to_le_bytes());
        assert_eq!(out[4..], 344_086u32.to_le_bytes());
        assert_eq!(class_in_answer(ClassRequest::ABORT, &d, &mut out), None);
    }
}
