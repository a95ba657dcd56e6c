//! A USB CCID smart card reader firmware on cardwire: the host's CCID driver talks to
//! `cardwire-ccid`'s [`CcidClass`] over `usb-device`; the [`Reader`] engine runs the card
//! line (ATR, automatic PPS, T=0 and T=1 through `cardwire-link`) and secure PIN entry from
//! the keypad. No heap, no `unsafe` in this crate; every buffer is a fixed array in static
//! RAM, so `size` shows the firmware's RAM apart from the stack.
//!
//! The board is the three traits a board support crate implements: the USB peripheral
//! ([`UsbBus`]), the card's UART with its timer ([`CardLine`]) and the keypad ([`Keypad`]).
//! Here they are stand-ins whose input comes from [`core::hint::black_box`], so that the
//! optimiser keeps every path of the engines: that is what the size measurement in
//! docs/PERFORMANCE.md (## ccid) needs. A real USB peripheral driver (for example
//! `synopsys-usb-otg` on an STM32F4) adds its own code on top.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use core::hint::black_box;
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicU8, Ordering};

use cardwire_ccid::descriptor::ReaderDescriptor;
use cardwire_ccid::engine::{Key, Keypad, LineRequest, Reader, ReaderConfig};
use cardwire_ccid::usb::CcidClass;
use cardwire_link::{Instant, Timing};
use cortex_m_rt::entry;
use panic_halt as _;
// Linked for its interrupt vector table (`__INTERRUPTS`, with `device.x`).
use stm32f4 as _;
use usb_device::bus::PollResult;
use usb_device::class_prelude::{EndpointAddress, EndpointType, UsbBus, UsbBusAllocator};
use usb_device::device::{StringDescriptors, UsbDevice, UsbDeviceBuilder, UsbVidPid};
use usb_device::{UsbDirection, UsbError};

/// `dwMaxCCIDMessageLength`: short APDUs (10 + 261) at the CCID minimum.
const MESSAGE: usize = 271;
/// The reader engine's APDU buffer: a short command or response APDU with room.
const APDU: usize = 272;

/// The card's I/O line and a clock, as the board provides them.
trait CardLine {
    /// Powers, clocks and resets the card, or deactivates it; changes the UART's F and D.
    fn request(&mut self, req: LineRequest);
    /// Sends bytes to the card.
    fn write(&mut self, bytes: &[u8]);
    /// Bytes received from the card since the last call.
    fn read(&mut self, buf: &mut [u8]) -> usize;
    /// The current time.
    fn now(&self) -> Instant;
}

/// Stand-in UART: input the optimiser cannot see through.
struct OpaqueLine {
    time: u64,
    timing: Option<Timing>,
}

impl CardLine for OpaqueLine {
    fn request(&mut self, req: LineRequest) {
        if let LineRequest::SetTiming(t) = req {
            self.timing = Some(t);
        }
        black_box(&self.timing);
        black_box(req);
    }
    fn write(&mut self, bytes: &[u8]) {
        black_box(bytes);
    }
    fn read(&mut self, buf: &mut [u8]) -> usize {
        let n = black_box(buf.len()).min(buf.len());
        for b in buf.iter_mut().take(n) {
            *b = black_box(0);
        }
        n
    }
    fn now(&self) -> Instant {
        Instant(black_box(self.time))
    }
}

/// Stand-in keypad.
struct OpaqueKeypad;

impl Keypad for OpaqueKeypad {
    fn poll_key(&mut self) -> Option<Key> {
        match black_box(0u8) {
            d @ 0..=9 => Some(Key::Digit(d)),
            10 => Some(Key::Enter),
            11 => Some(Key::Cancel),
            12 => Some(Key::Clear),
            13 => Some(Key::Backspace),
            _ => None,
        }
    }
}

/// Stand-in USB peripheral: endpoints are numbered in allocation order, packets come from
/// [`black_box`].
struct OpaqueBus {
    next: AtomicU8,
}

