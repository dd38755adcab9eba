#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Some(target) = berth_registry::link::next_link(s) {
            // The target is always a slice of the input between '<' and '>'.
            assert!(s.contains(target));
            assert!(!target.contains('>'));
        }
    }
});
