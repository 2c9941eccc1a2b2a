//! The editor's page in GTK 4: the one page (editor/page/page.rs, its
//! template editor/page/page.ui) and GTK 4's share of it.

include!("../../page/page.rs");

gtk::glib::wrapper! {
    pub struct Page(ObjectSubclass<imp::Page>)
        @extends gtk::Box, gtk::Widget,
        @implements gtk::Buildable, gtk::ConstraintTarget, gtk::Orientable;
}

/// What GTK 4 does its own way.
mod toolkit {
    use gtk::prelude::*;

    pub const PAGE_TYPE: &str = "NmPptpRsEditorPage";

    /// The MPPE strength menu.
    pub type Choice = gtk::DropDown;

    pub fn fill_choice(c: &Choice, labels: &[String]) {
        let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
        c.set_model(Some(&gtk::StringList::new(&labels)));
    }

    pub fn choose(c: &Choice, i: u32) {
        c.set_selected(i);
    }

    pub fn chosen(c: &Choice) -> u32 {
        c.selected()
    }

    pub fn on_chosen(c: &Choice, f: impl Fn() + 'static) {
        c.connect_selected_notify(move |_| f());
    }

    pub fn mark_error(w: &gtk::Widget, on: bool) {
        if on {
            w.add_css_class("error");
        } else {
            w.remove_css_class("error");
        }
    }

    /// The check box with this id in the page's template.
    pub fn find_check(root: &gtk::Widget, id: &str) -> Option<gtk::CheckButton> {
        let mut todo = vec![root.clone()];
        while let Some(w) = todo.pop() {
            if w.buildable_id().as_deref() == Some(id) {
                return w.downcast().ok();
            }
            // A collapsed expander keeps its child out of the widget tree.
            if let Some(c) = w.downcast_ref::<gtk::Expander>().and_then(|e| e.child()) {
                todo.push(c);
            }
            let mut child = w.first_child();
            while let Some(c) = child {
                child = c.next_sibling();
                todo.push(c);
            }
        }
        None
    }

    /// GTK 4 widgets are visible from the start.
    pub fn constructed(_page: &gtk::Widget) {}
}
