//! Where `journey` and `emrtd` find their card: a PC/SC reader named by `--reader`, or the
//! built-in virtual card.

use crate::failure::Failure;

/// Why `--reader NAME` cannot be used in this build.
///
/// The PC/SC backend of `cardwire-transport` (feature `pcsc`) is not in this tree yet, so
/// every subcommand that takes `--reader` explains that and what to do instead.
pub fn reader_unavailable(name: &str) -> Failure {
    let how = if cfg!(feature = "pcsc") {
        "this cardwire-transport has no PC/SC backend yet"
    } else {
        "this cardwire was built without PC/SC support (install pcscd and libpcsclite-dev, \
         then build with `--features pcsc`)"
    };
    Failure::Failed(format!(
        "cannot use the reader {name:?}: {how}; without --reader the built-in virtual card is used"
    ))
}

use std::cell::RefCell;
use std::rc::Rc;

use cardwire_transport::Transport;

/// One command/response pair as it crossed the wire.
#[derive(Clone, Debug)]
pub struct WireApdu {
    /// The command APDU bytes.
    pub command: Vec<u8>,
    /// The response APDU bytes (data and SW1 SW2).
    pub response: Vec<u8>,
}

/// A transport adapter that keeps a copy of every wire APDU (below any secure messaging, so
/// protected APDUs are recorded as they were sent) for `--trace` and reports.
pub struct Recorder<T> {
    /// The transport underneath.
    pub inner: T,
    /// The shared log.
    pub log: Rc<RefCell<Vec<WireApdu>>>,
}

impl<T: Transport> Transport for Recorder<T> {
    type Error = T::Error;

    fn transmit<'b>(
        &mut self,
        command: &[u8],
        response: &'b mut [u8],
    ) -> Result<&'b [u8], Self::Error> {
        let rsp = self.inner.transmit(command, response)?;
        self.log.borrow_mut().push(WireApdu {
            command: command.to_vec(),
            response: rsp.to_vec(),
        });
        Ok(rsp)
    }

    fn atr(&self) -> &[u8] {
        self.inner.atr()
    }

    fn reset(&mut self) -> Result<(), Self::Error> {
        self.inner.reset()
    }
}
