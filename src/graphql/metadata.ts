// `metadata { createdAt updatedAt version prn }`, which the Phobos API exposes on every resource. Every
// aggregate table carries these columns (db/schema/columns.ts); `version` is the optimistic lock a
// client sends back (`metadata: { version }`) to update only what it last saw.
import { badInput } from '../errors';
import { builder } from './builder';

export interface MetadataShape {
  createdAt: Date;
  updatedAt: Date;
  version: number;
  /** The resource's PRN (src/domain/prn.ts); every resource's module passes it. */
  prn: string;
}

export const ResourceMetadata = builder.objectRef<MetadataShape>('ResourceMetadata').implement({
  fields: (t) => ({
    createdAt: t.field({ type: 'Time', resolve: (row) => row.createdAt }),
    updatedAt: t.field({ type: 'Time', resolve: (row) => row.updatedAt }),
    version: t.string({ resolve: (row) => String(row.version) }),
    prn: t.string({ description: 'The Phobos Resource Name: prn:<type>:<path>.', resolve: (row) => row.prn }),
  }),
});

export const ResourceMetadataInput = builder.inputType('ResourceMetadataInput', {
  fields: (t) => ({
    version: t.string({ required: true, description: 'The version last read; the change is refused with CONFLICT if it moved on.' }),
  }),
});

/** The version a client sent, or BAD_USER_INPUT naming the field. */
export function parseVersion(metadata: { version: string } | null | undefined, field = 'metadata.version'): number | undefined {
  if (!metadata) return undefined;
  const version = Number(metadata.version);
  if (!Number.isSafeInteger(version) || version < 1) throw badInput(field, 'must be a positive integer');
  return version;
}
