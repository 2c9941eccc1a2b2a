//! The editor's page in GTK 3: the one page (editor/page/page.rs, its
//! template derived from editor/page/page.ui by build.rs) and GTK 3's share
//! of it.

include!("../../page/page.rs");

gtk::glib::wrapper! {
    pub struct Page(ObjectSubclass<imp::Page>)
        @extends gtk::Box, gtk::Container, gtk::Widget,
        @implements gtk::Buildable, gtk::Orientable;
}

impl ContainerImpl for imp::Page {}

/// What GTK 3 does its own way.
mod toolkit {
    use gtk::prelude::*;

    pub const PAGE_TYPE: &str = "NmPptpRsEditorPage3";

    /// The MPPE strength menu (GTK 3 has no drop-down).
    pub type Choice = gtk::ComboBoxText;

    pub fn fill_choice(c: &Choice, labels: &[String]) {
        c.remove_all();
        for l in labels {
            c.append_text(l);
        }
    }

    pub fn choose(c: &Choice, i: u32) {
        c.set_active(Some(i));
    }

    pub fn chosen(c: &Choice) -> u32 {
        c.active().unwrap_or(0)
    }

    pub fn on_chosen(c: &Choice, f: impl Fn() + 'static) {
        c.connect_changed(move |_| f());
    }

    pub fn mark_error(w: &gtk::Widget, on: bool) {
        let style = w.style_context();
        if on {
            style.add_class("error");
        } else {
            style.remove_class("error");
        }
    }

    /// The check box with this id in the page's template.
    pub fn find_check(root: &gtk::Widget, id: &str) -> Option<gtk::CheckButton> {
        let mut todo = vec![root.clone()];
        while let Some(w) = todo.pop() {
            if w.buildable_name().as_deref() == Some(id) {
                return w.downcast().ok();
            }
            if let Some(c) = w.downcast_ref::<gtk::Container>() {
                todo.extend(c.children());
            }
        }
        None
    }

    /// GTK 3 widgets start hidden; the host shows only the page itself.
    pub fn constructed(page: &gtk::Widget) {
        page.show_all();
    }
}
