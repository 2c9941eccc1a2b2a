//! libnma-gtk4's password-storage menu (build.rs links it).

include!("../../page/nma.rs");
