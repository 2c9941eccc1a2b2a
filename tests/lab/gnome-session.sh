#!/usr/bin/env bash
# A GNOME session for the lab, run inside NetworkManager's mount and network
# namespace (nsenter), itself under `unshare -m`: a session bus, gnome-keyring
# unlocked with a login password, and GNOME Shell headless on Wayland as the
# session's NetworkManager secret agent. /run/systemd is hidden so that the
# Shell uses its non-systemd login manager instead of looking for a logind
# session that does not exist here.
# Writes $GS_WORK/env (the session's environment, for `env` lines) and
# $GS_WORK/ready, then stays until TERM ends the session's processes.
set -euo pipefail
work=${GS_WORK:?}
mount --make-rprivate /
mkdir -p /run/systemd
mount -t tmpfs tmpfs /run/systemd
# The Shell keeps Wayland's socket and its own state under these.
export HOME=$work/home XDG_RUNTIME_DIR=$work/run LANG=C.UTF-8 NO_AT_BRIDGE=1
mkdir -p "$HOME"
mkdir -p -m 700 "$XDG_RUNTIME_DIR"
exec dbus-run-session -- bash -c '
set -euo pipefail
work=$GS_WORK
# The login keyring, created on first unlock with this password.
printf %s "login password" | gnome-keyring-daemon --unlock --components=secrets >"$work/keyring.env"
# Its parent returns before the forked daemon owns the Secret Service name; a
# client asking first would D-Bus-activate a second daemon with a locked keyring.
owned() {
    gdbus call --session -d org.freedesktop.DBus -o /org/freedesktop/DBus -m org.freedesktop.DBus.NameHasOwner \
        org.freedesktop.secrets 2>/dev/null | grep -q true
}
for _ in $(seq 50); do owned && break; sleep 0.2; done
owned || { echo "gnome-keyring did not own org.freedesktop.secrets within 10 s" >&2; exit 1; }
# --unsafe-mode lets the lab ask the Shell where its Quick Settings VPN toggle
# is (org.gnome.Shell.Eval); the click itself is a real pointer event.
gnome-shell --headless --wayland --no-x11 --virtual-monitor 1280x800 --unsafe-mode >"$work/shell.log" 2>&1 &
shell=$!
up() {
    gdbus call --session -d org.gnome.Shell -o /org/gnome/Shell -m org.freedesktop.DBus.Properties.Get \
        org.gnome.Shell ShellVersion >/dev/null 2>&1
}
for _ in $(seq 150); do
    up && break
    kill -0 $shell 2>/dev/null || { echo "gnome-shell exited" >&2; exit 1; }
    sleep 0.2
done
up || { echo "gnome-shell did not answer on the session bus within 30 s" >&2; kill $shell; exit 1; }
{ echo "DBUS_SESSION_BUS_ADDRESS=$DBUS_SESSION_BUS_ADDRESS"; echo "HOME=$HOME"; echo "XDG_RUNTIME_DIR=$XDG_RUNTIME_DIR"
  echo "WAYLAND_DISPLAY=wayland-0"; echo "LANG=$LANG"; echo "NO_AT_BRIDGE=1"; } >"$work/env"
echo $$ >"$work/session.pid"
echo ready >"$work/ready"
trap "kill $shell 2>/dev/null; wait $shell; exit 0" TERM INT
while :; do sleep 1; done
'
