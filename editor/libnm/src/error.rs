//! `NM_CONNECTION_ERROR`, the domain libnm's callers expect from editor plugins.

use glib::translate::from_glib;

use crate::ffi;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionError {
    Failed,
    MissingProperty,
    InvalidProperty,
}

impl glib::error::ErrorDomain for ConnectionError {
    fn domain() -> glib::Quark {
        // SAFETY: a plain getter of a static quark.
        unsafe { from_glib(ffi::nm_connection_error_quark()) }
    }

    fn code(self) -> i32 {
        match self {
            ConnectionError::Failed => ffi::CONNECTION_ERROR_FAILED,
            ConnectionError::MissingProperty => ffi::CONNECTION_ERROR_MISSING_PROPERTY,
            ConnectionError::InvalidProperty => ffi::CONNECTION_ERROR_INVALID_PROPERTY,
        }
    }

    fn from(code: i32) -> Option<Self> {
        match code {
            ffi::CONNECTION_ERROR_FAILED => Some(ConnectionError::Failed),
            ffi::CONNECTION_ERROR_MISSING_PROPERTY => Some(ConnectionError::MissingProperty),
            ffi::CONNECTION_ERROR_INVALID_PROPERTY => Some(ConnectionError::InvalidProperty),
            _ => None,
        }
    }
}

/// Fills a caller's `GError **` out-parameter (which may be NULL) with `e`.
///
/// # Safety
/// `out` is NULL or points at a writable `GError *` the caller expects us to set.
pub unsafe fn set_error(out: *mut *mut glib::ffi::GError, e: glib::Error) {
    if !out.is_null() {
        // SAFETY: the function's contract: `out` is non-NULL here and points at a writable `GError *`.
        unsafe { *out = glib::translate::IntoGlibPtr::into_glib_ptr(e) };
    }
}

pub fn failed(message: impl AsRef<str>) -> glib::Error {
    glib::Error::new(ConnectionError::Failed, message.as_ref())
}

pub fn invalid(message: impl AsRef<str>) -> glib::Error {
    glib::Error::new(ConnectionError::InvalidProperty, message.as_ref())
}
