//! [`Rv`]: a PKCS#11 return value, and the mapping of card and PIV errors onto it
//! (PKCS#11 v2.40 base specification §5.1, return values).

use core::fmt;

use cardwire_apdu::StatusWord;
use cardwire_pin::PinOutcome;
use cardwire_transport::ErrorKind;
use cryptoki_sys as ck;

/// A `CK_RV` other than `CKR_OK`: every fallible operation of the module returns one.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rv(pub ck::CK_RV);

macro_rules! rv_constants {
    ($($name:ident = $ck:ident;)*) => {
        impl Rv {
            $(
                #[doc = concat!("`", stringify!($ck), "`.")]
                pub const $name: Rv = Rv(ck::$ck);
            )*

            /// The `CKR_` name of this value, for logs.
            pub fn name(self) -> &'static str {
                match self.0 {
                    $(ck::$ck => stringify!($ck),)*
                    _ => "CKR_(other)",
                }
            }
        }
    };
}

rv_constants! {
    OK = CKR_OK;
    HOST_MEMORY = CKR_HOST_MEMORY;
    SLOT_ID_INVALID = CKR_SLOT_ID_INVALID;
    GENERAL_ERROR = CKR_GENERAL_ERROR;
    FUNCTION_FAILED = CKR_FUNCTION_FAILED;
    ARGUMENTS_BAD = CKR_ARGUMENTS_BAD;
    CANT_LOCK = CKR_CANT_LOCK;
    ATTRIBUTE_READ_ONLY = CKR_ATTRIBUTE_READ_ONLY;
    ATTRIBUTE_SENSITIVE = CKR_ATTRIBUTE_SENSITIVE;
    ATTRIBUTE_TYPE_INVALID = CKR_ATTRIBUTE_TYPE_INVALID;
    ATTRIBUTE_VALUE_INVALID = CKR_ATTRIBUTE_VALUE_INVALID;
    DATA_INVALID = CKR_DATA_INVALID;
    DATA_LEN_RANGE = CKR_DATA_LEN_RANGE;
    DEVICE_ERROR = CKR_DEVICE_ERROR;
    DEVICE_MEMORY = CKR_DEVICE_MEMORY;
    DEVICE_REMOVED = CKR_DEVICE_REMOVED;
    ENCRYPTED_DATA_INVALID = CKR_ENCRYPTED_DATA_INVALID;
    ENCRYPTED_DATA_LEN_RANGE = CKR_ENCRYPTED_DATA_LEN_RANGE;
    FUNCTION_CANCELED = CKR_FUNCTION_CANCELED;
    FUNCTION_NOT_SUPPORTED = CKR_FUNCTION_NOT_SUPPORTED;
    KEY_HANDLE_INVALID = CKR_KEY_HANDLE_INVALID;
    KEY_TYPE_INCONSISTENT = CKR_KEY_TYPE_INCONSISTENT;
    KEY_FUNCTION_NOT_PERMITTED = CKR_KEY_FUNCTION_NOT_PERMITTED;
    MECHANISM_INVALID = CKR_MECHANISM_INVALID;
    MECHANISM_PARAM_INVALID = CKR_MECHANISM_PARAM_INVALID;
    OBJECT_HANDLE_INVALID = CKR_OBJECT_HANDLE_INVALID;
    OPERATION_ACTIVE = CKR_OPERATION_ACTIVE;
    OPERATION_NOT_INITIALIZED = CKR_OPERATION_NOT_INITIALIZED;
    PIN_INCORRECT = CKR_PIN_INCORRECT;
    PIN_INVALID = CKR_PIN_INVALID;
    PIN_LEN_RANGE = CKR_PIN_LEN_RANGE;
    PIN_LOCKED = CKR_PIN_LOCKED;
    SESSION_CLOSED = CKR_SESSION_CLOSED;
    SESSION_COUNT = CKR_SESSION_COUNT;
    SESSION_HANDLE_INVALID = CKR_SESSION_HANDLE_INVALID;
    SESSION_PARALLEL_NOT_SUPPORTED = CKR_SESSION_PARALLEL_NOT_SUPPORTED;
    SESSION_READ_ONLY = CKR_SESSION_READ_ONLY;
    SESSION_EXISTS = CKR_SESSION_EXISTS;
    SESSION_READ_ONLY_EXISTS = CKR_SESSION_READ_ONLY_EXISTS;
    SESSION_READ_WRITE_SO_EXISTS = CKR_SESSION_READ_WRITE_SO_EXISTS;
    SIGNATURE_LEN_RANGE = CKR_SIGNATURE_LEN_RANGE;
    TEMPLATE_INCOMPLETE = CKR_TEMPLATE_INCOMPLETE;
    TEMPLATE_INCONSISTENT = CKR_TEMPLATE_INCONSISTENT;
    TOKEN_NOT_PRESENT = CKR_TOKEN_NOT_PRESENT;
    TOKEN_NOT_RECOGNIZED = CKR_TOKEN_NOT_RECOGNIZED;
    TOKEN_WRITE_PROTECTED = CKR_TOKEN_WRITE_PROTECTED;
    USER_ALREADY_LOGGED_IN = CKR_USER_ALREADY_LOGGED_IN;
    USER_NOT_LOGGED_IN = CKR_USER_NOT_LOGGED_IN;
    USER_PIN_NOT_INITIALIZED = CKR_USER_PIN_NOT_INITIALIZED;
    USER_TYPE_INVALID = CKR_USER_TYPE_INVALID;
    USER_ANOTHER_ALREADY_LOGGED_IN = CKR_USER_ANOTHER_ALREADY_LOGGED_IN;
    BUFFER_TOO_SMALL = CKR_BUFFER_TOO_SMALL;
    CRYPTOKI_NOT_INITIALIZED = CKR_CRYPTOKI_NOT_INITIALIZED;
    CRYPTOKI_ALREADY_INITIALIZED = CKR_CRYPTOKI_ALREADY_INITIALIZED;
    NO_EVENT = CKR_NO_EVENT;
    RANDOM_NO_RNG = CKR_RANDOM_NO_RNG;
}

