//! [`Faulty`]: a [`Transport`] adapter that injects failures at chosen commands, for tests.

use core::fmt;

use crate::transport::{Error, ErrorKind, TransactionEnd, Transport};

/// How many faults one [`Faulty`] can hold.
pub const MAX_FAULTS: usize = 8;

/// One failure to inject.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The command never reaches the card; transmit fails with this kind.
    Fail(ErrorKind),
    /// The card processes the command but its answer is lost; transmit fails with this kind.
    LoseResponse(ErrorKind),
    /// The answer is cut to this many bytes (0 or 1 bytes make a malformed response).
    Truncate(usize),
    /// The status word is replaced (for example by `6581`, memory failure).
    ReplaceStatus(u16),
    /// The card is removed: this and every later transmit fails with
    /// [`ErrorKind::CardRemoved`], until [`Transport::reset`].
    Remove,
}

/// A transport error from [`Faulty`]: injected, or from the wrapped transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultError<E> {
    /// A fault this adapter injected.
    Injected(ErrorKind),
    /// The wrapped transport failed.
    Inner(E),
}

impl<E: Error> Error for FaultError<E> {
    fn kind(&self) -> ErrorKind {
        match self {
            FaultError::Injected(kind) => *kind,
            FaultError::Inner(e) => e.kind(),
        }
    }
}

impl<E: fmt::Display> fmt::Display for FaultError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultError::Injected(kind) => write!(f, "injected fault: {kind}"),
            FaultError::Inner(e) => e.fmt(f),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> core::error::Error for FaultError<E> {}

/// Wraps a transport and injects [`Fault`]s at given transmissions (counted from 0).
///
/// ```
/// use cardwire_transport::{ErrorKind, Error, Fault, Faulty, Replay, Transport};
/// let transcript = [0, 0, 2, 0x90, 0x00, 0, 2, 0x90, 0x00];
/// let mut t = Faulty::new(Replay::new(&transcript)?);
/// t.inject(1, Fault::ReplaceStatus(0x6581)).map_err(|_| ErrorKind::Other)?;
/// let mut buf = [0u8; 4];
/// assert_eq!(t.transmit(&[0, 0xB0, 0, 0], &mut buf).map_err(|e| e.kind())?, [0x90, 0x00]);
/// assert_eq!(t.transmit(&[0, 0xB0, 0, 0], &mut buf).map_err(|e| e.kind())?, [0x65, 0x81]);
/// # Ok::<(), ErrorKind>(())
/// ```
#[derive(Debug, Clone)]
pub struct Faulty<T> {
    inner: T,
    faults: heapless::Vec<(usize, Fault), MAX_FAULTS>,
    count: usize,
    removed: bool,
}

impl<T: Transport> Faulty<T> {
    /// Wraps `inner`, with no faults planned.
    pub fn new(inner: T) -> Self {
        Self {
            inner,
            faults: heapless::Vec::new(),
            count: 0,
            removed: false,
        }
    }

    /// Plans `fault` for transmission number `at` (0 is the next one sent after creation).
    ///
    /// # Errors
    /// Gives the fault back when [`MAX_FAULTS`] are already planned.
    pub fn inject(&mut self, at: usize, fault: Fault) -> Result<&mut Self, Fault> {
        self.faults.push((at, fault)).map_err(|(_, f)| f)?;
        Ok(self)
    }

    /// How many transmissions were attempted.
    pub fn transmissions(&self) -> usize {
        self.count
    }

    /// The wrapped transport.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    /// The wrapped transport, mutably.
    pub fn inner_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// Gives the wrapped transport back.
    pub fn into_inner(self) -> T {
        self.inner
    }

    fn planned(&self, at: usize) -> Option<Fault> {
        self.faults
            .iter()
            .find(|(when, _)| *when == at)
            .map(|(_, f)| *f)
    }
}

impl<T: Transport> Transport for Faulty<T> {
    type Error = FaultError<T::Error>;

