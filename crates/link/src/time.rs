//! Time as a value: the engines never read a clock.

/// The default per-exchange deadline of the T=0 and T=1 engines: 60 s, in microseconds.
///
/// Long enough for the slowest ordinary card operation (an on-card RSA-2048 key generation
/// takes 10 to 40 s on common cards); a card that keeps the link alive with S(WTX) or NULL
/// bytes beyond it is treated as hung. Adjust it in [`crate::t1::Config`] or
/// [`crate::t0::T0Config`] (`exchange_deadline_micros`).
pub const DEFAULT_EXCHANGE_DEADLINE_MICROS: u64 = 60_000_000;

/// A point in time, in microseconds since an origin the caller chooses (a timer's counter, the
/// time since boot, ...). The engines only compare and add instants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(pub u64);

impl Instant {
    /// The instant `micros` microseconds after the origin.
    pub const fn from_micros(micros: u64) -> Self {
        Self(micros)
    }

    /// Microseconds since the origin.
    pub const fn as_micros(self) -> u64 {
        self.0
    }

    /// This instant plus `micros` microseconds, saturating at the end of time.
    pub const fn add_micros(self, micros: u64) -> Self {
        Self(self.0.saturating_add(micros))
    }
}

/// The transmission parameters that turn waiting-time integers into microseconds
/// (ISO/IEC 7816-3 §7.1, §10.2, §11.4.3).
///
/// ```
/// use cardwire_link::Timing;
/// // Default 372/1 at 3.579 545 MHz: one etu is 372 clock cycles, about 103.9 µs.
/// let t = Timing::new(3_579_545, 372, 1);
/// assert_eq!(t.etu_nanos(), 103_924);
/// assert_eq!(t.cwt_micros(13), 852_488); // (11 + 2^13) etu, about 0.85 s
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Timing {
    /// The clock frequency given to the card, in hertz.
    pub clock_hz: u32,
    /// The clock rate conversion integer F in use.
    pub fi: u16,
    /// The baud rate adjustment integer D in use.
    pub di: u8,
}

impl Timing {
    /// Parameters for a clock and an F/D pair. A zero clock or D is treated as 1 so that no
    /// division by zero can happen.
    pub const fn new(clock_hz: u32, fi: u16, di: u8) -> Self {
        Self { clock_hz, fi, di }
    }

    fn clock(&self) -> u64 {
        if self.clock_hz == 0 {
            1
        } else {
            self.clock_hz as u64
        }
    }

    fn d(&self) -> u64 {
        if self.di == 0 { 1 } else { self.di as u64 }
    }

    /// One elementary time unit, F / (D × f), in nanoseconds, rounded up (§7.1).
    pub fn etu_nanos(&self) -> u64 {
        (self.fi as u64 * 1_000_000_000).div_ceil(self.d() * self.clock())
    }

    /// `n` etu in microseconds, rounded up.
    pub fn etus_micros(&self, n: u64) -> u64 {
        (n * self.fi as u64 * 1_000_000).div_ceil(self.d() * self.clock())
    }

    /// T=0 waiting time WT = WI × 960 × Fi / f, in microseconds (§10.2).
    pub fn wt_micros(&self, wi: u8) -> u64 {
        (wi as u64 * 960 * self.fi as u64 * 1_000_000).div_ceil(self.clock())
    }

    /// T=1 block waiting time BWT = 11 etu + 2^BWI × 960 × 372 / f, in microseconds
    /// (§11.4.3; BWI above 9 is RFU and is capped at 9).
    pub fn bwt_micros(&self, bwi: u8) -> u64 {
        let bwi = if bwi > 9 { 9 } else { bwi };
        self.etus_micros(11) + ((1u64 << bwi) * 960 * 372 * 1_000_000).div_ceil(self.clock())
    }

    /// T=1 character waiting time CWT = (11 + 2^CWI) etu, in microseconds (§11.4.3).
    pub fn cwt_micros(&self, cwi: u8) -> u64 {
        let cwi = if cwi > 15 { 15 } else { cwi };
        self.etus_micros(11 + (1u64 << cwi))
    }

    /// Time to send `chars` characters of 12 etu each (start, 8 data, parity, 2 guard), plus
    /// `n` extra guard etu each (TC1), in microseconds.
    pub fn chars_micros(&self, chars: u64, n: u8) -> u64 {
        self.etus_micros(chars * (12 + n as u64))
    }
}