impl fmt::Debug for Rv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (0x{:X})", self.name(), self.0)
    }
}

impl fmt::Display for Rv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl core::error::Error for Rv {}

/// The module's result type.
pub type Result<T> = core::result::Result<T, Rv>;

/// A transport failure: removal and reset become `CKR_DEVICE_REMOVED` (the token is gone and
/// its sessions are closed); everything else is `CKR_DEVICE_ERROR`.
pub fn from_transport(kind: ErrorKind) -> Rv {
    match kind {
        ErrorKind::CardRemoved | ErrorKind::CardReset => Rv::DEVICE_REMOVED,
        ErrorKind::BufferTooSmall => Rv::DEVICE_MEMORY,
        _ => Rv::DEVICE_ERROR,
    }
}

/// A PIN policy error (before anything was sent): `CKR_PIN_LEN_RANGE` for the length,
/// `CKR_PIN_INVALID` for a character the PIN may not contain.
pub fn from_pin_error(error: cardwire_pin::Error) -> Rv {
    use cardwire_pin::Error as E;
    match error {
        E::EmptyPin | E::PinTooLong { .. } | E::PinTooShort { .. } => Rv::PIN_LEN_RANGE,
        E::InvalidCharacter { .. } => Rv::PIN_INVALID,
        E::EntryTimeout | E::EntryCancelled => Rv::FUNCTION_CANCELED,
        E::EntryLengthOutOfRange => Rv::PIN_LEN_RANGE,
        E::ConfirmationMismatch => Rv::PIN_INVALID,
        E::Transport(kind) => from_transport(kind),
        _ => Rv::FUNCTION_FAILED,
    }
}

