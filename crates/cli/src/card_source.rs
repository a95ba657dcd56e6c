//! Where `journey` and `emrtd` find their card: a PC/SC reader named by `--reader`, or the
//! built-in virtual card.

use crate::failure::Failure;

/// Connects to the card in the PC/SC reader `name` (shared mode, any protocol).
///
/// # Errors
/// The PC/SC error (no pcscd, unknown reader, no card), naming the reader and what failed:
/// `cannot use the reader "NAME": cannot connect to the smart card service: ...`.
#[cfg(feature = "pcsc")]
pub fn open_reader(name: &str) -> Result<cardwire_pcsc::PcscCard, Failure> {
    use cardwire_pcsc::{Context, Protocols, Share};
    let failed = |e: cardwire_pcsc::PcscError| {
        Failure::Failed(format!("cannot use the reader {name:?}: {e}"))
    };
    Context::establish()
        .map_err(failed)?
        .connect(name, Share::Shared, Protocols::ANY)
        .map_err(failed)
}

/// Without the `pcsc` feature there is no reader backend: explains how to get one.
///
/// # Errors
/// Always: a message naming the reader and the feature to build with.
#[cfg(not(feature = "pcsc"))]
pub fn open_reader(name: &str) -> Result<std::convert::Infallible, Failure> {
    Err(Failure::Failed(format!(
        "cannot use the reader {name:?}: this cardwire was built without PC/SC support \
         (install pcscd and libpcsclite-dev, then build with `--features pcsc`); without \
         --reader the built-in virtual card is used"
    )))
}

use std::cell::RefCell;
use std::rc::Rc;

use cardwire_transport::{TransactionEnd, Transport};

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

    fn protocol(&self) -> Option<cardwire_transport::Protocol> {
        self.inner.protocol()
    }

    fn reset(&mut self) -> Result<(), Self::Error> {
        self.inner.reset()
    }

    /// Forwards the transaction to the transport underneath (holding it for the whole body)
    /// and keeps recording the APDUs sent inside it.
    fn transaction(
        &mut self,
        body: &mut dyn FnMut(&mut dyn Transport<Error = Self::Error>) -> TransactionEnd,
    ) -> Result<(), Self::Error> {
        let log = Rc::clone(&self.log);
        self.inner.transaction(&mut |inner| {
            let mut recorder = Recorder {
                inner,
                log: Rc::clone(&log),
            };
            body(&mut recorder)
        })
    }
}
