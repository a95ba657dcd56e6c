//! The Answer-to-Reset (ISO/IEC 7816-3 §8): parsing, every rule, and the values derived from it.
//!
//! ```
//! use cardwire_link::atr::{Atr, Mode};
//! // A T=1 card: TA1=96 (Fi 512, Di 32), TD1=81, TD2=31 (T=1), TA3=FE (IFSC 254), TB3=45.
//! let atr = Atr::parse(&[0x3B, 0x95, 0x96, 0x81, 0x31, 0xFE, 0x45, 0x4A, 0x43, 0x4F, 0x50, 0x34, 0x2A], Mode::Strict)?;
//! assert_eq!(atr.protocols().contains(1), true);
//! assert_eq!(atr.fi(), Some(512));
//! assert_eq!(atr.t1().ifsc, 254);
//! # Ok::<(), cardwire_link::Error>(())
//! ```

use crate::Error;

/// The most bytes an ATR has: TS and 32 more (§8.2.1).
pub const MAX_LEN: usize = 33;

/// How strictly [`Atr::parse`] applies the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Mode {
    /// Every rule of §8 is an error.
    Strict,
    /// What real cards get wrong (a missing or wrong TCK, T=15 in TD1, bytes after the end) is
    /// accepted and reported in [`Atr::findings`]. Structure errors (TS, missing bytes, too
    /// long) still fail.
    #[default]
    Lenient,
}

/// The transmission convention announced by TS (§8.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Convention {
    /// TS = `3B`: high level is 1, least significant bit first.
    Direct,
    /// TS = `3F`: low level is 1, most significant bit first.
    Inverse,
}

impl Convention {
    /// The convention from the first character as a UART in direct mode receives it: `3B` is
    /// direct, `03` is `3F` seen in direct mode (inverse convention).
    pub fn from_raw_ts(raw: u8) -> Option<Self> {
        match raw {
            0x3B => Some(Self::Direct),
            0x03 | 0x3F => Some(Self::Inverse),
            _ => None,
        }
    }

    /// Converts a character received by a direct-mode UART to its value under this convention
    /// (inverse: bits reversed and complemented; direct: unchanged).
    pub fn decode(self, raw: u8) -> u8 {
        match self {
            Self::Direct => raw,
            Self::Inverse => !raw.reverse_bits(),
        }
    }
}

/// Which of the four interface characters of a group (§8.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InterfaceKind {
    /// TAi.
    Ta,
    /// TBi.
    Tb,
    /// TCi.
    Tc,
    /// TDi.
    Td,
}

/// One interface character with its place in the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InterfaceByte {
    /// Group number i (TA1 is in group 1).
    pub group: u8,
    /// TA, TB, TC or TD.
    pub kind: InterfaceKind,
    /// The value.
    pub value: u8,
    /// Offset in the ATR (TS is at 0).
    pub offset: u8,
    /// The protocol T this byte belongs to: `None` for global bytes of group 1, and for group 2
    /// TA2/TB2 (global), otherwise the T announced by TD(i-1). TDi itself carries the T of its
    /// own group.
    pub protocol: Option<u8>,
}

/// A set of protocols T=0..T=15 as a bit mask (bit T set when T is indicated).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Protocols(pub u16);

impl Protocols {
    /// Whether protocol `t` is in the set.
    pub fn contains(self, t: u8) -> bool {
        t < 16 && self.0 & (1 << t) != 0
    }

    /// The protocols in increasing order.
    pub fn iter(self) -> impl Iterator<Item = u8> {
        (0u8..16).filter(move |t| self.contains(*t))
    }
}

/// Things an ATR gets wrong or marks as reserved, as a bit set (§8). In [`Mode::Lenient`] the
/// first five are accepted and reported here; the others are reported in both modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Findings(pub u16);

