#![no_main]
use berth_registry::manifest::{media, Manifest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for ct in [None, Some(media::OCI_INDEX), Some(media::DOCKER_MANIFEST), Some(media::DOCKER_SCHEMA1_SIGNED), Some("text/html")] {
        if let Ok((mt, m)) = Manifest::parse(ct, data) {
            assert!(media::is_manifest(&mt) || mt == "application/vnd.oci.artifact.manifest.v1+json");
            let _ = m.references().len();
            let _ = m.image_size();
            let _ = m.artifact_type();
        }
    }
    let _ = berth_registry::config::ImageConfig::parse(data);
    if let Ok(s) = std::str::from_utf8(data) {
        if let Some(d) = berth_registry::Digest::parse(s) {
            assert_eq!(d.as_str(), s);
        }
    }
});
