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
//! [`choose_pace_domain`] picks, from EF.CardAccess's [`SecurityInfos`], the first `PACEInfo`
//! this crate can run (PACE-GM with ECDH on P-256, P-384, P-521, brainpoolP256r1 or
//! brainpoolP384r1, or with DH in an RFC 5114 group); [`choose_pace`] the first with ECDH.
//!
//! [`choose_pace_any`] and [`establish_pace_any`] (async: [`establish_pace_any_async`]) cover
//! every mapping [`PaceHost`] runs — Generic (ECDH, DH), Integrated (ECDH, DH) and the Chip
//! Authentication Mapping (ECDH) — in one driver: the choice prefers PACE-CAM (it
//! authenticates the chip in the same run, ICAO 9303-11 §4.4.3.3.3), then PACE-GM, then
//! PACE-IM, and the run returns a [`PaceOutcome`] with the [`CamProof`] when CAM ran.
//!
//! # eID PIN
//!
//! When MSE:Set AT answers an eID PIN (or PUK) with `63Cx`, the run goes on (the tries left
//! are in the status); if it then fails, the error is [`Error::CardRefused`] with that `63Cx`
//! when the PIN was suspended (`63C1`: ask for the CAN), else the failure itself (a wrong
//! PIN gives [`Error::AuthenticationFailed`]). Read status words with
//! [`PasswordStatus::from_status`].

use cardwire_apdu::{CommandRepr, Response};
use cardwire_transport::{AsyncSession, Session};
use rand_core::TryCryptoRng;
use zeroize::Zeroize;

use crate::Error;
use cardwire_apdu::StatusWord;

use crate::pace::{
    CamProof, MAX_COMMAND_LEN, PaceCurve, PaceDomain, PaceHost, PacePassword, PaceSession,
    PasswordStatus,
};
use crate::pace_group::MAX_PRIVATE_LEN;
use crate::security_infos::{PaceInfo, PaceMapping, SecurityInfos};

/// How many rejected draws of a private key end in [`Error::Randomness`] (with the first
/// byte masked for P-521, a draw is rejected with probability below 1/2 in every supported
/// group, so 64 rejections in a row mean a broken generator).
const MAX_DRAWS: usize = 64;

/// The first `PACEInfo` of `infos` with PACE-GM over ECDH that [`establish_pace`] can run,
/// with its curve.
pub fn choose_pace<'a>(infos: &SecurityInfos<'a>) -> Option<(PaceInfo<'a>, PaceCurve)> {
    infos.pace_infos().find_map(|p| match choose(&p)? {
        PaceDomain::Ec(curve) => Some((p, curve)),
        PaceDomain::Dh(_) => None,
    })
}

/// The first `PACEInfo` of `infos` that [`establish_pace_domain`] can run (PACE-GM with ECDH
/// or DH, or PACE-IM with DH or ECDH and AES-128, on standardized domain parameters), with its
/// domain.
pub fn choose_pace_domain<'a>(infos: &SecurityInfos<'a>) -> Option<(PaceInfo<'a>, PaceDomain)> {
    infos
        .pace_infos()
        .find_map(|p| choose(&p).map(|domain| (p, domain)))
}

/// The `PACEInfo` of `infos` that [`establish_pace_any`] runs, with its domain: the first
/// PACE-CAM info (ECDH, AES), else the first PACE-GM info (ECDH or DH), else the first PACE-IM
/// info (ECDH or DH, AES-128), all on standardized domain parameters. CAM comes first because
/// it also authenticates the chip (ICAO 9303-11 §4.4.3.3.3), GM before IM because every chip
/// offering PACE must support GM (§4.4.1).
pub fn choose_pace_any<'a>(infos: &SecurityInfos<'a>) -> Option<(PaceInfo<'a>, PaceDomain)> {
    (0..=2).find_map(|rank| {
        infos.pace_infos().find_map(|p| {
            let domain = runnable(&p)?;
            (rank_of(p.mapping()?) == rank).then_some((p, domain))
        })
    })
}

/// The preference of a mapping in [`choose_pace_any`] (lower first).
fn rank_of(mapping: PaceMapping) -> u8 {
    match mapping {
        PaceMapping::EcdhChipAuthentication => 0,
        PaceMapping::EcdhGeneric | PaceMapping::DhGeneric => 1,
        _ => 2,
    }
}

