//! Loading the editor library for the host's toolkit on demand, from this
//! library's own directory: GTK 3 hosts (nm-connection-editor, Cinnamon, MATE,
//! Xfce, Budgie) get `libnm-vpn-plugin-pptp-editor.so`, GTK 4 hosts (GNOME
//! Settings) `libnm-gtk4-vpn-plugin-pptp-editor.so`. The two toolkits cannot
//! share a process, so the choice follows what the host has loaded. A library
//! is never unloaded, because it registers GTypes.

use std::ffi::{CStr, CString};
use std::path::PathBuf;
use std::sync::OnceLock;

use glib::translate::{from_glib_full, ToGlibPtr};
use nm_pptp_libnm::connection::ConnectionRef;
use nm_pptp_libnm::error;
use nm_pptp_libnm::ffi;
use nm_pptp_libnm::plugin::VpnEditorPlugin;

use crate::tr;

/// The toolkit an editor library is built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Toolkit {
    Gtk3,
    Gtk4,
}

impl Toolkit {
    /// The installed name first, then the name cargo gives it in a build tree.
    fn files(self) -> [&'static str; 2] {
        match self {
            Toolkit::Gtk3 => [
                "libnm-vpn-plugin-pptp-editor.so",
                "libnm_vpn_plugin_pptp_editor.so",
            ],
            Toolkit::Gtk4 => [
                "libnm-gtk4-vpn-plugin-pptp-editor.so",
                "libnm_gtk4_vpn_plugin_pptp_editor.so",
            ],
        }
    }

    /// GTK 3 when the process has it loaded (a symbol GTK 4 dropped), else GTK 4,
    /// as NetworkManager's own VPN plugins decide.
    fn of_process() -> Toolkit {
        // SAFETY: dlsym on the global scope with a constant name.
        if unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"gtk_container_add".as_ptr()) }.is_null() {
            Toolkit::Gtk4
        } else {
            Toolkit::Gtk3
        }
    }
}

const FACTORY: &CStr = c"nm_vpn_editor_factory_pptp";

type Factory = unsafe extern "C" fn(
    *mut ffi::NMVpnEditorPlugin,
    *mut ffi::NMConnection,
    *mut *mut glib::ffi::GError,
) -> *mut ffi::NMVpnEditor;

fn own_directory() -> Option<PathBuf> {
    // SAFETY: Dl_info is plain data; all zeroes is a valid value for dladdr to fill.
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    // SAFETY: any address inside this library identifies it.
    let found = unsafe { libc::dladdr(own_directory as *const libc::c_void, &mut info) };
    if found == 0 || info.dli_fname.is_null() {
        return None;
    }
    // SAFETY: dladdr gives a NUL-terminated path owned by the loader.
    let path = unsafe { CStr::from_ptr(info.dli_fname) }
        .to_string_lossy()
        .into_owned();
    PathBuf::from(path).parent().map(PathBuf::from)
}

/// The factory address, as usize so the cache is Sync. A process has one
/// toolkit for its lifetime, so one cache serves it.
fn factory(toolkit: Toolkit) -> Result<usize, String> {
    static CACHE: OnceLock<Result<usize, String>> = OnceLock::new();
    CACHE
        .get_or_init(|| {
            let dir = own_directory().ok_or("cannot locate the PPTP plugin library")?;
            let files = toolkit.files();
            let path = files
                .iter()
                .map(|f| dir.join(f))
                .find(|p| p.exists())
                .ok_or_else(|| format!("{}: not found", dir.join(files[0]).display()))?;
            let c = CString::new(path.to_string_lossy().as_bytes()).map_err(|e| e.to_string())?;
            // SAFETY: loading a library we install; kept for the process's lifetime.
            let handle = unsafe { libc::dlopen(c.as_ptr(), libc::RTLD_LAZY | libc::RTLD_LOCAL) };
            if handle.is_null() {
                return Err(dl_error());
            }
            // SAFETY: `handle` is a live handle from dlopen (kept for the process's life), FACTORY a NUL-terminated name.
            let sym = unsafe { libc::dlsym(handle, FACTORY.as_ptr()) };
            if sym.is_null() {
                return Err(format!(
                    "{}: no {}",
                    path.display(),
                    FACTORY.to_string_lossy()
                ));
            }
            Ok(sym as usize)
        })
        .clone()
}

/// The dynamic loader's last error, if it has one (dlerror() may return null).
fn dl_error() -> String {
    // SAFETY: dlerror returns null or a C string valid until the next dl call,
    // copied out here before any other.
    let msg = unsafe { libc::dlerror() };
    if msg.is_null() {
        return "the dynamic loader gave no reason".into();
    }
    // SAFETY: non-null, so a NUL-terminated string owned by the loader.
    unsafe { CStr::from_ptr(msg) }
        .to_string_lossy()
        .into_owned()
}

pub fn editor(
    plugin: &VpnEditorPlugin,
    connection: ConnectionRef,
) -> Result<*mut ffi::NMVpnEditor, glib::Error> {
    let f = factory(Toolkit::of_process()).map_err(|e| {
        error::failed(format!(
            "{}: {e}",
            tr("cannot load the PPTP connection editor")
        ))
    })?;
    // SAFETY: the symbol has the factory's C signature (ours, in the editor library).
    let f: Factory = unsafe { std::mem::transmute::<usize, Factory>(f) };
    let mut err: *mut glib::ffi::GError = std::ptr::null_mut();
    // SAFETY: the factory takes the plugin, a live connection and an error slot, as ours in the editor library does.
    let ed = unsafe { f(plugin.to_glib_none().0, connection.as_ptr(), &mut err) };
    if ed.is_null() {
        return Err(if err.is_null() {
            error::failed(tr("cannot create the PPTP connection editor"))
        } else {
            // SAFETY: the factory handed us ownership of its GError.
            unsafe { from_glib_full(err) }
        });
    }
    Ok(ed)
}
