//! A connection's `vpn` setting as plain Rust values, and back.

use std::collections::BTreeMap;
use std::ffi::{CStr, CString};
use std::os::raw::c_char;

use glib::prelude::*;
use glib::translate::{from_glib_full, from_glib_none};
use zeroize::Zeroizing;

use crate::ffi;

/// `vpn.service-type`, `vpn.user-name`, `vpn.persistent`, `vpn.data` and
/// `vpn.secrets`.
#[derive(Default, Clone, PartialEq, Eq)]
pub struct VpnSetting {
    pub service_type: String,
    pub user_name: Option<String>,
    /// Dial again after a lost call (pppd's `persist`).
    pub persistent: bool,
    pub data: BTreeMap<String, String>,
    pub secrets: BTreeMap<String, Zeroizing<String>>,
}

impl std::fmt::Debug for VpnSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VpnSetting")
            .field("service_type", &self.service_type)
            .field("user_name", &self.user_name)
            .field("persistent", &self.persistent)
            .field("data", &self.data)
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .finish()
    }
}

fn text(p: *const c_char) -> Option<String> {
    // SAFETY: libnm returns NUL-terminated strings it owns, or NULL.
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
}

fn cstring(s: &str) -> CString {
    // Interior NULs cannot be stored in a GKeyFile-backed setting anyway.
    CString::new(s.replace('\0', "")).expect("NULs removed")
}

unsafe extern "C" fn collect(
    key: *const c_char,
    value: *const c_char,
    user_data: glib::ffi::gpointer,
) {
    // SAFETY: user_data is the map passed by `read` for the duration of the call.
    let map = unsafe { &mut *(user_data as *mut BTreeMap<String, String>) };
    if let (Some(k), Some(v)) = (text(key), text(value)) {
        map.insert(k, v);
    }
}

/// A borrowed `NMConnection*` from libnm, alive for `'a`. Only
/// [`ConnectionRef::from_raw`] makes one, and it is unsafe: that is where a
/// caller promises what the safe methods below rely on.
#[derive(Clone, Copy)]
pub struct ConnectionRef<'a> {
    ptr: std::ptr::NonNull<ffi::NMConnection>,
    _borrow: std::marker::PhantomData<&'a ffi::NMConnection>,
}

impl<'a> ConnectionRef<'a> {
    /// `None` for NULL.
    ///
    /// # Safety
    /// A non-NULL `ptr` is a live `NMConnection` that nobody frees for `'a`
    /// (what libnm guarantees for the duration of a vfunc call, and an owner
    /// for as long as it holds its reference), used from the thread it lives on.
    pub unsafe fn from_raw(ptr: *mut ffi::NMConnection) -> Option<ConnectionRef<'a>> {
        std::ptr::NonNull::new(ptr).map(|ptr| ConnectionRef {
            ptr,
            _borrow: std::marker::PhantomData,
        })
    }

    /// The pointer, for a C call that borrows it.
    pub fn as_ptr(&self) -> *mut ffi::NMConnection {
        self.ptr.as_ptr()
    }

    /// `connection.id`.
    pub fn id(&self) -> Option<String> {
        // SAFETY: a live connection given to us by libnm.
        text(unsafe { ffi::nm_connection_get_id(self.as_ptr()) })
    }

    /// The connection's own `NMSettingVpn*` (borrowed) when it holds data, for
    /// libnma's password menu to read the flags from; NULL for a new
    /// connection (no data yet), which starts from the form's default.
    pub fn saved_vpn_setting_ptr(&self) -> *mut ffi::NMSetting {
        if self.vpn().is_none_or(|v| v.data.is_empty()) {
            return std::ptr::null_mut();
        }
        // SAFETY: a live connection given to us by libnm.
        unsafe { ffi::nm_connection_get_setting_vpn(self.as_ptr()) }
    }

    /// The `vpn` setting, if the connection has one.
    pub fn vpn(&self) -> Option<VpnSetting> {
        // SAFETY: as above; the setting is owned by the connection.
        let s = unsafe { ffi::nm_connection_get_setting_vpn(self.as_ptr()) };
        if s.is_null() {
            return None;
        }
        // SAFETY: a live GObject owned by the connection for this borrow.
        let obj: glib::Object = unsafe { from_glib_none(s as *mut glib::gobject_ffi::GObject) };
        let mut v = VpnSetting {
            // SAFETY: `s` is the connection's live NMSettingVpn for this borrow (checked non-NULL above).
            service_type: text(unsafe { ffi::nm_setting_vpn_get_service_type(s) })
                .unwrap_or_default(),
            // SAFETY: as above; the returned string is copied before the borrow ends.
            user_name: text(unsafe { ffi::nm_setting_vpn_get_user_name(s) }),
            persistent: obj.property::<bool>("persistent"),
            ..Default::default()
        };
        let mut secrets = BTreeMap::new();
        // SAFETY: the callbacks only run during these calls, with our maps.
        unsafe {
            ffi::nm_setting_vpn_foreach_data_item(
                s,
                collect,
                (&mut v.data as *mut BTreeMap<_, _>).cast(),
            );
            ffi::nm_setting_vpn_foreach_secret(
                s,
                collect,
                (&mut secrets as *mut BTreeMap<_, _>).cast(),
            );
        }
        v.secrets = secrets
            .into_iter()
            .map(|(k, s)| (k, Zeroizing::new(s)))
            .collect();
        Some(v)
    }

    /// Replaces the connection's `vpn` setting with a new one holding `v`. The
    /// properties `v` does not model (`vpn.timeout`) keep their values.
    pub fn set_vpn(&self, v: &VpnSetting) {
        // SAFETY: the old setting (if any) is owned by the connection until
        // add_setting replaces it below.
        let timeout = unsafe {
            let old = ffi::nm_connection_get_setting_vpn(self.as_ptr());
            (!old.is_null()).then(|| {
                let old: glib::Object = from_glib_none(old as *mut glib::gobject_ffi::GObject);
                old.property::<u32>("timeout")
            })
        };
        // SAFETY: a new floating-free setting; add_setting takes our reference.
        unsafe {
            let s = ffi::nm_setting_vpn_new();
            let obj: glib::Object = from_glib_none(s as *mut glib::gobject_ffi::GObject);
            obj.set_property("service-type", &v.service_type);
            if let Some(u) = &v.user_name {
                obj.set_property("user-name", u);
            }
            obj.set_property("persistent", v.persistent);
            if let Some(t) = timeout {
                obj.set_property("timeout", t);
            }
            for (k, val) in &v.data {
                ffi::nm_setting_vpn_add_data_item(s, cstring(k).as_ptr(), cstring(val).as_ptr());
            }
            for (k, val) in &v.secrets {
                let mut secret = Zeroizing::new(Vec::with_capacity(val.len() + 1));
                secret.extend(val.bytes().filter(|&b| b != 0));
                secret.push(0);
                ffi::nm_setting_vpn_add_secret(s, cstring(k).as_ptr(), secret.as_ptr().cast());
            }
            ffi::nm_connection_add_setting(self.as_ptr(), s);
        }
    }
}