/// The domain of a `PACEInfo` that [`establish_pace_domain`] runs (every mapping but CAM).
fn choose(p: &PaceInfo<'_>) -> Option<PaceDomain> {
    match p.mapping()? {
        PaceMapping::EcdhChipAuthentication => None,
        _ => runnable(p),
    }
}

/// The domain of a `PACEInfo` that [`PaceHost`] runs (what [`PaceHost::with_domain`]
/// accepts): version 2, a known cipher, standardized domain parameters that fit the mapping.
fn runnable(p: &PaceInfo<'_>) -> Option<PaceDomain> {
    use crate::kdf::KeyAlgorithm;
    if p.version() != 2 || p.cipher().is_none() {
        return None;
    }
    let domain = PaceDomain::from_parameter_id(p.parameter_id()?)?;
    match (p.mapping()?, domain) {
        (PaceMapping::EcdhGeneric, PaceDomain::Ec(_))
        | (PaceMapping::DhGeneric, PaceDomain::Dh(_)) => Some(domain),
        (PaceMapping::DhIntegrated, PaceDomain::Dh(_))
        | (PaceMapping::EcdhIntegrated, PaceDomain::Ec(_))
            if p.cipher() == Some(KeyAlgorithm::Aes128) =>
        {
            Some(domain)
        }
        (PaceMapping::EcdhChipAuthentication, PaceDomain::Ec(_))
            if p.cipher() != Some(KeyAlgorithm::Tdes) =>
        {
            Some(domain)
        }
        _ => None,
    }
}

/// What [`establish_pace_any`] brings back: the secure messaging session and, when the
/// Chip Authentication Mapping ran, the chip authentication data to check against the chip's
/// static key from EF.CardSecurity ([`CamProof::verify_key`], ICAO 9303-11 §4.4.3.5.2).
#[derive(Debug)]
pub struct PaceOutcome {
    /// The session with the new keys, SSC = 0.
    pub session: PaceSession,
    /// `Some` after PACE-CAM: the chip is authenticated only once this proof is verified.
    pub cam: Option<CamProof>,
}

/// The last step for any mapping: [`PaceHost::finish_cam`] for CAM, else [`PaceHost::finish`].
fn finish_any(protocol: &[u8]) -> impl FnOnce(PaceHost, &[u8]) -> Result<PaceOutcome, Error> {
    let cam = matches!(
        crate::pace::parse_protocol(protocol),
        Some((PaceMapping::EcdhChipAuthentication, _))
    );
    move |host, answer| {
        if cam {
            host.finish_cam(answer).map(|(session, proof)| PaceOutcome {
                session,
                cam: Some(proof),
            })
        } else {
            host.finish(answer)
                .map(|session| PaceOutcome { session, cam: None })
        }
    }
}

/// A private key in `1..order`: `len` random bytes, the first masked, by rejection sampling.
fn draw_private_key<R: TryCryptoRng + ?Sized>(
    domain: PaceDomain,
    rng: &mut R,
) -> Result<([u8; MAX_PRIVATE_LEN], usize), Error> {
    let len = domain.private_key_len();
    let mut k = [0u8; MAX_PRIVATE_LEN];
    for _ in 0..MAX_DRAWS {
        let Some(bytes) = k.get_mut(..len) else {
            break;
        };
        if rng.try_fill_bytes(bytes).is_err() {
            k.zeroize();
            return Err(Error::Randomness);
        }
        if let Some(first) = bytes.first_mut() {
            *first &= domain.private_key_mask();
        }
        if domain.is_valid_private_key(bytes) {
            return Ok((k, len));
        }
    }
    k.zeroize();
    Err(Error::Randomness)
}

