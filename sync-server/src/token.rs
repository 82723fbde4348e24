//! Per-document access tokens.
//!
//! ```text
//! v1.<base64url(payload)>.<base64url(HMAC-SHA256(secret, payload))>
//! payload = "<doc id>:<r|rw>:<expiry, unix seconds>"       (ASCII)
//! ```
//! base64url without padding. The signature covers the payload bytes (not
//! their base64). Everything here is pure: the caller passes the time.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use concord_wire::{Access, DocId};
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Shortest accepted secret, in bytes.
pub const MIN_SECRET_LEN: usize = 32;

const PREFIX: &str = "v1.";

/// The key tokens are signed with.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("the secret must be at least {MIN_SECRET_LEN} bytes (got {0})")]
    TooShort(usize),
}

impl Secret {
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, SecretError> {
        let bytes = bytes.into();
        if bytes.len() < MIN_SECRET_LEN {
            return Err(SecretError::TooShort(bytes.len()));
        }
        Ok(Secret(bytes))
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC accepts keys of any length.
        <HmacSha256 as Mac>::new_from_slice(&self.0).expect("HMAC takes any key length")
    }
}

/// What a valid token grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub doc: DocId,
    pub access: Access,
    /// Unix seconds after which the token is no longer valid.
    pub expires: u64,
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a token, forged, or signed with another secret.
    #[error("invalid token")]
    Invalid,
    /// Valid, but for another document.
    #[error("token is for another document")]
    WrongDocument,
    #[error("token expired")]
    Expired,
}

/// Mints a token for `doc`, valid until `expires` (unix seconds).
pub fn mint(secret: &Secret, doc: &DocId, access: Access, expires: u64) -> String {
    let payload = format!("{}:{}:{}", doc, access_str(access), expires);
    let mut mac = secret.mac();
    mac.update(payload.as_bytes());
    let sig = mac.finalize().into_bytes();
    format!(
        "{PREFIX}{}.{}",
        URL_SAFE_NO_PAD.encode(payload),
        URL_SAFE_NO_PAD.encode(sig)
    )
}

/// Checks `token` for `doc` at time `now` (unix seconds). The signature is
/// compared in constant time and checked before anything in the payload is
/// believed.
pub fn verify(secret: &Secret, token: &str, doc: &DocId, now: u64) -> Result<Grant, TokenError> {
    let grant = verify_signature(secret, token)?;
    if grant.doc != *doc {
        return Err(TokenError::WrongDocument);
    }
    check_expiry(&grant, now)?;
    Ok(grant)
}

/// Is `grant` still valid at `now`?
pub fn check_expiry(grant: &Grant, now: u64) -> Result<(), TokenError> {
    if now >= grant.expires {
        Err(TokenError::Expired)
    } else {
        Ok(())
    }
}

fn verify_signature(secret: &Secret, token: &str) -> Result<Grant, TokenError> {
    let rest = token.strip_prefix(PREFIX).ok_or(TokenError::Invalid)?;
    let (payload_b64, sig_b64) = rest.split_once('.').ok_or(TokenError::Invalid)?;
    let payload = URL_SAFE_NO_PAD
        .decode(payload_b64)
        .map_err(|_| TokenError::Invalid)?;
    let sig = URL_SAFE_NO_PAD
        .decode(sig_b64)
        .map_err(|_| TokenError::Invalid)?;
    let mut mac = secret.mac();
    mac.update(&payload);
    mac.verify_slice(&sig).map_err(|_| TokenError::Invalid)?;
    parse_payload(&payload).ok_or(TokenError::Invalid)
}

fn parse_payload(payload: &[u8]) -> Option<Grant> {
    let text = std::str::from_utf8(payload).ok()?;
    let mut parts = text.split(':');
    let doc = DocId::new(parts.next()?).ok()?;
    let access = match parts.next()? {
        "r" => Access::Read,
        "rw" => Access::ReadWrite,
        _ => return None,
    };
    let expires = parts.next()?.parse().ok()?;
    if parts.next().is_some() {
        return None;
    }
    Some(Grant {
        doc,
        access,
        expires,
    })
}

fn access_str(access: Access) -> &'static str {
    match access {
        Access::Read => "r",
        Access::ReadWrite => "rw",
    }
}

