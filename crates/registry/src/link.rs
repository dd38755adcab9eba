//! RFC 8288 `Link` header parsing, as registries use it for pagination (`<…>; rel="next"`).

/// Returns the target of the first `rel="next"` link in a `Link` header value, exactly as written
/// (often a relative reference such as `/v2/_catalog?last=a&n=100`; resolve it against the request URL).
pub fn next_link(header: &str) -> Option<&str> {
    let mut rest = header;
    loop {
        let (_, after) = rest.split_once('<')?;
        let (target, params_and_more) = after.split_once('>')?;
        // Parameters run until the next link (a comma outside quotes followed by '<') or the end.
        let (params, next) = split_params(params_and_more);
        if params.split(';').filter_map(|p| p.split_once('=')).any(|(k, v)| {
            k.trim().eq_ignore_ascii_case("rel")
                && v.trim().trim_matches('"').split_ascii_whitespace().any(|r| r.eq_ignore_ascii_case("next"))
        }) {
            return Some(target);
        }
        rest = next?;
    }
}

fn split_params(s: &str) -> (&str, Option<&str>) {
    let mut in_quotes = false;
    for (i, c) in s.char_indices() {
        match c {
            '"' => in_quotes = !in_quotes,
            ',' if !in_quotes => {
                let (params, rest) = s.split_at(i);
                let next = rest.get(1..).unwrap_or_default();
                if next.trim_start().starts_with('<') {
                    return (params, Some(next));
                }
            }
            _ => {}
        }
    }
    (s, None)
}

#[cfg(test)]
mod tests {
    use super::next_link;

    #[test]
    fn distribution_form() {
        assert_eq!(
            next_link(r#"</v2/_catalog?last=other%2Fimg&n=1>; rel="next""#),
            Some("/v2/_catalog?last=other%2Fimg&n=1")
        );
    }

    #[test]
    fn several_links_and_unquoted_rel() {
        let h = r#"<https://a/prev>; rel="prev", <https://a/next?x=1>;rel=next"#;
        assert_eq!(next_link(h), Some("https://a/next?x=1"));
    }

    #[test]
    fn no_next() {
        assert_eq!(next_link(r#"<https://a/prev>; rel="prev""#), None);
        assert_eq!(next_link(""), None);
        assert_eq!(next_link("garbage <unterminated"), None);
    }

    #[test]
    fn comma_inside_quoted_param() {
        let h = r#"<a>; title="x, <y>"; rel="prev", <b>; rel="next""#;
        assert_eq!(next_link(h), Some("b"));
    }
}