/// The two `ipv4` properties a pppd peers file also speaks of.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ip4Routing {
    pub never_default: bool,
    pub ignore_auto_dns: bool,
}

impl ConnectionRef<'_> {
    /// `ipv4.never-default` and `ipv4.ignore-auto-dns` (both false without an
    /// `ipv4` setting, as NetworkManager reads it).
    pub fn ip4_routing(&self) -> Ip4Routing {
        // SAFETY: a live connection; the setting (if any) is owned by it.
        let s = unsafe { ffi::nm_connection_get_setting_ip4_config(self.as_ptr()) };
        if s.is_null() {
            return Ip4Routing::default();
        }
        // SAFETY: s is a live GObject for the duration of this borrow.
        let obj: glib::Object = unsafe { from_glib_none(s as *mut glib::gobject_ffi::GObject) };
        Ip4Routing {
            never_default: obj.property("never-default"),
            ignore_auto_dns: obj.property("ignore-auto-dns"),
        }
    }

    /// Sets both, adding an `ipv4` setting (method auto) when there is none.
    pub fn set_ip4_routing(&self, r: Ip4Routing) {
        // SAFETY: as above; a new setting's reference moves into the connection.
        unsafe {
            let mut s = ffi::nm_connection_get_setting_ip4_config(self.as_ptr());
            if s.is_null() {
                s = ffi::nm_setting_ip4_config_new();
                let obj: glib::Object = from_glib_none(s as *mut glib::gobject_ffi::GObject);
                obj.set_property("method", "auto");
                ffi::nm_connection_add_setting(self.as_ptr(), s);
            }
            let obj: glib::Object = from_glib_none(s as *mut glib::gobject_ffi::GObject);
            obj.set_property("never-default", r.never_default);
            obj.set_property("ignore-auto-dns", r.ignore_auto_dns);
        }
    }
}

/// A new connection (`connection` + `vpn` settings) for import; the caller owns it.
pub fn new_vpn_connection(id: &str, v: &VpnSetting) -> *mut ffi::NMConnection {
    // SAFETY: fresh objects; ownership of the settings moves into the connection.
    unsafe {
        let conn = ffi::nm_simple_connection_new();
        let s = ffi::nm_setting_connection_new();
        let obj: glib::Object = from_glib_none(s as *mut glib::gobject_ffi::GObject);
        let uuid: glib::GString = from_glib_full(ffi::nm_utils_uuid_generate());
        obj.set_property("id", id);
        obj.set_property("uuid", uuid.as_str());
        obj.set_property("type", "vpn");
        ffi::nm_connection_add_setting(conn, s);
        // The new connection is ours until we return it.
        if let Some(c) = ConnectionRef::from_raw(conn) {
            c.set_vpn(v);
        }
        conn
    }
}
