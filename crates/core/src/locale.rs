//! The system's message language, as gettext reads it: the window follows it (Simplified Chinese
//! under `LANG=zh_CN.UTF-8`) unless the user picked a language in the window. WebKitGTK's
//! `navigator.language` does not reliably reflect it, so the shell asks here. The CLI stays English.

/// The first of `LANGUAGE` (its first entry), `LC_ALL`, `LC_MESSAGES`, `LANG` that names a language,
/// e.g. `zh_CN.UTF-8`; None when only `C`/`POSIX` or nothing is set.
pub fn system_locale() -> Option<String> {
    locale_from(|k| std::env::var(k).ok())
}

fn locale_from(var: impl Fn(&str) -> Option<String>) -> Option<String> {
    let named = |v: &str| !v.is_empty() && v != "C" && v != "POSIX" && !v.starts_with("C.");
    // gettext ignores LANGUAGE when the locale itself is C.
    let locale = ["LC_ALL", "LC_MESSAGES", "LANG"].iter().filter_map(|k| var(k)).find(|v| !v.is_empty());
    if locale.as_deref().is_some_and(named) {
        if let Some(first) = var("LANGUAGE").and_then(|l| l.split(':').find(|x| named(x)).map(str::to_string)) {
            return Some(first);
        }
    }
    locale.filter(|v| named(v))
}

#[cfg(test)]
mod tests {
    use super::locale_from;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
    }

    #[test]
    fn follows_gettext_precedence() {
        assert_eq!(locale_from(env(&[("LANG", "zh_CN.UTF-8")])).as_deref(), Some("zh_CN.UTF-8"));
        assert_eq!(
            locale_from(env(&[("LANG", "en_US.UTF-8"), ("LC_ALL", "zh_CN.UTF-8")])).as_deref(),
            Some("zh_CN.UTF-8")
        );
        assert_eq!(
            locale_from(env(&[("LANG", "en_US.UTF-8"), ("LANGUAGE", "zh_CN:en")])).as_deref(),
            Some("zh_CN"),
            "LANGUAGE first"
        );
        assert_eq!(locale_from(env(&[("LANG", "C.UTF-8"), ("LANGUAGE", "zh_CN")])), None, "C ignores LANGUAGE");
        assert_eq!(locale_from(env(&[("LC_MESSAGES", "POSIX")])), None);
        assert_eq!(locale_from(env(&[])), None);
    }
}
