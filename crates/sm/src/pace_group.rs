//! The groups PACE and chip authentication compute in (ICAO Doc 9303-11 §9.5.1, BSI
//! TR-03110-3 §A.2.1.1 "Standardized Domain Parameters"): elliptic curves from RustCrypto and
//! the RFC 5114 MODP groups with `crypto-bigint`'s constant-time modular exponentiation.
//!
//! | ID | Domain parameters | Here |
//! |----|-------------------|------|
//! | 0 | 1024-bit MODP group with 160-bit prime order subgroup (RFC 5114 §2.1) | [`DhGroup::Modp1024_160`] |
//! | 1 | 2048-bit MODP group with 224-bit prime order subgroup (RFC 5114 §2.2) | [`DhGroup::Modp2048_224`] |
//! | 2 | 2048-bit MODP group with 256-bit prime order subgroup (RFC 5114 §2.3) | [`DhGroup::Modp2048_256`] |
//! | 8–11 | NIST P-192, brainpoolP192r1, NIST P-224, brainpoolP224r1 | not supported (no RustCrypto arithmetic) |
//! | 12 | NIST P-256 (secp256r1) | [`PaceCurve::NistP256`] (`p256`) |
//! | 13 | brainpoolP256r1 | [`PaceCurve::BrainpoolP256r1`] (`bp256`) |
//! | 14 | brainpoolP320r1 | not supported |
//! | 15 | NIST P-384 (secp384r1) | [`PaceCurve::NistP384`] (`p384`) |
//! | 16 | brainpoolP384r1 | [`PaceCurve::BrainpoolP384r1`] (`bp384`) |
//! | 17 | brainpoolP512r1 | not supported |
//! | 18 | NIST P-521 (secp521r1) | [`PaceCurve::NistP521`] (`p521`) |
//!
//! Public values are checked before use: a point must be on its curve and not the identity
//! (RustCrypto's SEC1 decoding; the curves here have cofactor 1); a DH public value y must
//! satisfy 1 < y < p − 1 and y^q ≡ 1 (mod p), i.e. lie in the prime order subgroup (BSI
//! TR-03110-3 §A.2.2 / NIST SP 800-56A §5.6.2.3.1).

use crypto_bigint::modular::{FixedMontyForm, FixedMontyParams};
use crypto_bigint::{NonZero, Odd, U256, U2048, U4096};
use elliptic_curve::point::AffinePoint;
use elliptic_curve::sec1::{FromSec1Point, ModulusSize, ToSec1Point};
use elliptic_curve::{
    CurveArithmetic, Field, FieldBytes, FieldBytesSize, Group, PrimeField, ProjectivePoint, Scalar,
};
use subtle::{ConditionallySelectable, ConstantTimeEq};
use zeroize::Zeroize;

use crate::Error;
use crate::pace::PaceCurve;
use crate::primitives::AesKey;
use crate::security_infos::ParameterId;

/// The longest public value: a 2048-bit DH value (an uncompressed P-521 point is 133 bytes).
pub const MAX_PUBLIC_LEN: usize = 256;
/// The longest private key: a P-521 scalar (66 bytes).
pub const MAX_PRIVATE_LEN: usize = 66;
/// The longest field element (P-521).
const MAX_FIELD_LEN: usize = 66;

/// A public key, a point or a DH value, of up to [`MAX_PUBLIC_LEN`] bytes: an uncompressed
/// point `04 ‖ x ‖ y`, or a DH value as an octet string of the length of p.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct GroupElement {
    bytes: [u8; MAX_PUBLIC_LEN],
    len: usize,
}

impl GroupElement {
    /// The empty element (before a step computed it).
    pub(crate) const EMPTY: GroupElement = GroupElement {
        bytes: [0; MAX_PUBLIC_LEN],
        len: 0,
    };

    /// Copies an encoding of up to [`MAX_PUBLIC_LEN`] bytes (not checked against a group).
    ///
    /// # Errors
    /// [`Error::KeyLength`] for a longer one.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, Error> {
        let mut e = Self::EMPTY;
        e.bytes
            .get_mut(..bytes.len())
            .ok_or(Error::KeyLength { len: bytes.len() })?
            .copy_from_slice(bytes);
        e.len = bytes.len();
        Ok(e)
    }

    /// The encoding.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&[])
    }

    /// The whole buffer (the encoding then zeros).
    pub(crate) fn buffer(&self) -> &[u8; MAX_PUBLIC_LEN] {
        &self.bytes
    }

    /// Whether nothing was stored yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Zeroize for GroupElement {
    fn zeroize(&mut self) {
        self.bytes.zeroize();
        self.len = 0;
    }
}

impl core::fmt::Debug for GroupElement {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "GroupElement({} bytes)", self.len)
    }
}

/// A private key of up to [`MAX_PRIVATE_LEN`] big-endian bytes; zeroized on drop, redacted in
/// `Debug`.
#[derive(Clone)]
pub(crate) struct PrivateKey {
    bytes: [u8; MAX_PRIVATE_LEN],
    len: usize,
}

impl PrivateKey {
    pub(crate) fn from_slice(bytes: &[u8]) -> Result<Self, Error> {
        let mut k = Self {
            bytes: [0; MAX_PRIVATE_LEN],
            len: bytes.len(),
        };
        k.bytes
            .get_mut(..bytes.len())
            .ok_or(Error::KeyLength { len: bytes.len() })?
            .copy_from_slice(bytes);
        Ok(k)
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&[])
    }
}

impl Drop for PrivateKey {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

/// The group a PACE run (or chip authentication) computes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaceDomain {
    /// ECDH on an elliptic curve.
    Ec(PaceCurve),
    /// DH in a MODP group.
    Dh(DhGroup),
}

impl PaceDomain {
    /// The domain for standardized domain parameters (see the [module table](self)), if
    /// supported.
    pub fn from_parameter_id(id: ParameterId) -> Option<Self> {
        DhGroup::from_parameter_id(id)
            .map(PaceDomain::Dh)
            .or_else(|| PaceCurve::from_parameter_id(id).map(PaceDomain::Ec))
    }

    /// The length of a private key in bytes (of the group order).
    pub fn private_key_len(self) -> usize {
        match self {
            PaceDomain::Ec(c) => c.field_len(),
            PaceDomain::Dh(g) => g.order_len(),
        }
    }

    /// The mask for the first byte of a random private key, so rejection sampling in
    /// `1..n` rarely rejects (P-521's order has 521 bits: mask `01`).
    pub fn private_key_mask(self) -> u8 {
        match self {
            PaceDomain::Ec(PaceCurve::NistP521) => 0x01,
            _ => 0xFF,
        }
    }

    /// Whether `k` (big-endian, at most [`private_key_len`](Self::private_key_len) bytes) is
    /// a valid private key, 1 ≤ k < order.
    pub fn is_valid_private_key(self, k: &[u8]) -> bool {
        match self {
            PaceDomain::Ec(c) => c.is_valid_private_key_bytes(k),
            PaceDomain::Dh(g) => g.is_valid_private_key(k),
        }
    }

