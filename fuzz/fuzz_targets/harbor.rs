#![no_main]
// Harbor's answers as Berth parses them: never a panic, whatever the bytes.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<Vec<berth_harbor::Artifact>>(data);
    let _ = serde_json::from_slice::<Vec<berth_harbor::Project>>(data);
    let _ = serde_json::from_slice::<berth_harbor::ProjectSummary>(data);
    let _ = serde_json::from_slice::<Vec<berth_harbor::GcRun>>(data).map(|runs| runs.iter().map(|r| r.freed_space()).count());
    let _ = serde_json::from_slice::<Vec<berth_harbor::Rule>>(data).map(|rules| rules.iter().map(|r| r.matches("a/b", "v1")).count());
    if let Ok(s) = std::str::from_utf8(data) {
        if let Some(t) = berth_harbor::next_link(s) {
            assert!(s.contains(&t));
        }
        let _ = berth_harbor::repository_path(s);
    }
});
