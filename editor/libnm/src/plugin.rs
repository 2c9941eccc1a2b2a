//! `NMVpnEditorPlugin`, implementable by a Rust GObject.

use std::ffi::CStr;
use std::os::raw::c_char;
use std::path::Path;

use glib::prelude::*;
use glib::subclass::prelude::*;
use glib::translate::{IntoGlib, ToGlibPtr};

use crate::connection::ConnectionRef;
use crate::error::{self, set_error};
use crate::ffi;
use crate::guard;

glib::wrapper! {
    pub struct VpnEditorPlugin(Interface<ffi::NMVpnEditorPlugin, ffi::NMVpnEditorPluginInterface>);

    match fn {
        type_ => || ffi::nm_vpn_editor_plugin_get_type(),
    }
}

pub trait VpnEditorPluginImpl: ObjectImpl + ObjectSubclass<Type: IsA<VpnEditorPlugin>> {
    /// The editor widget's owner (an `NMVpnEditor*`, full reference).
    fn editor(&self, connection: ConnectionRef) -> Result<*mut ffi::NMVpnEditor, glib::Error>;
    fn capabilities(&self) -> u32;
    /// A new connection the caller owns.
    fn import(&self, path: &Path) -> Result<*mut ffi::NMConnection, glib::Error>;
    fn export(&self, path: &Path, connection: ConnectionRef) -> Result<(), glib::Error>;
    fn suggested_filename(&self, connection: ConnectionRef) -> Option<String>;
}

// SAFETY: the interface struct is NMVpnEditorPluginInterface, whose vfunc slots interface_init fills with functions of the C signatures libnm calls.
unsafe impl<T: VpnEditorPluginImpl> IsImplementable<T> for VpnEditorPlugin {
    fn interface_init(iface: &mut glib::Interface<Self>) {
        let iface = iface.as_mut();
        iface.get_editor = Some(get_editor::<T>);
        iface.get_capabilities = Some(get_capabilities::<T>);
        iface.import_from_file = Some(import_from_file::<T>);
        iface.export_to_file = Some(export_to_file::<T>);
        iface.get_suggested_filename = Some(get_suggested_filename::<T>);
    }
}

/// SAFETY: `ptr` is an instance of `T`'s type, as libnm only calls the vfuncs
/// installed for it.
unsafe fn imp<'a, T: VpnEditorPluginImpl>(ptr: *mut ffi::NMVpnEditorPlugin) -> &'a T {
    // SAFETY: the caller's promise above: `ptr` is a live instance of `T`'s type.
    let instance = unsafe { &*(ptr as *mut T::Instance) };
    instance.imp()
}

fn internal_error() -> glib::Error {
    error::failed("internal error in the PPTP plugin")
}

fn path_of(p: *const c_char) -> Option<std::path::PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    (!p.is_null()).then(|| {
        Path::new(std::ffi::OsStr::from_bytes(
            // SAFETY: checked non-NULL; the caller passes a NUL-terminated file name valid for this call.
            unsafe { CStr::from_ptr(p) }.to_bytes(),
        ))
        .to_path_buf()
    })
}

unsafe extern "C" fn get_editor<T: VpnEditorPluginImpl>(
    ptr: *mut ffi::NMVpnEditorPlugin,
    connection: *mut ffi::NMConnection,
    err: *mut *mut glib::ffi::GError,
) -> *mut ffi::NMVpnEditor {
    let r = guard(
        || Err(internal_error()),
        || {
            // SAFETY: libnm passes the connection it asks about, alive for this call.
            let c = unsafe { ConnectionRef::from_raw(connection) }
                .ok_or_else(|| error::failed("no connection given"))?;
            // SAFETY: libnm calls this vfunc only on instances of the type that installed it.
            unsafe { imp::<T>(ptr) }.editor(c)
        },
    );
    r.unwrap_or_else(|e| {
        // SAFETY: libnm's GError** out-parameter.
        unsafe { set_error(err, e) };
        std::ptr::null_mut()
    })
}

unsafe extern "C" fn get_capabilities<T: VpnEditorPluginImpl>(
    ptr: *mut ffi::NMVpnEditorPlugin,
) -> u32 {
    // SAFETY: libnm calls this vfunc only on instances of the type that installed it (see `imp`).
    guard(|| 0, || unsafe { imp::<T>(ptr) }.capabilities())
}

unsafe extern "C" fn import_from_file<T: VpnEditorPluginImpl>(
    ptr: *mut ffi::NMVpnEditorPlugin,
    path: *const c_char,
    err: *mut *mut glib::ffi::GError,
) -> *mut ffi::NMConnection {
    let r = guard(
        || Err(internal_error()),
        || match path_of(path) {
            // SAFETY: libnm calls this vfunc only on instances of the type that installed it (see `imp`).
            Some(p) => unsafe { imp::<T>(ptr) }.import(&p),
            None => Err(error::failed("no file name given")),
        },
    );
    r.unwrap_or_else(|e| {
        // SAFETY: libnm's GError** out-parameter.
        unsafe { set_error(err, e) };
        std::ptr::null_mut()
    })
}

unsafe extern "C" fn export_to_file<T: VpnEditorPluginImpl>(
    ptr: *mut ffi::NMVpnEditorPlugin,
    path: *const c_char,
    connection: *mut ffi::NMConnection,
    err: *mut *mut glib::ffi::GError,
) -> glib::ffi::gboolean {
    let r = guard(
        || Err(internal_error()),
        || {
            let p = path_of(path).ok_or_else(|| error::failed("no file name given"))?;
            // SAFETY: libnm passes the connection it asks about, alive for this call.
            let c = unsafe { ConnectionRef::from_raw(connection) }
                .ok_or_else(|| error::failed("no connection given"))?;
            // SAFETY: libnm calls this vfunc only on instances of the type that installed it.
            unsafe { imp::<T>(ptr) }.export(&p, c)
        },
    );
    match r {
        Ok(()) => true.into_glib(),
        Err(e) => {
            // SAFETY: libnm's GError** out-parameter.
            unsafe { set_error(err, e) };
            false.into_glib()
        }
    }
}

unsafe extern "C" fn get_suggested_filename<T: VpnEditorPluginImpl>(
    ptr: *mut ffi::NMVpnEditorPlugin,
    connection: *mut ffi::NMConnection,
) -> *mut c_char {
    guard(
        || None,
        || {
            // SAFETY: libnm passes the connection it asks about, alive for this call.
            let c = unsafe { ConnectionRef::from_raw(connection) }?;
            // SAFETY: libnm calls this vfunc only on instances of the type that installed it.
            unsafe { imp::<T>(ptr) }.suggested_filename(c)
        },
    )
    .map_or(std::ptr::null_mut(), |s| s.to_glib_full())
}
