/**
 * A real OpenLDAP server for the tests: Debian's slapd (installed unconfigured by
 * tests/machine.sh), with a configuration of its own in a temp directory (slapd.conf, an mdb
 * database loaded with slapadd from an LDIF), serving ldap:// (StartTLS offered) and ldaps://
 * on 127.0.0.1 with a certificate from the tests' CA. Never the system's slapd service.
 *
 * The directory (suffix dc=berth,dc=test):
 *   cn=admin            the service account (password "service-secret")
 *   ou=people: uid=lena (password "lena-pw", group devs), uid=max ("max-pw", group readers),
 *              uid=bob ("bob-pw", AD-style userAccountControl 514: disabled),
 *              uid=carol ("carol-pw", description "disabled": excluded by the tests' user_filter),
 *              uid=dora ("dora-pw", no group)
 *   ou=groups: cn=devs (member lena), cn=readers (member max)
 * Every wait is bounded; stop() removes the directory.
 */
import { writeFileSync } from "node:fs";
import type { Subprocess } from "bun";
import { join } from "node:path";
import type { TestCa } from "./auth.ts";
import { exec } from "./docker.ts";
import { removeDir, tempDir } from "./server.ts";

export const BASE_DN = "dc=berth,dc=test";
export const SERVICE_DN = `cn=admin,${BASE_DN}`;
export const SERVICE_PASSWORD = "service-secret";

/**
 * The [auth.ldap] section for the test directory at `url` (its CA in tls/ca.crt beside the
 * config): users under ou=people, an account with description=disabled refused, groups by member.
 */
export function ldapSection(url: string, { startTls = false }: { startTls?: boolean } = {}): string {
  return `[auth.ldap]
url = "${url}"
${startTls ? "start_tls = true\n" : ""}ca_file = "tls/ca.crt"
bind_dn = "${SERVICE_DN}"
bind_password = "${SERVICE_PASSWORD}"
user_base = "ou=people,${BASE_DN}"
user_filter = "(&(objectClass=inetOrgPerson)(uid={user})(!(description=disabled)))"
group_base = "ou=groups,${BASE_DN}"
group_filter = "(member={dn})"
`;
}

export const LDAP_USERS = {
  lena: "lena-pw",
  max: "max-pw",
  bob: "bob-pw",
  carol: "carol-pw",
  dora: "dora-pw",
} as const;

export interface TestDirectory {
  /** ldap://127.0.0.1:PORT */
  url: string;
  /** ldaps://127.0.0.1:PORT */
  ldapsUrl: string;
  /** the slapd process; stop() ends it (start() starts it again on the same ports) */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** stops slapd and removes its directory */
  remove(): Promise<void>;
}

// userAccountControl as Active Directory defines it (its OID), so the AD check runs against a real server
const TEST_SCHEMA = `
attributetype ( 1.2.840.113556.1.4.8 NAME 'userAccountControl'
  EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.32473.1.1 NAME 'berthTestAccount' AUXILIARY MAY userAccountControl )
`;

function person(uid: string, password: string, extra: string[] = []): string {
  return [`dn: uid=${uid},ou=people,${BASE_DN}`, "objectClass: inetOrgPerson", "objectClass: berthTestAccount",
    `uid: ${uid}`, `cn: ${uid}`, `sn: ${uid}`, `userPassword: ${password}`, ...extra].join("\n");
}

function group(cn: string, members: string[]): string {
  return [`dn: cn=${cn},ou=groups,${BASE_DN}`, "objectClass: groupOfNames", `cn: ${cn}`,
    ...members.map((uid) => `member: uid=${uid},ou=people,${BASE_DN}`)].join("\n");
}

