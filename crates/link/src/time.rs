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
        div_ceil(self.fi as u64 * 1_000_000_000, self.d() * self.clock())
    }

    /// `n` etu in microseconds, rounded up (saturating for an `n` beyond any real wait).
    pub fn etus_micros(&self, n: u64) -> u64 {
        div_ceil(
            n.saturating_mul(self.fi as u64 * 1_000_000),
            self.d() * self.clock(),
        )
    }

    /// T=0 waiting time WT = WI × 960 × Fi / f, in microseconds (§10.2).
    pub fn wt_micros(&self, wi: u8) -> u64 {
        div_ceil(wi as u64 * 960 * self.fi as u64 * 1_000_000, self.clock())
    }

    /// T=1 block waiting time BWT = 11 etu + 2^BWI × 960 × 372 / f, in microseconds
    /// (§11.4.3; BWI above 9 is RFU and is capped at 9).
    pub fn bwt_micros(&self, bwi: u8) -> u64 {
        let bwi = if bwi > 9 { 9 } else { bwi };
        self.etus_micros(11) + div_ceil((1u64 << bwi) * 960 * 372 * 1_000_000, self.clock())
    }

    /// T=1 character waiting time CWT = (11 + 2^CWI) etu, in microseconds (§11.4.3).
    pub fn cwt_micros(&self, cwi: u8) -> u64 {
        let cwi = if cwi > 15 { 15 } else { cwi };
        self.etus_micros(11 + (1u64 << cwi))
    }

    /// Time to send `chars` characters of 12 etu each (start, 8 data, parity, 2 guard), plus
    /// `n` extra guard etu each (TC1), in microseconds.
    pub fn chars_micros(&self, chars: u64, n: u8) -> u64 {
        self.etus_micros(chars.saturating_mul(12 + n as u64))
    }
}

