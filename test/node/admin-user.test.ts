import { describe, expect, it } from 'vitest';
import { ensureAdminUser, usernameFromEmail } from '../../scripts/local-stack/admin-user';
import { verifyPassword } from '../../src/auth/passwords';
import { createTestDatabase } from '../support/node-database';

describe('admin user from PHOBOS_ADMIN_USER_*', () => {
  it('is created once, then kept in step with the configured password', async () => {
    const database = await createTestDatabase();
    const admin = { email: 'Root@Example.com', password: 'first-password' };
    expect(await ensureAdminUser(database.url, admin)).toBe('created');
    expect(await ensureAdminUser(database.url, admin)).toBe('unchanged');
    expect(await ensureAdminUser(database.url, { ...admin, email: 'root@example.com', password: 'second-password' })).toBe('updated');

    const rows = await database.query<{ username: string; password_hash: string; is_admin: boolean }>('select * from users');
    expect(rows.rows).toHaveLength(1);
    const [user] = rows.rows;
    expect(user!.username).toBe('root');
    expect(user!.is_admin).toBe(true);
    expect(user!.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(verifyPassword('second-password', user!.password_hash)).toBe(true);
    expect(verifyPassword('first-password', user!.password_hash)).toBe(false);
  });

  it('derives a username from the email address', () => {
    expect(usernameFromEmail('Jane.Doe+ops@example.com')).toBe('jane.doe-ops');
  });
});
