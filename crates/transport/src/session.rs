//! [`Session`] and [`AsyncSession`]: the small traits that host helpers are written against.
//!
//! A session sends one *logical* command and returns its complete response: GET RESPONSE
//! (`61xx`), `6Cxx` re-sends, command chaining and secure messaging are the session's business
//! (ISO/IEC 7816-4 §5.3, §10). PIN, secure-messaging and PIV helpers in the crates above take
//! `&mut impl Session`, so another crate with its own transport (an OpenPGP card library, an
//! eMRTD reader, a YubiKey library) can reuse them by implementing one method.
//!
//! [`crate::Card`] implements [`Session`]; an async card session implements [`AsyncSession`].
//!
//! ```
//! use cardwire_apdu::{CommandRepr, Ins, Response};
//! use cardwire_transport::{ErrorKind, Session};
//!
//! /// A downstream session that answers every command with `9000` (in real code: your own
//! /// transport, which already handles `61xx`).
//! struct MySession;
//!
//! impl Session for MySession {
//!     type Error = ErrorKind;
//!     fn transmit<'r>(
//!         &mut self,
//!         _command: &CommandRepr<'_>,
//!         response: &'r mut [u8],
//!     ) -> Result<Response<&'r [u8]>, ErrorKind> {
//!         let out = response.get_mut(..2).ok_or(ErrorKind::BufferTooSmall)?;
//!         out.copy_from_slice(&[0x90, 0x00]);
//!         Response::new_checked(&*out).map_err(|_| ErrorKind::Protocol)
//!     }
//! }
//!
//! let mut session = MySession;
//! let mut buf = [0u8; 8];
//! let select = CommandRepr::new(cardwire_apdu::Cla(0), cardwire_apdu::Ins::SELECT, 4, 0);
//! assert!(session.transmit(&select, &mut buf)?.sw().is_success());
//! # Ok::<(), ErrorKind>(())
//! ```

use cardwire_apdu::{CommandRepr, Ins, Response};

use crate::transport::Error;

/// Whether an instruction carries PIN or PUK data (ISO/IEC 7816-4 §11.5.6–§11.5.10):
/// VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER, even and odd.
pub fn carries_reference_data(ins: Ins) -> bool {
    matches!(ins.0, 0x20 | 0x21 | 0x24 | 0x25 | 0x2C | 0x2D)
}

/// Whether a successful `ins` (with a data field when `has_data`) can raise the card's
/// security status: VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER with reference data
/// (ISO/IEC 7816-4 §11.5.6–§11.5.10), EXTERNAL/MUTUAL AUTHENTICATE (§11.5.4), GENERAL
/// AUTHENTICATE (§11.5.5). The `Card` session resets the card at the end of a transaction
/// after one of them succeeded (see `ReleasePolicy`).
pub fn raises_security_state(ins: Ins, has_data: bool) -> bool {
    (carries_reference_data(ins) && has_data) || matches!(ins.0, 0x82 | 0x86 | 0x87)
}

/// Whether a command may be sent a second time on the session's initiative (the opt-in
/// extended-length fallback, a retry after a transient failure).
///
/// Never for a command under secure messaging (its counter or MAC chaining moved on: class
/// byte bits b4–b3 of an interindustry class, b6 of a further interindustry class,
/// ISO/IEC 7816-4 §5.4.1), nor for commands whose repetition changes or consumes card state:
/// VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER (a PIN try each), PERFORM SECURITY
/// OPERATION (`2A`), GENERAL AUTHENTICATE (`86`/`87`), EXTERNAL/INTERNAL AUTHENTICATE
/// (`82`/`88`), GET CHALLENGE (`84`: a new challenge each time) and GENERATE ASYMMETRIC KEY
/// PAIR (`46`/`47`).
pub fn safe_to_resend(command: &CommandRepr<'_>) -> bool {
    let cla = command.cla.0;
    let secure = if cla & 0x80 != 0 {
        // Proprietary class: its secure-messaging indication is not known; assume it may be.
        cla & 0x0C != 0
    } else if cla & 0x40 == 0 {
        cla & 0x0C != 0
    } else {
        cla & 0x20 != 0
    };
    !secure
        && !carries_reference_data(command.ins)
        && !matches!(
            command.ins.0,
            0x2A | 0x2B | 0x86 | 0x87 | 0x82 | 0x83 | 0x88 | 0x89 | 0x84 | 0x85 | 0x46 | 0x47
        )
}