impl Findings {
    /// A TCK is required but absent.
    pub const TCK_MISSING: Self = Self(1);
    /// The TCK is present but the XOR of T0..TCK is not zero.
    pub const TCK_WRONG: Self = Self(1 << 1);
    /// TD1 indicates T=15.
    pub const T15_IN_TD1: Self = Self(1 << 2);
    /// Bytes follow the end of the ATR.
    pub const EXTRA_BYTES: Self = Self(1 << 3);
    /// A TCK is present although only T=0 is indicated (it is then checked).
    pub const TCK_UNEXPECTED: Self = Self(1 << 4);
    /// TA1 announces an RFU Fi value.
    pub const FI_RFU: Self = Self(1 << 5);
    /// TA1 announces an RFU Di value.
    pub const DI_RFU: Self = Self(1 << 6);
    /// The first TA for T=1 is `00` or `FF` (RFU IFSC).
    pub const IFSC_RFU: Self = Self(1 << 7);
    /// The first TB for T=1 has BWI above 9 (RFU).
    pub const BWI_RFU: Self = Self(1 << 8);
    /// TB1 or TB2 is present and not zero (VPP, deprecated since 2006).
    pub const VPP_DEPRECATED: Self = Self(1 << 9);
    /// TC2 (WI) is zero, which is RFU.
    pub const WI_ZERO: Self = Self(1 << 10);

    const ALL: [(Self, &'static str); 11] = [
        (
            Self::TCK_MISSING,
            "TCK missing although a protocol other than T=0 is indicated",
        ),
        (
            Self::TCK_WRONG,
            "TCK wrong: the XOR of T0 to TCK is not zero",
        ),
        (
            Self::T15_IN_TD1,
            "TD1 indicates T=15, which is not allowed in TD1",
        ),
        (Self::EXTRA_BYTES, "extra bytes after the end of the ATR"),
        (
            Self::TCK_UNEXPECTED,
            "a TCK is present although only T=0 is indicated",
        ),
        (Self::FI_RFU, "TA1 announces an RFU Fi value"),
        (Self::DI_RFU, "TA1 announces an RFU Di value"),
        (
            Self::IFSC_RFU,
            "the first TA for T=1 announces an RFU IFSC (00 or FF)",
        ),
        (
            Self::BWI_RFU,
            "the first TB for T=1 announces an RFU BWI (above 9)",
        ),
        (
            Self::VPP_DEPRECATED,
            "TB1/TB2 (VPP) present and non-zero: deprecated",
        ),
        (Self::WI_ZERO, "TC2 announces WI = 0, which is RFU"),
    ];

    /// Whether nothing was found.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether every finding of `other` is in `self`.
    pub fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0 && other.0 != 0
    }

    fn insert(&mut self, other: Self) {
        self.0 |= other.0;
    }

    /// Each finding with a one-line explanation.
    pub fn iter(self) -> impl Iterator<Item = (Findings, &'static str)> {
        Self::ALL
            .into_iter()
            .filter(move |(f, _)| self.contains(*f))
    }
}

/// Error detection code of T=1 (first TC for T=1, §11.4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EdcKind {
    /// Longitudinal redundancy check, one byte (the default).
    Lrc,
    /// Cyclic redundancy check, two bytes.
    Crc,
}

/// The T=1 parameters of an ATR, with the defaults of §11.4 where absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct T1Params {
    /// Information field size for the card (default 32; RFU values 00/FF give 32).
    pub ifsc: u8,
    /// Block waiting time integer (default 4).
    pub bwi: u8,
    /// Character waiting time integer (default 13).
    pub cwi: u8,
    /// Error detection code (default LRC).
    pub edc: EdcKind,
}

impl Default for T1Params {
    fn default() -> Self {
        Self {
            ifsc: 32,
            bwi: 4,
            cwi: 13,
            edc: EdcKind::Lrc,
        }
    }
}

/// The specific mode announced by TA2 (§8.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SpecificMode {
    /// The protocol the card runs.
    pub protocol: u8,
    /// Whether the card can change to negotiable mode (bit 8 = 0).
    pub can_change: bool,
    /// Whether F and D are implicit (bit 5 = 1), so that TA1 does not define them.
    pub implicit: bool,
}

/// The clock rate conversion integer Fi and its maximum frequency, by TA1's high nibble
/// (Table 7): `(Fi, f max in kHz)`, `None` for RFU.
pub fn fi_from_code(code: u8) -> Option<(u16, u32)> {
    match code & 0x0F {
        0 => Some((372, 4_000)),
        1 => Some((372, 5_000)),
        2 => Some((558, 6_000)),
        3 => Some((744, 8_000)),
        4 => Some((1116, 12_000)),
        5 => Some((1488, 16_000)),
        6 => Some((1860, 20_000)),
        9 => Some((512, 5_000)),
        10 => Some((768, 7_500)),
        11 => Some((1024, 10_000)),
        12 => Some((1536, 15_000)),
        13 => Some((2048, 20_000)),
        _ => None,
    }
}