fn start<R: TryCryptoRng + ?Sized>(
    protocol: &[u8],
    domain: PaceDomain,
    password: &PacePassword<'_>,
    rng: &mut R,
) -> Result<PaceHost, Error> {
    let integrated = matches!(
        crate::pace::parse_protocol(protocol),
        Some((PaceMapping::DhIntegrated | PaceMapping::EcdhIntegrated, _))
    );
    let (mut sk_map, n) = if integrated {
        // The Integrated Mapping's nonce t: 16 random bytes.
        let mut t = [0u8; MAX_PRIVATE_LEN];
        rng.try_fill_bytes(t.get_mut(..16).unwrap_or(&mut []))
            .map_err(|_| Error::Randomness)?;
        (t, 16)
    } else {
        draw_private_key(domain, rng)?
    };
    let sk_eph = draw_private_key(domain, rng);
    let result = sk_eph.and_then(|(mut sk_eph, m)| {
        let host = PaceHost::with_domain(
            protocol,
            domain,
            password,
            sk_map.get(..n).unwrap_or(&[]),
            sk_eph.get(..m).unwrap_or(&[]),
        );
        sk_eph.zeroize();
        host
    });
    sk_map.zeroize();
    result
}

/// After a failure past MSE:Set AT: a suspended PIN is reported as MSE:Set AT's `63C1`.
fn explain(host_status: PasswordStatus, e: Error) -> Error {
    match (host_status, e) {
        (PasswordStatus::Suspended, Error::CardRefused { .. }) => Error::CardRefused {
            sw: StatusWord(0x63C1),
        },
        _ => e,
    }
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
    cmd: &mut [u8; MAX_COMMAND_LEN],
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

/// The longest answer the drivers take (a 2048-bit DH value in `7C { 84 .. }` and SW).
const MAX_RESPONSE_LEN: usize = 300;

/// Runs PACE (ICAO 9303-11 §4.4) over `session` with the password, for the `PACEInfo`
/// protocol `protocol` on `curve` (see [`choose_pace`]), and returns the secure messaging
/// session with the new keys and the send sequence counter at 0.
///
/// # Errors
/// [`Error::Randomness`] when the generator fails (nothing is sent);
/// [`Error::Transport`]; [`Error::CardRefused`] with the card's status word (for example
/// `63C0`/`6983` for a blocked eID PIN, `63C1` for a suspended one, `6982`/`6A80` for an
/// unknown password); [`Error::AuthenticationFailed`] for a wrong token or invalid point
/// (which is also what a wrong MRZ, CAN or PIN gives); [`Error::UnsupportedProtocol`] for a
/// protocol other than PACE-GM ECDH.
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
    establish_pace_domain(session, protocol, PaceDomain::Ec(curve), password, rng)
}

/// [`establish_pace`] in any supported domain (an ECDH curve or an RFC 5114 DH group; see
/// [`choose_pace_domain`]).
///
/// # Errors
/// As [`establish_pace`]; [`Error::UnsupportedProtocol`] for a mapping that does not fit
/// `domain`.
pub fn establish_pace_domain<S, R>(
    session: &mut S,
    protocol: &[u8],
    domain: PaceDomain,
    password: &PacePassword<'_>,
    rng: &mut R,
) -> Result<PaceSession, Error>
where
    S: Session + ?Sized,
    R: TryCryptoRng + ?Sized,
{
    drive(session, protocol, domain, password, rng, PaceHost::finish)
}

/// [`establish_pace_domain`] for the Chip Authentication Mapping (`id-PACE-ECDH-CAM-*`):
/// also returns the chip authentication data, to check with [`CamProof::verify`] against
/// the chip's static key from EF.CardSecurity (ICAO 9303-11 §4.4.3.5).
///
/// # Errors
/// As [`establish_pace_domain`]; see [`PaceHost::finish_cam`].
pub fn establish_pace_cam<S, R>(
    session: &mut S,
    protocol: &[u8],
    curve: PaceCurve,
    password: &PacePassword<'_>,
    rng: &mut R,
) -> Result<(PaceSession, CamProof), Error>
where
    S: Session + ?Sized,
    R: TryCryptoRng + ?Sized,
{
    drive(
        session,
        protocol,
        PaceDomain::Ec(curve),
        password,
        rng,
        PaceHost::finish_cam,
    )
}

/// Runs PACE with any mapping [`PaceHost`] supports (see [`choose_pace_any`]): PACE-GM or
/// PACE-IM with ECDH or DH, or PACE-CAM with ECDH, for the `PACEInfo` protocol `protocol` in
/// `domain`. For CAM the outcome carries the [`CamProof`]: the caller must verify it against
/// the chip's static key (EF.CardSecurity, read under the new session) before trusting the
/// chip (ICAO 9303-11 §4.4.3.5.2).
///
/// # Errors
/// As [`establish_pace_domain`]; for CAM also as [`PaceHost::finish_cam`]
/// ([`Error::MissingObject`] when the chip sends no chip authentication data `8A`).
pub fn establish_pace_any<S, R>(
    session: &mut S,
    protocol: &[u8],
    domain: PaceDomain,
    password: &PacePassword<'_>,
    rng: &mut R,
) -> Result<PaceOutcome, Error>
where
    S: Session + ?Sized,
    R: TryCryptoRng + ?Sized,
{
    drive(
        session,
        protocol,
        domain,
        password,
        rng,
        finish_any(protocol),
    )
}

