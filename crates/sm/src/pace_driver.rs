//! Running PACE over a card session: [`establish_pace`] over any [`Session`] and
//! [`establish_pace_async`] over an [`AsyncSession`], both driving the sans-IO [`PaceHost`]
//! through the same steps (ICAO Doc 9303-11 §4.4.4: MSE:Set AT, then the four chained
//! GENERAL AUTHENTICATE commands).
//!
//! # Randomness
//!
//! Both terminal ephemeral private keys are drawn from the caller's
//! [`rand_core::TryCryptoRng`] *before* anything is sent, by rejection sampling (a draw not
//! in `1..n` is discarded and drawn again). A generator that fails gives
//! [`Error::Randomness`] and no command goes to the card.
//!
//! [`choose_pace`] picks, from EF.CardAccess's [`SecurityInfos`], the first `PACEInfo` this
//! crate can run (PACE-GM with ECDH on P-256 or brainpoolP256r1).

use cardwire_apdu::{CommandRepr, Response};
use cardwire_transport::{AsyncSession, Session};
use rand_core::TryCryptoRng;
use zeroize::Zeroize;

use crate::Error;
use crate::pace::{PaceCurve, PaceHost, PacePassword, PaceSession};
use crate::security_infos::{PaceInfo, PaceMapping, SecurityInfos};

/// How many rejected draws of a private key end in [`Error::Randomness`] (for P-256 and
/// brainpoolP256r1 a draw is rejected with probability below 1/2, so 64 rejections in a row
/// mean a broken generator).
const MAX_DRAWS: usize = 64;

/// The first `PACEInfo` of `infos` that [`establish_pace`] can run, with its curve.
pub fn choose_pace<'a>(infos: &SecurityInfos<'a>) -> Option<(PaceInfo<'a>, PaceCurve)> {
    infos.pace_infos().find_map(|p| {
        if p.version() != 2 || p.mapping() != Some(PaceMapping::EcdhGeneric) || p.cipher().is_none()
        {
            return None;
        }
        let curve = PaceCurve::from_parameter_id(p.parameter_id()?)?;
        Some((p, curve))
    })
}

fn draw_private_key<R: TryCryptoRng + ?Sized>(
    curve: PaceCurve,
    rng: &mut R,
) -> Result<[u8; 32], Error> {
    let mut k = [0u8; 32];
    for _ in 0..MAX_DRAWS {
        if rng.try_fill_bytes(&mut k).is_err() {
            k.zeroize();
            return Err(Error::Randomness);
        }
        if curve.is_valid_private_key(&k) {
            return Ok(k);
        }
    }
    k.zeroize();
    Err(Error::Randomness)
}

fn start<R: TryCryptoRng + ?Sized>(
    protocol: &[u8],
    curve: PaceCurve,
    password: &PacePassword<'_>,
    rng: &mut R,
) -> Result<PaceHost, Error> {
    let mut sk_map = draw_private_key(curve, rng)?;
    let sk_eph = draw_private_key(curve, rng);
    let result = sk_eph.and_then(|sk_eph| PaceHost::new(protocol, curve, password, sk_map, sk_eph));
    sk_map.zeroize();
    result
}

fn repr(cmd: &[u8]) -> Result<CommandRepr<'_>, Error> {
    CommandRepr::parse(cmd).map_err(|_| Error::MalformedCommand { offset: 0 })
}

fn transport_error<E: cardwire_transport::Error>(e: E) -> Error {
    Error::Transport { kind: e.kind() }
}

/// One step of the run: the command to send next, given the last answer.
fn step(
    host: &mut PaceHost,
    index: usize,
    answer: Option<&Response<&[u8]>>,
    cmd: &mut [u8; 128],
) -> Result<usize, Error> {
    let answer = answer.map(|a| a.as_bytes()).unwrap_or(&[]);
    match index {
        0 => host.mse_set_at_command(cmd),
        1 => {
            host.check_mse_set_at(answer)?;
            let c = host.nonce_command();
            cmd.get_mut(..c.len())
                .ok_or(Error::BufferTooSmall { needed: c.len() })?
                .copy_from_slice(c);
            Ok(c.len())
        }
        2 => {
            host.process_nonce(answer)?;
            host.map_command(cmd)
        }
        3 => {
            host.process_map(answer)?;
            host.key_agreement_command(cmd)
        }
        4 => {
            host.process_key_agreement(answer)?;
            host.mutual_authentication_command(cmd)
        }
        _ => Err(Error::WrongState),
    }
}

/// Runs PACE (ICAO 9303-11 §4.4) over `session` with the password, for the `PACEInfo`
/// protocol `protocol` on `curve` (see [`choose_pace`]), and returns the secure messaging
/// session with the new keys and the send sequence counter at 0.
///
/// # Errors
/// [`Error::Randomness`] when the generator fails (nothing is sent);
/// [`Error::Transport`]; [`Error::CardRefused`] with the card's status word (for example
/// `63Cx` for a wrong eID PIN with `x` tries left, `6982`/`6A80` for an unknown password);
/// [`Error::AuthenticationFailed`] for a wrong token or invalid point (which is also what a
/// wrong MRZ or CAN gives); [`Error::UnsupportedProtocol`] for a protocol other than
/// PACE-GM ECDH.
pub fn establish_pace<S, R>(
    session: &mut S,
    protocol: &[u8],
    curve: PaceCurve,
    password: &PacePassword<'_>,
    rng: &mut R,
) -> Result<PaceSession, Error>
where
    S: Session + ?Sized,
    R: TryCryptoRng + ?Sized,
{
    let mut host = start(protocol, curve, password, rng)?;
    let mut cmd = [0u8; 128];
    let mut rsp = [0u8; 256];
    let mut n = step(&mut host, 0, None, &mut cmd)?;
    for index in 1..=5 {
        let answer = session
            .transmit(&repr(cmd.get(..n).unwrap_or(&[]))?, &mut rsp)
            .map_err(transport_error)?;
        if index == 5 {
            let result = host.finish(answer.as_bytes());
            rsp.zeroize();
            return result;
        }
        n = step(&mut host, index, Some(&answer), &mut cmd)?;
    }
    Err(Error::WrongState)
}

/// The async twin of [`establish_pace`], over an [`AsyncSession`].
///
/// # Errors
/// As [`establish_pace`].
pub async fn establish_pace_async<S, R>(
    session: &mut S,
    protocol: &[u8],
    curve: PaceCurve,
    password: &PacePassword<'_>,
    rng: &mut R,
) -> Result<PaceSession, Error>
where
    S: AsyncSession + ?Sized,
    R: TryCryptoRng + ?Sized,
{
    let mut host = start(protocol, curve, password, rng)?;
    let mut cmd = [0u8; 128];
    let mut rsp = [0u8; 256];
    let mut n = step(&mut host, 0, None, &mut cmd)?;
    for index in 1..=5 {
        let answer = session
            .transmit(&repr(cmd.get(..n).unwrap_or(&[]))?, &mut rsp)
            .await
            .map_err(transport_error)?;
        if index == 5 {
            let result = host.finish(answer.as_bytes());
            rsp.zeroize();
            return result;
        }
        n = step(&mut host, index, Some(&answer), &mut cmd)?;
    }
    Err(Error::WrongState)
}
