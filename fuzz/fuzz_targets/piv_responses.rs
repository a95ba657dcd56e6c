//! PIV responses from a hostile card: the host operations over a session that answers with
//! fuzzer-chosen bytes, and the sans-IO response parsers. Never panics; an answer is either
//! a typed error or a view that passed its checks.
#![no_main]

use cardwire_apdu::{CommandRepr, Response};
use cardwire_pin::{Pin, PinReference};
use cardwire_piv::keygen::parse_control_template;
use cardwire_piv::{
    AlgorithmId, ManagementKey, MutualAuth, Piv, PublicKey, Slot, response,
};
use cardwire_transport::{ErrorKind, Session};
use libfuzzer_sys::fuzz_target;

/// Answers each command with the next fuzzer-chosen response: a length byte pair, then that
/// many bytes (the last two are the status word).
struct Hostile<'a>(&'a [u8]);

impl Session for Hostile<'_> {
    type Error = ErrorKind;
    fn transmit<'r>(
        &mut self,
        _command: &CommandRepr<'_>,
        rsp: &'r mut [u8],
    ) -> Result<Response<&'r [u8]>, ErrorKind> {
        let [a, b, rest @ ..] = self.0 else {
            return Err(ErrorKind::CardRemoved);
        };
        let n = (usize::from(*a) << 8 | usize::from(*b)).min(rest.len());
        let (answer, rest) = rest.split_at(n);
        self.0 = rest;
        let out = rsp.get_mut(..answer.len()).ok_or(ErrorKind::BufferTooSmall)?;
        out.copy_from_slice(answer);
        Response::new_checked(&*out).map_err(|_| ErrorKind::Protocol)
    }
}

struct Rng(u8);
impl rand_core::TryRng for Rng {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(0)
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(0)
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        dst.fill(self.0);
        Ok(())
    }
}
impl rand_core::TryCryptoRng for Rng {}

const ALGS: [AlgorithmId; 5] = [
    AlgorithmId::RSA_2048,
    AlgorithmId::ECC_P256,
    AlgorithmId::ECC_P384,
    AlgorithmId::AES_128,
    AlgorithmId::TDES_3KEY,
];

fuzz_target!(|data: &[u8]| {
    // The sans-IO parsers on the raw bytes.
    for alg in ALGS {
        let _ = response::signature(Slot::AUTHENTICATION, alg, data);
        let _ = response::shared_secret(Slot::KEY_MANAGEMENT, alg, data);
        if let Ok(key) = PublicKey::new_checked(Slot::SIGNATURE, alg, data) {
            assert_eq!(key.algorithm(), alg);
            let _ = (key.to_p256(), key.to_p384(), key.to_rsa());
        }
    }
    let _ = parse_control_template(data);
    let key = ManagementKey::DEFAULT_3DES;
    let mut auth = MutualAuth::new(&key);
    let mut out = [0u8; 64];
    let _ = auth.answer(data, &mut Rng(1), &mut out);
    let _ = auth.finish(data);

    // The host over a card that answers with the fuzz input.
    let mut piv = Piv::new(Hostile(data));
    let mut buf = [0u8; 1024];
    let _ = piv.select(&mut buf);
    let _ = piv.read_chuid(&mut buf);
    let _ = piv.read_discovery(&mut buf);
    let _ = piv.read_certificate(Slot::AUTHENTICATION, &mut buf);
    if let Ok(pin) = Pin::new(b"123456") {
        let _ = piv.verify_pin(PinReference::PIV_APPLICATION_PIN, &pin);
    }
    let _ = piv.pin_status(PinReference::PIV_PUK);
    let _ = piv.authenticate_management_key(&key, &mut Rng(2));
    let _ = piv.sign(Slot::AUTHENTICATION, AlgorithmId::ECC_P256, &[0x11; 32], &mut buf);
    let _ = piv.ecdh(Slot::KEY_MANAGEMENT, AlgorithmId::ECC_P384, &[0x04; 97], &mut buf);
    let _ = piv.generate(Slot::SIGNATURE, AlgorithmId::RSA_2048, &mut buf);
});
