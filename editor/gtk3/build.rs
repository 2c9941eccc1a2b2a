//! The page's template from the one description, `editor/page/page.ui`
//! (written for GTK 4), turned into what GTK 3's builder reads: a child's
//! `<layout>` becomes `<packing>` after the child's object, GtkDropDown becomes
//! GtkComboBoxText (both filled and read from code), an object given inline as
//! a property's value moves to the top level under an id (GTK 3.24's builder
//! crashes on inline values), and the requirement and template class are
//! GTK 3's. The description keeps to what both toolkits
//! have; anything this does not know how to carry over stops the build.

include!("../page/resources.rs");

fn main() {
    let ui = "../page/page.ui";
    println!("cargo:rerun-if-changed={ui}");
    println!("cargo:rerun-if-changed=../page/resources.rs");
    // libnma's GTK 3 build: its password-storage menu.
    println!("cargo:rustc-link-lib=dylib=nma");
    let gtk4 = std::fs::read_to_string(ui).expect("read the page description");
    compile_page_resource(&to_gtk3(&gtk4));
}

fn replace_once(s: &str, from: &str, to: &str) -> String {
    assert_eq!(s.matches(from).count(), 1, "page.ui: expected one {from}");
    s.replacen(from, to, 1)
}

fn to_gtk3(ui: &str) -> String {
    let ui = replace_once(
        ui,
        r#"<requires lib="gtk" version="4.8"/>"#,
        r#"<requires lib="gtk+" version="3.24"/>"#,
    );
    let ui = replace_once(
        &ui,
        r#"<template class="NmPptpRsEditorPage" "#,
        r#"<template class="NmPptpRsEditorPage3" "#,
    );
    let ui = ui.replace(r#"class="GtkDropDown""#, r#"class="GtkComboBoxText""#);
    let ui = hoist_inline_objects(&ui);
    let lines: Vec<&str> = ui.lines().collect();
    let mut out: Vec<String> = Vec::new();
    // Packing blocks waiting for their object's closing tag: (that line, block).
    let mut pending: Vec<(String, Vec<String>)> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let indent = line.len() - line.trim_start().len();
        if line.trim() == "<layout>" {
            let pad = " ".repeat(indent);
            let mut block = vec![format!("{pad}<packing>")];
            i += 1;
            while lines[i].trim() != "</layout>" {
                block.push(format!("{pad}  {}", packing_property(lines[i].trim())));
                i += 1;
            }
            block.push(format!("{pad}</packing>"));
            let outer = " ".repeat(indent.checked_sub(2).expect("layout inside an object"));
            pending.push((format!("{outer}</object>"), block));
            i += 1;
            continue;
        }
        out.push(line.to_string());
        if pending.last().is_some_and(|(close, _)| close == line) {
            let (_, block) = pending.pop().expect("checked");
            // The packing sits beside the object, one level out.
            out.extend(block.into_iter().map(|l| l[2..].to_string()));
        }
        i += 1;
    }
    assert!(
        pending.is_empty(),
        "page.ui: a <layout> without its </object>"
    );
    out.join("\n") + "\n"
}

/// One `<property>` of GTK 4's grid layout as GTK 3's packing property.
fn packing_property(p: &str) -> String {
    for (gtk4, gtk3) in [
        ("column", "left_attach"),
        ("row", "top_attach"),
        ("column-span", "width"),
        ("row-span", "height"),
    ] {
        let head = format!(r#"<property name="{gtk4}">"#);
        if let Some(rest) = p.strip_prefix(&head) {
            return format!(r#"<property name="{gtk3}">{rest}"#);
        }
    }
    panic!("page.ui: no GTK 3 packing for {p}");
}

/// `<property name="p"><object class="C">…</object></property>` becomes
/// `<property name="p">inline_N</property>`, and the object a top-level
/// `<object class="C" id="inline_N">` before `</interface>`.
fn hoist_inline_objects(ui: &str) -> String {
    let lines: Vec<&str> = ui.lines().collect();
    let mut out: Vec<String> = Vec::new();
    let mut hoisted: Vec<String> = Vec::new();
    let mut count = 0;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let t = line.trim();
        let opens_value =
            t.starts_with("<property ") && t.ends_with('>') && !t.contains("</property>");
        let next = lines.get(i + 1).map_or("", |l| l.trim());
        if !(opens_value && next.starts_with("<object class=")) {
            out.push(line.to_string());
            i += 1;
            continue;
        }
        let indent = line.len() - t.len();
        count += 1;
        let id = format!("inline_{count}");
        out.push(format!("{line}{id}</property>"));
        let object_indent = indent + 2;
        let close = format!("{}</object>", " ".repeat(object_indent));
        i += 1;
        let first = lines[i]
            .trim()
            .replacen("<object ", &format!("<object id=\"{id}\" "), 1);
        hoisted.push(format!("  {first}"));
        i += 1;
        while lines[i] != close {
            hoisted.push(format!("  {}", &lines[i][object_indent..]));
            i += 1;
        }
        hoisted.push("  </object>".to_string());
        i += 1;
        assert_eq!(
            lines[i].trim(),
            "</property>",
            "page.ui: an inline object not alone in its property"
        );
        i += 1;
    }
    let end = out
        .iter()
        .rposition(|l| l.trim() == "</interface>")
        .expect("page.ui: </interface>");
    out.splice(end..end, hoisted);
    out.join("\n") + "\n"
}