    /// The public key k · G or g^k.
    ///
    /// # Errors
    /// [`Error::KeyLength`] for an invalid private key.
    pub fn public_key(self, k: &[u8]) -> Result<GroupElement, Error> {
        match self {
            PaceDomain::Ec(c) => c.mul_any(k, None),
            PaceDomain::Dh(g) => g.pow(None, k),
        }
    }

    /// k · P or y^k for the other side's (checked) public key: the whole point (PACE-GM's
    /// H) or the DH value, of the length of p.
    ///
    /// # Errors
    /// [`Error::AuthenticationFailed`] for a public key outside the group;
    /// [`Error::KeyLength`] for an invalid private key.
    pub fn agree(self, k: &[u8], public: &[u8]) -> Result<GroupElement, Error> {
        match self {
            PaceDomain::Ec(c) => c.mul_any(k, Some(public)),
            PaceDomain::Dh(g) => g.pow(Some(public), k),
        }
    }

    /// The shared secret K of ICAO 9303-11 §9.4.1 from [`agree`](Self::agree)'s result: the
    /// x-coordinate for ECDH, the whole value for DH.
    pub fn shared_secret(self, agreed: &GroupElement) -> &[u8] {
        match self {
            PaceDomain::Ec(c) => agreed.as_bytes().get(1..1 + c.field_len()).unwrap_or(&[]),
            PaceDomain::Dh(_) => agreed.as_bytes(),
        }
    }

    /// The Generic Mapping's new generator (ICAO 9303-11 §4.4.3.3.1): Ĝ = s · G + H, or
    /// ĝ = g^s · h mod p.
    ///
    /// # Errors
    /// [`Error::AuthenticationFailed`] for an H outside the group or an identity result.
    pub fn map_generic(self, s: &[u8], h: &[u8]) -> Result<GroupElement, Error> {
        match self {
            PaceDomain::Ec(c) => c.map_any(s, h),
            PaceDomain::Dh(g) => g.map(s, h),
        }
    }

    /// k · Ĝ or ĝ^k for a generator `generator` (from [`map_generic`](Self::map_generic)).
    ///
    /// # Errors
    /// As [`agree`](Self::agree).
    pub fn public_key_on(self, k: &[u8], generator: &[u8]) -> Result<GroupElement, Error> {
        self.agree(k, generator)
    }

    /// The public key data object tag of ICAO 9303-11 §9.4.2 / BSI TR-03110-3 §D.3: `86`
    /// (EC point) or `84` (DH value).
    pub fn public_key_tag(self) -> u8 {
        match self {
            PaceDomain::Ec(_) => 0x86,
            PaceDomain::Dh(_) => 0x84,
        }
    }

    /// The public key as it goes into the authentication token: the point as is, or the DH
    /// value as an unsigned integer without leading zeros (TR-03110-3 §D.2.1.1).
    pub fn token_public_key(self, public: &[u8]) -> &[u8] {
        match self {
            PaceDomain::Ec(_) => public,
            PaceDomain::Dh(_) => {
                let skip = public.iter().take_while(|b| **b == 0).count();
                public.get(skip..).unwrap_or(&[])
            }
        }
    }
}

/// Dispatches a generic function on a [`PaceCurve`]'s RustCrypto type.
macro_rules! on_curve {
    ($curve:expr, $f:ident ( $($arg:expr),* )) => {
        match $curve {
            PaceCurve::NistP256 => $f::<p256::NistP256>($($arg),*),
            PaceCurve::BrainpoolP256r1 => $f::<bp256::BrainpoolP256r1>($($arg),*),
            PaceCurve::NistP384 => $f::<p384::NistP384>($($arg),*),
            PaceCurve::BrainpoolP384r1 => $f::<bp384::BrainpoolP384r1>($($arg),*),
            PaceCurve::NistP521 => $f::<p521::NistP521>($($arg),*),
        }
    };
}

impl PaceCurve {
    /// The length of a field element (and a private key) in bytes: 32, 48 or 66.
    pub fn field_len(self) -> usize {
        match self {
            PaceCurve::NistP256 | PaceCurve::BrainpoolP256r1 => 32,
            PaceCurve::NistP384 | PaceCurve::BrainpoolP384r1 => 48,
            PaceCurve::NistP521 => 66,
        }
    }

    /// The length of an uncompressed point: 1 + 2 × [`field_len`](Self::field_len).
    pub fn point_len(self) -> usize {
        1 + 2 * self.field_len()
    }

    /// Whether `k` (at most [`field_len`](Self::field_len) bytes) is a valid private key,
    /// 1 ≤ k < n.
    pub fn is_valid_private_key_bytes(self, k: &[u8]) -> bool {
        on_curve!(self, ec_valid_private(k))
    }

    /// k · P (P = the generator when `point` is `None`), uncompressed, on any curve.
    ///
    /// # Errors
    /// [`Error::KeyLength`] for an invalid k; [`Error::AuthenticationFailed`] for a point
    /// not on the curve.
    pub(crate) fn mul_any(self, k: &[u8], point: Option<&[u8]>) -> Result<GroupElement, Error> {
        on_curve!(self, ec_mul(k, point))
    }

    /// Ĝ = s · G + H.
    pub(crate) fn map_any(self, s: &[u8], h: &[u8]) -> Result<GroupElement, Error> {
        on_curve!(self, ec_map(s, h))
    }
}

fn field_len<C: CurveArithmetic>() -> usize {
    FieldBytes::<C>::default().len()
}

/// A scalar from up to a field's length of big-endian bytes (left-padded), below the order.
fn ec_scalar<C: CurveArithmetic>(bytes: &[u8]) -> Result<Scalar<C>, Error> {
    let n = field_len::<C>();
    let err = Error::KeyLength { len: bytes.len() };
    let start = n.checked_sub(bytes.len()).ok_or(err)?;
    let mut padded = [0u8; MAX_FIELD_LEN];
    padded.get_mut(start..n).ok_or(err)?.copy_from_slice(bytes);
    let repr = FieldBytes::<C>::try_from(padded.get(..n).unwrap_or(&[])).map_err(|_| err);
    padded.zeroize();
    let s: Option<Scalar<C>> = Scalar::<C>::from_repr(repr?).into();
    s.ok_or(err)
}

fn ec_valid_private<C: CurveArithmetic>(bytes: &[u8]) -> bool {
    private_scalar::<C>(bytes).is_ok()
}

/// A private key: a scalar that is not zero.
pub(crate) fn private_scalar<C: CurveArithmetic>(bytes: &[u8]) -> Result<Scalar<C>, Error> {
    let s = ec_scalar::<C>(bytes)?;
    if bool::from(s.is_zero()) {
        return Err(Error::KeyLength { len: bytes.len() });
    }
    Ok(s)
}

