//! Logical channels (ISO/IEC 7816-4 §5.1.1, §11.1.2 MANAGE CHANNEL).

use cardwire_apdu::StatusWord;

use crate::personalise;

use super::command::{Cmd, Reply};
use super::selection::Channel;
use super::virtual_card::VirtualCard;

impl VirtualCard {
    pub(super) fn channel(&self, ch: u8) -> Channel {
        self.channels
            .get(usize::from(ch))
            .copied()
            .flatten()
            .unwrap_or_else(Channel::fresh)
    }

    pub(super) fn set_channel(&mut self, ch: u8, state: Channel) {
        if let Some(slot) = self.channels.get_mut(usize::from(ch)) {
            *slot = Some(state);
        }
    }

    pub(super) fn manage_channel(&mut self, cmd: &Cmd) -> Reply {
        if !cmd.data.is_empty() {
            return Reply::sw(StatusWord::WRONG_LENGTH);
        }
        match (cmd.p1, cmd.p2) {
            (0x00, 0x00) => {
                if cmd.ne == 0 {
                    return Reply::sw(StatusWord::WRONG_LENGTH);
                }
                let free = (1..4u8).find(|c| {
                    self.channels
                        .get(usize::from(*c))
                        .is_some_and(Option::is_none)
                });
                match free {
                    Some(c) => {
                        let origin = self.channel(cmd.channel);
                        self.set_channel(
                            c,
                            Channel {
                                df: origin.df,
                                ef: None,
                            },
                        );
                        Reply::ok(vec![c])
                    }
                    None => Reply::sw(StatusWord::FUNCTION_NOT_SUPPORTED),
                }
            }
            (0x00, c @ 1..=3) => {
                if self
                    .channels
                    .get(usize::from(c))
                    .is_some_and(Option::is_some)
                {
                    return Reply::sw(StatusWord::CONDITIONS_OF_USE_NOT_SATISFIED);
                }
                let origin = self.channel(cmd.channel);
                self.set_channel(
                    c,
                    Channel {
                        df: origin.df,
                        ef: None,
                    },
                );
                Reply::sw(StatusWord::SUCCESS)
            }
            (0x80, 0x00) if cmd.channel != 0 => {
                self.close_channel(cmd.channel);
                Reply::sw(StatusWord::SUCCESS)
            }
            (0x80, c @ 1..=3) => {
                if self
                    .channels
                    .get(usize::from(c))
                    .is_some_and(Option::is_none)
                {
                    return Reply::sw(StatusWord::INCORRECT_P1_P2);
                }
                self.close_channel(c);
                Reply::sw(StatusWord::SUCCESS)
            }
            _ => Reply::sw(StatusWord::INCORRECT_P1_P2),
        }
    }

    pub(super) fn close_channel(&mut self, c: u8) {
        if let Some(slot) = self.channels.get_mut(usize::from(c)) {
            *slot = None;
        }
        if let Some(slot) = self.sessions.get_mut(usize::from(c)) {
            *slot = None;
        }
        self.session_epoch += 1;
    }

    /// Whether the eMRTD application is the current DF on `channel`.
    pub(super) fn emrtd_selected(&self, channel: u8) -> bool {
        let df = self.channel(channel).df;
        self.fs
            .node(df)
            .is_some_and(|n| n.fid == personalise::DF_EMRTD)
    }
}