/// The baud rate adjustment integer Di by TA1's low nibble (Table 8), `None` for RFU.
pub fn di_from_code(code: u8) -> Option<u8> {
    match code & 0x0F {
        1 => Some(1),
        2 => Some(2),
        3 => Some(4),
        4 => Some(8),
        5 => Some(16),
        6 => Some(32),
        7 => Some(64),
        8 => Some(12),
        9 => Some(20),
        _ => None,
    }
}

/// A parsed Answer-to-Reset. It keeps its bytes (at most 33) and answers every question from
/// them; no accessor can panic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Atr {
    bytes: [u8; MAX_LEN],
    len: u8,
    hist_start: u8,
    hist_len: u8,
    tck: Option<u8>,
    tck_required: bool,
    findings: Findings,
}

impl Atr {
    /// Parses an ATR whose TS is `3B` or `3F` (characters already decoded under their
    /// convention, as PC/SC and most readers present them).
    ///
    /// # Errors
    /// [`Error::AtrTooShort`], [`Error::InvalidTs`], [`Error::AtrIncomplete`] and
    /// [`Error::AtrTooLong`] in both modes; in [`Mode::Strict`] also [`Error::MissingTck`],
    /// [`Error::BadChecksum`], [`Error::InvalidTd1`] and [`Error::TrailingBytes`].
    pub fn parse(input: &[u8], mode: Mode) -> Result<Self, Error> {
        let strict = mode == Mode::Strict;
        let (&ts, rest) = input.split_first().ok_or(Error::AtrTooShort { len: 0 })?;
        let convention = match ts {
            0x3B | 0x3F => ts,
            value => return Err(Error::InvalidTs { value }),
        };
        let _ = convention;
        let &t0 = rest
            .first()
            .ok_or(Error::AtrTooShort { len: input.len() })?;
        let mut findings = Findings::default();
        // Walk the interface bytes.
        let mut pos = 2usize;
        let mut y = t0 >> 4;
        let mut group = 1u8;
        let mut tck_required = false;
        loop {
            let count = y.count_ones() as usize;
            if pos + count > input.len() {
                return Err(Error::AtrIncomplete {
                    offset: input.len(),
                    needed: pos + count - input.len(),
                });
            }
            if pos + count > MAX_LEN {
                return Err(Error::AtrTooLong { len: pos + count });
            }
            if y & 0x8 == 0 {
                pos += count;
                break;
            }
            let td_off = pos + count - 1;
            let td = input.get(td_off).copied().unwrap_or(0);
            let t = td & 0x0F;
            if group == 1 && t == 15 {
                if strict {
                    return Err(Error::InvalidTd1 { offset: td_off });
                }
                findings.insert(Findings::T15_IN_TD1);
            }
            if t != 0 {
                tck_required = true;
            }
            pos += count;
            y = td >> 4;
            group = group.saturating_add(1);
        }
        let hist_len = (t0 & 0x0F) as usize;
        let hist_start = pos;
        let hist_end = pos + hist_len;
        if hist_end > input.len() {
            return Err(Error::AtrIncomplete {
                offset: input.len(),
                needed: hist_end - input.len(),
            });
        }
        if hist_end > MAX_LEN {
            return Err(Error::AtrTooLong { len: hist_end });
        }
        let mut end = hist_end;
        let mut tck = None;
        if tck_required {
            match input.get(hist_end) {
                Some(&value) if hist_end < MAX_LEN => {
                    tck = Some(value);
                    end = hist_end + 1;
                }
                Some(_) if strict => return Err(Error::AtrTooLong { len: hist_end + 1 }),
                _ if strict => return Err(Error::MissingTck { offset: hist_end }),
                _ => findings.insert(Findings::TCK_MISSING),
            }
        } else if input.len() == hist_end + 1 && !strict && hist_end < MAX_LEN {
            // One byte more than a T=0-only ATR needs: a TCK the card sends anyway.
            tck = input.get(hist_end).copied();
            end = hist_end + 1;
            findings.insert(Findings::TCK_UNEXPECTED);
        }
        if let Some(value) = tck {
            let xor = input
                .get(1..end)
                .unwrap_or(&[])
                .iter()
                .fold(0u8, |a, b| a ^ b);
            if xor != 0 {
                if strict {
                    return Err(Error::BadChecksum {
                        offset: end - 1,
                        expected: value ^ xor,
                    });
                }
                findings.insert(Findings::TCK_WRONG);
            }
        }
        if input.len() > end {
            if strict {
                return Err(Error::TrailingBytes { offset: end });
            }
            findings.insert(Findings::EXTRA_BYTES);
        }
        let mut bytes = [0u8; MAX_LEN];
        let used = input.get(..end).unwrap_or(&[]);
        for (slot, b) in bytes.iter_mut().zip(used) {
            *slot = *b;
        }
        // `end` is at most MAX_LEN (33), so these casts cannot truncate.
        let mut atr = Atr {
            bytes,
            len: end as u8,
            hist_start: hist_start as u8,
            hist_len: hist_len as u8,
            tck: tck.map(|_| (end - 1) as u8),
            tck_required,
            findings,
        };
        atr.findings.insert(atr.advisories());
        Ok(atr)
    }