/// A point from its uncompressed encoding (on the curve, not the identity).
fn ec_point<C>(bytes: &[u8]) -> Result<ProjectivePoint<C>, Error>
where
    C: CurveArithmetic,
    AffinePoint<C>: FromSec1Point<C>,
    FieldBytesSize<C>: ModulusSize,
{
    if bytes.len() != 1 + 2 * field_len::<C>() || bytes.first() != Some(&0x04) {
        return Err(Error::AuthenticationFailed);
    }
    let a = AffinePoint::<C>::from_sec1_bytes(bytes).map_err(|_| Error::AuthenticationFailed)?;
    let p = ProjectivePoint::<C>::from(a);
    if bool::from(p.is_identity()) {
        return Err(Error::AuthenticationFailed);
    }
    Ok(p)
}

fn ec_encode<C>(p: &ProjectivePoint<C>) -> Result<GroupElement, Error>
where
    C: CurveArithmetic,
    AffinePoint<C>: ToSec1Point<C>,
    FieldBytesSize<C>: ModulusSize,
{
    if bool::from(p.is_identity()) {
        return Err(Error::AuthenticationFailed);
    }
    let a: AffinePoint<C> = (*p).into();
    GroupElement::from_slice(a.to_sec1_point(false).as_bytes())
}

fn ec_mul<C>(k: &[u8], base: Option<&[u8]>) -> Result<GroupElement, Error>
where
    C: CurveArithmetic,
    AffinePoint<C>: FromSec1Point<C> + ToSec1Point<C>,
    FieldBytesSize<C>: ModulusSize,
{
    let k = private_scalar::<C>(k)?;
    let base = match base {
        Some(b) => ec_point::<C>(b)?,
        None => ProjectivePoint::<C>::generator(),
    };
    ec_encode::<C>(&(base * k))
}

fn ec_map<C>(s: &[u8], h: &[u8]) -> Result<GroupElement, Error>
where
    C: CurveArithmetic,
    AffinePoint<C>: FromSec1Point<C> + ToSec1Point<C>,
    FieldBytesSize<C>: ModulusSize,
{
    let s = ec_scalar::<C>(s).map_err(|_| Error::AuthenticationFailed)?;
    let h = ec_point::<C>(h)?;
    ec_encode::<C>(&(ProjectivePoint::<C>::generator() * s + h))
}

/// A standardized MODP group (RFC 5114 §2.1–§2.3; PACE parameter IDs 0–2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DhGroup {
    /// 1024-bit MODP group with 160-bit prime order subgroup (ID 0, RFC 5114 §2.1).
    Modp1024_160,
    /// 2048-bit MODP group with 224-bit prime order subgroup (ID 1, RFC 5114 §2.2).
    Modp2048_224,
    /// 2048-bit MODP group with 256-bit prime order subgroup (ID 2, RFC 5114 §2.3).
    Modp2048_256,
}

/// The limbs of a 2048-bit integer (every group here fits).
const LIMBS: usize = U2048::LIMBS;
/// The bit bound of every exponent here (private keys, nonces, q are at most 256 bits).
const EXP_BITS: u32 = 256;

impl DhGroup {
    /// The group for standardized domain parameters 0–2.
    pub fn from_parameter_id(id: ParameterId) -> Option<Self> {
        match id {
            ParameterId::MODP_1024_160 => Some(DhGroup::Modp1024_160),
            ParameterId::MODP_2048_224 => Some(DhGroup::Modp2048_224),
            ParameterId::MODP_2048_256 => Some(DhGroup::Modp2048_256),
            _ => None,
        }
    }

    fn params(self) -> (&'static [u8], &'static [u8], &'static [u8]) {
        match self {
            DhGroup::Modp1024_160 => (&MODP_1024_160_P, &MODP_1024_160_G, &MODP_1024_160_Q),
            DhGroup::Modp2048_224 => (&MODP_2048_224_P, &MODP_2048_224_G, &MODP_2048_224_Q),
            DhGroup::Modp2048_256 => (&MODP_2048_256_P, &MODP_2048_256_G, &MODP_2048_256_Q),
        }
    }

    /// The prime p, big-endian.
    pub fn prime(self) -> &'static [u8] {
        self.params().0
    }

    /// The length of p in bytes (128 or 256): the length of public values and of K.
    pub fn modulus_len(self) -> usize {
        self.params().0.len()
    }

    /// The length of q in bytes (20, 28 or 32): the length of private keys.
    pub fn order_len(self) -> usize {
        self.params().2.len()
    }

    /// Whether 1 ≤ x < q.
    pub fn is_valid_private_key(self, x: &[u8]) -> bool {
        let q = self.params().2;
        match (exponent(x), exponent(q)) {
            (Some(x), Some(q)) => x != U256::ZERO && x < q,
            _ => false,
        }
    }

    fn monty(self) -> Result<FixedMontyParams<LIMBS>, Error> {
        let p = wide(self.params().0).ok_or(Error::UnsupportedProtocol)?;
        let p = Odd::new(p)
            .into_option()
            .ok_or(Error::UnsupportedProtocol)?;
        Ok(FixedMontyParams::new_vartime(p))
    }

    /// y as a checked public value: 1 < y < p − 1 and y^q ≡ 1 (mod p).
    fn checked(
        self,
        y: &[u8],
        m: &FixedMontyParams<LIMBS>,
    ) -> Result<FixedMontyForm<LIMBS>, Error> {
        let (p, _, q) = self.params();
        if y.len() > p.len() {
            return Err(Error::AuthenticationFailed);
        }
        let y = wide(y).ok_or(Error::AuthenticationFailed)?;
        let p = wide(p).ok_or(Error::UnsupportedProtocol)?;
        let p_minus_1 = p.wrapping_sub(&U2048::ONE);
        if y <= U2048::ONE || y >= p_minus_1 {
            return Err(Error::AuthenticationFailed);
        }
        let y = FixedMontyForm::new(&y, m);
        let q = exponent(q).ok_or(Error::UnsupportedProtocol)?;
        if y.pow_vartime(&q).retrieve() != U2048::ONE {
            return Err(Error::AuthenticationFailed);
        }
        Ok(y)
    }

    /// base^x mod p (base = g when `None`, else a checked public value), as an octet string
    /// of the length of p.
    fn pow(self, base: Option<&[u8]>, x: &[u8]) -> Result<GroupElement, Error> {
        if !self.is_valid_private_key(x) {
            return Err(Error::KeyLength { len: x.len() });
        }
        let m = self.monty()?;
        let base = match base {
            Some(y) => self.checked(y, &m)?,
            None => FixedMontyForm::new(
                &wide(self.params().1).ok_or(Error::UnsupportedProtocol)?,
                &m,
            ),
        };
        let mut e = exponent(x).ok_or(Error::KeyLength { len: x.len() })?;
        let r = base.pow_bounded_exp(&e, EXP_BITS).retrieve();
        e.zeroize();
        self.encode(&r)
    }

    /// ĝ = g^s · h mod p (ICAO 9303-11 §4.4.3.3.1), h a checked public value.
    fn map(self, s: &[u8], h: &[u8]) -> Result<GroupElement, Error> {
        let m = self.monty()?;
        let h = self.checked(h, &m)?;
        let g = FixedMontyForm::new(
            &wide(self.params().1).ok_or(Error::UnsupportedProtocol)?,
            &m,
        );
        let mut e = exponent(s).ok_or(Error::AuthenticationFailed)?;
        let r = (g.pow_bounded_exp(&e, EXP_BITS) * h).retrieve();
        e.zeroize();
        if r == U2048::ONE {
            return Err(Error::AuthenticationFailed);
        }
        self.encode(&r)
    }

    fn encode(self, r: &U2048) -> Result<GroupElement, Error> {
        let bytes = r.to_be_bytes();
        let all: &[u8] = bytes.as_ref();
        let start = all.len() - self.modulus_len();
        GroupElement::from_slice(all.get(start..).unwrap_or(&[]))
    }
}

