//! `libnm-vpn-plugin-pptp-editor.so`: the PPTP connection editor for GTK 3
//! hosts (nm-connection-editor, Cinnamon, MATE, Xfce, Budgie), loaded by
//! `libnm-vpn-plugin-pptp.so` when the process has GTK 3. It exports only
//! `nm_vpn_editor_factory_pptp`, and links GTK 3 and libnma, never GTK 4.
//!
//! The page is a GTK 3 widget (gtk-rs 0.18, glib 0.18); the object libnm
//! talks to implements `NMVpnEditor` through the libnm crate (glib 0.22), so the
//! interface glue is the GTK 4 editor's. Both bindings wrap the one libgobject:
//! the page crosses between them as a plain `GObject*`.

pub use nm_pptp_editor_form as form;
mod nma;
pub mod page;

use std::cell::OnceCell;

use glib::prelude::*;
use glib::subclass::prelude::*;
use glib::translate::{from_glib_none, IntoGlibPtr};
use gtk::glib::object::ObjectType as _;
use nm_pptp_libnm::connection::ConnectionRef;
use nm_pptp_libnm::editor::{emit_changed, VpnEditor, VpnEditorImpl};
use nm_pptp_libnm::{error, ffi};

use form::Form;
use page::Page;

mod imp {
    use super::*;

    #[derive(Default)]
    pub struct PptpEditor {
        pub page: OnceCell<Page>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for PptpEditor {
        const NAME: &'static str = "NmPptpRsEditor3";
        type Type = super::PptpEditor;
        type Interfaces = (VpnEditor,);
    }

    impl ObjectImpl for PptpEditor {}

    impl VpnEditorImpl for PptpEditor {
        fn widget(&self) -> glib::Object {
            let page = self.page.get().expect("set by the factory");
            let p = page.as_ptr() as *mut glib::gobject_ffi::GObject;
            // SAFETY: a live GObject; the new reference is the other binding's.
            unsafe { from_glib_none(p) }
        }

        fn update_connection(&self, connection: ConnectionRef) -> Result<(), glib::Error> {
            let page = self.page.get().expect("set by the factory");
            let saved = page.form().save(connection);
            page.mark_error(saved.as_ref().err().and_then(|e| e.field));
            saved.map_err(|e| error::invalid(e.to_string()))
        }
    }
}

glib::wrapper! {
    pub struct PptpEditor(ObjectSubclass<imp::PptpEditor>)
        @implements VpnEditor;
}

impl PptpEditor {
    /// An editor showing `connection`. GTK must be initialised (the host did it).
    pub fn new(connection: ConnectionRef) -> Self {
        let editor: PptpEditor = glib::Object::new();
        let page = Page::new();
        page.load(
            &Form::opened(connection),
            connection.saved_vpn_setting_ptr(),
        );
        let weak = editor.downgrade();
        page.connect_changed(move || {
            if let Some(e) = weak.upgrade() {
                emit_changed(&e);
            }
        });
        editor.imp().page.set(page).expect("new editor");
        editor
    }

    pub fn page(&self) -> &Page {
        self.imp().page.get().expect("set in new")
    }
}

/// Called by the core plugin (`libnm-vpn-plugin-pptp.so`) in a GTK 3 host.
///
/// # Safety
/// `connection` is a live NMConnection; `error` a GError out-parameter or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nm_vpn_editor_factory_pptp(
    _plugin: *mut ffi::NMVpnEditorPlugin,
    connection: *mut ffi::NMConnection,
    error: *mut *mut glib::ffi::GError,
) -> *mut ffi::NMVpnEditor {
    let r = nm_pptp_libnm::guard(
        || Err(error::failed("internal error in the PPTP editor")),
        || {
            if !gtk::is_initialized_main_thread() {
                // GTK 3 has no gtk_is_initialized(); a host that ran gtk_init()
                // has a default display.
                // SAFETY: no arguments; reads GDK's global state, null when GTK was never initialised.
                if unsafe { gtk::gdk::ffi::gdk_display_get_default() }.is_null() {
                    return Err(error::failed("GTK is not initialised in this process"));
                }
                // SAFETY: checked just above, on the thread the host calls us from.
                unsafe { gtk::set_initialized() };
            }
            nm_pptp_settings::i18n::bind();
            // SAFETY: the plugin passes the connection libnm gave it, alive for this call.
            let c = unsafe { ConnectionRef::from_raw(connection) }
                .ok_or_else(|| error::failed("no connection given"))?;
            let editor: VpnEditor = PptpEditor::new(c).upcast();
            Ok(editor.into_glib_ptr())
        },
    );
    match r {
        Ok(p) => p,
        Err(e) => {
            // SAFETY: the caller's GError** out-parameter.
            unsafe { error::set_error(error, e) };
            std::ptr::null_mut()
        }
    }
}
