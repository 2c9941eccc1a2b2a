#!/bin/sh
# /init of the lab's VM: the PPTP server, or (lab.role=refclient) the reference
# client, pppd + pptp-linux, connecting lab.runs times and printing each result.
# Every scenario setting comes from the kernel command line as lab.KEY=VALUE, so
# one image serves every scenario.
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/pts /run /tmp /var/run /var/lock
mount -t devpts devpts /dev/pts
for m in virtio_pci virtio_net ppp_generic ppp_async ppp_mppe ppp_deflate bsd_comp sch_netem; do
    modprobe "$m" 2>/dev/null
done

arg() { sed -n "s/.*lab\.$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
addr=$(arg addr); gw=$(arg gw)
local_ip=$(arg localip); remote_ip=$(arg remoteip)
auth=$(arg auth); mppe=$(arg mppe); dns=$(arg dns); netem=$(arg netem)

ip link set lo up
ip link set eth0 up
ip addr add "$addr" dev eth0
[ -n "$gw" ] && ip route add default via "$gw"
[ -n "$netem" ] && tc qdisc add dev eth0 root netem $(echo "$netem" | tr , ' ')

# Users: lab.users=name:password,... ; '+' stands for a space in a password.
users() { for u in $(arg users | tr , ' '); do echo "${u%%:*} $(echo "${u#*:}" | tr + ' ')"; done; }

if [ "$(arg role)" = refclient ]; then
    users | while read -r name pw; do echo "\"$name\" * \"$pw\" *"; done >/etc/ppp/chap-secrets
    chmod 600 /etc/ppp/chap-secrets
    mkdir -p /etc/ppp/peers
    {
        echo "pty \"pptp $(arg server) --nolaunchpppd\""
        echo "name $(users | head -1 | cut -d' ' -f1)"
        echo "remotename lab"; echo "noauth"; echo "nodefaultroute"; echo "nodetach"
        echo "refuse-pap"; echo "refuse-chap"; echo "refuse-mschap"; echo "refuse-eap"
        echo "require-mppe-128"
        [ "$mppe" = 128-stateful ] && echo "mppe-stateful"
        echo "nobsdcomp"; echo "nodeflate"; echo "novj"; echo "novjccomp"; echo "logfile /dev/null"
    } >/etc/ppp/peers/lab
    runs=$(arg runs)
    echo "lab-ref: $runs connects to $(arg server) (mppe=$mppe netem=$netem)"
    i=1
    while [ "$i" -le "$runs" ]; do
        t0=$(date +%s%N)
        pppd call lab >/dev/null 2>&1 &
        pid=$!
        ok=failed
        n=0
        # Up means IPCP gave ppp0 its address (what pptp-client's "up" means).
        while [ $n -lt 600 ]; do
            if ip -4 addr show dev ppp0 2>/dev/null | grep -q inet; then ok=up; break; fi
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
            n=$((n + 1))
        done
        t1=$(date +%s%N)
        # Traffic right after Up: a link that came up but carries nothing
        # is no connection.
        if [ "$ok" = up ]; then
            peer=$(ip -4 addr show dev ppp0 | sed -n 's/.* peer \([0-9.]*\).*/\1/p')
            ok=up-without-traffic
            for _ in 1 2 3; do
                busybox ping -c 1 -W 3 "$peer" >/dev/null 2>&1 && { ok=up; break; }
            done
        fi
        echo "lab-ref: run $i $ok $(( (t1 - t0) / 1000000 )) ms"
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        sleep 1
        i=$((i + 1))
    done
    echo "lab-ref: done"
    while true; do sleep 3600; done
fi

# lab.impl=accel: accel-ppp instead of pptpd, configured as its sample
# accel-ppp.conf suggests (MTU/MRU 1400, LCP echo every 10 s), with the same
# users, addresses and name servers. It implements LCP, CHAP, CCP and IPCP
# itself; the kernel's pptp module carries the data.
if [ "$(arg impl)" = accel ]; then
    modprobe pptp
    users | while read -r name pw; do echo "\"$name\" * \"$pw\" *"; done >/etc/ppp/chap-secrets
    chmod 600 /etc/ppp/chap-secrets
    case "$auth" in
        chap) authmod=auth_chap_md5 ;;
        pap) authmod=auth_pap ;;
        *) authmod=auth_mschap_v2 ;;
    esac
    # accel-ppp does 128-bit stateless MPPE or nothing: lab.mppe=off is
    # "deny", every other value "require".
    [ "$mppe" = off ] && accel_mppe=deny || accel_mppe=require
    dns1=$(echo "$dns" | cut -d, -f1); dns2=$(echo "$dns" | cut -s -d, -f2)
    # lab.debug=1: every packet in the console log.
    # lab.echo=N: LCP and PPTP echo requests every N seconds (the sample's 20
    # and 30 otherwise), three unanswered ones end the call.
    echo_s=$(arg echo)
    mkdir -p /var/log/accel-ppp /var/run
    cat >/etc/accel-ppp.conf <<CONF
[modules]
log_file
pptp
$authmod
chap-secrets
ippool