const DATA = [
  [`dn: ${BASE_DN}`, "objectClass: dcObject", "objectClass: organization", "o: Berth tests", "dc: berth"].join("\n"),
  [`dn: ou=people,${BASE_DN}`, "objectClass: organizationalUnit", "ou: people"].join("\n"),
  [`dn: ou=groups,${BASE_DN}`, "objectClass: organizationalUnit", "ou: groups"].join("\n"),
  person("lena", LDAP_USERS.lena),
  person("max", LDAP_USERS.max),
  person("bob", LDAP_USERS.bob, ["userAccountControl: 514"]),
  person("carol", LDAP_USERS.carol, ["description: disabled"]),
  person("dora", LDAP_USERS.dora, ["userAccountControl: 512"]),
  group("devs", ["lena"]),
  group("readers", ["max"]),
].join("\n\n") + "\n";

function slapdConf(dir: string, ca: TestCa): string {
  return `
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include ${join(dir, "test.schema")}
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile ${join(dir, "slapd.pid")}
TLSCACertificateFile ${ca.caCert}
TLSCertificateFile ${ca.serverCert}
TLSCertificateKeyFile ${ca.serverKey}
database mdb
maxsize 16777216
suffix "${BASE_DN}"
rootdn "${SERVICE_DN}"
rootpw ${SERVICE_PASSWORD}
directory ${join(dir, "db")}
access to attrs=userPassword by anonymous auth by * none
access to * by users read by * none
`;
}

/** A free port on 127.0.0.1 right now (slapd cannot bind port 0 and say which it got). */
function freePort(): number {
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = listener.port;
  listener.stop(true);
  return port;
}

export async function startTestDirectory(ca: TestCa): Promise<TestDirectory> {
  const [slapdBin, slapaddBin, slaptestBin] = ["slapd", "slapadd", "slaptest"].map((program) => {
    const path = Bun.which(program, { PATH: `${process.env.PATH ?? ""}:/usr/sbin:/sbin` });
    if (path === null) throw new Error(`${program} is not installed: run tests/machine.sh as root (it installs slapd, unconfigured)`);
    return path;
  }) as [string, string, string];
  const dir = tempDir("berth-slapd-");
  try {
    writeFileSync(join(dir, "test.schema"), TEST_SCHEMA);
    writeFileSync(join(dir, "slapd.conf"), slapdConf(dir, ca));
    writeFileSync(join(dir, "data.ldif"), DATA);
    await exec(["mkdir", "-p", join(dir, "db")]);
    await exec([slaptestBin, "-u", "-f", join(dir, "slapd.conf")], { timeoutMs: 20_000 });
    await exec([slapaddBin, "-f", join(dir, "slapd.conf"), "-l", join(dir, "data.ldif")], { timeoutMs: 20_000 });
  } catch (error) {
    removeDir(dir);
    throw error;
  }
  const ports = { ldap: freePort(), ldaps: freePort() };
  let slapd: Subprocess | null = null;
  const start = async () => {
    // -d 0: stay in the foreground
    slapd = Bun.spawn([slapdBin, "-f", join(dir, "slapd.conf"), "-h", `ldap://127.0.0.1:${ports.ldap}/ ldaps://127.0.0.1:${ports.ldaps}/`, "-d", "0"], {
      cwd: dir,
      stdin: "ignore",
      stdout: "ignore",
      stderr: "ignore",
    });
    await waitForPort(ports.ldap, slapd);
  };
  const stop = async () => {
    const running = slapd;
    slapd = null;
    if (running === null) return;
    running.kill("SIGTERM");
    await Promise.race([running.exited, Bun.sleep(5000)]);
    if (running.exitCode === null && running.signalCode === null) running.kill("SIGKILL");
    await running.exited;
  };
  await start();
  return {
    url: `ldap://127.0.0.1:${ports.ldap}`,
    ldapsUrl: `ldaps://127.0.0.1:${ports.ldaps}`,
    start,
    stop,
    async remove() {
      await stop();
      removeDir(dir);
    },
  };
}

async function waitForPort(port: number, slapd: Subprocess): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (slapd.exitCode !== null) throw new Error(`slapd exited with ${slapd.exitCode} (port ${port} taken?)`);
    const open = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } }).then(
      (socket) => {
        socket.end();
        return true;
      },
      () => false,
    );
    if (open) return;
    await Bun.sleep(50);
  }
  throw new Error(`slapd did not listen on 127.0.0.1:${port} within 15 s`);
}
