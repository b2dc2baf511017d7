// Creates (or keeps in step) the admin user of the built-in identity provider from
// PHOBOS_ADMIN_USER_EMAIL / PHOBOS_ADMIN_USER_PASSWORD. The environment is the source of truth for
// the admin's password: when it no longer verifies, the stored hash is replaced.
import pg from 'pg';
import { hashPassword, verifyPassword } from '../../src/auth/passwords';

export type AdminUserOutcome = 'created' | 'updated' | 'unchanged';

export function usernameFromEmail(email: string): string {
  const local = email
    .split('@')[0]!
    .toLowerCase()
    .replace(/[^a-z0-9._-]/g, '-');
  return local.length > 0 ? local : 'admin';
}

export async function ensureAdminUser(connectionString: string, admin: { email: string; password: string }): Promise<AdminUserOutcome> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    const existing = await client.query<{ id: string; password_hash: string | null; is_admin: boolean }>(
      'select id, password_hash, is_admin from users where lower(email) = lower($1)',
      [admin.email],
    );
    const row = existing.rows[0];
    if (!row) {
      await client.query(
        `insert into users (username, email, password_hash, is_admin) values ($1, $2, $3, true)
         on conflict do nothing`,
        [usernameFromEmail(admin.email), admin.email, hashPassword(admin.password)],
      );
      return 'created';
    }
    const passwordCurrent = row.password_hash !== null && verifyPassword(admin.password, row.password_hash);
    if (passwordCurrent && row.is_admin) return 'unchanged';
    await client.query(`update users set password_hash = $2, is_admin = true, updated_at = now(), version = version + 1 where id = $1`, [
      row.id,
      passwordCurrent ? row.password_hash : hashPassword(admin.password),
    ]);
    return 'updated';
  } finally {
    await client.end();
  }
}
