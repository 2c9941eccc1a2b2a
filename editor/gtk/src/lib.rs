//! `libnm-gtk4-vpn-plugin-pptp-editor.so`: the PPTP connection editor GNOME
//! Settings embeds, loaded by `libnm-vpn-plugin-pptp.so` in GTK 4 hosts. It
//! exports only `nm_vpn_editor_factory_pptp`. The editor object and the page
//! are editor/page/'s; this file has GTK 4's share.

pub use nm_pptp_editor_form as form;
mod nma;
pub mod page;

use std::cell::OnceCell;

use gtk::glib;
use gtk::glib::translate::IntoGlibPtr;
use gtk::prelude::*;
use gtk::subclass::prelude::*;
use nm_pptp_libnm::connection::ConnectionRef;
use nm_pptp_libnm::editor::{emit_changed, VpnEditor, VpnEditorImpl};
use nm_pptp_libnm::{error, ffi};

use form::Form;
use page::Page;

/// What GTK 4 does its own way.
mod toolkit {
    use super::*;

    pub const EDITOR_TYPE: &str = "NmPptpRsEditor";

    /// The page as the GObject libnm hands the host (one glib for both).
    pub fn page_object(page: &Page) -> glib::Object {
        page.clone().upcast()
    }

    /// The host initialised GTK through C; tell gtk-rs so.
    pub fn adopt_hosts_gtk() -> Result<(), glib::Error> {
        if gtk::is_initialized_main_thread() {
            return Ok(());
        }
        // SAFETY: no arguments; reads GTK's global state.
        if unsafe { gtk::ffi::gtk_is_initialized() } == 0 {
            return Err(error::failed("GTK is not initialised in this process"));
        }
        // SAFETY: checked just above, on the thread the host calls us from.
        unsafe { gtk::set_initialized() };
        Ok(())
    }
}

include!("../../page/editor.rs");
