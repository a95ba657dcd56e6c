//! The PINs and keys the journey uses, and the PIN and PUK as it addresses them.

use cardwire_pin::{Pin, PinPolicy, PinSpec};
use cardwire_sm::scp03::StaticKeys;

use crate::failure::Failure;

/// The PIN as the journey addresses it: the PIV application PIN's reference `80` and format
/// (as the virtual card, `cardwire_vcard::personalise::PIN_SPEC`), 1 to 8 digits so real
/// cards with other lengths work too.
pub(super) const PIN: PinSpec = PinSpec {
    policy: JOURNEY_POLICY,
    ..PinSpec::PIV_APPLICATION_PIN
};
/// The PUK: the PIV PUK's reference `81` and format.
pub(super) const PUK: PinSpec = PinSpec {
    policy: JOURNEY_POLICY,
    ..PinSpec::PIV_PUK
};
/// A PIN or PUK in this journey: 1 to 8 digits.
const JOURNEY_POLICY: PinPolicy = PinPolicy::digits(1, 8);

/// The PINs and keys the journey uses: PINs in cardwire-pin's zeroized secret type, SCP03
/// keys in cardwire-sm's (both wiped on drop, redacted in `Debug`).
pub(super) struct Secrets {
    pub(super) pin: Pin,
    pub(super) puk: Pin,
    pub(super) new_pin: Pin,
    pub(super) scp03: StaticKeys,
    pub(super) kvn: u8,
}

/// A PIN or PUK from the command line or the terminal, checked before anything is sent.
pub(super) fn journey_pin(text: &str) -> Result<Pin, Failure> {
    let usage = || Failure::Usage("a PIN or PUK is 1 to 8 digits in this journey".to_string());
    let pin = Pin::new(text.as_bytes()).map_err(|_| usage())?;
    JOURNEY_POLICY.check(&pin).map_err(|_| usage())?;
    PIN.format.encode(&pin).map_err(|_| usage())?;
    Ok(pin)
}
