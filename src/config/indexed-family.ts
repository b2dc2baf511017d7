// Indexed families: PHOBOS_OAUTH_PROVIDERS_<n>_<FIELD> and PHOBOS_INTERNAL_AGENTS_<n>_<FIELD>. Each
// index any of whose variables is set becomes one item, with the family's required fields checked.
import type { z } from 'zod';
import { ConfigNode, type ConfigOf, type DeclaredVariable, metaOf } from './declarations';
import type { EnvironmentReader } from './environment-reader';

/** `<FAMILY>_<n>_<prefix><KEY>`: free-form settings, read as a record keyed by KEY. */
export class FreeFormData {
  constructor(
    readonly prefix: string,
    readonly description: string,
  ) {}
}

type FamilyFields = Record<string, z.ZodType | FreeFormData>;

type FamilyItem<Fields extends FamilyFields> = { index: number } & {
  [K in keyof Fields]: Fields[K] extends FreeFormData ? Record<string, string> : ConfigOf<Fields[K]>;
};

export class IndexedFamily<Fields extends FamilyFields> extends ConfigNode<FamilyItem<Fields>[]> {
  /**
   * @param prefix the names' start, e.g. PHOBOS_OAUTH_PROVIDERS
   * @param itemName what one index is, for messages ("is required for OIDC provider 0")
   */
  constructor(
    readonly prefix: string,
    readonly itemName: string,
    readonly group: string,
    readonly fields: Fields,
  ) {
    super();
  }

  read(reader: EnvironmentReader): FamilyItem<Fields>[] {
    return reader.indices(this.prefix).map((index) => {
      const item: Record<string, unknown> = { index };
      for (const [property, field] of Object.entries(this.fields)) {
        item[property] =
          field instanceof FreeFormData
            ? reader.withPrefix(`${this.prefix}_${index}_${field.prefix}`)
            : reader.parse(`${this.prefix}_${index}_${metaOf(field).name}`, field, `for ${this.itemName} ${index}`);
      }
      return item as FamilyItem<Fields>;
    });
  }

  declarations(): DeclaredVariable[] {
    return Object.values(this.fields).map((field) => {
      if (field instanceof FreeFormData) {
        return { name: `${this.prefix}_<n>_${field.prefix}<KEY>`, meta: { group: this.group, description: field.description }, family: this.prefix };
      }
      const { name, expected: _, ...meta } = metaOf(field);
      return { name: `${this.prefix}_<n>_${name}`, meta, family: this.prefix };
    });
  }
}
