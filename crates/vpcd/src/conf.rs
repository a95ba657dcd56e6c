//! reader.conf.d entries for pcscd's vpcd driver.

use std::format;
use std::string::String;

#[cfg(doc)]
use crate::server::{Server, connect};

/// The path of the vpcd driver installed by Debian's `vsmartcard-vpcd` package.
pub const DRIVER_PATH: &str = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so";

/// The reader.conf.d entry that makes pcscd's vpcd driver connect to a [`Server`] on
/// `127.0.0.1:port` (and `port + 1` for the second slot).
///
/// pcscd names the readers `"<friendly_name> 00 00"` and `"<friendly_name> 00 01"`. Write the
/// text into a directory of its own and start `pcscd --foreground -c DIR`; see
/// `docs/PCSC.md`.
pub fn reader_conf(friendly_name: &str, port: u16) -> String {
    format!(
        "# cardwire: serve a card to pcscd through vsmartcard's vpcd driver (reversed mode:\n\
         # the driver connects to 127.0.0.1:{port} and :{next}).\n\
         FRIENDLYNAME \"{friendly_name}\"\n\
         DEVICENAME   127.0.0.1:{port}\n\
         LIBPATH      {DRIVER_PATH}\n",
        next = port.wrapping_add(1),
    )
}

/// The reader.conf.d entry for the driver's default mode: it listens on `port` (all
/// interfaces) and [`connect`] connects to it. pcscd names the reader
/// `"<friendly_name> 00 00"`.
pub fn reader_conf_listening(friendly_name: &str, port: u16) -> String {
    format!(
        "# cardwire: vsmartcard's vpcd driver listening on port {port} (all interfaces: run\n\
         # pcscd in a private network namespace).\n\
         FRIENDLYNAME \"{friendly_name}\"\n\
         DEVICENAME   /dev/null:{port}\n\
         LIBPATH      {DRIVER_PATH}\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_conf_names_both_ports_by_loopback() {
        let conf = reader_conf("cardwire test", 35_990);
        assert!(conf.contains("FRIENDLYNAME \"cardwire test\""));
        assert!(conf.contains("DEVICENAME   127.0.0.1:35990"));
        assert!(conf.contains(DRIVER_PATH));
    }
}
