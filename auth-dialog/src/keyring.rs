//! The saved password, looked up through the Secret Service API under the
//! attributes NetworkManager's agents store VPN secrets with. The dialog never
//! stores (that is the agent's job); it only forgets a saved password the
//! server has just refused, so that the next connect asks instead of sending
//! it again (a lockout policy counts every refusal).
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
    with_deadline(search(uuid, setting_key, None))
}

/// Deletes the saved items for `uuid`/`setting_key` whose secret is `refused`
/// (and only those: an item the user changed meanwhile stays). Ok(()) when one
/// was deleted.
pub fn forget(uuid: &str, setting_key: &str, refused: &str) -> Result<(), Miss> {
    with_deadline(search(uuid, setting_key, Some(refused))).map(drop)
}

fn with_deadline<T>(work: impl std::future::Future<Output = Result<T, Miss>>) -> Result<T, Miss> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Miss::Unavailable(e.to_string()))?;
    rt.block_on(async {
        tokio::time::timeout(LOOKUP_TIMEOUT, work)
            .await
            .unwrap_or(Err(Miss::TimedOut))
    })
}

/// The first unlocked matching item's secret; with `delete`, every unlocked
/// matching item holding exactly that secret is deleted instead.
async fn search(
    uuid: &str,
    setting_key: &str,
    delete: Option<&str>,
) -> Result<Zeroizing<String>, Miss> {
    let unavailable = |e: oo7::dbus::Error| Miss::Unavailable(e.to_string());
    let service = oo7::dbus::Service::new().await.map_err(unavailable)?;
    let attributes = [
        ("connection-uuid", uuid),
        ("setting-name", "vpn"),
        ("setting-key", setting_key),
    ];
    let mut miss = Miss::NoItem;
    let mut deleted = false;
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
            match (std::str::from_utf8(secret.as_bytes()), delete) {
                (Ok(text), None) => return Ok(Zeroizing::new(text.to_string())),
                (Ok(text), Some(refused)) if text == refused => {
                    if item.delete(None).await.is_ok() {
                        deleted = true;
                    }
                }
                (Ok(_), Some(_)) => {}
                (Err(_), _) => miss = Miss::NotText,
            }
        }
    }
    if deleted {
        return Ok(Zeroizing::new(String::new()));
    }
    Err(miss)
}