    fn transmit<'b>(
        &mut self,
        command: &[u8],
        response: &'b mut [u8],
    ) -> Result<&'b [u8], Self::Error> {
        let at = self.count;
        self.count += 1;
        let fault = self.planned(at);
        if fault == Some(Fault::Remove) {
            self.removed = true;
        }
        if self.removed {
            return Err(FaultError::Injected(ErrorKind::CardRemoved));
        }
        if let Some(Fault::Fail(kind)) = fault {
            return Err(FaultError::Injected(kind));
        }
        let len = self
            .inner
            .transmit(command, response)
            .map_err(FaultError::Inner)?
            .len();
        let len = match fault {
            Some(Fault::LoseResponse(kind)) => return Err(FaultError::Injected(kind)),
            Some(Fault::Truncate(n)) => n.min(len),
            Some(Fault::ReplaceStatus(sw)) if len >= 2 => {
                if let Some(tail) = response.get_mut(len - 2..len) {
                    tail.copy_from_slice(&sw.to_be_bytes());
                }
                len
            }
            _ => len,
        };
        response
            .get(..len)
            .ok_or(FaultError::Injected(ErrorKind::Other))
    }

    fn atr(&self) -> &[u8] {
        if self.removed { &[] } else { self.inner.atr() }
    }

    fn protocol(&self) -> Option<crate::Protocol> {
        self.inner.protocol()
    }

    fn reset(&mut self) -> Result<(), Self::Error> {
        self.removed = false;
        self.inner.reset().map_err(FaultError::Inner)
    }

    /// The faults apply inside the transaction too; the transport underneath is exclusive
    /// for the test's purpose.
    fn transaction(
        &mut self,
        body: &mut dyn FnMut(&mut dyn Transport<Error = Self::Error>) -> TransactionEnd,
    ) -> Result<(), Self::Error> {
        crate::transport::exclusive_transaction(self, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::Replay;

    const OK3: [u8; 16] = [
        0, 0, 2, 0x90, 0x00, 0, 2, 0x90, 0x00, 0, 3, 1, 0x90, 0x00, 0, 0,
    ];

    #[test]
    fn each_fault_acts_at_its_index_only() {
        let mut t = Faulty::new(Replay::new(&OK3).unwrap());
        t.inject(0, Fault::Fail(ErrorKind::Timeout)).unwrap();
        t.inject(1, Fault::LoseResponse(ErrorKind::CardReset))
            .unwrap();
        t.inject(3, Fault::Truncate(1)).unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(
            t.transmit(&[], &mut buf).unwrap_err().kind(),
            ErrorKind::Timeout
        );
        // The failed command never reached the replay; the lost one did.
        assert_eq!(
            t.transmit(&[], &mut buf).unwrap_err().kind(),
            ErrorKind::CardReset
        );
        assert_eq!(t.inner().sent(), 1);
        assert_eq!(t.transmit(&[], &mut buf).unwrap(), [0x90, 0x00]);
        assert_eq!(t.transmit(&[], &mut buf).unwrap(), [0x01]);
        assert_eq!(t.transmissions(), 4);
    }

    #[test]
    fn removal_sticks_until_reset() {
        let mut t = Faulty::new(Replay::new(&OK3).unwrap());
        t.inject(0, Fault::Remove).unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(
            t.transmit(&[], &mut buf).unwrap_err().kind(),
            ErrorKind::CardRemoved
        );
        assert_eq!(
            t.transmit(&[], &mut buf).unwrap_err().kind(),
            ErrorKind::CardRemoved
        );
        assert!(t.atr().is_empty());
        t.reset().unwrap();
        assert_eq!(t.transmit(&[], &mut buf).unwrap(), [0x90, 0x00]);
    }

    #[test]
    fn capacity_is_bounded() {
        let mut t = Faulty::new(Replay::new(&OK3).unwrap());
        for i in 0..MAX_FAULTS {
            t.inject(i, Fault::Remove).unwrap();
        }
        assert_eq!(t.inject(99, Fault::Remove).err(), Some(Fault::Remove));
    }
}