/// Whether a command is safe to send once more after a transient failure that left the
/// card's state alone (for example its answer was lost on the way): SELECT, GET DATA and
/// READ BINARY, not under secure messaging (ISO/IEC 7816-4 §11.2.2, §11.4.3, §11.3.3). They
/// read or select and change nothing else; GET CHALLENGE is not among them.
pub fn idempotent(command: &CommandRepr<'_>) -> bool {
    safe_to_resend(command) && matches!(command.ins.0, 0xA4 | 0xCA | 0xCB | 0xB0 | 0xB1)
}

/// One logical command out, its complete response back (ISO/IEC 7816-4 §5).
///
/// Implementations handle `61xx`/`6Cxx`, chaining and, when active, secure messaging. A status
/// word is data: any complete response is `Ok`, whatever its status.
pub trait Session {
    /// The session's error type.
    type Error: Error + core::fmt::Display;

    /// Sends `command` and returns the card's whole response (data and status word), placed
    /// in `response`.
    ///
    /// # Errors
    /// The session's own error when the command cannot be sent or the answer is incomplete,
    /// malformed or does not fit `response`.
    fn transmit<'r>(
        &mut self,
        command: &CommandRepr<'_>,
        response: &'r mut [u8],
    ) -> Result<Response<&'r [u8]>, Self::Error>;

    /// Whether the session's policy forbids sending PIN data in plain (secure messaging
    /// required and not active). PIN helpers check it to refuse early with a typed outcome.
    /// The default is `false`: a session without secure messaging has no such policy.
    fn plain_pin_forbidden(&self) -> bool {
        false
    }
}

impl<S: Session + ?Sized> Session for &mut S {
    type Error = S::Error;

    fn transmit<'r>(
        &mut self,
        command: &CommandRepr<'_>,
        response: &'r mut [u8],
    ) -> Result<Response<&'r [u8]>, Self::Error> {
        (**self).transmit(command, response)
    }

    fn plain_pin_forbidden(&self) -> bool {
        (**self).plain_pin_forbidden()
    }
}

/// The async twin of [`Session`], for executors such as Embassy or Tokio. Native `async fn`
/// in traits: no allocator, no runtime dependency.
#[allow(async_fn_in_trait)] // no `Send` bound on purpose: embedded executors are single-threaded
pub trait AsyncSession {
    /// The session's error type.
    type Error: Error + core::fmt::Display;

    /// Sends `command` and returns the card's whole response in `response`.
    ///
    /// # Errors
    /// As [`Session::transmit`].
    async fn transmit<'r>(
        &mut self,
        command: &CommandRepr<'_>,
        response: &'r mut [u8],
    ) -> Result<Response<&'r [u8]>, Self::Error>;

    /// As [`Session::plain_pin_forbidden`].
    fn plain_pin_forbidden(&self) -> bool {
        false
    }
}

impl<S: AsyncSession + ?Sized> AsyncSession for &mut S {
    type Error = S::Error;

    async fn transmit<'r>(
        &mut self,
        command: &CommandRepr<'_>,
        response: &'r mut [u8],
    ) -> Result<Response<&'r [u8]>, Self::Error> {
        (**self).transmit(command, response).await
    }

    fn plain_pin_forbidden(&self) -> bool {
        (**self).plain_pin_forbidden()
    }
}

/// A blocking [`Session`] seen as an [`AsyncSession`] whose every `transmit` completes on its
/// first poll.
///
/// With [`run_ready`] it lets a crate write its host operations **once**, as `async` code
/// over [`AsyncSession`], and offer them over a blocking [`Session`] too, sending exactly the
/// same APDUs (as [`crate::Card`] and [`crate::AsyncCard`] share one engine).
///
/// ```
/// use cardwire_apdu::{Cla, CommandRepr, Ins, Response};
/// use cardwire_transport::session::{AsyncSession, Ready, Session, run_ready};
/// use cardwire_transport::ErrorKind;
///
/// struct Ok9000;
/// impl Session for Ok9000 {
///     type Error = ErrorKind;
///     fn transmit<'r>(
///         &mut self,
///         _command: &CommandRepr<'_>,
///         response: &'r mut [u8],
///     ) -> Result<Response<&'r [u8]>, ErrorKind> {
///         let out = response.get_mut(..2).ok_or(ErrorKind::BufferTooSmall)?;
///         out.copy_from_slice(&[0x90, 0x00]);
///         Response::new_checked(&*out).map_err(|_| ErrorKind::Protocol)
///     }
/// }
///
/// /// Written once, over the async trait.
/// async fn select<S: AsyncSession>(session: &mut S) -> Result<bool, S::Error> {
///     let mut buf = [0u8; 8];
///     let cmd = CommandRepr::new(Cla(0), Ins::SELECT, 4, 0);
///     Ok(session.transmit(&cmd, &mut buf).await?.sw().is_success())
/// }
///
/// let mut session = Ready(Ok9000);
/// assert_eq!(run_ready(select(&mut session)), Ok(Ok(true)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ready<S>(pub S);

