//! `cardwire serve --vpcd 127.0.0.1:PORT`: the virtual card in a real pcscd, through the
//! vsmartcard vpcd driver in reversed mode (the driver connects to PORT and PORT+1).

use std::net::SocketAddr;
use std::path::PathBuf;

use cardwire_vcard::personalise::{DEFAULT_PIN, DEFAULT_PUK};
use cardwire_vcard::{Seed, VirtualCard};
use cardwire_vpcd::{Server, reader_conf};

use crate::failure::Failure;
use crate::input::to_hex;

/// Arguments of `cardwire serve`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  cardwire serve --vpcd 127.0.0.1:35963
  cardwire serve --vpcd 127.0.0.1:35963 --state card.state
  cardwire serve --vpcd 127.0.0.1:35963 --no-bac

The eMRTD application's card access number (CAN, a PACE password) is printed at start: six
digits derived from the seed. With --no-bac it refuses BAC as newer documents do.

Put the printed reader.conf.d entry in /etc/reader.conf.d/cardwire and (re)start pcscd;
`opensc-tool -l` then lists the reader \"cardwire virtual card 00 00\" with the card inserted
(and \"... 00 01\" with a second virtual card).
The card is served until the process is interrupted; pcscd may restart meanwhile: the
driver reconnects.

THIS IS A TEST CARD. Its default seed (and so its signing key), CA key, PIN 123456, PUK
12345678 and SCP03 keys 404142..4F are public. A retry counter kept in a file is not tamper
resistant: whoever can write the --state file can reset it, whoever can read it can search
the PIN offline (it is created 0600 and refused when others can read it; seal it with
--state-passphrase-file). The vpcd driver speaks TCP only: any local user or process that
connects to the port first talks to the card, so serve it only on a machine whose users you
trust. The SCP03 keys and the PIV management key 9B are each blocked after 10 failed
authentications, like a PIN; a blocked 9B needs a new --state file.")]
pub struct Args {
    /// Where the vpcd driver connects: 127.0.0.1:PORT (it also uses PORT+1 for its second
    /// slot, which holds a second, volatile virtual card).
    #[arg(long, value_name = "127.0.0.1:PORT")]
    pub vpcd: String,
    /// Keep the card's state (PIN counters, files) in FILE.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Seal the state file with the passphrase on the first line of FILE
    /// (ChaCha20-Poly1305 under an Argon2id key).
    #[arg(
        long = "state-passphrase-file",
        value_name = "FILE",
        requires = "state"
    )]
    pub state_passphrase_file: Option<PathBuf>,
    /// Seed text for a fresh virtual card (default: the reference card).
    #[arg(long, value_name = "TEXT")]
    pub seed: Option<String>,
    /// Make the eMRTD application refuse BAC (`6982`), as documents issued for PACE only do;
    /// kept in --state (PACE with the printed CAN or the MRZ still works).
    #[arg(long = "no-bac")]
    pub no_bac: bool,
    /// Write the card's test CSCA certificate (the trust anchor of its EF.SOD) to FILE
    /// before serving: PEM if FILE ends in .pem, DER otherwise.
    #[arg(long = "export-csca", value_name = "FILE")]
    pub export_csca: Option<PathBuf>,
}

/// Runs `cardwire serve`.
pub fn run(args: &Args) -> Result<(), Failure> {
    let addr: SocketAddr = args.vpcd.parse().map_err(|_| {
        Failure::Usage(format!(
            "--vpcd {:?} is not an address like 127.0.0.1:35963",
            args.vpcd
        ))
    })?;
    if !addr.ip().is_loopback() {
        return Err(Failure::Usage(format!(
            "--vpcd {addr}: the virtual card is served on the loopback interface only (127.0.0.1)"
        )));
    }
    let seed = args.seed.as_deref().map_or(Seed::DEFAULT, Seed::from_text);
    if let Some(path) = &args.export_csca {
        crate::emrtd_trust::export_csca(&seed, path)?;
    }
    let card = match &args.state {
        Some(path) => {
            let passphrase = args
                .state_passphrase_file
                .as_ref()
                .map(crate::secret_input::passphrase_file)
                .transpose()?;
            VirtualCard::open_with(path, &seed, passphrase)
        }
        None => VirtualCard::new(&seed),
    }
    .map_err(|e| Failure::Failed(e.to_string()))?;
    let mut card = card;
    if args.no_bac {
        card.set_bac_refused(true)
            .map_err(|sw| Failure::Failed(format!("cannot save the card's state ({sw})")))?;
    }
    let server = Server::bind(addr.port()).map_err(|e| {
        Failure::Failed(format!(
            "cannot listen on 127.0.0.1:{} and :{}: {e}",
            addr.port(),
            addr.port().saturating_add(1)
        ))
    })?;
    println!("cardwire virtual card for pcscd (vpcd driver, reversed mode): a TEST card");
    println!(
        "  cardholder {}, user ID {}, ATR {}",
        card.identity().name,
        card.identity().user_id,
        to_hex(cardwire_transport::CardHandler::atr(&card))
    );
    println!(
        "  PIN {DEFAULT_PIN}, PUK {DEFAULT_PUK} on a fresh card; SCP03 test keys 404142…4F (all public)"
    );
    println!(
        "  any local process that reaches 127.0.0.1:{} first talks to this card",
        addr.port()
    );
    println!(
        "  PIV application A000000308000010000100: card management key (9B, 3DES) {} on a fresh card (a test value)",
        to_hex(&cardwire_vcard::piv::DEFAULT_MANAGEMENT_KEY)
    );
    let mrz = card.mrz();
    println!(
        "  eMRTD application A0000002471001: CAN {}, MRZ document {} born {} expires {}; BAC {}",
        card.can(),
        mrz.document_number,
        mrz.birth_date,
        mrz.expiry_date,
        if card.bac_refused() {
            "refused (PACE only)"
        } else {
            "accepted"
        }
    );
    if let Some(p) = &args.state {
        println!("  state kept in {}", p.display());
    }
    println!(
        "\nreader.conf.d entry:\n{}",
        reader_conf("cardwire virtual card", server.port())
    );
    // The driver has two slots and pcscd needs both connected: the second holds a second,
    // volatile virtual card of its own.
    let second = VirtualCard::new(&Seed::from_text("cardwire second vpcd slot"))
        .map_err(|e| Failure::Failed(e.to_string()))?;
    let running = server
        .spawn([card, second])
        .map_err(|e| Failure::Failed(format!("cannot start serving: {e}")))?;
    println!("serving on 127.0.0.1:{} (Ctrl-C to stop)", running.port());
    // Every change of card state is saved atomically as it happens, so stopping the process
    // at any moment loses nothing.
    loop {
        std::thread::park();
    }
}
