//! Dispatch: the [`CardHandler`] entry point (command chaining and GET RESPONSE through
//! [`CardExchange`](cardwire_apdu::card::CardExchange); protected commands, chained or not,
//! through `secure.rs`, which unwraps each link first) and the table from INS to handler.

use cardwire_apdu::card::Incoming;
use cardwire_apdu::{Ins, StatusWord};
use cardwire_transport::CardHandler;

use super::command::{Arrival, Cmd, Reply};
use super::secure;
use super::virtual_card::VirtualCard;

impl VirtualCard {
    /// Handles one logical command (after chaining and secure messaging).
    pub(super) fn execute(&mut self, cmd: &Cmd) -> Reply {
        let ch = usize::from(cmd.channel);
        if cmd.channel > 3 || self.channels.get(ch).is_none_or(Option::is_none) {
            return Reply::sw(StatusWord::LOGICAL_CHANNEL_NOT_SUPPORTED);
        }
        let proprietary = cmd.cla.is_proprietary();
        match cmd.ins {
            Ins(0x50) if proprietary => secure::initialize_update(self, cmd),
            Ins::EXTERNAL_AUTHENTICATE if proprietary => {
                secure::scp03_external_authenticate(self, cmd)
            }
            _ if proprietary => Reply::sw(StatusWord::INS_NOT_SUPPORTED),
            Ins::MANAGE_CHANNEL => self.manage_channel(cmd),
            Ins::SELECT if cmd.p1 == 0x04 && VirtualCard::is_piv_aid(&cmd.data) => {
                self.piv_select(cmd)
            }
            Ins::SELECT => self.select(cmd),
            Ins(0xCB) => self.piv_get_data(cmd),
            Ins(0xDB) => self.piv_put_data(cmd),
            Ins(0x87) => self.piv_general_authenticate(cmd),
            Ins(0x47) => self.piv_generate(cmd),
            Ins::READ_BINARY | Ins::READ_BINARY_ODD => self.read_binary(cmd),
            Ins::UPDATE_BINARY | Ins::UPDATE_BINARY_ODD => self.update_binary(cmd),
            Ins::READ_RECORD => self.read_record(cmd),
            Ins::GET_DATA => self.get_data(cmd),
            Ins::GET_CHALLENGE | Ins::EXTERNAL_AUTHENTICATE if self.bac_is_refused_here(cmd) => {
                self.refuse_bac()
            }
            Ins::GET_CHALLENGE => self.get_challenge(cmd),
            Ins::VERIFY | Ins::CHANGE_REFERENCE_DATA | Ins::RESET_RETRY_COUNTER => {
                self.pin_command(cmd)
            }
            Ins::MANAGE_SECURITY_ENVIRONMENT => match self.emrtd_mse(cmd) {
                Some(reply) => reply,
                None => self.mse(cmd),
            },
            Ins(0x86) => self.emrtd_general_authenticate(cmd),
            Ins::INTERNAL_AUTHENTICATE if self.emrtd_selected(cmd.channel) => {
                self.active_authenticate(cmd)
            }
            Ins::PERFORM_SECURITY_OPERATION => self.pso(cmd),
            Ins::INTERNAL_AUTHENTICATE => self.internal_authenticate(cmd),
            Ins::EXTERNAL_AUTHENTICATE => secure::bac_external_authenticate(self, cmd),
            _ => Reply::sw(StatusWord::INS_NOT_SUPPORTED),
        }
    }
}

impl CardHandler for VirtualCard {
    fn atr(&self) -> &[u8] {
        &self.atr
    }

    fn power_on(&mut self) {
        self.clear_volatile();
    }

    fn power_off(&mut self) {
        self.clear_volatile();
    }

    fn process(&mut self, command: &[u8], response: &mut [u8]) -> usize {
        if response.len() < 2 {
            return 0;
        }
        let n = self.receive_and_respond(command, response);
        // A chain or a long answer went through the exchange buffer: once the exchange is
        // over, the buffer is wiped (dropped as `Zeroizing`) and replaced.
        self.exchange_used |= self.exchange.in_chain() || self.exchange.pending_len() > 0;
        if self.exchange_used && !self.exchange.in_chain() && self.exchange.pending_len() == 0 {
            self.exchange = super::virtual_card::fresh_exchange();
            self.exchange_used = false;
        }
        n
    }
}

impl VirtualCard {
    fn receive_and_respond(&mut self, command: &[u8], response: &mut [u8]) -> usize {
        // A protected command is unwrapped link by link before any chaining applies (see
        // `secure::process_protected`); plain commands go through the exchange layer.
        let (reply, wire_ne) = if secure::is_protected(command) {
            secure::process_protected(self, command)
        } else if secure::breaks_protected_chain(self, command) {
            (Reply::sw(StatusWord::LAST_COMMAND_OF_CHAIN_EXPECTED), 0)
        } else if VirtualCard::is_pace_step(command) && !self.exchange.in_chain() {
            // PACE's chained GENERAL AUTHENTICATE steps are each answered, not gathered.
            let Ok(c) = cardwire_apdu::Command::new_checked(command) else {
                return self.answer(&Reply::sw(StatusWord::WRONG_LENGTH), 0, response);
            };
            let cmd = Cmd {
                cla: c.cla(),
                ins: c.ins(),
                p1: c.p1(),
                p2: c.p2(),
                data: c.data().to_vec(),
                ne: c.ne(),
                channel: c.cla().channel(),
                arrival: Arrival::Plain,
            };
            (self.execute(&cmd), c.ne())
        } else {
            match self.exchange.receive(command, response) {
                Incoming::Answered(n) => return n,
                Incoming::Command(repr) => {
                    let channel = repr.cla.channel();
                    let cmd = Cmd {
                        cla: repr.cla,
                        ins: repr.ins,
                        p1: repr.p1,
                        p2: repr.p2,
                        data: repr.data.to_vec(),
                        ne: repr.ne,
                        channel,
                        arrival: Arrival::Plain,
                    };
                    let ne = repr.ne;
                    (self.execute(&cmd), ne)
                }
            }
        };
        self.answer(&reply, wire_ne, response)
    }

    fn answer(&mut self, reply: &Reply, wire_ne: u32, response: &mut [u8]) -> usize {
        match self
            .exchange
            .respond(&reply.data, reply.sw, wire_ne, response)
        {
            Ok(n) => n,
            Err(_) => {
                let sw = StatusWord::EXECUTION_ERROR.to_bytes();
                match response.get_mut(..2) {
                    Some(out) => {
                        out.copy_from_slice(&sw);
                        2
                    }
                    None => 0,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Seed;

    #[test]
    fn the_exchange_buffer_is_replaced_once_a_chain_is_over() {
        let mut card = VirtualCard::new(&Seed::DEFAULT).unwrap();
        card.power_on();
        let mut rsp = [0u8; 64];
        // A chained VERIFY's first link stays in the buffer until the chain ends...
        card.process(
            &[0x10, 0x20, 0x00, 0x80, 0x04, b'1', b'2', b'3', b'4'],
            &mut rsp,
        );
        assert!(card.exchange.in_chain());
        assert!(card.exchange_used);
        // ...then the buffer holding it is dropped (wiped) and a fresh one takes its place.
        card.process(
            &[0x00, 0x20, 0x00, 0x80, 0x04, b'5', b'6', 0xFF, 0xFF],
            &mut rsp,
        );
        assert!(!card.exchange.in_chain());
        assert!(!card.exchange_used);
    }
}
