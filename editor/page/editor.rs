// The editor object libnm talks to (NMVpnEditor) and the factory the core
// plugin calls, for both toolkits: `include!`d by editor/gtk/src/lib.rs and
// editor/gtk3/src/lib.rs after their `toolkit` module (the type name, the page
// as a GObject, taking over the host's GTK). `glib` is the libnm crate's.

mod imp {
    use super::*;

    #[derive(Default)]
    pub struct PptpEditor {
        pub page: OnceCell<Page>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for PptpEditor {
        const NAME: &'static str = toolkit::EDITOR_TYPE;
        type Type = super::PptpEditor;
        type Interfaces = (VpnEditor,);
    }

    impl ObjectImpl for PptpEditor {}

    impl VpnEditorImpl for PptpEditor {
        fn widget(&self) -> glib::Object {
            toolkit::page_object(self.page.get().expect("set by the factory"))
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

/// Called by the core plugin (`libnm-vpn-plugin-pptp.so`) in a host of this
/// editor's toolkit.
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
            toolkit::adopt_hosts_gtk()?;
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
