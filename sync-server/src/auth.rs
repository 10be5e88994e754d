//! Access control: signed tokens (HMAC-SHA256 JWTs) that grant a document pattern, and the
//! browser origin allowlist.
//!
//! A token's claims are `{"doc": PATTERN, "access": "rw" | "ro", "exp": UNIX_SECONDS}`; `PATTERN`
//! is a document id in which `*` matches any run of characters (`team-7/*`, `*`). Without a
//! secret the server is in open dev mode: every connection may read and write every document.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use weft::sync::Access;

/// The claims of an access token.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// Document id pattern the token grants; `*` matches any run of characters.
    pub doc: String,
    /// `"rw"` (read-write) or `"ro"` (read-only).
    pub access: String,
    /// Expiry, in seconds since the Unix epoch.
    pub exp: u64,
    /// Who the token was issued to (logged, not checked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
}

/// Why a token was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No token, but the server requires one.
    #[error("an access token is required")]
    Missing,
    /// The token is malformed, forged or grants nothing valid.
    #[error("invalid access token")]
    Invalid,
    /// The token's `exp` has passed.
    #[error("access token expired")]
    Expired,
}

/// What a verified connection may do.
#[derive(Clone, Debug)]
pub struct Grant {
    pattern: Option<String>,
    access: Access,
    expires: Option<SystemTime>,
    subject: Option<String>,
}

impl Grant {
    /// The grant of open dev mode: every document, read-write, forever.
    pub fn open() -> Self {
        Self {
            pattern: None,
            access: Access::ReadWrite,
            expires: None,
            subject: None,
        }
    }

    /// The access this grant gives to document `doc`, or `None`.
    pub fn access_for(&self, doc: &str) -> Option<Access> {
        match &self.pattern {
            None => Some(self.access),
            Some(p) => glob_match(p, doc).then_some(self.access),
        }
    }

    /// When the grant ends, if it does.
    pub fn expires(&self) -> Option<SystemTime> {
        self.expires
    }

    /// The token's subject, if any.
    pub fn subject(&self) -> Option<&str> {
        self.subject.as_deref()
    }
}

/// Verifies tokens (or, in open mode, grants everything).
#[derive(Clone)]
pub struct Auth {
    verifier: Option<(DecodingKey, Validation)>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("enabled", &self.is_enabled())
            .finish()
    }
}

impl Auth {
    /// Token verification with `secret`, or open dev mode when `secret` is `None` or empty.
    pub fn new(secret: Option<&str>) -> Self {
        let verifier = secret.filter(|s| !s.is_empty()).map(|s| {
            let mut validation = Validation::new(Algorithm::HS256);
            validation.leeway = 5;
            validation.set_required_spec_claims(&["exp"]);
            (DecodingKey::from_secret(s.as_bytes()), validation)
        });
        Self { verifier }
    }

    /// Whether tokens are required.
    pub fn is_enabled(&self) -> bool {
        self.verifier.is_some()
    }

    /// Checks a connection's token and returns what it grants.
    pub fn verify(&self, token: Option<&str>) -> Result<Grant, AuthError> {
        let Some((key, validation)) = &self.verifier else {
            return Ok(Grant::open());
        };
        let token = token.ok_or(AuthError::Missing)?;
        let data =
            jsonwebtoken::decode::<Claims>(token, key, validation).map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => AuthError::Expired,
                _ => AuthError::Invalid,
            })?;
        let claims = data.claims;
        let access = match claims.access.as_str() {
            "rw" => Access::ReadWrite,
            "ro" => Access::ReadOnly,
            _ => return Err(AuthError::Invalid),
        };
        if claims.doc.is_empty() {
            return Err(AuthError::Invalid);
        }
        Ok(Grant {
            pattern: Some(claims.doc),
            access,
            expires: Some(UNIX_EPOCH + Duration::from_secs(claims.exp)),
            subject: claims.sub,
        })
    }
}

/// Whether `text` matches `pattern`, in which `*` matches any run of characters (including
/// none) and every other character matches itself.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    // Where the last `*` was and which text position it currently absorbs up to.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(c) if Some(c) == t.get(ti) => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..)
        .is_some_and(|rest| rest.iter().all(|&c| c == '*'))
}

