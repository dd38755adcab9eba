//! `WWW-Authenticate` parsing per RFC 7235: several challenges per header value, case-insensitive
//! schemes and parameter names, quoted strings with `\` escapes, token68 values.

use std::collections::BTreeMap;

/// One authentication challenge, e.g. `Bearer realm="…",service="…",scope="…"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The scheme in lower case (`basic`, `bearer`, …).
    pub scheme: String,
    /// Parameters with lower-case names.
    pub params: BTreeMap<String, String>,
}

impl Challenge {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    /// The space-separated resource scopes of a `scope` parameter (several in one challenge for a mount).
    pub fn scopes(&self) -> Vec<String> {
        self.param("scope").map(|s| s.split_ascii_whitespace().map(str::to_string).collect()).unwrap_or_default()
    }
}

/// Parses every challenge in the given header values. Malformed parts are skipped, never panicked on.
pub fn parse_challenges<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<Challenge> {
    let mut out = Vec::new();
    for v in values {
        parse_one_header(v, &mut out);
    }
    out
}

struct Lexer<'a> {
    s: &'a [u8],
    i: usize,
}

fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

impl<'a> Lexer<'a> {
    /// Advances past every byte for which `f` holds.
    fn skip_while(&mut self, f: impl Fn(u8) -> bool) {
        while self.peek().is_some_and(&f) {
            self.i += 1;
        }
    }
    fn since(&self, start: usize) -> Option<String> {
        let taken = self.s.get(start..self.i).filter(|t| !t.is_empty())?;
        Some(String::from_utf8_lossy(taken).into_owned())
    }
    fn skip_ws(&mut self) {
        self.skip_while(|c| c == b' ' || c == b'\t');
    }
    fn skip_ws_commas(&mut self) {
        self.skip_while(|c| matches!(c, b' ' | b'\t' | b','));
    }
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn token(&mut self) -> Option<String> {
        let start = self.i;
        self.skip_while(is_tchar);
        self.since(start)
    }
    /// A token68 value (token plus `/` and trailing `=`s), for schemes like `Negotiate abc==`.
    fn token68(&mut self) -> Option<String> {
        let start = self.i;
        self.skip_while(|c| c.is_ascii_alphanumeric() || b"-._~+/".contains(&c));
        self.skip_while(|c| c == b'=');
        self.since(start)
    }
    fn quoted(&mut self) -> Option<String> {
        debug_assert_eq!(self.peek(), Some(b'"'));
        self.i += 1;
        let mut out = Vec::new();
        while let Some(c) = self.peek() {
            self.i += 1;
            match c {
                b'"' => return Some(String::from_utf8_lossy(&out).into_owned()),
                b'\\' => {
                    if let Some(next) = self.peek() {
                        out.push(next);
                        self.i += 1;
                    }
                }
                c => out.push(c),
            }
        }
        None // unterminated
    }
}

fn parse_one_header(v: &str, out: &mut Vec<Challenge>) {
    let mut lx = Lexer { s: v.as_bytes(), i: 0 };
    let mut current: Option<Challenge> = None;
    loop {
        lx.skip_ws_commas();
        if lx.peek().is_none() {
            break;
        }
        let save = lx.i;
        let Some(word) = lx.token() else {
            // Not a token: skip one byte and carry on (robust against garbage).
            lx.i = save + 1;
            continue;
        };
        lx.skip_ws();
        if lx.peek() == Some(b'=') {
            // auth-param of the current challenge (or token68 ending in '=' on a new scheme; rare).
            lx.i += 1;
            lx.skip_ws();
            let value = match lx.peek() {
                Some(b'"') => match lx.quoted() {
                    Some(v) => v,
                    None => break,
                },
                _ => lx.token().unwrap_or_default(),
            };
            if let Some(c) = current.as_mut() {
                c.params.entry(word.to_ascii_lowercase()).or_insert(value);
            }
            continue;
        }
        // A new scheme.
        if let Some(c) = current.take() {
            out.push(c);
        }
        let mut ch = Challenge { scheme: word.to_ascii_lowercase(), params: BTreeMap::new() };
        // token68 form (`Negotiate abc==`): a value that runs to the end or to a comma. `realm="x"` or
        // `realm=x` continue past the '=' and are auth-params instead.
        let save = lx.i;
        if let Some(t68) = lx.token68() {
            let mut look = Lexer { s: lx.s, i: lx.i };
            look.skip_ws();
            if matches!(look.peek(), None | Some(b',')) {
                ch.params.insert("token68".into(), t68);
                lx.i = look.i;
                current = Some(ch);
                continue;
            }
        }
        lx.i = save;
        current = Some(ch);
    }
    if let Some(c) = current {
        out.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(h: &str) -> Challenge {
        let v = parse_challenges([h]);
        assert_eq!(v.len(), 1, "{h}: {v:?}");
        v.into_iter().next().unwrap()
    }

    #[test]
    fn distribution_bearer() {
        let c = one(
            r#"Bearer realm="http://127.0.0.1:5081/token",service="test-registry",scope="repository:test/img:pull""#,
        );
        assert_eq!(c.scheme, "bearer");
        assert_eq!(c.param("realm"), Some("http://127.0.0.1:5081/token"));
        assert_eq!(c.param("service"), Some("test-registry"));
        assert_eq!(c.scopes(), vec!["repository:test/img:pull"]);
    }

    #[test]
    fn several_scopes_and_error() {
        let c = one(
            r#"Bearer realm="r",service="s",scope="repository:other/img:pull repository:test/img:pull,push",error="insufficient_scope""#,
        );
        assert_eq!(c.scopes(), vec!["repository:other/img:pull", "repository:test/img:pull,push"]);
        assert_eq!(c.param("error"), Some("insufficient_scope"));
    }

    #[test]
    fn basic_case_and_spaces() {
        let c = one(r#"BASIC  Realm = "test realm""#);
        assert_eq!(c.scheme, "basic");
        assert_eq!(c.param("realm"), Some("test realm"));
    }

    #[test]
    fn several_challenges_in_one_value_and_several_values() {
        let v = parse_challenges([r#"Basic realm="a", Bearer realm="b",service="s""#, r#"Negotiate abc123=="#]);
        assert_eq!(v.len(), 3, "{v:?}");
        assert_eq!(v[0].scheme, "basic");
        assert_eq!(v[0].param("realm"), Some("a"));
        assert_eq!(v[1].scheme, "bearer");
        assert_eq!(v[1].param("service"), Some("s"));
        assert_eq!(v[2].scheme, "negotiate");
        assert_eq!(v[2].param("token68"), Some("abc123=="));
    }

    #[test]
    fn escapes_and_commas_inside_quotes() {
        let c = one(r#"Bearer realm="a\"b,c",service=unquoted"#);
        assert_eq!(c.param("realm"), Some("a\"b,c"));
        assert_eq!(c.param("service"), Some("unquoted"));
    }

    #[test]
    fn garbage_does_not_panic() {
        for g in ["", ",,,", "=", "\"", "Bearer realm=\"unterminated", "Bearer ,=,=\"", "\u{7f}\u{0}Bearer", "a=b=c"] {
            let _ = parse_challenges([g]);
        }
    }
}
