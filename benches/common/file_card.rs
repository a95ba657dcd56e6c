//! The in-process card of the session benches, shared by the criterion bench
//! (`benches/transport.rs`) and the instruction-count harness (`benches/icount.rs`).

#![allow(dead_code)]

use cardwire_apdu::{Cla, Command, CommandRepr, Ins};
use cardwire_transport::CardHandler;

/// The size of the transparent file [`FileCard`] serves.
pub const FILE_LEN: usize = 4096;

/// The logical command of the per-command rows: READ BINARY of 128 bytes (case 2 short).
pub fn read_128() -> CommandRepr<'static> {
    CommandRepr::new(Cla::INTERINDUSTRY, Ins::READ_BINARY, 0, 0).with_ne(128)
}

/// A card with one 4 KiB transparent file: READ BINARY answers up to Ne bytes (at most 256
/// unless `extended`); every other command gets 9000. Counts the APDUs it receives.
pub struct FileCard {
    file: Vec<u8>,
    extended: bool,
    pub apdus: usize,
}

impl FileCard {
    pub fn new(extended: bool) -> Self {
        Self {
            file: (0..FILE_LEN).map(|i| (i % 251) as u8).collect(),
            extended,
            apdus: 0,
        }
    }
}

impl CardHandler for FileCard {
    fn atr(&self) -> &[u8] {
        &[0x3B, 0x00]
    }
    fn power_on(&mut self) {}
    fn power_off(&mut self) {}
    fn process(&mut self, command: &[u8], rsp: &mut [u8]) -> usize {
        self.apdus += 1;
        let Ok(cmd) = Command::new_checked(command) else {
            rsp[..2].copy_from_slice(&[0x67, 0x00]);
            return 2;
        };
        if cmd.ins() != Ins::READ_BINARY {
            rsp[..2].copy_from_slice(&[0x90, 0x00]);
            return 2;
        }
        let offset = (usize::from(cmd.p1()) << 8 | usize::from(cmd.p2())).min(FILE_LEN);
        let max = if self.extended { rsp.len() - 2 } else { 256 };
        let n = (cmd.ne() as usize).min(FILE_LEN - offset).min(max);
        rsp[..n].copy_from_slice(&self.file[offset..offset + n]);
        rsp[n..n + 2].copy_from_slice(&[0x90, 0x00]);
        n + 2
    }
}