    fn advisories(&self) -> Findings {
        let mut f = Findings::default();
        if let Some(ta1) = self.ta(1) {
            if fi_from_code(ta1 >> 4).is_none() {
                f.insert(Findings::FI_RFU);
            }
            if di_from_code(ta1).is_none() {
                f.insert(Findings::DI_RFU);
            }
        }
        if let Some(ifsc) = self.first_specific(1, InterfaceKind::Ta) {
            if ifsc == 0 || ifsc == 0xFF {
                f.insert(Findings::IFSC_RFU);
            }
        }
        if let Some(tb) = self.first_specific(1, InterfaceKind::Tb) {
            if tb >> 4 > 9 {
                f.insert(Findings::BWI_RFU);
            }
        }
        if self.tb(1).is_some_and(|v| v != 0) || self.tb(2).is_some_and(|v| v != 0) {
            f.insert(Findings::VPP_DEPRECATED);
        }
        if self.tc(2) == Some(0) {
            f.insert(Findings::WI_ZERO);
        }
        f
    }

    /// The ATR's bytes, TS to TCK (extra bytes accepted in lenient mode are not kept).
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len as usize).unwrap_or(&[])
    }

    /// The convention announced by TS.
    pub fn convention(&self) -> Convention {
        if self.bytes[0] == 0x3F {
            Convention::Inverse
        } else {
            Convention::Direct
        }
    }

    /// T0: Y1 in the high nibble, the number of historical bytes K in the low one.
    pub fn t0(&self) -> u8 {
        self.bytes[1]
    }

    /// What the lenient parser accepted and the advisory findings (RFU values, ...).
    pub fn findings(&self) -> Findings {
        self.findings
    }

    /// The historical bytes T1..TK (§8.1.1 of ISO/IEC 7816-4 describes their content).
    pub fn historical_bytes(&self) -> &[u8] {
        let start = self.hist_start as usize;
        self.bytes
            .get(start..start + self.hist_len as usize)
            .unwrap_or(&[])
    }

    /// The TCK, when present.
    pub fn tck(&self) -> Option<u8> {
        self.tck.and_then(|i| self.bytes.get(i as usize).copied())
    }

    /// Whether a TCK is required (a protocol other than T=0 is indicated).
    pub fn tck_required(&self) -> bool {
        self.tck_required
    }

    /// True when the TCK is present and correct, or absent and not required.
    pub fn tck_ok(&self) -> bool {
        !self.findings.contains(Findings::TCK_MISSING)
            && !self.findings.contains(Findings::TCK_WRONG)
    }

    /// The interface characters in order.
    pub fn interface_bytes(&self) -> InterfaceBytes<'_> {
        InterfaceBytes {
            atr: self,
            pos: 2,
            y: self.t0() >> 4,
            group: 1,
            protocol: None,
            bit: 0,
        }
    }

    fn find(&self, group: u8, kind: InterfaceKind) -> Option<u8> {
        self.interface_bytes()
            .find(|b| b.group == group && b.kind == kind)
            .map(|b| b.value)
    }

    /// TAi, when present.
    pub fn ta(&self, i: u8) -> Option<u8> {
        self.find(i, InterfaceKind::Ta)
    }
    /// TBi, when present.
    pub fn tb(&self, i: u8) -> Option<u8> {
        self.find(i, InterfaceKind::Tb)
    }
    /// TCi, when present.
    pub fn tc(&self, i: u8) -> Option<u8> {
        self.find(i, InterfaceKind::Tc)
    }
    /// TDi, when present.
    pub fn td(&self, i: u8) -> Option<u8> {
        self.find(i, InterfaceKind::Td)
    }

    /// The first TA/TB/TC for protocol `t` from group 3 on (group 2 for T=15 counts too:
    /// "first TA for T=15" may be TA3 or later), §8.2.3.
    pub fn first_specific(&self, t: u8, kind: InterfaceKind) -> Option<u8> {
        self.interface_bytes()
            .find(|b| b.group >= 3 && b.kind == kind && b.protocol == Some(t))
            .map(|b| b.value)
    }

    /// The protocols the card offers: every T in a TDi, or T=0 alone when there is no TD1.
    /// T=15 (global parameters) is not a protocol and is left out.
    pub fn protocols(&self) -> Protocols {
        let mut mask = 0u16;
        for b in self.interface_bytes() {
            if b.kind == InterfaceKind::Td && b.value & 0x0F != 15 {
                mask |= 1 << (b.value & 0x0F);
            }
        }
        if mask == 0 {
            Protocols(1)
        } else {
            Protocols(mask)
        }
    }

    /// The default protocol: the one of TA2 in specific mode, else the first one offered
    /// (TD1's T), else T=0 (§8.2.3).
    pub fn default_protocol(&self) -> u8 {
        if let Some(mode) = self.specific_mode() {
            return mode.protocol;
        }
        match self.td(1) {
            Some(td) if td & 0x0F != 15 => td & 0x0F,
            _ => self.protocols().iter().next().unwrap_or(0),
        }
    }

    /// TA1's Fi (372 when TA1 is absent; `None` for an RFU code).
    pub fn fi(&self) -> Option<u16> {
        fi_from_code(self.ta(1).unwrap_or(0x11) >> 4).map(|(fi, _)| fi)
    }

    /// TA1's f max in kHz (5 000 when TA1 is absent; `None` for an RFU code).
    pub fn f_max_khz(&self) -> Option<u32> {
        fi_from_code(self.ta(1).unwrap_or(0x11) >> 4).map(|(_, f)| f)
    }

    /// TA1's Di (1 when TA1 is absent; `None` for an RFU code).
    pub fn di(&self) -> Option<u8> {
        di_from_code(self.ta(1).unwrap_or(0x11))
    }

    /// Extra guard time N from TC1 (0 when absent; 255 means minimum guard time, §8.3).
    pub fn extra_guard_time(&self) -> u8 {
        self.tc(1).unwrap_or(0)
    }

    /// The specific mode of TA2, when present (§8.3): PPS is then not allowed.
    pub fn specific_mode(&self) -> Option<SpecificMode> {
        self.ta(2).map(|ta2| SpecificMode {
            protocol: ta2 & 0x0F,
            can_change: ta2 & 0x80 == 0,
            implicit: ta2 & 0x10 != 0,
        })
    }

    /// T=0's waiting time integer WI from TC2 (default 10, §10.2).
    pub fn wi(&self) -> u8 {
        match self.tc(2) {
            Some(0) | None => 10,
            Some(wi) => wi,
        }
    }

    /// Clock stop indicator X (0 not supported, 1 state L, 2 state H, 3 no preference) from
    /// the first TA for T=15, when present (§8.3).
    pub fn clock_stop(&self) -> Option<u8> {
        self.first_specific(15, InterfaceKind::Ta).map(|ta| ta >> 6)
    }

    /// Class indicator Y (bit 1 class A 5 V, bit 2 class B 3 V, bit 3 class C 1.8 V) from the
    /// first TA for T=15, when present (§8.3).
    pub fn class_indicator(&self) -> Option<u8> {
        self.first_specific(15, InterfaceKind::Ta)
            .map(|ta| ta & 0x3F)
    }

    /// SPU use (the first TB for T=15), when present (§8.3).
    pub fn spu(&self) -> Option<u8> {
        self.first_specific(15, InterfaceKind::Tb)
    }

    /// T=1's IFSC, BWI, CWI and error detection code (defaults where absent, §11.4).
    pub fn t1(&self) -> T1Params {
        let mut p = T1Params::default();
        if let Some(ifsc) = self.first_specific(1, InterfaceKind::Ta) {
            if ifsc != 0 && ifsc != 0xFF {
                p.ifsc = ifsc;
            }
        }
        if let Some(tb) = self.first_specific(1, InterfaceKind::Tb) {
            p.bwi = (tb >> 4).min(9);
            p.cwi = tb & 0x0F;
        }
        if let Some(tc) = self.first_specific(1, InterfaceKind::Tc) {
            if tc & 1 != 0 {
                p.edc = EdcKind::Crc;
            }
        }
        p
    }

    /// The historical bytes decoded as COMPACT-TLV (ISO/IEC 7816-4 §8.1.1) by `cardwire-tlv`:
    /// category indicator, card capabilities (chaining, extended Lc/Le, logical channels),
    /// status indicator.
    ///
    /// # Errors
    /// The TLV layer's [`cardwire_tlv::Error`] when the bytes do not follow §8.1.1.
    pub fn historical(
        &self,
    ) -> Result<cardwire_tlv::compact::HistoricalBytes<'_>, cardwire_tlv::Error> {
        cardwire_tlv::compact::HistoricalBytes::parse(self.historical_bytes())
    }

    /// The timing at clock `clock_hz` that TA1 indicates: its F and D, which a successful
    /// PPS to TA1 or the specific mode of TA2 put in force (§8.3, §9). When TA2's bit 5 says
    /// the parameters are implicit, TA1 must not be used: the default Fd/Dd = 372/1 then,
    /// as when TA1 is absent or RFU.
    ///
    /// This is not necessarily the timing in use: without a PPS a card in negotiable mode
    /// runs at 372/1, see [`Atr::initial_timing`] and [`crate::pps::PpsAgreed::timing`].
    pub fn timing(&self, clock_hz: u32) -> crate::Timing {
        if self.specific_mode().is_some_and(|m| m.implicit) {
            return crate::Timing::new(clock_hz, 372, 1);
        }
        crate::Timing::new(clock_hz, self.fi().unwrap_or(372), self.di().unwrap_or(1))
    }

    /// The timing in use right after the ATR when no PPS follows (§6.3.1, §8.3, §9.1): TA1's
    /// F and D in the specific mode of TA2 without the implicit bit, else Fd/Dd = 372/1
    /// (negotiable mode, or parameters implicit). After a PPS use
    /// [`crate::pps::PpsAgreed::timing`] instead.
    pub fn initial_timing(&self, clock_hz: u32) -> crate::Timing {
        match self.specific_mode() {
            Some(mode) if !mode.implicit => self.timing(clock_hz),
            _ => crate::Timing::new(clock_hz, 372, 1),
        }
    }
}

