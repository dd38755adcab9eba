#![no_main]
// Nexus's answers as Berth parses them: never a panic, whatever the bytes.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    berth_nexus::fuzz_parse(data);
});
