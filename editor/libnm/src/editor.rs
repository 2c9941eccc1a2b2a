//! `NMVpnEditor`, implementable by a Rust GObject.

use glib::prelude::*;
use glib::subclass::prelude::*;
use glib::translate::{IntoGlib, ToGlibPtr};

use crate::connection::ConnectionRef;
use crate::error;
use crate::ffi;
use crate::guard;

glib::wrapper! {
    pub struct VpnEditor(Interface<ffi::NMVpnEditor, ffi::NMVpnEditorInterface>);

    match fn {
        type_ => || ffi::nm_vpn_editor_get_type(),
    }
}

pub trait VpnEditorImpl: ObjectImpl + ObjectSubclass<Type: IsA<VpnEditor>> {
    /// The top widget; the editor keeps it alive.
    fn widget(&self) -> glib::Object;
    /// Writes the fields into `connection`, or says which one is wrong.
    fn update_connection(&self, connection: ConnectionRef) -> Result<(), glib::Error>;
}

// SAFETY: the interface struct is NMVpnEditorInterface, whose vfunc slots interface_init fills with functions of the C signatures libnm calls.
unsafe impl<T: VpnEditorImpl> IsImplementable<T> for VpnEditor {
    fn interface_init(iface: &mut glib::Interface<Self>) {
        let iface = iface.as_mut();
        iface.get_widget = Some(get_widget::<T>);
        iface.update_connection = Some(update_connection::<T>);
    }
}

/// Emit the interface's `changed` signal (host UIs re-validate on it).
pub fn emit_changed(editor: &impl IsA<VpnEditor>) {
    editor.as_ref().emit_by_name::<()>("changed", &[]);
}

unsafe fn imp<'a, T: VpnEditorImpl>(ptr: *mut ffi::NMVpnEditor) -> &'a T {
    // SAFETY: libnm only calls the vfuncs installed for T's type on T's instances.
    let instance = unsafe { &*(ptr as *mut T::Instance) };
    instance.imp()
}

unsafe extern "C" fn get_widget<T: VpnEditorImpl>(
    ptr: *mut ffi::NMVpnEditor,
) -> *mut glib::gobject_ffi::GObject {
    // Transfer none: the editor holds the widget.
    guard(std::ptr::null_mut, || {
        // SAFETY: libnm calls this vfunc only on instances of the type that installed it.
        let w = unsafe { imp::<T>(ptr) }.widget();
        let p: *mut glib::gobject_ffi::GObject = w.to_glib_none().0;
        p
    })
}

unsafe extern "C" fn update_connection<T: VpnEditorImpl>(
    ptr: *mut ffi::NMVpnEditor,
    connection: *mut ffi::NMConnection,
    err: *mut *mut glib::ffi::GError,
) -> glib::ffi::gboolean {
    let r = guard(
        || Err(error::failed("internal error in the PPTP editor")),
        // SAFETY: libnm calls this vfunc only on instances of the type that installed it.
        || {
            // SAFETY: libnm passes the connection it asks about, alive for this call.
            let c = unsafe { ConnectionRef::from_raw(connection) }
                .ok_or_else(|| error::failed("no connection given"))?;
            // SAFETY: libnm calls this vfunc only on instances of the type that installed it.
            unsafe { imp::<T>(ptr) }.update_connection(c)
        },
    );
    match r {
        Ok(()) => true.into_glib(),
        Err(e) => {
            // SAFETY: libnm's GError** out-parameter.
            unsafe { error::set_error(err, e) };
            false.into_glib()
        }
    }
}