/// Iterator over an ATR's interface characters, see [`Atr::interface_bytes`].
#[derive(Debug, Clone)]
pub struct InterfaceBytes<'a> {
    atr: &'a Atr,
    pos: u8,
    y: u8,
    group: u8,
    protocol: Option<u8>,
    bit: u8,
}

impl Iterator for InterfaceBytes<'_> {
    type Item = InterfaceByte;

    fn next(&mut self) -> Option<InterfaceByte> {
        loop {
            if self.bit >= 4 {
                return None;
            }
            let bit = self.bit;
            self.bit += 1;
            if self.y & (1 << bit) == 0 {
                continue;
            }
            let offset = self.pos;
            let value = *self.atr.bytes.get(offset as usize)?;
            if offset >= self.atr.hist_start {
                return None;
            }
            self.pos += 1;
            let kind = match bit {
                0 => InterfaceKind::Ta,
                1 => InterfaceKind::Tb,
                2 => InterfaceKind::Tc,
                _ => InterfaceKind::Td,
            };
            let group = self.group;
            let protocol = if kind == InterfaceKind::Td {
                Some(value & 0x0F)
            } else {
                self.protocol
            };
            if kind == InterfaceKind::Td {
                self.y = value >> 4;
                self.bit = 0;
                self.group = self.group.saturating_add(1);
                // Group 2's TA/TB are global (TA2 specific mode, TB2 VPP) and TC2 is T=0's
                // WI, so group 2 gets no protocol; from group 3 on, TD(i-1) qualifies.
                self.protocol = if group == 1 { None } else { Some(value & 0x0F) };
            }
            return Some(InterfaceByte {
                group,
                kind,
                value,
                offset,
                protocol,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::{vec, vec::Vec};

    // ISO/IEC 7816-3 style T=1 ATR (Gemalto/JCOP-like shape from smartcard_list.txt):
    // 3B 95 96 81 31 FE 45 'JCOP4' ... here with 5 historical bytes and a correct TCK.
    const T1_ATR: [u8; 13] = [
        0x3B, 0x95, 0x96, 0x81, 0x31, 0xFE, 0x45, 0x4A, 0x43, 0x4F, 0x50, 0x34, 0x2A,
    ];

    fn tck(bytes: &[u8]) -> u8 {
        bytes[1..].iter().fold(0, |a, b| a ^ b)
    }

    #[test]
    fn t1_atr_values() {
        let atr = Atr::parse(&T1_ATR, Mode::Strict).unwrap();
        assert_eq!(atr.convention(), Convention::Direct);
        assert_eq!(atr.protocols(), Protocols(0b10));
        assert_eq!(atr.default_protocol(), 1);
        assert_eq!(
            (atr.fi(), atr.di(), atr.f_max_khz()),
            (Some(512), Some(32), Some(5_000))
        );
        assert_eq!(
            atr.t1(),
            T1Params {
                ifsc: 254,
                bwi: 4,
                cwi: 5,
                edc: EdcKind::Lrc
            }
        );
        assert_eq!(atr.historical_bytes(), b"JCOP4");
        assert_eq!(atr.tck(), Some(0x2A));
        assert!(atr.tck_ok() && atr.findings().is_empty());
        let kinds: Vec<_> = atr
            .interface_bytes()
            .map(|b| (b.group, b.kind, b.protocol))
            .collect();
        assert_eq!(
            kinds,
            [
                (1, InterfaceKind::Ta, None),
                (1, InterfaceKind::Td, Some(1)),
                (2, InterfaceKind::Td, Some(1)),
                (3, InterfaceKind::Ta, Some(1)),
                (3, InterfaceKind::Tb, Some(1)),
            ]
        );
    }

    #[test]
    fn each_typed_error() {
        assert_eq!(
            Atr::parse(&[0x3B], Mode::Strict),
            Err(Error::AtrTooShort { len: 1 })
        );
        assert_eq!(
            Atr::parse(&[0x3C, 0x00], Mode::Lenient),
            Err(Error::InvalidTs { value: 0x3C })
        );
        assert_eq!(
            Atr::parse(&[0x3B, 0x12, 0x11], Mode::Lenient),
            Err(Error::AtrIncomplete {
                offset: 3,
                needed: 2
            })
        );
        let mut bad = T1_ATR;
        bad[12] ^= 1;
        assert_eq!(
            Atr::parse(&bad, Mode::Strict),
            Err(Error::BadChecksum {
                offset: 12,
                expected: 0x2A
            })
        );
        let lenient = Atr::parse(&bad, Mode::Lenient).unwrap();
        assert!(lenient.findings().contains(Findings::TCK_WRONG) && !lenient.tck_ok());
        assert_eq!(
            Atr::parse(&T1_ATR[..12], Mode::Strict),
            Err(Error::MissingTck { offset: 12 })
        );
        let lenient = Atr::parse(&T1_ATR[..12], Mode::Lenient).unwrap();
        assert!(lenient.findings().contains(Findings::TCK_MISSING) && !lenient.tck_ok());
        // TD1 = 0F (T=15 in TD1).
        let t15 = [0x3B, 0x80, 0x0F, 0x8F];
        assert_eq!(
            Atr::parse(&t15, Mode::Strict),
            Err(Error::InvalidTd1 { offset: 2 })
        );
        assert!(
            Atr::parse(&t15, Mode::Lenient)
                .unwrap()
                .findings()
                .contains(Findings::T15_IN_TD1)
        );
        // 15 historical bytes and a chain of TDs: more than 32 bytes after TS.
        let mut long = vec![0x3B, 0x8F];
        long.extend([0x80; 17]);
        long.push(0x00);
        long.extend([0u8; 15]);
        assert_eq!(
            Atr::parse(&long, Mode::Lenient),
            Err(Error::AtrTooLong { len: 35 })
        );
        let mut extra = T1_ATR.to_vec();
        extra.push(0);
        assert_eq!(
            Atr::parse(&extra, Mode::Strict),
            Err(Error::TrailingBytes { offset: 13 })
        );
        assert!(
            Atr::parse(&extra, Mode::Lenient)
                .unwrap()
                .findings()
                .contains(Findings::EXTRA_BYTES)
        );
    }

    #[test]
    fn t0_only_global_and_t15_bytes() {
        // 3B 00: T=0 only, no TCK, defaults everywhere.
        let atr = Atr::parse(&[0x3B, 0x00], Mode::Strict).unwrap();
        assert_eq!(
            (
                atr.protocols(),
                atr.default_protocol(),
                atr.wi(),
                atr.fi(),
                atr.di()
            ),
            (Protocols(1), 0, 10, Some(372), Some(1))
        );
        assert!(atr.tck_ok() && atr.tck().is_none());
        // TA1=18 (Fi 372, Di 12), TC1=FF, TD1=80 (T=0, TD2 follows), TD2=9F? no: TD2=1F ->
        // TA3 for T=15 = C3 (clock stop no preference, classes A and B), then TCK.
        let mut b = vec![0x3F, 0xD0, 0x18, 0xFF, 0x80, 0x1F, 0xC3];
        b.push(tck(&b));
        let atr = Atr::parse(&b, Mode::Strict).unwrap();
        assert_eq!(atr.convention(), Convention::Inverse);
        assert_eq!((atr.di(), atr.extra_guard_time()), (Some(12), 255));
        assert_eq!(
            (atr.clock_stop(), atr.class_indicator()),
            (Some(3), Some(3))
        );
        assert_eq!(atr.protocols(), Protocols(1));
        assert!(atr.tck_required());
        // RFU Fi/Di are flagged, not rejected.
        let mut rfu = vec![0x3B, 0x10, 0x70, 0x00];
        rfu.truncate(3);
        let atr = Atr::parse(&rfu, Mode::Strict).unwrap();
        assert!(
            atr.findings().contains(Findings::FI_RFU) && atr.findings().contains(Findings::DI_RFU)
        );
        assert_eq!(atr.fi(), None);
    }

    #[test]
    fn specific_mode_and_inverse_decoding() {
        // TD1 = 10 (TA2 present, T=0), TA2 = 91 (cannot change, implicit, T=1).
        let atr = Atr::parse(&[0x3B, 0x80, 0x10, 0x91, 0x01], Mode::Lenient).unwrap();
        assert_eq!(
            atr.specific_mode(),
            Some(SpecificMode {
                protocol: 1,
                can_change: false,
                implicit: true
            })
        );
        assert_eq!(atr.default_protocol(), 1);
        // 3F sent in inverse convention reads as 03 on a direct-mode UART.
        assert_eq!(Convention::from_raw_ts(0x03), Some(Convention::Inverse));
        assert_eq!(Convention::Inverse.decode(0x03), 0x3F);
        assert_eq!(Convention::Direct.decode(0x3B), 0x3B);
    }

    #[test]
    fn implicit_parameters_ignore_ta1() {
        use crate::Timing;
        let clock = 4_000_000;
        // TA1 = 96 (F 512, D 32), TD1 = 10 (TA2 follows, T=0), TA2 = 90: cannot change,
        // parameters implicit (bit 5), T=0. TA1 must not be used (§8.3).
        let atr = Atr::parse(&[0x3B, 0x90, 0x96, 0x10, 0x90], Mode::Strict).unwrap();
        assert!(atr.specific_mode().unwrap().implicit);
        assert_eq!(atr.timing(clock), Timing::new(clock, 372, 1));
        assert_eq!(atr.initial_timing(clock), Timing::new(clock, 372, 1));
        // TA2 = 80: specific mode with TA1's parameters.
        let atr = Atr::parse(&[0x3B, 0x90, 0x96, 0x10, 0x80], Mode::Strict).unwrap();
        assert_eq!(atr.timing(clock), Timing::new(clock, 512, 32));
        assert_eq!(atr.initial_timing(clock), Timing::new(clock, 512, 32));
        // No TA2: negotiable mode; TA1 only after a PPS, 372/1 until then.
        let atr = Atr::parse(&[0x3B, 0x10, 0x96], Mode::Strict).unwrap();
        assert_eq!(atr.timing(clock), Timing::new(clock, 512, 32));
        assert_eq!(atr.initial_timing(clock), Timing::new(clock, 372, 1));
    }

    #[test]
    fn waiting_times_at_a_clock() {
        let atr = Atr::parse(&T1_ATR, Mode::Strict).unwrap();
        let t = atr.timing(4_000_000);
        // etu = 512 / (32 × 4 MHz) = 4 µs.
        assert_eq!(t.etu_nanos(), 4_000);
        // CWT = (11 + 2^5) etu = 172 µs; BWT = 11 etu + 2^4 × 960 × 372 / 4 MHz = 44 + 1 428 480 µs.
        assert_eq!(t.cwt_micros(atr.t1().cwi), 172);
        assert_eq!(t.bwt_micros(atr.t1().bwi), 44 + 1_428_480);
        // WT = 10 × 960 × 512 / 4 MHz = 1 228.8 ms.
        assert_eq!(t.wt_micros(atr.wi()), 1_228_800);
    }
}
