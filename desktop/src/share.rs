//! Share links: a relay address, a document id and an access token in one
//! string a person can copy into a chat.
//!
//! `http://HOST:PORT/#doc=ID&token=TOKEN` — the relay's web address, so the
//! same link opens the web demo in a browser; the desktop app turns it into
//! the relay's websocket endpoint (`ws://HOST:PORT/v1/sync`).

use concord_wire::DocId;

/// The relay's sync endpoint path.
const SYNC_PATH: &str = "/v1/sync";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShareLink {
    /// The relay's base web address, e.g. `http://127.0.0.1:7070`.
    pub relay: String,
    pub doc: DocId,
    pub token: String,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("a share link starts with http:// or https://")]
    Scheme,
    #[error("the link has no #doc=...&token=... part")]
    Fragment,
    #[error("the link's document id is not valid")]
    Doc,
    #[error("the link's token is missing or has characters a token cannot have")]
    Token,
}

impl ShareLink {
    /// Builds a link from a relay address given as `ws://`, `wss://`,
    /// `http://` or `https://`, with or without the `/v1/sync` path.
    pub fn new(relay: &str, doc: DocId, token: String) -> Self {
        ShareLink {
            relay: web_base(relay),
            doc,
            token,
        }
    }

    pub fn parse(link: &str) -> Result<ShareLink, LinkError> {
        let link = link.trim();
        if !(link.starts_with("http://") || link.starts_with("https://")) {
            return Err(LinkError::Scheme);
        }
        let (base, fragment) = link.split_once('#').ok_or(LinkError::Fragment)?;
        let mut doc = None;
        let mut token = None;
        for part in fragment.split('&') {
            match part.split_once('=') {
                Some(("doc", v)) => doc = Some(v),
                Some(("token", v)) => token = Some(v),
                _ => {}
            }
        }
        let doc = DocId::new(doc.ok_or(LinkError::Fragment)?).map_err(|_| LinkError::Doc)?;
        let token = token.ok_or(LinkError::Token)?;
        // An empty token is fine for a relay started with --dev.
        let token_ok = token.len() <= concord_wire::MAX_TOKEN_LEN
            && token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.~=".contains(&b));
        if !token_ok {
            return Err(LinkError::Token);
        }
        Ok(ShareLink {
            relay: web_base(base),
            doc,
            token: token.to_owned(),
        })
    }

    /// The websocket endpoint to sync with.
    pub fn sync_url(&self) -> String {
        sync_url(&self.relay)
    }
}

impl std::fmt::Display for ShareLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/#doc={}&token={}", self.relay, self.doc, self.token)
    }
}

/// `ws://h:p/v1/sync`, `http://h:p/` ... -> `http://h:p`.
pub fn web_base(relay: &str) -> String {
    let relay = relay.trim().trim_end_matches('/');
    let relay = relay.strip_suffix(SYNC_PATH).unwrap_or(relay);
    if let Some(rest) = relay.strip_prefix("ws://") {
        format!("http://{rest}")
    } else if let Some(rest) = relay.strip_prefix("wss://") {
        format!("https://{rest}")
    } else if relay.starts_with("http://") || relay.starts_with("https://") {
        relay.to_owned()
    } else {
        format!("http://{relay}")
    }
}

/// Any relay address form -> `ws://h:p/v1/sync`.
pub fn sync_url(relay: &str) -> String {
    let base = web_base(relay);
    let ws = if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else {
        format!("ws://{}", base.trim_start_matches("http://"))
    };
    format!("{ws}{SYNC_PATH}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_round_trip_and_map_to_the_sync_endpoint() {
        let doc = DocId::new("abc123").unwrap();
        let link = ShareLink::new("ws://127.0.0.1:7070/v1/sync", doc, "v1.x-y_z.s1g".into());
        let text = link.to_string();
        assert_eq!(text, "http://127.0.0.1:7070/#doc=abc123&token=v1.x-y_z.s1g");
        let back = ShareLink::parse(&text).unwrap();
        assert_eq!(back, link);
        assert_eq!(back.sync_url(), "ws://127.0.0.1:7070/v1/sync");
        assert_eq!(
            sync_url("https://relay.example/"),
            "wss://relay.example/v1/sync"
        );
        assert_eq!(sync_url("127.0.0.1:7070"), "ws://127.0.0.1:7070/v1/sync");
    }

    #[test]
    fn bad_links_say_what_is_wrong() {
        assert_eq!(
            ShareLink::parse("ftp://x/#doc=a&token=b"),
            Err(LinkError::Scheme)
        );
        assert_eq!(ShareLink::parse("http://x/"), Err(LinkError::Fragment));
        assert_eq!(
            ShareLink::parse("http://x/#doc=a b&token=t"),
            Err(LinkError::Doc)
        );
        assert_eq!(ShareLink::parse("http://x/#doc=a"), Err(LinkError::Token));
        assert!(
            ShareLink::parse("http://x/#doc=a&token=").is_ok(),
            "a --dev relay"
        );
        assert_eq!(
            ShareLink::parse("http://x/#doc=a&token=<script>"),
            Err(LinkError::Token)
        );
    }
}
