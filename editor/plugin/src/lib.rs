//! `libnm-vpn-plugin-pptp.so`, the library libnm loads for the `.name` file's
//! `[libnm] plugin=`: nmcli (import/export), GNOME Settings and
//! nm-connection-editor use it. No GTK here: the GTK4 editor is a separate
//! library, loaded only when a host asks for the editor.

pub mod export;
pub mod import;
mod load_editor;

use std::path::Path;
use std::sync::OnceLock;

use glib::prelude::*;
use glib::subclass::prelude::*;
use glib::translate::IntoGlibPtr;
use nm_pptp_libnm::connection::{new_vpn_connection, ConnectionRef};
use nm_pptp_libnm::error;
use nm_pptp_libnm::ffi;
use nm_pptp_libnm::plugin::{VpnEditorPlugin, VpnEditorPluginImpl};
use nm_pptp_settings::nm::SERVICE;

pub(crate) use nm_pptp_settings::i18n::tr;

mod imp {
    use super::*;

    #[derive(Default)]
    pub struct PptpEditorPlugin;

    #[glib::object_subclass]
    impl ObjectSubclass for PptpEditorPlugin {
        const NAME: &'static str = "NmPptpRsEditorPlugin";
        type Type = super::PptpEditorPlugin;
        type Interfaces = (VpnEditorPlugin,);
    }

    impl ObjectImpl for PptpEditorPlugin {
        fn properties() -> &'static [glib::ParamSpec] {
            static PROPS: OnceLock<Vec<glib::ParamSpec>> = OnceLock::new();
            PROPS.get_or_init(|| {
                ["name", "description", "service"]
                    .into_iter()
                    .map(glib::ParamSpecOverride::for_interface::<VpnEditorPlugin>)
                    .collect()
            })
        }

        fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
            match pspec.name() {
                "name" => tr("Point-to-Point Tunneling Protocol (PPTP)").to_value(),
                "description" => {
                    tr("Compatible with Microsoft and other PPTP VPN servers.").to_value()
                }
                "service" => SERVICE.to_value(),
                _ => unreachable!("only the interface's properties are installed"),
            }
        }
    }

    impl VpnEditorPluginImpl for PptpEditorPlugin {
        fn editor(&self, connection: ConnectionRef) -> Result<*mut ffi::NMVpnEditor, glib::Error> {
            load_editor::editor(self.obj().upcast_ref(), connection)
        }

        fn capabilities(&self) -> u32 {
            ffi::CAPABILITY_IMPORT | ffi::CAPABILITY_EXPORT
        }

        fn import(&self, path: &Path) -> Result<*mut ffi::NMConnection, glib::Error> {
            let imported = import::import(path).map_err(error::failed)?;
            for w in &imported.warnings {
                glib::g_warning!("nm-pptp", "{}: {}", path.display(), w);
            }
            for n in &imported.notes {
                glib::g_message!("nm-pptp", "{}: {}", path.display(), n);
            }
            let conn = new_vpn_connection(&imported.id, &imported.setting);
            if imported.routing != Default::default() {
                // SAFETY: a new connection, ours until it is returned below.
                if let Some(c) = unsafe { ConnectionRef::from_raw(conn) } {
                    c.set_ip4_routing(imported.routing);
                }
            }
            Ok(conn)
        }

        fn export(&self, path: &Path, connection: ConnectionRef) -> Result<(), glib::Error> {
            let vpn = connection
                .vpn()
                .ok_or_else(|| error::failed(tr("the connection has no VPN setting")))?;
            let id = connection.id().unwrap_or_default();
            let text =
                export::export(&id, &vpn, connection.ip4_routing()).map_err(error::failed)?;
            std::fs::write(path, text)
                .map_err(|e| error::failed(format!("{}: {e}", path.display())))
        }

        fn suggested_filename(&self, connection: ConnectionRef) -> Option<String> {
            let id = connection.id().unwrap_or_else(|| "pptp".into());
            // A peers file name, ready for /etc/ppp/peers: `pon NAME` takes one word.
            Some(
                id.chars()
                    .map(|c| {
                        if c.is_alphanumeric() || "-_.".contains(c) {
                            c
                        } else {
                            '_'
                        }
                    })
                    .collect(),
            )
        }
    }
}

glib::wrapper! {
    pub struct PptpEditorPlugin(ObjectSubclass<imp::PptpEditorPlugin>)
        @implements VpnEditorPlugin;
}

/// The one symbol libnm looks up.
///
/// # Safety
/// Called by libnm with a GError out-parameter or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nm_vpn_editor_plugin_factory(
    _error: *mut *mut glib::ffi::GError,
) -> *mut ffi::NMVpnEditorPlugin {
    nm_pptp_libnm::guard(std::ptr::null_mut, || {
        nm_pptp_settings::i18n::bind();
        let plugin: VpnEditorPlugin = glib::Object::new::<PptpEditorPlugin>().upcast();
        // A full reference, handed to libnm.
        plugin.into_glib_ptr()
    })
}