/// Which browser origins may open WebSockets.
#[derive(Clone, Debug, Default)]
pub struct OriginPolicy {
    allowed: Vec<String>,
}

impl OriginPolicy {
    /// A policy allowing `allowed` (empty, or containing `*`, allows every origin).
    pub fn new(allowed: &[String]) -> Self {
        let allowed = allowed
            .iter()
            .map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase())
            .filter(|o| !o.is_empty())
            .collect();
        Self { allowed }
    }

    /// Whether every origin is allowed.
    pub fn allows_any(&self) -> bool {
        self.allowed.is_empty() || self.allowed.iter().any(|o| o == "*")
    }

    /// Whether a request with this `Origin` header (or none: not a browser) may connect.
    pub fn allows(&self, origin: Option<&str>) -> bool {
        match origin {
            _ if self.allows_any() => true,
            None => true,
            Some(o) => {
                let o = o.trim_end_matches('/').to_ascii_lowercase();
                self.allowed.contains(&o)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header};

    fn now() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }

    fn token(secret: &str, doc: &str, access: &str, exp: u64) -> String {
        let claims = Claims {
            doc: doc.into(),
            access: access.into(),
            exp,
            sub: Some("tester".into()),
        };
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .expect("encode token")
    }

    #[test]
    fn glob_matches_stars_anywhere() {
        assert!(glob_match("*", ""));
        assert!(glob_match("*", "anything/at/all"));
        assert!(glob_match("team-7/*", "team-7/notes"));
        assert!(!glob_match("team-7/*", "team-8/notes"));
        assert!(glob_match("a*b*c", "axxbyyc"));
        assert!(!glob_match("a*b*c", "axxbyy"));
        assert!(glob_match("exact", "exact"));
        assert!(!glob_match("exact", "exact2"));
        assert!(glob_match("*.md", "x.md.md"));
    }

    #[test]
    fn open_mode_grants_everything() {
        let auth = Auth::new(None);
        assert!(!auth.is_enabled());
        let g = auth.verify(None).expect("open");
        assert_eq!(g.access_for("x"), Some(Access::ReadWrite));
        assert!(Auth::new(Some("")).verify(None).is_ok());
    }

    #[test]
    fn tokens_are_verified() {
        let auth = Auth::new(Some("s3cret"));
        let rw = auth
            .verify(Some(&token("s3cret", "team/*", "rw", now() + 60)))
            .expect("valid");
        assert_eq!(rw.access_for("team/a"), Some(Access::ReadWrite));
        assert_eq!(rw.access_for("other"), None);
        assert_eq!(rw.subject(), Some("tester"));
        let ro = auth
            .verify(Some(&token("s3cret", "*", "ro", now() + 60)))
            .expect("valid");
        assert_eq!(ro.access_for("x"), Some(Access::ReadOnly));

        assert_eq!(auth.verify(None).unwrap_err(), AuthError::Missing);
        let forged = token("wrong", "*", "rw", now() + 60);
        assert_eq!(auth.verify(Some(&forged)).unwrap_err(), AuthError::Invalid);
        let expired = token("s3cret", "*", "rw", now() - 3600);
        assert_eq!(auth.verify(Some(&expired)).unwrap_err(), AuthError::Expired);
        let bad_access = token("s3cret", "*", "admin", now() + 60);
        assert_eq!(
            auth.verify(Some(&bad_access)).unwrap_err(),
            AuthError::Invalid
        );
        assert_eq!(
            auth.verify(Some("not.a.jwt")).unwrap_err(),
            AuthError::Invalid
        );
    }

    #[test]
    fn origins() {
        let any = OriginPolicy::new(&[]);
        assert!(any.allows(Some("https://evil.example")));
        let some = OriginPolicy::new(&["https://App.example/".into()]);
        assert!(some.allows(Some("https://app.example")));
        assert!(!some.allows(Some("https://evil.example")));
        assert!(some.allows(None));
    }
}
