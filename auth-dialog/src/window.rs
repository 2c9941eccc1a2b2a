//! The classic-mode window (nm-applet and other agents without an external UI):
//! the connection, a password entry, Show password, Cancel and OK.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use gtk::glib;
use gtk::prelude::*;
use gtk::subclass::prelude::*;
use zeroize::Zeroizing;

mod imp {
    use super::*;

    #[derive(Default, gtk::CompositeTemplate)]
    #[template(file = "window.ui")]
    pub struct PasswordWindow {
        #[template_child]
        pub description: TemplateChild<gtk::Label>,
        #[template_child]
        pub entry: TemplateChild<gtk::PasswordEntry>,
        #[template_child]
        pub show_password: TemplateChild<gtk::CheckButton>,
        #[template_child]
        pub ok_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub cancel_button: TemplateChild<gtk::Button>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for PasswordWindow {
        const NAME: &'static str = "NmPptpPasswordWindow";
        type Type = super::PasswordWindow;
        type ParentType = gtk::Window;

        fn class_init(klass: &mut Self::Class) {
            klass.bind_template();
            // Escape cancels, as in every dialog.
            klass.add_binding_action(
                gtk::gdk::Key::Escape,
                gtk::gdk::ModifierType::empty(),
                "window.close",
            );
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    impl ObjectImpl for PasswordWindow {
        fn constructed(&self) {
            self.parent_constructed();
            // GtkPasswordEntry keeps its text in non-pageable memory; its inner
            // GtkText is what shows or hides the characters.
            let entry = self.entry.get();
            self.show_password.connect_toggled(move |check| {
                if let Some(text) = entry.delegate().and_downcast::<gtk::Text>() {
                    text.set_visibility(check.is_active());
                }
            });
        }
    }

    impl WidgetImpl for PasswordWindow {}
    impl WindowImpl for PasswordWindow {}
}

glib::wrapper! {
    pub struct PasswordWindow(ObjectSubclass<imp::PasswordWindow>)
        @extends gtk::Window, gtk::Widget,
        @implements gtk::Buildable, gtk::ConstraintTarget,
            gtk::Native, gtk::Root, gtk::ShortcutManager;
}

pub enum Outcome {
    Entered(Zeroizing<String>),
    Cancelled,
}

/// Shows the window and runs until OK, Cancel, closing it, or `abort` saying so
/// (polled, for the agent's CANCEL).
pub fn ask(
    description: &str,
    prefill: Option<&str>,
    mut abort: impl FnMut() -> bool + 'static,
) -> Result<Outcome, String> {
    gtk::init().map_err(|e| format!("cannot show the password window: {e}"))?;
    let window: PasswordWindow = glib::Object::new();
    let imp = window.imp();
    imp.description.set_text(description);
    if let Some(p) = prefill {
        imp.entry.set_text(p);
    }

    let outcome = Rc::new(RefCell::new(Outcome::Cancelled));
    let main_loop = glib::MainLoop::new(None, false);
    imp.ok_button.connect_clicked(glib::clone!(
        #[weak]
        window,
        #[strong]
        outcome,
        move |_| {
            let entry = &window.imp().entry;
            *outcome.borrow_mut() = Outcome::Entered(secure_text(entry));
            // The entry's buffer is GTK's secure memory, wiped when cleared.
            entry.set_text("");
            window.close();
        }
    ));
    imp.cancel_button.connect_clicked(glib::clone!(
        #[weak]
        window,
        move |_| window.close()
    ));
    window.connect_close_request(glib::clone!(
        #[strong]
        main_loop,
        move |_| {
            main_loop.quit();
            glib::Propagation::Proceed
        }
    ));
    glib::timeout_add_local(
        Duration::from_millis(200),
        glib::clone!(
            #[weak]
            window,
            #[upgrade_or]
            glib::ControlFlow::Break,
            move || {
                if abort() {
                    window.close();
                    glib::ControlFlow::Break
                } else {
                    glib::ControlFlow::Continue
                }
            }
        ),
    );
    window.present();
    main_loop.run();
    Ok(outcome.replace(Outcome::Cancelled))
}

/// The entry's text copied straight from GTK's secure buffer into memory we wipe.
/// `EditableExt::text` would go through a `GString` copy that is freed unwiped.
fn secure_text(entry: &gtk::PasswordEntry) -> Zeroizing<String> {
    use gtk::prelude::*;
    // SAFETY: gtk_editable_get_text returns a NUL-terminated string owned by the
    // widget, valid until the text changes; it is copied before anything else
    // runs on this (the main) thread.
    let text = unsafe {
        let p = gtk::ffi::gtk_editable_get_text(entry.upcast_ref::<gtk::Editable>().as_ptr());
        if p.is_null() {
            return Zeroizing::new(String::new());
        }
        std::ffi::CStr::from_ptr(p)
    };
    // GTK keeps editable text valid UTF-8; anything else is dropped, not guessed at.
    Zeroizing::new(text.to_str().map(str::to_owned).unwrap_or_default())
}
