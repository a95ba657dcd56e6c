//! COMPACT-TLV and historical bytes never panic; COMPACT-TLV re-encodes to the same bytes.
#![no_main]

use cardwire_tlv::compact::{self, HistoricalBytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(all) = compact::parse_all(data) {
        let mut out = Vec::new();
        for t in all {
            compact::write_tlv(&mut out, t.tag(), t.value()).unwrap();
        }
        assert_eq!(out, data);
    }
    if let Ok(hb) = HistoricalBytes::parse(data) {
        let _ = (
            hb.category(),
            hb.status(),
            hb.dir_data_reference(),
            hb.proprietary(),
        );
        let _ = (
            hb.supports_command_chaining(),
            hb.supports_extended_length(),
            hb.max_logical_channels(),
        );
        if let Some(c) = hb.card_capabilities() {
            let _ = (
                c.selection_methods(),
                c.data_coding(),
                c.logical_channel_assignment(),
            );
        }
        let _ = hb.card_service_data().map(|s| s.has_master_file());
        assert!(hb.objects().count() <= data.len());
    }
});