/// The run over a blocking session; `last` checks the last answer.
fn drive<S, R, T>(
    session: &mut S,
    protocol: &[u8],
    domain: PaceDomain,
    password: &PacePassword<'_>,
    rng: &mut R,
    last: impl FnOnce(PaceHost, &[u8]) -> Result<T, Error>,
) -> Result<T, Error>
where
    S: Session + ?Sized,
    R: TryCryptoRng + ?Sized,
{
    let mut host = start(protocol, domain, password, rng)?;
    let mut cmd = [0u8; MAX_COMMAND_LEN];
    let mut rsp = [0u8; MAX_RESPONSE_LEN];
    let mut n = step(&mut host, 0, None, &mut cmd)?;
    for index in 1..=5 {
        let answer = session
            .transmit(&repr(cmd.get(..n).unwrap_or(&[]))?, &mut rsp)
            .map_err(transport_error)?;
        let status = host.password_status();
        if index == 5 {
            let result = last(host, answer.as_bytes());
            rsp.zeroize();
            return result.map_err(|e| explain(status, e));
        }
        n = step(&mut host, index, Some(&answer), &mut cmd)
            .map_err(|e| explain(host.password_status(), e))?;
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
    establish_pace_domain_async(session, protocol, PaceDomain::Ec(curve), password, rng).await
}

/// The async twin of [`establish_pace_domain`], over an [`AsyncSession`].
///
/// # Errors
/// As [`establish_pace_domain`].
pub async fn establish_pace_domain_async<S, R>(
    session: &mut S,
    protocol: &[u8],
    domain: PaceDomain,
    password: &PacePassword<'_>,
    rng: &mut R,
) -> Result<PaceSession, Error>
where
    S: AsyncSession + ?Sized,
    R: TryCryptoRng + ?Sized,
{
    drive_async(session, protocol, domain, password, rng, PaceHost::finish).await
}

/// The async twin of [`establish_pace_any`], over an [`AsyncSession`].
///
/// # Errors
/// As [`establish_pace_any`].
pub async fn establish_pace_any_async<S, R>(
    session: &mut S,
    protocol: &[u8],
    domain: PaceDomain,
    password: &PacePassword<'_>,
    rng: &mut R,
) -> Result<PaceOutcome, Error>
where
    S: AsyncSession + ?Sized,
    R: TryCryptoRng + ?Sized,
{
    drive_async(
        session,
        protocol,
        domain,
        password,
        rng,
        finish_any(protocol),
    )
    .await
}

/// The run over an async session; `last` checks the last answer.
async fn drive_async<S, R, T>(
    session: &mut S,
    protocol: &[u8],
    domain: PaceDomain,
    password: &PacePassword<'_>,
    rng: &mut R,
    last: impl FnOnce(PaceHost, &[u8]) -> Result<T, Error>,
) -> Result<T, Error>
where
    S: AsyncSession + ?Sized,
    R: TryCryptoRng + ?Sized,
{
    let mut host = start(protocol, domain, password, rng)?;
    let mut cmd = [0u8; MAX_COMMAND_LEN];
    let mut rsp = [0u8; MAX_RESPONSE_LEN];
    let mut n = step(&mut host, 0, None, &mut cmd)?;
    for index in 1..=5 {
        let answer = session
            .transmit(&repr(cmd.get(..n).unwrap_or(&[]))?, &mut rsp)
            .await
            .map_err(transport_error)?;
        let status = host.password_status();
        if index == 5 {
            let result = last(host, answer.as_bytes());
            rsp.zeroize();
            return result.map_err(|e| explain(status, e));
        }
        n = step(&mut host, index, Some(&answer), &mut cmd)
            .map_err(|e| explain(host.password_status(), e))?;
    }
    Err(Error::WrongState)
}
