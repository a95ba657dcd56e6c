//! Command APDUs: the checked view [`Command`] and the plain [`CommandRepr`]
//! (ISO/IEC 7816-3 §12.1, ISO/IEC 7816-4 §5.1).

use core::fmt;

use crate::{Cla, Error, Ins};

/// Largest Nc: 65 535 data bytes (extended Lc, ISO/IEC 7816-4 §5.1).
pub const MAX_NC: usize = 65_535;
/// Largest Ne: 65 536 (extended Le `0000`, ISO/IEC 7816-4 §5.1).
pub const MAX_NE: u32 = 65_536;
/// Largest Nc in the short form (Lc `FF`).
pub const MAX_SHORT_NC: usize = 255;
/// Largest Ne in the short form (Le `00`).
pub const MAX_SHORT_NE: u32 = 256;
/// Longest command APDU: header, extended Lc, 65 535 data bytes, extended Le.
pub const MAX_COMMAND_LEN: usize = 4 + 3 + MAX_NC + 2;
/// Longest short command APDU: header, Lc, 255 data bytes, Le.
pub const MAX_SHORT_COMMAND_LEN: usize = 4 + 1 + MAX_SHORT_NC + 1;

/// The seven cases of a command APDU (ISO/IEC 7816-3 §12.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Case {
    /// Case 1: header only, no data, no response data (Nc = 0, Ne = 0).
    Case1,
    /// Case 2S: short Le (Ne 1–256).
    Case2Short,
    /// Case 3S: short Lc and data (Nc 1–255).
    Case3Short,
    /// Case 4S: short Lc, data and short Le.
    Case4Short,
    /// Case 2E: extended Le (`00` then two bytes; Ne 1–65 536).
    Case2Extended,
    /// Case 3E: extended Lc (`00` then two bytes; Nc 1–65 535) and data.
    Case3Extended,
    /// Case 4E: extended Lc, data and two-byte extended Le.
    Case4Extended,
}

impl Case {
    /// The case as ISO/IEC 7816-3 writes it: `"1"`, `"2S"`, `"3S"`, `"4S"`, `"2E"`, `"3E"`, `"4E"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Case::Case1 => "1",
            Case::Case2Short => "2S",
            Case::Case3Short => "3S",
            Case::Case4Short => "4S",
            Case::Case2Extended => "2E",
            Case::Case3Extended => "3E",
            Case::Case4Extended => "4E",
        }
    }

    /// True for 2E, 3E and 4E.
    pub const fn is_extended(self) -> bool {
        matches!(
            self,
            Case::Case2Extended | Case::Case3Extended | Case::Case4Extended
        )
    }

    /// True when the command carries data (cases 3 and 4).
    pub const fn has_data(self) -> bool {
        matches!(
            self,
            Case::Case3Short | Case::Case4Short | Case::Case3Extended | Case::Case4Extended
        )
    }

    /// True when the command has an Le field (cases 2 and 4).
    pub const fn has_le(self) -> bool {
        matches!(
            self,
            Case::Case2Short | Case::Case4Short | Case::Case2Extended | Case::Case4Extended
        )
    }
}

impl fmt::Display for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How to encode the Lc and Le fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LengthForm {
    /// Short when Nc ≤ 255 and Ne ≤ 256, extended otherwise.
    #[default]
    Auto,
    /// Short only: [`Error::NeedsExtended`] when the command does not fit.
    Short,
    /// Always extended (a case 1 command has no length fields and stays 4 bytes).
    Extended,
}

/// Where the fields of a checked command lie in its buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Layout {
    case: Case,
    data_start: usize,
    nc: usize,
    ne: u32,
}

