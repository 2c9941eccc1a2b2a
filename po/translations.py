# Source of the .po files' msgstr values, kept for review; the .po files are
# what gettext reads. Regenerate with: python3 po/translations.py
T = {
"Authenticate VPN": {"de": "VPN-Legitimierung", "fr": "Authentification VPN", "es": "Autenticar VPN", "pt_BR": "Autenticar VPN", "zh_CN": "VPN 认证"},
"You need to authenticate to access the Virtual Private Network “{}”.": {
  "de": "Sie müssen sich legitimieren, um auf das virtuelle private Netzwerk „{}“ zuzugreifen.",
  "fr": "Vous devez vous authentifier pour accéder au réseau privé virtuel « {} ».",
  "es": "Debe autenticarse para acceder a la red privada virtual «{}».",
  "pt_BR": "Você precisa se autenticar para acessar a rede privada virtual “{}”.",
  "zh_CN": "您需要进行认证才能访问虚拟专用网络“{}”。"},
"Password": {"de": "Passwort", "fr": "Mot de passe", "es": "Contraseña", "pt_BR": "Senha", "zh_CN": "密码"},
"_Password:": {"de": "_Passwort:", "fr": "_Mot de passe :", "es": "_Contraseña:", "pt_BR": "_Senha:", "zh_CN": "密码(_P)："},
"Sh_ow password": {"de": "Passwort _anzeigen", "fr": "_Afficher le mot de passe", "es": "_Mostrar contraseña", "pt_BR": "_Mostrar senha", "zh_CN": "显示密码(_O)"},
"_Cancel": {"de": "_Abbrechen", "fr": "_Annuler", "es": "_Cancelar", "pt_BR": "_Cancelar", "zh_CN": "取消(_C)"},
"_OK": {"de": "_OK", "fr": "_Valider", "es": "_Aceptar", "pt_BR": "_OK", "zh_CN": "确定(_O)"},
"Point-to-Point Tunneling Protocol (PPTP)": {
  "de": "Point-to-Point-Tunneling-Protokoll (PPTP)", "fr": "Protocole de tunnel point à point (PPTP)",
  "es": "Protocolo de túnel punto a punto (PPTP)", "pt_BR": "Protocolo de tunelamento ponto a ponto (PPTP)",
  "zh_CN": "点对点隧道协议（PPTP）"},
"Compatible with Microsoft and other PPTP VPN servers.": {
  "de": "Kompatibel mit Microsoft- und anderen PPTP-VPN-Servern.",
  "fr": "Compatible avec les serveurs VPN PPTP de Microsoft et d’autres éditeurs.",
  "es": "Compatible con servidores VPN PPTP de Microsoft y otros.",
  "pt_BR": "Compatível com servidores VPN PPTP da Microsoft e outros.",
  "zh_CN": "与微软及其他 PPTP VPN 服务器兼容。"},
"the connection has no VPN setting": {
  "de": "die Verbindung hat keine VPN-Einstellung", "fr": "la connexion n’a pas de paramètre VPN",
  "es": "la conexión no tiene configuración VPN", "pt_BR": "a conexão não tem configuração de VPN",
  "zh_CN": "该连接没有 VPN 设置"},
"cannot load the PPTP connection editor": {
  "de": "Der PPTP-Verbindungseditor kann nicht geladen werden", "fr": "impossible de charger l’éditeur de connexions PPTP",
  "es": "no se puede cargar el editor de conexiones PPTP", "pt_BR": "não foi possível carregar o editor de conexões PPTP",
  "zh_CN": "无法加载 PPTP 连接编辑器"},
"cannot create the PPTP connection editor": {
  "de": "Der PPTP-Verbindungseditor kann nicht erstellt werden", "fr": "impossible de créer l’éditeur de connexions PPTP",
  "es": "no se puede crear el editor de conexiones PPTP", "pt_BR": "não foi possível criar o editor de conexões PPTP",
  "zh_CN": "无法创建 PPTP 连接编辑器"},
"PPTP is not a secure protocol: its MS-CHAPv2 login and MPPE encryption can be broken. Use it only where nothing better is available.": {
  "de": "PPTP ist kein sicheres Protokoll: Seine MS-CHAPv2-Anmeldung und MPPE-Verschlüsselung können gebrochen werden. Verwenden Sie es nur, wenn nichts Besseres verfügbar ist.",
  "fr": "PPTP n’est pas un protocole sûr : son identification MS-CHAPv2 et son chiffrement MPPE peuvent être cassés. Ne l’utilisez que si rien de mieux n’est disponible.",
  "es": "PPTP no es un protocolo seguro: su inicio de sesión MS-CHAPv2 y su cifrado MPPE se pueden romper. Úselo solo cuando no haya nada mejor disponible.",
  "pt_BR": "O PPTP não é um protocolo seguro: seu login MS-CHAPv2 e sua criptografia MPPE podem ser quebrados. Use-o somente quando não houver nada melhor disponível.",
  "zh_CN": "PPTP 不是安全的协议：其 MS-CHAPv2 登录和 MPPE 加密均可被破解。仅在没有更好的选择时使用。"},
"General": {"de": "Allgemein", "fr": "Général", "es": "General", "pt_BR": "Geral", "zh_CN": "常规"},
"_Gateway:": {"de": "_Gateway:", "fr": "_Passerelle :", "es": "_Puerta de enlace:", "pt_BR": "_Gateway:", "zh_CN": "网关(_G)："},
"Server name or IPv4 address": {"de": "Servername oder IPv4-Adresse", "fr": "Nom du serveur ou adresse IPv4", "es": "Nombre del servidor o dirección IPv4", "pt_BR": "Nome do servidor ou endereço IPv4", "zh_CN": "服务器名称或 IPv4 地址"},
"User na_me:": {"de": "_Benutzername:", "fr": "_Nom d’utilisateur :", "es": "_Nombre de usuario:", "pt_BR": "_Nome de usuário:", "zh_CN": "用户名(_M)："},
"Sho_w password": {"de": "Passwort an_zeigen", "fr": "Affic_her le mot de passe", "es": "Mo_strar contraseña", "pt_BR": "Mo_strar senha", "zh_CN": "显示密码(_W)"},
"NT _Domain:": {"de": "NT-_Domäne:", "fr": "_Domaine NT :", "es": "_Dominio NT:", "pt_BR": "_Domínio NT:", "zh_CN": "NT 域(_D)："},
"Reconnect aut_omatically": {"de": "Automatisch _wieder verbinden", "fr": "Se rec_onnecter automatiquement", "es": "Rec_onectar automáticamente", "pt_BR": "Rec_onectar automaticamente", "zh_CN": "自动重新连接(_O)"},
"When the connection is lost, dial again until you disconnect or the server refuses the login.": {
  "de": "Wenn die Verbindung abbricht, erneut wählen, bis Sie die Verbindung trennen oder der Server die Anmeldung ablehnt.",
  "fr": "Si la connexion est perdue, rappeler jusqu’à ce que vous vous déconnectiez ou que le serveur refuse l’identification.",
  "es": "Si se pierde la conexión, volver a marcar hasta que usted se desconecte o el servidor rechace el inicio de sesión.",
  "pt_BR": "Se a conexão cair, discar novamente até você desconectar ou o servidor recusar o login.",
  "zh_CN": "连接丢失时重新拨号，直到您断开连接或服务器拒绝登录。"},
"_Advanced": {"de": "_Erweitert", "fr": "_Avancé", "es": "_Avanzado", "pt_BR": "_Avançado", "zh_CN": "高级(_A)"},
"Authentication": {"de": "Legitimierung", "fr": "Authentification", "es": "Autenticación", "pt_BR": "Autenticação", "zh_CN": "认证"},
"Allowed methods:": {"de": "Erlaubte Verfahren:", "fr": "Méthodes autorisées :", "es": "Métodos permitidos:", "pt_BR": "Métodos permitidos:", "zh_CN": "允许的方法："},
"_PAP": {"de": "_PAP", "fr": "_PAP", "es": "_PAP", "pt_BR": "_PAP", "zh_CN": "_PAP"},
"_CHAP": {"de": "_CHAP", "fr": "_CHAP", "es": "_CHAP", "pt_BR": "_CHAP", "zh_CN": "_CHAP"},
"_MSCHAP": {"de": "_MSCHAP", "fr": "_MSCHAP", "es": "_MSCHAP", "pt_BR": "_MSCHAP", "zh_CN": "_MSCHAP"},
"MSCHAP_v2": {"de": "MSCHAP_v2", "fr": "MSCHAP_v2", "es": "MSCHAP_v2", "pt_BR": "MSCHAP_v2", "zh_CN": "MSCHAP_v2"},
"_EAP": {"de": "_EAP", "fr": "_EAP", "es": "_EAP", "pt_BR": "_EAP", "zh_CN": "_EAP"},
"Security and Compression": {"de": "Sicherheit und Kompression", "fr": "Sécurité et compression", "es": "Seguridad y compresión", "pt_BR": "Segurança e compressão", "zh_CN": "安全和压缩"},
"Use Point-to-Point _encryption (MPPE)": {
  "de": "Point-to-Point-_Verschlüsselung (MPPE) verwenden", "fr": "Utiliser le _chiffrement point à point (MPPE)",
  "es": "Usar _cifrado punto a punto (MPPE)", "pt_BR": "Usar _criptografia ponto a ponto (MPPE)", "zh_CN": "使用点对点加密（MPPE）(_E)"},
"_Security:": {"de": "_Sicherheit:", "fr": "_Sécurité :", "es": "_Seguridad:", "pt_BR": "_Segurança:", "zh_CN": "安全性(_S)："},
"Automatic": {"de": "Automatisch", "fr": "Automatique", "es": "Automático", "pt_BR": "Automático", "zh_CN": "自动"},
"128-bit (default)": {"de": "128-Bit (Vorgabe)", "fr": "128 bits (par défaut)", "es": "128 bits (predeterminado)", "pt_BR": "128 bits (padrão)", "zh_CN": "128 位（默认）"},
"40-bit or 128-bit (weaker: an attacker can force 40-bit)": {"de": "40-Bit oder 128-Bit (schwächer: ein Angreifer kann 40-Bit erzwingen)", "fr": "40 ou 128 bits (plus faible : un attaquant peut imposer 40 bits)", "es": "40 o 128 bits (más débil: un atacante puede forzar 40 bits)", "pt_BR": "40 ou 128 bits (mais fraca: um atacante pode forçar 40 bits)", "zh_CN": "40 位或 128 位（较弱：攻击者可强制使用 40 位）"},
"40-bit only (weak)": {"de": "Nur 40-Bit (schwach)", "fr": "40 bits seulement (faible)", "es": "Solo 40 bits (débil)", "pt_BR": "Somente 40 bits (fraca)", "zh_CN": "仅 40 位（弱）"},
"Allow st_ateful encryption": {"de": "Zust_andsbehaftete Verschlüsselung erlauben", "fr": "Autoriser le chiffrement _avec état", "es": "Permitir cifrado con est_ado", "pt_BR": "Permitir criptografia com est_ado", "zh_CN": "允许有状态加密(_A)"},
"Allow _BSD data compression": {"de": "_BSD-Datenkompression erlauben", "fr": "Autoriser la compression de données _BSD", "es": "Permitir compresión de datos _BSD", "pt_BR": "Permitir compressão de dados _BSD", "zh_CN": "允许 BSD 数据压缩(_B)"},
"Not available: the built-in PPTP engine never negotiates compression, which adds risk to MPPE and gains little on today's links.": {
  "de": "Nicht verfügbar: Die eingebaute PPTP-Engine handelt nie Kompression aus, die MPPE ein Risiko hinzufügt und auf heutigen Verbindungen wenig bringt.",
  "fr": "Indisponible : le moteur PPTP intégré ne négocie jamais la compression, qui ajoute un risque à MPPE et apporte peu sur les liaisons actuelles.",
  "es": "No disponible: el motor PPTP integrado nunca negocia la compresión, que añade riesgo a MPPE y aporta poco en los enlaces actuales.",
  "pt_BR": "Indisponível: o mecanismo PPTP integrado nunca negocia compressão, que acrescenta risco ao MPPE e rende pouco nos enlaces atuais.",
  "zh_CN": "不可用：内置的 PPTP 引擎从不协商压缩，压缩会给 MPPE 增加风险，而在当今的链路上收益甚微。"},
"Allow _Deflate data compression": {"de": "_Deflate-Datenkompression erlauben", "fr": "Autoriser la compression de données _Deflate", "es": "Permitir compresión de datos _Deflate", "pt_BR": "Permitir compressão de dados _Deflate", "zh_CN": "允许 Deflate 数据压缩(_D)"},
"Use TCP _header compression": {"de": "TCP-_Kopfkompression verwenden", "fr": "Utiliser la compression des _en-têtes TCP", "es": "Usar compresión de _cabeceras TCP", "pt_BR": "Usar compressão de _cabeçalho TCP", "zh_CN": "使用 TCP 头压缩(_H)"},
"Echo": {"de": "Echo", "fr": "Écho", "es": "Eco", "pt_BR": "Eco", "zh_CN": "回显"},
"Send PPP echo _packets": {"de": "PPP-Echo-_Pakete senden", "fr": "Envoyer des _paquets d’écho PPP", "es": "Enviar _paquetes de eco PPP", "pt_BR": "Enviar _pacotes de eco PPP", "zh_CN": "发送 PPP 回显包(_P)"},
"MT_U:": {"de": "MT_U:", "fr": "MT_U :", "es": "MT_U:", "pt_BR": "MT_U:", "zh_CN": "MTU(_U)："},
"0 means automatic; otherwise 576 to 1500 bytes.": {
  "de": "0 bedeutet automatisch, sonst 576 bis 1500 Bytes.", "fr": "0 signifie automatique ; sinon de 576 à 1500 octets.",
  "es": "0 significa automático; si no, de 576 a 1500 bytes.", "pt_BR": "0 significa automático; caso contrário, de 576 a 1500 bytes.",
  "zh_CN": "0 表示自动；否则为 576 到 1500 字节。"},
"property “{key}” invalid or not supported": {
  "de": "Eigenschaft „{key}“ ist ungültig oder wird nicht unterstützt",
  "fr": "propriété « {key} » non valide ou non prise en charge",
  "es": "propiedad «{key}» no válida o no admitida",
  "pt_BR": "propriedade “{key}” inválida ou sem suporte",
  "zh_CN": "属性“{key}”无效或不受支持"},
"invalid boolean property “{key}”: “{value}” is not yes or no": {
  "de": "ungültige boolesche Eigenschaft „{key}“: „{value}“ ist weder yes noch no",
  "fr": "propriété booléenne « {key} » non valide : « {value} » n’est ni yes ni no",
  "es": "propiedad booleana «{key}» no válida: «{value}» no es yes ni no",
  "pt_BR": "propriedade booleana “{key}” inválida: “{value}” não é yes nem no",
  "zh_CN": "无效的布尔属性“{key}”：“{value}”既不是 yes 也不是 no"},
"invalid number for “{key}”: “{value}” (expected {min} to {max})": {
  "de": "ungültige Zahl für „{key}“: „{value}“ (erwartet {min} bis {max})",
  "fr": "nombre non valide pour « {key} » : « {value} » (attendu de {min} à {max})",
  "es": "número no válido para «{key}»: «{value}» (se esperaba de {min} a {max})",
  "pt_BR": "número inválido para “{key}”: “{value}” (esperado de {min} a {max})",
  "zh_CN": "“{key}”的数值无效：“{value}”（应为 {min} 到 {max}）"},
"invalid gateway “{host}”: only letters, digits, dots and hyphens are allowed": {
  "de": "ungültiges Gateway „{host}“: nur Buchstaben, Ziffern, Punkte und Bindestriche sind erlaubt",
  "fr": "passerelle « {host} » non valide : seuls les lettres, chiffres, points et tirets sont autorisés",
  "es": "puerta de enlace «{host}» no válida: solo se permiten letras, dígitos, puntos y guiones",
  "pt_BR": "gateway “{host}” inválido: somente letras, dígitos, pontos e hífens são permitidos",
  "zh_CN": "无效的网关“{host}”：只允许字母、数字、点和连字符"},
"invalid IPv4 address for “{key}”: “{value}”": {
  "de": "ungültige IPv4-Adresse für „{key}“: „{value}“",
  "fr": "adresse IPv4 non valide pour « {key} » : « {value} »",
  "es": "dirección IPv4 no válida para «{key}»: «{value}»",
  "pt_BR": "endereço IPv4 inválido para “{key}”: “{value}”",
  "zh_CN": "“{key}”的 IPv4 地址无效：“{value}”"},
"Routing": {"de": "Routen", "fr": "Routage", "es": "Enrutamiento", "pt_BR": "Roteamento", "zh_CN": "路由"},
"Ask the server for _routes and a DNS domain": {
  "de": "Den Server nach _Routen und einer DNS-Domäne fragen",
  "fr": "Demander au serveur les _routes et un domaine DNS",
  "es": "Pedir al servidor _rutas y un dominio DNS",
  "pt_BR": "Pedir ao servidor _rotas e um domínio DNS",
  "zh_CN": "向服务器请求路由和 DNS 域(_R)"},
"Sends a DHCPINFORM through the tunnel once it is up, as Windows does.": {
  "de": "Sendet nach dem Verbindungsaufbau ein DHCPINFORM durch den Tunnel, wie Windows.",
  "fr": "Envoie un DHCPINFORM dans le tunnel une fois celui-ci établi, comme Windows.",
  "es": "Envía un DHCPINFORM por el túnel una vez establecido, como hace Windows.",
  "pt_BR": "Envia um DHCPINFORM pelo túnel depois que ele estiver ativo, como o Windows faz.",
  "zh_CN": "隧道建立后通过隧道发送 DHCPINFORM，与 Windows 的做法相同。"},
"Route the _network of the VPN address when the server gives no routes": {
  "de": "Das _Netz der VPN-Adresse routen, wenn der Server keine Routen liefert",
  "fr": "Router le _réseau de l’adresse VPN si le serveur ne donne pas de routes",
  "es": "Enrutar la _red de la dirección VPN si el servidor no da rutas",
  "pt_BR": "Rotear a _rede do endereço VPN quando o servidor não fornece rotas",
  "zh_CN": "服务器未提供路由时，路由 VPN 地址所在的网络(_N)"},
"Only when the VPN is not the default route: its address's class A, B or C network goes through it.": {
  "de": "Nur wenn das VPN nicht die Standardroute ist: Das Klasse-A-, -B- oder -C-Netz seiner Adresse läuft hindurch.",
  "fr": "Seulement si le VPN n’est pas la route par défaut : le réseau de classe A, B ou C de son adresse passe par lui.",
  "es": "Solo si la VPN no es la ruta predeterminada: la red de clase A, B o C de su dirección pasa por ella.",
  "pt_BR": "Somente quando a VPN não é a rota padrão: a rede classe A, B ou C do seu endereço passa por ela.",
  "zh_CN": "仅当 VPN 不是默认路由时：其地址所属的 A、B 或 C 类网络经由 VPN。"},
"_Limit TCP segments to the tunnel's MTU": {
  "de": "TCP-Segmente auf die MTU des Tunnels begren_zen",
  "fr": "_Limiter les segments TCP à la MTU du tunnel",
  "es": "_Limitar los segmentos TCP a la MTU del túnel",
  "pt_BR": "_Limitar segmentos TCP à MTU do túnel",
  "zh_CN": "将 TCP 分段限制为隧道的 MTU(_L)"},
"missing required option “{key}”": {
  "de": "erforderliche Option „{key}“ fehlt", "fr": "option requise « {key} » manquante",
  "es": "falta la opción obligatoria «{key}»", "pt_BR": "opção obrigatória “{key}” ausente",
  "zh_CN": "缺少必需的选项“{key}”"},
"missing user name: set “{key}” or vpn.user-name": {
  "de": "Benutzername fehlt: setzen Sie „{key}“ oder vpn.user-name",
  "fr": "nom d’utilisateur manquant : définissez « {key} » ou vpn.user-name",
  "es": "falta el nombre de usuario: defina «{key}» o vpn.user-name",
  "pt_BR": "nome de usuário ausente: defina “{key}” ou vpn.user-name",
  "zh_CN": "缺少用户名：请设置“{key}”或 vpn.user-name"},
"invalid “{key}”: at most 255 bytes, without control characters": {
  "de": "ungültiges „{key}“: höchstens 255 Bytes, ohne Steuerzeichen",
  "fr": "« {key} » non valide : 255 octets au plus, sans caractères de contrôle",
  "es": "«{key}» no válido: como máximo 255 bytes, sin caracteres de control",
  "pt_BR": "“{key}” inválido: no máximo 255 bytes, sem caracteres de controle",
  "zh_CN": "无效的“{key}”：最多 255 字节，且不能包含控制字符"},
"“{mppe}” needs MS-CHAP: set “{mschap}” or “{mschapv2}” to no": {
  "de": "„{mppe}“ erfordert MS-CHAP: setzen Sie „{mschap}“ oder „{mschapv2}“ auf no",
  "fr": "« {mppe} » nécessite MS-CHAP : mettez « {mschap} » ou « {mschapv2} » à no",
  "es": "«{mppe}» necesita MS-CHAP: ponga «{mschap}» o «{mschapv2}» a no",
  "pt_BR": "“{mppe}” precisa de MS-CHAP: defina “{mschap}” ou “{mschapv2}” como no",
  "zh_CN": "“{mppe}”需要 MS-CHAP：请将“{mschap}”或“{mschapv2}”设为 no"},
"unknown secret “{key}”": {"de": "unbekanntes Geheimnis „{key}“", "fr": "secret « {key} » inconnu", "es": "secreto «{key}» desconocido", "pt_BR": "segredo “{key}” desconhecido", "zh_CN": "未知的密钥“{key}”"},
"the connection has no “vpn” setting": {
  "de": "die Verbindung hat keine „vpn“-Einstellung", "fr": "la connexion n’a pas de paramètre « vpn »",
  "es": "la conexión no tiene configuración «vpn»", "pt_BR": "a conexão não tem configuração “vpn”",
  "zh_CN": "该连接没有“vpn”设置"},
"vpn.{key} is not a string dictionary": {
  "de": "vpn.{key} ist kein Zeichenketten-Wörterbuch", "fr": "vpn.{key} n’est pas un dictionnaire de chaînes",
  "es": "vpn.{key} no es un diccionario de cadenas", "pt_BR": "vpn.{key} não é um dicionário de strings",
  "zh_CN": "vpn.{key} 不是字符串字典"},
"No VPN configuration options.": {
  "de": "Keine VPN-Konfigurationsoptionen.", "fr": "Aucune option de configuration VPN.",
  "es": "No hay opciones de configuración de VPN.", "pt_BR": "Nenhuma opção de configuração de VPN.",
  "zh_CN": "没有 VPN 配置选项。"},
"Missing or invalid VPN password.": {
  "de": "VPN-Passwort fehlt oder ist ungültig.", "fr": "Mot de passe VPN manquant ou non valide.",
  "es": "Falta la contraseña de la VPN o no es válida.", "pt_BR": "Senha da VPN ausente ou inválida.",
  "zh_CN": "VPN 密码缺失或无效。"},
"cannot resolve {host}: {error}": {
  "de": "{host} kann nicht aufgelöst werden: {error}", "fr": "impossible de résoudre {host} : {error}",
  "es": "no se puede resolver {host}: {error}", "pt_BR": "não foi possível resolver {host}: {error}",
  "zh_CN": "无法解析 {host}：{error}"},
"the new secrets hold no password": {
  "de": "die neuen Geheimnisse enthalten kein Passwort", "fr": "les nouveaux secrets ne contiennent pas de mot de passe",
  "es": "los nuevos secretos no contienen ninguna contraseña", "pt_BR": "os novos segredos não contêm senha",
  "zh_CN": "新的密钥中没有密码"},
}