/// `num / den` rounded up, by binary long division: one quotient bit per step, highest first;
/// the quotient's bits move into `bits` from the right as the dividend's leave it on the left.
///
/// Every divisor here is a clock times D, below 2^40, so the remainder, below `den`, never
/// loses a bit when shifted. A 64-bit `/` would do the same, but on a 32-bit target (Cortex-M)
/// it is a call into `compiler_builtins`' `u64_div_rem`, 864 bytes of flash; these conversions
/// run when parameters change or a deadline is set, so a loop of about a hundred bytes serves
/// (docs/PERFORMANCE.md, ## ccid). A zero `den` (no caller passes one) gives a meaningless
/// quotient, not a panic.
fn div_ceil(num: u64, den: u64) -> u64 {
    let mut bits = num;
    let mut rem = 0u64;
    for _ in 0..u64::BITS {
        rem = (rem << 1) | (bits >> 63);
        bits <<= 1;
        if rem >= den {
            rem -= den;
            bits |= 1;
        }
    }
    bits.saturating_add(u64::from(rem != 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::atr::{di_from_code, fi_from_code};
    use proptest::prelude::*;

    /// The formulas as they were with the processor's 64-bit division (before the long
    /// division), the reference the new code must match.
    mod reference {
        use super::Timing;

        fn clock(t: &Timing) -> u64 {
            u64::from(t.clock_hz.max(1))
        }
        fn d(t: &Timing) -> u64 {
            u64::from(t.di.max(1))
        }
        pub fn etu_nanos(t: &Timing) -> u64 {
            (u64::from(t.fi) * 1_000_000_000).div_ceil(d(t) * clock(t))
        }
        pub fn etus_micros(t: &Timing, n: u64) -> u64 {
            (n * u64::from(t.fi) * 1_000_000).div_ceil(d(t) * clock(t))
        }
        pub fn wt_micros(t: &Timing, wi: u8) -> u64 {
            (u64::from(wi) * 960 * u64::from(t.fi) * 1_000_000).div_ceil(clock(t))
        }
        pub fn bwt_micros(t: &Timing, bwi: u8) -> u64 {
            let bwi = bwi.min(9);
            etus_micros(t, 11) + ((1u64 << bwi) * 960 * 372 * 1_000_000).div_ceil(clock(t))
        }
        pub fn cwt_micros(t: &Timing, cwi: u8) -> u64 {
            etus_micros(t, 11 + (1u64 << cwi.min(15)))
        }
        pub fn chars_micros(t: &Timing, chars: u64, n: u8) -> u64 {
            etus_micros(t, chars * (12 + u64::from(n)))
        }
    }

    fn assert_same(t: &Timing) {
        assert_eq!(t.etu_nanos(), reference::etu_nanos(t), "{t:?}");
        for n in [0, 1, 9, 11, 12, 9600, 40_000, 1 << 20] {
            assert_eq!(
                t.etus_micros(n),
                reference::etus_micros(t, n),
                "{t:?} n {n}"
            );
        }
        for chars in [0, 1, 5, 259, 65_544] {
            for n in [0, 1, 2, 254, 255] {
                assert_eq!(
                    t.chars_micros(chars, n),
                    reference::chars_micros(t, chars, n),
                    "{t:?} chars {chars} n {n}"
                );
            }
        }
        for i in 0..=255u8 {
            assert_eq!(t.wt_micros(i), reference::wt_micros(t, i), "{t:?} WI {i}");
            assert_eq!(
                t.bwt_micros(i),
                reference::bwt_micros(t, i),
                "{t:?} BWI {i}"
            );
            assert_eq!(
                t.cwt_micros(i),
                reference::cwt_micros(t, i),
                "{t:?} CWI {i}"
            );
        }
    }

    #[test]
    fn every_table_entry_matches_the_64_bit_division() {
        // Every Fi and Di of ISO/IEC 7816-3 Tables 7 and 8, at the clocks readers use, the
        // bounds of the activation range (1 to 5 MHz, §6.2), each Fi's fmax, and odd values.
        let mut cases = 0;
        for fi_code in 0..16u8 {
            let Some((fi, fmax_khz)) = fi_from_code(fi_code) else {
                continue;
            };
            for di_code in 0..16u8 {
                let Some(di) = di_from_code(di_code) else {
                    continue;
                };
                for clock in [
                    1_000_000,
                    3_579_545,
                    3_686_400,
                    4_000_000,
                    4_800_000,
                    5_000_000,
                    fmax_khz * 1000,
                    1_234_567,
                    19_999_999,
                ] {
                    assert_same(&Timing::new(clock, fi, di));
                    cases += 1;
                }
            }
        }
        assert_eq!(cases, 12 * 9 * 9);
    }

    #[test]
    fn degenerate_parameters_match_too() {
        // A zero clock or D counts as 1; extreme clocks and F.
        for (clock, fi, di) in [
            (0, 372, 1),
            (4_000_000, 372, 0),
            (1, 2048, 1),
            (u32::MAX, 1, 255),
            (u32::MAX, u16::MAX, 255),
            (1, u16::MAX, 1),
        ] {
            let t = Timing::new(clock, fi, di);
            assert_eq!(t.etu_nanos(), reference::etu_nanos(&t));
            assert_eq!(t.etus_micros(12), reference::etus_micros(&t, 12));
            for i in [0, 1, 9, 10, 15, 255] {
                assert_eq!(t.wt_micros(i), reference::wt_micros(&t, i));
                assert_eq!(t.bwt_micros(i), reference::bwt_micros(&t, i));
                assert_eq!(t.cwt_micros(i), reference::cwt_micros(&t, i));
            }
        }
    }

    #[test]
    fn an_overflowing_count_saturates() {
        // The 64-bit product used to overflow (a panic in debug builds); now it saturates.
        let t = Timing::new(4_000_000, 372, 1);
        assert_eq!(t.etus_micros(u64::MAX), u64::MAX.div_ceil(4_000_000));
        assert_eq!(t.chars_micros(u64::MAX, 0), u64::MAX.div_ceil(4_000_000));
    }

    #[test]
    fn long_division_edges() {
        assert_eq!(div_ceil(0, 7), 0);
        assert_eq!(div_ceil(1, 7), 1);
        assert_eq!(div_ceil(7, 7), 1);
        assert_eq!(div_ceil(8, 7), 2);
        assert_eq!(div_ceil(u64::MAX, 1), u64::MAX);
        assert_eq!(div_ceil(u64::MAX, 2), 1 << 63);
        assert_eq!(
            div_ceil(u64::MAX, (1 << 40) - 1),
            u64::MAX.div_ceil((1 << 40) - 1)
        );
        // No panic on a zero divisor.
        let _ = div_ceil(u64::MAX, 0);
    }

    proptest! {
        #[test]
        fn long_division_is_division(num: u64, den in 1u64..(1 << 62)) {
            prop_assert_eq!(div_ceil(num, den), num.div_ceil(den));
        }

        #[test]
        fn any_timing_matches_the_64_bit_division(
            clock: u32, fi: u16, di: u8, i: u8, n in 0u64..(1 << 24),
        ) {
            let t = Timing::new(clock, fi, di);
            prop_assert_eq!(t.etu_nanos(), reference::etu_nanos(&t));
            prop_assert_eq!(t.etus_micros(n), reference::etus_micros(&t, n));
            prop_assert_eq!(t.wt_micros(i), reference::wt_micros(&t, i));
            prop_assert_eq!(t.bwt_micros(i), reference::bwt_micros(&t, i));
            prop_assert_eq!(t.cwt_micros(i), reference::cwt_micros(&t, i));
        }
    }
}