/// Parses the layout of a command APDU with the rules of ISO/IEC 7816-3 §12.1.3.
#[inline]
fn parse_layout(b: &[u8]) -> Result<Layout, Error> {
    let len = b.len();
    let Some(&b5) = b.get(4) else {
        if len < 4 {
            return Err(Error::Truncated {
                offset: len,
                needed: 4 - len,
            });
        }
        return Ok(Layout {
            case: Case::Case1,
            data_start: 4,
            nc: 0,
            ne: 0,
        });
    };
    if len == 5 {
        // Case 2S: Le 00 means 256.
        let ne = if b5 == 0 { 256 } else { u32::from(b5) };
        return Ok(Layout {
            case: Case::Case2Short,
            data_start: 5,
            nc: 0,
            ne,
        });
    }
    if b5 != 0 {
        // Short Lc 01-FF.
        let nc = usize::from(b5);
        let end = 5 + nc;
        return match len {
            l if l < end => Err(Error::Truncated {
                offset: l,
                needed: end - l,
            }),
            l if l == end => Ok(Layout {
                case: Case::Case3Short,
                data_start: 5,
                nc,
                ne: 0,
            }),
            l if l == end + 1 => {
                let le = b.get(end).copied().unwrap_or(0);
                Ok(Layout {
                    case: Case::Case4Short,
                    data_start: 5,
                    nc,
                    ne: if le == 0 { 256 } else { u32::from(le) },
                })
            }
            _ => Err(Error::TrailingBytes { offset: end + 1 }),
        };
    }
    // b5 == 00 and more bytes follow: the extended form.
    let (Some(&x1), Some(&x2)) = (b.get(5), b.get(6)) else {
        return Err(Error::Truncated {
            offset: len,
            needed: 7 - len,
        });
    };
    let x = u16::from_be_bytes([x1, x2]);
    if len == 7 {
        // Case 2E: Le 0000 means 65 536.
        let ne = if x == 0 { 65_536 } else { u32::from(x) };
        return Ok(Layout {
            case: Case::Case2Extended,
            data_start: 7,
            nc: 0,
            ne,
        });
    }
    if x == 0 {
        return Err(Error::ExtendedLcZero { offset: 5 });
    }
    let nc = usize::from(x);
    let end = 7 + nc;
    match len {
        l if l < end => Err(Error::Truncated {
            offset: l,
            needed: end - l,
        }),
        l if l == end => Ok(Layout {
            case: Case::Case3Extended,
            data_start: 7,
            nc,
            ne: 0,
        }),
        l if l == end + 1 => Err(Error::Truncated {
            offset: l,
            needed: 1,
        }),
        l if l == end + 2 => {
            let le = match (b.get(end), b.get(end + 1)) {
                (Some(&h), Some(&l)) => u16::from_be_bytes([h, l]),
                _ => 0,
            };
            Ok(Layout {
                case: Case::Case4Extended,
                data_start: 7,
                nc,
                ne: if le == 0 { 65_536 } else { u32::from(le) },
            })
        }
        _ => Err(Error::TrailingBytes { offset: end + 2 }),
    }
}

/// A command APDU over any byte buffer, checked once (ISO/IEC 7816-3 §12.1, 7816-4 §5.1).
///
/// [`Command::new_checked`] applies the parse rules of §12.1.3 — a short Lc is `01`–`FF`; a
/// `00` where Lc would be starts the extended form; Le `00` means 256 and extended Le `0000`
/// means 65 536 — and rejects an Lc that disagrees with the data, an extended Lc `0000` followed
/// by data, truncated extended fields and trailing bytes. Afterwards no accessor can panic.
///
/// ```
/// use cardwire_apdu::{Case, Command, Ins};
/// // SELECT by AID, case 4S (ISO/IEC 7816-4 §11.2.2).
/// let cmd = Command::new_checked(&[0x00, 0xA4, 0x04, 0x00, 0x02, 0x3F, 0x00, 0x00][..])?;
/// assert_eq!(cmd.case(), Case::Case4Short);
/// assert_eq!(cmd.ins(), Ins::SELECT);
/// assert_eq!(cmd.data(), &[0x3F, 0x00]);
/// assert_eq!(cmd.ne(), 256);
/// # Ok::<(), cardwire_apdu::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Command<T: AsRef<[u8]>> {
    buffer: T,
    layout: Layout,
}

impl<T: AsRef<[u8]>> Command<T> {
    /// Checks the whole buffer as one command APDU.
    ///
    /// # Errors
    /// [`Error::Truncated`] when a field the header announces is missing (fewer than 4 bytes,
    /// Lc larger than the data, half an extended Le, ...), [`Error::TrailingBytes`] when bytes
    /// follow the last field, [`Error::ExtendedLcZero`] for extended Lc `0000` with data.
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let layout = parse_layout(buffer.as_ref())?;
        Ok(Self { buffer, layout })
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The whole command as bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    fn byte(&self, i: usize) -> u8 {
        self.buffer.as_ref().get(i).copied().unwrap_or(0)
    }

    /// The case (1, 2S, ... 4E).
    #[inline]
    pub fn case(&self) -> Case {
        self.layout.case
    }

    /// The class byte.
    pub fn cla(&self) -> Cla {
        Cla(self.byte(0))
    }

    /// The instruction byte.
    pub fn ins(&self) -> Ins {
        Ins(self.byte(1))
    }

    /// P1.
    pub fn p1(&self) -> u8 {
        self.byte(2)
    }

    /// P2.
    pub fn p2(&self) -> u8 {
        self.byte(3)
    }