/// Parses a duration like `30d`, `12h`, `15m`, `45s` or `3600` (seconds).
pub fn parse_ttl(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (digits, unit) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&s[..i], c),
        _ => (s, 's'),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("not a duration: {s:?} (e.g. 30d, 12h, 15m, 45s)"))?;
    let unit = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return Err(format!("unknown unit in {s:?} (use s, m, h or d)")),
    };
    n.checked_mul(unit)
        .filter(|&v| v > 0)
        .ok_or_else(|| format!("duration out of range: {s:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> Secret {
        Secret::new(b"0123456789abcdef0123456789abcdef".to_vec()).unwrap()
    }

    fn doc(s: &str) -> DocId {
        DocId::new(s).unwrap()
    }

    #[test]
    fn a_minted_token_verifies_for_its_document_until_it_expires() {
        let t = mint(&secret(), &doc("notes"), Access::ReadWrite, 1000);
        assert_eq!(
            verify(&secret(), &t, &doc("notes"), 999),
            Ok(Grant {
                doc: doc("notes"),
                access: Access::ReadWrite,
                expires: 1000
            })
        );
        assert_eq!(
            verify(&secret(), &t, &doc("notes"), 1000),
            Err(TokenError::Expired)
        );
        assert_eq!(
            verify(&secret(), &t, &doc("other"), 10),
            Err(TokenError::WrongDocument)
        );
    }

    #[test]
    fn read_only_tokens_say_so() {
        let t = mint(&secret(), &doc("d"), Access::Read, 50);
        assert_eq!(
            verify(&secret(), &t, &doc("d"), 0).map(|g| g.access),
            Ok(Access::Read)
        );
    }

    /// Clients read the claimed access without the secret (core's
    /// `Access::claimed_by_token`); it must read what `mint` wrote.
    #[test]
    fn clients_read_the_access_a_minted_token_claims() {
        for access in [Access::Read, Access::ReadWrite] {
            let t = mint(&secret(), &doc("d-1_x"), access, 50);
            assert_eq!(Access::claimed_by_token(&t), Some(access));
        }
    }

    #[test]
    fn forged_and_garbage_tokens_are_invalid() {
        let t = mint(&secret(), &doc("d"), Access::Read, 50);
        let other = Secret::new(vec![7u8; 40]).unwrap();
        assert_eq!(
            verify(&other, &t, &doc("d"), 0),
            Err(TokenError::Invalid),
            "another secret"
        );
        // Upgrade the payload to read-write, keep the signature.
        let forged_payload = URL_SAFE_NO_PAD.encode("d:rw:50");
        let sig = t.rsplit('.').next().unwrap();
        let forged = format!("v1.{forged_payload}.{sig}");
        assert_eq!(
            verify(&secret(), &forged, &doc("d"), 0),
            Err(TokenError::Invalid)
        );
        for garbage in [
            "",
            "v1.",
            "v1..",
            "v2.abc.def",
            "v1.!!!.???",
            "nonsense",
            &t[..t.len() - 2],
        ] {
            assert_eq!(
                verify(&secret(), garbage, &doc("d"), 0),
                Err(TokenError::Invalid),
                "{garbage:?}"
            );
        }
    }

    #[test]
    fn a_signed_but_malformed_payload_is_invalid() {
        for payload in ["d:rw", "d:x:5", "d:r:5:extra", "bad doc:r:5", "d:r:-1"] {
            let mut mac = secret().mac();
            mac.update(payload.as_bytes());
            let sig = mac.finalize().into_bytes();
            let t = format!(
                "v1.{}.{}",
                URL_SAFE_NO_PAD.encode(payload),
                URL_SAFE_NO_PAD.encode(sig)
            );
            assert_eq!(
                verify(&secret(), &t, &doc("d"), 0),
                Err(TokenError::Invalid),
                "{payload}"
            );
        }
    }

    #[test]
    fn short_secrets_are_refused() {
        assert_eq!(
            Secret::new(vec![1; 31]).err(),
            Some(SecretError::TooShort(31))
        );
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_ttl("30d"), Ok(30 * 86_400));
        assert_eq!(parse_ttl("2h"), Ok(7200));
        assert_eq!(parse_ttl("5m"), Ok(300));
        assert_eq!(parse_ttl("45s"), Ok(45));
        assert_eq!(parse_ttl("90"), Ok(90));
        assert!(parse_ttl("0").is_err());
        assert!(parse_ttl("3w").is_err());
        assert!(parse_ttl("d").is_err());
        assert!(parse_ttl("99999999999999999999d").is_err());
    }
}
