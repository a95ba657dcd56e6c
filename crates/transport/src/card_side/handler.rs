//! The card side: [`CardHandler`], implemented by card firmware and emulators.

/// A card seen from the inside: power events and one command APDU in, one response out.
///
/// Implemented by card firmware, the virtual card (`cardwire-vcard`) and test cards; served to
/// hosts in process, over the vpcd protocol to a real pcscd, or behind a T=0/T=1 link.
pub trait CardHandler {
    /// The Answer-to-Reset the card sends after a cold or warm reset (ISO/IEC 7816-3 §8).
    fn atr(&self) -> &[u8];

    /// Cold reset: power applied. Volatile state (selected files, verified PINs, secure
    /// channels) starts afresh.
    fn power_on(&mut self);

    /// Power removed. Volatile state is lost.
    fn power_off(&mut self);

    /// Warm reset (ISO/IEC 7816-3 §6.2.3): volatile state is lost, as on a cold reset.
    fn reset(&mut self) {
        self.power_off();
        self.power_on();
    }

    /// Processes one command APDU and writes its response (data then SW1 SW2) into `response`,
    /// returning how many bytes were written.
    ///
    /// The caller provides at least 258 bytes (a short response plus SW). A handler never
    /// writes past `response`; a longer answer is served with `61xx` and GET RESPONSE
    /// (ISO/IEC 7816-4 §5.3.4). A malformed command is answered with a status word (for
    /// example `6700` or `6E00`), never a panic.
    fn process(&mut self, command: &[u8], response: &mut [u8]) -> usize;
}