impl<S: Session> AsyncSession for Ready<S> {
    type Error = S::Error;

    async fn transmit<'r>(
        &mut self,
        command: &CommandRepr<'_>,
        response: &'r mut [u8],
    ) -> Result<Response<&'r [u8]>, Self::Error> {
        self.0.transmit(command, response)
    }

    fn plain_pin_forbidden(&self) -> bool {
        self.0.plain_pin_forbidden()
    }
}

/// A future given to [`run_ready`] was not complete after its first poll: it awaited
/// something other than [`Ready`]'s methods. A bug in the caller, never a card condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NotReady;

impl core::fmt::Display for NotReady {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("a blocking session operation did not complete at once")
    }
}

impl core::error::Error for NotReady {}

impl Error for NotReady {
    fn kind(&self) -> crate::ErrorKind {
        crate::ErrorKind::Other
    }
}

/// Polls `future` once, with a no-op waker, and returns its output.
///
/// Meant for futures that await only [`Ready`]'s methods (or other futures that never wait):
/// those complete on the first poll. It never loops and never blocks.
///
/// # Errors
/// [`NotReady`] when the future returned `Pending` (it is dropped); debug builds assert
/// that this does not happen.
pub fn run_ready<F: core::future::Future>(future: F) -> Result<F::Output, NotReady> {
    let mut future = core::pin::pin!(future);
    let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
    match future.as_mut().poll(&mut cx) {
        core::task::Poll::Ready(output) => Ok(output),
        core::task::Poll::Pending => {
            debug_assert!(false, "a future given to run_ready waited");
            Err(NotReady)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use cardwire_apdu::{Cla, CommandRepr};

    struct Echo {
        sent: usize,
        forbid: bool,
    }

    impl Session for Echo {
        type Error = ErrorKind;
        fn transmit<'r>(
            &mut self,
            command: &CommandRepr<'_>,
            response: &'r mut [u8],
        ) -> Result<Response<&'r [u8]>, ErrorKind> {
            self.sent += 1;
            let out = response.get_mut(..3).ok_or(ErrorKind::BufferTooSmall)?;
            out.copy_from_slice(&[command.ins.0, 0x90, 0x00]);
            Response::new_checked(&*out).map_err(|_| ErrorKind::Protocol)
        }
        fn plain_pin_forbidden(&self) -> bool {
            self.forbid
        }
    }

    #[test]
    fn ready_runs_async_code_over_a_blocking_session_in_one_poll() {
        let mut session = Ready(Echo {
            sent: 0,
            forbid: true,
        });
        let cmd = CommandRepr::new(Cla(0), Ins(0xCA), 0, 0);
        let mut buf = [0u8; 8];
        let data = run_ready(async {
            let first = session
                .transmit(&cmd, &mut buf)
                .await?
                .data()
                .first()
                .copied();
            let again = session.transmit(&cmd, &mut buf).await?;
            assert!(again.sw().is_success());
            Ok::<_, ErrorKind>(first)
        });
        assert_eq!(data, Ok(Ok(Some(0xCA))));
        assert_eq!(session.0.sent, 2);
        assert!(AsyncSession::plain_pin_forbidden(&session));
        let mut small = [0u8; 2];
        assert_eq!(
            run_ready(session.transmit(&cmd, &mut small)).map(|r| r.err()),
            Ok(Some(ErrorKind::BufferTooSmall))
        );
    }

    /// A future that is never ready: `run_ready` gives it back as `NotReady` after one poll
    /// (debug builds assert first).
    #[test]
    #[cfg_attr(debug_assertions, should_panic(expected = "run_ready waited"))]
    fn pending_is_a_typed_error_not_a_loop() {
        assert_eq!(run_ready(core::future::pending::<()>()), Err(NotReady));
        assert_eq!(NotReady.kind(), ErrorKind::Other);
    }
}