[core]
log-error=/dev/console
thread-count=2

[common]
single-session=replace

[ppp]
verbose=1
min-mtu=1280
mtu=1400
mru=1400
mppe=$accel_mppe
ipv4=require
ipv6=deny
lcp-echo-interval=${echo_s:-20}
lcp-echo-failure=3
unit-cache=1
$([ "$auth" = none ] && echo "[auth]" && echo "noauth=1")

[pptp]
verbose=1
bind=${addr%/*}
echo-interval=${echo_s:-30}
echo-failure=3
ip-pool=pptp
$([ -n "$(arg maxconnect)" ] && echo "session-timeout=$(arg maxconnect)")

# Whom PPTP calls are accepted from: both lab layouts' client addresses.
[client-ip-range]
198.18.0.0/16

[dns]
dns1=$dns1
${dns2:+dns2=$dns2}

[ip-pool]
gw-ip-address=$local_ip
$remote_ip,name=pptp

[chap-secrets]
gw-ip-address=$local_ip
chap-secrets=/etc/ppp/chap-secrets

[log]
log-file=/dev/console
log-emerg=/dev/console
copy=1
level=$([ "$(arg debug)" = 1 ] && echo 5 || echo 3)
CONF
    busybox nc -ll -p 5001 -e cat &
    echo "lab: accel-ppp starting on $addr (auth=$auth mppe=$accel_mppe)"
    accel-pppd -c /etc/accel-ppp.conf &
    while true; do sleep 3600; done
fi

cat >/etc/pptpd.conf <<CONF
option /etc/ppp/pptpd-options
localip $local_ip
remoteip $remote_ip
CONF

{
    echo "name pptpd"
    case "$auth" in
        chap) echo "refuse-pap"; echo "require-chap"; echo "refuse-mschap"; echo "refuse-mschap-v2" ;;
        pap) echo "require-pap"; echo "refuse-chap"; echo "refuse-mschap"; echo "refuse-mschap-v2" ;;
        none) echo "noauth" ;;
        *) echo "refuse-pap"; echo "refuse-chap"; echo "refuse-mschap"; echo "require-mschap-v2" ;;
    esac
    case "$mppe" in
        128) echo "require-mppe-128" ;;
        40) echo "require-mppe-40" ;;
        128-stateful) echo "require-mppe-128"; echo "mppe-stateful" ;;
        off) echo "nomppe" ;;
    esac
    for d in $(echo "$dns" | tr , ' '); do echo "ms-dns $d"; done
    echo "nodefaultroute"; echo "lock"; echo "nobsdcomp"; echo "nodeflate"; echo "novj"; echo "novjccomp"
    echo "nologfd"; echo "debug"; echo "logfile /dev/console"
    echo "lcp-echo-interval 10"; echo "lcp-echo-failure 3"
    # lab.acceptremote=1: a client may keep the address it asks for (Windows
    # RRAS's "assign a static IP address"); otherwise pppd Naks it with the pool's.
    if [ "$(arg acceptremote)" = 1 ]; then echo "ipcp-accept-remote"; fi
    # lab.ipv6=1: IPV6CP on every call; lab.ipv6=0: none (IPV6CP rejected, as
    # by a server without IPv6); unset: this pppd's default.
    case "$(arg ipv6)" in 1|hostile) echo "+ipv6" ;; 0) echo "noipv6" ;; esac
    # lab.maxconnect=N: pppd ends each session N seconds after it came up, as a
    # server with a connect-time limit does (it closes CCP first, then LCP).
    if [ -n "$(arg maxconnect)" ]; then echo "maxconnect $(arg maxconnect)"; fi
} >/etc/ppp/pptpd-options

users | while read -r name pw; do echo "\"$name\" pptpd \"$pw\" *"; done >/etc/ppp/chap-secrets
chmod 600 /etc/ppp/chap-secrets
# The same users for a server that demands PAP.
cp -p /etc/ppp/chap-secrets /etc/ppp/pap-secrets

# lab.dhcp=1: answer the clients' DHCPINFORM on the ppp interfaces, as a Windows
# RRAS server's DHCP relay does: split routes (121, and Microsoft's 249), the DNS
# domain and one more name server. 10.200.0.1 sits behind the pushed route.
# lab.dhcp=hostile: a server that tries to take a split tunnel over: the two
# halves of the address space, host routes to the VPN server (both lab layouts)
# and the client's own LAN, beside one honest route.
if [ "$(arg dhcp)" = 1 ] || [ "$(arg dhcp)" = hostile ]; then
    routes=10.200.0.0/16,0.0.0.0,172.31.7.0/24,0.0.0.0
    [ "$(arg dhcp)" = hostile ] && routes=0.0.0.0/1,0.0.0.0,128.0.0.0/1,0.0.0.0,198.18.0.2/32,0.0.0.0,198.18.1.2/32,0.0.0.0,198.18.0.0/24,0.0.0.0,10.200.0.0/16,0.0.0.0
    ip addr add 10.200.0.1/32 dev lo
    dnsmasq --keep-in-foreground --port=0 --user=root --pid-file= --no-resolv --no-hosts \
        --interface='ppp*' --dhcp-range=198.19.0.0,static,255.255.255.0 \
        --dhcp-option=121,$routes \
        --dhcp-option=249,10.200.0.0/16,0.0.0.0 \
        --dhcp-option=15,corp.example --dhcp-option=6,198.19.0.60 \
        --log-dhcp --log-facility=/dev/console &
fi

# lab.ipv6=1: the server routes 2001:db8:77::/64 to each call and advertises it
# there (SLAAC prefix, a name server by RDNSS, one more route by Route
# Information), as an IPv6-capable PPTP server with radvd does. 2001:db8:77::1
# is the server's own address on the tunnel; 2001:db8:78::1 sits behind the
# advertised route.
if [ "$(arg ipv6)" = 1 ]; then
    echo 1 >/proc/sys/net/ipv6/conf/all/forwarding
    ip -6 addr add 2001:db8:78::1/128 dev lo
    cat >/etc/ppp/ipv6-up <<'UP'
#!/bin/sh
ip -6 addr add 2001:db8:77::1/64 dev "$1"
UP
    chmod 755 /etc/ppp/ipv6-up
    for i in 0 1 2 3; do
        cat <<RA
interface ppp$i {
    IgnoreIfMissing on; AdvSendAdvert on;
    MinRtrAdvInterval 30; MaxRtrAdvInterval 60; AdvDefaultLifetime 1800;
    prefix 2001:db8:77::/64 { AdvOnLink on; AdvAutonomous on; };
    RDNSS 2001:db8:77::53 { };
    route 2001:db8:78::/64 { };
};
RA
    done >/etc/radvd.conf
    radvd --nodaemon --config=/etc/radvd.conf --logmethod=stderr --debug=1 --pidfile=/run/radvd.pid &
fi

# lab.ipv6=hostile: IPv6 on the link, and instead of radvd a server that sends
# (every second for 20 s, once IPV6CP is up) a router advertisement with a
# Route Information option for ::/0 beside 2001:db8:78::/64, and the same
# advertisement behind a hop-by-hop header naming 2001:db8:79::/64 too.
if [ "$(arg ipv6)" = hostile ]; then
    cat >/etc/ppp/hostile-ra.pl <<'PL'
use strict; use Socket qw(AF_INET6 SOCK_RAW inet_pton pack_sockaddr_in6);
my ($if, $src) = @ARGV;
my $s = inet_pton(AF_INET6, $src); my $d = inet_pton(AF_INET6, "ff02::1");
my $idx = do { open(my $f, "<", "/sys/class/net/$if/ifindex") or die; my $i = <$f>; $i + 0 };
sub route { my ($p, $len) = @_; my $pb = inet_pton(AF_INET6, $p); my $n = $len == 0 ? 0 : $len <= 64 ? 8 : 16;
    return pack("CCCC N", 24, 1 + $n / 8, $len, 0, 1800) . substr($pb, 0, $n); }
sub ra { my @routes = @_;
    my $body = pack("CCn CCn N N", 134, 0, 0, 64, 0, 1800, 0, 0)
        . pack("CCCC N N N", 3, 4, 64, 0xC0, 86400, 14400, 0) . inet_pton(AF_INET6, "2001:db8:77::")
        . join("", map { route(@$_) } @routes);
    my $sum = 0; my $ph = $s . $d . pack("N", length $body) . pack("xxxC", 58);
    for my $w (unpack("n*", $ph . $body . (length($body) % 2 ? "\0" : ""))) { $sum += $w; }
    $sum = ($sum & 0xffff) + ($sum >> 16) while $sum > 0xffff;
    substr($body, 2, 2) = pack("n", ~$sum & 0xffff); return $body; }
my $plain = ra(["::", 0], ["2001:db8:78::", 64]);
my $hidden = ra(["::", 0], ["2001:db8:78::", 64], ["2001:db8:79::", 64]);
sub ip6 { my ($next, $payload) = @_; return pack("N n C C", 0x60000000, length $payload, $next, 255) . $s . $d . $payload; }
socket(my $sock, AF_INET6, SOCK_RAW, 255) or die "raw socket: $!";
my $to = pack_sockaddr_in6(0, $d, $idx);
for (1 .. 20) {
    send($sock, ip6(58, $plain), 0, $to);
    send($sock, ip6(0, pack("CC CCnn", 58, 0, 1, 4, 0, 0) . $hidden), 0, $to);
    sleep 1;
}
PL
    cat >/etc/ppp/ipv6-up <<'UP'
#!/bin/sh
ip -6 addr add 2001:db8:77::1/64 dev "$1"
perl /etc/ppp/hostile-ra.pl "$1" "$4" >/dev/console 2>&1 &
UP
    chmod 755 /etc/ppp/ipv6-up
fi

# An echo service for transfer checks through the tunnel (10 MB each way).
busybox nc -ll -p 5001 -e cat &

echo "lab: pptpd starting on $addr (auth=$auth mppe=$mppe)"
pptpd --fg &
while true; do sleep 3600; done
