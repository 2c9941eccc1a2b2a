//! The page's template from the one description, `editor/page/page.ui`,
//! which is written for GTK 4 and taken as it is.

include!("../page/resources.rs");

fn main() {
    let ui = "../page/page.ui";
    println!("cargo:rerun-if-changed={ui}");
    println!("cargo:rerun-if-changed=../page/resources.rs");
    // libnma's GTK 4 build: its password-storage menu.
    println!("cargo:rustc-link-lib=dylib=nma-gtk4");
    compile_page_resource(&std::fs::read_to_string(ui).expect("read the page description"));
}
