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

use crate::form::{Field, Form, Security};
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
        pub persistent_check: TemplateChild<gtk::CheckButton>,
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
        pub echo_check: TemplateChild<gtk::CheckButton>,
        #[template_child]
        pub mtu_spin: TemplateChild<gtk::SpinButton>,
        #[template_child]
        pub dhcp_inform_check: TemplateChild<gtk::CheckButton>,
        #[template_child]
        pub class_route_check: TemplateChild<gtk::CheckButton>,
        #[template_child]
        pub mss_clamp_check: TemplateChild<gtk::CheckButton>,
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
        i.persistent_check.set_active(f.persistent);
        i.password_entry.set_text(&f.password);
        nma::setup(&i.password_entry, f.password_flags, setting);
        i.pap_check.set_active(f.pap);
        i.chap_check.set_active(f.chap);
        i.mschap_check.set_active(f.mschap);
        i.mschapv2_check.set_active(f.mschapv2);
        i.eap_check.set_active(f.eap);
        i.mppe_check.set_active(f.mppe);
        toolkit::choose(&i.security_choice, f.security.index());
        i.stateful_check.set_active(f.stateful);
        // Compression is never negotiated, whatever the connection says (its keys
        // are carried through untouched): the boxes stay off and unavailable.
        for c in [&*i.bsd_check, &*i.deflate_check, &*i.vj_check] {
            c.set_active(false);
        }
        i.echo_check.set_active(f.echo);
        i.mtu_spin.set_value(f.mtu as f64);
        i.dhcp_inform_check.set_active(f.dhcp_inform);
        i.class_route_check.set_active(f.class_route);
        i.mss_clamp_check.set_active(f.mss_clamp);
        *i.base.borrow_mut() = f.base.clone();
        self.apply_rules();
    }

    /// What the fields say now (`Form::to_setting` applies the rules).
    pub fn form(&self) -> Form {
        let i = self.imp();
        Form {
            gateway: i.gateway_entry.text().to_string(),
            user: i.user_entry.text().to_string(),
            domain: i.domain_entry.text().to_string(),
            password: Zeroizing::new(i.password_entry.text().to_string()),
            password_flags: nma::flags(&i.password_entry),
            pap: i.pap_check.is_active(),
            chap: i.chap_check.is_active(),
            mschap: i.mschap_check.is_active(),
            mschapv2: i.mschapv2_check.is_active(),
            eap: i.eap_check.is_active(),
            mppe: i.mppe_check.is_active(),
            security: Security::from_index(toolkit::chosen(&i.security_choice)),
            stateful: i.stateful_check.is_active(),
            echo: i.echo_check.is_active(),
            mtu: i.mtu_spin.value_as_int().max(0) as u32,
            dhcp_inform: i.dhcp_inform_check.is_active(),
            class_route: i.class_route_check.is_active(),
            mss_clamp: i.mss_clamp_check.is_active(),
            persistent: i.persistent_check.is_active(),
            base: i.base.borrow().clone(),
        }
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
        for c in [
            &*i.pap_check,
            &*i.chap_check,
            &*i.mschap_check,
            &*i.mschapv2_check,
            &*i.eap_check,
            &*i.mppe_check,
            &*i.stateful_check,
            &*i.echo_check,
            &*i.dhcp_inform_check,
            &*i.class_route_check,
            &*i.mss_clamp_check,
            &*i.persistent_check,
        ] {
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
