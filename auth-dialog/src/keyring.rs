//! The saved password, looked up through the Secret Service API under the
//! attributes NetworkManager's agents store VPN secrets with. The dialog only
//! reads: storing is the agent's job.
//!
//! Anything short of an unlocked, matching item is "not found": no session bus,
//! no Secret Service, a locked collection, a slow daemon. The user is then asked,
//! which is the right fallback for all of them.

use std::time::Duration;

use zeroize::Zeroizing;

/// A daemon that has not answered by then is treated as absent.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

/// Why nothing was found, for the debug log; never shown as an error.
#[derive(Debug)]
pub enum Miss {
    NoItem,
    Locked,
    NotText,
    Unavailable(String),
    TimedOut,
}

impl std::fmt::Display for Miss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Miss::NoItem => f.write_str("no matching item"),
            Miss::Locked => f.write_str("the matching item is locked"),
            Miss::NotText => f.write_str("the matching item is not text"),
            Miss::Unavailable(e) => write!(f, "no Secret Service: {e}"),
            Miss::TimedOut => write!(f, "no answer within {} s", LOOKUP_TIMEOUT.as_secs()),
        }
    }
}

pub fn lookup(uuid: &str, setting_key: &str) -> Result<Zeroizing<String>, Miss> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Miss::Unavailable(e.to_string()))?;
    rt.block_on(async {
        tokio::time::timeout(LOOKUP_TIMEOUT, search(uuid, setting_key))
            .await
            .unwrap_or(Err(Miss::TimedOut))
    })
}

async fn search(uuid: &str, setting_key: &str) -> Result<Zeroizing<String>, Miss> {
    let unavailable = |e: oo7::dbus::Error| Miss::Unavailable(e.to_string());
    let service = oo7::dbus::Service::new().await.map_err(unavailable)?;
    let attributes = [
        ("connection-uuid", uuid),
        ("setting-name", "vpn"),
        ("setting-key", setting_key),
    ];
    let mut miss = Miss::NoItem;
    for collection in service.collections().await.map_err(unavailable)? {
        let Ok(items) = collection.search_items(&attributes).await else {
            continue;
        };
        for item in items {
            if item.is_locked().await.unwrap_or(true) {
                miss = Miss::Locked;
                continue;
            }
            let Ok(secret) = item.secret().await else {
                continue;
            };
            match std::str::from_utf8(secret.as_bytes()) {
                Ok(text) => return Ok(Zeroizing::new(text.to_string())),
                Err(_) => miss = Miss::NotText,
            }
        }
    }
    Err(miss)
}