impl UsbBus for OpaqueBus {
    fn alloc_ep(
        &mut self,
        ep_dir: UsbDirection,
        ep_addr: Option<EndpointAddress>,
        _ep_type: EndpointType,
        _max_packet_size: u16,
        _interval: u8,
    ) -> usb_device::Result<EndpointAddress> {
        if let Some(addr) = ep_addr {
            return Ok(addr);
        }
        let index = self.next.fetch_add(1, Ordering::Relaxed);
        if index > 7 {
            return Err(UsbError::EndpointOverflow);
        }
        Ok(EndpointAddress::from_parts(usize::from(index), ep_dir))
    }
    fn enable(&mut self) {}
    fn reset(&self) {}
    fn set_device_address(&self, addr: u8) {
        black_box(addr);
    }
    fn write(&self, ep_addr: EndpointAddress, buf: &[u8]) -> usb_device::Result<usize> {
        black_box((ep_addr, buf));
        if black_box(false) {
            Err(UsbError::WouldBlock)
        } else {
            Ok(buf.len())
        }
    }
    fn read(&self, ep_addr: EndpointAddress, buf: &mut [u8]) -> usb_device::Result<usize> {
        black_box(ep_addr);
        let n = black_box(buf.len()).min(buf.len());
        for b in buf.iter_mut().take(n) {
            *b = black_box(0);
        }
        if black_box(n == 0) {
            Err(UsbError::WouldBlock)
        } else {
            Ok(n)
        }
    }
    fn set_stalled(&self, ep_addr: EndpointAddress, stalled: bool) {
        black_box((ep_addr, stalled));
    }
    fn is_stalled(&self, ep_addr: EndpointAddress) -> bool {
        black_box(ep_addr);
        black_box(false)
    }
    fn suspend(&self) {}
    fn resume(&self) {}
    fn poll(&self) -> PollResult {
        match black_box(0u8) {
            0 => PollResult::None,
            1 => PollResult::Reset,
            _ => PollResult::Data {
                ep_out: black_box(0),
                ep_in_complete: black_box(0),
                ep_setup: black_box(0),
            },
        }
    }
}

/// The reader: a one-slot T=0/T=1 short-APDU reader with automatic PPS and a PIN pad
/// (ReaderDescriptor::default), 271-byte messages.
fn config() -> ReaderConfig {
    ReaderConfig {
        descriptor: ReaderDescriptor {
            max_message_len: MESSAGE as u32,
            ..ReaderDescriptor::default()
        },
        ..ReaderConfig::default()
    }
}

#[entry]
fn main() -> ! {
    // cortex-m-rt turns these into `&'static mut` (safe: `main` runs once), so the state
    // lives in .bss where `size` counts it.
    static mut BUS: MaybeUninit<UsbBusAllocator<OpaqueBus>> = MaybeUninit::uninit();
    static mut READER: MaybeUninit<Reader<APDU>> = MaybeUninit::uninit();
    static mut BUF: [u8; APDU] = [0; APDU];
    static mut CCID: MaybeUninit<CcidClass<'static, OpaqueBus, MESSAGE>> = MaybeUninit::uninit();
    static mut USB: MaybeUninit<UsbDevice<'static, OpaqueBus>> = MaybeUninit::uninit();

    let bus: &'static UsbBusAllocator<OpaqueBus> = BUS.write(UsbBusAllocator::new(OpaqueBus {
        next: AtomicU8::new(1),
    }));
    let reader: &'static mut Reader<APDU> = READER.write(Reader::new(config()));
    let buf: &'static mut [u8; APDU] = BUF;
    let Ok(ccid) = CcidClass::<_, MESSAGE>::new(bus, &reader.config().descriptor) else {
        halt()
    };
    let ccid = CCID.write(ccid);
    let strings = [StringDescriptors::default()
        .manufacturer("cardwire")
        .product("cardwire CCID reader")
        .serial_number("0001")];
    // pid.codes test VID/PID.
    let Ok(builder) = UsbDeviceBuilder::new(bus, UsbVidPid(0x1209, 0x0001)).strings(&strings)
    else {
        halt()
    };
    let usb = USB.write(builder.max_packet_size_0(64).map_or_else(|_| halt(), |b| b.build()));
    let mut line = OpaqueLine {
        time: 0,
        timing: None,
    };
    let mut keypad = OpaqueKeypad;

    if black_box(true) {
        reader.card_inserted(line.now());
    }
    loop {
        let now = line.now();
        usb.poll(&mut [&mut *ccid]);
        ccid.pump(reader, now);
        while let Some(req) = reader.poll_line() {
            line.request(req);
        }
        while let Some(n) = reader.poll_card_transmit(buf) {
            line.write(buf.get(..n).unwrap_or(&[]));
        }
        let n = line.read(buf);
        if n > 0 {
            reader.handle_card_input(now, buf.get(..n).unwrap_or(&[]));
        }
        if reader.poll_timeout().is_some_and(|t| now >= t) {
            reader.handle_timeout(now);
        }
        if reader.is_pin_entry_active() {
            reader.poll_keypad(now, &mut keypad);
        }
        if black_box(false) {
            reader.card_removed(now);
        }
        ccid.pump(reader, now);
    }
}

fn halt() -> ! {
    loop {
        core::hint::spin_loop();
    }
}
