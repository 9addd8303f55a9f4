/**
 * The accounts' rows in the metadata index (tables robots, namespaces, namespace_members in
 * src/metadata/schema.ts): the same statements on SQLite and PostgreSQL. Reads return every
 * row (accounts are few); the caller (accounts.ts) keeps them as a snapshot.
 */
import type { MetadataDatabase } from "../metadata/database.ts";
import { num, optNum, optStr, type Row, rowsOf, str } from "../metadata/rows.ts";
import { type Member, type Namespace, parseActions, parseRole, type Robot } from "./model.ts";

export class AccountsStore {
  constructor(private readonly database: MetadataDatabase) {}

  async robots(): Promise<Robot[]> {
    return rowsOf(await this.database.sql`SELECT * FROM robots ORDER BY name`).map(robotOf);
  }

  async namespaces(): Promise<Namespace[]> {
    const members = new Map<string, Member[]>();
    for (const row of rowsOf(await this.database.sql`SELECT namespace, member, role, added_at FROM namespace_members ORDER BY namespace, member`)) {
      const list = members.get(str(row, "namespace")) ?? [];
      list.push({ member: str(row, "member"), role: parseRole(str(row, "role")), addedAt: num(row, "added_at") });
      members.set(str(row, "namespace"), list);
    }
    return rowsOf(await this.database.sql`SELECT name, anonymous_pull, created_at FROM namespaces ORDER BY name`).map((row) => ({
      name: str(row, "name"),
      anonymousPull: num(row, "anonymous_pull") !== 0,
      createdAt: num(row, "created_at"),
      members: members.get(str(row, "name")) ?? [],
    }));
  }

  /** @returns false when the name is taken */
  async insertRobot(robot: Robot): Promise<boolean> {
    return this.database.write(async (tx) => {
      if (rowsOf(await tx`SELECT name FROM robots WHERE name = ${robot.name}`).length > 0) return false;
      await tx`INSERT INTO robots (name, secret_hash, previous_hash, previous_until, repositories, actions, namespace, description,
          creator, created_at, expires_at, disabled, last_used_at, last_used_addr, expiry_noticed_at)
        VALUES (${robot.name}, ${robot.secretHash}, ${robot.previousHash}, ${robot.previousUntil}, ${JSON.stringify(robot.repositories)},
          ${JSON.stringify(robot.actions)}, ${robot.namespace}, ${robot.description}, ${robot.creator}, ${robot.createdAt},
          ${robot.expiresAt}, ${robot.disabled ? 1 : 0}, ${null}, ${null}, ${null})`;
      return true;
    });
  }

  /** @returns false when there is no such robot */
  async rotateRobot(name: string, secretHash: string, previousUntil: number | null): Promise<boolean> {
    return this.database.write(async (tx) => {
      const found = rowsOf(await tx`SELECT secret_hash FROM robots WHERE name = ${name}`)[0];
      if (found === undefined) return false;
      const previous = previousUntil === null ? null : str(found, "secret_hash");
      await tx`UPDATE robots SET secret_hash = ${secretHash}, previous_hash = ${previous}, previous_until = ${previousUntil} WHERE name = ${name}`;
      return true;
    });
  }

  async setRobotDisabled(name: string, disabled: boolean): Promise<boolean> {
    return this.changed(await this.database.write((tx) => tx`UPDATE robots SET disabled = ${disabled ? 1 : 0} WHERE name = ${name} RETURNING name`));
  }

  async deleteRobot(name: string): Promise<boolean> {
    return this.changed(await this.database.write((tx) => tx`DELETE FROM robots WHERE name = ${name} RETURNING name`));
  }

  /** Last use: not waited for on disk (losing one to a power cut is harmless). */
  async recordRobotUse(name: string, at: number, addr: string): Promise<void> {
    await this.database.write((tx) => tx`UPDATE robots SET last_used_at = ${at}, last_used_addr = ${addr} WHERE name = ${name}`, { durable: false });
  }

  /** Robots whose expiry falls before `until`, not noticed since `noticedBefore`; marks them noticed at `now`. */
  async takeExpiring(now: number, until: number, noticedBefore: number): Promise<Robot[]> {
    return this.database.write(async (tx) => {
      const rows = rowsOf(await tx`SELECT * FROM robots WHERE disabled = 0 AND expires_at IS NOT NULL AND expires_at > ${now}
        AND expires_at <= ${until} AND (expiry_noticed_at IS NULL OR expiry_noticed_at < ${noticedBefore}) ORDER BY name`);
      for (const row of rows) await tx`UPDATE robots SET expiry_noticed_at = ${now} WHERE name = ${str(row, "name")}`;
      return rows.map(robotOf);
    });
  }

  async insertNamespace(name: string, anonymousPull: boolean, now: number): Promise<boolean> {
    return this.database.write(async (tx) => {
      if (rowsOf(await tx`SELECT name FROM namespaces WHERE name = ${name}`).length > 0) return false;
      await tx`INSERT INTO namespaces (name, anonymous_pull, created_at) VALUES (${name}, ${anonymousPull ? 1 : 0}, ${now})`;
      return true;
    });
  }

  async deleteNamespace(name: string): Promise<boolean> {
    return this.database.write(async (tx) => {
      await tx`DELETE FROM namespace_members WHERE namespace = ${name}`;
      return this.changed(await tx`DELETE FROM namespaces WHERE name = ${name} RETURNING name`);
    });
  }

  async setAnonymousPull(name: string, on: boolean): Promise<boolean> {
    return this.changed(await this.database.write((tx) => tx`UPDATE namespaces SET anonymous_pull = ${on ? 1 : 0} WHERE name = ${name} RETURNING name`));
  }

  /** Adds a member or changes its role. @returns false when there is no such namespace */
  async putMember(namespace: string, member: Member): Promise<boolean> {
    return this.database.write(async (tx) => {
      if (rowsOf(await tx`SELECT name FROM namespaces WHERE name = ${namespace}`).length === 0) return false;
      await tx`INSERT INTO namespace_members (namespace, member, role, added_at) VALUES (${namespace}, ${member.member}, ${member.role}, ${member.addedAt})
        ON CONFLICT (namespace, member) DO UPDATE SET role = ${member.role}`;
      return true;
    });
  }

  async deleteMember(namespace: string, member: string): Promise<boolean> {
    return this.changed(await this.database.write((tx) => tx`DELETE FROM namespace_members WHERE namespace = ${namespace} AND member = ${member} RETURNING member`));
  }

  private changed(result: unknown): boolean {
    return rowsOf(result).length > 0;
  }
}

function robotOf(row: Row): Robot {
  return {
    name: str(row, "name"),
    secretHash: str(row, "secret_hash"),
    previousHash: optStr(row, "previous_hash"),
    previousUntil: optNum(row, "previous_until"),
    repositories: stringList(str(row, "repositories")),
    actions: parseActions(stringList(str(row, "actions"))),
    namespace: optStr(row, "namespace"),
    description: str(row, "description"),
    creator: str(row, "creator"),
    createdAt: num(row, "created_at"),
    expiresAt: optNum(row, "expires_at"),
    disabled: num(row, "disabled") !== 0,
    lastUsedAt: optNum(row, "last_used_at"),
    lastUsedAddr: optStr(row, "last_used_addr"),
  };
}

/** A JSON array of strings the store wrote itself; anything else reads as empty. */
function stringList(text: string): string[] {
  const parsed: unknown = JSON.parse(text);
  return Array.isArray(parsed) ? parsed.filter((item): item is string => typeof item === "string") : [];
}
