// libnma's password-storage menu (this user / all users / ask every time /
// not required), the one the VPN editors of both toolkits share: `include!`d
// by each editor, whose build script links its toolkit's libnma (nma-gtk4 or
// nma), which export the same two functions.

use gtk::glib::translate::ToGlibPtr;
use gtk::prelude::*;
use nm_pptp_libnm::ffi::NMSetting;
use std::os::raw::c_char;

unsafe extern "C" {
    fn nma_utils_setup_password_storage(
        passwd_entry: *mut gtk::ffi::GtkWidget,
        initial_flags: u32,
        setting: *mut NMSetting,
        password_flags_name: *const c_char,
        with_not_required: i32,
        ask_mode: i32,
    );
    fn nma_utils_menu_to_secret_flags(passwd_entry: *mut gtk::ffi::GtkWidget) -> u32;
}

/// Attach the menu to `entry` (a GtkEntry: libnma uses its icons).
pub fn setup(entry: &gtk::Entry, initial_flags: u32, setting: *mut NMSetting) {
    let w: &gtk::Widget = entry.upcast_ref();
    let key = std::ffi::CString::new(nm_pptp_settings::keys::PASSWORD).expect("no NUL");
    // SAFETY: a live entry; the setting may be NULL (a new connection); `key`
    // outlives the call, which copies it.
    unsafe {
        nma_utils_setup_password_storage(
            w.to_glib_none().0,
            initial_flags,
            setting,
            key.as_ptr(),
            1,
            0,
        )
    }
}

/// The flags the menu currently shows.
pub fn flags(entry: &gtk::Entry) -> u32 {
    let w: &gtk::Widget = entry.upcast_ref();
    // SAFETY: an entry set up with `setup`.
    unsafe { nma_utils_menu_to_secret_flags(w.to_glib_none().0) }
}