    /// Nc, the length of the data field (0–65 535).
    pub fn nc(&self) -> usize {
        self.layout.nc
    }

    /// The data field (empty for cases 1 and 2).
    #[inline]
    pub fn data(&self) -> &[u8] {
        let start = self.layout.data_start;
        self.buffer
            .as_ref()
            .get(start..start + self.layout.nc)
            .unwrap_or(&[])
    }

    /// Ne, the maximum number of response data bytes expected (0 when there is no Le field,
    /// up to 65 536).
    #[inline]
    pub fn ne(&self) -> u32 {
        self.layout.ne
    }

    /// The same command as plain values.
    pub fn repr(&self) -> CommandRepr<'_> {
        CommandRepr {
            cla: self.cla(),
            ins: self.ins(),
            p1: self.p1(),
            p2: self.p2(),
            data: self.data(),
            ne: self.ne(),
        }
    }
}

impl<'a> Command<&'a [u8]> {
    /// The command as plain values borrowing the original buffer (not the view).
    pub fn into_repr(self) -> CommandRepr<'a> {
        let data = self
            .buffer
            .get(self.layout.data_start..self.layout.data_start + self.layout.nc)
            .unwrap_or(&[]);
        CommandRepr {
            cla: self.cla(),
            ins: self.ins(),
            p1: self.p1(),
            p2: self.p2(),
            data,
            ne: self.ne(),
        }
    }
}

impl<T: AsRef<[u8]>> fmt::Debug for Command<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Command")
            .field("case", &self.case())
            .field("cla", &self.cla())
            .field("ins", &self.ins())
            .field("p1", &format_args!("{:02X}", self.p1()))
            .field("p2", &format_args!("{:02X}", self.p2()))
            .field("nc", &self.nc())
            .field("ne", &self.ne())
            .finish()
    }
}

/// A command APDU as plain values, for building and encoding one (ISO/IEC 7816-4 §5.1).
///
/// `data` is the command data field (Nc = `data.len()`, at most 65 535) and `ne` the maximum
/// number of response bytes expected (0 = no Le field, at most 65 536). The encoding picks the
/// short form when it can and the extended form otherwise; [`CommandRepr::encode_with`] forces
/// one.
///
/// ```
/// use cardwire_apdu::{Cla, CommandRepr, Ins, LengthForm};
/// let read = CommandRepr { cla: Cla(0x00), ins: Ins::READ_BINARY, p1: 0, p2: 0, data: &[], ne: 256 };
/// let mut buf = [0u8; 16];
/// assert_eq!(read.encode(&mut buf)?, &[0x00, 0xB0, 0x00, 0x00, 0x00]);
/// assert_eq!(read.encode_with(LengthForm::Extended, &mut buf)?, &[0x00, 0xB0, 0x00, 0x00, 0x00, 0x01, 0x00]);
/// # Ok::<(), cardwire_apdu::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CommandRepr<'a> {
    /// The class byte.
    pub cla: Cla,
    /// The instruction byte.
    pub ins: Ins,
    /// Parameter 1.
    pub p1: u8,
    /// Parameter 2.
    pub p2: u8,
    /// The data field (Nc = its length, at most 65 535).
    pub data: &'a [u8],
    /// Ne: 0 for no Le field, 1–65 536 otherwise.
    pub ne: u32,
}

impl<'a> CommandRepr<'a> {
    /// A command without data and without Le (case 1).
    pub const fn new(cla: Cla, ins: Ins, p1: u8, p2: u8) -> Self {
        Self {
            cla,
            ins,
            p1,
            p2,
            data: &[],
            ne: 0,
        }
    }

    /// The same command with `data`.
    #[must_use]
    pub const fn with_data(self, data: &'a [u8]) -> Self {
        Self { data, ..self }
    }

    /// The same command with Ne = `ne`.
    #[must_use]
    pub const fn with_ne(self, ne: u32) -> Self {
        Self { ne, ..self }
    }

