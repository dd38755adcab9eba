//! How WebKitGTK draws the window, chosen before GTK starts (Linux only).
//!
//! WebKit composites the page with OpenGL. Without a GPU (a VM, a remote desktop, Xvfb) that GL is
//! Mesa's llvmpipe, on the CPU: measured with a million cached tags (`make bench`, window part), the
//! composited window took 367 MB (PSS) after start and 448 MB after use, and a search repainted in
//! 106 ms (p50); drawn without compositing, 274 MB, 326 MB and 24 ms. With a GPU, compositing is
//! WebKit's fast path, so it stays on. `BERTH_COMPOSITING=on|off` overrides the choice, and a user's
//! own `WEBKIT_DISABLE_COMPOSITING_MODE` or `WEBKIT_DISABLE_DMABUF_RENDERER` is left as it is.
//!
//! Drawn without compositing, nothing in the window uses GTK's OpenGL, yet GDK opened GLX on the X
//! display as it started (to choose its visuals: Mesa's GLX and software driver loaded, its
//! configuration parsed) before the page could load: `GDK_GL=disable` skips that (a user's own
//! `GDK_GL` is left as it is). Measured under Xvfb, app start to WebKit's web process started, eight
//! starts each: 462 to 805 ms (median 600) with GLX opened, 346 to 479 ms (median 414) with
//! `GDK_GL=disable`.

use std::path::Path;

/// What the window does, and why (logged at start).
#[derive(Debug, PartialEq, Eq)]
pub enum Rendering {
    /// WebKit's default: GPU compositing.
    Composited(&'static str),
    /// `WEBKIT_DISABLE_COMPOSITING_MODE=1`: the page drawn on the CPU into the window.
    NotComposited(&'static str),
    /// The user set WebKit's own variables: nothing changed.
    LeftToWebKit,
}

/// The choice, from the environment (`var`) and whether the machine has a GPU render node.
pub fn choose(var: impl Fn(&str) -> Option<String>, has_render_node: bool) -> Rendering {
    if var("WEBKIT_DISABLE_COMPOSITING_MODE").is_some() || var("WEBKIT_DISABLE_DMABUF_RENDERER").is_some() {
        return Rendering::LeftToWebKit;
    }
    match var("BERTH_COMPOSITING").as_deref().map(str::trim) {
        Some("on") => Rendering::Composited("BERTH_COMPOSITING=on"),
        Some("off") => Rendering::NotComposited("BERTH_COMPOSITING=off"),
        _ if has_render_node => Rendering::Composited("a GPU render node (/dev/dri/renderD*) is present"),
        _ => Rendering::NotComposited("no GPU render node (/dev/dri/renderD*): GL would be software (llvmpipe)"),
    }
}

/// Whether `/dev/dri` holds a render node (hardware GL for WebKit).
pub fn has_render_node(dri: &Path) -> bool {
    std::fs::read_dir(dri)
        .map(|d| d.flatten().any(|e| e.file_name().to_string_lossy().starts_with("renderD")))
        .unwrap_or(false)
}

/// Applies the choice. Call first in `main`, before any other thread exists (it sets an environment
/// variable WebKit reads when it starts).
pub fn apply() -> Rendering {
    let r = choose(|k| std::env::var(k).ok(), has_render_node(Path::new("/dev/dri")));
    if let Rendering::NotComposited(_) = r {
        for (k, v) in not_composited_env(|k| std::env::var_os(k).is_some()) {
            std::env::set_var(k, v);
        }
    }
    r
}

/// The variables set for a window drawn without compositing, but those the user set (`is_set`).
pub fn not_composited_env(is_set: impl Fn(&str) -> bool) -> Vec<(&'static str, &'static str)> {
    [("WEBKIT_DISABLE_COMPOSITING_MODE", "1"), ("GDK_GL", "disable")].into_iter().filter(|(k, _)| !is_set(k)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn software_gl_draws_without_compositing_and_a_gpu_keeps_it() {
        assert!(matches!(choose(env(&[]), false), Rendering::NotComposited(_)));
        assert!(matches!(choose(env(&[]), true), Rendering::Composited(_)));
    }

    #[test]
    fn berth_compositing_overrides_and_webkit_variables_are_the_users() {
        assert!(matches!(choose(env(&[("BERTH_COMPOSITING", "on")]), false), Rendering::Composited(_)));
        assert!(matches!(choose(env(&[("BERTH_COMPOSITING", "off")]), true), Rendering::NotComposited(_)));
        assert!(matches!(choose(env(&[("BERTH_COMPOSITING", "maybe")]), true), Rendering::Composited(_)));
        let theirs = env(&[("WEBKIT_DISABLE_DMABUF_RENDERER", "1"), ("BERTH_COMPOSITING", "off")]);
        assert_eq!(choose(theirs, false), Rendering::LeftToWebKit);
    }

    #[test]
    fn without_compositing_gtk_leaves_gl_alone_unless_the_user_chose() {
        assert_eq!(not_composited_env(|_| false), [("WEBKIT_DISABLE_COMPOSITING_MODE", "1"), ("GDK_GL", "disable")]);
        assert_eq!(not_composited_env(|k| k == "GDK_GL"), [("WEBKIT_DISABLE_COMPOSITING_MODE", "1")]);
    }

    #[test]
    fn a_render_node_is_found_in_the_dri_directory() {
        let dir = tempfile::tempdir().expect("dir");
        assert!(!has_render_node(dir.path()));
        std::fs::write(dir.path().join("card0"), b"").expect("card0");
        assert!(!has_render_node(dir.path()));
        std::fs::write(dir.path().join("renderD128"), b"").expect("renderD128");
        assert!(has_render_node(dir.path()));
        assert!(!has_render_node(&dir.path().join("missing")));
    }
}