/// The constants c0 and c1 of the Integrated Mapping's pseudo-random function for AES with
/// 128-bit blocks (ICAO Doc 9303-11 §4.4.3.3.2, BSI TR-03110-3 §A.3.4.2).
const IM_C0_128: [u8; 16] = [
    0xA6, 0x68, 0x89, 0x2A, 0x7C, 0x41, 0xE3, 0xCA, 0x73, 0x9F, 0x40, 0xB0, 0x57, 0xD8, 0x59, 0x04,
];
const IM_C1_128: [u8; 16] = [
    0xA4, 0xE1, 0x36, 0xAC, 0x72, 0x5F, 0x73, 0x8B, 0x01, 0xC1, 0xF6, 0x02, 0x17, 0xC1, 0x88, 0xAD,
];

impl DhGroup {
    /// The Integrated Mapping for DH with AES-128 (ICAO Doc 9303-11 §4.4.3.3.2): x = R(s, t),
    /// the pseudo-random function built from AES (k₀ = E(t, s); for i = 0…n−1: xᵢ =
    /// E(kᵢ, c1), kᵢ₊₁ = E(kᵢ, c0); n = ⌈(|p| + 64) / 128⌉), then ĝ = (x mod p)^((p−1)/q)
    /// mod p. `s` is the chip's nonce and `t` the terminal's, 16 bytes each.
    ///
    /// # Errors
    /// [`Error::KeyLength`] for nonces that are not 16 bytes; [`Error::AuthenticationFailed`]
    /// when ĝ is 1.
    pub fn integrated_map(self, s: &[u8], t: &[u8]) -> Result<GroupElement, Error> {
        if s.len() != 16 || t.len() != 16 {
            return Err(Error::KeyLength { len: s.len() });
        }
        let mut x = [0u8; 512];
        let n = pseudo_random(s, t, 8 * self.modulus_len(), &mut x)?;
        let mut padded = [0u8; 512];
        let start = padded.len() - n;
        padded
            .get_mut(start..)
            .unwrap_or(&mut [])
            .copy_from_slice(x.get(..n).unwrap_or(&[]));
        x.zeroize();
        let mut x = padded;
        let r = U4096::from_be_slice(&x);
        x.zeroize();
        let (p, _, q) = self.params();
        let p = wide(p).ok_or(Error::UnsupportedProtocol)?;
        let q = wide(q).ok_or(Error::UnsupportedProtocol)?;
        let p_nz = NonZero::new(p)
            .into_option()
            .ok_or(Error::UnsupportedProtocol)?;
        let q_nz = NonZero::new(q)
            .into_option()
            .ok_or(Error::UnsupportedProtocol)?;
        let mut reduced: U2048 = r.rem_vartime(&p_nz);
        // j = (p − 1) / q is public: exponentiation variable-time in it only.
        let (j, _) = p.wrapping_sub(&U2048::ONE).div_rem_vartime(&q_nz);
        let m = self.monty()?;
        let g = FixedMontyForm::new(&reduced, &m).pow_vartime(&j).retrieve();
        reduced.zeroize();
        if g <= U2048::ONE {
            return Err(Error::AuthenticationFailed);
        }
        self.encode(&g)
    }
}

/// The Integrated Mapping's pseudo-random function R(s, t) for AES-128 (ICAO Doc 9303-11
/// §4.4.3.3.2, BSI TR-03110-3 §A.3.4.2): k₀ = E(t, s); for i = 0…n−1: xᵢ = E(kᵢ, c1),
/// kᵢ₊₁ = E(kᵢ, c0); n = ⌈(`p_bits` + 64) / 128⌉. Writes x₀ ‖ … ‖ xₙ₋₁ to `out` and returns
/// its length (16·n).
fn pseudo_random(s: &[u8], t: &[u8], p_bits: usize, out: &mut [u8]) -> Result<usize, Error> {
    if s.len() != 16 || t.len() != 16 {
        return Err(Error::KeyLength { len: s.len() });
    }
    let n = 16 * (p_bits + 64).div_ceil(128);
    let out = out
        .get_mut(..n)
        .ok_or(Error::BufferTooSmall { needed: n })?;
    let mut k = [0u8; 16];
    k.copy_from_slice(s);
    AesKey::new(t)?.encrypt_block(&mut k)?;
    for block in out.chunks_exact_mut(16) {
        let key = AesKey::new(&k)?;
        block.copy_from_slice(&IM_C1_128);
        key.encrypt_block(block)?;
        k = IM_C0_128;
        key.encrypt_block(&mut k)?;
    }
    k.zeroize();
    Ok(n)
}

impl PaceCurve {
    /// The Integrated Mapping for ECDH with AES-128 (ICAO Doc 9303-11 §4.4.3.3.2): Ĝ =
    /// f_G(R(s, t) mod p), R the pseudo-random function of the DH case and f_G the point
    /// encoding of Appendix B to Part 11 (BSI TR-03111 §3.3 / Icart–Brier et al., for
    /// p ≡ 3 mod 4, which holds for every curve here). `s` is the chip's nonce and `t` the
    /// terminal's, 16 bytes each. The field arithmetic is the curve crate's own
    /// (`primeorder`'s field element).
    ///
    /// # Errors
    /// [`Error::KeyLength`] for nonces that are not 16 bytes; [`Error::AuthenticationFailed`]
    /// in the negligible case that the encoding meets a zero denominator.
    pub fn integrated_map(self, s: &[u8], t: &[u8]) -> Result<GroupElement, Error> {
        on_curve!(self, ec_integrated_map(s, t))
    }
}