    /// Parses a command APDU (see [`Command::new_checked`] for the rules).
    ///
    /// # Errors
    /// As [`Command::new_checked`].
    #[inline]
    pub fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
        let layout = parse_layout(bytes)?;
        let [cla, ins, p1, p2] = match bytes.first_chunk::<4>() {
            Some(header) => *header,
            None => [0; 4],
        };
        let data = bytes
            .get(layout.data_start..layout.data_start + layout.nc)
            .unwrap_or(&[]);
        Ok(Self {
            cla: Cla(cla),
            ins: Ins(ins),
            p1,
            p2,
            data,
            ne: layout.ne,
        })
    }

    /// Checks Nc and Ne and decides between the short and extended forms.
    #[inline]
    fn plan(&self, form: LengthForm) -> Result<(Case, usize), Error> {
        let nc = self.data.len();
        if nc > MAX_NC {
            return Err(Error::DataTooLong { len: nc });
        }
        if self.ne > MAX_NE {
            return Err(Error::NeTooLarge { ne: self.ne });
        }
        let fits_short = nc <= MAX_SHORT_NC && self.ne <= MAX_SHORT_NE;
        let extended = match form {
            LengthForm::Auto => !fits_short,
            LengthForm::Short if !fits_short => return Err(Error::NeedsExtended),
            LengthForm::Short => false,
            LengthForm::Extended => true,
        };
        let case = match (nc > 0, self.ne > 0, extended) {
            (false, false, _) => Case::Case1,
            (false, true, false) => Case::Case2Short,
            (true, false, false) => Case::Case3Short,
            (true, true, false) => Case::Case4Short,
            (false, true, true) => Case::Case2Extended,
            (true, false, true) => Case::Case3Extended,
            (true, true, true) => Case::Case4Extended,
        };
        let len = 4 + match case {
            Case::Case1 => 0,
            Case::Case2Short => 1,
            Case::Case3Short => 1 + nc,
            Case::Case4Short => 2 + nc,
            Case::Case2Extended => 3,
            Case::Case3Extended => 3 + nc,
            Case::Case4Extended => 5 + nc,
        };
        Ok((case, len))
    }

    /// The case this command encodes as with [`LengthForm::Auto`].
    ///
    /// # Errors
    /// [`Error::DataTooLong`] or [`Error::NeTooLarge`].
    pub fn case(&self) -> Result<Case, Error> {
        self.plan(LengthForm::Auto).map(|(case, _)| case)
    }

    /// The encoded length with [`LengthForm::Auto`] (0 when Nc or Ne is out of range, which
    /// [`CommandRepr::encode`] reports).
    #[inline]
    pub fn encoded_len(&self) -> usize {
        self.encoded_len_with(LengthForm::Auto).unwrap_or(0)
    }

    /// The encoded length with the given length form.
    ///
    /// # Errors
    /// [`Error::DataTooLong`], [`Error::NeTooLarge`], or [`Error::NeedsExtended`] for
    /// [`LengthForm::Short`].
    pub fn encoded_len_with(&self, form: LengthForm) -> Result<usize, Error> {
        self.plan(form).map(|(_, len)| len)
    }

    /// Encodes into `out`, short or extended as needed, and returns the written prefix.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] when `out` is shorter than [`Self::encoded_len`],
    /// [`Error::DataTooLong`] for more than 65 535 data bytes, [`Error::NeTooLarge`] for Ne
    /// above 65 536.
    #[inline]
    pub fn encode<'o>(&self, out: &'o mut [u8]) -> Result<&'o [u8], Error> {
        self.encode_with(LengthForm::Auto, out)
    }

    /// Encodes into `out` with the given length form and returns the written prefix.
    ///
    /// # Errors
    /// As [`Self::encode`], and [`Error::NeedsExtended`] for [`LengthForm::Short`] when the
    /// command does not fit the short form.
    #[inline]
    pub fn encode_with<'o>(&self, form: LengthForm, out: &'o mut [u8]) -> Result<&'o [u8], Error> {
        let nc = self.data.len();
        let ne = self.ne;
        if nc <= MAX_SHORT_NC && ne <= MAX_SHORT_NE && form != LengthForm::Extended {
            return self.encode_short(out);
        }
        self.encode_long(form, out)
    }

    /// The short form (cases 1, 2S, 3S, 4S): Nc ≤ 255 and Ne ≤ 256, checked by the caller.
    /// Straight-line: one length check, the header, then Lc, data and Le where present.
    #[inline]
    fn encode_short<'o>(&self, out: &'o mut [u8]) -> Result<&'o [u8], Error> {
        let nc = self.data.len();
        let lc_len = usize::from(nc > 0);
        let le_len = usize::from(self.ne > 0);
        let len = 4 + lc_len + nc + le_len;
        let Some(out) = out.get_mut(..len) else {
            return Err(Error::BufferTooSmall { needed: len });
        };
        let Some((head, rest)) = out.split_first_chunk_mut::<4>() else {
            // `len` is at least 4.
            return Err(Error::BufferTooSmall { needed: len });
        };
        *head = self.header_word().to_le_bytes();
        if nc > 0 {
            if let Some((lc, rest)) = rest.split_first_mut() {
                // Nc ≤ 255 here.
                *lc = (nc & 0xFF) as u8;
                if let Some(data) = rest.get_mut(..nc) {
                    copy_data(data, self.data);
                }
            }
        }
        if le_len == 1 {
            if let Some(le) = rest.last_mut() {
                // Le 256 encodes as 00: truncation to u8 is the rule.
                *le = (self.ne & 0xFF) as u8;
            }
        }
        Ok(out)
    }

    /// CLA INS P1 P2 as one little-endian word: written with one store, where the four
    /// bytes written one by one take four (the caller usually holds them in registers, from
    /// building the command, so the compiler cannot merge them into one load and store).
    #[inline(always)]
    fn header_word(&self) -> u32 {
        u32::from(self.cla.0)
            | u32::from(self.ins.0) << 8
            | u32::from(self.p1) << 16
            | u32::from(self.p2) << 24
    }

    /// The extended form (and [`LengthForm::Short`] refusals): the general path.
    fn encode_long<'o>(&self, form: LengthForm, out: &'o mut [u8]) -> Result<&'o [u8], Error> {
        let nc = self.data.len();
        let ne = self.ne;
        let needs_extended = nc > MAX_SHORT_NC || ne > MAX_SHORT_NE;
        if needs_extended {
            if nc > MAX_NC {
                return Err(Error::DataTooLong { len: nc });
            }
            if ne > MAX_NE {
                return Err(Error::NeTooLarge { ne });
            }
        }
        let extended = match form {
            LengthForm::Auto => needs_extended,
            LengthForm::Short if needs_extended => return Err(Error::NeedsExtended),
            LengthForm::Short => false,
            LengthForm::Extended => true,
        };
        // Field sizes: Lc is 1 (short) or 3 (00 + two bytes); Le is 1 (short), 3 (extended,
        // no data) or 2 (extended after an extended Lc). Le 256 encodes as 00 and 65 536 as
        // 0000: truncation to u8/u16 is the rule.
        let (lc_len, le_len) = match (nc > 0, ne > 0, extended) {
            (false, false, _) => (0, 0),
            (false, true, false) => (0, 1),
            (true, false, false) => (1, 0),
            (true, true, false) => (1, 1),
            (false, true, true) => (0, 3),
            (true, false, true) => (3, 0),
            (true, true, true) => (3, 2),
        };
        let len = 4 + lc_len + nc + le_len;
        let Some(out) = out.get_mut(..len) else {
            return Err(Error::BufferTooSmall { needed: len });
        };
        let lc = ((nc & 0xFFFF) as u16).to_be_bytes();
        let le = ((ne & 0xFFFF) as u16).to_be_bytes();
        let (head, rest) = out.split_at_mut(4 + lc_len);
        let (data, tail) = rest.split_at_mut(nc);
        match head {
            [h0, h1, h2, h3, rest @ ..] => {
                [*h0, *h1, *h2, *h3] = self.header_word().to_le_bytes();
                match rest {
                    [c] => *c = lc[1],
                    [z, c1, c2] => [*z, *c1, *c2] = [0, lc[0], lc[1]],
                    _ => {}
                }
            }
            // `head` is at least 4 bytes long.
            _ => return Err(Error::BufferTooSmall { needed: len }),
        }
        if nc > 0 {
            // No call into `memcpy` for zero bytes (case 2E, and case 1 in the extended form).
            data.copy_from_slice(self.data);
        }
        match tail {
            [l] => *l = le[1],
            [l1, l2] => [*l1, *l2] = le,
            [z, l1, l2] => [*z, *l1, *l2] = [0, le[0], le[1]],
            _ => {}
        }
        Ok(out)
    }

    /// Appends the encoding to a [`cardwire_tlv::Writer`] (a `SliceWriter`, `heapless::Vec`,
    /// `Vec`, ...) in three writes: header and Lc, data, Le. If a later write fails the earlier
    /// parts stay written.
    ///
    /// # Errors
    /// As [`Self::encode_with`]; [`Error::BufferTooSmall`] when the writer is full.
    pub fn write_to<W: cardwire_tlv::Writer + ?Sized>(
        &self,
        form: LengthForm,
        out: &mut W,
    ) -> Result<(), Error> {
        let (case, _) = self.plan(form)?;
        let nc = self.data.len();
        let [c1, c2] = ((nc & 0xFFFF) as u16).to_be_bytes();
        let [e1, e2] = ((self.ne & 0xFFFF) as u16).to_be_bytes();
        let header = [self.cla.0, self.ins.0, self.p1, self.p2, 0, 0, 0];
        let (head_len, lc, le): (usize, [u8; 3], &[u8]) = match case {
            Case::Case1 => (4, [0; 3], &[]),
            Case::Case2Short => (4, [0; 3], &[e2][..]),
            Case::Case3Short => (5, [c2, 0, 0], &[]),
            Case::Case4Short => (5, [c2, 0, 0], &[e2][..]),
            Case::Case2Extended => (4, [0; 3], &[0, e1, e2][..]),
            Case::Case3Extended => (7, [0, c1, c2], &[]),
            Case::Case4Extended => (7, [0, c1, c2], &[e1, e2][..]),
        };
        let mut head = header;
        if let Some(dst) = head.get_mut(4..head_len) {
            dst.copy_from_slice(lc.get(..head_len - 4).unwrap_or(&[]));
        }
        out.write(head.get(..head_len).unwrap_or(&[]))?;
        if nc > 0 {
            out.write(self.data)?;
        }
        if !le.is_empty() {
            out.write(le)?;
        }
        Ok(())
    }

    /// Encodes into a `heapless::Vec` of capacity `N`.
    ///
    /// # Errors
    /// As [`Self::encode`]; [`Error::BufferTooSmall`] when `N` is too small.
    pub fn to_heapless<const N: usize>(&self) -> Result<heapless::Vec<u8, N>, Error> {
        self.to_heapless_with(LengthForm::Auto)
    }

    /// Encodes into a `heapless::Vec` of capacity `N` with the given length form.
    ///
    /// # Errors
    /// As [`Self::encode_with`]; [`Error::BufferTooSmall`] when `N` is too small.
    pub fn to_heapless_with<const N: usize>(
        &self,
        form: LengthForm,
    ) -> Result<heapless::Vec<u8, N>, Error> {
        let len = self.encoded_len_with(form)?;
        let mut v = heapless::Vec::<u8, N>::new();
        v.resize_default(len)
            .map_err(|_| Error::BufferTooSmall { needed: len })?;
        self.encode_with(form, &mut v)?;
        Ok(v)
    }

    /// Encodes into a new `Vec` (feature `alloc`).
    ///
    /// # Errors
    /// [`Error::DataTooLong`] or [`Error::NeTooLarge`].
    #[cfg(feature = "alloc")]
    pub fn to_vec(&self) -> Result<alloc::vec::Vec<u8>, Error> {
        self.to_vec_with(LengthForm::Auto)
    }

    /// Encodes into a new `Vec` with the given length form (feature `alloc`).
    ///
    /// # Errors
    /// As [`Self::encode_with`].
    #[cfg(feature = "alloc")]
    pub fn to_vec_with(&self, form: LengthForm) -> Result<alloc::vec::Vec<u8>, Error> {
        let len = self.encoded_len_with(form)?;
        let mut v = alloc::vec![0u8; len];
        self.encode_with(form, &mut v)?;
        Ok(v)
    }
}

