// Shared by the two editors' build scripts (`include!`d): the page's
// description compiled into a GResource, so the page's template comes from
// one `.ui` whichever toolkit builds it.

/// Compiles `ui` (the page description, as this toolkit reads it) into
/// `$OUT_DIR/page.gresource` under [`PAGE_RESOURCE`].
fn compile_page_resource(ui: &str) {
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("page.ui"), ui).expect("write page.ui");
    let prefix = PAGE_RESOURCE.rsplit_once('/').expect("a path").0;
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<gresources>\n  <gresource prefix=\"{prefix}\">\n    <file>page.ui</file>\n  </gresource>\n</gresources>\n"
    );
    std::fs::write(out.join("page.gresource.xml"), xml).expect("write page.gresource.xml");
    let status = std::process::Command::new("glib-compile-resources")
        .arg("--sourcedir")
        .arg(&out)
        .arg("--target")
        .arg(out.join("page.gresource"))
        .arg(out.join("page.gresource.xml"))
        .status()
        .expect("glib-compile-resources (Debian package libglib2.0-dev-bin) must be installed");
    assert!(status.success(), "glib-compile-resources failed");
}

/// Where the page's template lives (the page's `#[template(resource)]` names it too).
const PAGE_RESOURCE: &str = "/org/freedesktop/NetworkManager/pptp-rs/page.ui";
