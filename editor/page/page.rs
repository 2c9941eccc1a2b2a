// The editor's page, one implementation for both toolkits: `include!`d by
// editor/gtk/src/page.rs (GTK 4) and editor/gtk3/src/page.rs (GTK 3), each of
// which names its toolkit `gtk`, gives a `toolkit` module for the few calls
// that differ (the security menu's widget, error styling, the type name) and
// wraps `imp::Page` in its own widget hierarchy. General fields, the Advanced
// expander, the note that PPTP is not secure; it shows a [`Form`] and reads
// one back, and keeps the MPPE/authentication rules visible as the user clicks.

use std::cell::RefCell;

use gtk::glib;
use gtk::prelude::*;
use gtk::subclass::prelude::*;
use zeroize::Zeroizing;

use crate::form::{Field, Form, Security, Toggle, TOGGLES};
use crate::nma;

mod imp {
    use super::*;
    // Named again: through the glob alone it would clash with a `glib` crate
    // of the editor's own (the GTK 3 editor has glib 0.22 beside GTK 3's).
    use gtk::glib;

    #[derive(Default, gtk::CompositeTemplate)]
    #[template(resource = "/org/freedesktop/NetworkManager/pptp-rs/page.ui")]
    pub struct Page {
        #[template_child]
        pub gateway_entry: TemplateChild<gtk::Entry>,
        #[template_child]
        pub user_entry: TemplateChild<gtk::Entry>,
        #[template_child]
        pub password_entry: TemplateChild<gtk::Entry>,
        #[template_child]
        pub show_password: TemplateChild<gtk::CheckButton>,
        #[template_child]
        pub domain_entry: TemplateChild<gtk::Entry>,
        #[template_child]
        pub advanced_expander: TemplateChild<gtk::Expander>,
        #[template_child]
        pub pap_check: TemplateChild<gtk::CheckButton>,
        #[template_child]
        pub chap_check: TemplateChild<gtk::CheckButton>,
        #[template_child]
        pub mschap_check: TemplateChild<gtk::CheckButton>,
        #[template_child]
        pub mschapv2_check: TemplateChild<gtk::CheckButton>,
        #[template_child]
        pub eap_check: TemplateChild<gtk::CheckButton>,
        #[template_child]
        pub mppe_check: TemplateChild<gtk::CheckButton>,
        #[template_child]
        pub security_choice: TemplateChild<toolkit::Choice>,
        #[template_child]
        pub stateful_check: TemplateChild<gtk::CheckButton>,
        #[template_child]
        pub bsd_check: TemplateChild<gtk::CheckButton>,
        #[template_child]
        pub deflate_check: TemplateChild<gtk::CheckButton>,
        #[template_child]
        pub vj_check: TemplateChild<gtk::CheckButton>,
        #[template_child]
        pub mtu_spin: TemplateChild<gtk::SpinButton>,
        /// Every check box of [`TOGGLES`], found by its id.
        pub toggles: RefCell<Vec<(&'static Toggle, gtk::CheckButton)>>,
        /// The connection as opened: what has no widget is kept from it.
        pub base: RefCell<nm_pptp_settings::Connection>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for Page {
        const NAME: &'static str = toolkit::PAGE_TYPE;
        type Type = super::Page;
        type ParentType = gtk::Box;

        fn class_init(klass: &mut Self::Class) {
            Self::bind_template(klass);
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    impl ObjectImpl for Page {
        fn constructed(&self) {
            self.parent_constructed();
            let entry = self.password_entry.get();
            self.show_password
                .bind_property("active", &entry, "visibility")
                .sync_create()
                .build();
            let obj = self.obj();
            let found = TOGGLES.iter().map(|t| {
                let check = toolkit::find_check(obj.upcast_ref(), t.id)
                    .unwrap_or_else(|| panic!("page.ui has no check box {}", t.id));
                (t, check)
            });
            *self.toggles.borrow_mut() = found.collect();
            let labels: Vec<String> = Security::ALL.iter().map(|s| s.label()).collect();
            toolkit::fill_choice(&self.security_choice, &labels);
            for c in [
                &*self.mppe_check,
                &*self.mschap_check,
                &*self.mschapv2_check,
            ] {
                let weak = obj.downgrade();
                c.connect_toggled(move |_| {
                    if let Some(obj) = weak.upgrade() {
                        obj.apply_rules();
                    }
                });
            }
            toolkit::constructed(obj.upcast_ref());
        }
    }

    impl WidgetImpl for Page {}
    impl BoxImpl for Page {}
}

impl Page {
    pub fn new() -> Self {
        static RESOURCES: std::sync::Once = std::sync::Once::new();
        RESOURCES.call_once(|| {
            gtk::gio::resources_register_include!("page.gresource")
                .expect("the page's compiled resource is well-formed")
        });
        glib::Object::new()
    }

    /// Shows `f`; `setting` is the connection's NMSettingVpn for libnma's menu.
    pub fn load(&self, f: &Form, setting: *mut nm_pptp_libnm::ffi::NMSetting) {
        let i = self.imp();
        i.gateway_entry.set_text(&f.gateway);
        i.user_entry.set_text(&f.user);
        i.domain_entry.set_text(&f.domain);
        i.password_entry.set_text(&f.password);
        nma::setup(&i.password_entry, f.password_flags, setting);
        for (t, c) in i.toggles.borrow().iter() {
            c.set_active((t.get)(f));
        }
        toolkit::choose(&i.security_choice, f.security.index());
        // Compression is never negotiated, whatever the connection says (its keys
        // are carried through untouched): the boxes stay off and unavailable.
        for c in [&*i.bsd_check, &*i.deflate_check, &*i.vj_check] {
            c.set_active(false);
        }
        i.mtu_spin.set_value(f.mtu as f64);
        *i.base.borrow_mut() = f.base.clone();
        self.apply_rules();
    }

    /// What the fields say now (`Form::to_setting` applies the rules).
    pub fn form(&self) -> Form {
        let i = self.imp();
        let mut f = Form {
            gateway: i.gateway_entry.text().to_string(),
            user: i.user_entry.text().to_string(),
            domain: i.domain_entry.text().to_string(),
            password: Zeroizing::new(i.password_entry.text().to_string()),
            password_flags: nma::flags(&i.password_entry),
            security: Security::from_index(toolkit::chosen(&i.security_choice)),
            mtu: i.mtu_spin.value_as_int().max(0) as u32,
            base: i.base.borrow().clone(),
            ..Form::default()
        };
        for (t, c) in i.toggles.borrow().iter() {
            (t.set)(&mut f, c.is_active());
        }
        f
    }

    /// The connection's rules, applied to the widgets: what the form model
    /// turns off is unchecked, and what it cannot use is insensitive.
    fn apply_rules(&self) {
        let i = self.imp();
        let mut f = self.form();
        f.normalise();
        let can = f.available();
        i.mppe_check.set_active(f.mppe);
        i.mppe_check.set_sensitive(can.mppe);
        for (c, on) in [
            (&*i.pap_check, f.pap),
            (&*i.chap_check, f.chap),
            (&*i.eap_check, f.eap),
        ] {
            c.set_active(on);
            c.set_sensitive(can.keyless_methods);
        }
        i.security_choice.set_sensitive(can.mppe_options);
        i.stateful_check.set_active(f.stateful);
        i.stateful_check.set_sensitive(can.mppe_options);
    }

    /// Marks the field an error names, and clears the others.
    pub fn mark_error(&self, field: Option<Field>) {
        let i = self.imp();
        for (name, w) in [
            (Field::Gateway, i.gateway_entry.upcast_ref::<gtk::Widget>()),
            (Field::User, i.user_entry.upcast_ref()),
            (Field::Mtu, i.mtu_spin.upcast_ref()),
        ] {
            toolkit::mark_error(w, Some(name) == field);
        }
        if field == Some(Field::Mtu) {
            i.advanced_expander.set_expanded(true);
        }
    }

    /// Calls `f` on every edit of any field.
    pub fn connect_changed(&self, f: impl Fn() + Clone + 'static) {
        let i = self.imp();
        for e in [
            &*i.gateway_entry,
            &*i.user_entry,
            &*i.password_entry,
            &*i.domain_entry,
        ] {
            let f = f.clone();
            e.connect_changed(move |_| f());
        }
        for (_, c) in i.toggles.borrow().iter() {
            let f = f.clone();
            c.connect_toggled(move |_| f());
        }
        let g = f.clone();
        toolkit::on_chosen(&i.security_choice, g);
        let g = f.clone();
        i.mtu_spin.connect_value_changed(move |_| g());
        // 0 is no cap: shown (and typed) as "Automatic", not as a zero MTU.
        i.mtu_spin.connect_output(|spin| {
            match crate::form::mtu_text(spin.value_as_int().max(0) as u32) {
                Some(t) => {
                    spin.set_text(&t);
                    glib::Propagation::Stop
                }
                None => glib::Propagation::Proceed,
            }
        });
        i.mtu_spin.connect_input(|spin| {
            crate::form::mtu_from_text(&spin.text()).map(|v| Ok(f64::from(v)))
        });
        // libnma's menu changes the flags without touching the text.
        i.password_entry.connect_notify_local(None, move |_, p| {
            if p.name().starts_with("secondary-icon") {
                f()
            }
        });
    }
}

impl Default for Page {
    fn default() -> Self {
        Self::new()
    }
}
