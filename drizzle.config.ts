import { defineConfig } from 'drizzle-kit';

// `npm run db:generate` diffs src/db/schema against drizzle/ and writes the next migration.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema/index.ts',
  out: './drizzle',
});