/// Copies `src` into `dst`, which has the same length. The short data fields most commands
/// carry (an AID, a PIN block, a key reference: up to 16 bytes) go as two overlapping word
/// moves, without the call into `memcpy` that `copy_from_slice` makes for a length only known
/// at run time (a third of the time of encoding a case 4 SELECT); longer ones use it. The
/// encoder passes slices of equal length (it sized `dst` from `src`); any other pair goes to
/// `copy_from_slice`, which checks the lengths.
#[inline(always)]
fn copy_data(dst: &mut [u8], src: &[u8]) {
    let n = src.len();
    if n != dst.len() || n > 16 {
        dst.copy_from_slice(src);
    } else if n >= 8 {
        copy_overlapping::<8>(dst, src);
    } else if n >= 4 {
        copy_overlapping::<4>(dst, src);
    } else if n > 0 {
        // 1 to 3 bytes: the first, the middle and the last (some of them the same byte).
        for i in [0, n / 2, n - 1] {
            if let (Some(d), Some(s)) = (dst.get_mut(i), src.get(i)) {
                *d = *s;
            }
        }
    }
}

/// Copies `src` (`W` to `2 W` bytes) into `dst` (the same length) as its first and its last
/// `W` bytes, which overlap when it is shorter than `2 W`.
#[inline(always)]
fn copy_overlapping<const W: usize>(dst: &mut [u8], src: &[u8]) {
    if let (Some(&head), Some(&tail)) = (src.first_chunk::<W>(), src.last_chunk::<W>()) {
        if let Some(d) = dst.first_chunk_mut::<W>() {
            *d = head;
        }
        if let Some(d) = dst.last_chunk_mut::<W>() {
            *d = tail;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec;

    // Vectors: ISO/IEC 7816-3 §12.1.3 case rules; SELECT MF (7816-4 §11.2.2).
    const CASE1: &[u8] = &[0x00, 0xA4, 0x00, 0x00];
    const CASE2S: &[u8] = &[0x00, 0xB0, 0x00, 0x00, 0x00];
    const CASE3S: &[u8] = &[0x00, 0xA4, 0x00, 0x0C, 0x02, 0x3F, 0x00];
    const CASE4S: &[u8] = &[0x00, 0xA4, 0x04, 0x00, 0x02, 0x3F, 0x00, 0xFF];
    const CASE2E: &[u8] = &[0x00, 0xB0, 0x00, 0x00, 0x00, 0x00, 0x00];
    const CASE3E: &[u8] = &[0x00, 0xD6, 0x00, 0x00, 0x00, 0x00, 0x02, 0xAA, 0xBB];
    const CASE4E: &[u8] = &[0x00, 0x2A, 0x9E, 0x9A, 0x00, 0x00, 0x01, 0x55, 0x01, 0x02];

    #[test]
    fn seven_cases_parse() {
        let c = Command::new_checked(CASE1).unwrap();
        assert_eq!((c.case(), c.nc(), c.ne()), (Case::Case1, 0, 0));
        let c = Command::new_checked(CASE2S).unwrap();
        assert_eq!((c.case(), c.nc(), c.ne()), (Case::Case2Short, 0, 256));
        let c = Command::new_checked(CASE3S).unwrap();
        assert_eq!((c.case(), c.data()), (Case::Case3Short, &[0x3F, 0x00][..]));
        assert_eq!(c.ne(), 0);
        let c = Command::new_checked(CASE4S).unwrap();
        assert_eq!((c.case(), c.nc(), c.ne()), (Case::Case4Short, 2, 255));
        let c = Command::new_checked(CASE2E).unwrap();
        assert_eq!((c.case(), c.ne()), (Case::Case2Extended, 65_536));
        let c = Command::new_checked(CASE3E).unwrap();
        assert_eq!(
            (c.case(), c.data()),
            (Case::Case3Extended, &[0xAA, 0xBB][..])
        );
        let c = Command::new_checked(CASE4E).unwrap();
        assert_eq!(
            (c.case(), c.data(), c.ne()),
            (Case::Case4Extended, &[0x55][..], 0x0102)
        );
    }

    #[test]
    fn extended_lengths_are_big_endian() {
        // Lc 0x0100 = 256 data bytes; a little-endian reader would see 1.
        let mut apdu = vec![0x00, 0xD6, 0x00, 0x00, 0x00, 0x01, 0x00];
        apdu.extend(core::iter::repeat_n(0x5A, 256));
        apdu.extend([0x01, 0x00]);
        let c = Command::new_checked(&apdu[..]).unwrap();
        assert_eq!((c.case(), c.nc(), c.ne()), (Case::Case4Extended, 256, 256));
    }

    #[test]
    fn malformed_commands_are_rejected() {
        assert_eq!(
            Command::new_checked(&[0x00, 0xA4, 0x00][..]).unwrap_err(),
            Error::Truncated {
                offset: 3,
                needed: 1
            }
        );
        // Lc 03 with two data bytes.
        assert_eq!(
            Command::new_checked(&[0, 0xA4, 0, 0, 3, 1, 2][..]).unwrap_err(),
            Error::Truncated {
                offset: 7,
                needed: 1
            }
        );
        // Lc 01, one data byte, Le, and one byte too many.
        assert_eq!(
            Command::new_checked(&[0, 0xA4, 0, 0, 1, 1, 0, 0][..]).unwrap_err(),
            Error::TrailingBytes { offset: 7 }
        );
        // Extended marker with one byte.
        assert_eq!(
            Command::new_checked(&[0, 0xB0, 0, 0, 0, 1][..]).unwrap_err(),
            Error::Truncated {
                offset: 6,
                needed: 1
            }
        );
        // Extended Lc 0000 with data.
        assert_eq!(
            Command::new_checked(&[0, 0xD6, 0, 0, 0, 0, 0, 1][..]).unwrap_err(),
            Error::ExtendedLcZero { offset: 5 }
        );
        // Extended Lc with half an Le.
        assert_eq!(
            Command::new_checked(&[0, 0xD6, 0, 0, 0, 0, 1, 9, 0][..]).unwrap_err(),
            Error::Truncated {
                offset: 9,
                needed: 1
            }
        );
        // Extended with trailing bytes.
        assert_eq!(
            Command::new_checked(&[0, 0xD6, 0, 0, 0, 0, 1, 9, 0, 0, 0][..]).unwrap_err(),
            Error::TrailingBytes { offset: 10 }
        );
    }

    #[test]
    fn every_case_round_trips() {
        for bytes in [CASE1, CASE2S, CASE3S, CASE4S, CASE2E, CASE3E, CASE4E] {
            let repr = CommandRepr::parse(bytes).unwrap();
            let form = if Command::new_checked(bytes).unwrap().case().is_extended() {
                LengthForm::Extended
            } else {
                LengthForm::Auto
            };
            let mut out = [0u8; 32];
            assert_eq!(repr.encode_with(form, &mut out).unwrap(), bytes);
        }
    }

    #[test]
    fn auto_form_switches_to_extended() {
        let data = [0u8; 256];
        let repr = CommandRepr::new(Cla(0), Ins::UPDATE_BINARY, 0, 0).with_data(&data);
        assert_eq!(repr.case().unwrap(), Case::Case3Extended);
        assert_eq!(repr.encoded_len(), 4 + 3 + 256);
        let repr = CommandRepr::new(Cla(0), Ins::READ_BINARY, 0, 0).with_ne(257);
        let mut out = [0u8; 7];
        assert_eq!(
            repr.encode(&mut out).unwrap(),
            &[0, 0xB0, 0, 0, 0, 0x01, 0x01]
        );
        assert_eq!(
            repr.encode_with(LengthForm::Short, &mut out),
            Err(Error::NeedsExtended)
        );
        let repr = repr.with_ne(65_536);
        assert_eq!(repr.encode(&mut out).unwrap(), &[0, 0xB0, 0, 0, 0, 0, 0]);
        assert_eq!(
            repr.with_ne(65_537).encode(&mut out),
            Err(Error::NeTooLarge { ne: 65_537 })
        );
        assert_eq!(
            repr.encode(&mut [0u8; 6]),
            Err(Error::BufferTooSmall { needed: 7 })
        );
    }

    #[test]
    fn heapless_and_vec_outputs() {
        let repr = CommandRepr::parse(CASE4S).unwrap();
        let v: heapless::Vec<u8, 16> = repr.to_heapless().unwrap();
        assert_eq!(&v[..], CASE4S);
        assert!(repr.to_heapless::<4>().is_err());
        #[cfg(feature = "alloc")]
        assert_eq!(repr.to_vec().unwrap(), CASE4S);
    }

    #[test]
    fn writer_output_matches_slice_output() {
        for bytes in [CASE1, CASE2S, CASE3S, CASE4S, CASE2E, CASE3E, CASE4E] {
            let repr = CommandRepr::parse(bytes).unwrap();
            let form = if Command::new_checked(bytes).unwrap().case().is_extended() {
                LengthForm::Extended
            } else {
                LengthForm::Auto
            };
            let mut buf = [0u8; 32];
            let mut w = cardwire_tlv::SliceWriter::new(&mut buf);
            repr.write_to(form, &mut w).unwrap();
            assert_eq!(w.written(), bytes);
            let mut small = [0u8; 3];
            let mut w = cardwire_tlv::SliceWriter::new(&mut small);
            assert!(matches!(
                repr.write_to(form, &mut w),
                Err(Error::BufferTooSmall { .. })
            ));
        }
    }

    #[test]
    fn short_data_copies_match_copy_from_slice_at_every_length() {
        // Every length the word moves cover (0 to 16) and a few past them, over distinct bytes,
        // into a buffer of a different fill.
        for n in 0..=40usize {
            let src: std::vec::Vec<u8> =
                (0..n).map(|i| (i as u8).wrapping_mul(37) ^ 0x5A).collect();
            let mut dst = vec![0xEEu8; n];
            copy_data(&mut dst, &src);
            assert_eq!(dst, src, "length {n}");
        }
        // Through the encoder: a case 4 SELECT with each data length from 1 to 17.
        for n in 1..=17usize {
            let data: std::vec::Vec<u8> = (0..n).map(|i| 0xA0 ^ i as u8).collect();
            let mut out = [0u8; 32];
            let repr = CommandRepr {
                cla: Cla(0x00),
                ins: Ins(0xA4),
                p1: 0x04,
                p2: 0x00,
                data: &data,
                ne: 256,
            };
            let wire = repr.encode(&mut out).unwrap();
            let mut expected = vec![0x00, 0xA4, 0x04, 0x00, n as u8];
            expected.extend_from_slice(&data);
            expected.push(0x00);
            assert_eq!(wire, &expected[..], "case 4 with {n} bytes");
        }
    }
}