/// The outcome of VERIFY, CHANGE REFERENCE DATA or RESET RETRY COUNTER
/// (SP 800-73-4 Part 2 §3.2): `63Cx` → `CKR_PIN_INCORRECT`, `6983` → `CKR_PIN_LOCKED`.
///
/// # Errors
/// The `CKR_` value for every outcome other than [`PinOutcome::Verified`].
pub fn from_pin_outcome(outcome: PinOutcome) -> Result<()> {
    match outcome {
        PinOutcome::Verified => Ok(()),
        PinOutcome::WrongPin { retries_left: 0 } | PinOutcome::Blocked => Err(Rv::PIN_LOCKED),
        PinOutcome::WrongPin { .. } => Err(Rv::PIN_INCORRECT),
        PinOutcome::NotUsable => Err(Rv::PIN_LOCKED),
        PinOutcome::SecurityStatusNotSatisfied => Err(Rv::USER_NOT_LOGGED_IN),
        PinOutcome::Unexpected(StatusWord(0x6A80)) => Err(Rv::PIN_INVALID),
        PinOutcome::Unexpected(_) => Err(Rv::DEVICE_ERROR),
    }
}

/// A `cardwire-piv` error of a key operation (GENERAL AUTHENTICATE).
pub fn from_piv(error: cardwire_piv::Error) -> Rv {
    use cardwire_piv::Error as E;
    match error {
        E::Status { sw, .. } => match sw {
            StatusWord::SECURITY_STATUS_NOT_SATISFIED => Rv::USER_NOT_LOGGED_IN,
            StatusWord::AUTHENTICATION_METHOD_BLOCKED => Rv::PIN_LOCKED,
            StatusWord::FILE_NOT_FOUND | StatusWord::REFERENCED_DATA_NOT_FOUND => {
                Rv::KEY_HANDLE_INVALID
            }
            StatusWord(0x6A80) => Rv::DATA_INVALID,
            _ => Rv::DEVICE_ERROR,
        },
        E::Session(kind) => from_transport(kind),
        E::InvalidLength { .. } => Rv::DATA_LEN_RANGE,
        E::UnsupportedAlgorithm { .. } => Rv::KEY_TYPE_INCONSISTENT,
        E::Pin(e) => from_pin_error(e),
        E::BufferTooSmall { .. } => Rv::DEVICE_MEMORY,
        _ => Rv::DEVICE_ERROR,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_outcomes_map_exactly() {
        assert_eq!(from_pin_outcome(PinOutcome::Verified), Ok(()));
        assert_eq!(
            from_pin_outcome(PinOutcome::WrongPin { retries_left: 2 }),
            Err(Rv::PIN_INCORRECT)
        );
        assert_eq!(
            from_pin_outcome(PinOutcome::WrongPin { retries_left: 0 }),
            Err(Rv::PIN_LOCKED)
        );
        assert_eq!(from_pin_outcome(PinOutcome::Blocked), Err(Rv::PIN_LOCKED));
    }

    #[test]
    fn transport_and_status_map_exactly() {
        assert_eq!(from_transport(ErrorKind::CardRemoved), Rv::DEVICE_REMOVED);
        assert_eq!(from_transport(ErrorKind::CardReset), Rv::DEVICE_REMOVED);
        assert_eq!(from_transport(ErrorKind::Timeout), Rv::DEVICE_ERROR);
        let e = cardwire_piv::Error::Status {
            operation: cardwire_piv::Operation::GeneralAuthenticate,
            target: cardwire_piv::Target::Key(cardwire_piv::Slot::AUTHENTICATION),
            sw: StatusWord::SECURITY_STATUS_NOT_SATISFIED,
        };
        assert_eq!(from_piv(e), Rv::USER_NOT_LOGGED_IN);
        assert_eq!(
            from_pin_error(cardwire_pin::Error::PinTooShort { len: 3, min: 6 }),
            Rv::PIN_LEN_RANGE
        );
        assert_eq!(Rv::PIN_INCORRECT.name(), "CKR_PIN_INCORRECT");
    }
}
