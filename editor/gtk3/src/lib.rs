//! `libnm-vpn-plugin-pptp-editor.so`: the PPTP connection editor for GTK 3
//! hosts (nm-connection-editor, Cinnamon, MATE, Xfce, Budgie), loaded by
//! `libnm-vpn-plugin-pptp.so` when the process has GTK 3. It exports only
//! `nm_vpn_editor_factory_pptp`, and links GTK 3 and libnma, never GTK 4.
//!
//! The page is a GTK 3 widget (gtk-rs 0.18, glib 0.18); the object libnm
//! talks to implements `NMVpnEditor` through the libnm crate (glib 0.22), so the
//! interface glue is the GTK 4 editor's. Both bindings wrap the one libgobject:
//! the page crosses between them as a plain `GObject*`. The editor object and
//! the page are editor/page/'s; this file has GTK 3's share.

pub use nm_pptp_editor_form as form;
mod nma;
pub mod page;

use std::cell::OnceCell;

use glib::prelude::*;
use glib::subclass::prelude::*;
use glib::translate::IntoGlibPtr;
use nm_pptp_libnm::connection::ConnectionRef;
use nm_pptp_libnm::editor::{emit_changed, VpnEditor, VpnEditorImpl};
use nm_pptp_libnm::{error, ffi};

use form::Form;
use page::Page;

/// What GTK 3 does its own way.
mod toolkit {
    use super::*;
    use glib::translate::from_glib_none;
    use gtk::glib::object::ObjectType as _;

    pub const EDITOR_TYPE: &str = "NmPptpRsEditor3";

    /// The page (a glib 0.18 object) as the libnm crate's glib sees it.
    pub fn page_object(page: &Page) -> glib::Object {
        let p = page.as_ptr() as *mut glib::gobject_ffi::GObject;
        // SAFETY: a live GObject; the new reference is the other binding's.
        unsafe { from_glib_none(p) }
    }

    /// The host initialised GTK through C; tell gtk-rs so.
    pub fn adopt_hosts_gtk() -> Result<(), glib::Error> {
        if gtk::is_initialized_main_thread() {
            return Ok(());
        }
        // GTK 3 has no gtk_is_initialized(); a host that ran gtk_init() has a
        // default display.
        // SAFETY: no arguments; reads GDK's global state, null when GTK was never initialised.
        if unsafe { gtk::gdk::ffi::gdk_display_get_default() }.is_null() {
            return Err(error::failed("GTK is not initialised in this process"));
        }
        // SAFETY: checked just above, on the thread the host calls us from.
        unsafe { gtk::set_initialized() };
        Ok(())
    }
}

include!("../../page/editor.rs");
