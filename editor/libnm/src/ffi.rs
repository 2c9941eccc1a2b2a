//! The libnm symbols the plugin uses, declared by hand (no maintained binding
//! matches glib 0.22; see rust-ecosystem.md §2).

#![allow(non_camel_case_types)]

use glib::ffi::{gboolean, gpointer, GError};
use glib::gobject_ffi::GTypeInterface;
use std::os::raw::c_char;

#[repr(C)]
pub struct NMConnection {
    _private: [u8; 0],
}
#[repr(C)]
pub struct NMSetting {
    _private: [u8; 0],
}
#[repr(C)]
pub struct NMVpnEditorPlugin {
    _private: [u8; 0],
}
#[repr(C)]
pub struct NMVpnEditor {
    _private: [u8; 0],
}
#[repr(C)]
pub struct NMVpnPluginInfo {
    _private: [u8; 0],
}

pub type NMVpnIterFunc = unsafe extern "C" fn(*const c_char, *const c_char, gpointer);

#[repr(C)]
#[derive(Copy, Clone)]
pub struct NMVpnEditorPluginInterface {
    pub g_iface: GTypeInterface,
    pub get_editor: Option<
        unsafe extern "C" fn(
            *mut NMVpnEditorPlugin,
            *mut NMConnection,
            *mut *mut GError,
        ) -> *mut NMVpnEditor,
    >,
    pub get_capabilities: Option<unsafe extern "C" fn(*mut NMVpnEditorPlugin) -> u32>,
    pub import_from_file: Option<
        unsafe extern "C" fn(
            *mut NMVpnEditorPlugin,
            *const c_char,
            *mut *mut GError,
        ) -> *mut NMConnection,
    >,
    pub export_to_file: Option<
        unsafe extern "C" fn(
            *mut NMVpnEditorPlugin,
            *const c_char,
            *mut NMConnection,
            *mut *mut GError,
        ) -> gboolean,
    >,
    pub get_suggested_filename:
        Option<unsafe extern "C" fn(*mut NMVpnEditorPlugin, *mut NMConnection) -> *mut c_char>,
    pub notify_plugin_info_set:
        Option<unsafe extern "C" fn(*mut NMVpnEditorPlugin, *mut NMVpnPluginInfo)>,
    pub get_vt: Option<unsafe extern "C" fn(*mut NMVpnEditorPlugin, *mut usize) -> *const u8>,
}

#[repr(C)]
#[derive(Copy, Clone)]
pub struct NMVpnEditorInterface {
    pub g_iface: GTypeInterface,
    pub get_widget:
        Option<unsafe extern "C" fn(*mut NMVpnEditor) -> *mut glib::gobject_ffi::GObject>,
    pub placeholder: Option<unsafe extern "C" fn()>,
    pub update_connection: Option<
        unsafe extern "C" fn(*mut NMVpnEditor, *mut NMConnection, *mut *mut GError) -> gboolean,
    >,
    pub changed: Option<unsafe extern "C" fn(*mut NMVpnEditor)>,
}

pub const CAPABILITY_IMPORT: u32 = 0x1;
pub const CAPABILITY_EXPORT: u32 = 0x2;

/// `NMConnectionError` codes used here.
pub const CONNECTION_ERROR_FAILED: i32 = 0;
pub const CONNECTION_ERROR_MISSING_PROPERTY: i32 = 6;
pub const CONNECTION_ERROR_INVALID_PROPERTY: i32 = 7;

#[link(name = "nm")]
unsafe extern "C" {
    pub fn nm_vpn_editor_plugin_get_type() -> glib::ffi::GType;
    pub fn nm_vpn_editor_get_type() -> glib::ffi::GType;
    pub fn nm_connection_error_quark() -> glib::ffi::GQuark;

    pub fn nm_simple_connection_new() -> *mut NMConnection;
    pub fn nm_connection_add_setting(connection: *mut NMConnection, setting: *mut NMSetting);
    pub fn nm_connection_get_setting_vpn(connection: *mut NMConnection) -> *mut NMSetting;
    pub fn nm_connection_get_setting_connection(connection: *mut NMConnection) -> *mut NMSetting;
    pub fn nm_connection_get_id(connection: *mut NMConnection) -> *const c_char;
    pub fn nm_connection_get_setting_ip4_config(connection: *mut NMConnection) -> *mut NMSetting;

    pub fn nm_setting_connection_new() -> *mut NMSetting;
    pub fn nm_setting_vpn_new() -> *mut NMSetting;
    pub fn nm_setting_ip4_config_new() -> *mut NMSetting;
    pub fn nm_setting_vpn_get_service_type(setting: *mut NMSetting) -> *const c_char;
    pub fn nm_setting_vpn_get_user_name(setting: *mut NMSetting) -> *const c_char;
    pub fn nm_setting_vpn_add_data_item(
        setting: *mut NMSetting,
        key: *const c_char,
        item: *const c_char,
    );
    pub fn nm_setting_vpn_add_secret(
        setting: *mut NMSetting,
        key: *const c_char,
        secret: *const c_char,
    );
    pub fn nm_setting_vpn_foreach_data_item(
        setting: *mut NMSetting,
        func: NMVpnIterFunc,
        user_data: gpointer,
    );
    pub fn nm_setting_vpn_foreach_secret(
        setting: *mut NMSetting,
        func: NMVpnIterFunc,
        user_data: gpointer,
    );

    pub fn nm_utils_uuid_generate() -> *mut c_char;
}