/// The 64-bit limbs (little-endian) of a big-endian number of up to 72 bytes.
fn limbs(be: &[u8]) -> [u64; 9] {
    let mut out = [0u64; 9];
    for (i, b) in be.iter().rev().enumerate() {
        if let Some(limb) = out.get_mut(i / 8) {
            *limb |= u64::from(*b) << (8 * (i % 8));
        }
    }
    out
}

/// The exponent p − 1 − (p + 1)/4 of the point encoding, from p − 1 (public).
fn encoding_exponent(p_minus_1: &[u8]) -> [u64; 9] {
    let pm1 = limbs(p_minus_1);
    // q = ((p − 1) + 2) / 4
    let mut q = [0u64; 9];
    let mut carry = 2u128;
    for (dst, src) in q.iter_mut().zip(pm1.iter()) {
        let v = u128::from(*src) + carry;
        *dst = v as u64;
        carry = v >> 64;
    }
    for i in 0..9 {
        let hi = q.get(i + 1).copied().unwrap_or(0);
        if let Some(limb) = q.get_mut(i) {
            *limb = (*limb >> 2) | (hi << 62);
        }
    }
    let mut e = [0u64; 9];
    let mut borrow = 0u64;
    for ((dst, a), b) in e.iter_mut().zip(pm1.iter()).zip(q.iter()) {
        let (d1, b1) = a.overflowing_sub(*b);
        let (d2, b2) = d1.overflowing_sub(borrow);
        *dst = d2;
        borrow = u64::from(b1 || b2);
    }
    e
}

fn ec_integrated_map<C>(s: &[u8], t: &[u8]) -> Result<GroupElement, Error>
where
    C: primeorder::PrimeCurveParams,
    AffinePoint<C>: FromSec1Point<C> + ToSec1Point<C>,
{
    type Fe<C> = <C as elliptic_curve::hazmat::FieldArithmetic>::FieldElement;
    let len = field_len::<C>();
    let mut r = [0u8; 80];
    let n = pseudo_random(s, t, 8 * len, &mut r)?;
    // R mod p by Horner's rule over 16-byte chunks (each below p): acc = acc · 2^128 + chunk.
    let element = |chunk: &[u8]| -> Result<Fe<C>, Error> {
        let mut repr = FieldBytes::<C>::default();
        let start = len
            .checked_sub(chunk.len())
            .ok_or(Error::UnsupportedProtocol)?;
        repr.get_mut(start..)
            .ok_or(Error::UnsupportedProtocol)?
            .copy_from_slice(chunk);
        let fe: Option<Fe<C>> = Fe::<C>::from_repr(repr).into();
        fe.ok_or(Error::UnsupportedProtocol)
    };
    let mut two_128 = [0u8; 17];
    if let Some(top) = two_128.first_mut() {
        *top = 1;
    }
    let shift = element(&two_128)?;
    let mut u = Fe::<C>::ZERO;
    for chunk in r.get(..n).unwrap_or(&[]).chunks_exact(16) {
        u = u * shift + element(chunk)?;
    }
    r.zeroize();
    let (a, b) = (C::EQUATION_A, C::EQUATION_B);
    // Appendix B.2 of ICAO 9303-11 (affine coordinates):
    let alpha = -u.square();
    let d = alpha + alpha.square();
    let inv: Option<Fe<C>> = Field::invert(&(a * d)).into();
    let x2 = -b * (Fe::<C>::ONE + d) * inv.ok_or(Error::AuthenticationFailed)?;
    let x3 = alpha * x2;
    let h2 = x2.square() * x2 + a * x2 + b;
    let big_u = u.square() * u * h2;
    let e = encoding_exponent(&(-Fe::<C>::ONE).to_repr());
    let big_a = h2.pow_vartime(e);
    let square = (big_a.square() * h2).ct_eq(&Fe::<C>::ONE);
    let x = Fe::<C>::conditional_select(&x3, &x2, square);
    let y = Fe::<C>::conditional_select(&(big_a * big_u), &(big_a * h2), square);
    let mut encoded = [0u8; 1 + 2 * MAX_FIELD_LEN];
    if let Some(tag) = encoded.first_mut() {
        *tag = 0x04;
    }
    let (xr, yr) = (x.to_repr(), y.to_repr());
    encoded
        .get_mut(1..=len)
        .ok_or(Error::UnsupportedProtocol)?
        .copy_from_slice(&xr);
    encoded
        .get_mut(1 + len..=2 * len)
        .ok_or(Error::UnsupportedProtocol)?
        .copy_from_slice(&yr);
    // The curves here have cofactor 1: the decoded point is the generator.
    let p = ec_point::<C>(encoded.get(..=2 * len).unwrap_or(&[]));
    encoded.zeroize();
    ec_encode::<C>(&p?)
}

/// A 2048-bit integer from up to 256 big-endian bytes.
fn wide(bytes: &[u8]) -> Option<U2048> {
    let mut padded = [0u8; 256];
    let start = 256usize.checked_sub(bytes.len())?;
    padded.get_mut(start..)?.copy_from_slice(bytes);
    let r = U2048::from_be_slice(&padded);
    padded.zeroize();
    Some(r)
}

/// A 256-bit exponent from up to 32 big-endian bytes.
fn exponent(bytes: &[u8]) -> Option<U256> {
    let mut padded = [0u8; 32];
    let start = 32usize.checked_sub(bytes.len())?;
    padded.get_mut(start..)?.copy_from_slice(bytes);
    let r = U256::from_be_slice(&padded);
    padded.zeroize();
    Some(r)
}

/// RFC 5114 §2.1: the prime p.
const MODP_1024_160_P: [u8; 128] = [
    0xB1, 0x0B, 0x8F, 0x96, 0xA0, 0x80, 0xE0, 0x1D, 0xDE, 0x92, 0xDE, 0x5E, 0xAE, 0x5D, 0x54, 0xEC,
    0x52, 0xC9, 0x9F, 0xBC, 0xFB, 0x06, 0xA3, 0xC6, 0x9A, 0x6A, 0x9D, 0xCA, 0x52, 0xD2, 0x3B, 0x61,
    0x60, 0x73, 0xE2, 0x86, 0x75, 0xA2, 0x3D, 0x18, 0x98, 0x38, 0xEF, 0x1E, 0x2E, 0xE6, 0x52, 0xC0,
    0x13, 0xEC, 0xB4, 0xAE, 0xA9, 0x06, 0x11, 0x23, 0x24, 0x97, 0x5C, 0x3C, 0xD4, 0x9B, 0x83, 0xBF,
    0xAC, 0xCB, 0xDD, 0x7D, 0x90, 0xC4, 0xBD, 0x70, 0x98, 0x48, 0x8E, 0x9C, 0x21, 0x9A, 0x73, 0x72,
    0x4E, 0xFF, 0xD6, 0xFA, 0xE5, 0x64, 0x47, 0x38, 0xFA, 0xA3, 0x1A, 0x4F, 0xF5, 0x5B, 0xCC, 0xC0,
    0xA1, 0x51, 0xAF, 0x5F, 0x0D, 0xC8, 0xB4, 0xBD, 0x45, 0xBF, 0x37, 0xDF, 0x36, 0x5C, 0x1A, 0x65,
    0xE6, 0x8C, 0xFD, 0xA7, 0x6D, 0x4D, 0xA7, 0x08, 0xDF, 0x1F, 0xB2, 0xBC, 0x2E, 0x4A, 0x43, 0x71,
];

