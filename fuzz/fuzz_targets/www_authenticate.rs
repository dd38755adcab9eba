#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        // Several header values, split the way a response could carry them.
        let values: Vec<&str> = s.split('\n').collect();
        for c in berth_registry::auth::parse_challenges(values.iter().copied()) {
            assert_eq!(c.scheme, c.scheme.to_ascii_lowercase());
            for s in c.scopes() {
                let _ = berth_registry::auth::Scope::parse(&s).map(|p| p.to_string());
            }
        }
    }
});
