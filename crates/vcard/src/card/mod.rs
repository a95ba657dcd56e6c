//! The card operating system: [`VirtualCard`], a [`CardHandler`](cardwire_transport::CardHandler) in the ISO/IEC 7816-4 style.
//!
//! Commands (all on logical channels 0–3, CLA `0X`, or `8X` for GlobalPlatform):
//!
//! | INS | command | notes |
//! |---|---|---|
//! | `70` | MANAGE CHANNEL | open (P1 `00`, card-assigned or P2 = channel), close (P1 `80`) |
//! | `A4` | SELECT | P1 `00` FID/MF, `01` child DF, `02` EF, `03` parent, `04` DF name (full or partial), `08`/`09` path; P2 `00`/`04` FCP, `0C` none |
//! | `B0`/`B1` | READ BINARY | short/extended; SFI in P1; odd INS with offset DO `54`, answer in DO `53` |
//! | `D6`/`D7` | UPDATE BINARY | as READ BINARY; odd INS data `54` offset, `53` data |
//! | `B2` | READ RECORD | P1 record number, P2 SFI ‖ `100` |
//! | `CA` | GET DATA | `5F20` name, `DF20` user ID, `DF21` card serial, `DF22` signature counter, `7F66` extended length info; answer is the whole data object |
//! | `84` | GET CHALLENGE | 1–32 random bytes |
//! | `20` | VERIFY | P2 `80` PIN, `81` PUK (the PIV references, `cardwire_pin::PinSpec::PIV_*`); empty data: status; P1 `FF`: un-verify |
//! | `24` | CHANGE REFERENCE DATA | P1 `00`, old ‖ new (8 + 8 bytes) |
//! | `2C` | RESET RETRY COUNTER | P1 `00` PUK ‖ new PIN, `01` PUK; under SCP03 also `02` new PIN, `03` |
//! | `22` | MANAGE SECURITY ENVIRONMENT | P1 `41`, P2 `B6` (DST) or `A4` (AT): `80` algorithm `11`, `84` key `01` |
//! | `2A` | PSO: COMPUTE DIGITAL SIGNATURE | P1P2 `9E9A`, data = SHA-256 digest (32 bytes) |
//! | `88` | INTERNAL AUTHENTICATE | data = SHA-256 digest (32 bytes) |
//! | `CB` | GET DATA (PIV) | `3F FF`, `5C` tag list; answer `53` (see [`crate::piv`]) |
//! | `DB` | PUT DATA (PIV) | `3F FF`, `5C` tag list and `53`, or `7E`; needs the management key |
//! | `87` | GENERAL AUTHENTICATE (PIV) | P1 algorithm, P2 slot, `7C` template: sign, ECDH, 9B authentication |
//! | `47` | GENERATE ASYMMETRIC KEY PAIR (PIV) | P2 slot, `AC { 80 alg }`; needs the management key |
//! | `82` | EXTERNAL AUTHENTICATE | eMRTD BAC (ICAO 9303-11 §4.3; `6982` on a card without BAC) / SCP03 (CLA `84`) |
//! | `22` | MSE:Set AT (eMRTD) | P1P2 `C1A4`: PACE (`80` OID, `83` 1 MRZ / 2 CAN, `84` 12); `41A4` under SM: Chip Authentication |
//! | `86` | GENERAL AUTHENTICATE (eMRTD) | PACE's four steps (CLA `10` for 1-3, each answered); Chip Authentication `7C { 80 PK }` under SM |
//! | `88` | INTERNAL AUTHENTICATE (eMRTD) | Active Authentication under SM: 8-byte challenge, ECDSA P-256 `r ‖ s` |
//!
//! One concept per file: [`VirtualCard`] and its state (`virtual_card.rs`), the command and
//! answer types (`command.rs`), dispatch and the [`CardHandler`](cardwire_transport::CardHandler)
//! entry point (`dispatch.rs`), logical channels (`channels.rs`), files (`files.rs`), data
//! objects and challenges (`data.rs`), PIN and PUK (`pin.rs`), signing (`signing.rs`), secure
//! channels (`secure.rs`, `session.rs`), key failure counters (`key_tries.rs`) and persistence
//! (`persistence.rs`). An application
//! module (a PIV application, say) is one more handler file plus its arm in `dispatch.rs`.

mod channels;
mod command;
mod data;
mod dispatch;
mod emrtd;
mod files;
mod key_tries;
mod persistence;
mod pin;
mod piv;
mod secure;
mod security_environment;
mod selection;
mod session;
mod signing;
mod virtual_card;

pub use crate::personalise::{PIN_CONFIG, PIN_FORMAT, PIN_POLICY, PUK_POLICY};
pub use key_tries::KeyTries;
pub use virtual_card::VirtualCard;