/// RFC 5114 §2.1: the generator g.
const MODP_1024_160_G: [u8; 128] = [
    0xA4, 0xD1, 0xCB, 0xD5, 0xC3, 0xFD, 0x34, 0x12, 0x67, 0x65, 0xA4, 0x42, 0xEF, 0xB9, 0x99, 0x05,
    0xF8, 0x10, 0x4D, 0xD2, 0x58, 0xAC, 0x50, 0x7F, 0xD6, 0x40, 0x6C, 0xFF, 0x14, 0x26, 0x6D, 0x31,
    0x26, 0x6F, 0xEA, 0x1E, 0x5C, 0x41, 0x56, 0x4B, 0x77, 0x7E, 0x69, 0x0F, 0x55, 0x04, 0xF2, 0x13,
    0x16, 0x02, 0x17, 0xB4, 0xB0, 0x1B, 0x88, 0x6A, 0x5E, 0x91, 0x54, 0x7F, 0x9E, 0x27, 0x49, 0xF4,
    0xD7, 0xFB, 0xD7, 0xD3, 0xB9, 0xA9, 0x2E, 0xE1, 0x90, 0x9D, 0x0D, 0x22, 0x63, 0xF8, 0x0A, 0x76,
    0xA6, 0xA2, 0x4C, 0x08, 0x7A, 0x09, 0x1F, 0x53, 0x1D, 0xBF, 0x0A, 0x01, 0x69, 0xB6, 0xA2, 0x8A,
    0xD6, 0x62, 0xA4, 0xD1, 0x8E, 0x73, 0xAF, 0xA3, 0x2D, 0x77, 0x9D, 0x59, 0x18, 0xD0, 0x8B, 0xC8,
    0x85, 0x8F, 0x4D, 0xCE, 0xF9, 0x7C, 0x2A, 0x24, 0x85, 0x5E, 0x6E, 0xEB, 0x22, 0xB3, 0xB2, 0xE5,
];

/// RFC 5114 §2.1: the prime order q of the subgroup g generates.
const MODP_1024_160_Q: [u8; 20] = [
    0xF5, 0x18, 0xAA, 0x87, 0x81, 0xA8, 0xDF, 0x27, 0x8A, 0xBA, 0x4E, 0x7D, 0x64, 0xB7, 0xCB, 0x9D,
    0x49, 0x46, 0x23, 0x53,
];

/// RFC 5114 §2.2: the prime p.
const MODP_2048_224_P: [u8; 256] = [
    0xAD, 0x10, 0x7E, 0x1E, 0x91, 0x23, 0xA9, 0xD0, 0xD6, 0x60, 0xFA, 0xA7, 0x95, 0x59, 0xC5, 0x1F,
    0xA2, 0x0D, 0x64, 0xE5, 0x68, 0x3B, 0x9F, 0xD1, 0xB5, 0x4B, 0x15, 0x97, 0xB6, 0x1D, 0x0A, 0x75,
    0xE6, 0xFA, 0x14, 0x1D, 0xF9, 0x5A, 0x56, 0xDB, 0xAF, 0x9A, 0x3C, 0x40, 0x7B, 0xA1, 0xDF, 0x15,
    0xEB, 0x3D, 0x68, 0x8A, 0x30, 0x9C, 0x18, 0x0E, 0x1D, 0xE6, 0xB8, 0x5A, 0x12, 0x74, 0xA0, 0xA6,
    0x6D, 0x3F, 0x81, 0x52, 0xAD, 0x6A, 0xC2, 0x12, 0x90, 0x37, 0xC9, 0xED, 0xEF, 0xDA, 0x4D, 0xF8,
    0xD9, 0x1E, 0x8F, 0xEF, 0x55, 0xB7, 0x39, 0x4B, 0x7A, 0xD5, 0xB7, 0xD0, 0xB6, 0xC1, 0x22, 0x07,
    0xC9, 0xF9, 0x8D, 0x11, 0xED, 0x34, 0xDB, 0xF6, 0xC6, 0xBA, 0x0B, 0x2C, 0x8B, 0xBC, 0x27, 0xBE,
    0x6A, 0x00, 0xE0, 0xA0, 0xB9, 0xC4, 0x97, 0x08, 0xB3, 0xBF, 0x8A, 0x31, 0x70, 0x91, 0x88, 0x36,
    0x81, 0x28, 0x61, 0x30, 0xBC, 0x89, 0x85, 0xDB, 0x16, 0x02, 0xE7, 0x14, 0x41, 0x5D, 0x93, 0x30,
    0x27, 0x82, 0x73, 0xC7, 0xDE, 0x31, 0xEF, 0xDC, 0x73, 0x10, 0xF7, 0x12, 0x1F, 0xD5, 0xA0, 0x74,
    0x15, 0x98, 0x7D, 0x9A, 0xDC, 0x0A, 0x48, 0x6D, 0xCD, 0xF9, 0x3A, 0xCC, 0x44, 0x32, 0x83, 0x87,
    0x31, 0x5D, 0x75, 0xE1, 0x98, 0xC6, 0x41, 0xA4, 0x80, 0xCD, 0x86, 0xA1, 0xB9, 0xE5, 0x87, 0xE8,
    0xBE, 0x60, 0xE6, 0x9C, 0xC9, 0x28, 0xB2, 0xB9, 0xC5, 0x21, 0x72, 0xE4, 0x13, 0x04, 0x2E, 0x9B,
    0x23, 0xF1, 0x0B, 0x0E, 0x16, 0xE7, 0x97, 0x63, 0xC9, 0xB5, 0x3D, 0xCF, 0x4B, 0xA8, 0x0A, 0x29,
    0xE3, 0xFB, 0x73, 0xC1, 0x6B, 0x8E, 0x75, 0xB9, 0x7E, 0xF3, 0x63, 0xE2, 0xFF, 0xA3, 0x1F, 0x71,
    0xCF, 0x9D, 0xE5, 0x38, 0x4E, 0x71, 0xB8, 0x1C, 0x0A, 0xC4, 0xDF, 0xFE, 0x0C, 0x10, 0xE6, 0x4F,
];