NAMES = {"de": "German", "fr": "French", "es": "Spanish", "pt_BR": "Portuguese (Brazil)", "zh_CN": "Chinese (simplified)"}
PLURAL = {"de": "nplurals=2; plural=(n != 1);", "fr": "nplurals=2; plural=(n > 1);", "es": "nplurals=2; plural=(n != 1);",
          "pt_BR": "nplurals=2; plural=(n > 1);", "zh_CN": "nplurals=1; plural=0;"}


def esc(s):
    return s.replace("\\", "\\\\").replace('"', '\\"')


def main():
    import os
    import re
    here = os.path.dirname(os.path.abspath(__file__))
    pot = open(os.path.join(here, "NetworkManager-pptp-rs.pot"), encoding="utf-8").read()
    msgids = []
    for block in pot.split("\n\n"):
        m = re.search(r'^msgid ((?:".*"\n?)+)', block, re.M)
        if m:
            s = "".join(re.findall(r'"(.*)"', m.group(1))).encode().decode("unicode_escape").encode("latin-1").decode()
            if s:
                msgids.append(s)
    for lang in open(os.path.join(here, "LINGUAS")).read().split():
        out = [f'# {NAMES[lang]} translation of NetworkManager-pptp-rs.',
               '# This file is distributed under the same license as the NetworkManager-pptp-rs package.',
               'msgid ""', 'msgstr ""',
               '"Project-Id-Version: NetworkManager-pptp-rs\\n"',
               '"PO-Revision-Date: 2026-11-24 00:00+0000\\n"',
               '"Last-Translator: NetworkManager-pptp-rs developers\\n"',
               f'"Language-Team: {NAMES[lang]}\\n"',
               f'"Language: {lang}\\n"',
               '"MIME-Version: 1.0\\n"', '"Content-Type: text/plain; charset=UTF-8\\n"',
               '"Content-Transfer-Encoding: 8bit\\n"', f'"Plural-Forms: {PLURAL[lang]}\\n"', '']
        for mid in msgids:
            out += [f'msgid "{esc(mid)}"', f'msgstr "{esc(T[mid][lang])}"', '']
        with open(os.path.join(here, f"{lang}.po"), "w", encoding="utf-8") as f:
            f.write("\n".join(out))


if __name__ == "__main__":
    main()
