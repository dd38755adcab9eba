//! The desktop app runs once per data directory: a second launch hands over to the first window.

use std::path::Path;

/// The D-Bus name prefix the single running window owns for `data_dir`: the app identifier for the
/// XDG data directory; for another one (`$BERTH_DATA_DIR`, tests) with a suffix from its path, so that
/// separate data directories (parallel test sessions) do not hand over to each other's window.
pub fn instance_id(data_dir: &Path) -> String {
    if dirs::data_dir().is_some_and(|d| d.join("berth") == data_dir) {
        return berth_secrets::APP_ID.to_string();
    }
    // FNV-1a: stable across builds and platforms, unlike std's hasher.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in data_dir.as_os_str().as_encoded_bytes() {
        h = (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{}.d{h:016x}", berth_secrets::APP_ID)
}