/// RFC 5114 §2.2: the generator g.
const MODP_2048_224_G: [u8; 256] = [
    0xAC, 0x40, 0x32, 0xEF, 0x4F, 0x2D, 0x9A, 0xE3, 0x9D, 0xF3, 0x0B, 0x5C, 0x8F, 0xFD, 0xAC, 0x50,
    0x6C, 0xDE, 0xBE, 0x7B, 0x89, 0x99, 0x8C, 0xAF, 0x74, 0x86, 0x6A, 0x08, 0xCF, 0xE4, 0xFF, 0xE3,
    0xA6, 0x82, 0x4A, 0x4E, 0x10, 0xB9, 0xA6, 0xF0, 0xDD, 0x92, 0x1F, 0x01, 0xA7, 0x0C, 0x4A, 0xFA,
    0xAB, 0x73, 0x9D, 0x77, 0x00, 0xC2, 0x9F, 0x52, 0xC5, 0x7D, 0xB1, 0x7C, 0x62, 0x0A, 0x86, 0x52,
    0xBE, 0x5E, 0x90, 0x01, 0xA8, 0xD6, 0x6A, 0xD7, 0xC1, 0x76, 0x69, 0x10, 0x19, 0x99, 0x02, 0x4A,
    0xF4, 0xD0, 0x27, 0x27, 0x5A, 0xC1, 0x34, 0x8B, 0xB8, 0xA7, 0x62, 0xD0, 0x52, 0x1B, 0xC9, 0x8A,
    0xE2, 0x47, 0x15, 0x04, 0x22, 0xEA, 0x1E, 0xD4, 0x09, 0x93, 0x9D, 0x54, 0xDA, 0x74, 0x60, 0xCD,
    0xB5, 0xF6, 0xC6, 0xB2, 0x50, 0x71, 0x7C, 0xBE, 0xF1, 0x80, 0xEB, 0x34, 0x11, 0x8E, 0x98, 0xD1,
    0x19, 0x52, 0x9A, 0x45, 0xD6, 0xF8, 0x34, 0x56, 0x6E, 0x30, 0x25, 0xE3, 0x16, 0xA3, 0x30, 0xEF,
    0xBB, 0x77, 0xA8, 0x6F, 0x0C, 0x1A, 0xB1, 0x5B, 0x05, 0x1A, 0xE3, 0xD4, 0x28, 0xC8, 0xF8, 0xAC,
    0xB7, 0x0A, 0x81, 0x37, 0x15, 0x0B, 0x8E, 0xEB, 0x10, 0xE1, 0x83, 0xED, 0xD1, 0x99, 0x63, 0xDD,
    0xD9, 0xE2, 0x63, 0xE4, 0x77, 0x05, 0x89, 0xEF, 0x6A, 0xA2, 0x1E, 0x7F, 0x5F, 0x2F, 0xF3, 0x81,
    0xB5, 0x39, 0xCC, 0xE3, 0x40, 0x9D, 0x13, 0xCD, 0x56, 0x6A, 0xFB, 0xB4, 0x8D, 0x6C, 0x01, 0x91,
    0x81, 0xE1, 0xBC, 0xFE, 0x94, 0xB3, 0x02, 0x69, 0xED, 0xFE, 0x72, 0xFE, 0x9B, 0x6A, 0xA4, 0xBD,
    0x7B, 0x5A, 0x0F, 0x1C, 0x71, 0xCF, 0xFF, 0x4C, 0x19, 0xC4, 0x18, 0xE1, 0xF6, 0xEC, 0x01, 0x79,
    0x81, 0xBC, 0x08, 0x7F, 0x2A, 0x70, 0x65, 0xB3, 0x84, 0xB8, 0x90, 0xD3, 0x19, 0x1F, 0x2B, 0xFA,
];

/// RFC 5114 §2.2: the prime order q of the subgroup g generates.
const MODP_2048_224_Q: [u8; 28] = [
    0x80, 0x1C, 0x0D, 0x34, 0xC5, 0x8D, 0x93, 0xFE, 0x99, 0x71, 0x77, 0x10, 0x1F, 0x80, 0x53, 0x5A,
    0x47, 0x38, 0xCE, 0xBC, 0xBF, 0x38, 0x9A, 0x99, 0xB3, 0x63, 0x71, 0xEB,
];

/// RFC 5114 §2.3: the prime p.
const MODP_2048_256_P: [u8; 256] = [
    0x87, 0xA8, 0xE6, 0x1D, 0xB4, 0xB6, 0x66, 0x3C, 0xFF, 0xBB, 0xD1, 0x9C, 0x65, 0x19, 0x59, 0x99,
    0x8C, 0xEE, 0xF6, 0x08, 0x66, 0x0D, 0xD0, 0xF2, 0x5D, 0x2C, 0xEE, 0xD4, 0x43, 0x5E, 0x3B, 0x00,
    0xE0, 0x0D, 0xF8, 0xF1, 0xD6, 0x19, 0x57, 0xD4, 0xFA, 0xF7, 0xDF, 0x45, 0x61, 0xB2, 0xAA, 0x30,
    0x16, 0xC3, 0xD9, 0x11, 0x34, 0x09, 0x6F, 0xAA, 0x3B, 0xF4, 0x29, 0x6D, 0x83, 0x0E, 0x9A, 0x7C,
    0x20, 0x9E, 0x0C, 0x64, 0x97, 0x51, 0x7A, 0xBD, 0x5A, 0x8A, 0x9D, 0x30, 0x6B, 0xCF, 0x67, 0xED,
    0x91, 0xF9, 0xE6, 0x72, 0x5B, 0x47, 0x58, 0xC0, 0x22, 0xE0, 0xB1, 0xEF, 0x42, 0x75, 0xBF, 0x7B,
    0x6C, 0x5B, 0xFC, 0x11, 0xD4, 0x5F, 0x90, 0x88, 0xB9, 0x41, 0xF5, 0x4E, 0xB1, 0xE5, 0x9B, 0xB8,
    0xBC, 0x39, 0xA0, 0xBF, 0x12, 0x30, 0x7F, 0x5C, 0x4F, 0xDB, 0x70, 0xC5, 0x81, 0xB2, 0x3F, 0x76,
    0xB6, 0x3A, 0xCA, 0xE1, 0xCA, 0xA6, 0xB7, 0x90, 0x2D, 0x52, 0x52, 0x67, 0x35, 0x48, 0x8A, 0x0E,
    0xF1, 0x3C, 0x6D, 0x9A, 0x51, 0xBF, 0xA4, 0xAB, 0x3A, 0xD8, 0x34, 0x77, 0x96, 0x52, 0x4D, 0x8E,
    0xF6, 0xA1, 0x67, 0xB5, 0xA4, 0x18, 0x25, 0xD9, 0x67, 0xE1, 0x44, 0xE5, 0x14, 0x05, 0x64, 0x25,
    0x1C, 0xCA, 0xCB, 0x83, 0xE6, 0xB4, 0x86, 0xF6, 0xB3, 0xCA, 0x3F, 0x79, 0x71, 0x50, 0x60, 0x26,
    0xC0, 0xB8, 0x57, 0xF6, 0x89, 0x96, 0x28, 0x56, 0xDE, 0xD4, 0x01, 0x0A, 0xBD, 0x0B, 0xE6, 0x21,
    0xC3, 0xA3, 0x96, 0x0A, 0x54, 0xE7, 0x10, 0xC3, 0x75, 0xF2, 0x63, 0x75, 0xD7, 0x01, 0x41, 0x03,
    0xA4, 0xB5, 0x43, 0x30, 0xC1, 0x98, 0xAF, 0x12, 0x61, 0x16, 0xD2, 0x27, 0x6E, 0x11, 0x71, 0x5F,
    0x69, 0x38, 0x77, 0xFA, 0xD7, 0xEF, 0x09, 0xCA, 0xDB, 0x09, 0x4A, 0xE9, 0x1E, 0x1A, 0x15, 0x97,
];

/// RFC 5114 §2.3: the generator g.
const MODP_2048_256_G: [u8; 256] = [
    0x3F, 0xB3, 0x2C, 0x9B, 0x73, 0x13, 0x4D, 0x0B, 0x2E, 0x77, 0x50, 0x66, 0x60, 0xED, 0xBD, 0x48,
    0x4C, 0xA7, 0xB1, 0x8F, 0x21, 0xEF, 0x20, 0x54, 0x07, 0xF4, 0x79, 0x3A, 0x1A, 0x0B, 0xA1, 0x25,
    0x10, 0xDB, 0xC1, 0x50, 0x77, 0xBE, 0x46, 0x3F, 0xFF, 0x4F, 0xED, 0x4A, 0xAC, 0x0B, 0xB5, 0x55,
    0xBE, 0x3A, 0x6C, 0x1B, 0x0C, 0x6B, 0x47, 0xB1, 0xBC, 0x37, 0x73, 0xBF, 0x7E, 0x8C, 0x6F, 0x62,
    0x90, 0x12, 0x28, 0xF8, 0xC2, 0x8C, 0xBB, 0x18, 0xA5, 0x5A, 0xE3, 0x13, 0x41, 0x00, 0x0A, 0x65,
    0x01, 0x96, 0xF9, 0x31, 0xC7, 0x7A, 0x57, 0xF2, 0xDD, 0xF4, 0x63, 0xE5, 0xE9, 0xEC, 0x14, 0x4B,
    0x77, 0x7D, 0xE6, 0x2A, 0xAA, 0xB8, 0xA8, 0x62, 0x8A, 0xC3, 0x76, 0xD2, 0x82, 0xD6, 0xED, 0x38,
    0x64, 0xE6, 0x79, 0x82, 0x42, 0x8E, 0xBC, 0x83, 0x1D, 0x14, 0x34, 0x8F, 0x6F, 0x2F, 0x91, 0x93,
    0xB5, 0x04, 0x5A, 0xF2, 0x76, 0x71, 0x64, 0xE1, 0xDF, 0xC9, 0x67, 0xC1, 0xFB, 0x3F, 0x2E, 0x55,
    0xA4, 0xBD, 0x1B, 0xFF, 0xE8, 0x3B, 0x9C, 0x80, 0xD0, 0x52, 0xB9, 0x85, 0xD1, 0x82, 0xEA, 0x0A,
    0xDB, 0x2A, 0x3B, 0x73, 0x13, 0xD3, 0xFE, 0x14, 0xC8, 0x48, 0x4B, 0x1E, 0x05, 0x25, 0x88, 0xB9,
    0xB7, 0xD2, 0xBB, 0xD2, 0xDF, 0x01, 0x61, 0x99, 0xEC, 0xD0, 0x6E, 0x15, 0x57, 0xCD, 0x09, 0x15,
    0xB3, 0x35, 0x3B, 0xBB, 0x64, 0xE0, 0xEC, 0x37, 0x7F, 0xD0, 0x28, 0x37, 0x0D, 0xF9, 0x2B, 0x52,
    0xC7, 0x89, 0x14, 0x28, 0xCD, 0xC6, 0x7E, 0xB6, 0x18, 0x4B, 0x52, 0x3D, 0x1D, 0xB2, 0x46, 0xC3,
    0x2F, 0x63, 0x07, 0x84, 0x90, 0xF0, 0x0E, 0xF8, 0xD6, 0x47, 0xD1, 0x48, 0xD4, 0x79, 0x54, 0x51,
    0x5E, 0x23, 0x27, 0xCF, 0xEF, 0x98, 0xC5, 0x82, 0x66, 0x4B, 0x4C, 0x0F, 0x6C, 0xC4, 0x16, 0x59,
];

/// RFC 5114 §2.3: the prime order q of the subgroup g generates.
const MODP_2048_256_Q: [u8; 32] = [
    0x8C, 0xF8, 0x36, 0x42, 0xA7, 0x09, 0xA0, 0x97, 0xB4, 0x47, 0x99, 0x76, 0x40, 0x12, 0x9D, 0xA2,
    0x99, 0xB1, 0xA4, 0x7D, 0x1E, 0xB3, 0x75, 0x0B, 0xA3, 0x08, 0xB0, 0xFE, 0x64, 0xF5, 0xFB, 0xD3,
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::hex;

    // ICAO Doc 9303-11 Appendix H.1 (PACE-IM, ECDH, brainpoolP256r1, AES-128): the nonces
    // s and t and the pseudo-random function's output R(s, t) (transcribed from
    // github.com/zienit/icao-examples, PACE_IMTest.java).
    #[test]
    fn appendix_h1_pseudo_random_function() {
        let s = hex("2923BE84E16CD6AE529049F1F1BBE9EB");
        let t = hex("5DD4CBFC96F5453B130D890A1CDBAE32");
        let mut out = [0u8; 80];
        let n = pseudo_random(&s, &t, 256, &mut out).unwrap();
        assert_eq!(
            out[..n],
            hex(
                "E4447E2DFB3586BAC05DDB00156B57FBB2179A3949294C97254189800C517BAA\
                 8DA0FF397ED8C445D3E421E4FEB57322"
            )[..]
        );
        assert_eq!(
            pseudo_random(&s, &t, 256, &mut [0u8; 47]).err(),
            Some(Error::BufferTooSmall { needed: 48 })
        );
    }

    #[test]
    fn encoding_exponent_is_p_minus_1_minus_p_plus_1_over_4() {
        // p = 23 (≡ 3 mod 4): 22 − 6 = 16.
        assert_eq!(encoding_exponent(&[22])[0], 16);
        // p − 1 = 2^64 + 2: (p + 1)/4 = (2^64 + 4)/4 = 2^62 + 1; e = 2^64 + 2 − 2^62 − 1.
        let e = encoding_exponent(&[1, 0, 0, 0, 0, 0, 0, 0, 2]);
        assert_eq!((e[0], e[1]), ((1u64 << 63) + (1 << 62) + 1, 0));
    }
}
